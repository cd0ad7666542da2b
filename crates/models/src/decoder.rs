//! The decoder-only skeleton every supported architecture shares:
//! embed -> blocks -> final norm -> output head. Architectures supply the block.

use kernels::pool::ThreadPool;
use weights::names::{tn, tn_bias, TensorName};
use weights::Tensor;

use crate::layers::{softcap, Embedding, Linear, Norm};
use crate::model::{sized, Scratch};
use crate::{ForwardCtx, LogitsWanted, ModelConfig, ModelError, SeqInput, SeqRows, WeightSource};

/// One transformer layer: reads and updates the residual stream `s.x` ([n, n_embd]), whose rows
/// belong to the sequences in `seqs`.
pub trait Block: Send + Sync {
    fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize, seqs: &mut [SeqRows<'_>]);

    /// The linears a LoRA adapter may target; empty where adapters are not supported yet.
    fn linears_mut(&mut self) -> Vec<&mut Linear> {
        Vec::new()
    }

    /// The block's parts for training (`TrainView`); None where training is not supported.
    fn parts(&self) -> Option<crate::BlockParts<'_>> {
        None
    }
}

pub struct Decoder<B: Block> {
    pub config: ModelConfig,
    pub embed: Embedding,
    pub embed_scale: f32,
    pub layers: Vec<B>,
    pub out_norm: Norm,
    pub output: Linear, // [n_vocab, n_embd]; may share its tensor with `embed`
    /// Gemma 2: logits become `cap * tanh(logit / cap)`.
    pub logit_softcap: Option<f32>,
}

impl<B: Block> Decoder<B> {
    /// The parts LoRA training needs; None when a block or the final norm is not of the supported kind.
    pub fn train_view(&self) -> Option<crate::TrainView<'_>> {
        let blocks = self.layers.iter().map(|l| l.parts()).collect::<Option<Vec<_>>>()?;
        let Norm::Rms(out_norm) = &self.out_norm else { return None };
        Some(crate::TrainView {
            config: &self.config,
            embed: &self.embed,
            embed_scale: self.embed_scale,
            blocks,
            out_norm,
            output: &self.output,
            logit_softcap: self.logit_softcap,
        })
    }

    pub fn forward_batch(
        &self,
        ctx: &mut ForwardCtx,
        seqs: &mut [SeqInput<'_>],
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        out.clear();
        let n: usize = seqs.iter().map(|q| q.tokens.len()).sum();
        if n == 0 {
            return Ok(());
        }
        for q in seqs.iter() {
            let end = q.pos0 + q.tokens.len();
            if end > q.kv.n_ctx() {
                return Err(ModelError::ContextOverflow { pos: end, n_ctx: q.kv.n_ctx() });
            }
        }
        let hidden = seqs.iter().any(|q| q.want == LogitsWanted::Hidden);
        if hidden && seqs.iter().any(|q| q.want != LogitsWanted::Hidden) {
            return Err(ModelError::Config("a batch cannot mix hidden-state and logits outputs".into()));
        }
        let d = self.config.n_embd;
        let pool = ctx.pool;
        let s = &mut ctx.scratch;
        let x = sized(&mut s.x, n * d);
        let mut row = 0;
        for q in seqs.iter() {
            let len = q.tokens.len();
            self.embed.lookup(q.tokens, self.embed_scale, &mut x[row * d..(row + len) * d])?;
            row += len;
        }
        crate::lora::segments(&mut s.adapter_rows, seqs.iter().map(|q| (q.tokens.len(), q.adapter)));
        // The per-layer views reuse one buffer kept in the scratch: decode allocates nothing per token.
        let mut spare: Vec<SeqRows<'_>> = recycle(std::mem::take(&mut s.seq_rows));
        for (il, layer) in self.layers.iter().enumerate() {
            let mut rows = recycle(spare);
            let mut start = 0;
            for q in seqs.iter_mut() {
                let len = q.tokens.len();
                rows.push(SeqRows { start, len, pos0: q.pos0, kv: q.kv.layer(il) });
                start += len;
            }
            layer.forward(pool, s, n, &mut rows);
            spare = recycle(rows);
        }
        s.seq_rows = recycle(spare);
        // Gather the wanted rows (contiguous per sequence) and run the head over them at once.
        let h = &mut s.h;
        h.clear();
        let mut start = 0;
        for q in seqs.iter() {
            let len = q.tokens.len();
            let first = q.want.first_row(len);
            h.extend_from_slice(&s.x[(start + first) * d..(start + len) * d]);
            start += len;
        }
        let wanted = h.len() / d;
        if wanted == 0 {
            return Ok(());
        }
        if hidden {
            out.resize(wanted * d, 0.0);
            self.out_norm.forward(h, out);
            return Ok(());
        }
        let normed = sized(&mut s.att, wanted * d);
        self.out_norm.forward(h, normed);
        out.resize(wanted * self.config.n_vocab, 0.0);
        // The head sees only the wanted rows: re-cut the adapter segments to them.
        crate::lora::segments(&mut s.adapter_rows, seqs.iter().map(|q| (q.tokens.len() - q.want.first_row(q.tokens.len()), q.adapter)));
        self.output.forward_rows(pool, normed, wanted, out, &s.adapter_rows);
        if let Some(cap) = self.logit_softcap {
            out.iter_mut().for_each(|v| *v = softcap(*v, cap));
        }
        Ok(())
    }
}

/// The output projection: `output.weight` when the file has one, else the embeddings (tied).
pub fn output_head(src: &WeightSource, embd: &Tensor, n_embd: usize, n_vocab: usize) -> Result<Linear, ModelError> {
    let name = tn(TensorName::Output, None);
    match src.has_tensor(&name) {
        true => Linear::new(src.tensor(&name)?, n_embd, n_vocab),
        false => Linear::new(embd.clone(), n_embd, n_vocab),
    }
}

/// A per-layer projection `blk.{il}.{name}.weight` ([rows, cols]) with its `.bias` when the file has one.
pub fn linear(src: &WeightSource, name: TensorName, il: usize, cols: usize, rows: usize) -> Result<Linear, ModelError> {
    let lin = Linear::new(src.tensor(&tn(name, Some(il)))?, cols, rows)?;
    let bias = tn_bias(name, Some(il));
    match src.has_tensor(&bias) {
        true => lin.with_bias(&src.tensor(&bias)?),
        false => Ok(lin),
    }
}

/// x += o over the first `len` values (the residual connection).
pub fn add_residual(s: &mut Scratch, len: usize) {
    kernels::ops::add_assign(&mut s.x[..len], &s.o[..len]);
}

/// Empties `v` and hands its allocation back under a new borrow lifetime (each layer borrows the
/// caches anew). Collecting an emptied `IntoIter` into a Vec of the same layout reuses the buffer.
fn recycle<'a, 'b>(mut v: Vec<SeqRows<'a>>) -> Vec<SeqRows<'b>> {
    v.clear();
    v.into_iter().map(|_| unreachable!("the vector was just emptied")).collect()
}
