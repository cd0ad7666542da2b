//! The trainable part of a LoRA linear: y += scale * (dropout(x) A^T) B^T, and its gradients
//! dB += scale dY^T u, dA += du^T x_d, dX += du A * mask, with u = x_d A^T and du = scale dY B.

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use kernels::GgmlType;

use super::f32_bytes;
use super::gemm::{gemm_nn, gemm_tn};
use crate::rng::Rng;
use crate::LoraModule;

/// Dropout on the adapter's input: keep with probability 1 - p, scale kept values by 1 / (1 - p).
#[derive(Clone, Copy, Debug)]
pub struct Dropout {
    pub p: f32,
    /// Seed of this module's mask stream (a recomputed forward draws the same mask).
    pub seed: u64,
}

/// What the backward pass needs from the forward.
pub struct Saved {
    /// dropout(x) when dropout was on (else the caller's x is the input).
    pub xd: Option<Vec<f32>>,
    /// u = x_d A^T: [n, r]
    pub u: Vec<f32>,
}

/// The dropout mask for `len` inputs as keep factors (0 or 1/(1-p)): four 16-bit draws per
/// random word (p is resolved to 1/65536, plenty for dropout).
fn mask(len: usize, d: Dropout) -> Vec<f32> {
    let mut rng = Rng::new(d.seed);
    let keep = 1.0 / (1.0 - d.p);
    let thr = (d.p * 65536.0) as u64;
    let mut m = vec![0.0f32; len];
    for c in m.chunks_mut(4) {
        let w = rng.next_u64();
        for (k, v) in c.iter_mut().enumerate() {
            *v = if (w >> (16 * k)) & 0xffff < thr { 0.0 } else { keep };
        }
    }
    m
}

fn mask_input(x: &[f32], d: Dropout) -> Vec<f32> {
    let m = mask(x.len(), d);
    x.iter().zip(&m).map(|(&v, &k)| v * k).collect()
}

/// y [n, rows] += scale * (dropout(x) A^T) B^T for x [n, cols].
pub fn forward(pool: &ThreadPool, m: &LoraModule, scale: f32, x: &[f32], n: usize, drop: Option<Dropout>, y: &mut [f32]) -> Saved {
    let xd = drop.filter(|d| d.p > 0.0).map(|d| mask_input(&x[..n * m.cols], d));
    let xin = xd.as_deref().unwrap_or(&x[..n * m.cols]);
    let qa = QMatrix { ty: GgmlType::F32, data: f32_bytes(&m.a), rows: m.r, cols: m.cols };
    let mut u = vec![0.0f32; n * m.r];
    matmul(pool, &qa, xin, n, &mut u);
    let qb = QMatrix { ty: GgmlType::F32, data: f32_bytes(&m.b), rows: m.rows, cols: m.r };
    let mut t = vec![0.0f32; n * m.rows];
    matmul(pool, &qb, &u, n, &mut t);
    for (y, t) in y[..n * m.rows].iter_mut().zip(&t) {
        *y += scale * t;
    }
    Saved { xd, u }
}

/// Accumulates dA, dB into `g` and adds the adapter's share of dX into `dx` [n, cols].
#[allow(clippy::too_many_arguments)]
pub fn backward(pool: &ThreadPool, m: &LoraModule, scale: f32, s: &Saved, x: &[f32], dy: &[f32], n: usize, drop: Option<Dropout>, g: &mut LoraModule, dx: &mut [f32]) {
    let (r, rows, cols) = (m.r, m.rows, m.cols);
    let xin = s.xd.as_deref().unwrap_or(&x[..n * cols]);
    gemm_tn(pool, dy, &s.u, n, rows, r, scale, &mut g.b);
    let mut du = vec![0.0f32; n * r];
    gemm_nn(pool, dy, &m.b, n, rows, r, scale, &mut du);
    gemm_tn(pool, &du, xin, n, r, cols, 1.0, &mut g.a);
    match drop.filter(|d| d.p > 0.0) {
        None => gemm_nn(pool, &du, &m.a, n, r, cols, 1.0, dx),
        Some(d) => {
            let mut dxd = vec![0.0f32; n * cols];
            gemm_nn(pool, &du, &m.a, n, r, cols, 1.0, &mut dxd);
            // The same mask as the forward, drawn again from its seed.
            let m = mask(n * cols, d);
            for ((o, v), k) in dx[..n * cols].iter_mut().zip(&dxd).zip(&m) {
                *o += v * k;
            }
        }
    }
}
