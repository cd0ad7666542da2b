//! Qwen2-MoE (Qwen1.5-MoE-A2.7B, Qwen2-57B-A14B). Model card: https://huggingface.co/Qwen/Qwen1.5-MoE-A2.7B
//!
//! The Qwen2 block (q/k/v biases, NEOX RoPE) with a mixture-of-experts FFN in every layer: a router
//! picks `num_experts_per_tok` of `num_experts` SwiGLU experts of `moe_intermediate_size`, their
//! softmax probabilities used as they are (`norm_topk_prob` is false by default, and llama.cpp never
//! renormalises for this architecture), plus a shared expert of `shared_expert_intermediate_size`
//! that every token goes through, scaled by sigmoid(`shared_expert_gate` · x).

use weights::names::TensorName as T;

use super::llama::{build, LlamaConfig, LlamaLayer, Variant};
use crate::decoder::Decoder;
use crate::layers::RopeStyle;
use crate::{ModelError, WeightSource};

pub fn load(src: &WeightSource) -> Result<Decoder<LlamaLayer>, ModelError> {
    let mut c = LlamaConfig::load(src, "qwen2moe")?;
    c.norm_topk = match src {
        WeightSource::Gguf(g) => g.metadata().opt_bool("qwen2moe.expert_weights_norm").unwrap_or(false),
        WeightSource::Hf(h) => h.config.norm_topk_prob.unwrap_or(false),
    };
    if c.n_expert == 0 || c.n_ff_shexp == 0 {
        return Err(ModelError::Config(
            "a qwen2moe model needs an expert count and a shared expert size (num_experts and shared_expert_intermediate_size; \
             qwen2moe.expert_count and qwen2moe.expert_shared_feed_forward_length in GGUF)"
                .into(),
        ));
    }
    let bias = weights::names::tn_bias(T::AttnQ, Some(0));
    if c.n_layer > 0 && !src.has_tensor(&bias) {
        return Err(weights::WeightsError::TensorNotFound { name: bias, source_name: "the qwen2moe model".into() }.into());
    }
    build(src, "qwen2moe", c, Variant { rope: RopeStyle::Neox, qk_norm: false })
}
