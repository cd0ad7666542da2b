//! AVX-512 (F + BW) tiles: the 32-value block types two blocks per 512-bit register, float weights
//! 16 lanes at a time. The `Avx512` level runs these; K-quants keep their AVX2 tiles there.
//!
//! Block types decode each block with the AVX2 decoders, join two blocks into one register and take
//! their int8 dot products with `vpmaddubsw` + `vpmaddwd` (exact: no pair of products passes i16 for
//! any type, Q8_0 included, whose |w| <= 128 meets a <= 127). AVX-512 has no `vpsignb`, so Q8_0 moves
//! w's sign onto a with a masked subtract.

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::act::BlockQ8;
use super::legacy::{block_bytes, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0};
use super::legacy_avx2::{decode, min_scale};
use super::tile::{pick_tile, Tile, TileFn};
use crate::types::GgmlType;

/// Two 256-bit halves as one 512-bit register.
#[inline(always)]
unsafe fn join_i(lo: __m256i, hi: __m256i) -> __m512i {
    _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1)
}

#[inline(always)]
unsafe fn join_ps(lo: __m256, hi: __m256) -> __m512 {
    _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1))
}

/// Weight blocks `b` and `b + 1` (the second absent when `PAIR` is false: zeros) of NR rows against
/// the same blocks of NC activation rows.
#[inline(always)]
unsafe fn step<const T: u8, const NR: usize, const NC: usize, const PAIR: bool>(
    t: &Tile,
    b: usize,
    acc: &mut [[__m512; NC]; NR],
    mins: &mut [[f32; NC]; NR],
) {
    let signed = T == Q8_0;
    let mut w = [_mm512_setzero_si512(); NR];
    let mut dw = [[0.0f32; 2]; NR];
    let mut mw = [[0.0f32; 2]; NR];
    for r in 0..NR {
        let p = t.w.add(r * t.w_stride + b * block_bytes(T));
        let (q0, d0, m0) = decode::<T>(p);
        let (q1, d1, m1) = if PAIR { decode::<T>(p.add(block_bytes(T))) } else { (_mm256_setzero_si256(), 0.0, 0.0) };
        w[r] = join_i(q0, q1);
        dw[r] = [d0, d1];
        mw[r] = [m0, m1];
    }
    let ones = _mm512_set1_epi16(1);
    for c in 0..NC {
        let ab = (t.a.add(c * t.a_stride) as *const BlockQ8).add(b);
        let a0 = _mm256_loadu_si256((*ab).qs.as_ptr() as *const __m256i);
        let (a1, da1, s1) = if PAIR {
            let n = &*ab.add(1);
            (_mm256_loadu_si256(n.qs.as_ptr() as *const __m256i), n.d, n.s)
        } else {
            (_mm256_setzero_si256(), 0.0, 0.0)
        };
        let a = join_i(a0, a1);
        let (da0, s0) = ((*ab).d, (*ab).s);
        for r in 0..NR {
            let prod = if signed {
                let neg = _mm512_movepi8_mask(w[r]);
                let a_signed = _mm512_mask_sub_epi8(a, neg, _mm512_setzero_si512(), a);
                _mm512_maddubs_epi16(_mm512_abs_epi8(w[r]), a_signed)
            } else {
                _mm512_maddubs_epi16(w[r], a)
            };
            let s = _mm512_madd_epi16(prod, ones);
            let scale = join_ps(_mm256_set1_ps(dw[r][0] * da0), _mm256_set1_ps(dw[r][1] * da1));
            acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc[r][c]);
            if !signed {
                mins[r][c] += mw[r][0].mul_add(s0, mw[r][1] * s1);
            }
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw")]
unsafe fn tile_blocks<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [[_mm512_setzero_ps(); NC]; NR];
    let mut mins = [[0.0f32; NC]; NR];
    let mut b = 0;
    while b + 2 <= t.n {
        step::<T, NR, NC, true>(t, b, &mut acc, &mut mins);
        b += 2;
    }
    if b < t.n {
        step::<T, NR, NC, false>(t, b, &mut acc, &mut mins);
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = _mm512_reduce_add_ps(acc[r][c]) + min_scale(T) * mins[r][c];
        }
    }
}

const F32: u8 = 0;
const F16: u8 = 1;
const BF16: u8 = 2;

/// 16 float weights from element `i` of the row at `p`, or the first `n` of them (rest zero) with
/// `mask` = the low `n` bits set.
#[inline(always)]
unsafe fn load16<const T: u8>(p: *const u8, i: usize, mask: __mmask16) -> __m512 {
    match T {
        F32 => _mm512_maskz_loadu_ps(mask, (p as *const f32).add(i)),
        F16 => _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, (p as *const u16).add(i) as *const i16)),
        _ => {
            let h = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, (p as *const u16).add(i) as *const i16));
            _mm512_castsi512_ps(_mm512_slli_epi32(h, 16))
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl")]
unsafe fn tile_float<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [[_mm512_setzero_ps(); NC]; NR];
    let mut i = 0;
    while i < t.n {
        let left = t.n - i;
        let mask: __mmask16 = if left >= 16 { 0xFFFF } else { (1u16 << left) - 1 };
        let mut w = [_mm512_setzero_ps(); NR];
        for r in 0..NR {
            w[r] = load16::<T>(t.w.add(r * t.w_stride), i, mask);
        }
        for c in 0..NC {
            let a = _mm512_maskz_loadu_ps(mask, (t.a.add(c * t.a_stride) as *const f32).add(i));
            for r in 0..NR {
                acc[r][c] = _mm512_fmadd_ps(w[r], a, acc[r][c]);
            }
        }
        i += 16;
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = _mm512_reduce_add_ps(acc[r][c]);
        }
    }
}

/// The AVX-512 tile for `ty` and shape (nr, nc), both in 1..=4; None for the K-quants.
pub(crate) fn tile_fn(ty: GgmlType, nr: usize, nc: usize) -> Option<TileFn> {
    Some(match ty {
        GgmlType::Q4_0 => pick_tile!(tile_blocks::<Q4_0>, nr, nc),
        GgmlType::Q4_1 => pick_tile!(tile_blocks::<Q4_1>, nr, nc),
        GgmlType::Q5_0 => pick_tile!(tile_blocks::<Q5_0>, nr, nc),
        GgmlType::Q5_1 => pick_tile!(tile_blocks::<Q5_1>, nr, nc),
        GgmlType::Q8_0 => pick_tile!(tile_blocks::<Q8_0>, nr, nc),
        GgmlType::F32 => pick_tile!(tile_float::<F32>, nr, nc),
        GgmlType::F16 => pick_tile!(tile_float::<F16>, nr, nc),
        GgmlType::BF16 => pick_tile!(tile_float::<BF16>, nr, nc),
        _ => return None,
    })
}
