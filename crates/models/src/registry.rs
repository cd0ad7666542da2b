//! Architecture name -> loader. The only `match` on architecture in the code base.

use std::path::Path;

use crate::arch::{falcon, gemma2, gemma3, llama, phi3, qwen2, qwen2moe, qwen3, qwen3moe};
use crate::decoder::{Block, Decoder};
use crate::{ForwardCtx, LoadOptions, Model, ModelConfig, ModelError, SeqInput, WeightSource};

pub const SUPPORTED: &[&str] = &["falcon", "gemma2", "gemma3", "llama (and mistral, mixtral)", "phi3", "qwen2", "qwen2moe", "qwen3", "qwen3moe"];

/// Opens a GGUF file or Hugging Face folder and builds the model it describes.
pub fn load_model(path: &Path) -> Result<(Box<dyn Model>, WeightSource), ModelError> {
    load_model_with(path, &LoadOptions::default())
}

/// `load_model` for a given context size (see [`LoadOptions`]).
pub fn load_model_with(path: &Path, opts: &LoadOptions) -> Result<(Box<dyn Model>, WeightSource), ModelError> {
    let src = WeightSource::open(path)?;
    let model = build_with(&src, opts)?;
    Ok((model, src))
}

pub fn build(src: &WeightSource) -> Result<Box<dyn Model>, ModelError> {
    build_with(src, &LoadOptions::default())
}

pub fn build_with(src: &WeightSource, opts: &LoadOptions) -> Result<Box<dyn Model>, ModelError> {
    let arch = src.architecture()?;
    Ok(match arch.as_str() {
        "falcon" => Box::new(falcon::load(src)?),
        "gemma2" => Box::new(gemma2::load(src)?),
        "gemma3" => Box::new(gemma3::load(src)?),
        "phi3" => Box::new(phi3::load(src, opts)?),
        "llama" => Box::new(llama::load(src, "llama")?),
        "qwen2" => Box::new(qwen2::load(src)?),
        "qwen2moe" => Box::new(qwen2moe::load(src)?),
        "qwen3" => Box::new(qwen3::load(src)?),
        "qwen3moe" => Box::new(qwen3moe::load(src)?),
        other => return Err(ModelError::UnknownArchitecture(other.to_string(), SUPPORTED.join(", "))),
    })
}

impl<B: Block> Model for Decoder<B> {
    fn config(&self) -> &ModelConfig {
        &self.config
    }

    fn forward_batch(
        &self,
        ctx: &mut ForwardCtx,
        seqs: &mut [SeqInput<'_>],
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        Decoder::forward_batch(self, ctx, seqs, out)
    }
}
