//! Quantization: plans (which tensor becomes which type, llama.cpp's mixing rules), the GGUF rewriter,
//! and the KL-divergence measurement of what a quantization cost.

pub mod certify;
pub mod convert;
pub mod error;
pub mod ftype;
pub mod imatrix;
pub mod kld;
pub mod merge;
pub mod plan;
pub mod writer;

pub use error::QuantizeError;
pub use ftype::FileType;
pub use kld::{kl_divergence, KldReport};
pub use plan::{Plan, TensorPlan};
pub use imatrix::Imatrix;
pub use writer::{quantize_edited, quantize_file, quantize_file_with_imatrix, ImatrixUse, Options, Progress, Report, TensorEdit};
