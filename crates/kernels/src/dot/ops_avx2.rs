//! AVX2 bodies of the f32 helpers in `ops.rs`. Callers check lengths and the CPU level.

use std::arch::x86_64::*;

use super::x86::{hmax_ps, hsum_ps};

/// e^x for 8 lanes (Cephes-style range reduction + degree-6 polynomial, ~1-2 ulp);
/// x < -87.3 gives 0, x > 88 saturates at e^88.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn exp_ps(x: __m256) -> __m256 {
    let tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3), _CMP_LT_OQ);
    let x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3)), _mm256_set1_ps(88.0));
    let n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(std::f32::consts::LOG2_E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // r = x - n ln2, with ln2 split so n * hi is exact.
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693_359_4), x);
    let r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.121_944_4e-4), r);
    let mut p = _mm256_set1_ps(1.987_569_1e-4);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.398_199_9e-3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.333_452e-3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.166_579_6e-2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.666_666_5e-1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5));
    let e_r = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0));
    let pow2n = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
    _mm256_andnot_ps(tiny, _mm256_mul_ps(e_r, pow2n))
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= n {
        for (u, acc) in acc.iter_mut().enumerate() {
            *acc = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i + 8 * u)), _mm256_loadu_ps(pb.add(i + 8 * u)), *acc);
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)), acc[0]);
        i += 8;
    }
    let mut s = hsum_ps(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
    while i < n {
        s += a[i] * b[i];
        i += 1;
    }
    s
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    let n = y.len();
    let va = _mm256_set1_ps(alpha);
    let mut i = 0;
    while i + 8 <= n {
        let p = y.as_mut_ptr().add(i);
        _mm256_storeu_ps(p, _mm256_fmadd_ps(va, _mm256_loadu_ps(x.as_ptr().add(i)), _mm256_loadu_ps(p)));
        i += 8;
    }
    for j in i..n {
        y[j] = alpha.mul_add(x[j], y[j]);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn scale(x: &mut [f32], s: f32) {
    let n = x.len();
    let vs = _mm256_set1_ps(s);
    let mut i = 0;
    while i + 8 <= n {
        let p = x.as_mut_ptr().add(i);
        _mm256_storeu_ps(p, _mm256_mul_ps(_mm256_loadu_ps(p), vs));
        i += 8;
    }
    for v in &mut x[i..] {
        *v *= s;
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn add_assign(y: &mut [f32], x: &[f32]) {
    let n = y.len();
    let mut i = 0;
    while i + 8 <= n {
        let p = y.as_mut_ptr().add(i);
        _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(x.as_ptr().add(i))));
        i += 8;
    }
    for j in i..n {
        y[j] += x[j];
    }
}

/// Σ x² with f32 squares summed in f64, as ggml does.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn sum_squares_f64(x: &[f32]) -> f64 {
    let n = x.len();
    let mut lo = _mm256_setzero_pd();
    let mut hi = _mm256_setzero_pd();
    let mut i = 0;
    while i + 8 <= n {
        let v = _mm256_loadu_ps(x.as_ptr().add(i));
        let sq = _mm256_mul_ps(v, v);
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(sq)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(sq, 1)));
        i += 8;
    }
    let s = _mm256_add_pd(lo, hi);
    let s2 = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    let mut sum = _mm_cvtsd_f64(_mm_add_sd(s2, _mm_unpackhi_pd(s2, s2)));
    for &v in &x[i..] {
        sum += (v * v) as f64;
    }
    sum
}

/// out = (x * s) * w
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn scale_mul(x: &[f32], s: f32, w: &[f32], out: &mut [f32]) {
    let n = out.len();
    let vs = _mm256_set1_ps(s);
    let mut i = 0;
    while i + 8 <= n {
        let v = _mm256_mul_ps(_mm256_loadu_ps(x.as_ptr().add(i)), vs);
        _mm256_storeu_ps(out.as_mut_ptr().add(i), _mm256_mul_ps(v, _mm256_loadu_ps(w.as_ptr().add(i))));
        i += 8;
    }
    for j in i..n {
        out[j] = x[j] * s * w[j];
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn max(x: &[f32]) -> f32 {
    let n = x.len();
    let mut m = _mm256_set1_ps(f32::NEG_INFINITY);
    let mut i = 0;
    while i + 8 <= n {
        m = _mm256_max_ps(m, _mm256_loadu_ps(x.as_ptr().add(i)));
        i += 8;
    }
    x[i..].iter().fold(hmax_ps(m), |a, &b| a.max(b))
}

/// x = exp(x - max), returns the sum.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn exp_sub_sum(x: &mut [f32], max: f32) -> f32 {
    let n = x.len();
    let vm = _mm256_set1_ps(max);
    let mut sum = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        let p = x.as_mut_ptr().add(i);
        let e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(p), vm));
        _mm256_storeu_ps(p, e);
        sum = _mm256_add_ps(sum, e);
        i += 8;
    }
    let mut s = hsum_ps(sum);
    if i < n {
        // The tail through the same exp, so every lane of the result uses one formula.
        let mut buf = [f32::NEG_INFINITY; 8];
        buf[..n - i].copy_from_slice(&x[i..]);
        let e = exp_ps(_mm256_sub_ps(_mm256_loadu_ps(buf.as_ptr()), vm));
        _mm256_storeu_ps(buf.as_mut_ptr(), e);
        x[i..].copy_from_slice(&buf[..n - i]);
        s += buf[..n - i].iter().sum::<f32>();
    }
    s
}

/// gelu_tanh(x) = 0.5 x (1 + tanh(z)) = x / (1 + e^(-2z)), z = sqrt(2/pi) (x + 0.044715 x³).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn gelu_ps(x: __m256) -> __m256 {
    const SQRT_2_OVER_PI: f32 = 0.797_884_6;
    let x2 = _mm256_mul_ps(x, x);
    let inner = _mm256_fmadd_ps(_mm256_mul_ps(x2, _mm256_set1_ps(0.044715)), x, x);
    let m2z = _mm256_mul_ps(inner, _mm256_set1_ps(-2.0 * SQRT_2_OVER_PI));
    _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0), exp_ps(m2z)))
}

/// silu(x) = x / (1 + e^-x)
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn silu_ps(x: __m256) -> __m256 {
    let e = exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), x));
    _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0), e))
}

macro_rules! gated {
    ($name:ident, $act:ident) => {
        /// gate = act(gate) * up (up = None: gate = act(gate))
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn $name(gate: &mut [f32], up: Option<&[f32]>) {
            let n = gate.len();
            let mut i = 0;
            while i < n {
                let len = (n - i).min(8);
                let mut g = [0.0f32; 8];
                let mut u = [1.0f32; 8];
                let (gv, uv) = if len == 8 {
                    let gv = _mm256_loadu_ps(gate.as_ptr().add(i));
                    let uv = match up {
                        Some(up) => _mm256_loadu_ps(up.as_ptr().add(i)),
                        None => _mm256_set1_ps(1.0),
                    };
                    (gv, uv)
                } else {
                    g[..len].copy_from_slice(&gate[i..n]);
                    if let Some(up) = up {
                        u[..len].copy_from_slice(&up[i..n]);
                    }
                    (_mm256_loadu_ps(g.as_ptr()), _mm256_loadu_ps(u.as_ptr()))
                };
                let r = _mm256_mul_ps($act(gv), uv);
                if len == 8 {
                    _mm256_storeu_ps(gate.as_mut_ptr().add(i), r);
                } else {
                    _mm256_storeu_ps(g.as_mut_ptr(), r);
                    gate[i..n].copy_from_slice(&g[..len]);
                }
                i += 8;
            }
        }
    };
}
gated!(gelu_tanh_mul, gelu_ps);
gated!(silu_mul, silu_ps);

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn f16_to_f32(src: &[u16], dst: &mut [f32]) {
    let n = dst.len();
    let mut i = 0;
    while i + 8 <= n {
        let h = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
        _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
        i += 8;
    }
    for j in i..n {
        dst[j] = super::decode::f16_to_f32(src[j]);
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn f32_to_f16(src: &[f32], dst: &mut [u16]) {
    let n = dst.len();
    let mut i = 0;
    while i + 8 <= n {
        let h = _mm256_cvtps_ph(_mm256_loadu_ps(src.as_ptr().add(i)), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128(dst.as_mut_ptr().add(i) as *mut __m128i, h);
        i += 8;
    }
    for j in i..n {
        dst[j] = half::f16::from_f32(src[j]).to_bits();
    }
}
