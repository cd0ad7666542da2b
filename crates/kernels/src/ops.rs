//! f32 vector helpers for the layers between matmuls (norms, activations, residual adds), scalar, AVX2
//! and NEON.
//!
//! Free functions use `cpu::active()`; `Ops::at(level)` pins a level (tests compare levels with it).
//!
//! # Panics
//! Every function panics when its slices differ in length: that is a caller bug, not bad data.

use crate::cpu::{self, CpuLevel};
use crate::dot::decode;

#[cfg(target_arch = "x86_64")]
use crate::dot::ops_avx2 as simd;
#[cfg(target_arch = "aarch64")]
use crate::dot::ops_neon as neon;

/// The helpers at a fixed CPU level (clamped to what the CPU supports).
#[derive(Clone, Copy, Debug)]
pub struct Ops {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
    #[cfg(target_arch = "aarch64")]
    neon: bool,
}

/// Run `$simd` when AVX2 is on (x86-64) or the same-named function of `ops_neon` when NEON is on
/// (aarch64), else `$scalar`.
macro_rules! dispatch {
    ($self:ident, simd::$f:ident($($arg:expr),*), $scalar:expr) => {{
        #[cfg(target_arch = "x86_64")]
        if $self.avx2 {
            // SAFETY: `avx2` is set only when the CPU supports AVX2+FMA+F16C; lengths checked by caller.
            #[allow(unused_unsafe)]
            return unsafe { simd::$f($($arg),*) };
        }
        #[cfg(target_arch = "aarch64")]
        if $self.neon {
            // SAFETY: NEON is part of every aarch64 CPU; lengths checked by caller.
            #[allow(unused_unsafe)]
            return unsafe { neon::$f($($arg),*) };
        }
        $scalar
    }};
}

fn check_len(what: &str, a: usize, b: usize) {
    assert_eq!(a, b, "{what}: slice lengths differ ({a} vs {b})");
}

impl Ops {
    pub fn at(level: CpuLevel) -> Ops {
        let level = level.clamp_supported();
        Ops {
            avx2: level.has_avx2(),
            #[cfg(target_arch = "aarch64")]
            neon: level.has_neon(),
        }
    }

    pub fn active() -> Ops {
        Ops::at(cpu::active())
    }

    /// `Σ a[i] * b[i]`
    pub fn dot_f32(self, a: &[f32], b: &[f32]) -> f32 {
        check_len("dot_f32", a.len(), b.len());
        dispatch!(self, simd::dot_f32(a, b), a.iter().zip(b).map(|(x, y)| x * y).sum())
    }

    /// y += alpha * x
    pub fn axpy(self, alpha: f32, x: &[f32], y: &mut [f32]) {
        check_len("axpy", x.len(), y.len());
        dispatch!(self, simd::axpy(alpha, x, y), {
            for (y, x) in y.iter_mut().zip(x) {
                *y = alpha.mul_add(*x, *y);
            }
        })
    }

    /// x *= s
    pub fn scale(self, x: &mut [f32], s: f32) {
        dispatch!(self, simd::scale(x, s), x.iter_mut().for_each(|v| *v *= s))
    }

    /// y += x
    pub fn add_assign(self, y: &mut [f32], x: &[f32]) {
        check_len("add_assign", x.len(), y.len());
        dispatch!(self, simd::add_assign(y, x), y.iter_mut().zip(x).for_each(|(y, x)| *y += x))
    }

    /// 1 / sqrt(mean(x²) + eps), the sum in f64 as ggml does (`ggml_compute_forward_rms_norm_f32`).
    fn rms_scale(self, x: &[f32], eps: f32) -> f32 {
        if x.is_empty() {
            return 0.0;
        }
        let sum: f64 = {
            #[cfg(target_arch = "x86_64")]
            if self.avx2 {
                // SAFETY: AVX2 checked in `Ops::at`.
                unsafe { simd::sum_squares_f64(x) }
            } else {
                x.iter().map(|&v| (v * v) as f64).sum()
            }
            #[cfg(target_arch = "aarch64")]
            if self.neon {
                // SAFETY: NEON is part of every aarch64 CPU.
                unsafe { neon::sum_squares_f64(x) }
            } else {
                x.iter().map(|&v| (v * v) as f64).sum()
            }
            #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
            x.iter().map(|&v| (v * v) as f64).sum()
        };
        let mean = (sum / x.len() as f64) as f32;
        1.0 / (mean + eps).sqrt()
    }

    /// out = x / sqrt(mean(x²) + eps) * w
    pub fn rms_norm(self, x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
        check_len("rms_norm (x, w)", x.len(), w.len());
        check_len("rms_norm (x, out)", x.len(), out.len());
        let s = self.rms_scale(x, eps);
        dispatch!(self, simd::scale_mul(x, s, w, out), {
            for ((o, &x), &w) in out.iter_mut().zip(x).zip(w) {
                *o = x * s * w;
            }
        })
    }

    /// x = x / sqrt(mean(x²) + eps)
    pub fn rms_norm_inplace_noweight(self, x: &mut [f32], eps: f32) {
        let s = self.rms_scale(x, eps);
        self.scale(x, s);
    }

    /// x = softmax(x), max-subtracted. An empty slice is left alone; all -inf (a fully masked row)
    /// gives NaN, as the math does, at every level.
    pub fn softmax_inplace(self, x: &mut [f32]) {
        if x.is_empty() {
            return;
        }
        if x.iter().all(|&v| v == f32::NEG_INFINITY) {
            x.fill(f32::NAN);
            return;
        }
        let sum: f32 = {
            #[cfg(target_arch = "x86_64")]
            if self.avx2 {
                // SAFETY: AVX2 checked in `Ops::at`.
                unsafe {
                    let m = simd::max(x);
                    simd::exp_sub_sum(x, m)
                }
            } else {
                softmax_exp_scalar(x)
            }
            #[cfg(target_arch = "aarch64")]
            if self.neon {
                // SAFETY: NEON is part of every aarch64 CPU.
                unsafe {
                    let m = neon::max(x);
                    neon::exp_sub_sum(x, m)
                }
            } else {
                softmax_exp_scalar(x)
            }
            #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
            softmax_exp_scalar(x)
        };
        self.scale(x, 1.0 / sum);
    }

    /// gate = gelu_tanh(gate) * up, with gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x²))).
    pub fn gelu_tanh_mul(self, gate: &mut [f32], up: &[f32]) {
        check_len("gelu_tanh_mul", gate.len(), up.len());
        dispatch!(self, simd::gelu_tanh_mul(gate, Some(up)), {
            for (g, &u) in gate.iter_mut().zip(up) {
                *g = gelu_tanh(*g) * u;
            }
        })
    }

    /// x = gelu_tanh(x)
    pub fn gelu_tanh_inplace(self, x: &mut [f32]) {
        dispatch!(self, simd::gelu_tanh_mul(x, None), x.iter_mut().for_each(|v| *v = gelu_tanh(*v)))
    }

    /// gate = silu(gate) * up, silu(x) = x / (1 + e^-x).
    pub fn silu_mul(self, gate: &mut [f32], up: &[f32]) {
        check_len("silu_mul", gate.len(), up.len());
        dispatch!(self, simd::silu_mul(gate, Some(up)), {
            for (g, &u) in gate.iter_mut().zip(up) {
                *g = *g / (1.0 + (-*g).exp()) * u;
            }
        })
    }

    /// IEEE half bits to f32.
    pub fn f16_row_to_f32(self, src: &[u16], dst: &mut [f32]) {
        check_len("f16_row_to_f32", src.len(), dst.len());
        dispatch!(self, simd::f16_to_f32(src, dst), {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = decode::f16_to_f32(s);
            }
        })
    }

    /// f32 to IEEE half bits, round to nearest even.
    pub fn f32_row_to_f16(self, src: &[f32], dst: &mut [u16]) {
        check_len("f32_row_to_f16", src.len(), dst.len());
        dispatch!(self, simd::f32_to_f16(src, dst), {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = half::f16::from_f32(s).to_bits();
            }
        })
    }

    /// bfloat16 bits to f32 (exact; no SIMD needed to be memory bound).
    pub fn bf16_row_to_f32(self, src: &[u16], dst: &mut [f32]) {
        check_len("bf16_row_to_f32", src.len(), dst.len());
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = decode::bf16_to_f32(s);
        }
    }
}

fn softmax_exp_scalar(x: &mut [f32]) -> f32 {
    let m = x.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let mut sum = 0.0f32;
    for v in x.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    sum
}

/// Scalar tanh-approximation GELU, 0.5 x (1 + tanh(z)) with z = sqrt(2/pi) x (1 + 0.044715 x²),
/// evaluated as x / (1 + e^(-2z)): the same function without the cancellation in 1 + tanh(z) for x < 0.
pub fn gelu_tanh(x: f32) -> f32 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let z = SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x);
    x / (1.0 + (-2.0 * z).exp())
}

pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    Ops::active().dot_f32(a, b)
}

/// y += alpha * x
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    Ops::active().axpy(alpha, x, y)
}

pub fn scale(x: &mut [f32], s: f32) {
    Ops::active().scale(x, s)
}

/// y += x
pub fn add_assign(y: &mut [f32], x: &[f32]) {
    Ops::active().add_assign(y, x)
}

/// out = x / sqrt(mean(x²) + eps) * w
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    Ops::active().rms_norm(x, w, eps, out)
}

pub fn rms_norm_inplace_noweight(x: &mut [f32], eps: f32) {
    Ops::active().rms_norm_inplace_noweight(x, eps)
}

pub fn softmax_inplace(x: &mut [f32]) {
    Ops::active().softmax_inplace(x)
}

/// gate = gelu_tanh(gate) * up
pub fn gelu_tanh_mul(gate: &mut [f32], up: &[f32]) {
    Ops::active().gelu_tanh_mul(gate, up)
}

pub fn gelu_tanh_inplace(x: &mut [f32]) {
    Ops::active().gelu_tanh_inplace(x)
}

/// gate = silu(gate) * up
pub fn silu_mul(gate: &mut [f32], up: &[f32]) {
    Ops::active().silu_mul(gate, up)
}

pub fn f16_row_to_f32(src: &[u16], dst: &mut [f32]) {
    Ops::active().f16_row_to_f32(src, dst)
}

pub fn f32_row_to_f16(src: &[f32], dst: &mut [u16]) {
    Ops::active().f32_row_to_f16(src, dst)
}

pub fn bf16_row_to_f32(src: &[u16], dst: &mut [f32]) {
    Ops::active().bf16_row_to_f32(src, dst)
}
