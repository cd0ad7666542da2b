//! Attention helpers: KV cache row formats (f32, f16, Q8_0) and the small "many queries x one key row"
//! kernels the blocked attention is built from. Loading a key/value row once and using it for up to
//! `MAX_Q` query vectors is what makes attention compute- rather than memory-bound.
//!
//! `AttnOps::at(level)` pins a CPU level (tests compare levels with it), `AttnOps::active()` uses `cpu::active()`.
//!
//! # Panics
//! Every function panics when its slices do not fit together: that is a caller bug, not bad data.

use std::fmt;
use std::str::FromStr;

use crate::cpu::{self, CpuLevel};
use crate::dot::decode::f16_to_f32;
use crate::ops::Ops;

#[cfg(target_arch = "x86_64")]
use crate::attn_avx2 as simd;

/// The most query vectors one `dot_multi` / `pv_multi` call keeps in registers.
pub const MAX_Q: usize = 8;
/// Values per Q8_0 block.
pub const QK8_0: usize = 32;

/// Storage type of cached keys or values (llama.cpp's `--cache-type-k/-v`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KvType {
    #[default]
    F32,
    F16,
    /// GGUF Q8_0: blocks of 32 int8 with one f16 scale; rows must be whole blocks.
    Q8_0,
}

impl KvType {
    pub const ALL: [KvType; 3] = [KvType::F32, KvType::F16, KvType::Q8_0];

    pub fn name(self) -> &'static str {
        match self {
            KvType::F32 => "f32",
            KvType::F16 => "f16",
            KvType::Q8_0 => "q8_0",
        }
    }

    /// Bytes one row of `n` values takes (`n` must be a multiple of 32 for Q8_0).
    pub fn row_bytes(self, n: usize) -> usize {
        match self {
            KvType::F32 => 4 * n,
            KvType::F16 => 2 * n,
            KvType::Q8_0 => n / QK8_0 * std::mem::size_of::<BlockQ8_0>(),
        }
    }
}

impl fmt::Display for KvType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown `--cache-type-k/-v` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown KV cache type '{0}': use f32, f16 or q8_0")]
pub struct BadKvType(pub String);

impl FromStr for KvType {
    type Err = BadKvType;
    fn from_str(s: &str) -> Result<Self, BadKvType> {
        KvType::ALL.into_iter().find(|t| t.name().eq_ignore_ascii_case(s.trim())).ok_or_else(|| BadKvType(s.to_string()))
    }
}

/// GGUF's Q8_0 block layout: `value = f16(d) * qs[i]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BlockQ8_0 {
    pub d: u16,
    pub qs: [i8; QK8_0],
}

/// One cached key or value row (one head's slice of a slot), in its storage type.
#[derive(Clone, Copy, Debug)]
pub enum KvRow<'a> {
    F32(&'a [f32]),
    F16(&'a [u16]),
    Q8_0(&'a [BlockQ8_0]),
}

impl KvRow<'_> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            KvRow::F32(r) => r.len(),
            KvRow::F16(r) => r.len(),
            KvRow::Q8_0(r) => r.len() * QK8_0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The helpers at a fixed CPU level (clamped to what the CPU supports).
#[derive(Clone, Copy, Debug)]
pub struct AttnOps {
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    avx2: bool,
    ops: Ops,
}

macro_rules! dispatch {
    ($self:ident, $simd:expr, $scalar:expr) => {{
        #[cfg(target_arch = "x86_64")]
        if $self.avx2 {
            // SAFETY: `avx2` is set only when the CPU supports AVX2+FMA+F16C; lengths checked by caller.
            #[allow(unused_unsafe)]
            return unsafe { $simd };
        }
        $scalar
    }};
}

impl AttnOps {
    pub fn at(level: CpuLevel) -> AttnOps {
        AttnOps { avx2: level.clamp_supported().has_avx2(), ops: Ops::at(level) }
    }

    pub fn active() -> AttnOps {
        AttnOps::at(cpu::active())
    }

    /// `out[i] = Σ_j qs[i*d + j] * k[j]` for each of the `out.len()` query vectors of length `d = k.len()`.
    pub fn dot_multi(self, qs: &[f32], k: &[f32], out: &mut [f32]) {
        let d = k.len();
        assert_eq!(qs.len(), d * out.len(), "dot_multi: {} query values for {} rows of {d}", qs.len(), out.len());
        for (qs, out) in qs.chunks(MAX_Q * d.max(1)).zip(out.chunks_mut(MAX_Q)) {
            self.dot_multi8(qs, k, out);
        }
    }

    fn dot_multi8(self, qs: &[f32], k: &[f32], out: &mut [f32]) {
        dispatch!(self, simd::dot_multi(qs, k, out), {
            for (o, q) in out.iter_mut().zip(qs.chunks_exact(k.len().max(1))) {
                *o = q.iter().zip(k).map(|(a, b)| a * b).sum();
            }
        })
    }

    /// `ys[i*d..(i+1)*d] += Σ_j ps[i*stride + j] * rows[j]` for the `ys.len() / d` output rows, `d` the
    /// rows' length: P x V for one tile of keys. Outputs stay in registers while every row is read
    /// once, where an axpy per key would load and store them once per key.
    pub fn pv_multi(self, ps: &[f32], stride: usize, rows: &[&[f32]], ys: &mut [f32]) {
        let Some(d) = rows.first().map(|r| r.len()) else { return };
        assert!(rows.iter().all(|r| r.len() == d), "pv_multi: rows of different lengths");
        assert!(d > 0 && ys.len() % d == 0, "pv_multi: {} outputs for rows of {d}", ys.len());
        let nq = ys.len() / d;
        assert!(stride >= rows.len() && ps.len() >= (nq.max(1) - 1) * stride + rows.len(), "pv_multi: ps too short");
        for (c, ys) in ys.chunks_mut(MAX_Q * d).enumerate() {
            self.pv_multi8(&ps[c * MAX_Q * stride..], stride, rows, ys);
        }
    }

    fn pv_multi8(self, ps: &[f32], stride: usize, rows: &[&[f32]], ys: &mut [f32]) {
        dispatch!(self, simd::pv_multi(ps, stride, rows, ys), {
            let d = rows[0].len();
            for (i, y) in ys.chunks_exact_mut(d).enumerate() {
                for (j, r) in rows.iter().enumerate() {
                    let p = ps[i * stride + j];
                    for (y, &x) in y.iter_mut().zip(*r) {
                        *y = p.mul_add(x, *y);
                    }
                }
            }
        })
    }

    /// The row as f32 in `buf` (no copy for f32 rows). Decoding once per row, then using it for
    /// many queries, costs a fraction of the multi-dot.
    pub fn row_f32<'a>(self, row: KvRow<'a>, buf: &'a mut [f32]) -> &'a [f32] {
        match row {
            KvRow::F32(r) => r,
            KvRow::F16(r) => {
                let buf = &mut buf[..r.len()];
                self.ops.f16_row_to_f32(r, buf);
                buf
            }
            KvRow::Q8_0(r) => {
                let buf = &mut buf[..r.len() * QK8_0];
                self.q8_0_to_f32(r, buf);
                buf
            }
        }
    }

    pub fn q8_0_to_f32(self, src: &[BlockQ8_0], dst: &mut [f32]) {
        assert_eq!(dst.len(), src.len() * QK8_0, "q8_0_to_f32: {} blocks into {} values", src.len(), dst.len());
        dispatch!(self, simd::q8_0_to_f32(src, dst), {
            for (b, d) in src.iter().zip(dst.chunks_exact_mut(QK8_0)) {
                let s = f16_to_f32(b.d);
                for (d, &q) in d.iter_mut().zip(&b.qs) {
                    *d = s * q as f32;
                }
            }
        })
    }

    /// f32 to Q8_0 (GGUF rule: d = max|x| / 127 stored as f16, q = round(x * 127 / max|x|)).
    /// Scalar at every level: it runs once per stored row, far off the hot path.
    pub fn f32_to_q8_0(self, src: &[f32], dst: &mut [BlockQ8_0]) {
        assert_eq!(src.len(), dst.len() * QK8_0, "f32_to_q8_0: {} values into {} blocks", src.len(), dst.len());
        for (x, b) in src.chunks_exact(QK8_0).zip(dst.iter_mut()) {
            let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
            b.d = half::f16::from_f32(amax / 127.0).to_bits();
            for (q, &v) in b.qs.iter_mut().zip(x) {
                *q = (v * id).round() as i8;
            }
        }
    }

    pub fn f32_to_f16(self, src: &[f32], dst: &mut [u16]) {
        self.ops.f32_row_to_f16(src, dst)
    }

    /// `x[i] = e^(x[i] - max)`, returns the sum; -inf entries become 0.
    pub fn exp_sub_sum(self, x: &mut [f32], max: f32) -> f32 {
        dispatch!(self, crate::dot::ops_avx2::exp_sub_sum(x, max), {
            let mut sum = 0.0;
            for v in x.iter_mut() {
                *v = (*v - max).exp();
                sum += *v;
            }
            sum
        })
    }

    /// y *= s
    pub fn scale(self, y: &mut [f32], s: f32) {
        self.ops.scale(y, s)
    }
}
