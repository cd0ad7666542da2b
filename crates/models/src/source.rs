//! Where tensors and configuration come from: a GGUF file or a Hugging Face folder.

use std::path::Path;

use weights::gguf::GgufFile;
use weights::hf::HfModel;
use weights::Tensor;

use crate::ModelError;

pub enum WeightSource {
    Gguf(GgufFile),
    Hf(HfModel),
}

impl WeightSource {
    /// Opens a `.gguf` file, or a folder holding `config.json` and `*.safetensors`.
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        if path.is_dir() {
            Ok(Self::Hf(HfModel::open(path)?))
        } else {
            Ok(Self::Gguf(GgufFile::open(path)?))
        }
    }

    /// Like `open`, with a GGUF file read into huge-page memory for fast streaming (see
    /// `GgufFile::open_resident`); folders are opened as by `open`.
    pub fn open_resident(path: &Path) -> Result<Self, ModelError> {
        if path.is_dir() {
            Self::open(path)
        } else {
            Ok(Self::Gguf(GgufFile::open_resident(path)?))
        }
    }

    pub fn tensor(&self, name: &str) -> Result<Tensor, ModelError> {
        Ok(match self {
            Self::Gguf(g) => g.tensor(name)?,
            Self::Hf(h) => h.tensor(name)?,
        })
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        match self {
            Self::Gguf(g) => g.tensor_infos().iter().any(|t| t.name == name),
            Self::Hf(h) => h.contains_tensor(name),
        }
    }

    pub fn architecture(&self) -> Result<String, ModelError> {
        match self {
            Self::Gguf(g) => Ok(g.metadata().get_str("general.architecture")?.to_string()),
            Self::Hf(h) => Ok(h.config.gguf_arch().unwrap_or(h.config.model_type.as_str()).to_string()),
        }
    }
}

