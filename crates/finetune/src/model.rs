//! The LoRA training model: the base decoder (frozen, in its own format) plus trainable adapters,
//! with a forward pass that saves what the backward needs and a backward pass that produces the
//! adapters' gradients. Implements [`Objective`].
//!
//! Memory: each frozen linear keeps a transposed copy for dX = dY W (Q8_0 for a quantized base,
//! F32 for a float one), see [`LoraModel::extra_bytes`]. With activation checkpointing only each
//! block's input is kept through the forward pass and the block is recomputed in the backward.

use kernels::pool::ThreadPool;
use models::layers::Rope;
use models::{Model, TrainView};

use crate::batch::IGNORE;
use crate::ops::attention;
use crate::ops::linear::Frozen;
use crate::ops::lora::{self, Dropout};
use crate::ops::xent::Head;
use crate::ops::{mlp, norm, rope};
use crate::{Batch, FinetuneError, LoraModule, LoraParams, Objective, Target};

#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Keep only each block's input and recompute the block in the backward pass.
    pub activation_checkpointing: bool,
    /// Vocabulary rows per chunk of the output head in the loss.
    pub vocab_chunk: usize,
    pub threads: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self { activation_checkpointing: true, vocab_chunk: 8192, threads }
    }
}

/// One block's frozen linears, in `Target::ALL` order (q k v o gate up down).
struct BlockW<'m> {
    lin: [Frozen<'m>; 7],
}

pub struct LoraModel<'m> {
    view: TrainView<'m>,
    blocks: Vec<BlockW<'m>>,
    head: Head<'m>,
    pool: ThreadPool,
    opts: TrainOptions,
}

/// Everything one block's backward reads.
struct Saved {
    x: Vec<f32>,
    inv1: Vec<f32>,
    h1: Vec<f32>,
    q_pre: Vec<f32>,
    q_inv: Vec<f32>,
    k_pre: Vec<f32>,
    k_inv: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    att: Vec<f32>,
    o: Vec<f32>,
    o_inv: Vec<f32>,
    x2: Vec<f32>,
    inv2: Vec<f32>,
    h2: Vec<f32>,
    g: Vec<f32>,
    u: Vec<f32>,
    a: Vec<f32>,
    dn: Vec<f32>,
    dn_inv: Vec<f32>,
    lora: [Option<lora::Saved>; 7],
}

/// Per-step context: the batch's documents, rope tables, and which module adapts what.
struct Step<'p> {
    docs: Vec<(usize, usize)>,
    n: usize,
    params: &'p LoraParams,
    /// [layer][target] -> index into params.modules
    index: Vec<[Option<usize>; 7]>,
    dropout: Option<(f32, u64)>,
}

impl<'m> LoraModel<'m> {
    pub fn new(model: &'m dyn Model, opts: TrainOptions) -> Result<Self, FinetuneError> {
        let arch = model.config().arch.clone();
        let view = model.train_view().ok_or_else(|| {
            FinetuneError::Config(format!("cannot fine-tune a {arch} model: fine-tuning supports gemma3 and llama-family dense models"))
        })?;
        let mut blocks = Vec::with_capacity(view.blocks.len());
        for p in &view.blocks {
            let (a, f) = (p.attn, p.mlp);
            let lin = [
                Frozen::new(&a.wq)?,
                Frozen::new(&a.wk)?,
                Frozen::new(&a.wv)?,
                Frozen::new(&a.wo)?,
                Frozen::new(&f.gate)?,
                Frozen::new(&f.up)?,
                Frozen::new(&f.down)?,
            ];
            blocks.push(BlockW { lin });
        }
        if view.output.has_lora() {
            return Err(FinetuneError::Config("the output head carries a LoRA adapter; load the base model without one".into()));
        }
        let head = Head::new(view.output, view.logit_softcap, opts.vocab_chunk)?;
        let pool = ThreadPool::new(opts.threads.max(1));
        Ok(Self { view, blocks, head, pool, opts })
    }

    pub fn n_layer(&self) -> usize {
        self.blocks.len()
    }

    /// (rows, cols) of the base linear a target adapts in a layer.
    pub fn linear_shape(&self, layer: usize, t: Target) -> Option<(usize, usize)> {
        let l = self.blocks.get(layer)?.lin[target_idx(t)].lin;
        Some((l.rows, l.cols))
    }

    /// Bytes of the transposed weight copies the backward pass uses (blocks, output head).
    pub fn extra_bytes(&self) -> (usize, usize) {
        let b = self.blocks.iter().flat_map(|b| b.lin.iter()).map(|f| f.extra_bytes()).sum();
        (b, self.head.extra_bytes())
    }

    pub fn view(&self) -> &TrainView<'m> {
        &self.view
    }

    fn check<'p>(&self, batch: &Batch, params: &'p LoraParams) -> Result<Step<'p>, FinetuneError> {
        let n = batch.tokens.len();
        let bad = |m: String| FinetuneError::Config(m);
        if n == 0 {
            return Err(bad("the batch has no tokens".into()));
        }
        if batch.targets.len() != n {
            return Err(bad(format!("the batch has {n} tokens but {} targets; give one target (or IGNORE) per token", batch.targets.len())));
        }
        if batch.doc_starts.first() != Some(&0) || batch.doc_starts.windows(2).any(|w| w[0] >= w[1]) || batch.doc_starts.iter().any(|&s| s >= n) {
            return Err(bad(format!("doc_starts {:?} must start at 0 and rise strictly below {n}", batch.doc_starts)));
        }
        let nv = self.view.config.n_vocab;
        if let Some(&t) = batch.tokens.iter().chain(batch.targets.iter().filter(|&&t| t != IGNORE)).find(|&&t| t as usize >= nv) {
            return Err(bad(format!("token id {t} is outside the model's vocabulary of {nv}")));
        }
        let nl = self.blocks.len();
        let mut index = vec![[None; 7]; nl];
        for (i, m) in params.modules.iter().enumerate() {
            let shape = self.linear_shape(m.layer, m.target);
            let ok = shape == Some((m.rows, m.cols)) && m.a.len() == m.r * m.cols && m.b.len() == m.rows * m.r && m.r > 0;
            if !ok {
                return Err(bad(format!(
                    "LoRA module {} ({:?}) has rows {} cols {} r {} with A {} and B {} values; the model's linear is {:?} in a {nl}-layer model",
                    m.gguf_name(), m.target, m.rows, m.cols, m.r, m.a.len(), m.b.len(), shape
                )));
            }
            let slot = &mut index[m.layer][target_idx(m.target)];
            if slot.is_some() {
                return Err(bad(format!("LoRA module {} appears twice", m.gguf_name())));
            }
            *slot = Some(i);
        }
        let docs = batch.docs().collect();
        Ok(Step { docs, n, params, index, dropout: None })
    }

    fn embed(&self, tokens: &[u32]) -> Result<Vec<f32>, FinetuneError> {
        let mut x = vec![0.0f32; tokens.len() * self.view.config.n_embd];
        self.view.embed.lookup(tokens, self.view.embed_scale, &mut x)?;
        Ok(x)
    }

    /// Runs `lin` (base plus adapter, if any) on x [n, cols] into a new [n, rows].
    fn linear(&self, st: &Step, il: usize, ti: usize, x: &[f32]) -> (Vec<f32>, Option<lora::Saved>) {
        let f = &self.blocks[il].lin[ti];
        let mut y = vec![0.0f32; st.n * f.lin.rows];
        f.forward(&self.pool, x, st.n, &mut y);
        let saved = st.index[il][ti].map(|mi| {
            let m = &st.params.modules[mi];
            lora::forward(&self.pool, m, st.params.config.scale(), x, st.n, dropout(st, il, ti), &mut y)
        });
        (y, saved)
    }

    /// dx (+)= d/dx of `linear` given dy; adapter gradients go into `grads`.
    #[allow(clippy::too_many_arguments)]
    fn linear_back(&self, st: &Step, il: usize, ti: usize, x: &[f32], saved: &Option<lora::Saved>, dy: &[f32], dx: &mut [f32], grads: &mut Option<&mut LoraParams>) {
        let f = &self.blocks[il].lin[ti];
        let mut tmp = vec![0.0f32; st.n * f.lin.cols];
        f.backward(&self.pool, dy, st.n, &mut tmp);
        if let (Some(mi), Some(s)) = (st.index[il][ti], saved) {
            let m = &st.params.modules[mi];
            if let Some(g) = grads.as_deref_mut() {
                lora::backward(&self.pool, m, st.params.config.scale(), s, x, dy, st.n, dropout(st, il, ti), &mut g.modules[mi], &mut tmp);
            }
        }
        kernels::ops::add_assign(&mut dx[..tmp.len()], &tmp);
    }

    /// One block forward from x [n, d]; returns the output and the saved values.
    fn block_forward(&self, st: &Step, il: usize, x: Vec<f32>, tables: &[Vec<f32>]) -> Result<(Vec<f32>, Saved), FinetuneError> {
        let p = &self.view.blocks[il];
        let a = p.attn;
        let (n, d) = (st.n, self.view.config.n_embd);
        let (nh, nkv, hd) = (a.shape.n_head, a.shape.n_kv_head, a.shape.head_dim);
        let mut inv1 = vec![0.0; n];
        let mut h1 = vec![0.0; n * d];
        norm::forward(&x, p.attn_norm.weight(), p.attn_norm.eps(), &mut h1, &mut inv1);
        let (q_pre, lq) = self.linear(st, il, 0, &h1);
        let (k_pre, lk) = self.linear(st, il, 1, &h1);
        let (v, lv) = self.linear(st, il, 2, &h1);
        let (mut q, mut k) = (q_pre.clone(), k_pre.clone());
        let mut q_inv = vec![1.0; n * nh];
        let mut k_inv = vec![1.0; n * nkv];
        if let Some(qn) = &a.q_norm {
            norm::forward_fused(&q_pre, qn.weight(), qn.eps(), &mut q, &mut q_inv);
        }
        if let Some(kn) = &a.k_norm {
            norm::forward_fused(&k_pre, kn.weight(), kn.eps(), &mut k, &mut k_inv);
        }
        let table = &tables[il];
        let rd = a.rope.rot_dim;
        for t in 0..n {
            let row = &table[t * rd..(t + 1) * rd];
            q[t * nh * hd..(t + 1) * nh * hd].chunks_exact_mut(hd).for_each(|h| a.rope.apply(h, row));
            k[t * nkv * hd..(t + 1) * nkv * hd].chunks_exact_mut(hd).for_each(|h| a.rope.apply(h, row));
        }
        let mut att = vec![0.0; n * nh * hd];
        attention::forward(&self.pool, &p.attn.shape, &q, &k, &v, &st.docs, n, &mut att);
        let (o, lo) = self.linear(st, il, 3, &att);
        let mut x2 = x.clone();
        let mut o_inv = vec![1.0; n];
        match p.post_attn_norm {
            Some(pn) => {
                let mut on = vec![0.0; n * d];
                norm::forward_fused(&o, pn.weight(), pn.eps(), &mut on, &mut o_inv);
                kernels::ops::add_assign(&mut x2, &on);
            }
            None => kernels::ops::add_assign(&mut x2, &o),
        }
        let mut inv2 = vec![0.0; n];
        let mut h2 = vec![0.0; n * d];
        norm::forward(&x2, p.ffn_norm.weight(), p.ffn_norm.eps(), &mut h2, &mut inv2);
        let (g, lg) = self.linear(st, il, 4, &h2);
        let (u, lu) = self.linear(st, il, 5, &h2);
        let act = mlp::forward(p.mlp.act, &g, &u)?;
        let (dn, ld) = self.linear(st, il, 6, &act);
        let mut x3 = x2.clone();
        let mut dn_inv = vec![1.0; n];
        match p.post_ffn_norm {
            Some(pn) => {
                let mut on = vec![0.0; n * d];
                norm::forward_fused(&dn, pn.weight(), pn.eps(), &mut on, &mut dn_inv);
                kernels::ops::add_assign(&mut x3, &on);
            }
            None => kernels::ops::add_assign(&mut x3, &dn),
        }
        let lora = [lq, lk, lv, lo, lg, lu, ld];
        Ok((x3, Saved { x, inv1, h1, q_pre, q_inv, k_pre, k_inv, q, k, v, att, o, o_inv, x2, inv2, h2, g, u, a: act, dn, dn_inv, lora }))
    }

    /// From d(block output) to d(block input), adding adapter gradients.
    fn block_backward(&self, st: &Step, il: usize, s: &Saved, dx3: Vec<f32>, tables: &[Vec<f32>], grads: &mut Option<&mut LoraParams>) -> Vec<f32> {
        let p = &self.view.blocks[il];
        let a = p.attn;
        let (n, d) = (st.n, self.view.config.n_embd);
        let (nh, nkv, hd) = (a.shape.n_head, a.shape.n_kv_head, a.shape.head_dim);
        let n_ff = p.mlp.gate.rows;
        // FFN half: x3 = x2 + post(down(act(gate h2, up h2))), h2 = norm(x2)
        let mut ddn = dx3.clone();
        if let Some(pn) = p.post_ffn_norm {
            norm::backward(&s.dn, pn.weight(), &s.dn_inv, &dx3, &mut ddn, false);
        }
        let mut da = vec![0.0; n * n_ff];
        self.linear_back(st, il, 6, &s.a, &s.lora[6], &ddn, &mut da, grads);
        let (mut dg, mut du) = (vec![0.0; n * n_ff], vec![0.0; n * n_ff]);
        mlp::backward(p.mlp.act, &s.g, &s.u, &da, &mut dg, &mut du);
        let mut dh2 = vec![0.0; n * d];
        self.linear_back(st, il, 4, &s.h2, &s.lora[4], &dg, &mut dh2, grads);
        self.linear_back(st, il, 5, &s.h2, &s.lora[5], &du, &mut dh2, grads);
        let mut dx2 = dx3;
        norm::backward(&s.x2, p.ffn_norm.weight(), &s.inv2, &dh2, &mut dx2, true);
        // Attention half: x2 = x + post(o(attn(rope(qn(q h1)), rope(kn(k h1)), v h1))), h1 = norm(x)
        let mut dout = dx2.clone();
        if let Some(pn) = p.post_attn_norm {
            norm::backward(&s.o, pn.weight(), &s.o_inv, &dx2, &mut dout, false);
        }
        let mut datt = vec![0.0; n * nh * hd];
        self.linear_back(st, il, 3, &s.att, &s.lora[3], &dout, &mut datt, grads);
        let (mut dq, mut dk, mut dv) = (vec![0.0; n * nh * hd], vec![0.0; n * nkv * hd], vec![0.0; n * nkv * hd]);
        attention::backward(&self.pool, &p.attn.shape, &s.q, &s.k, &s.v, &st.docs, n, &datt, &mut dq, &mut dk, &mut dv);
        let table = &tables[il];
        let rd = a.rope.rot_dim;
        for t in 0..n {
            let row = &table[t * rd..(t + 1) * rd];
            dq[t * nh * hd..(t + 1) * nh * hd].chunks_exact_mut(hd).for_each(|h| rope::backward(&a.rope, h, row));
            dk[t * nkv * hd..(t + 1) * nkv * hd].chunks_exact_mut(hd).for_each(|h| rope::backward(&a.rope, h, row));
        }
        if let Some(qn) = &a.q_norm {
            let g = dq.clone();
            norm::backward(&s.q_pre, qn.weight(), &s.q_inv, &g, &mut dq, false);
        }
        if let Some(kn) = &a.k_norm {
            let g = dk.clone();
            norm::backward(&s.k_pre, kn.weight(), &s.k_inv, &g, &mut dk, false);
        }
        let mut dh1 = vec![0.0; n * d];
        self.linear_back(st, il, 0, &s.h1, &s.lora[0], &dq, &mut dh1, grads);
        self.linear_back(st, il, 1, &s.h1, &s.lora[1], &dk, &mut dh1, grads);
        self.linear_back(st, il, 2, &s.h1, &s.lora[2], &dv, &mut dh1, grads);
        let mut dx = dx2;
        norm::backward(&s.x, p.attn_norm.weight(), &s.inv1, &dh1, &mut dx, true);
        dx
    }

    fn run(&self, batch: &Batch, params: &LoraParams, grads: Option<&mut LoraParams>, drop: Option<(f32, u64)>) -> Result<(f64, usize), FinetuneError> {
        let mut st = self.check(batch, params)?;
        if let Some(g) = grads.as_deref() {
            let same = g.modules.len() == params.modules.len()
                && g.modules.iter().zip(&params.modules).all(|(a, b)| (a.layer, a.target, a.a.len(), a.b.len()) == (b.layer, b.target, b.a.len(), b.b.len()));
            if !same {
                return Err(FinetuneError::Config("gradients must have the parameters' modules and shapes (use LoraParams::zeros_like)".into()));
            }
        }
        st.dropout = drop.filter(|&(p, _)| p > 0.0);
        if let Some((p, _)) = st.dropout {
            if !(0.0..1.0).contains(&p) {
                return Err(FinetuneError::Config(format!("LoRA dropout {p} must be in [0, 1)")));
            }
        }
        let (n, d) = (st.n, self.view.config.n_embd);
        let tables: Vec<Vec<f32>> = self.view.blocks.iter().map(|b| rope_table(&b.attn.rope, &st.docs, n)).collect();
        let mut x = self.embed(&batch.tokens)?;
        let ckpt = self.opts.activation_checkpointing || grads.is_none();
        let mut inputs: Vec<Vec<f32>> = Vec::new();
        let mut saved: Vec<Saved> = Vec::new();
        for il in 0..self.blocks.len() {
            if ckpt && grads.is_some() && il + 1 < self.blocks.len() {
                inputs.push(x.clone());
            }
            let (y, s) = self.block_forward(&st, il, x, &tables)?;
            // Checkpointing still keeps the last block: its backward comes next.
            let last = il + 1 == self.blocks.len();
            if !ckpt || (last && grads.is_some()) {
                saved.push(s);
            }
            x = y;
        }
        let on = self.view.out_norm;
        let mut hf = vec![0.0; n * d];
        let mut inv = vec![0.0; n];
        norm::forward(&x, on.weight(), on.eps(), &mut hf, &mut inv);
        let rows: Vec<usize> = (0..n).filter(|&i| batch.targets[i] != IGNORE).collect();
        let tgt: Vec<u32> = rows.iter().map(|&i| batch.targets[i]).collect();
        let mut h = Vec::with_capacity(rows.len() * d);
        rows.iter().for_each(|&i| h.extend_from_slice(&hf[i * d..(i + 1) * d]));
        let Some(grads) = grads else {
            return Ok((self.head.loss(&self.pool, &h, &tgt, None)?, rows.len()));
        };
        let mut dh = vec![0.0; rows.len() * d];
        let loss = self.head.loss(&self.pool, &h, &tgt, Some(&mut dh))?;
        let mut dhf = vec![0.0; n * d];
        for (k, &i) in rows.iter().enumerate() {
            dhf[i * d..(i + 1) * d].copy_from_slice(&dh[k * d..(k + 1) * d]);
        }
        let mut dx = vec![0.0; n * d];
        norm::backward(&x, on.weight(), &inv, &dhf, &mut dx, false);
        let mut g = Some(grads);
        for il in (0..self.blocks.len()).rev() {
            let s = match saved.pop() {
                Some(s) => s,
                None => self.block_forward(&st, il, std::mem::take(&mut inputs[il]), &tables)?.1,
            };
            dx = self.block_backward(&st, il, &s, dx, &tables, &mut g);
        }
        Ok((loss, rows.len()))
    }
}

impl Objective for LoraModel<'_> {
    fn loss_and_grad(&mut self, batch: &Batch, params: &LoraParams, grads: &mut LoraParams, train: bool, seed: u64) -> Result<(f64, usize), FinetuneError> {
        let drop = train.then_some((params.config.dropout, seed));
        self.run(batch, params, Some(grads), drop)
    }

    fn loss(&mut self, batch: &Batch, params: &LoraParams) -> Result<(f64, usize), FinetuneError> {
        self.run(batch, params, None, None)
    }
}

fn target_idx(t: Target) -> usize {
    Target::ALL.iter().position(|&x| x == t).unwrap_or(0)
}

fn dropout(st: &Step, il: usize, ti: usize) -> Option<Dropout> {
    st.dropout.map(|(p, seed)| Dropout { p, seed: crate::rng::Rng::stream(seed, &[il as u64, ti as u64]).next_u64() })
}

fn rope_table(r: &Rope, docs: &[(usize, usize)], n: usize) -> Vec<f32> {
    rope::table(r, docs, n)
}

/// For tests: the module of `params` adapting (layer, target).
pub fn find_module(params: &LoraParams, layer: usize, t: Target) -> Option<&LoraModule> {
    params.modules.iter().find(|m| m.layer == layer && m.target == t)
}
