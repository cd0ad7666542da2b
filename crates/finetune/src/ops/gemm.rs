//! Small f32 products the LoRA backward needs and `kernels::matmul` (y = x W^T) does not cover:
//! C += alpha A^T B (weight gradients) and C += alpha A B (input gradients through A and B).
//! Rank r is small (4..64), so these are a few MFLOP per call; loops are axpy-shaped so they vectorize.

use kernels::matmul::{matmul, QMatrix};
use kernels::ops::axpy;
use kernels::pool::ThreadPool;
use kernels::GgmlType;

use super::{f32_bytes, split, SyncPtr};

/// Results with fewer columns than this go through `kernels::matmul` on transposed operands:
/// per-element axpy calls of length q would cost more in call overhead than in arithmetic.
const NARROW: usize = 64;

fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; rows * cols];
    for (i, row) in a[..rows * cols].chunks_exact(cols).enumerate() {
        for (j, &v) in row.iter().enumerate() {
            t[j * rows + i] = v;
        }
    }
    t
}

/// c[m, q] += alpha * x[m, k] w[q, k]^T through the F32 matmul.
#[allow(clippy::too_many_arguments)]
fn add_matmul(pool: &ThreadPool, w: &[f32], q: usize, k: usize, x: &[f32], m: usize, alpha: f32, c: &mut [f32]) {
    let wm = QMatrix { ty: GgmlType::F32, data: f32_bytes(&w[..q * k]), rows: q, cols: k };
    let mut y = vec![0.0f32; m * q];
    matmul(pool, &wm, &x[..m * k], m, &mut y);
    for (o, v) in c[..m * q].iter_mut().zip(&y) {
        *o += alpha * v;
    }
}

/// c[p, q] += alpha * a[n, p]^T b[n, q]
#[allow(clippy::too_many_arguments)]
pub fn gemm_tn(pool: &ThreadPool, a: &[f32], b: &[f32], n: usize, p: usize, q: usize, alpha: f32, c: &mut [f32]) {
    assert!(a.len() >= n * p && b.len() >= n * q && c.len() >= p * q, "gemm_tn shapes");
    if q < NARROW {
        // c = (a^T) (b^T)^T: x = a^T [p, n], w = b^T [q, n].
        return add_matmul(pool, &transpose(b, n, q), q, n, &transpose(a, n, p), p, alpha, c);
    }
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
#[allow(clippy::too_many_arguments)]
pub fn gemm_nn(pool: &ThreadPool, a: &[f32], b: &[f32], n: usize, p: usize, q: usize, alpha: f32, c: &mut [f32]) {
    assert!(a.len() >= n * p && b.len() >= p * q && c.len() >= n * q, "gemm_nn shapes");
    if q < NARROW {
        // c = a (b^T)^T: x = a [n, p], w = b^T [q, p].
        return add_matmul(pool, &transpose(b, p, q), q, p, a, n, alpha, c);
    }
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
