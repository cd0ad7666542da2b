//! AVX2 bodies of the attention helpers in `attn.rs`. Callers check lengths and the CPU level.

use std::arch::x86_64::*;

use crate::attn::{BlockQ8_0, MAX_Q, QK8_0};
use crate::dot::x86::hsum_ps;

/// Up to `MAX_Q` dots of query rows with one key row: each 8-lane chunk of `k` is loaded once and
/// multiplied into every query's accumulator.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_multi(qs: &[f32], k: &[f32], out: &mut [f32]) {
    // One monomorphised body per query count keeps the accumulators in registers.
    match out.len() {
        1 => dot_m::<1>(qs, k, out),
        2 => dot_m::<2>(qs, k, out),
        3 => dot_m::<3>(qs, k, out),
        4 => dot_m::<4>(qs, k, out),
        5 => dot_m::<5>(qs, k, out),
        6 => dot_m::<6>(qs, k, out),
        7 => dot_m::<7>(qs, k, out),
        8 => dot_m::<8>(qs, k, out),
        m => assert!(m == 0, "dot_multi: {m} queries > {MAX_Q}"),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_m<const M: usize>(qs: &[f32], k: &[f32], out: &mut [f32]) {
    let d = k.len();
    assert!(qs.len() >= M * d && out.len() >= M);
    let (pq, pk) = (qs.as_ptr(), k.as_ptr());
    let mut acc = [_mm256_setzero_ps(); M];
    let mut i = 0;
    while i + 8 <= d {
        let kv = _mm256_loadu_ps(pk.add(i));
        for (m, acc) in acc.iter_mut().enumerate() {
            *acc = _mm256_fmadd_ps(_mm256_loadu_ps(pq.add(m * d + i)), kv, *acc);
        }
        i += 8;
    }
    for (m, acc) in acc.iter().enumerate() {
        let mut s = hsum_ps(*acc);
        for j in i..d {
            s += qs[m * d + j] * k[j];
        }
        out[m] = s;
    }
}

/// `ys[m] += ps[m] * v` for up to `MAX_Q` rows; each 8-lane chunk of `v` is loaded once.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn axpy_multi(ps: &[f32], v: &[f32], ys: &mut [f32]) {
    match ps.len() {
        1 => axpy_m::<1>(ps, v, ys),
        2 => axpy_m::<2>(ps, v, ys),
        3 => axpy_m::<3>(ps, v, ys),
        4 => axpy_m::<4>(ps, v, ys),
        5 => axpy_m::<5>(ps, v, ys),
        6 => axpy_m::<6>(ps, v, ys),
        7 => axpy_m::<7>(ps, v, ys),
        8 => axpy_m::<8>(ps, v, ys),
        m => assert!(m == 0, "axpy_multi: {m} rows > {MAX_Q}"),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn axpy_m<const M: usize>(ps: &[f32], v: &[f32], ys: &mut [f32]) {
    let d = v.len();
    assert!(ys.len() >= M * d && ps.len() >= M);
    let (pv, py) = (v.as_ptr(), ys.as_mut_ptr());
    let mut pb = [_mm256_setzero_ps(); M];
    for (m, pb) in pb.iter_mut().enumerate() {
        *pb = _mm256_set1_ps(ps[m]);
    }
    let mut i = 0;
    while i + 8 <= d {
        let vv = _mm256_loadu_ps(pv.add(i));
        for (m, pb) in pb.iter().enumerate() {
            let y = py.add(m * d + i);
            _mm256_storeu_ps(y, _mm256_fmadd_ps(*pb, vv, _mm256_loadu_ps(y)));
        }
        i += 8;
    }
    for m in 0..M {
        for j in i..d {
            ys[m * d + j] = ps[m].mul_add(v[j], ys[m * d + j]);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn q8_0_to_f32(src: &[BlockQ8_0], dst: &mut [f32]) {
    for (bi, b) in src.iter().enumerate() {
        let d = _mm256_set1_ps(crate::dot::decode::f16_to_f32(b.d));
        let out = dst.as_mut_ptr().add(bi * QK8_0);
        for c in 0..4 {
            let q = _mm_loadl_epi64(b.qs.as_ptr().add(8 * c) as *const __m128i);
            let f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
            _mm256_storeu_ps(out.add(8 * c), _mm256_mul_ps(d, f));
        }
    }
}
