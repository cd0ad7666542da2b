//! Causal self-attention with grouped KV heads, optional per-head q/k norms (Gemma 3, Qwen3),
//! an optional sliding window and an optional score soft-cap (Gemma 2). Keys and values live in the engine's cache.

use kernels::ops::{axpy, dot_f32};
use kernels::pool::ThreadPool;

use super::parallel::SyncPtr;
use super::{Linear, RmsNorm, Rope};
use crate::model::{sized, Scratch};
use crate::SeqRows;

pub struct SelfAttention {
    pub wq: Linear, // [n_head*head_dim, n_embd]
    pub wk: Linear, // [n_kv_head*head_dim, n_embd]
    pub wv: Linear, // [n_kv_head*head_dim, n_embd]
    pub wo: Linear, // [n_embd, n_head*head_dim]
    pub q_norm: Option<RmsNorm>, // [head_dim]
    pub k_norm: Option<RmsNorm>, // [head_dim]
    pub rope: Rope,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    /// Attend only to the last `window` positions (the current one included).
    pub window: Option<usize>,
    /// Multiplies q·k (1/sqrt(head_dim), or Gemma's 1/sqrt(query_pre_attn_scalar)).
    pub scale: f32,
    /// Gemma 2: scores become `cap * tanh(score / cap)` before the softmax.
    pub softcap: Option<f32>,
}

impl SelfAttention {
    pub fn linears_mut(&mut self) -> Vec<&mut Linear> {
        vec![&mut self.wq, &mut self.wk, &mut self.wv, &mut self.wo]
    }

    /// h: [n, n_embd] normalised input, rows split among `seqs`; result in `s.o`: [n, n_embd].
    pub fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize, seqs: &mut [SeqRows<'_>]) {
        let (hd, nh, nkv) = (self.head_dim, self.n_head, self.n_kv_head);
        let kv_dim = nkv * hd;
        let q = sized(&mut s.q, n * nh * hd);
        let k = sized(&mut s.k, n * kv_dim);
        let v = sized(&mut s.v, n * kv_dim);
        let h = &s.h[..n * self.wq.cols];
        self.wq.forward_rows(pool, h, n, q, &s.adapter_rows);
        self.wk.forward_rows(pool, h, n, k, &s.adapter_rows);
        self.wv.forward_rows(pool, h, n, v, &s.adapter_rows);
        if let Some(qn) = &self.q_norm {
            qn.forward_inplace(q);
        }
        if let Some(kn) = &self.k_norm {
            kn.forward_inplace(k);
        }
        let rd = self.rope.rot_dim;
        let table = sized(&mut s.rope, n * rd);
        let mut span = 0;
        for sq in seqs.iter_mut() {
            let (a, len) = (sq.start, sq.len);
            self.rope.fill_table(sq.pos0, len, &mut table[a * rd..(a + len) * rd]);
            for t in a..a + len {
                let row = &table[t * rd..(t + 1) * rd];
                q[t * nh * hd..(t + 1) * nh * hd].chunks_exact_mut(hd).for_each(|x| self.rope.apply(x, row));
                k[t * kv_dim..(t + 1) * kv_dim].chunks_exact_mut(hd).for_each(|x| self.rope.apply(x, row));
            }
            let kv = &mut sq.kv;
            for t in 0..len {
                let slot = (sq.pos0 + t) % kv.cap;
                kv.k[slot * kv_dim..(slot + 1) * kv_dim].copy_from_slice(&k[(a + t) * kv_dim..(a + t + 1) * kv_dim]);
                kv.v[slot * kv_dim..(slot + 1) * kv_dim].copy_from_slice(&v[(a + t) * kv_dim..(a + t + 1) * kv_dim]);
            }
            let end = sq.pos0 + len;
            span = span.max(self.window.unwrap_or(end).min(end));
        }
        let att = sized(&mut s.att, n * nh * hd);
        let scores = sized(&mut s.scores, pool.n_threads() * span);
        self.attend(pool, q, seqs, n, att, scores, span);
        let o = sized(&mut s.o, n * self.wo.rows);
        self.wo.forward_rows(pool, att, n, o, &s.adapter_rows);
    }

    /// softmax(q k^T * scale) v over each query's visible positions of its own sequence,
    /// parallel over (row, head) across the whole batch.
    #[allow(clippy::too_many_arguments)]
    fn attend(
        &self,
        pool: &ThreadPool,
        q: &[f32],
        seqs: &[SeqRows<'_>],
        n: usize,
        att: &mut [f32],
        scores: &mut [f32],
        span: usize,
    ) {
        let (hd, nh) = (self.head_dim, self.n_head);
        let kv_dim = self.n_kv_head * hd;
        let group = nh / self.n_kv_head;
        let (att_p, sc_p) = (SyncPtr(att.as_mut_ptr()), SyncPtr(scores.as_mut_ptr()));
        pool.run(&|tid, nt| {
            // SAFETY: each thread owns its own scores row and the (row, head) items it is dealt.
            let sc = unsafe { sc_p.slice(tid * span, span) };
            let mut item = tid;
            let mut si = 0;
            while item < n * nh {
                let (t, head) = (item / nh, item % nh);
                // Items rise monotonically per thread, so the owning sequence only moves forward.
                while t >= seqs[si].start + seqs[si].len {
                    si += 1;
                }
                let sq = &seqs[si];
                let (kc, vc, cap) = (&*sq.kv.k, &*sq.kv.v, sq.kv.cap);
                let pos = sq.pos0 + (t - sq.start);
                let first = self.window.map_or(0, |w| (pos + 1).saturating_sub(w));
                let qh = &q[(t * nh + head) * hd..(t * nh + head + 1) * hd];
                let kvh = head / group;
                let cnt = pos + 1 - first;
                let mut max = f32::NEG_INFINITY;
                for (j, sj) in sc[..cnt].iter_mut().enumerate() {
                    let slot = (first + j) % cap;
                    let kr = &kc[slot * kv_dim + kvh * hd..slot * kv_dim + (kvh + 1) * hd];
                    *sj = dot_f32(qh, kr) * self.scale;
                    if let Some(cap) = self.softcap {
                        *sj = softcap(*sj, cap);
                    }
                    max = max.max(*sj);
                }
                let mut sum = 0.0f32;
                for sj in sc[..cnt].iter_mut() {
                    *sj = (*sj - max).exp();
                    sum += *sj;
                }
                let out = unsafe { att_p.slice((t * nh + head) * hd, hd) };
                out.fill(0.0);
                let inv = 1.0 / sum;
                for (j, &p) in sc[..cnt].iter().enumerate() {
                    let slot = (first + j) % cap;
                    axpy(p * inv, &vc[slot * kv_dim + kvh * hd..slot * kv_dim + (kvh + 1) * hd], out);
                }
                item += nt;
            }
        });
    }
}

/// `cap * tanh(x / cap)`: squashes x smoothly into (-cap, cap) (Gemma 2 scores and logits).
pub fn softcap(x: f32, cap: f32) -> f32 {
    cap * (x / cap).tanh()
}
