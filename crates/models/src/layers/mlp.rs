//! Feed-forward blocks: gated, down(act(gate x) * up x), and plain, down(act(up x)) (Falcon).

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
    /// Exact (erf) GELU, ungated (Falcon).
    Gelu,
}

pub struct GatedMlp {
    pub gate: Linear, // [n_ff, n_embd]
    pub up: Linear,   // [n_ff, n_embd]
    pub down: Linear, // [n_embd, n_ff]
    pub act: Activation,
}

impl GatedMlp {
    pub fn linears_mut(&mut self) -> Vec<&mut Linear> {
        vec![&mut self.gate, &mut self.up, &mut self.down]
    }

    /// `s.h`: [n, n_embd] -> `s.o`: [n, n_embd]
    pub fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize) {
        let n_ff = self.gate.rows;
        let h = &s.h[..n * self.gate.cols];
        let g = sized(&mut s.gate, n * n_ff);
        let u = sized(&mut s.up, n * n_ff);
        self.gate.forward_rows(pool, h, n, g, &s.adapter_rows);
        self.up.forward_rows(pool, h, n, u, &s.adapter_rows);
        match self.act {
            Activation::GeluTanh => gelu_tanh_mul(g, u),
            Activation::Silu => silu_mul(g, u),
            Activation::Gelu => g.iter_mut().zip(u.iter()).for_each(|(a, &b)| *a = gelu(*a) * b),
        }
        let o = sized(&mut s.o, n * self.down.rows);
        self.down.forward_rows(pool, g, n, o, &s.adapter_rows);
    }
}

/// Ungated feed-forward: down(act(up x)), biases where the file has them.
pub struct Mlp {
    pub up: Linear,   // [n_ff, n_embd]
    pub down: Linear, // [n_embd, n_ff]
    pub act: Activation,
}

impl Mlp {
    /// `s.h`: [n, n_embd] -> `s.o`: [n, n_embd]
    pub fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize) {
        let n_ff = self.up.rows;
        let u = sized(&mut s.up, n * n_ff);
        self.up.forward(pool, &s.h[..n * self.up.cols], n, u);
        match self.act {
            Activation::Gelu => u.iter_mut().for_each(|v| *v = gelu(*v)),
            Activation::GeluTanh => u.iter_mut().for_each(|v| *v = kernels::ops::gelu_tanh(*v)),
            Activation::Silu => u.iter_mut().for_each(|v| *v /= 1.0 + (-*v).exp()),
        }
        let o = sized(&mut s.o, n * self.down.rows);
        self.down.forward(pool, u, n, o);
    }
}

/// x * Phi(x), with the error function evaluated in f64.
pub fn gelu(x: f32) -> f32 {
    let x = x as f64;
    (0.5 * x * (1.0 + erf(x / std::f64::consts::SQRT_2))) as f32
}

/// erf by its series near 0 and its continued fraction in the tails (|error| < 1e-12, far below f32).
fn erf(x: f64) -> f64 {
    let ax = x.abs();
    let r = if ax < 2.5 {
        // Maclaurin series: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
        let (mut term, mut sum, x2) = (ax, ax, ax * ax);
        for n in 1..80 {
            term *= -x2 / n as f64;
            let add = term / (2 * n + 1) as f64;
            sum += add;
            if add.abs() < 1e-17 {
                break;
            }
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        // erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))), evaluated backwards.
        let mut f = ax;
        for k in (1..60).rev() {
            f = ax + (k as f64 / 2.0) / f;
        }
        1.0 - (-ax * ax).exp() / (std::f64::consts::PI.sqrt() * f)
    };
    r.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_matches_known_values() {
        for (x, want) in [(0.0, 0.0), (0.5, 0.520_499_877_813_046_5), (1.0, 0.842_700_792_949_714_9), (2.0, 0.995_322_265_018_952_7), (3.0, 0.999_977_909_503_001_4), (-1.0, -0.842_700_792_949_714_9)] {
            assert!((erf(x) - want).abs() < 1e-12, "erf({x}) = {} want {want}", erf(x));
        }
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
    }
}
