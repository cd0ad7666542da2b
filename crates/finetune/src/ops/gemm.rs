//! Small f32 products the LoRA backward needs and `kernels::matmul` (y = x W^T) does not cover:
//! C += alpha A^T B (weight gradients) and C += alpha A B (input gradients through A and B).
//! Rank r is small (4..64), so these are a few MFLOP per call; loops are axpy-shaped so they vectorize.

use kernels::ops::axpy;
use kernels::pool::ThreadPool;

use super::{split, SyncPtr};

/// c[p, q] += alpha * a[n, p]^T b[n, q]
pub fn gemm_tn(pool: &ThreadPool, a: &[f32], b: &[f32], n: usize, p: usize, q: usize, alpha: f32, c: &mut [f32]) {
    assert!(a.len() >= n * p && b.len() >= n * q && c.len() >= p * q, "gemm_tn shapes");
    // Tiles of (row i, column block) so both tall-thin (dB) and short-wide (dA) results split well.
    const QB: usize = 512;
    let qblocks = q.div_ceil(QB);
    let items = p * qblocks;
    let cp = SyncPtr(c.as_mut_ptr());
    pool.run(&|tid, nt| {
        for it in split(items, tid, nt) {
            let (i, jb) = (it / qblocks, it % qblocks);
            let (j0, j1) = (jb * QB, ((jb + 1) * QB).min(q));
            // SAFETY: each (i, column block) tile belongs to exactly one item.
            let ci = unsafe { cp.slice(i * q + j0, j1 - j0) };
            for t in 0..n {
                let s = alpha * a[t * p + i];
                if s != 0.0 {
                    axpy(s, &b[t * q + j0..t * q + j1], ci);
                }
            }
        }
    });
}

/// c[n, q] += alpha * a[n, p] b[p, q]
pub fn gemm_nn(pool: &ThreadPool, a: &[f32], b: &[f32], n: usize, p: usize, q: usize, alpha: f32, c: &mut [f32]) {
    assert!(a.len() >= n * p && b.len() >= p * q && c.len() >= n * q, "gemm_nn shapes");
    let cp = SyncPtr(c.as_mut_ptr());
    pool.run(&|tid, nt| {
        for t in split(n, tid, nt) {
            // SAFETY: output rows are split among threads.
            let ct = unsafe { cp.slice(t * q, q) };
            for k in 0..p {
                let s = alpha * a[t * p + k];
                if s != 0.0 {
                    axpy(s, &b[k * q..(k + 1) * q], ct);
                }
            }
        }
    });
}
