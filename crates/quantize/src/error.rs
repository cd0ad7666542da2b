use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum QuantizeError {
    #[error("unknown quantization type '{name}'; choose one of: {known}")]
    UnknownType { name: String, known: String },
    #[error(transparent)]
    Weights(#[from] weights::WeightsError),
    #[error("tensor '{name}': {source}")]
    Format {
        name: String,
        #[source]
        source: kernels::dequant::FormatError,
    },
    #[error("tensor '{name}' holds non-finite values (NaN or infinity) in row {row}; the input model is damaged")]
    NonFinite { name: String, row: usize },
    #[error("the output folder {0} does not exist; create it first or choose another output path")]
    MissingOutputDir(PathBuf),
    #[error("the output {0} is the input file; write to a different path")]
    SameFile(PathBuf),
    #[error("cannot plan the quantization: {0}")]
    Plan(String),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Imatrix(String),
}

pub type Result<T, E = QuantizeError> = std::result::Result<T, E>;
