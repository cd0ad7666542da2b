//! NEON tiles for the K-quants (Q4_K, Q5_K, Q6_K) against `BlockQ8K` activations.
//!
//! Per 256-value super-block and weight row: unpack the sub-block scales once, decode 16 quants per vector
//! as signed int8, then per activation row take int8 dot products (`dot_i8`) and weight them by the
//! sub-block scale into i32 lanes. The Q4_K / Q5_K mins never touch the inner loop: one dot of the mins
//! with the activations' per-32 sums (from the stored per-16 sums). Q6_K's 16-value groups are exactly
//! one vector, so each group's scale is one multiply-add.

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::aarch64::*;

use super::act::BlockQ8K;
use super::neon::{dot_i8, load_f16};
use super::tile::{pick_tile, Tile, TileFn};
use crate::types::{GgmlType, QK_K};

#[inline(always)]
unsafe fn q8k<'a>(t: &Tile, c: usize, b: usize) -> &'a BlockQ8K {
    &*(t.a.add(c * t.a_stride) as *const BlockQ8K).add(b)
}

/// The 8 scales and 8 mins of a Q4_K/Q5_K super-block's 12 packed bytes (see `decode::scale_min_k4`).
#[inline(always)]
unsafe fn scales_mins_45(s: *const u8) -> ([u8; 8], [u8; 8]) {
    let rd = |i: usize| u32::from_le_bytes(std::ptr::read_unaligned(s.add(i) as *const [u8; 4]));
    let (u0, u1, u2) = (rd(0), rd(4), rd(8));
    let sc_lo = u0 & 0x3f3f3f3f;
    let mn_lo = u1 & 0x3f3f3f3f;
    let sc_hi = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
    let mn_hi = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
    let sc = (sc_lo as u64 | (sc_hi as u64) << 32).to_le_bytes();
    let mn = (mn_lo as u64 | (mn_hi as u64) << 32).to_le_bytes();
    (sc, mn)
}

/// Σ_s mins[s] * (activation sum of sub-block s), from the 16 per-16 sums.
#[inline(always)]
unsafe fn mins_dot(mins: int16x8_t, a: &BlockQ8K) -> i32 {
    let b0 = vld1q_s16(a.bsums.as_ptr());
    let b1 = vld1q_s16(a.bsums.as_ptr().add(8));
    // Pairwise: lane s = bsums[2s] + bsums[2s + 1] (at most 32 * 127, no i16 overflow).
    let s32 = vpaddq_s16(b0, b1);
    let p = vmlal_s16(vmull_s16(vget_low_s16(mins), vget_low_s16(s32)), vget_high_s16(mins), vget_high_s16(s32));
    vaddvq_s32(p)
}

#[inline(always)]
unsafe fn tile_k45<const DOT: bool, const FIVE: bool, const NR: usize, const NC: usize>(t: &Tile) {
    let ts = if FIVE { 176 } else { 144 };
    let mut acc = [[0.0f32; NC]; NR];
    for b in 0..t.n {
        let mut sumi = [[vdupq_n_s32(0); NC]; NR];
        let mut sc = [[0u8; 8]; NR];
        let mut d = [0.0f32; NR];
        for r in 0..NR {
            let p = t.w.add(r * t.w_stride + b * ts);
            d[r] = load_f16(p);
            let dmin = load_f16(p.add(2));
            let mn;
            (sc[r], mn) = scales_mins_45(p.add(4));
            let mins = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn.as_ptr())));
            for c in 0..NC {
                let a = q8k(t, c, b);
                acc[r][c] -= dmin * a.d * mins_dot(mins, a) as f32;
            }
        }
        for j in 0..QK_K / 64 {
            // Values 64j..64j+32 (low nibbles) and 64j+32..64j+64 (high nibbles), 16 per vector.
            let mut lo = [[vdupq_n_s8(0); 2]; NR];
            let mut hi = [[vdupq_n_s8(0); 2]; NR];
            for r in 0..NR {
                let p = t.w.add(r * t.w_stride + b * ts);
                let qs = p.add(if FIVE { 48 } else { 16 } + 32 * j);
                for h in 0..2 {
                    let v = vld1q_u8(qs.add(16 * h));
                    let mut l = vandq_u8(v, vdupq_n_u8(0x0F));
                    let mut u = vshrq_n_u8::<4>(v);
                    if FIVE {
                        // Bits 2j and 2j+1 of qh[l] are the fifth bits of values l and 32 + l of this chunk.
                        let qh = vld1q_u8(p.add(16 + 16 * h));
                        let b5 = vdupq_n_u8(0x10);
                        l = vorrq_u8(l, vandq_u8(vtstq_u8(qh, vdupq_n_u8(1 << (2 * j))), b5));
                        u = vorrq_u8(u, vandq_u8(vtstq_u8(qh, vdupq_n_u8(2 << (2 * j))), b5));
                    }
                    lo[r][h] = vreinterpretq_s8_u8(l);
                    hi[r][h] = vreinterpretq_s8_u8(u);
                }
            }
            for c in 0..NC {
                let a = q8k(t, c, b).qs.as_ptr().add(64 * j);
                let av = [vld1q_s8(a), vld1q_s8(a.add(16)), vld1q_s8(a.add(32)), vld1q_s8(a.add(48))];
                for r in 0..NR {
                    let zero = vdupq_n_s32(0);
                    let p_lo = dot_i8::<DOT>(dot_i8::<DOT>(zero, lo[r][0], av[0]), lo[r][1], av[1]);
                    let p_hi = dot_i8::<DOT>(dot_i8::<DOT>(zero, hi[r][0], av[2]), hi[r][1], av[3]);
                    sumi[r][c] = vmlaq_n_s32(sumi[r][c], p_lo, sc[r][2 * j] as i32);
                    sumi[r][c] = vmlaq_n_s32(sumi[r][c], p_hi, sc[r][2 * j + 1] as i32);
                }
            }
        }
        for r in 0..NR {
            for c in 0..NC {
                acc[r][c] += d[r] * q8k(t, c, b).d * vaddvq_s32(sumi[r][c]) as f32;
            }
        }
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = acc[r][c];
        }
    }
}

#[inline(always)]
unsafe fn tile_q6k<const DOT: bool, const NR: usize, const NC: usize>(t: &Tile) {
    const TS: usize = 210;
    let m4 = vdupq_n_u8(0x0F);
    let m3 = vdupq_n_u8(3);
    let mut acc = [[0.0f32; NC]; NR];
    for b in 0..t.n {
        let mut sumi = [[vdupq_n_s32(0); NC]; NR];
        let mut d = [0.0f32; NR];
        let mut sc = [[0i32; 16]; NR];
        for r in 0..NR {
            let p = t.w.add(r * t.w_stride + b * TS);
            d[r] = load_f16(p.add(208));
            for g in 0..16 {
                sc[r][g] = *(p.add(192 + g) as *const i8) as i32;
            }
        }
        for half in 0..2 {
            // Vector i of this half holds values 128 half + 16 i .. + 16: group 8 half + i.
            let mut q = [[vdupq_n_s8(0); 8]; NR];
            for r in 0..NR {
                let p = t.w.add(r * t.w_stride + b * TS);
                let ql = p.add(64 * half);
                let qh = p.add(128 + 32 * half);
                let l = [vld1q_u8(ql), vld1q_u8(ql.add(16)), vld1q_u8(ql.add(32)), vld1q_u8(ql.add(48))];
                let h = [vld1q_u8(qh), vld1q_u8(qh.add(16))];
                for i in 0..8 {
                    // Vector i: values 32 k + 16 e of the half, k = i / 2, e = i % 2; low nibbles of
                    // ql[32 (k % 2) + 16 e..] for k < 2, else high; bits 2k..2k+2 of qh[16 e..] on top.
                    let (k, e) = (i / 2, i % 2);
                    let src = l[2 * (k % 2) + e];
                    let low = if k < 2 { vandq_u8(src, m4) } else { vshrq_n_u8::<4>(src) };
                    let hb = match k {
                        0 => vandq_u8(h[e], m3),
                        1 => vandq_u8(vshrq_n_u8::<2>(h[e]), m3),
                        2 => vandq_u8(vshrq_n_u8::<4>(h[e]), m3),
                        _ => vshrq_n_u8::<6>(h[e]),
                    };
                    let v = vorrq_u8(low, vshlq_n_u8::<4>(hb));
                    q[r][i] = vsubq_s8(vreinterpretq_s8_u8(v), vdupq_n_s8(32));
                }
            }
            for c in 0..NC {
                let a = q8k(t, c, b).qs.as_ptr().add(128 * half);
                for i in 0..8 {
                    let av = vld1q_s8(a.add(16 * i));
                    for r in 0..NR {
                        let p = dot_i8::<DOT>(vdupq_n_s32(0), q[r][i], av);
                        sumi[r][c] = vmlaq_n_s32(sumi[r][c], p, sc[r][8 * half + i]);
                    }
                }
            }
        }
        for r in 0..NR {
            for c in 0..NC {
                acc[r][c] += d[r] * q8k(t, c, b).d * vaddvq_s32(sumi[r][c]) as f32;
            }
        }
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = acc[r][c];
        }
    }
}

#[target_feature(enable = "neon")]
unsafe fn k45<const FIVE: bool, const NR: usize, const NC: usize>(t: &Tile) {
    tile_k45::<false, FIVE, NR, NC>(t)
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn k45_dot<const FIVE: bool, const NR: usize, const NC: usize>(t: &Tile) {
    tile_k45::<true, FIVE, NR, NC>(t)
}

#[target_feature(enable = "neon")]
unsafe fn q6k<const NR: usize, const NC: usize>(t: &Tile) {
    tile_q6k::<false, NR, NC>(t)
}

#[target_feature(enable = "neon,dotprod")]
unsafe fn q6k_dot<const NR: usize, const NC: usize>(t: &Tile) {
    tile_q6k::<true, NR, NC>(t)
}

/// The NEON tile (its `sdot` variant when `dot`) for a K-quant `ty` and shape (nr, nc), both in 1..=4.
pub(crate) fn tile_fn(ty: GgmlType, nr: usize, nc: usize, dot: bool) -> Option<TileFn> {
    Some(match (ty, dot) {
        (GgmlType::Q4K, false) => pick_tile!(k45::<false>, nr, nc),
        (GgmlType::Q5K, false) => pick_tile!(k45::<true>, nr, nc),
        (GgmlType::Q6K, false) => pick_tile!(q6k, nr, nc),
        (GgmlType::Q4K, true) => pick_tile!(k45_dot::<false>, nr, nc),
        (GgmlType::Q5K, true) => pick_tile!(k45_dot::<true>, nr, nc),
        (GgmlType::Q6K, true) => pick_tile!(q6k_dot, nr, nc),
        _ => return None,
    })
}
