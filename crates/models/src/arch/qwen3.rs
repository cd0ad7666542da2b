//! Qwen3 (dense). Technical report: https://arxiv.org/abs/2505.09388
//!
//! Differences from Llama: per-head RMSNorm on q and k before RoPE (as Gemma 3), no q/k/v bias,
//! explicit `head_dim` (may differ from n_embd / n_head), NEOX RoPE.

use super::llama::{build, LlamaConfig, LlamaLayer, Variant};
use crate::decoder::Decoder;
use crate::layers::RopeStyle;
use crate::{ModelError, WeightSource};

pub fn load(src: &WeightSource) -> Result<Decoder<LlamaLayer>, ModelError> {
    let c = LlamaConfig::load(src, "qwen3")?;
    build(src, "qwen3", c, Variant { rope: RopeStyle::Neox, qk_norm: true })
}
