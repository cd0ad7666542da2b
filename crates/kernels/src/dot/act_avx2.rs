//! AVX2 activation quantization; bit-identical to the scalar reference in `act.rs`
//! (same scale formula, round-to-nearest-even).

use std::arch::x86_64::*;

use super::act::{BlockQ8, BlockQ8K};
use super::x86::{hmax_ps, hsum_epi32};
use crate::types::QK_K;

/// Rounds 32 floats at `x` times `id` to i32 (four vectors of 8).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn round4(x: *const f32, id: __m256) -> [__m256i; 4] {
    let mut r = [_mm256_setzero_si256(); 4];
    for (i, out) in r.iter_mut().enumerate() {
        let v = _mm256_mul_ps(_mm256_loadu_ps(x.add(8 * i)), id);
        let v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        *out = _mm256_cvtps_epi32(v);
    }
    r
}

/// Packs four vectors of 8 i32 (values in -127..=127) into 32 i8 in order.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pack4(i: &[__m256i; 4]) -> __m256i {
    let p01 = _mm256_packs_epi32(i[0], i[1]);
    let p23 = _mm256_packs_epi32(i[2], i[3]);
    let p = _mm256_packs_epi16(p01, p23);
    // The packs work per 128-bit lane; restore element order.
    _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn abs_max(x: *const f32, n: usize) -> f32 {
    let sign = _mm256_set1_ps(-0.0);
    let mut m = _mm256_setzero_ps();
    for i in (0..n).step_by(8) {
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x.add(i))));
    }
    hmax_ps(m)
}

/// # Safety
/// AVX2+FMA+F16C must be available; `x.len() == out.len() * 32`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn quantize_q8(x: &[f32], out: &mut [BlockQ8]) {
    for (bi, b) in out.iter_mut().enumerate() {
        let xp = x.as_ptr().add(32 * bi);
        let amax = abs_max(xp, 32);
        let d = amax / 127.0;
        let id = if amax > 0.0 { 127.0 / amax } else { 0.0 };
        let q = round4(xp, _mm256_set1_ps(id));
        let sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
        _mm256_storeu_si256(b.qs.as_mut_ptr() as *mut __m256i, pack4(&q));
        b.d = d;
        b.s = d * sum as f32;
    }
}

/// # Safety
/// AVX2+FMA+F16C must be available; `x.len() == out.len() * 256`.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn quantize_q8k(x: &[f32], out: &mut [BlockQ8K]) {
    for (bi, b) in out.iter_mut().enumerate() {
        let xp = x.as_ptr().add(QK_K * bi);
        let amax = abs_max(xp, QK_K);
        let d = amax / 127.0;
        let id = _mm256_set1_ps(if amax > 0.0 { 127.0 / amax } else { 0.0 });
        for c in 0..QK_K / 32 {
            let q = round4(xp.add(32 * c), id);
            b.bsums[2 * c] = hsum_epi32(_mm256_add_epi32(q[0], q[1])) as i16;
            b.bsums[2 * c + 1] = hsum_epi32(_mm256_add_epi32(q[2], q[3])) as i16;
            _mm256_storeu_si256(b.qs.as_mut_ptr().add(32 * c) as *mut __m256i, pack4(&q));
        }
        b.d = d;
    }
}
