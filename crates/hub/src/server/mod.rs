//! The HTTP server: the Hub protocol subset the `huggingface_hub` client speaks.
//! Store calls are synchronous and run on blocking threads; file bodies stream through channels.

mod error;
mod html;
mod io;
mod json;
pub mod route;
mod routes;
pub mod sign;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::Router;

pub use error::error_response;
use route::Route;

use crate::error::{HubError, Result};
use crate::hub::{Caller, Hub};

pub struct AppState {
    pub hub: Arc<Hub>,
    /// Key for signed upload URLs.
    pub secret: Vec<u8>,
    /// Base URL written into links and upload hrefs; by default taken from the request's Host.
    pub public_url: Option<String>,
}

/// Serves until `shutdown` resolves.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<AppState>, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let app = Router::new().fallback(dispatch).with_state(state).layer(DefaultBodyLimit::disable());
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// Runs store work on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| HubError::Internal(format!("worker failed: {e}")))?
}

/// What every handler gets.
pub(crate) struct Ctx {
    pub st: Arc<AppState>,
    pub caller: Caller,
    pub base: String,
    pub method: Method,
    /// The raw request path (still percent-encoded).
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
}

impl Ctx {
    pub fn hub(&self) -> Arc<Hub> {
        self.st.hub.clone()
    }
}

fn bearer(headers: &HeaderMap) -> Result<Option<String>> {
    let Some(v) = headers.get(axum::http::header::AUTHORIZATION) else { return Ok(None) };
    let v = v.to_str().map_err(|_| HubError::Unauthorized("Invalid credentials in Authorization header".into()))?;
    match v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")) {
        Some(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
        _ => Err(HubError::Unauthorized("Invalid credentials in Authorization header".into())),
    }
}

fn base_url(st: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &st.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    format!("http://{host}")
}

async fn dispatch(State(st): State<Arc<AppState>>, req: Request) -> Response {
    match handle(st, req).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn handle(st: Arc<AppState>, req: Request) -> Result<Response> {
    let (parts, body) = req.into_parts();
    let route = route::parse(&parts.method, parts.uri.path())?;
    let headers = parts.headers;
    let token = bearer(&headers)?;
    let hub = st.hub.clone();
    // Signed uploads carry their authority in the URL, not in a token.
    let caller = match (&route, token) {
        (Route::LfsUpload(..), _) | (_, None) => Caller::anonymous(),
        (_, Some(t)) => blocking(move || hub.authenticate(Some(&t))).await?,
    };
    let ctx = Ctx { base: base_url(&st, &headers), st, caller, method: parts.method, path: parts.uri.path().to_string(), query: parts.uri.query().unwrap_or("").to_string(), headers };
    routes::run(ctx, route, body).await
}

/// Reads a small request body (JSON) fully, refusing more than `max` bytes.
pub(crate) async fn read_small(body: Body, max: usize) -> Result<bytes::Bytes> {
    axum::body::to_bytes(body, max).await.map_err(|_| HubError::TooLarge(format!("the request body is larger than {max} bytes or was cut off")))
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T> {
    serde_json::from_slice(b).map_err(|e| HubError::BadRequest(format!("invalid JSON body: {e}")))
}

/// Query parameters, decoded (`+` as space).
pub(crate) fn query_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
            (dec(k), dec(v))
        })
        .collect()
}

pub(crate) fn query_get(q: &[(String, String)], key: &str) -> Option<String> {
    q.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

pub(crate) fn truthy(v: Option<String>) -> bool {
    matches!(v.as_deref(), Some("1" | "true" | "True"))
}

/// Percent-encodes one URL segment (everything but unreserved characters).
pub(crate) fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}
