//! AVX2 tiles for float weights (F32, F16 via F16C, BF16) against f32 activations.

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::decode::{bf16_to_f32, f16_to_f32};
use super::tile::{pick_tile, Tile, TileFn};
use super::x86::hsum_ps;
use crate::types::GgmlType;

const F32: u8 = 0;
const F16: u8 = 1;
const BF16: u8 = 2;

/// 8 weights starting at element `i` of the row at `p`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load8<const T: u8>(p: *const u8, i: usize) -> __m256 {
    match T {
        F32 => _mm256_loadu_ps((p as *const f32).add(i)),
        F16 => _mm256_cvtph_ps(_mm_loadu_si128((p as *const u16).add(i) as *const __m128i)),
        _ => {
            let h = _mm256_cvtepu16_epi32(_mm_loadu_si128((p as *const u16).add(i) as *const __m128i));
            _mm256_castsi256_ps(_mm256_slli_epi32(h, 16))
        }
    }
}

#[inline]
unsafe fn load1<const T: u8>(p: *const u8, i: usize) -> f32 {
    match T {
        F32 => std::ptr::read_unaligned((p as *const f32).add(i)),
        F16 => f16_to_f32(std::ptr::read_unaligned((p as *const u16).add(i))),
        _ => bf16_to_f32(std::ptr::read_unaligned((p as *const u16).add(i))),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn step<const T: u8, const NR: usize, const NC: usize>(t: &Tile, i: usize, acc: &mut [[__m256; NC]; NR]) {
    let mut w = [_mm256_setzero_ps(); NR];
    for r in 0..NR {
        w[r] = load8::<T>(t.w.add(r * t.w_stride), i);
    }
    for c in 0..NC {
        let a = _mm256_loadu_ps((t.a.add(c * t.a_stride) as *const f32).add(i));
        for r in 0..NR {
            acc[r][c] = _mm256_fmadd_ps(w[r], a, acc[r][c]);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [[_mm256_setzero_ps(); NC]; NR];
    let mut i = 0;
    if NR * NC <= 2 {
        // Hide FMA latency with four independent chains.
        let mut acc1 = [[_mm256_setzero_ps(); NC]; NR];
        let mut acc2 = [[_mm256_setzero_ps(); NC]; NR];
        let mut acc3 = [[_mm256_setzero_ps(); NC]; NR];
        while i + 32 <= t.n {
            step::<T, NR, NC>(t, i, &mut acc);
            step::<T, NR, NC>(t, i + 8, &mut acc1);
            step::<T, NR, NC>(t, i + 16, &mut acc2);
            step::<T, NR, NC>(t, i + 24, &mut acc3);
            i += 32;
        }
        for r in 0..NR {
            for c in 0..NC {
                let s01 = _mm256_add_ps(acc[r][c], acc1[r][c]);
                let s23 = _mm256_add_ps(acc2[r][c], acc3[r][c]);
                acc[r][c] = _mm256_add_ps(s01, s23);
            }
        }
    }
    while i + 8 <= t.n {
        step::<T, NR, NC>(t, i, &mut acc);
        i += 8;
    }
    for r in 0..NR {
        for c in 0..NC {
            let mut s = hsum_ps(acc[r][c]);
            let a = t.a.add(c * t.a_stride) as *const f32;
            for k in i..t.n {
                s += load1::<T>(t.w.add(r * t.w_stride), k) * *a.add(k);
            }
            *t.out.add(c * t.out_stride + r) = s;
        }
    }
}

/// The AVX2 tile for a float `ty` and shape (nr, nc), both in 1..=4.
pub(crate) fn tile_fn(ty: GgmlType, nr: usize, nc: usize) -> Option<TileFn> {
    Some(match ty {
        GgmlType::F32 => pick_tile!(tile::<F32>, nr, nc),
        GgmlType::F16 => pick_tile!(tile::<F16>, nr, nc),
        GgmlType::BF16 => pick_tile!(tile::<BF16>, nr, nc),
        _ => return None,
    })
}
