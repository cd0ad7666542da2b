//! One error type for the crate.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CardError {
    #[error("unknown license {0:?}: known ids are {1} (use `other` with license_name for custom terms)")]
    UnknownLicense(String, String),
    #[error("unknown relation {0:?}: use finetune, adapter, merge, quantized, converted or distill")]
    UnknownRelation(String),
    #[error("unknown use {0:?}: use commercial, research or personal")]
    UnknownUse(String),
    #[error("model card {path}: {msg}")]
    Card { path: String, msg: String },
    #[error("lineage {path}: {msg}")]
    Lineage { path: String, msg: String },
    #[error("key {path}: {msg}")]
    Key { path: String, msg: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, CardError>;

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CardError + '_ {
    move |source| CardError::Io { path: path.display().to_string(), source }
}
