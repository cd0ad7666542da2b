//! `GET /health`: 200 while serving.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::state::Shared;

pub async fn handle(State(st): State<Shared>) -> Json<Value> {
    use std::sync::atomic::Ordering::Relaxed;
    let s = st.scheduler.stats();
    Json(json!({"status": "ok", "model": st.config.model_id, "active": s.active.load(Relaxed), "queued": s.queued.load(Relaxed)}))
}
