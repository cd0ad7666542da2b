//! AVX2 tiles for the K-quants (Q4_K, Q5_K, Q6_K) against `BlockQ8K` activations.
//!
//! Per 256-value super-block and weight row: unpack the sub-block scales once into i16 lanes, then per
//! activation row multiply unsigned quants by int8 activations (`maddubs`), weight by the sub-block
//! scale (`madd`), and accumulate in i32. Mins (Q4_K/Q5_K) and the -32 offset (Q6_K) never touch the
//! inner loop: they are one `madd` of the scales against the activations' per-16 sums.

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::act::BlockQ8K;
use super::tile::{pick_tile, Tile, TileFn};
use super::x86::{hsum_ps, load_f16_tail, load_f16x2};
use crate::types::{GgmlType, QK_K};

/// Byte shuffles broadcasting i16 lane k of a 128-bit half to all 8 lanes.
static BCAST16: [[u8; 16]; 8] = {
    let mut t = [[0u8; 16]; 8];
    let mut k = 0;
    while k < 8 {
        let mut i = 0;
        while i < 8 {
            t[k][2 * i] = 2 * k as u8;
            t[k][2 * i + 1] = 2 * k as u8 + 1;
            i += 1;
        }
        k += 1;
    }
    t
};

/// Byte shuffles taking i8 scales 2k (to bytes 0..8) and 2k+1 (to bytes 8..16).
static PAIR8: [[u8; 16]; 8] = {
    let mut t = [[0u8; 16]; 8];
    let mut k = 0;
    while k < 8 {
        let mut i = 0;
        while i < 8 {
            t[k][i] = 2 * k as u8;
            t[k][8 + i] = 2 * k as u8 + 1;
            i += 1;
        }
        k += 1;
    }
    t
};

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bcast16(v: __m256i, k: usize) -> __m256i {
    let m = _mm_loadu_si128(BCAST16[k].as_ptr() as *const __m128i);
    _mm256_shuffle_epi8(v, _mm256_set_m128i(m, m))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn q8k<'a>(t: &Tile, c: usize, b: usize) -> &'a BlockQ8K {
    &*(t.a.add(c * t.a_stride) as *const BlockQ8K).add(b)
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load32(p: *const u8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

/// 8 scales (i16 lanes 0..8) and 8 mins (lanes 8..16) of a Q4_K/Q5_K super-block's 12 packed bytes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn scales_mins_45(s: *const u8) -> __m256i {
    let u0 = std::ptr::read_unaligned(s as *const u32);
    let u1 = std::ptr::read_unaligned(s.add(4) as *const u32);
    let u2 = std::ptr::read_unaligned(s.add(8) as *const u32);
    let sc_lo = u0 & 0x3f3f3f3f;
    let mn_lo = u1 & 0x3f3f3f3f;
    let sc_hi = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
    let mn_hi = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
    _mm256_cvtepu8_epi16(_mm_setr_epi32(sc_lo as i32, sc_hi as i32, mn_lo as i32, mn_hi as i32))
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_k45<const FIVE: bool, const NR: usize, const NC: usize>(t: &Tile) {
    let ts = if FIVE { 176 } else { 144 };
    let m4 = _mm256_set1_epi8(0x0F);
    let mut acc = [[_mm256_setzero_ps(); NC]; NR];
    for b in 0..t.n {
        let mut sumi = [[_mm256_setzero_si256(); NC]; NR];
        let mut scales = [_mm256_setzero_si256(); NR];
        let mut d = [0.0f32; NR];
        for r in 0..NR {
            let p = t.w.add(r * t.w_stride + b * ts);
            let dm = load_f16x2(p);
            d[r] = _mm_cvtss_f32(dm);
            let dmin = _mm_cvtss_f32(_mm_movehdup_ps(dm));
            let sm = scales_mins_45(p.add(4));
            let sc = _mm256_castsi256_si128(sm);
            scales[r] = _mm256_set_m128i(sc, sc);
            let mins = _mm256_extracti128_si256(sm, 1);
            for c in 0..NC {
                let a = q8k(t, c, b);
                // Per-32 activation sums from the per-16 sums, times the mins.
                let bs = load32(a.bsums.as_ptr() as *const u8);
                let bs32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
                let m = _mm_cvtepi32_ps(_mm_madd_epi16(mins, bs32));
                let m = _mm256_set_m128(_mm_setzero_ps(), m);
                acc[r][c] = _mm256_fmadd_ps(m, _mm256_set1_ps(-dmin * a.d), acc[r][c]);
            }
        }
        for j in 0..QK_K / 64 {
            let mut lo = [_mm256_setzero_si256(); NR];
            let mut hi = [_mm256_setzero_si256(); NR];
            let mut s_lo = [_mm256_setzero_si256(); NR];
            let mut s_hi = [_mm256_setzero_si256(); NR];
            for r in 0..NR {
                let p = t.w.add(r * t.w_stride + b * ts);
                let qs = load32(p.add(if FIVE { 48 } else { 16 } + 32 * j));
                lo[r] = _mm256_and_si256(qs, m4);
                hi[r] = _mm256_and_si256(_mm256_srli_epi16(qs, 4), m4);
                if FIVE {
                    // Bits 2j and 2j+1 of qh[l] are the fifth bits of values l and 32 + l of this chunk.
                    let qh = _mm256_srl_epi16(load32(p.add(16)), _mm_cvtsi32_si128(2 * j as i32));
                    let one = _mm256_set1_epi8(1);
                    lo[r] = _mm256_or_si256(lo[r], _mm256_slli_epi16(_mm256_and_si256(qh, one), 4));
                    let qh1 = _mm256_and_si256(_mm256_srli_epi16(qh, 1), one);
                    hi[r] = _mm256_or_si256(hi[r], _mm256_slli_epi16(qh1, 4));
                }
                s_lo[r] = bcast16(scales[r], 2 * j);
                s_hi[r] = bcast16(scales[r], 2 * j + 1);
            }
            for c in 0..NC {
                let a = q8k(t, c, b).qs.as_ptr() as *const u8;
                let a_lo = load32(a.add(64 * j));
                let a_hi = load32(a.add(64 * j + 32));
                for r in 0..NR {
                    let p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], a_lo), s_lo[r]);
                    let p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[r], a_hi), s_hi[r]);
                    sumi[r][c] = _mm256_add_epi32(sumi[r][c], _mm256_add_epi32(p_lo, p_hi));
                }
            }
        }
        for r in 0..NR {
            for c in 0..NC {
                let s = _mm256_set1_ps(d[r] * q8k(t, c, b).d);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][c]), s, acc[r][c]);
            }
        }
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = hsum_ps(acc[r][c]);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_q6k<const NR: usize, const NC: usize>(t: &Tile) {
    const TS: usize = 210;
    let m4 = _mm256_set1_epi8(0x0F);
    let m3 = _mm256_set1_epi8(3);
    let mut acc = [[_mm256_setzero_ps(); NC]; NR];
    for b in 0..t.n {
        let mut sumi = [[_mm256_setzero_si256(); NC]; NR];
        let mut sc8 = [_mm_setzero_si128(); NR];
        let mut d = [0.0f32; NR];
        for r in 0..NR {
            let p = t.w.add(r * t.w_stride + b * TS);
            d[r] = load_f16_tail(p.add(208));
            sc8[r] = _mm_loadu_si128(p.add(192) as *const __m128i);
            // The -32 offset: sum over groups of scale * 32 * (activation sum of the group).
            let sc16 = _mm256_cvtepi8_epi16(sc8[r]);
            for c in 0..NC {
                let bs = load32(q8k(t, c, b).bsums.as_ptr() as *const u8);
                sumi[r][c] = _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5);
                sumi[r][c] = _mm256_sub_epi32(_mm256_setzero_si256(), sumi[r][c]);
            }
        }
        for half in 0..2 {
            for k2 in 0..2 {
                // Two of the four 32-value vectors of this half per pass: keeps register use low.
                let mut q = [[_mm256_setzero_si256(); 2]; NR];
                let mut s = [[_mm256_setzero_si256(); 2]; NR];
                for r in 0..NR {
                    let p = t.w.add(r * t.w_stride + b * TS);
                    let qh = load32(p.add(128 + 32 * half));
                    for kk in 0..2 {
                        // Vector k of the half: low (k < 2) or high nibbles of ql[32 * (k % 2)..],
                        // with bits 2k..2k+2 of qh as bits 4..6.
                        let k = 2 * k2 + kk;
                        let ql = load32(p.add(64 * half + 32 * (k % 2)));
                        let low = if k < 2 { _mm256_and_si256(ql, m4) } else { _mm256_and_si256(_mm256_srli_epi16(ql, 4), m4) };
                        let h = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * k as i32)), m3);
                        q[r][kk] = _mm256_or_si256(low, _mm256_slli_epi16(h, 4));
                        let pm = _mm_loadu_si128(PAIR8[4 * half + k].as_ptr() as *const __m128i);
                        s[r][kk] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8[r], pm));
                    }
                }
                for c in 0..NC {
                    let a = q8k(t, c, b).qs.as_ptr() as *const u8;
                    for kk in 0..2 {
                        let k = 2 * k2 + kk;
                        let av = load32(a.add(128 * half + 32 * k));
                        for r in 0..NR {
                            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(q[r][kk], av), s[r][kk]);
                            sumi[r][c] = _mm256_add_epi32(sumi[r][c], p);
                        }
                    }
                }
            }
        }
        for r in 0..NR {
            for c in 0..NC {
                let s = _mm256_set1_ps(d[r] * q8k(t, c, b).d);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][c]), s, acc[r][c]);
            }
        }
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = hsum_ps(acc[r][c]);
        }
    }
}

/// The AVX2 tile for a K-quant `ty` and shape (nr, nc), both in 1..=4.
pub(crate) fn tile_fn(ty: GgmlType, nr: usize, nc: usize) -> Option<TileFn> {
    Some(match ty {
        GgmlType::Q4K => pick_tile!(tile_k45::<false>, nr, nc),
        GgmlType::Q5K => pick_tile!(tile_k45::<true>, nr, nc),
        GgmlType::Q6K => pick_tile!(tile_q6k, nr, nc),
        _ => return None,
    })
}
