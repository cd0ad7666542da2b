//! Scalar decoding of GGUF weight blocks into f32: the readable statement of every block layout, used for
//! embedding-row lookups and as the ground truth the dot kernels are tested against.

use crate::types::{GgmlType, QK_K};

#[inline]
pub fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

#[inline]
pub fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits((bits as u32) << 16)
}

#[inline]
pub(crate) fn read_f16(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// The 6-bit scale and min of sub-block `j` (0..8) of a Q4_K / Q5_K super-block (12 packed bytes).
#[inline]
pub fn scale_min_k4(j: usize, s: &[u8]) -> (u8, u8) {
    if j < 4 {
        (s[j] & 63, s[j + 4] & 63)
    } else {
        ((s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }
}

/// Decodes one row. `row` must hold exactly `out.len()` elements of `ty` (checked by the caller);
/// returns false for types this decoder does not handle.
pub(crate) fn dequantize_row(ty: GgmlType, row: &[u8], out: &mut [f32]) -> bool {
    let bs = ty.block_size();
    let ts = ty.type_size();
    match ty {
        GgmlType::F32 => {
            for (o, c) in out.iter_mut().zip(row.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        GgmlType::F16 => {
            for (o, c) in out.iter_mut().zip(row.chunks_exact(2)) {
                *o = f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }
        }
        GgmlType::BF16 => {
            for (o, c) in out.iter_mut().zip(row.chunks_exact(2)) {
                *o = bf16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }
        }
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 => {
            for (b, o) in row.chunks_exact(ts).zip(out.chunks_exact_mut(bs)) {
                decode_legacy(ty, b, o);
            }
        }
        GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => {
            for (b, o) in row.chunks_exact(ts).zip(out.chunks_exact_mut(QK_K)) {
                match ty {
                    GgmlType::Q4K => decode_q4k(b, o),
                    GgmlType::Q5K => decode_q5k(b, o),
                    _ => decode_q6k(b, o),
                }
            }
        }
        _ => return false,
    }
    true
}

/// Integer quants of one 32-block of a legacy type, and the (scale, min) that map them to values:
/// value = d * q + m. For Q4_0 / Q5_0 / Q8_0 the offset is folded into q (signed) and m = 0.
pub(crate) fn legacy_quants(ty: GgmlType, b: &[u8]) -> ([i32; 32], f32, f32) {
    let mut q = [0i32; 32];
    let d = read_f16(b, 0);
    match ty {
        GgmlType::Q4_0 => {
            for j in 0..16 {
                q[j] = (b[2 + j] & 0xF) as i32 - 8;
                q[j + 16] = (b[2 + j] >> 4) as i32 - 8;
            }
            (q, d, 0.0)
        }
        GgmlType::Q4_1 => {
            for j in 0..16 {
                q[j] = (b[4 + j] & 0xF) as i32;
                q[j + 16] = (b[4 + j] >> 4) as i32;
            }
            (q, d, read_f16(b, 2))
        }
        GgmlType::Q5_0 => {
            let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
            for j in 0..16 {
                let h0 = ((qh >> j) & 1) << 4;
                let h1 = ((qh >> (j + 16)) & 1) << 4;
                q[j] = ((b[6 + j] & 0xF) as u32 | h0) as i32 - 16;
                q[j + 16] = ((b[6 + j] >> 4) as u32 | h1) as i32 - 16;
            }
            (q, d, 0.0)
        }
        GgmlType::Q5_1 => {
            let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            for j in 0..16 {
                let h0 = ((qh >> j) & 1) << 4;
                let h1 = ((qh >> (j + 16)) & 1) << 4;
                q[j] = ((b[8 + j] & 0xF) as u32 | h0) as i32;
                q[j + 16] = ((b[8 + j] >> 4) as u32 | h1) as i32;
            }
            (q, d, read_f16(b, 2))
        }
        _ => {
            // Q8_0
            for j in 0..32 {
                q[j] = b[2 + j] as i8 as i32;
            }
            (q, d, 0.0)
        }
    }
}

fn decode_legacy(ty: GgmlType, b: &[u8], out: &mut [f32]) {
    let (q, d, m) = legacy_quants(ty, b);
    if matches!(ty, GgmlType::Q4_1 | GgmlType::Q5_1) {
        for (o, q) in out.iter_mut().zip(q) {
            *o = q as f32 * d + m;
        }
    } else {
        // No `+ 0.0`: it would turn ggml's -0.0 (0 * negative d) into +0.0.
        for (o, q) in out.iter_mut().zip(q) {
            *o = q as f32 * d;
        }
    }
}

/// Q4_K / Q5_K super-block: per 32-sub-block integer scale and min, and the 256 unsigned quants.
pub(crate) fn kquant_45(ty: GgmlType, b: &[u8]) -> (f32, f32, [u8; 8], [u8; 8], [u8; QK_K]) {
    let d = read_f16(b, 0);
    let dmin = read_f16(b, 2);
    let scales = &b[4..16];
    let mut sc = [0u8; 8];
    let mut mn = [0u8; 8];
    for j in 0..8 {
        (sc[j], mn[j]) = scale_min_k4(j, scales);
    }
    let mut q = [0u8; QK_K];
    let (qh, qs) = if ty == GgmlType::Q5K { (Some(&b[16..48]), &b[48..176]) } else { (None, &b[16..144]) };
    for j in 0..4 {
        for l in 0..32 {
            let byte = qs[32 * j + l];
            let (mut lo, mut hi) = (byte & 0xF, byte >> 4);
            if let Some(qh) = qh {
                lo |= ((qh[l] >> (2 * j)) & 1) << 4;
                hi |= ((qh[l] >> (2 * j + 1)) & 1) << 4;
            }
            q[64 * j + l] = lo;
            q[64 * j + 32 + l] = hi;
        }
    }
    (d, dmin, sc, mn, q)
}

fn decode_q4k(b: &[u8], out: &mut [f32]) {
    decode_kquant_45(GgmlType::Q4K, b, out)
}

fn decode_q5k(b: &[u8], out: &mut [f32]) {
    decode_kquant_45(GgmlType::Q5K, b, out)
}

fn decode_kquant_45(ty: GgmlType, b: &[u8], out: &mut [f32]) {
    let (d, dmin, sc, mn, q) = kquant_45(ty, b);
    for (i, o) in out.iter_mut().enumerate() {
        let s = i / 32;
        *o = d * sc[s] as f32 * q[i] as f32 - dmin * mn[s] as f32;
    }
}

/// Q6_K super-block: d, the 16 signed sub-block scales (one per 16 values) and the 256 signed quants.
pub(crate) fn kquant_6(b: &[u8]) -> (f32, [i8; 16], [i8; QK_K]) {
    let ql = &b[0..128];
    let qh = &b[128..192];
    let mut sc = [0i8; 16];
    for (s, &v) in sc.iter_mut().zip(&b[192..208]) {
        *s = v as i8;
    }
    let d = read_f16(b, 208);
    let mut q = [0i8; QK_K];
    for n in 0..2 {
        let (ql, qh) = (&ql[64 * n..], &qh[32 * n..]);
        for l in 0..32 {
            let base = 128 * n + l;
            q[base] = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i8 - 32;
            q[base + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i8 - 32;
            q[base + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i8 - 32;
            q[base + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i8 - 32;
        }
    }
    (d, sc, q)
}

fn decode_q6k(b: &[u8], out: &mut [f32]) {
    let (d, sc, q) = kquant_6(b);
    for (i, o) in out.iter_mut().enumerate() {
        *o = d * sc[i / 16] as f32 * q[i] as f32;
    }
}
