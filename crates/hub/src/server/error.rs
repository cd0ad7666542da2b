//! HubError -> HTTP, in one place. The client reads `X-Error-Code` to raise RepositoryNotFoundError,
//! RevisionNotFoundError, EntryNotFoundError and GatedRepoError, and shows `X-Error-Message`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::error::HubError;

pub fn status_and_code(e: &HubError) -> (StatusCode, Option<&'static str>) {
    match e {
        HubError::BadRequest(_) => (StatusCode::BAD_REQUEST, None),
        HubError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, None),
        HubError::Forbidden(_) => (StatusCode::FORBIDDEN, None),
        HubError::RepoNotFound(_) => (StatusCode::NOT_FOUND, Some("RepoNotFound")),
        HubError::RevisionNotFound(_) => (StatusCode::NOT_FOUND, Some("RevisionNotFound")),
        HubError::EntryNotFound(_) => (StatusCode::NOT_FOUND, Some("EntryNotFound")),
        HubError::NotFound(_) => (StatusCode::NOT_FOUND, None),
        HubError::Gated(_) => (StatusCode::FORBIDDEN, Some("GatedRepo")),
        HubError::Conflict(_) => (StatusCode::CONFLICT, None),
        HubError::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, None),
        HubError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, None),
        HubError::RangeNotSatisfiable(_) => (StatusCode::RANGE_NOT_SATISFIABLE, None),
        HubError::Db(_) | HubError::Io(_) | HubError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
        HubError::Remote(_) => (StatusCode::BAD_GATEWAY, None),
    }
}

/// A header-safe copy of a message (visible ASCII and spaces only).
fn header_text(s: &str) -> HeaderValue {
    let clean: String = s.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).take(1000).collect();
    HeaderValue::from_str(&clean).unwrap_or_else(|_| HeaderValue::from_static("error"))
}

pub fn error_response(e: &HubError) -> Response {
    let (status, code) = status_and_code(e);
    let msg = e.to_string();
    if status.is_server_error() {
        eprintln!("agora hub: internal error: {msg}");
    }
    let mut resp = (status, Json(serde_json::json!({ "error": msg }))).into_response();
    let h = resp.headers_mut();
    if let Some(c) = code {
        h.insert("X-Error-Code", HeaderValue::from_static(c));
    }
    h.insert("X-Error-Message", header_text(&msg));
    resp
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}
