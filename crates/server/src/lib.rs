//! The OpenAI-compatible HTTP API: wire types -> validation -> engine requests, one route per
//! file, one error type mapped to statuses in `error.rs`, SSE streaming in `sse.rs`.

pub mod error;
pub mod guard;
pub mod meta;
pub mod routes;
pub mod run;
pub mod sse;
pub mod state;
pub mod validate;
pub mod wire;

use std::future::Future;
use std::sync::Arc;

pub use error::ApiError;
pub use routes::router;
pub use meta::{License, ModelMeta};
pub use state::{AppState, ModelState, ServerConfig, Shared};

/// Serves `state` on `listener` until `shutdown` resolves; then stops accepting, lets running
/// requests (streams included) finish, and drains the scheduler.
pub async fn serve(listener: tokio::net::TcpListener, state: Shared, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let app = router(state.clone());
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    let st = Arc::clone(&state);
    tokio::task::spawn_blocking(move || st.models.iter().for_each(|m| m.scheduler.shutdown())).await.ok();
    result
}
