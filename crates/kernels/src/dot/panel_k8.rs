//! Batched products of the K-quants (Q4_K, Q5_K, Q6_K) on AVX-512 VNNI, from panels that interleave
//! 8 weight rows, as `panel_il8.rs` does for the 32-value types.
//!
//! Per super-block a group stores, for each 4-value slice, the 8 rows' 4 unsigned quants side by side
//! (64 slices x 32 bytes); one `vpdpbusd` against the broadcast activation slice adds to all 8 rows.
//! Every 16 values (one Q6_K scale, half a Q4_K/Q5_K scale) the 8 integer sums are multiplied by the
//! rows' integer scales and added up exactly in i32, as in the one-row K panel; the mins (and Q6_K's
//! -32 offset) come from the activation's per-16 sums, two at a time with `vpdpwssd`.

// Register tiles are indexed by activation row on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::act::BlockQ8K;
use super::panel_avx2::{decode_k_row, KBlock};
use super::panel_il8::{store_group, transpose_8x8_epi32};
use super::tile::Tile;
use crate::types::{GgmlType, QK_K};

/// Rows per panel group.
pub(crate) const GROUP: usize = 8;
const SC_OFF: usize = QK_K * GROUP; // 16 x [i32; 8] scales per 16 values
const MN_OFF: usize = SC_OFF + 16 * 32; // 8 x [(i16, i16); 8] min coefficients of value pairs of 16
const D_OFF: usize = MN_OFF + 8 * 32; // [f32; 8]
const DMIN_OFF: usize = D_OFF + 32; // [f32; 8]
/// Panel bytes of one super-block of a group.
pub(crate) const SB_BYTES: usize = DMIN_OFF + 32;

/// Decodes `n_rows` (at most 8) K-quant rows of `ty` at `src` (`src_row_bytes` apart, `nb`
/// super-blocks each) into one panel group at `dst` (`nb * SB_BYTES` bytes); missing rows are zero.
///
/// # Safety
/// AVX2+FMA+F16C; `src` holds `n_rows` rows of `nb` blocks of `ty`; `dst` is writable for
/// `nb * SB_BYTES` bytes.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn decode_group(ty: GgmlType, src: *const u8, src_row_bytes: usize, n_rows: usize, nb: usize, dst: *mut u8) {
    let ts = ty.type_size();
    let mut kb = [KBlock::ZERO; GROUP];
    for b in 0..nb {
        for r in 0..GROUP {
            if r < n_rows {
                let p = src.add(r * src_row_bytes + b * ts);
                // The same block of the next group: rows 8 apart defeat the hardware prefetcher.
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(2 * GROUP * src_row_bytes) as *const i8);
                decode_k_row(ty, p, std::slice::from_mut(&mut kb[r]));
            } else {
                kb[r] = KBlock::ZERO;
            }
        }
        let out = dst.add(b * SB_BYTES);
        for k in 0..QK_K / 32 {
            let rows: [__m256i; GROUP] =
                std::array::from_fn(|r| _mm256_load_si256(kb[r].q.as_ptr().add(32 * k) as *const __m256i));
            for (g, v) in transpose_8x8_epi32(rows).iter().enumerate() {
                _mm256_storeu_si256(out.add(32 * (8 * k + g)) as *mut __m256i, *v);
            }
        }
        let sc = out.add(SC_OFF) as *mut i32;
        let mn = out.add(MN_OFF) as *mut u32;
        for r in 0..GROUP {
            for j in 0..16 {
                sc.add(j * GROUP + r).write_unaligned(kb[r].sc[j / 2][(j % 2) * 8] as i32);
            }
            for p in 0..8 {
                let pair = (kb[r].mn[2 * p] as u16 as u32) | ((kb[r].mn[2 * p + 1] as u16 as u32) << 16);
                mn.add(p * GROUP + r).write_unaligned(pair);
            }
            (out.add(D_OFF) as *mut f32).add(r).write_unaligned(kb[r].d);
            (out.add(DMIN_OFF) as *mut f32).add(r).write_unaligned(kb[r].dmin);
        }
    }
}

/// TR (<= 8) weight rows of one panel group x NC activation rows (`BlockQ8K`).
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile<const TR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [_mm256_setzero_ps(); NC];
    for b in 0..t.n {
        let blk = t.w.add(b * SB_BYTES);
        let mut sumi = [_mm256_setzero_si256(); NC];
        for j in 0..16 {
            let w: [__m256i; 4] = std::array::from_fn(|g| _mm256_loadu_si256(blk.add(32 * (4 * j + g)) as *const __m256i));
            let sc = _mm256_loadu_si256(blk.add(SC_OFF + 32 * j) as *const __m256i);
            for c in 0..NC {
                let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8K).add(b);
                let a = ab.qs.as_ptr().add(16 * j) as *const i32;
                let mut s = _mm256_dpbusd_epi32(_mm256_setzero_si256(), w[0], _mm256_set1_epi32(a.read_unaligned()));
                for g in 1..4 {
                    s = _mm256_dpbusd_epi32(s, w[g], _mm256_set1_epi32(a.add(g).read_unaligned()));
                }
                sumi[c] = _mm256_add_epi32(sumi[c], _mm256_mullo_epi32(s, sc));
            }
        }
        let d = _mm256_loadu_ps(blk.add(D_OFF) as *const f32);
        let dmin = _mm256_loadu_ps(blk.add(DMIN_OFF) as *const f32);
        for c in 0..NC {
            let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8K).add(b);
            let bs = ab.bsums.as_ptr() as *const i32;
            let mut m = _mm256_setzero_si256();
            for p in 0..8 {
                let mn = _mm256_loadu_si256(blk.add(MN_OFF + 32 * p) as *const __m256i);
                m = _mm256_dpwssd_epi32(m, mn, _mm256_set1_epi32(bs.add(p).read_unaligned()));
            }
            let da = _mm256_set1_ps(ab.d);
            acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[c]), _mm256_mul_ps(d, da), acc[c]);
            acc[c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmin, da), acc[c]);
        }
    }
    store_group::<TR, NC>(t, &acc);
}

macro_rules! pick_nc {
    ($tr:expr, $nc:expr) => {
        match $nc {
            1 => tile::<$tr, 1>,
            2 => tile::<$tr, 2>,
            3 => tile::<$tr, 3>,
            _ => tile::<$tr, 4>,
        }
    };
}

/// The tile for `tr` valid rows of a group (1..=8) and `nc` activation rows (1..=4).
pub(crate) fn tile_fn(tr: usize, nc: usize) -> super::tile::TileFn {
    match tr {
        1 => pick_nc!(1, nc),
        2 => pick_nc!(2, nc),
        3 => pick_nc!(3, nc),
        4 => pick_nc!(4, nc),
        5 => pick_nc!(5, nc),
        6 => pick_nc!(6, nc),
        7 => pick_nc!(7, nc),
        _ => pick_nc!(8, nc),
    }
}
