//! Qwen2 / Qwen2.5. Technical report: https://arxiv.org/abs/2407.10671
//!
//! Differences from Llama: q, k and v projections carry a bias; NEOX RoPE (q/k are not
//! permuted in GGUF); small models tie the output head to the embeddings. The config's
//! `sliding_window` applies only with `use_sliding_window: true` (off in released models).

use weights::names::TensorName as T;

use super::llama::{build, LlamaConfig, LlamaLayer, Variant};
use crate::decoder::Decoder;
use crate::layers::RopeStyle;
use crate::{ModelError, WeightSource};

pub fn load(src: &WeightSource) -> Result<Decoder<LlamaLayer>, ModelError> {
    let c = LlamaConfig::load(src, "qwen2")?;
    // The biases are what makes this Qwen2: refuse a file without them rather than run a Llama.
    let bias = weights::names::tn_bias(T::AttnQ, Some(0));
    if c.n_layer > 0 && !src.has_tensor(&bias) {
        return Err(weights::WeightsError::TensorNotFound { name: bias, source_name: "the qwen2 model".into() }.into());
    }
    build(src, "qwen2", c, Variant { rope: RopeStyle::Neox, qk_norm: false })
}
