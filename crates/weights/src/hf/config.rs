//! `config.json` of a Hugging Face transformers model: the common fields typed, the rest kept as JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Result, WeightsError};

/// A token id field that is an integer in most configs and a list in some (Llama 3 `eos_token_id`).
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            TokenIds::One(id) => vec![*id],
            TokenIds::Many(ids) => ids.clone(),
        }
    }
}

/// `rope_scaling` (Llama 3 "llama3", "linear", "dynamic", "yarn"...).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct RopeScaling {
    /// Older configs say "type", newer "rope_type".
    #[serde(alias = "type")]
    pub rope_type: Option<String>,
    pub factor: Option<f64>,
    pub low_freq_factor: Option<f64>,
    pub high_freq_factor: Option<f64>,
    pub original_max_position_embeddings: Option<usize>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
pub struct HfConfig {
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub model_type: String,
    pub hidden_size: Option<usize>,
    pub intermediate_size: Option<usize>,
    pub num_hidden_layers: Option<usize>,
    pub num_attention_heads: Option<usize>,
    pub num_key_value_heads: Option<usize>,
    pub head_dim: Option<usize>,
    pub rms_norm_eps: Option<f64>,
    pub rope_theta: Option<f64>,
    /// Gemma 3: RoPE base of the sliding-window layers.
    pub rope_local_base_freq: Option<f64>,
    pub rope_scaling: Option<RopeScaling>,
    pub max_position_embeddings: Option<usize>,
    pub vocab_size: Option<usize>,
    pub tie_word_embeddings: Option<bool>,
    pub bos_token_id: Option<TokenIds>,
    pub eos_token_id: Option<TokenIds>,
    pub pad_token_id: Option<TokenIds>,
    pub sliding_window: Option<usize>,
    /// Gemma: attention scores are scaled by 1/sqrt(query_pre_attn_scalar).
    pub query_pre_attn_scalar: Option<f64>,
    pub final_logit_softcapping: Option<f64>,
    pub attn_logit_softcapping: Option<f64>,
    pub hidden_act: Option<String>,
    pub hidden_activation: Option<String>,
    /// Per-layer attention kind ("sliding_attention" / "full_attention").
    pub layer_types: Option<Vec<String>>,
    pub torch_dtype: Option<String>,
    /// Every other field, as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HfConfig {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| WeightsError::Io { path: path.to_path_buf(), source })?;
        Self::from_json_str(&text).map_err(|msg| WeightsError::HfConfig { path: path.to_path_buf(), msg })
    }

    /// Parse config.json text. Multimodal configs (Gemma 3 4B+) keep the language model in `text_config`;
    /// its fields win, and the outer ones (architectures...) fill the gaps.
    pub fn from_json_str(text: &str) -> std::result::Result<Self, String> {
        let mut v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let Some(outer) = v.as_object_mut() else {
            return Err("the top level is not a JSON object".to_string());
        };
        if let Some(Value::Object(mut inner)) = outer.remove("text_config") {
            for (k, val) in std::mem::take(outer) {
                if !inner.contains_key(&k) && k != "vision_config" {
                    inner.insert(k, val);
                }
            }
            v = Value::Object(inner);
        }
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    /// Per-head dimension: explicit `head_dim`, else hidden_size / num_attention_heads.
    pub fn head_dim(&self) -> Option<usize> {
        self.head_dim.or_else(|| match (self.hidden_size, self.num_attention_heads) {
            (Some(h), Some(n)) if n > 0 => Some(h / n),
            _ => None,
        })
    }

    /// KV heads, defaulting to the query heads (no grouped-query attention).
    pub fn kv_heads(&self) -> Option<usize> {
        self.num_key_value_heads.or(self.num_attention_heads)
    }

    pub fn eos_ids(&self) -> Vec<u32> {
        self.eos_token_id.as_ref().map(TokenIds::to_vec).unwrap_or_default()
    }

    /// The llama.cpp architecture name for this `model_type` ("mistral" runs as "llama"), if known.
    pub fn gguf_arch(&self) -> Option<&'static str> {
        Some(match self.model_type.as_str() {
            "llama" | "mistral" => "llama",
            "qwen2" => "qwen2",
            "qwen3" => "qwen3",
            "gemma" => "gemma",
            "gemma2" => "gemma2",
            "gemma3" | "gemma3_text" => "gemma3",
            _ => return None,
        })
    }
}
