//! Causal self-attention over packed documents: a query at position p of its document sees keys
//! at positions max(0, p + 1 - window)..=p of the same document only. Grouped KV heads, a score
//! scale and an optional score soft-cap, as `models::layers::SelfAttention::attend` computes them.
//! The backward recomputes the probabilities instead of saving n^2 of them per head.

use kernels::ops::{axpy, dot_f32};
use kernels::pool::ThreadPool;

use super::SyncPtr;

#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub scale: f32,
    pub window: Option<usize>,
    pub softcap: Option<f32>,
}

impl Shape {
    fn visible(&self, p: usize) -> usize {
        self.window.map_or(0, |w| (p + 1).saturating_sub(w))
    }

    /// Scores of query row t (document start s) against its visible keys, softmaxed into `sc`;
    /// with a soft-cap, `capd` gets d(capped)/d(raw) for each.
    fn probs(&self, q: &[f32], k: &[f32], t: usize, s: usize, head: usize, sc: &mut Vec<f32>, capd: &mut Vec<f32>) -> usize {
        let (hd, nh) = (self.head_dim, self.n_head);
        let kv_dim = self.n_kv_head * hd;
        let kvh = head / (nh / self.n_kv_head);
        let p = t - s;
        let first = s + self.visible(p);
        let cnt = t + 1 - first;
        sc.resize(cnt, 0.0);
        capd.resize(cnt, 1.0);
        let qh = &q[(t * nh + head) * hd..(t * nh + head + 1) * hd];
        let mut max = f32::NEG_INFINITY;
        for j in 0..cnt {
            let kr = &k[(first + j) * kv_dim + kvh * hd..(first + j) * kv_dim + (kvh + 1) * hd];
            let mut v = dot_f32(qh, kr) * self.scale;
            if let Some(cap) = self.softcap {
                v = cap * (v / cap).tanh();
                capd[j] = 1.0 - (v / cap) * (v / cap);
            }
            sc[j] = v;
            max = max.max(v);
        }
        let mut sum = 0.0f32;
        for v in sc.iter_mut() {
            *v = (*v - max).exp();
            sum += *v;
        }
        let inv = 1.0 / sum;
        sc.iter_mut().for_each(|v| *v *= inv);
        first
    }
}

fn doc_of(docs: &[(usize, usize)], t: usize) -> usize {
    docs.partition_point(|&(s, _)| s <= t) - 1
}

/// out [n, n_head*hd] = softmax(q k^T scale) v per document; q [n, n_head*hd], k, v [n, n_kv*hd].
pub fn forward(pool: &ThreadPool, sh: &Shape, q: &[f32], k: &[f32], v: &[f32], docs: &[(usize, usize)], n: usize, out: &mut [f32]) {
    let (hd, nh) = (sh.head_dim, sh.n_head);
    let kv_dim = sh.n_kv_head * hd;
    let group = nh / sh.n_kv_head;
    let op = SyncPtr(out.as_mut_ptr());
    pool.run(&|tid, nt| {
        let (mut sc, mut capd) = (Vec::new(), Vec::new());
        let mut item = tid;
        while item < n * nh {
            let (t, head) = (item / nh, item % nh);
            let s = docs[doc_of(docs, t)].0;
            let first = sh.probs(q, k, t, s, head, &mut sc, &mut capd);
            // SAFETY: each (row, head) output is written by the one thread dealt that item.
            let o = unsafe { op.slice((t * nh + head) * hd, hd) };
            o.fill(0.0);
            let kvh = head / group;
            for (j, &p) in sc.iter().enumerate() {
                axpy(p, &v[(first + j) * kv_dim + kvh * hd..(first + j) * kv_dim + (kvh + 1) * hd], o);
            }
            item += nt;
        }
    });
}

/// From d(out): dq (overwritten), dk and dv (overwritten), all in the forward's layouts.
#[allow(clippy::too_many_arguments)]
pub fn backward(pool: &ThreadPool, sh: &Shape, q: &[f32], k: &[f32], v: &[f32], docs: &[(usize, usize)], n: usize, dout: &[f32], dq: &mut [f32], dk: &mut [f32], dv: &mut [f32]) {
    let (hd, nh) = (sh.head_dim, sh.n_head);
    let kv_dim = sh.n_kv_head * hd;
    let group = nh / sh.n_kv_head;
    // Per query head key/value gradients ([nh][n, hd]), summed over each group afterwards, so
    // (document, head) items never write the same memory.
    let mut dkh = vec![0.0f32; nh * n * hd];
    let mut dvh = vec![0.0f32; nh * n * hd];
    let (dqp, dkp, dvp) = (SyncPtr(dq.as_mut_ptr()), SyncPtr(dkh.as_mut_ptr()), SyncPtr(dvh.as_mut_ptr()));
    let items = docs.len() * nh;
    pool.run(&|tid, nt| {
        let (mut sc, mut capd, mut ds) = (Vec::new(), Vec::new(), Vec::new());
        let mut item = tid;
        while item < items {
            let (di, head) = (item / nh, item % nh);
            let (s, len) = docs[di];
            let kvh = head / group;
            // SAFETY: this item alone writes rows s..s+len of head `head` (dq) and of its private dk/dv.
            let dkb = unsafe { dkp.slice(head * n * hd, n * hd) };
            let dvb = unsafe { dvp.slice(head * n * hd, n * hd) };
            for t in s..s + len {
                let first = sh.probs(q, k, t, s, head, &mut sc, &mut capd);
                let dot = &dout[(t * nh + head) * hd..(t * nh + head + 1) * hd];
                ds.resize(sc.len(), 0.0);
                let mut sum = 0.0f32;
                for (j, d) in ds.iter_mut().enumerate() {
                    let vr = &v[(first + j) * kv_dim + kvh * hd..(first + j) * kv_dim + (kvh + 1) * hd];
                    *d = dot_f32(dot, vr);
                    sum += sc[j] * *d;
                }
                let dqt = unsafe { dqp.slice((t * nh + head) * hd, hd) };
                dqt.fill(0.0);
                let qh = &q[(t * nh + head) * hd..(t * nh + head + 1) * hd];
                for j in 0..sc.len() {
                    let r = first + j;
                    axpy(sc[j], dot, &mut dvb[r * hd..(r + 1) * hd]);
                    let g = sc[j] * (ds[j] - sum) * capd[j] * sh.scale;
                    axpy(g, &k[r * kv_dim + kvh * hd..r * kv_dim + (kvh + 1) * hd], dqt);
                    axpy(g, qh, &mut dkb[r * hd..(r + 1) * hd]);
                }
            }
            item += nt;
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
