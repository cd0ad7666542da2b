use thiserror::Error;

#[derive(Debug, Error)]
pub enum FinetuneError {
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error(transparent)]
    Weights(#[from] weights::WeightsError),
    #[error("{0}")]
    Config(String),
    #[error("{path}: {msg}")]
    Data { path: String, msg: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}
