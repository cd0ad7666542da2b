//! The router: one file per route, authentication and CORS around them. The playground page
//! (`/`) is outside the key check: it holds no data, and asks for the key the API needs.

mod auth;
mod chat;
mod completions;
mod embeddings;
mod health;
mod metrics;
mod models;
mod playground;
mod tokenize;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, Method, Uri};
use axum::routing::{get, post};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ApiError;
use crate::state::Shared;

pub fn router(st: Shared) -> Router {
    let v1 = Router::new()
        .route("/v1/chat/completions", post(chat::handle))
        .route("/v1/completions", post(completions::handle))
        .route("/v1/embeddings", post(embeddings::handle))
        .route("/v1/models", get(models::list))
        .route("/v1/models/{id}", get(models::get))
        .route("/tokenize", post(tokenize::tokenize))
        .route("/detokenize", post(tokenize::detokenize))
        .route("/tokenizer_info", get(tokenize::info))
        .layer(axum::middleware::from_fn_with_state(st.clone(), auth::require_key));
    let mut app = Router::new()
        .merge(v1)
        .route("/health", get(health::handle))
        .route("/metrics", get(metrics::handle))
        .route("/", get(playground::index))
        .route("/playground/{file}", get(playground::file))
        .route("/favicon.ico", get(playground::favicon))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(st.config.max_body_bytes))
        .with_state(st.clone());
    if let Some(cors) = cors(&st.config.cors_origins) {
        app = app.layer(cors);
    }
    app
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().to_string())
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| o.parse().ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
    )
}
