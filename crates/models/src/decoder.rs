//! The decoder-only skeleton every supported architecture shares:
//! embed -> blocks -> final norm -> output head. Architectures supply the block.

use kernels::pool::ThreadPool;
use weights::names::{tn, TensorName};
use weights::Tensor;

use crate::layers::{Embedding, Linear, RmsNorm};
use crate::model::{sized, Scratch};
use crate::{ForwardCtx, KvAccess, LayerKvMut, LogitsWanted, ModelConfig, ModelError, WeightSource};

/// One transformer layer: reads and updates the residual stream `s.x` ([n, n_embd]).
pub trait Block: Send + Sync {
    fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize, pos0: usize, kv: LayerKvMut<'_>);
}

pub struct Decoder<B: Block> {
    pub config: ModelConfig,
    pub embed: Embedding,
    pub embed_scale: f32,
    pub layers: Vec<B>,
    pub out_norm: RmsNorm,
    pub output: Linear, // [n_vocab, n_embd]; may share its tensor with `embed`
}

impl<B: Block> Decoder<B> {
    pub fn forward(
        &self,
        ctx: &mut ForwardCtx,
        tokens: &[u32],
        pos0: usize,
        kv: &mut dyn KvAccess,
        want: LogitsWanted,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        let n = tokens.len();
        if n == 0 {
            return Ok(());
        }
        if pos0 + n > kv.n_ctx() {
            return Err(ModelError::ContextOverflow { pos: pos0 + n, n_ctx: kv.n_ctx() });
        }
        let d = self.config.n_embd;
        let pool = ctx.pool;
        let s = &mut ctx.scratch;
        self.embed.lookup(tokens, self.embed_scale, sized(&mut s.x, n * d))?;
        for (il, layer) in self.layers.iter().enumerate() {
            layer.forward(pool, s, n, pos0, kv.layer(il));
        }
        let first = match want {
            LogitsWanted::None => return Ok(()),
            LogitsWanted::Last => n - 1,
            LogitsWanted::All => 0,
            LogitsWanted::From(i) => i.min(n - 1),
        };
        let rows = n - first;
        let h = sized(&mut s.h, rows * d);
        self.out_norm.forward(&s.x[first * d..n * d], h);
        out.resize(rows * self.config.n_vocab, 0.0);
        self.output.forward(pool, h, rows, out);
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

/// x += o over the first `len` values (the residual connection).
pub fn add_residual(s: &mut Scratch, len: usize) {
    kernels::ops::add_assign(&mut s.x[..len], &s.o[..len]);
}
