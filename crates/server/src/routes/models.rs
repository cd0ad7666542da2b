//! `GET /v1/models` and `GET /v1/models/{id}`.

use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::{AppState, Shared};

fn card(st: &AppState) -> Value {
    json!({"id": st.config.model_id, "object": "model", "created": st.created, "owned_by": "agora", "context_length": st.n_ctx()})
}

pub async fn list(State(st): State<Shared>) -> Json<Value> {
    Json(json!({"object": "list", "data": [card(&st)]}))
}

pub async fn get(State(st): State<Shared>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    crate::validate::check_model(&st, &id)?;
    Ok(Json(card(&st)))
}
