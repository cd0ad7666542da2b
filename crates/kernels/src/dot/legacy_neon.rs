//! NEON tiles for the 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) against `BlockQ8` activations.
//!
//! Each weight block is decoded once per tile into two vectors of 16 signed int8 (offsets of Q4_0 / Q5_0
//! already subtracted) and reused for NC activation rows; Q4_1 / Q5_1 add `m * s` per block with m the
//! block min and s the activation block sum.

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::aarch64::*;

use super::act::BlockQ8;
use super::legacy::{block_bytes, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0};
use super::neon::{bits_to_bytes_32, dot_i8, load_f16, nibbles};
use super::tile::{pick_tile, Tile, TileFn};
use crate::types::GgmlType;

/// Weight block at `p` as 32 signed int8 lanes (values 0..16 first, as in the block layout), its scale d
/// and min m (0 for the types without one): value = d * q + m.
#[inline(always)]
unsafe fn decode<const T: u8>(p: *const u8) -> ([int8x16_t; 2], f32, f32) {
    let s8 = vreinterpretq_s8_u8;
    match T {
        Q4_0 => {
            let (lo, hi) = nibbles(p.add(2));
            let off = vdupq_n_s8(8);
            ([vsubq_s8(s8(lo), off), vsubq_s8(s8(hi), off)], load_f16(p), 0.0)
        }
        Q4_1 => {
            let (lo, hi) = nibbles(p.add(4));
            ([s8(lo), s8(hi)], load_f16(p), load_f16(p.add(2)))
        }
        Q5_0 => {
            let (lo, hi) = nibbles(p.add(6));
            let (h0, h1) = bits_to_bytes_32(p.add(2), 0x10);
            let off = vdupq_n_s8(16);
            let q0 = vsubq_s8(s8(vorrq_u8(lo, h0)), off);
            let q1 = vsubq_s8(s8(vorrq_u8(hi, h1)), off);
            ([q0, q1], load_f16(p), 0.0)
        }
        Q5_1 => {
            let (lo, hi) = nibbles(p.add(8));
            let (h0, h1) = bits_to_bytes_32(p.add(4), 0x10);
            ([s8(vorrq_u8(lo, h0)), s8(vorrq_u8(hi, h1))], load_f16(p), load_f16(p.add(2)))
        }
        _ => ([vld1q_s8(p.add(2) as *const i8), vld1q_s8(p.add(18) as *const i8)], load_f16(p), 0.0),
    }
}

const fn has_min(t: u8) -> bool {
    matches!(t, Q4_1 | Q5_1)
}

/// Accumulates weight block `b` of NR rows against block `b` of NC activation rows.
#[inline(always)]
unsafe fn step<const DOT: bool, const T: u8, const NR: usize, const NC: usize>(
    t: &Tile,
    b: usize,
    acc: &mut [[float32x4_t; NC]; NR],
    mins: &mut [[f32; NC]; NR],
) {
    let mut w = [[vdupq_n_s8(0); 2]; NR];
    let mut dw = [0.0f32; NR];
    let mut mw = [0.0f32; NR];
    for r in 0..NR {
        (w[r], dw[r], mw[r]) = decode::<T>(t.w.add(r * t.w_stride + b * block_bytes(T)));
    }
    for c in 0..NC {
        let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8).add(b);
        let a0 = vld1q_s8(ab.qs.as_ptr());
        let a1 = vld1q_s8(ab.qs.as_ptr().add(16));
        for r in 0..NR {
            let s = dot_i8::<DOT>(dot_i8::<DOT>(vdupq_n_s32(0), w[r][0], a0), w[r][1], a1);
            acc[r][c] = vfmaq_f32(acc[r][c], vcvtq_f32_s32(s), vdupq_n_f32(dw[r] * ab.d));
            if has_min(T) {
                mins[r][c] = mw[r].mul_add(ab.s, mins[r][c]);
            }
        }
    }
}

#[inline(always)]
unsafe fn tile_body<const DOT: bool, const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [[vdupq_n_f32(0.0); NC]; NR];
    let mut mins = [[0.0f32; NC]; NR];
    let mut b = 0;
    if NR * NC <= 2 {
        // Small tiles are latency bound on the FMA chain: alternate two accumulator sets.
        let mut acc2 = [[vdupq_n_f32(0.0); NC]; NR];
        let mut mins2 = [[0.0f32; NC]; NR];
        while b + 2 <= t.n {
            step::<DOT, T, NR, NC>(t, b, &mut acc, &mut mins);
            step::<DOT, T, NR, NC>(t, b + 1, &mut acc2, &mut mins2);
            b += 2;
        }
        for r in 0..NR {
            for c in 0..NC {
                acc[r][c] = vaddq_f32(acc[r][c], acc2[r][c]);
                mins[r][c] += mins2[r][c];
            }
        }
    }
    while b < t.n {
        step::<DOT, T, NR, NC>(t, b, &mut acc, &mut mins);
        b += 1;
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = vaddvq_f32(acc[r][c]) + mins[r][c];
        }
    }
}

#[target_feature(enable = "neon")]
unsafe fn tile<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    tile_body::<false, T, NR, NC>(t)
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn tile_dot<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    tile_body::<true, T, NR, NC>(t)
}

/// The NEON tile (its `sdot` variant when `dot`) for `ty` and shape (nr, nc), both in 1..=4; None if
/// `ty` is not a 32-block type.
pub(crate) fn tile_fn(ty: GgmlType, nr: usize, nc: usize, dot: bool) -> Option<TileFn> {
    Some(match (ty, dot) {
        (GgmlType::Q4_0, false) => pick_tile!(tile::<Q4_0>, nr, nc),
        (GgmlType::Q4_1, false) => pick_tile!(tile::<Q4_1>, nr, nc),
        (GgmlType::Q5_0, false) => pick_tile!(tile::<Q5_0>, nr, nc),
        (GgmlType::Q5_1, false) => pick_tile!(tile::<Q5_1>, nr, nc),
        (GgmlType::Q8_0, false) => pick_tile!(tile::<Q8_0>, nr, nc),
        (GgmlType::Q4_0, true) => pick_tile!(tile_dot::<Q4_0>, nr, nc),
        (GgmlType::Q4_1, true) => pick_tile!(tile_dot::<Q4_1>, nr, nc),
        (GgmlType::Q5_0, true) => pick_tile!(tile_dot::<Q5_0>, nr, nc),
        (GgmlType::Q5_1, true) => pick_tile!(tile_dot::<Q5_1>, nr, nc),
        (GgmlType::Q8_0, true) => pick_tile!(tile_dot::<Q8_0>, nr, nc),
        _ => return None,
    })
}
