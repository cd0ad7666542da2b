//! `POST /v1/embeddings` request and response bodies.

use serde::{Deserialize, Serialize};

use super::common::Usage;
use super::completions::Prompt;

#[derive(Debug, Clone, Deserialize)]
pub struct EmbeddingRequest {
    pub model: String,
    pub input: Prompt,
    /// `float` (default) or `base64` (little-endian f32, what the openai Python SDK asks for).
    pub encoding_format: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingResponse {
    pub object: &'static str,
    pub data: Vec<EmbeddingData>,
    pub model: String,
    pub usage: Usage,
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbeddingData {
    pub object: &'static str,
    pub index: usize,
    pub embedding: serde_json::Value,
}
