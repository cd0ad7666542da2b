//! AVX2 tiles for the 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against `BlockQ8` activations.
//!
//! Each weight block is decoded once per tile into 32 int8 lanes and reused for NC activation rows.
//! All types but Q8_0 stay unsigned (the `maddubs` operand order needs no sign trick) and add
//! `m * sum(a)` per block, with m the block min (Q4_1/Q5_1) or -offset * d (Q4_0/Q5_0);
//! Q5_0/Q5_1 fifth bits are spread from 32 bits to 32 bytes with one shuffle + compare.

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::act::BlockQ8;
use super::legacy::{block_bytes, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0};
use super::tile::{pick_tile, Tile, TileFn};
use super::x86::{bits_to_bytes_32, dot_u8i8, hsum_ps, load_f16, load_f16x2, nibbles_32};
use crate::types::GgmlType;

/// Weight block at `p` as 32 int8 lanes (signed for Q8_0, unsigned 0..16 / 0..32 for the others),
/// its scale d, and the factor of the block's activation sum: value = d * q + MIN_SCALE * that factor.
/// Q4_0 / Q5_0 decode unsigned with factor d (MIN_SCALE -8 / -16), so their offset costs one scalar
/// multiply-add per block instead of vector work per value; Q4_1 / Q5_1 return their min m.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn decode<const T: u8>(p: *const u8) -> (__m256i, f32, f32) {
    match T {
        Q4_0 => {
            let d = load_f16(p);
            (nibbles_32(p.add(2)), d, d)
        }
        Q4_1 => {
            let dm = load_f16x2(p);
            (nibbles_32(p.add(4)), _mm_cvtss_f32(dm), _mm_cvtss_f32(_mm_movehdup_ps(dm)))
        }
        Q5_0 => {
            let d = load_f16(p);
            let hi = _mm256_and_si256(bits_to_bytes_32(p.add(2)), _mm256_set1_epi8(0x10));
            (_mm256_or_si256(nibbles_32(p.add(6)), hi), d, d)
        }
        Q5_1 => {
            let hi = _mm256_and_si256(bits_to_bytes_32(p.add(4)), _mm256_set1_epi8(0x10));
            let dm = load_f16x2(p);
            (_mm256_or_si256(nibbles_32(p.add(8)), hi), _mm_cvtss_f32(dm), _mm_cvtss_f32(_mm_movehdup_ps(dm)))
        }
        _ => (_mm256_loadu_si256(p.add(2) as *const __m256i), load_f16(p), 0.0),
    }
}

/// Multiplier of the per-block `m * s` sums (see `decode`).
pub(super) const fn min_scale(t: u8) -> f32 {
    match t {
        Q4_0 => -8.0,
        Q5_0 => -16.0,
        _ => 1.0,
    }
}

/// Accumulates weight block `b` of NR rows against block `b` of NC activation rows.
#[inline(always)]
unsafe fn step<const VNNI: bool, const T: u8, const NR: usize, const NC: usize>(
    t: &Tile,
    b: usize,
    acc: &mut [[__m256; NC]; NR],
    mins: &mut [[f32; NC]; NR],
) {
    let signed = T == Q8_0;
    let mut w = [_mm256_setzero_si256(); NR];
    let mut wabs = [_mm256_setzero_si256(); NR];
    let mut dw = [0.0f32; NR];
    let mut mw = [0.0f32; NR];
    for r in 0..NR {
        let (q, d, m) = decode::<T>(t.w.add(r * t.w_stride + b * block_bytes(T)));
        w[r] = q;
        wabs[r] = if signed { _mm256_sign_epi8(q, q) } else { q };
        dw[r] = d;
        mw[r] = m;
    }
    for c in 0..NC {
        let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8).add(b);
        let a = _mm256_loadu_si256(ab.qs.as_ptr() as *const __m256i);
        let da = _mm256_set1_ps(ab.d);
        for r in 0..NR {
            // Signed: move w's sign onto a, so the unsigned operand is |w|.
            let s = if signed { dot_u8i8::<VNNI>(wabs[r], _mm256_sign_epi8(a, w[r])) } else { dot_u8i8::<VNNI>(w[r], a) };
            let scale = if NR * NC == 1 { _mm256_set1_ps(dw[r] * ab.d) } else { _mm256_mul_ps(_mm256_set1_ps(dw[r]), da) };
            acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), scale, acc[r][c]);
            if !signed {
                mins[r][c] = mw[r].mul_add(ab.s, mins[r][c]);
            }
        }
    }
}

#[inline(always)]
unsafe fn tile_body<const VNNI: bool, const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [[_mm256_setzero_ps(); NC]; NR];
    let mut mins = [[0.0f32; NC]; NR];
    let mut b = 0;
    if NR * NC <= 2 {
        // Small tiles are latency bound on the FMA chain: alternate two accumulator sets.
        // (The scalar `mins` sums are chains too: one per accumulator set.)
        let mut acc2 = [[_mm256_setzero_ps(); NC]; NR];
        let mut mins2 = [[0.0f32; NC]; NR];
        while b + 2 <= t.n {
            step::<VNNI, T, NR, NC>(t, b, &mut acc, &mut mins);
            step::<VNNI, T, NR, NC>(t, b + 1, &mut acc2, &mut mins2);
            b += 2;
        }
        for r in 0..NR {
            for c in 0..NC {
                acc[r][c] = _mm256_add_ps(acc[r][c], acc2[r][c]);
                mins[r][c] += mins2[r][c];
            }
        }
    }
    while b < t.n {
        step::<VNNI, T, NR, NC>(t, b, &mut acc, &mut mins);
        b += 1;
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = hsum_ps(acc[r][c]) + min_scale(T) * mins[r][c];
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    tile_body::<false, T, NR, NC>(t)
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile_vnni<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    tile_body::<true, T, NR, NC>(t)
}

/// The AVX2 tile (its VNNI variant when `vnni`) for `ty` and shape (nr, nc), both in 1..=4; None if
/// `ty` is not a 32-block type.
pub(crate) fn tile_fn(ty: GgmlType, nr: usize, nc: usize, vnni: bool) -> Option<TileFn> {
    Some(match (ty, vnni) {
        (GgmlType::Q4_0, false) => pick_tile!(tile::<Q4_0>, nr, nc),
        (GgmlType::Q4_1, false) => pick_tile!(tile::<Q4_1>, nr, nc),
        (GgmlType::Q5_0, false) => pick_tile!(tile::<Q5_0>, nr, nc),
        (GgmlType::Q5_1, false) => pick_tile!(tile::<Q5_1>, nr, nc),
        (GgmlType::Q8_0, false) => pick_tile!(tile::<Q8_0>, nr, nc),
        (GgmlType::Q4_0, true) => pick_tile!(tile_vnni::<Q4_0>, nr, nc),
        (GgmlType::Q4_1, true) => pick_tile!(tile_vnni::<Q4_1>, nr, nc),
        (GgmlType::Q5_0, true) => pick_tile!(tile_vnni::<Q5_0>, nr, nc),
        (GgmlType::Q5_1, true) => pick_tile!(tile_vnni::<Q5_1>, nr, nc),
        (GgmlType::Q8_0, true) => pick_tile!(tile_vnni::<Q8_0>, nr, nc),
        _ => return None,
    })
}
