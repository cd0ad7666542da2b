//! Causal self-attention over packed documents: a query at position p of its document sees keys
//! at positions max(0, p + 1 - window)..=p of the same document only. Grouped KV heads, a score
//! scale and an optional score soft-cap.
//!
//! The forward is inference's own `models::layers::attend`, so training computes inference's
//! function bit for bit. On Gemma 3 a change of the attention output by 1e-7 relative (any
//! reordering of float sums) moves the loss by ~4e-4 relative, likely through the int8 rounding of
//! the following matmuls' activations, so "the same function" has to mean the same code.
//! The backward works per (document, head) with dense products (`kernels::matmul`, F32): it
//! recomputes P = softmax(mask(cap(Q K^T scale))) rather than keeping n^2 values per head, then
//! dP = dO V^T, dS = P (dP - rowsum(P dP)), dQ = dS K, dK = dS^T Q, dV = P^T dO. Masked entries
//! cost flops, but dense products beat per-pair dots.

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use kernels::GgmlType;

use models::layers::attend::{attend, scratch_len};
use models::layers::softcap;
use models::{KvBuf, LayerKvMut, SeqRows};

use super::{f32_bytes, SyncPtr};

pub use models::layers::AttnShape as Shape;

/// y [m, rows] = x [m, cols] w [rows, cols]^T, f32, on the calling thread (inside a pool job).
fn mm(w: &[f32], rows: usize, cols: usize, x: &[f32], m: usize, y: &mut [f32], pool: &ThreadPool) {
    let wm = QMatrix { ty: GgmlType::F32, data: f32_bytes(&w[..rows * cols]), rows, cols };
    matmul(pool, &wm, &x[..m * cols], m, &mut y[..m * rows]);
}

fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; rows * cols];
    for i in 0..rows {
        for j in 0..cols {
            t[j * rows + i] = a[i * cols + j];
        }
    }
    t
}

/// Rows `s..s+len` of one head (`idx` of `heads` per row) gathered into [len, hd].
fn gather(x: &[f32], s: usize, len: usize, heads: usize, idx: usize, hd: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(len * hd);
    for t in s..s + len {
        out.extend_from_slice(&x[(t * heads + idx) * hd..(t * heads + idx + 1) * hd]);
    }
    out
}

/// P [len, len] for one document and head from its Qh, Kh; `capd` gets d(capped)/d(raw)
/// (1 without a soft-cap). Masked entries are exactly 0.
fn probs(sh: &Shape, qh: &[f32], kh: &[f32], len: usize, pool: &ThreadPool, capd: &mut Vec<f32>) -> Vec<f32> {
    let mut p = vec![0.0f32; len * len];
    mm(kh, len, sh.head_dim, qh, len, &mut p, pool);
    capd.clear();
    capd.resize(len * len, 1.0);
    for i in 0..len {
        let first = sh.window.map_or(0, |w| (i + 1).saturating_sub(w));
        let row = &mut p[i * len..(i + 1) * len];
        let mut max = f32::NEG_INFINITY;
        for j in first..=i {
            let mut v = row[j] * sh.scale;
            if let Some(cap) = sh.softcap {
                v = softcap(v, cap);
                capd[i * len + j] = 1.0 - (v / cap) * (v / cap);
            }
            row[j] = v;
            max = max.max(v);
        }
        let mut sum = 0.0f32;
        for v in &mut row[first..=i] {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        row[first..=i].iter_mut().for_each(|v| *v *= inv);
        row[..first].fill(0.0);
        row[i + 1..].fill(0.0);
    }
    p
}

/// out [n, n_head*hd] = softmax(q k^T scale) v per document; q [n, n_head*hd], k, v [n, n_kv*hd].
/// Runs inference's own blocked attention with each document as a sequence from position 0.
#[allow(clippy::too_many_arguments)]
pub fn forward(pool: &ThreadPool, sh: &Shape, q: &[f32], k: &[f32], v: &[f32], docs: &[(usize, usize)], n: usize, out: &mut [f32]) {
    let kv_dim = sh.n_kv_head * sh.head_dim;
    assert!(out.len() >= n * sh.n_head * sh.head_dim);
    // The cache view wants mutable rows; a copy of this layer's K and V is small next to its matmuls.
    let (mut kb, mut vb) = (k[..n * kv_dim].to_vec(), v[..n * kv_dim].to_vec());
    let (mut kr, mut vr) = (&mut kb[..], &mut vb[..]);
    let mut at = 0;
    let mut seqs = Vec::with_capacity(docs.len());
    for &(s, len) in docs {
        assert!(s >= at && s + len <= n, "documents must be ordered and inside the batch");
        let skip = (s - at) * kv_dim;
        let (kd, kt) = std::mem::take(&mut kr)[skip..].split_at_mut(len * kv_dim);
        let (vd, vt) = std::mem::take(&mut vr)[skip..].split_at_mut(len * kv_dim);
        (kr, vr, at) = (kt, vt, s + len);
        seqs.push(SeqRows { start: s, len, pos0: 0, kv: LayerKvMut { k: KvBuf::F32(kd), v: KvBuf::F32(vd), cap: len.max(1) } });
    }
    let mut scratch = vec![0.0f32; scratch_len(sh, pool.n_threads())];
    attend(pool, sh, q, &seqs, out, &mut scratch);
}

/// From d(out): dq (overwritten), dk and dv (overwritten), all in the forward's layouts.
#[allow(clippy::too_many_arguments)]
pub fn backward(pool: &ThreadPool, sh: &Shape, q: &[f32], k: &[f32], v: &[f32], docs: &[(usize, usize)], n: usize, dout: &[f32], dq: &mut [f32], dk: &mut [f32], dv: &mut [f32]) {
    let (hd, nh, nkv) = (sh.head_dim, sh.n_head, sh.n_kv_head);
    let kv_dim = nkv * hd;
    let group = nh / nkv;
    // Per query head key/value gradients ([nh][n, hd]), summed over each group afterwards, so
    // (document, head) items never write the same memory.
    let mut dkh = vec![0.0f32; nh * n * hd];
    let mut dvh = vec![0.0f32; nh * n * hd];
    let (dqp, dkp, dvp) = (SyncPtr(dq.as_mut_ptr()), SyncPtr(dkh.as_mut_ptr()), SyncPtr(dvh.as_mut_ptr()));
    let items = docs.len() * nh;
    assert!(dq.len() >= n * nh * hd && dout.len() >= n * nh * hd);
    pool.run(&|tid, nt| {
        let mut capd = Vec::new();
        for item in (tid..items).step_by(nt) {
            let ((s, len), head) = (docs[item / nh], item % nh);
            let kvh = head / group;
            let qh = gather(q, s, len, nh, head, hd);
            let kh = gather(k, s, len, nkv, kvh, hd);
            let vh = gather(v, s, len, nkv, kvh, hd);
            let doh = gather(dout, s, len, nh, head, hd);
            let p = probs(sh, &qh, &kh, len, pool, &mut capd);
            let mut ds = vec![0.0f32; len * len];
            mm(&vh, len, hd, &doh, len, &mut ds, pool); // dP
            for i in 0..len {
                let (pr, dr, cr) = (&p[i * len..(i + 1) * len], &mut ds[i * len..(i + 1) * len], &capd[i * len..(i + 1) * len]);
                let sum: f32 = pr.iter().zip(dr.iter()).map(|(a, b)| a * b).sum();
                for j in 0..len {
                    dr[j] = pr[j] * (dr[j] - sum) * cr[j] * sh.scale;
                }
            }
            let mut g = vec![0.0f32; len * hd];
            mm(&transpose(&kh, len, hd), hd, len, &ds, len, &mut g, pool);
            for (i, row) in g.chunks_exact(hd).enumerate() {
                // SAFETY: this item alone writes rows s..s+len of head `head` (dq) and of its private dk/dv.
                unsafe { dqp.slice(((s + i) * nh + head) * hd, hd) }.copy_from_slice(row);
            }
            mm(&transpose(&qh, len, hd), hd, len, &transpose(&ds, len, len), len, &mut g, pool);
            unsafe { dkp.slice((head * n + s) * hd, len * hd) }.copy_from_slice(&g);
            mm(&transpose(&doh, len, hd), hd, len, &transpose(&p, len, len), len, &mut g, pool);
            unsafe { dvp.slice((head * n + s) * hd, len * hd) }.copy_from_slice(&g);
        }
    });
    dk[..n * kv_dim].fill(0.0);
    dv[..n * kv_dim].fill(0.0);
    for head in 0..nh {
        let kvh = head / group;
        for t in 0..n {
            let dst = t * kv_dim + kvh * hd;
            let src = (head * n + t) * hd;
            kernels::ops::add_assign(&mut dk[dst..dst + hd], &dkh[src..src + hd]);
            kernels::ops::add_assign(&mut dv[dst..dst + hd], &dvh[src..src + hd]);
        }
    }
}
