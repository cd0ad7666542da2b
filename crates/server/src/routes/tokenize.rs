//! vLLM-style tokenizer endpoints: `POST /tokenize`, `POST /detokenize`, `GET /tokenizer_info`.
//! lm-evaluation-harness uses them (`tokenizer_backend=remote`) to tokenize exactly as the
//! server does, with no tokenizer download.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::state::Shared;
use crate::validate::parse_json;

#[derive(Deserialize)]
struct TokenizeRequest {
    prompt: String,
    /// Which model's tokenizer (default: the first served).
    model: Option<String>,
    #[serde(default = "yes")]
    add_special_tokens: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct DetokenizeRequest {
    tokens: Vec<u32>,
    model: Option<String>,
}

#[derive(Deserialize)]
pub struct ModelQuery {
    model: Option<String>,
}

pub async fn tokenize(State(app): State<Shared>, body: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let req: TokenizeRequest = parse_json(body, app.config.max_body_bytes)?;
    let st = app.model_or_first(req.model.as_deref())?;
    // Special-token texts (`<eos>`) become their ids, as Hugging Face tokenizers do.
    let tokens = st.model.tokenizer.encode(&req.prompt, req.add_special_tokens, true).map_err(|e| ApiError::invalid("prompt", e.to_string()))?;
    Ok(Json(json!({"tokens": tokens, "count": tokens.len(), "max_model_len": st.n_ctx()})))
}

pub async fn detokenize(State(app): State<Shared>, body: Result<Bytes, BytesRejection>) -> Result<Json<Value>, ApiError> {
    let req: DetokenizeRequest = parse_json(body, app.config.max_body_bytes)?;
    let st = app.model_or_first(req.model.as_deref())?;
    let tok = &st.model.tokenizer;
    if let Some(bad) = req.tokens.iter().find(|&&t| t as usize >= tok.vocab_size()) {
        return Err(ApiError::invalid("tokens", format!("token id {bad} is outside the vocabulary (size {})", tok.vocab_size())));
    }
    Ok(Json(json!({"prompt": tok.decode(&req.tokens, false)})))
}

pub async fn info(State(app): State<Shared>, Query(q): Query<ModelQuery>) -> Result<Json<Value>, ApiError> {
    let st = app.model_or_first(q.model.as_deref())?;
    let tok = &st.model.tokenizer;
    let text = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).map(str::to_string);
    Ok(Json(json!({
        "bos_token": text(tok.bos_id()),
        "eos_token": text(tok.eos_id()),
        "pad_token": Value::Null,
        "chat_template": tok.chat_template(),
        "model_max_length": st.n_ctx(),
        "vocab_size": tok.vocab_size(),
        "add_bos_token": tok.add_bos(),
    })))
}
