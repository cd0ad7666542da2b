use thiserror::Error;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error(transparent)]
    Weights(#[from] weights::WeightsError),
    #[error("unknown model architecture '{0}'; supported: {1}")]
    UnknownArchitecture(String, String),
    #[error("tensor '{name}' has type {ty}, which this engine cannot compute with; re-quantize the model to Q4_K_M, Q8_0 or F16")]
    UnsupportedTensorType { name: String, ty: &'static str },
    #[error("tensor '{name}' has shape {got:?}, expected {want:?}; the file does not match its own metadata")]
    BadShape { name: String, got: Vec<usize>, want: Vec<usize> },
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error("token id {id} is outside the vocabulary (size {n_vocab})")]
    TokenOutOfRange { id: u32, n_vocab: usize },
    #[error("position {pos} is beyond the context size {n_ctx}; start a new sequence or raise --ctx")]
    ContextOverflow { pos: usize, n_ctx: usize },
    #[error(transparent)]
    Kernel(#[from] kernels::matmul::MatmulError),
}
