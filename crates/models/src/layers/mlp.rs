//! Gated feed-forward: down(act(gate x) * up x).

use kernels::ops::{gelu_tanh_mul, silu_mul};
use kernels::pool::ThreadPool;

use super::Linear;
use crate::model::{sized, Scratch};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// GeGLU with the tanh approximation of GELU (Gemma).
    GeluTanh,
    /// SwiGLU (Llama, Mistral, Qwen).
    Silu,
}

pub struct GatedMlp {
    pub gate: Linear, // [n_ff, n_embd]
    pub up: Linear,   // [n_ff, n_embd]
    pub down: Linear, // [n_embd, n_ff]
    pub act: Activation,
}

impl GatedMlp {
    /// `s.h`: [n, n_embd] -> `s.o`: [n, n_embd]
    pub fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize) {
        let n_ff = self.gate.rows;
        let h = &s.h[..n * self.gate.cols];
        let g = sized(&mut s.gate, n * n_ff);
        let u = sized(&mut s.up, n * n_ff);
        self.gate.forward(pool, h, n, g);
        self.up.forward(pool, h, n, u);
        match self.act {
            Activation::GeluTanh => gelu_tanh_mul(g, u),
            Activation::Silu => silu_mul(g, u),
        }
        let o = sized(&mut s.o, n * self.down.rows);
        self.down.forward(pool, g, n, o);
    }
}
