//! Optional bearer-token check on the `/v1` routes (`--api-key`).

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use crate::error::ApiError;
use crate::state::Shared;

pub async fn require_key(State(st): State<Shared>, req: Request, next: Next) -> Result<Response, ApiError> {
    let keys = &st.config.api_keys;
    if keys.is_empty() || req.method() == axum::http::Method::OPTIONS {
        return Ok(next.run(req).await);
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(k) if keys.iter().any(|key| constant_time_eq(key.as_bytes(), k.as_bytes())) => Ok(next.run(req).await),
        _ => Err(ApiError::Unauthorized),
    }
}

/// Compares without an early exit, so response time does not reveal a key's prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
