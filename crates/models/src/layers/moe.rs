//! Mixture-of-experts feed-forward (Mixtral, Qwen2/3-MoE): a router picks `n_used` of the gated
//! experts per token, softmax over all router logits, the chosen weights renormalised to sum to 1
//! where the model says so. Qwen2-MoE adds a shared expert every token goes through, scaled by a
//! per-token sigmoid gate. Tokens are grouped per expert so each expert's weights are read once per call.

use kernels::ops::axpy;
use kernels::pool::ThreadPool;

use super::{GatedMlp, Linear};
use crate::model::{sized, Scratch};

pub struct MoeMlp {
    pub router: Linear, // [n_expert, n_embd]
    pub experts: Vec<GatedMlp>,
    pub n_used: usize,
    /// Renormalise the chosen experts' probabilities (Mixtral and Qwen3-MoE do, Qwen2-MoE does not).
    pub norm_topk: bool,
    pub shared: Option<Box<SharedExpert>>,
}

/// An expert applied to every token, its output times sigmoid(gate · x) (Qwen2-MoE).
pub struct SharedExpert {
    pub mlp: GatedMlp,
    pub gate: Linear, // [1, n_embd]
}

impl MoeMlp {
    /// `s.h`: [n, n_embd] -> `s.o`: [n, n_embd]
    pub fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize) {
        let (d, ne) = (self.router.cols, self.experts.len());
        let mut logits = vec![0.0f32; n * ne];
        self.router.forward(pool, &s.h[..n * d], n, &mut logits);
        let mut chosen: Vec<Vec<(usize, f32)>> = vec![Vec::new(); ne]; // expert -> (token, weight)
        let mut order: Vec<usize> = Vec::with_capacity(ne);
        for (t, row) in logits.chunks_exact(ne).enumerate() {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let p: Vec<f32> = row.iter().map(|&v| (v - max).exp()).collect();
            let total: f32 = p.iter().sum();
            order.clear();
            order.extend(0..ne);
            // Highest probability first; ties go to the lower expert index.
            order.sort_by(|&a, &b| p[b].total_cmp(&p[a]).then(a.cmp(&b)));
            let top = &order[..self.n_used.min(ne)];
            let denom = if self.norm_topk { top.iter().map(|&e| p[e]).sum::<f32>() } else { total };
            for &e in top {
                chosen[e].push((t, p[e] / denom));
            }
        }
        let input = s.h[..n * d].to_vec();
        let mut acc = vec![0.0f32; n * d];
        if let Some(sh) = &self.shared {
            let mut g = vec![0.0f32; n];
            sh.gate.forward(pool, &input, n, &mut g);
            sh.mlp.forward(pool, s, n);
            for (t, &gt) in g.iter().enumerate() {
                axpy(1.0 / (1.0 + (-gt).exp()), &s.o[t * d..(t + 1) * d], &mut acc[t * d..(t + 1) * d]);
            }
        }
        for (expert, list) in self.experts.iter().zip(&chosen) {
            if list.is_empty() {
                continue;
            }
            let h = sized(&mut s.h, list.len() * d);
            for (j, &(t, _)) in list.iter().enumerate() {
                h[j * d..(j + 1) * d].copy_from_slice(&input[t * d..(t + 1) * d]);
            }
            expert.forward(pool, s, list.len());
            for (j, &(t, w)) in list.iter().enumerate() {
                axpy(w, &s.o[j * d..(j + 1) * d], &mut acc[t * d..(t + 1) * d]);
            }
        }
        sized(&mut s.o, n * d).copy_from_slice(&acc);
    }
}

/// A block's feed-forward: one gated MLP, or a mixture of them.
pub enum Ffn {
    Dense(GatedMlp),
    Moe(MoeMlp),
}

impl Ffn {
    pub fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize) {
        match self {
            Ffn::Dense(m) => m.forward(pool, s, n),
            Ffn::Moe(m) => m.forward(pool, s, n),
        }
    }
}

impl From<GatedMlp> for Ffn {
    fn from(m: GatedMlp) -> Self {
        Ffn::Dense(m)
    }
}
