//! Activation formats: each matmul quantizes its f32 input rows once into the partner format of the
//! weight type (as llama.cpp does), so the inner loops are int8 x int8 multiply-adds.
//!
//! These blocks live only in memory (never in files), so they use an f32 scale: no f16 rounding of
//! the activation scale, and no conversion in the inner loop.

use crate::cpu::CpuLevel;
use crate::types::{GgmlType, QK_K};

/// 32 activations as int8 with a scale; partner of Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 weights.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(8))]
pub struct BlockQ8 {
    /// `value = d * qs[i]`
    pub d: f32,
    /// d * sum(qs): the block sum, needed by weight types with a min (Q4_1, Q5_1).
    pub s: f32,
    pub qs: [i8; 32],
}

/// 256 activations as int8 with one scale and per-16 sums; partner of the K-quants.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(8))]
pub struct BlockQ8K {
    /// `value = d * qs[i]`
    pub d: f32,
    pub qs: [i8; QK_K],
    /// sum of qs[16 * j .. 16 * j + 16]: turns the K-quants' mins and offsets into one multiply-add.
    pub bsums: [i16; QK_K / 16],
}

impl BlockQ8 {
    pub const ZERO: BlockQ8 = BlockQ8 { d: 0.0, s: 0.0, qs: [0; 32] };
}

impl BlockQ8K {
    pub const ZERO: BlockQ8K = BlockQ8K { d: 0.0, qs: [0; QK_K], bsums: [0; QK_K / 16] };
}

/// Which activation format a weight type multiplies against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActFormat {
    /// `BlockQ8` per 32 values.
    Q8,
    /// `BlockQ8K` per 256 values.
    Q8K,
    /// Plain f32 (float weights).
    F32,
}

impl ActFormat {
    /// The partner format of a weight type, or None for types that cannot be matmul weights.
    pub fn for_weight(ty: GgmlType) -> Option<ActFormat> {
        match ty {
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => Some(ActFormat::Q8),
            GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => Some(ActFormat::Q8K),
            GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => Some(ActFormat::F32),
            _ => None,
        }
    }

    /// Values per block.
    pub fn block_len(self) -> usize {
        match self {
            ActFormat::Q8 => 32,
            ActFormat::Q8K => QK_K,
            ActFormat::F32 => 1,
        }
    }
}

/// Quantizes `x` (a multiple of 32 long) into `out` (`x.len() / 32` blocks).
pub fn quantize_q8(level: CpuLevel, x: &[f32], out: &mut [BlockQ8]) {
    assert_eq!(x.len(), out.len() * 32, "quantize_q8: x has {} values for {} blocks", x.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    if level.clamp_supported().has_avx2() {
        // SAFETY: AVX2+FMA+F16C checked by `clamp_supported`; lengths checked above.
        unsafe { super::act_avx2::quantize_q8(x, out) };
        return;
    }
    #[cfg(target_arch = "aarch64")]
    if level.clamp_supported().has_neon() {
        // SAFETY: NEON is part of every aarch64 CPU; lengths checked above.
        unsafe { super::act_neon::quantize_q8(x, out) };
        return;
    }
    let _ = level;
    for (xb, b) in x.chunks_exact(32).zip(out.iter_mut()) {
        *b = quantize_block_q8(xb);
    }
}

/// Quantizes `x` (a multiple of 256 long) into `out` (`x.len() / 256` blocks).
pub fn quantize_q8k(level: CpuLevel, x: &[f32], out: &mut [BlockQ8K]) {
    assert_eq!(x.len(), out.len() * QK_K, "quantize_q8k: x has {} values for {} blocks", x.len(), out.len());
    #[cfg(target_arch = "x86_64")]
    if level.clamp_supported().has_avx2() {
        // SAFETY: as in `quantize_q8`.
        unsafe { super::act_avx2::quantize_q8k(x, out) };
        return;
    }
    #[cfg(target_arch = "aarch64")]
    if level.clamp_supported().has_neon() {
        // SAFETY: NEON is part of every aarch64 CPU; lengths checked above.
        unsafe { super::act_neon::quantize_q8k(x, out) };
        return;
    }
    let _ = level;
    for (xb, b) in x.chunks_exact(QK_K).zip(out.iter_mut()) {
        *b = quantize_block_q8k(xb);
    }
}

/// Round to nearest, ties to even: what `vcvtps2dq` does, so scalar and SIMD agree bit for bit.
#[inline]
fn round_i32(v: f32) -> i32 {
    v.round_ties_even() as i32
}

/// Reference quantization of one 32-block (symmetric, amax -> 127).
pub fn quantize_block_q8(x: &[f32]) -> BlockQ8 {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    let mut b = BlockQ8 { d, s: 0.0, qs: [0; 32] };
    let mut sum = 0i32;
    for (q, v) in b.qs.iter_mut().zip(x) {
        let r = round_i32(v * id).clamp(-127, 127);
        *q = r as i8;
        sum += r;
    }
    b.s = d * sum as f32;
    b
}

/// Reference quantization of one 256-block.
pub fn quantize_block_q8k(x: &[f32]) -> BlockQ8K {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
    let mut b = BlockQ8K { d, qs: [0; QK_K], bsums: [0; QK_K / 16] };
    for (q, v) in b.qs.iter_mut().zip(x) {
        *q = round_i32(v * id).clamp(-127, 127) as i8;
    }
    for (j, s) in b.bsums.iter_mut().enumerate() {
        *s = b.qs[16 * j..16 * j + 16].iter().map(|&q| q as i16).sum();
    }
    b
}
