//! NEON bodies of the f32 helpers in `ops.rs`. Callers check lengths; NEON is always present on aarch64.

use std::arch::aarch64::*;

/// e^x for 4 lanes (the same range reduction and degree-6 polynomial as the AVX2 `exp_ps`, ~1-2 ulp);
/// x < -87.3 gives 0, x > 88 saturates at e^88.
#[inline(always)]
pub unsafe fn exp_ps(x: float32x4_t) -> float32x4_t {
    let tiny = vcltq_f32(x, vdupq_n_f32(-87.3));
    let x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.3)), vdupq_n_f32(88.0));
    let n = vrndnq_f32(vmulq_n_f32(x, std::f32::consts::LOG2_E));
    // r = x - n ln2, with ln2 split so n * hi is exact.
    let r = vfmsq_f32(x, n, vdupq_n_f32(0.693_359_4));
    let r = vfmsq_f32(r, n, vdupq_n_f32(-2.121_944_4e-4));
    let mut p = vdupq_n_f32(1.987_569_1e-4);
    p = vfmaq_f32(vdupq_n_f32(1.398_199_9e-3), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.333_452e-3), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.166_579_6e-2), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.666_666_5e-1), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5), p, r);
    let e_r = vaddq_f32(vfmaq_f32(r, p, vmulq_f32(r, r)), vdupq_n_f32(1.0));
    let pow2n = vreinterpretq_f32_s32(vshlq_n_s32::<23>(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127))));
    let e = vmulq_f32(e_r, pow2n);
    vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(e), tiny))
}

#[target_feature(enable = "neon")]
pub unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [vdupq_n_f32(0.0); 4];
    let mut i = 0;
    while i + 16 <= n {
        for (u, acc) in acc.iter_mut().enumerate() {
            *acc = vfmaq_f32(*acc, vld1q_f32(pa.add(i + 4 * u)), vld1q_f32(pb.add(i + 4 * u)));
        }
        i += 16;
    }
    while i + 4 <= n {
        acc[0] = vfmaq_f32(acc[0], vld1q_f32(pa.add(i)), vld1q_f32(pb.add(i)));
        i += 4;
    }
    let mut s = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

#[target_feature(enable = "neon")]
pub unsafe fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = y.len();
    let va = vdupq_n_f32(alpha);
    let mut i = 0;
    while i + 4 <= n {
        let p = y.as_mut_ptr().add(i);
        vst1q_f32(p, vfmaq_f32(vld1q_f32(p), va, vld1q_f32(x.as_ptr().add(i))));
        i += 4;
    }
    for j in i..n {
        y[j] = alpha.mul_add(x[j], y[j]);
    }
}

#[target_feature(enable = "neon")]
pub unsafe fn scale(x: &mut [f32], s: f32) {
    let n = x.len();
    let mut i = 0;
    while i + 4 <= n {
        let p = x.as_mut_ptr().add(i);
        vst1q_f32(p, vmulq_n_f32(vld1q_f32(p), s));
        i += 4;
    }
    for v in &mut x[i..] {
        *v *= s;
    }
}

#[target_feature(enable = "neon")]
pub unsafe fn add_assign(y: &mut [f32], x: &[f32]) {
    let n = y.len();
    let mut i = 0;
    while i + 4 <= n {
        let p = y.as_mut_ptr().add(i);
        vst1q_f32(p, vaddq_f32(vld1q_f32(p), vld1q_f32(x.as_ptr().add(i))));
        i += 4;
    }
    for j in i..n {
        y[j] += x[j];
    }
}

/// Σ x² with f32 squares summed in f64, as ggml does.
#[target_feature(enable = "neon")]
pub unsafe fn sum_squares_f64(x: &[f32]) -> f64 {
    let n = x.len();
    let mut lo = vdupq_n_f64(0.0);
    let mut hi = vdupq_n_f64(0.0);
    let mut i = 0;
    while i + 4 <= n {
        let v = vld1q_f32(x.as_ptr().add(i));
        let sq = vmulq_f32(v, v);
        lo = vaddq_f64(lo, vcvt_f64_f32(vget_low_f32(sq)));
        hi = vaddq_f64(hi, vcvt_high_f64_f32(sq));
        i += 4;
    }
    let mut sum = vaddvq_f64(vaddq_f64(lo, hi));
    for &v in &x[i..] {
        sum += (v * v) as f64;
    }
    sum
}

/// out = (x * s) * w
#[target_feature(enable = "neon")]
pub unsafe fn scale_mul(x: &[f32], s: f32, w: &[f32], out: &mut [f32]) {
    let n = out.len();
    let mut i = 0;
    while i + 4 <= n {
        let v = vmulq_n_f32(vld1q_f32(x.as_ptr().add(i)), s);
        vst1q_f32(out.as_mut_ptr().add(i), vmulq_f32(v, vld1q_f32(w.as_ptr().add(i))));
        i += 4;
    }
    for j in i..n {
        out[j] = x[j] * s * w[j];
    }
}

#[target_feature(enable = "neon")]
pub unsafe fn max(x: &[f32]) -> f32 {
    let n = x.len();
    let mut m = vdupq_n_f32(f32::NEG_INFINITY);
    let mut i = 0;
    while i + 4 <= n {
        m = vmaxq_f32(m, vld1q_f32(x.as_ptr().add(i)));
        i += 4;
    }
    x[i..].iter().fold(vmaxvq_f32(m), |a, &b| a.max(b))
}

/// x = exp(x - max), returns the sum.
#[target_feature(enable = "neon")]
pub unsafe fn exp_sub_sum(x: &mut [f32], max: f32) -> f32 {
    let n = x.len();
    let vm = vdupq_n_f32(max);
    let mut sum = vdupq_n_f32(0.0);
    let mut i = 0;
    while i + 4 <= n {
        let p = x.as_mut_ptr().add(i);
        let e = exp_ps(vsubq_f32(vld1q_f32(p), vm));
        vst1q_f32(p, e);
        sum = vaddq_f32(sum, e);
        i += 4;
    }
    let mut s = vaddvq_f32(sum);
    if i < n {
        // The tail through the same exp, so every lane of the result uses one formula.
        let mut buf = [f32::NEG_INFINITY; 4];
        buf[..n - i].copy_from_slice(&x[i..]);
        let e = exp_ps(vsubq_f32(vld1q_f32(buf.as_ptr()), vm));
        vst1q_f32(buf.as_mut_ptr(), e);
        x[i..].copy_from_slice(&buf[..n - i]);
        s += buf[..n - i].iter().sum::<f32>();
    }
    s
}

/// gelu_tanh(x) = 0.5 x (1 + tanh(z)) = x / (1 + e^(-2z)), z = sqrt(2/pi) (x + 0.044715 x³).
#[inline(always)]
unsafe fn gelu_ps(x: float32x4_t) -> float32x4_t {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let x2 = vmulq_f32(x, x);
    let inner = vfmaq_f32(x, vmulq_n_f32(x2, 0.044715), x);
    let m2z = vmulq_n_f32(inner, -2.0 * SQRT_2_OVER_PI);
    vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0), exp_ps(m2z)))
}

/// silu(x) = x / (1 + e^-x)
#[inline(always)]
unsafe fn silu_ps(x: float32x4_t) -> float32x4_t {
    let e = exp_ps(vnegq_f32(x));
    vdivq_f32(x, vaddq_f32(vdupq_n_f32(1.0), e))
}

macro_rules! gated {
    ($name:ident, $act:ident) => {
        /// gate = act(gate) * up (up = None: gate = act(gate))
        #[target_feature(enable = "neon")]
        pub unsafe fn $name(gate: &mut [f32], up: Option<&[f32]>) {
            let n = gate.len();
            let mut i = 0;
            while i < n {
                let len = (n - i).min(4);
                let mut g = [0.0f32; 4];
                let mut u = [1.0f32; 4];
                let (gv, uv) = if len == 4 {
                    let gv = vld1q_f32(gate.as_ptr().add(i));
                    let uv = match up {
                        Some(up) => vld1q_f32(up.as_ptr().add(i)),
                        None => vdupq_n_f32(1.0),
                    };
                    (gv, uv)
                } else {
                    g[..len].copy_from_slice(&gate[i..n]);
                    if let Some(up) = up {
                        u[..len].copy_from_slice(&up[i..n]);
                    }
                    (vld1q_f32(g.as_ptr()), vld1q_f32(u.as_ptr()))
                };
                let r = vmulq_f32($act(gv), uv);
                if len == 4 {
                    vst1q_f32(gate.as_mut_ptr().add(i), r);
                } else {
                    vst1q_f32(g.as_mut_ptr(), r);
                    gate[i..n].copy_from_slice(&g[..len]);
                }
                i += 4;
            }
        }
    };
}
gated!(gelu_tanh_mul, gelu_ps);
gated!(silu_mul, silu_ps);

#[target_feature(enable = "neon")]
pub unsafe fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    let n = dst.len();
    let mut i = 0;
    while i + 4 <= n {
        let h = vreinterpret_f16_u16(vld1_u16(src.as_ptr().add(i)));
        vst1q_f32(dst.as_mut_ptr().add(i), vcvt_f32_f16(h));
        i += 4;
    }
    for j in i..n {
        dst[j] = super::decode::f16_to_f32(src[j]);
    }
}

/// Round to nearest even (the default FPCR mode), as `half::f16::from_f32`.
#[target_feature(enable = "neon")]
pub unsafe fn f32_to_f16(src: &[f32], dst: &mut [u16]) {
    let n = dst.len();
    let mut i = 0;
    while i + 4 <= n {
        let h = vcvt_f16_f32(vld1q_f32(src.as_ptr().add(i)));
        vst1_u16(dst.as_mut_ptr().add(i), vreinterpret_u16_f16(h));
        i += 4;
    }
    for j in i..n {
        dst[j] = half::f16::from_f32(src[j]).to_bits();
    }
}
