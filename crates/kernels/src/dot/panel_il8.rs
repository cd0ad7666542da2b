//! Batched products of the 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) on AVX-512 VNNI, from
//! panels that interleave 8 weight rows.
//!
//! A panel group holds 8 rows; per block it stores, for each 4-value slice g of the block, the 8 rows'
//! 4 quants side by side (32 bytes), then the 8 rows' scales and mins (f32). One `vpdpbusd` of slice g
//! against the activation's 4 values of that slice (broadcast) adds to all 8 rows at once, so a block
//! of 8 rows x 1 activation row is 8 multiply-adds into one register: no horizontal sums, no sign work.
//! Q8_0 quants are stored biased to unsigned (q + 128); the kernel subtracts 128 · Σa per block, from
//! integer activation sums computed once per matmul. Unsigned types add their min term m · Σa
//! (with m = -offset · d for Q4_0 / Q5_0) as one more FMA per block.

// Register tiles are indexed by activation row on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::act::BlockQ8;
use super::panel_avx2::decode_legacy_block;
use super::tile::Tile;
use crate::types::GgmlType;

/// Rows per panel group.
pub(crate) const GROUP: usize = 8;
/// Panel bytes of one block of a group: 8 x 32 quants, 8 scales, 8 mins.
pub(crate) const BLOCK_BYTES: usize = 32 * GROUP + 4 * GROUP + 4 * GROUP;

/// Decodes `n_rows` (at most 8) weight rows of `ty` at `src` (`src_row_bytes` apart, `nb` blocks each)
/// into one panel group at `dst` (`nb * BLOCK_BYTES` bytes); missing rows are zero.
///
/// # Safety
/// AVX2+FMA+F16C; `src` holds `n_rows` rows of `nb` blocks of a 32-value type; `dst` is writable for
/// `nb * BLOCK_BYTES` bytes and 4-aligned.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn decode_group(ty: GgmlType, src: *const u8, src_row_bytes: usize, n_rows: usize, nb: usize, dst: *mut u8) {
    let ts = ty.type_size();
    let bias = if ty == GgmlType::Q8_0 { _mm256_set1_epi8(-128) } else { _mm256_setzero_si256() };
    for b in 0..nb {
        let out = dst.add(b * BLOCK_BYTES);
        let ds = out.add(32 * GROUP) as *mut f32;
        let ms = ds.add(GROUP);
        let mut rows = [_mm256_setzero_si256(); GROUP];
        for r in 0..GROUP {
            if r < n_rows {
                let p = src.add(r * src_row_bytes + b * ts);
                // The same block of the next group: hopping across 8 rows defeats the hardware
                // prefetcher, and without this the decode waits on memory most of its time.
                _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(2 * GROUP * src_row_bytes) as *const i8);
                let (q, d, m) = decode_legacy_block(ty, p);
                rows[r] = _mm256_xor_si256(q, bias);
                *ds.add(r) = d;
                *ms.add(r) = m;
            } else {
                *ds.add(r) = 0.0;
                *ms.add(r) = 0.0;
            }
        }
        let t = transpose_8x8_epi32(rows);
        for (g, v) in t.iter().enumerate() {
            _mm256_storeu_si256(out.add(32 * g) as *mut __m256i, *v);
        }
    }
}

/// Rows of 8 dwords in, columns out: `out[g][r] = rows[r][g]`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(super) unsafe fn transpose_8x8_epi32(r: [__m256i; 8]) -> [__m256i; 8] {
    let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
    let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
    let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
    let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
    let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    let u0 = _mm256_unpacklo_epi64(t0, t2);
    let u1 = _mm256_unpackhi_epi64(t0, t2);
    let u2 = _mm256_unpacklo_epi64(t1, t3);
    let u3 = _mm256_unpackhi_epi64(t1, t3);
    let u4 = _mm256_unpacklo_epi64(t4, t6);
    let u5 = _mm256_unpackhi_epi64(t4, t6);
    let u6 = _mm256_unpacklo_epi64(t5, t7);
    let u7 = _mm256_unpackhi_epi64(t5, t7);
    [
        _mm256_permute2x128_si256(u0, u4, 0x20),
        _mm256_permute2x128_si256(u1, u5, 0x20),
        _mm256_permute2x128_si256(u2, u6, 0x20),
        _mm256_permute2x128_si256(u3, u7, 0x20),
        _mm256_permute2x128_si256(u0, u4, 0x31),
        _mm256_permute2x128_si256(u1, u5, 0x31),
        _mm256_permute2x128_si256(u2, u6, 0x31),
        _mm256_permute2x128_si256(u3, u7, 0x31),
    ]
}

/// TR (<= 8) weight rows of one panel group x NC activation rows. `t.sums` points at the activation
/// rows' per-block sums, `units` apart: i32 Σq for signed (Q8_0) panels, f32 d · Σq otherwise.
#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile<const SIGNED: bool, const TR: usize, const NC: usize>(t: &Tile) {
    let nb = t.n;
    let mut acc = [_mm256_setzero_ps(); NC];
    for b in 0..nb {
        let blk = t.w.add(b * BLOCK_BYTES);
        let mut w = [_mm256_setzero_si256(); GROUP];
        for g in 0..GROUP {
            w[g] = _mm256_loadu_si256(blk.add(32 * g) as *const __m256i);
        }
        let d = _mm256_loadu_ps(blk.add(32 * GROUP) as *const f32);
        let m = if SIGNED { _mm256_setzero_ps() } else { _mm256_loadu_ps(blk.add(36 * GROUP) as *const f32) };
        for c in 0..NC {
            let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8).add(b);
            let a = ab.qs.as_ptr() as *const i32;
            // Two chains, so the dpbusd latency is hidden behind the other columns' work.
            let mut s0 = _mm256_setzero_si256();
            let mut s1 = _mm256_setzero_si256();
            for g in (0..GROUP).step_by(2) {
                s0 = _mm256_dpbusd_epi32(s0, w[g], _mm256_set1_epi32(std::ptr::read_unaligned(a.add(g))));
                s1 = _mm256_dpbusd_epi32(s1, w[g + 1], _mm256_set1_epi32(std::ptr::read_unaligned(a.add(g + 1))));
            }
            let mut s = _mm256_add_epi32(s0, s1);
            let sums = t.sums.add(c * nb + b);
            if SIGNED {
                s = _mm256_sub_epi32(s, _mm256_set1_epi32(128 * *(sums as *const i32)));
            }
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), d), _mm256_set1_ps(ab.d), acc[c]);
            if !SIGNED {
                acc[c] = _mm256_fmadd_ps(m, _mm256_set1_ps(*sums), acc[c]);
            }
        }
    }
    store_group::<TR, NC>(t, &acc);
}

/// Writes the first TR lanes (rows) of each column's group result to the tile's outputs.
#[inline(always)]
pub(super) unsafe fn store_group<const TR: usize, const NC: usize>(t: &Tile, acc: &[__m256; NC]) {
    for c in 0..NC {
        let out = t.out.add(c * t.out_stride);
        if TR == GROUP {
            _mm256_storeu_ps(out, acc[c]);
        } else {
            let mut lanes = [0.0f32; GROUP];
            _mm256_storeu_ps(lanes.as_mut_ptr(), acc[c]);
            std::ptr::copy_nonoverlapping(lanes.as_ptr(), out, TR);
        }
    }
}

macro_rules! pick_nc {
    ($s:expr, $tr:expr, $nc:expr) => {
        match $nc {
            1 => tile::<$s, $tr, 1>,
            2 => tile::<$s, $tr, 2>,
            3 => tile::<$s, $tr, 3>,
            _ => tile::<$s, $tr, 4>,
        }
    };
}

macro_rules! pick_tr {
    ($s:expr, $tr:expr, $nc:expr) => {
        match $tr {
            1 => pick_nc!($s, 1, $nc),
            2 => pick_nc!($s, 2, $nc),
            3 => pick_nc!($s, 3, $nc),
            4 => pick_nc!($s, 4, $nc),
            5 => pick_nc!($s, 5, $nc),
            6 => pick_nc!($s, 6, $nc),
            7 => pick_nc!($s, 7, $nc),
            _ => pick_nc!($s, 8, $nc),
        }
    };
}

/// The tile for `tr` valid rows of a group (1..=8) and `nc` activation rows (1..=4).
pub(crate) fn tile_fn(signed: bool, tr: usize, nc: usize) -> super::tile::TileFn {
    if signed {
        pick_tr!(true, tr, nc)
    } else {
        pick_tr!(false, tr, nc)
    }
}
