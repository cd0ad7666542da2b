//! Reference (scalar) dequantization of GGUF block formats to f32.
//!
//! Every format is bit-exact with ggml's `dequantize_row_*` (and with gguf-py): the same float
//! operations in the same order, e.g. Q4_K computes `(d*sc)*q - (dmin*m)`.
//! Useful for SIMD kernels: in every format here the products of scales and levels are exact in
//! f32 (an f16 scale has 11 significant bits, a 6-bit sub-scale and a level at most 8 more) except
//! Q6_K's and Q8_K's final product, which is still a single rounding in any order. So FMA or any
//! association of the multiplications reproduces these values bit for bit.

use half::{bf16, f16};
use thiserror::Error;

use crate::types::{GgmlType, QK_K};

/// Why a row could not be (de)quantized.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum FormatError {
    #[error(
        "{ty}: a row of {n} elements is not a whole number of {block}-element blocks; \
         use a row length that is a multiple of {block}"
    )]
    PartialBlock {
        ty: &'static str,
        n: usize,
        block: usize,
    },
    #[error(
        "{ty}: {n} elements take {expected} bytes of blocks but the buffer has {got}; \
         size it with GgmlType::row_bytes({n})"
    )]
    ByteLength {
        ty: &'static str,
        n: usize,
        expected: usize,
        got: usize,
    },
    #[error("{ty}: a row of {n} elements needs {n} importance weights but {got} were given")]
    WeightsLength {
        ty: &'static str,
        n: usize,
        got: usize,
    },
    #[error("{op} is not implemented for {ty}; convert the tensor to a supported type first")]
    Unsupported { ty: &'static str, op: &'static str },
}

/// Checks that `n` elements of `ty` occupy exactly `bytes` bytes.
pub(crate) fn check_row(ty: GgmlType, n: usize, bytes: usize) -> Result<(), FormatError> {
    let expected = ty.row_bytes(n).ok_or(FormatError::PartialBlock {
        ty: ty.name(),
        n,
        block: ty.block_size(),
    })?;
    if bytes != expected {
        return Err(FormatError::ByteLength {
            ty: ty.name(),
            n,
            expected,
            got: bytes,
        });
    }
    Ok(())
}

/// IEEE half bits to f32 (exact).
#[inline]
pub fn f16_to_f32(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

/// bfloat16 bits to f32 (exact: the upper half of an f32).
#[inline]
pub fn bf16_to_f32(bits: u16) -> f32 {
    bf16::from_bits(bits).to_f32()
}

/// The 6-bit scale and min of sub-block `j` (0..8) from the 12 packed scale bytes of Q4_K/Q5_K.
/// Bytes 0..4 hold scales 0..4 (low 6 bits), bytes 4..8 mins 0..4; bytes 8..12 hold the low
/// nibbles of scales/mins 4..8 and the top 2 bits sit in bits 6..8 of bytes 0..8.
#[inline]
pub fn get_scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        let sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        (sc, m)
    }
}

/// Signed 6-bit scale `j` (0..16) of a Q3_K block from its 12 packed scale bytes: low nibbles in
/// bytes 0..8 (j < 8 low half, else high half), 2 high bits per scale in bytes 8..12.
#[inline]
pub fn q3k_scale(j: usize, s: &[u8]) -> i8 {
    let lo = if j < 8 { s[j] & 0xF } else { s[j - 8] >> 4 };
    let hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    (lo | (hi << 4)) as i8 - 32
}

#[inline]
pub(crate) fn rd_f16(b: &[u8], off: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[off], b[off + 1]]))
}

/// Dequantizes one row: `dst.len()` elements from exactly `ty.row_bytes(dst.len())` bytes of `src`.
pub fn dequantize_row(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> Result<(), FormatError> {
    check_row(ty, dst.len(), src.len())?;
    let block: fn(&[u8], &mut [f32]) = match ty {
        GgmlType::F32 => block_f32,
        GgmlType::F16 => block_f16,
        GgmlType::BF16 => block_bf16,
        GgmlType::Q4_0 => block_q4_0,
        GgmlType::Q4_1 => block_q4_1,
        GgmlType::Q5_0 => block_q5_0,
        GgmlType::Q5_1 => block_q5_1,
        GgmlType::Q8_0 => block_q8_0,
        GgmlType::Q8_1 => block_q8_1,
        GgmlType::Q2K => block_q2_k,
        GgmlType::Q3K => block_q3_k,
        GgmlType::Q4K => block_q4_k,
        GgmlType::Q5K => block_q5_k,
        GgmlType::Q6K => block_q6_k,
        GgmlType::Q8K => block_q8_k,
    };
    for (b, y) in src
        .chunks_exact(ty.type_size())
        .zip(dst.chunks_exact_mut(ty.block_size()))
    {
        block(b, y);
    }
    Ok(())
}

fn block_f32(b: &[u8], y: &mut [f32]) {
    y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
}

fn block_f16(b: &[u8], y: &mut [f32]) {
    y[0] = rd_f16(b, 0);
}

fn block_bf16(b: &[u8], y: &mut [f32]) {
    y[0] = bf16_to_f32(u16::from_le_bytes([b[0], b[1]]));
}

// Q4_0: d f16 | qs[16]; element j is the low nibble of qs[j], element j+16 the high nibble; value (q-8)*d.
fn block_q4_0(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    let qs = &b[2..18];
    for j in 0..16 {
        y[j] = ((qs[j] & 0xF) as i32 - 8) as f32 * d;
        y[j + 16] = ((qs[j] >> 4) as i32 - 8) as f32 * d;
    }
}

// Q4_1: d f16 | m f16 | qs[16]; value q*d + m.
fn block_q4_1(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    let m = rd_f16(b, 2);
    let qs = &b[4..20];
    for j in 0..16 {
        y[j] = (qs[j] & 0xF) as f32 * d + m;
        y[j + 16] = (qs[j] >> 4) as f32 * d + m;
    }
}

/// Bit 4 of element `j` (0..32) of a Q5 block: bit `j` of the little-endian u32 `qh`.
#[inline]
fn q5_high(qh: u32, j: usize) -> u8 {
    (((qh >> j) & 1) << 4) as u8
}

// Q5_0: d f16 | qh u32 | qs[16]; value (q-16)*d.
fn block_q5_0(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
    let qs = &b[6..22];
    for j in 0..16 {
        let x0 = ((qs[j] & 0xF) | q5_high(qh, j)) as i32 - 16;
        let x1 = ((qs[j] >> 4) | q5_high(qh, j + 16)) as i32 - 16;
        y[j] = x0 as f32 * d;
        y[j + 16] = x1 as f32 * d;
    }
}

// Q5_1: d f16 | m f16 | qh u32 | qs[16]; value q*d + m.
fn block_q5_1(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    let m = rd_f16(b, 2);
    let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    let qs = &b[8..24];
    for j in 0..16 {
        let x0 = (qs[j] & 0xF) | q5_high(qh, j);
        let x1 = (qs[j] >> 4) | q5_high(qh, j + 16);
        y[j] = x0 as f32 * d + m;
        y[j + 16] = x1 as f32 * d + m;
    }
}

// Q8_0: d f16 | qs i8[32].
fn block_q8_0(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    for (yj, &q) in y.iter_mut().zip(&b[2..34]) {
        *yj = q as i8 as f32 * d;
    }
}

// Q8_1: d f16 | s f16 (= d * sum(qs), unused here) | qs i8[32].
fn block_q8_1(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    for (yj, &q) in y.iter_mut().zip(&b[4..36]) {
        *yj = q as i8 as f32 * d;
    }
}

// Q2_K: scales[16] (low nibble scale, high nibble min) | qs[64] | d f16 | dmin f16.
// Element e: 2-bit field at shift 2*((e%128)/32) of qs[32*(e/128) + e%32]; sub-block e/16.
fn block_q2_k(b: &[u8], y: &mut [f32]) {
    let scales = &b[0..16];
    let qs = &b[16..80];
    let d = rd_f16(b, 80);
    let dmin = rd_f16(b, 82);
    for (is, ys) in y.chunks_exact_mut(16).enumerate() {
        let sc = scales[is];
        let dl = d * (sc & 0xF) as f32;
        let ml = dmin * (sc >> 4) as f32;
        let shift = 2 * ((is % 8) / 2);
        let q = &qs[32 * (is / 8) + 16 * (is % 2)..][..16];
        for (yl, &ql) in ys.iter_mut().zip(q) {
            *yl = dl * ((ql >> shift) & 3) as f32 - ml;
        }
    }
}

// Q3_K: hmask[32] | qs[64] | scales[12] | d f16. Element e: 2 low bits as in Q2_K, the high bit is
// bit (e/32) of hmask[e%32]; a clear high bit means "subtract 4".
fn block_q3_k(b: &[u8], y: &mut [f32]) {
    let hmask = &b[0..32];
    let qs = &b[32..96];
    let scales = &b[96..108];
    let d_all = rd_f16(b, 108);
    for (is, ys) in y.chunks_exact_mut(16).enumerate() {
        let dl = d_all * q3k_scale(is, scales) as f32;
        let shift = 2 * ((is % 8) / 2);
        let hbit = 1u8 << (is / 2);
        let off = 16 * (is % 2);
        let q = &qs[32 * (is / 8) + off..][..16];
        let hm = &hmask[off..off + 16];
        for ((yl, &ql), &h) in ys.iter_mut().zip(q).zip(hm) {
            let v = ((ql >> shift) & 3) as i32 - if h & hbit != 0 { 0 } else { 4 };
            *yl = dl * v as f32;
        }
    }
}

// Q4_K: d f16 | dmin f16 | scales[12] (8 x 6-bit scale + min) | qs[128].
// 64 elements per 32 qs bytes: low nibbles are sub-block 2k, high nibbles sub-block 2k+1.
fn block_q4_k(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    let dmin = rd_f16(b, 2);
    let scales = &b[4..16];
    let qs = &b[16..144];
    for (k, ys) in y.chunks_exact_mut(64).enumerate() {
        let (sc1, m1) = get_scale_min_k4(2 * k, scales);
        let (sc2, m2) = get_scale_min_k4(2 * k + 1, scales);
        let (d1, m1) = (d * sc1 as f32, dmin * m1 as f32);
        let (d2, m2) = (d * sc2 as f32, dmin * m2 as f32);
        let q = &qs[32 * k..32 * k + 32];
        let (lo, hi) = ys.split_at_mut(32);
        for l in 0..32 {
            lo[l] = d1 * (q[l] & 0xF) as f32 - m1;
            hi[l] = d2 * (q[l] >> 4) as f32 - m2;
        }
    }
}

// Q5_K: Q4_K plus qh[32]: bit 2k of qh[l] is the 5th bit of low-nibble element l of chunk k,
// bit 2k+1 that of the high-nibble element.
fn block_q5_k(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 0);
    let dmin = rd_f16(b, 2);
    let scales = &b[4..16];
    let qh = &b[16..48];
    let qs = &b[48..176];
    for (k, ys) in y.chunks_exact_mut(64).enumerate() {
        let (sc1, m1) = get_scale_min_k4(2 * k, scales);
        let (sc2, m2) = get_scale_min_k4(2 * k + 1, scales);
        let (d1, m1) = (d * sc1 as f32, dmin * m1 as f32);
        let (d2, m2) = (d * sc2 as f32, dmin * m2 as f32);
        let (u1, u2) = (1u8 << (2 * k), 2u8 << (2 * k));
        let q = &qs[32 * k..32 * k + 32];
        let (lo, hi) = ys.split_at_mut(32);
        for l in 0..32 {
            let h1 = if qh[l] & u1 != 0 { 16 } else { 0 };
            let h2 = if qh[l] & u2 != 0 { 16 } else { 0 };
            lo[l] = d1 * ((q[l] & 0xF) + h1) as f32 - m1;
            hi[l] = d2 * ((q[l] >> 4) + h2) as f32 - m2;
        }
    }
}

// Q6_K: ql[128] | qh[64] | scales i8[16] | d f16. Per 128-element half h: ql[64h..], qh[32h..];
// element 32*g + l (g = 0..4) takes nibble (g/2) of ql[l + 32*(g%2)] and bits 2g..2g+2 of qh[l].
fn block_q6_k(b: &[u8], y: &mut [f32]) {
    let d = rd_f16(b, 208);
    for (h, ys) in y.chunks_exact_mut(128).enumerate() {
        let ql = &b[64 * h..64 * h + 64];
        let qh = &b[128 + 32 * h..128 + 32 * h + 32];
        let sc = &b[192 + 8 * h..192 + 8 * h + 8];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            ys[l] = d * sc[is] as i8 as f32 * q1 as f32;
            ys[l + 32] = d * sc[is + 2] as i8 as f32 * q2 as f32;
            ys[l + 64] = d * sc[is + 4] as i8 as f32 * q3 as f32;
            ys[l + 96] = d * sc[is + 6] as i8 as f32 * q4 as f32;
        }
    }
}

// Q8_K: d f32 | qs i8[256] | bsums i16[16] (sums of 16 qs, unused here).
fn block_q8_k(b: &[u8], y: &mut [f32]) {
    let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    for (yj, &q) in y.iter_mut().zip(&b[4..4 + QK_K]) {
        *yj = d * q as i8 as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_lengths() {
        let mut dst = [0f32; 32];
        assert_eq!(
            dequantize_row(GgmlType::Q8_0, &[0u8; 33], &mut dst),
            Err(FormatError::ByteLength {
                ty: "Q8_0",
                n: 32,
                expected: 34,
                got: 33
            })
        );
        let mut dst = [0f32; 100];
        let err = dequantize_row(GgmlType::Q4K, &[0u8; 144], &mut dst).unwrap_err();
        assert!(
            matches!(err, FormatError::PartialBlock { block: 256, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("multiple of 256"));
    }

    #[test]
    fn q4_0_known_block() {
        // d = 0.5 (f16 0x3800), qs[0] = 0x2F: element 0 = (15-8)*0.5, element 16 = (2-8)*0.5.
        let mut b = [0x88u8; 18];
        b[0..2].copy_from_slice(&0x3800u16.to_le_bytes());
        b[2] = 0x2F;
        let mut y = [0f32; 32];
        dequantize_row(GgmlType::Q4_0, &b, &mut y).unwrap();
        assert_eq!(y[0], 3.5);
        assert_eq!(y[16], -3.0);
        assert!(y[1..16].iter().chain(&y[17..]).all(|&v| v == 0.0));
    }

    #[test]
    fn scale_min_k4_unpacks_all_64_values() {
        // Pack known 6-bit values the way the format describes and read them back.
        let sc: [u8; 8] = [1, 22, 33, 63, 5, 47, 60, 18];
        let mn: [u8; 8] = [62, 7, 40, 0, 31, 59, 12, 44];
        let mut q = [0u8; 12];
        for j in 0..4 {
            q[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
            q[j + 4] = mn[j] | ((mn[j + 4] >> 4) << 6);
            q[j + 8] = (sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4);
        }
        for j in 0..8 {
            assert_eq!(get_scale_min_k4(j, &q), (sc[j], mn[j]), "sub-block {j}");
        }
    }
}
