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
    let src = if opts.use_mmap() { WeightSource::open(path)? } else { WeightSource::open_resident(path)? };
    let mut model = build_with(&src, opts)?;
    if let Some(dir) = &opts.lora {
        let c = model.config();
        let adapter = crate::lora::LoraAdapter::open_peft(dir, &c.arch, c.n_head, c.n_kv_head)?;
        model.attach_lora(&adapter)?;
    }
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

    fn train_view(&self) -> Option<crate::TrainView<'_>> {
        Decoder::train_view(self)
    }

    fn attach_lora(&mut self, adapter: &crate::lora::LoraAdapter) -> Result<(), ModelError> {
        self.each_target(adapter, |lin, d| lin.set_lora(d.clone()))
    }

    fn attach_adapter(&mut self, adapter: &crate::lora::LoraAdapter) -> Result<usize, ModelError> {
        let id = 1 + self.adaptable().map(|l| l.adapter_slots()).max().unwrap_or(0);
        // Check every delta before filling any slot: a refused adapter leaves no trace.
        self.each_target(adapter, |lin, d| lin.check(d))?;
        self.each_target(adapter, |lin, d| lin.set_adapter(id, d.clone()))?;
        Ok(id)
    }
}

impl<B: Block> Decoder<B> {
    /// The linears an adapter may target: every block's, then the output head.
    fn adaptable(&mut self) -> impl Iterator<Item = &mut crate::layers::Linear> {
        self.layers.iter_mut().flat_map(|l| l.linears_mut()).chain(std::iter::once(&mut self.output))
    }

    /// Calls `f` for each linear the adapter has a delta for; every delta must find its linear.
    fn each_target(
        &mut self,
        adapter: &crate::lora::LoraAdapter,
        mut f: impl FnMut(&mut crate::layers::Linear, &crate::lora::LoraDelta) -> Result<(), ModelError>,
    ) -> Result<(), ModelError> {
        let mut left: std::collections::BTreeSet<&str> = adapter.deltas.keys().map(String::as_str).collect();
        let arch = self.config.arch.clone();
        for lin in self.adaptable() {
            if let Some((name, d)) = adapter.deltas.get_key_value(&lin.tensor().name) {
                f(lin, d).map_err(|e| ModelError::Config(format!("LoRA adapter {}: {e}", adapter.dir.display())))?;
                left.remove(name.as_str());
            }
        }
        if !left.is_empty() {
            let names: Vec<&str> = left.into_iter().take(5).collect();
            return Err(ModelError::Config(format!(
                "the LoRA adapter {} (made for {}) targets weights this {} model does not have or cannot adapt: {} (adapters work on the attention and MLP projections of the base model they were trained on)",
                adapter.dir.display(),
                adapter.base_model.as_deref().unwrap_or("an unnamed base model"),
                arch,
                names.join(", ")
            )));
        }
        Ok(())
    }
}
