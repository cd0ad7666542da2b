//! Compute kernels: GGUF block formats, (de)quantization, SIMD dot products, GEMV/GEMM, thread pool.
//! No model knowledge lives here.

pub mod types;
pub mod dequant;
pub mod quant;
pub mod quant_weighted;
pub mod cpu;
pub mod pool;
pub mod ops;
pub mod attn;
#[cfg(target_arch = "x86_64")]
mod attn_avx2;
pub mod dot;
pub mod matmul;
pub mod rng;
pub mod rerun;

pub use types::{GgmlType, QK_K};
