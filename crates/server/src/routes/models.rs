//! `GET /v1/models` and `GET /v1/models/{id}`: OpenAI's model object plus an `agora` object with
//! what the playground's side panel shows (license, base models, card summary, adapters).

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::{ModelState, Shared};

/// vLLM's convention for LoRA adapters: `parent` and `root` name the base model.
fn card(m: &ModelState) -> Value {
    let root = m.parent.as_deref().unwrap_or(&m.id);
    json!({"id": m.id, "object": "model", "created": m.created, "owned_by": "agora", "root": root, "parent": m.parent, "context_length": m.n_ctx(), "agora": m.meta})
}

pub async fn list(State(app): State<Shared>) -> Json<Value> {
    Json(json!({"object": "list", "data": app.models.iter().map(|m| card(m)).collect::<Vec<_>>()}))
}

pub async fn get(State(app): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let m = app.model(&id)?;
    Ok(Json(card(&m)))
}
