//! Portable reference dot products: one weight row against one activation row.
//! Integer sums are exact, as in the SIMD kernels; only the f32 accumulation order differs.

use super::act::{BlockQ8, BlockQ8K};
use super::decode::{bf16_to_f32, f16_to_f32, kquant_45, kquant_6, legacy_quants};
use crate::types::{GgmlType, QK_K};

/// Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 row (`a.len()` blocks) against Q8 activations.
pub fn dot_legacy(ty: GgmlType, w: &[u8], a: &[BlockQ8]) -> f32 {
    let ts = ty.type_size();
    let mut acc = 0.0f32;
    for (wb, ab) in w.chunks_exact(ts).zip(a) {
        let (q, d, m) = legacy_quants(ty, wb);
        let isum: i32 = q.iter().zip(&ab.qs).map(|(&q, &a)| q * a as i32).sum();
        acc += d * ab.d * isum as f32 + m * ab.s;
    }
    acc
}

/// Q4_K / Q5_K row against Q8_K activations.
pub fn dot_k45(ty: GgmlType, w: &[u8], a: &[BlockQ8K]) -> f32 {
    let ts = ty.type_size();
    let mut acc = 0.0f32;
    for (wb, ab) in w.chunks_exact(ts).zip(a) {
        let (d, dmin, sc, mn, q) = kquant_45(ty, wb);
        let mut sumi = 0i32;
        let mut summ = 0i32;
        for s in 0..8 {
            let part: i32 = (0..32).map(|l| q[32 * s + l] as i32 * ab.qs[32 * s + l] as i32).sum();
            sumi += sc[s] as i32 * part;
            summ += mn[s] as i32 * (ab.bsums[2 * s] as i32 + ab.bsums[2 * s + 1] as i32);
        }
        acc += d * ab.d * sumi as f32 - dmin * ab.d * summ as f32;
    }
    acc
}

/// Q6_K row against Q8_K activations.
pub fn dot_q6k(w: &[u8], a: &[BlockQ8K]) -> f32 {
    let ts = GgmlType::Q6K.type_size();
    let mut acc = 0.0f32;
    for (wb, ab) in w.chunks_exact(ts).zip(a) {
        let (d, sc, q) = kquant_6(wb);
        let mut sumi = 0i32;
        for g in 0..QK_K / 16 {
            let part: i32 = (0..16).map(|l| q[16 * g + l] as i32 * ab.qs[16 * g + l] as i32).sum();
            sumi += sc[g] as i32 * part;
        }
        acc += d * ab.d * sumi as f32;
    }
    acc
}

/// F32 / F16 / BF16 row (`a.len()` elements) against f32 activations.
pub fn dot_float(ty: GgmlType, w: &[u8], a: &[f32]) -> f32 {
    let mut acc = 0.0f32;
    match ty {
        GgmlType::F32 => {
            for (c, &x) in w.chunks_exact(4).zip(a) {
                acc += f32::from_le_bytes([c[0], c[1], c[2], c[3]]) * x;
            }
        }
        GgmlType::F16 => {
            for (c, &x) in w.chunks_exact(2).zip(a) {
                acc += f16_to_f32(u16::from_le_bytes([c[0], c[1]])) * x;
            }
        }
        _ => {
            for (c, &x) in w.chunks_exact(2).zip(a) {
                acc += bf16_to_f32(u16::from_le_bytes([c[0], c[1]])) * x;
            }
        }
    }
    acc
}
