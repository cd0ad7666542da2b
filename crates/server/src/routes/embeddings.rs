//! `POST /v1/embeddings`: the mean of the final hidden states, L2-normalized.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde_json::Value;

use crate::error::ApiError;
use crate::run::{collect, submit_embeddings};
use crate::state::Shared;
use crate::validate::parse_json;
use crate::wire::common::Usage;
use crate::wire::completions::Prompt;
use crate::wire::embeddings::*;

const MAX_INPUTS: usize = 256;

pub async fn handle(State(app): State<Shared>, body: Result<Bytes, BytesRejection>) -> Result<Json<EmbeddingResponse>, ApiError> {
    let req: EmbeddingRequest = parse_json(body, app.config.max_body_bytes)?;
    let st = app.model(&req.model)?;
    let base64 = match req.encoding_format.as_deref() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(other) => return Err(ApiError::invalid("encoding_format", format!("encoding_format must be 'float' or 'base64', got '{other}'"))),
    };
    let tok = &st.model.tokenizer;
    let encode = |t: &str| tok.encode(t, true, false).map_err(|e| ApiError::invalid("input", e.to_string()));
    let inputs: Vec<Vec<u32>> = match &req.input {
        Prompt::Text(t) => vec![encode(t)?],
        Prompt::Texts(ts) => ts.iter().map(|t| encode(t)).collect::<Result<_, _>>()?,
        Prompt::Ids(ids) => vec![ids.clone()],
        Prompt::IdLists(l) => l.clone(),
    };
    if inputs.is_empty() || inputs.len() > MAX_INPUTS {
        return Err(ApiError::invalid("input", format!("give between 1 and {MAX_INPUTS} inputs, got {}", inputs.len())));
    }
    let vocab = tok.vocab_size();
    if inputs.iter().flatten().any(|&i| i as usize >= vocab) {
        return Err(ApiError::invalid("input", format!("a token id is outside the vocabulary (size {vocab})")));
    }
    let mut usage = Usage::default();
    for i in &inputs {
        if i.is_empty() {
            return Err(ApiError::invalid("input", "an input is empty"));
        }
        usage.add(i.len(), 0);
    }
    let n = inputs.len();
    let results = collect(submit_embeddings(&st, inputs)?, n).await?;
    let data = results
        .into_iter()
        .enumerate()
        .map(|(index, r)| {
            let embedding = if base64 {
                let bytes: Vec<u8> = r.embedding.iter().flat_map(|v| v.to_le_bytes()).collect();
                Value::String(base64_encode(&bytes))
            } else {
                Value::from(r.embedding)
            };
            EmbeddingData { object: "embedding", index, embedding }
        })
        .collect();
    Ok(Json(EmbeddingResponse { object: "list", data, model: st.id.clone(), usage }))
}

/// Standard base64 with padding (RFC 4648).
fn base64_encode(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (raw, enc) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(super::base64_encode(raw.as_bytes()), enc);
        }
    }
}
