//! The one error type of this crate. Every message names the problem and, where there is one, the fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read {path}: {source}; check the path and its permissions")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot write {path}: {source}; check free disk space and permissions")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "not a GGUF file: bad magic {found:#010x} (expected 'GGUF'); is this a safetensors file or a partial download?"
    )]
    BadMagic { found: u32 },

    #[error(
        "GGUF file is big-endian (version field {raw:#010x}); convert it to a little-endian GGUF"
    )]
    BigEndian { raw: u32 },

    #[error(
        "GGUF version {0} is not supported (this reader handles versions 2 and 3); re-convert the model with a current llama.cpp `convert_hf_to_gguf.py`"
    )]
    UnsupportedVersion(u32),

    #[error("GGUF file truncated: {what} needs bytes {start}..{end} but the file has {file_size}; re-download the model")]
    Truncated {
        what: String,
        start: u64,
        end: u64,
        file_size: u64,
    },

    #[error("corrupt GGUF file: {0}; re-download or re-convert the model")]
    Corrupt(String),

    #[error(
        "unsupported tensor type {ty} in '{tensor}'; this engine reads F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1 and Q2_K..Q8_K; re-quantize the model to one of those"
    )]
    UnknownTensorType { tensor: String, ty: u32 },

    #[error("tensor '{0}' appears twice in the file; the file is corrupt, re-convert the model")]
    DuplicateTensor(String),

    #[error("tensor '{name}' not found in {source_name}; is this model of the architecture you expect (or a newer converter's naming)?")]
    TensorNotFound { name: String, source_name: String },

    #[error("metadata key '{key}' is missing; the model file lacks it (re-convert with a current converter) or the key name is wrong")]
    MissingKey { key: String },

    #[error("metadata key '{key}' has type {actual}, but {expected} was expected; the file was written by an incompatible converter")]
    WrongType {
        key: String,
        expected: &'static str,
        actual: String,
    },

    #[error("metadata key '{key}' holds {value}, which does not fit in {target}; the file is corrupt or not meant for this engine")]
    OutOfRange {
        key: String,
        value: String,
        target: &'static str,
    },

    #[error("cannot write GGUF: {0}")]
    InvalidWrite(String),

    #[error("bad safetensors file {path}: {msg}; re-download the model")]
    Safetensors { path: PathBuf, msg: String },

    #[error(
        "tensor '{tensor}' has dtype {dtype}, which this loader does not read (F32, F16, BF16 only); convert the checkpoint to one of those"
    )]
    UnsupportedDtype { tensor: String, dtype: String },

    #[error("bad config.json in {path}: {msg}; is this a Hugging Face transformers model folder?")]
    HfConfig { path: PathBuf, msg: String },

    #[error("no model weights in {path}: {msg}")]
    NoWeights { path: PathBuf, msg: String },
}

pub type Result<T, E = WeightsError> = std::result::Result<T, E>;
