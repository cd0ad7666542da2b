//! Every way a request can fail, mapped to an HTTP status and OpenAI's error JSON in one place:
//! `{"error": {"message", "type", "param", "code"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::batch::SubmitError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Invalid { message: String, param: Option<&'static str> },
    #[error("the request body is not valid JSON: {0}")]
    BadJson(String),
    #[error("This model's maximum context length is {n_ctx} tokens. However, you requested {total} tokens ({prompt} in the prompt, {completion} for the completion). Please reduce the length of the prompt or of max_tokens.")]
    ContextLength { n_ctx: usize, total: usize, prompt: usize, completion: usize },
    #[error("The model '{asked}' does not exist; this server runs: {}", available.join(", "))]
    UnknownModel { asked: String, available: Vec<String> },
    #[error("the request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("Incorrect API key provided. Pass it as 'Authorization: Bearer <key>'.")]
    Unauthorized,
    #[error("the server is busy: {queued} requests are waiting (limit {limit}); retry after a moment")]
    Busy { queued: usize, limit: usize },
    #[error("the server is shutting down; retry on another instance")]
    ShuttingDown,
    /// A guard refused the prompt (Azure OpenAI's shape: 400 with code `content_filter`).
    #[error("{message}")]
    ContentFilter { message: String },
    #[error("no route for {0}")]
    NotFound(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(param: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid { message: message.into(), param: Some(param) }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } | ApiError::BadJson(_) | ApiError::ContextLength { .. } | ApiError::ContentFilter { .. } => StatusCode::BAD_REQUEST,
            ApiError::UnknownModel { .. } | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind_and_code(&self) -> (&'static str, Option<&'static str>) {
        match self {
            ApiError::Invalid { .. } | ApiError::BadJson(_) => ("invalid_request_error", None),
            ApiError::ContextLength { .. } => ("invalid_request_error", Some("context_length_exceeded")),
            ApiError::UnknownModel { .. } => ("invalid_request_error", Some("model_not_found")),
            ApiError::NotFound(_) => ("invalid_request_error", Some("not_found")),
            ApiError::ContentFilter { .. } => ("invalid_request_error", Some("content_filter")),
            ApiError::TooLarge(_) => ("invalid_request_error", Some("request_too_large")),
            ApiError::Unauthorized => ("invalid_request_error", Some("invalid_api_key")),
            ApiError::Busy { .. } => ("rate_limit_error", Some("rate_limit_exceeded")),
            ApiError::ShuttingDown => ("server_error", Some("shutting_down")),
            ApiError::Internal(_) => ("server_error", None),
        }
    }

    /// The error object as sent (also inside a stream, where the status line has gone already).
    pub fn body(&self) -> serde_json::Value {
        let (kind, code) = self.kind_and_code();
        let param = match self {
            ApiError::Invalid { param, .. } => *param,
            ApiError::UnknownModel { .. } => Some("model"),
            ApiError::ContextLength { .. } => Some("messages"),
            _ => None,
        };
        json!({"error": {"message": self.to_string(), "type": kind, "param": param, "code": code}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), Json(self.body())).into_response();
        if matches!(self, ApiError::Busy { .. }) {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if matches!(self, ApiError::Unauthorized) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::QueueFull { queued, limit } => ApiError::Busy { queued, limit },
            SubmitError::PromptTooLong { n_prompt, n_ctx } => {
                ApiError::ContextLength { n_ctx, total: n_prompt, prompt: n_prompt, completion: 0 }
            }
            SubmitError::EmptyPrompt => ApiError::invalid("prompt", "the prompt is empty: give at least one token"),
            SubmitError::ShuttingDown => ApiError::ShuttingDown,
            e @ SubmitError::UnknownAdapter { .. } => ApiError::Internal(e.to_string()),
            SubmitError::Sampler(e) => ApiError::Invalid { message: e.to_string(), param: None },
        }
    }
}
