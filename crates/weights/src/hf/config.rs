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
    /// "longrope" (Phi-3 128k, Phi-3.5): per-frequency divisors within / beyond the original context,
    /// and an optional explicit attention (cos/sin) scale.
    pub short_factor: Option<Vec<f64>>,
    pub long_factor: Option<Vec<f64>>,
    pub attention_factor: Option<f64>,
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
    /// Phi-3 long-context models: the pretraining context (`rope_scaling` may repeat it).
    pub original_max_position_embeddings: Option<usize>,
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
    /// Fraction of each head RoPE rotates (Phi-4-mini); 1 when absent.
    pub partial_rotary_factor: Option<f64>,
    /// Qwen2/3: `sliding_window` applies only when this is true.
    pub use_sliding_window: Option<bool>,
    /// Mixture of experts: experts per layer (Mixtral's / Qwen's spelling), experts per token,
    /// one expert's hidden size, renormalised top-k, sparse layer spacing and dense layers (Qwen).
    pub num_local_experts: Option<usize>,
    pub num_experts: Option<usize>,
    pub num_experts_per_tok: Option<usize>,
    pub moe_intermediate_size: Option<usize>,
    pub norm_topk_prob: Option<bool>,
    /// Qwen2-MoE: hidden size of the shared expert every token also goes through.
    pub shared_expert_intermediate_size: Option<usize>,
    pub decoder_sparse_step: Option<usize>,
    pub mlp_only_layers: Option<Vec<usize>>,
    /// Falcon: KV heads of the new decoder architecture, its layout flags, FFN size and LayerNorm epsilon.
    pub num_kv_heads: Option<usize>,
    pub new_decoder_architecture: Option<bool>,
    pub multi_query: Option<bool>,
    pub parallel_attn: Option<bool>,
    pub alibi: Option<bool>,
    pub ffn_hidden_size: Option<usize>,
    pub layer_norm_epsilon: Option<f64>,
    /// Every other field, as written.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HfConfig {
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| WeightsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_json_str(&text).map_err(|msg| WeightsError::HfConfig {
            path: path.to_path_buf(),
            msg,
        })
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
        lift_rope_parameters(&mut v);
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    /// Per-head dimension: explicit `head_dim`, else hidden_size / num_attention_heads.
    pub fn head_dim(&self) -> Option<usize> {
        self.head_dim
            .or_else(|| match (self.hidden_size, self.num_attention_heads) {
                (Some(h), Some(n)) if n > 0 => Some(h / n),
                _ => None,
            })
    }

    /// KV heads, defaulting to the query heads (no grouped-query attention).
    pub fn kv_heads(&self) -> Option<usize> {
        self.num_key_value_heads.or(self.num_attention_heads)
    }

    pub fn eos_ids(&self) -> Vec<u32> {
        self.eos_token_id
            .as_ref()
            .map(TokenIds::to_vec)
            .unwrap_or_default()
    }

    /// The llama.cpp architecture name for this `model_type` ("mistral" runs as "llama"), if known.
    pub fn gguf_arch(&self) -> Option<&'static str> {
        Some(match self.model_type.as_str() {
            "llama" | "mistral" | "mixtral" => "llama",
            "qwen2" => "qwen2",
            "qwen3" => "qwen3",
            "qwen3_moe" => "qwen3moe",
            "qwen2_moe" => "qwen2moe",
            "gemma" => "gemma",
            "gemma2" => "gemma2",
            "gemma3" | "gemma3_text" => "gemma3",
            "phi3" => "phi3",
            "falcon" => "falcon",
            _ => return None,
        })
    }
}

/// transformers 5 writes `rope_parameters` ({rope_theta, rope_type, factor...}) where older files had
/// `rope_theta` and `rope_scaling`; map the new form onto the old fields when those are absent.
fn lift_rope_parameters(v: &mut Value) {
    let Some(obj) = v.as_object_mut() else { return };
    let Some(Value::Object(mut rp)) = obj.get("rope_parameters").cloned() else { return };
    // Gemma 3: one entry per attention type; the sliding layers' theta is the local base.
    if let Some(Value::Object(full)) = rp.get("full_attention").cloned() {
        if let (false, Some(local)) = (
            obj.contains_key("rope_local_base_freq"),
            rp.get("sliding_attention").and_then(|s| s.get("rope_theta")),
        ) {
            obj.insert("rope_local_base_freq".into(), local.clone());
        }
        rp = full;
    }
    if let (false, Some(theta)) = (obj.contains_key("rope_theta"), rp.get("rope_theta")) {
        obj.insert("rope_theta".into(), theta.clone());
    }
    let kind = rp.get("rope_type").and_then(Value::as_str).unwrap_or("default");
    if kind != "default" && !matches!(obj.get("rope_scaling"), Some(Value::Object(_))) {
        obj.insert("rope_scaling".into(), Value::Object(rp));
    }
}

#[cfg(test)]
mod rope_parameters_tests {
    use super::*;

    #[test]
    fn transformers5_rope_parameters_become_theta_and_scaling() {
        let c = HfConfig::from_json_str(
            r#"{"model_type":"llama","rope_parameters":{"rope_theta":500000.0,"rope_type":"llama3","factor":8.0,
                "low_freq_factor":1.0,"high_freq_factor":4.0,"original_max_position_embeddings":64}}"#,
        )
        .unwrap();
        assert_eq!(c.rope_theta, Some(500000.0));
        let rs = c.rope_scaling.unwrap();
        assert_eq!(rs.rope_type.as_deref(), Some("llama3"));
        assert_eq!(rs.original_max_position_embeddings, Some(64));
        let plain = HfConfig::from_json_str(r#"{"model_type":"gemma3_text","rope_parameters":{"rope_theta":1e6,"rope_type":"default"}}"#).unwrap();
        assert_eq!(plain.rope_theta, Some(1e6));
        assert!(plain.rope_scaling.is_none());
        let gemma = HfConfig::from_json_str(
            r#"{"model_type":"gemma3_text","rope_parameters":{"full_attention":{"rope_theta":1e6,"rope_type":"default"},
                "sliding_attention":{"rope_theta":10000.0,"rope_type":"default"}}}"#,
        )
        .unwrap();
        assert_eq!((gemma.rope_theta, gemma.rope_local_base_freq), (Some(1e6), Some(10000.0)));
    }
}
