//! Small NEON building blocks shared by the aarch64 kernels.
//!
//! Base AdvSIMD is part of every aarch64 CPU; only the `sdot` path (`dotprod` extension) needs a run-time
//! check, done through `CpuLevel::NeonDot` before any kernel compiled with it is entered.

use std::arch::aarch64::*;
use std::arch::asm;

/// `acc + Σ a·b` over each i32 lane's 4 adjacent int8 pairs. With `DOT` one `sdot`, else widening
/// multiplies and pairwise adds (exact: each i16 product is at most 128 * 128, and the pairwise add
/// widens to i32). Both put the same integers in the same lanes (lane i: products 4i..4i+4), so kernels
/// that convert lanes to f32 before summing them agree bit for bit between the two variants.
///
/// Not `#[target_feature]` on purpose: it is always inlined, and the `DOT` branch is taken only inside
/// kernels compiled with `neon,dotprod` (the assembler accepts `sdot` only there). `vdotq_s32` is still
/// unstable in Rust, hence the one-instruction `asm!`.
#[inline(always)]
pub unsafe fn dot_i8<const DOT: bool>(acc: int32x4_t, a: int8x16_t, b: int8x16_t) -> int32x4_t {
    if DOT {
        let mut acc = acc;
        asm!(
            "sdot {acc:v}.4s, {a:v}.16b, {b:v}.16b",
            acc = inout(vreg) acc,
            a = in(vreg) a,
            b = in(vreg) b,
            options(pure, nomem, nostack, preserves_flags)
        );
        acc
    } else {
        let lo = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(b)));
        let hi = vpaddlq_s16(vmull_high_s8(a, b));
        vaddq_s32(acc, vpaddq_s32(lo, hi))
    }
}

/// The little-endian f16 at `p` as f32.
#[inline(always)]
pub unsafe fn load_f16(p: *const u8) -> f32 {
    super::decode::f16_to_f32(u16::from_le_bytes(std::ptr::read_unaligned(p as *const [u8; 2])))
}

/// 16 bytes at `p` as unsigned low nibbles and high nibbles.
#[inline(always)]
pub unsafe fn nibbles(p: *const u8) -> (uint8x16_t, uint8x16_t) {
    let v = vld1q_u8(p);
    (vandq_u8(v, vdupq_n_u8(0x0F)), vshrq_n_u8::<4>(v))
}

/// Bit i of each byte lane: 1, 2, 4, ... 128, twice.
static BIT_OF_LANE: [u8; 16] = [1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128];

/// 32 bits (little-endian at `p`) spread to two vectors of 16 bytes: `val` where the bit is set, else 0.
#[inline(always)]
pub unsafe fn bits_to_bytes_32(p: *const u8, val: u8) -> (uint8x16_t, uint8x16_t) {
    let bits = u32::from_le_bytes(std::ptr::read_unaligned(p as *const [u8; 4]));
    let m = vld1q_u8(BIT_OF_LANE.as_ptr());
    let lo = vcombine_u8(vdup_n_u8(bits as u8), vdup_n_u8((bits >> 8) as u8));
    let hi = vcombine_u8(vdup_n_u8((bits >> 16) as u8), vdup_n_u8((bits >> 24) as u8));
    let v = vdupq_n_u8(val);
    (vandq_u8(vtstq_u8(lo, m), v), vandq_u8(vtstq_u8(hi, m), v))
}
