//! Qwen3-MoE (e.g. Qwen3-30B-A3B). Technical report: https://arxiv.org/abs/2505.09388
//!
//! The Qwen3 block (per-head q/k RMSNorm, NEOX RoPE) with a mixture-of-experts FFN in every layer:
//! a router picks `num_experts_per_tok` of `num_experts` SwiGLU experts of `moe_intermediate_size`,
//! their probabilities renormalised when `norm_topk_prob` (GGUF: always, as llama.cpp). No shared expert.

use super::llama::{build, LlamaConfig, LlamaLayer, Variant};
use crate::decoder::Decoder;
use crate::layers::RopeStyle;
use crate::{ModelError, WeightSource};

pub fn load(src: &WeightSource) -> Result<Decoder<LlamaLayer>, ModelError> {
    let c = LlamaConfig::load(src, "qwen3moe")?;
    if c.n_expert == 0 {
        return Err(ModelError::Config("a qwen3moe model needs an expert count (num_experts / qwen3moe.expert_count)".into()));
    }
    build(src, "qwen3moe", c, Variant { rope: RopeStyle::Neox, qk_norm: true })
}
