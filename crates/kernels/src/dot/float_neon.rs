//! NEON tiles for float weights (F32, F16 via `fcvtl`, BF16 by shifting into the f32 high half)
//! against f32 activations.

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::aarch64::*;

use super::decode::{bf16_to_f32, f16_to_f32};
use super::tile::{pick_tile, Tile, TileFn};
use crate::types::GgmlType;

const F32: u8 = 0;
const F16: u8 = 1;
const BF16: u8 = 2;

/// 4 weights starting at element `i` of the row at `p`.
#[inline(always)]
unsafe fn load4<const T: u8>(p: *const u8, i: usize) -> float32x4_t {
    match T {
        F32 => vld1q_f32((p as *const f32).add(i)),
        F16 => vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((p as *const u16).add(i)))),
        _ => vreinterpretq_f32_u32(vshll_n_u16::<16>(vld1_u16((p as *const u16).add(i)))),
    }
}

#[inline(always)]
unsafe fn load1<const T: u8>(p: *const u8, i: usize) -> f32 {
    match T {
        F32 => std::ptr::read_unaligned((p as *const f32).add(i)),
        F16 => f16_to_f32(std::ptr::read_unaligned((p as *const u16).add(i))),
        _ => bf16_to_f32(std::ptr::read_unaligned((p as *const u16).add(i))),
    }
}

#[inline(always)]
unsafe fn step<const T: u8, const NR: usize, const NC: usize>(t: &Tile, i: usize, acc: &mut [[float32x4_t; NC]; NR]) {
    let mut w = [vdupq_n_f32(0.0); NR];
    for r in 0..NR {
        w[r] = load4::<T>(t.w.add(r * t.w_stride), i);
    }
    for c in 0..NC {
        let a = vld1q_f32((t.a.add(c * t.a_stride) as *const f32).add(i));
        for r in 0..NR {
            acc[r][c] = vfmaq_f32(acc[r][c], w[r], a);
        }
    }
}

#[target_feature(enable = "neon")]
unsafe fn tile<const T: u8, const NR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [[vdupq_n_f32(0.0); NC]; NR];
    let mut i = 0;
    if NR * NC <= 2 {
        // Hide FMA latency with four independent chains.
        let mut acc1 = [[vdupq_n_f32(0.0); NC]; NR];
        let mut acc2 = [[vdupq_n_f32(0.0); NC]; NR];
        let mut acc3 = [[vdupq_n_f32(0.0); NC]; NR];
        while i + 16 <= t.n {
            step::<T, NR, NC>(t, i, &mut acc);
            step::<T, NR, NC>(t, i + 4, &mut acc1);
            step::<T, NR, NC>(t, i + 8, &mut acc2);
            step::<T, NR, NC>(t, i + 12, &mut acc3);
            i += 16;
        }
        for r in 0..NR {
            for c in 0..NC {
                acc[r][c] = vaddq_f32(vaddq_f32(acc[r][c], acc1[r][c]), vaddq_f32(acc2[r][c], acc3[r][c]));
            }
        }
    }
    while i + 4 <= t.n {
        step::<T, NR, NC>(t, i, &mut acc);
        i += 4;
    }
    for r in 0..NR {
        for c in 0..NC {
            let mut s = vaddvq_f32(acc[r][c]);
            let a = t.a.add(c * t.a_stride) as *const f32;
            for k in i..t.n {
                s += load1::<T>(t.w.add(r * t.w_stride), k) * *a.add(k);
            }
            *t.out.add(c * t.out_stride + r) = s;
        }
    }
}

/// The NEON tile for a float `ty` and shape (nr, nc), both in 1..=4.
pub(crate) fn tile_fn(ty: GgmlType, nr: usize, nc: usize) -> Option<TileFn> {
    Some(match ty {
        GgmlType::F32 => pick_tile!(tile::<F32>, nr, nc),
        GgmlType::F16 => pick_tile!(tile::<F16>, nr, nc),
        GgmlType::BF16 => pick_tile!(tile::<BF16>, nr, nc),
        _ => return None,
    })
}
