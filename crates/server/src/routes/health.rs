//! `GET /health`: 200 while serving, with every model's load.

use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::state::Shared;

pub async fn handle(State(app): State<Shared>) -> Json<Value> {
    let (mut active, mut queued) = (0, 0);
    for m in app.models.iter().filter(|m| m.adapter == 0) {
        let s = m.scheduler.stats();
        active += s.active.load(Relaxed);
        queued += s.queued.load(Relaxed);
    }
    Json(json!({"status": "ok", "model": app.models[0].id, "models": app.ids(), "active": active, "queued": queued}))
}
