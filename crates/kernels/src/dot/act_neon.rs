//! NEON activation quantization; bit-identical to the scalar reference in `act.rs`
//! (same scale formula, `fcvtns` rounds to nearest even like `round_ties_even`).

use std::arch::aarch64::*;

use super::act::{BlockQ8, BlockQ8K};
use crate::types::QK_K;

#[inline(always)]
unsafe fn abs_max(x: *const f32, n: usize) -> f32 {
    let mut m = vdupq_n_f32(0.0);
    for i in (0..n).step_by(4) {
        m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x.add(i))));
    }
    vmaxvq_f32(m)
}

/// 16 floats at `x` times `id`, rounded and clamped to -127..=127: the i32 lanes (for sums) and the
/// packed int8.
#[inline(always)]
unsafe fn round16(x: *const f32, id: f32) -> ([int32x4_t; 4], int8x16_t) {
    let (lo, hi) = (vdupq_n_s32(-127), vdupq_n_s32(127));
    let mut q = [vdupq_n_s32(0); 4];
    for (i, q) in q.iter_mut().enumerate() {
        let v = vmulq_n_f32(vld1q_f32(x.add(4 * i)), id);
        *q = vminq_s32(vmaxq_s32(vcvtnq_s32_f32(v), lo), hi);
    }
    let h0 = vcombine_s16(vmovn_s32(q[0]), vmovn_s32(q[1]));
    let h1 = vcombine_s16(vmovn_s32(q[2]), vmovn_s32(q[3]));
    (q, vcombine_s8(vmovn_s16(h0), vmovn_s16(h1)))
}

#[inline(always)]
unsafe fn sum4(q: &[int32x4_t; 4]) -> i32 {
    vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3])))
}

/// # Safety
/// `x.len() == out.len() * 32`.
#[target_feature(enable = "neon")]
pub unsafe fn quantize_q8(x: &[f32], out: &mut [BlockQ8]) {
    for (bi, b) in out.iter_mut().enumerate() {
        let xp = x.as_ptr().add(32 * bi);
        let amax = abs_max(xp, 32);
        let d = amax / 127.0;
        let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        let (q0, p0) = round16(xp, id);
        let (q1, p1) = round16(xp.add(16), id);
        vst1q_s8(b.qs.as_mut_ptr(), p0);
        vst1q_s8(b.qs.as_mut_ptr().add(16), p1);
        b.d = d;
        b.s = d * (sum4(&q0) + sum4(&q1)) as f32;
    }
}

/// # Safety
/// `x.len() == out.len() * 256`.
#[target_feature(enable = "neon")]
pub unsafe fn quantize_q8k(x: &[f32], out: &mut [BlockQ8K]) {
    for (bi, b) in out.iter_mut().enumerate() {
        let xp = x.as_ptr().add(QK_K * bi);
        let amax = abs_max(xp, QK_K);
        let d = amax / 127.0;
        let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        for g in 0..QK_K / 16 {
            let (q, p) = round16(xp.add(16 * g), id);
            vst1q_s8(b.qs.as_mut_ptr().add(16 * g), p);
            b.bsums[g] = sum4(&q) as i16;
        }
        b.d = d;
    }
}
