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

/// P x V for one key tile, up to `MAX_Q` outputs: 8 lanes of every output live in registers while
/// the tile's rows stream past once.
#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn pv_multi(ps: &[f32], stride: usize, rows: &[&[f32]], ys: &mut [f32]) {
    match ys.len() / rows[0].len() {
        1 => pv_m::<1>(ps, stride, rows, ys),
        2 => pv_m::<2>(ps, stride, rows, ys),
        3 => pv_m::<3>(ps, stride, rows, ys),
        4 => pv_m::<4>(ps, stride, rows, ys),
        5 => pv_m::<5>(ps, stride, rows, ys),
        6 => pv_m::<6>(ps, stride, rows, ys),
        7 => pv_m::<7>(ps, stride, rows, ys),
        8 => pv_m::<8>(ps, stride, rows, ys),
        m => assert!(m == 0, "pv_multi: {m} outputs > {MAX_Q}"),
    }
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn pv_m<const M: usize>(ps: &[f32], stride: usize, rows: &[&[f32]], ys: &mut [f32]) {
    let d = rows[0].len();
    let t = rows.len();
    assert!(ys.len() >= M * d && ps.len() >= (M - 1) * stride + t);
    let (pp, py) = (ps.as_ptr(), ys.as_mut_ptr());
    let mut i = 0;
    while i + 8 <= d {
        let mut acc = [_mm256_setzero_ps(); M];
        for (m, acc) in acc.iter_mut().enumerate() {
            *acc = _mm256_loadu_ps(py.add(m * d + i));
        }
        for (j, r) in rows.iter().enumerate() {
            let vv = _mm256_loadu_ps(r.as_ptr().add(i));
            for (m, acc) in acc.iter_mut().enumerate() {
                *acc = _mm256_fmadd_ps(_mm256_broadcast_ss(&*pp.add(m * stride + j)), vv, *acc);
            }
        }
        for (m, acc) in acc.iter().enumerate() {
            _mm256_storeu_ps(py.add(m * d + i), *acc);
        }
        i += 8;
    }
    for m in 0..M {
        for j in i..d {
            for (k, r) in rows.iter().enumerate() {
                ys[m * d + j] = ps[m * stride + k].mul_add(r[j], ys[m * d + j]);
            }
        }
    }
}
