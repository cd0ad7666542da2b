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

    pub fn tensor(&self, name: &str) -> Result<Tensor, ModelError> {
        Ok(match self {
            Self::Gguf(g) => g.tensor(name)?,
            Self::Hf(h) => h.tensor(name)?,
        })
    }

    pub fn has_tensor(&self, name: &str) -> bool {
        match self {
            Self::Gguf(g) => g.tensor_infos().iter().any(|t| t.name == name),
            Self::Hf(h) => h.tensor(name).is_ok(),
        }
    }

    pub fn architecture(&self) -> Result<String, ModelError> {
        match self {
            Self::Gguf(g) => Ok(g.metadata().get_str("general.architecture")?.to_string()),
            Self::Hf(h) => Ok(hf_arch_to_gguf(&h.config.model_type).to_string()),
        }
    }
}

/// HF `model_type` -> the GGUF architecture name used by the registry.
fn hf_arch_to_gguf(model_type: &str) -> &str {
    match model_type {
        "gemma3_text" | "gemma3" => "gemma3",
        other => other,
    }
}
