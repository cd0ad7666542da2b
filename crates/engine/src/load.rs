//! Opening a model file or folder: weights, architecture and tokenizer together.

use std::path::{Path, PathBuf};

use models::{LoadOptions, Model, WeightSource};
use tokenize::Tokenizer;

use crate::EngineError;

pub struct LoadedModel {
    pub path: PathBuf,
    pub model: Box<dyn Model>,
    pub tokenizer: Tokenizer,
    pub source: WeightSource,
    /// Names of the per-request LoRA adapters; adapter id `i + 1` is `adapters[i]`.
    pub adapters: Vec<String>,
}

impl LoadedModel {
    /// `path`: a `.gguf` file, or a Hugging Face folder with `config.json`, `*.safetensors`
    /// and `tokenizer.json`.
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        Self::open_with(path, &LoadOptions::default())
    }

    /// `open` for a model that will run sequences of up to `opts.n_ctx` tokens (Phi-3 long-rope
    /// models choose their RoPE factors from it).
    pub fn open_with(path: &Path, opts: &LoadOptions) -> Result<Self, EngineError> {
        let (model, source) = models::load_model_with(path, opts)?;
        let tokenizer = tokenizer_for(path, &source)?;
        Ok(Self { path: path.to_path_buf(), model, tokenizer, source, adapters: Vec::new() })
    }

    /// Loads the PEFT adapter in `dir` beside the base weights under `name`; requests choose it
    /// by the returned id (`Request::adapter`) and batch with requests on the base or other adapters.
    pub fn attach_adapter(&mut self, name: &str, dir: &Path) -> Result<usize, EngineError> {
        let c = self.model.config();
        let adapter = models::lora::LoraAdapter::open_peft(dir, &c.arch, c.n_head, c.n_kv_head)?;
        let id = self.model.attach_adapter(&adapter)?;
        debug_assert_eq!(id, self.adapters.len() + 1);
        self.adapters.push(name.to_string());
        Ok(id)
    }
}

/// The tokenizer inside a GGUF file, or `tokenizer.json` beside Hugging Face weights.
pub fn tokenizer_for(path: &Path, source: &WeightSource) -> Result<Tokenizer, EngineError> {
    Ok(match source {
        WeightSource::Gguf(g) => Tokenizer::from_gguf(g)?,
        WeightSource::Hf(_) => {
            let tj = path.join("tokenizer.json");
            if !tj.exists() {
                return Err(EngineError::MissingTokenizer(path.to_path_buf()));
            }
            Tokenizer::from_tokenizer_json(&tj)?
        }
    })
}
