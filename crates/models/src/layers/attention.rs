//! Causal self-attention with grouped KV heads, optional per-head q/k norms (Gemma 3, Qwen3),
//! an optional sliding window and an optional score soft-cap (Gemma 2). Keys and values live in the engine's cache.

use kernels::attn::AttnOps;
use kernels::pool::ThreadPool;

use super::attend::{attend, scratch_len, AttnShape};
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
    pub shape: AttnShape,
}

impl SelfAttention {
    pub fn linears_mut(&mut self) -> Vec<&mut Linear> {
        vec![&mut self.wq, &mut self.wk, &mut self.wv, &mut self.wo]
    }

    /// h: [n, n_embd] normalised input, rows split among `seqs`; result in `s.o`: [n, n_embd].
    pub fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize, seqs: &mut [SeqRows<'_>]) {
        let (hd, nh, nkv) = (self.shape.head_dim, self.shape.n_head, self.shape.n_kv_head);
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
        let ops = AttnOps::active();
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
                kv.k.store(ops, slot, &k[(a + t) * kv_dim..(a + t + 1) * kv_dim]);
                kv.v.store(ops, slot, &v[(a + t) * kv_dim..(a + t + 1) * kv_dim]);
            }
        }
        let att = sized(&mut s.att, n * nh * hd);
        let scratch = sized(&mut s.scores, scratch_len(&self.shape, pool.n_threads()));
        attend(pool, &self.shape, q, seqs, att, scratch);
        let o = sized(&mut s.o, n * self.wo.rows);
        self.wo.forward_rows(pool, att, n, o, &s.adapter_rows);
    }
}

/// `cap * tanh(x / cap)`: squashes x smoothly into (-cap, cap) (Gemma 2 scores and logits).
pub fn softcap(x: f32, cap: f32) -> f32 {
    cap * (x / cap).tanh()
}
