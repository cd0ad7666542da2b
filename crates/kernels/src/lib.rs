//! Compute kernels: GGUF block formats, (de)quantization, SIMD dot products, GEMV/GEMM, thread pool.
//! No model knowledge lives here.

pub mod types;

pub use types::{GgmlType, QK_K};
