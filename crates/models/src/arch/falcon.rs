//! Falcon 7B/40B/180B. Paper: "The Falcon Series of Open Language Models" (2023),
//! https://arxiv.org/abs/2311.16867
//!
//! Differences from Llama:
//! - parallel block: x + attn(norm(x)) + mlp(norm(x)), no second residual step;
//! - LayerNorm with bias instead of RMSNorm; ungated MLP with exact GELU;
//! - one fused `attn_qkv` weight (q rows, then k, then v: llama.cpp's layout; `weights::hf`
//!   reorders Hugging Face's per-KV-group rows the same way), split into zero-copy views;
//! - classic layout (7B): multi-query attention (one KV head), one norm feeding both branches;
//! - "new decoder architecture" (40B/180B): grouped KV heads and two norms, `attn_norm_2`
//!   (ln_attn) for the attention and `attn_norm` (ln_mlp) for the MLP;
//! - NEOX RoPE over the whole head; linear biases where the file has them.
//!
//! Not supported (clear error): ALiBi models and the sequential (`parallel_attn: false`) layout.

use kernels::pool::ThreadPool;
use weights::gguf::Metadata;
use weights::hf::{falcon_heads, HfConfig};
use weights::names::{tn, tn_bias, TensorName as T};
use weights::Tensor;

use crate::decoder::{add_residual, linear, output_head, Block, Decoder};
use crate::layers::{Activation, AttnShape, Embedding, LayerNorm, Linear, Mlp, Rope, RopeStyle, SelfAttention};
use crate::model::{required, sized, Scratch};
use crate::{ModelConfig, ModelError, SeqRows, WeightSource};

#[derive(Clone, Debug)]
pub struct FalconConfig {
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub n_ctx_train: usize,
    pub eps: f32,
    pub rope_base: f32,
}

impl FalconConfig {
    pub fn from_gguf(m: &Metadata) -> Result<Self, ModelError> {
        let a = "falcon";
        let n_head = m.get_u32(&format!("{a}.attention.head_count"))? as usize;
        Ok(Self {
            n_embd: m.get_u32(&format!("{a}.embedding_length"))? as usize,
            n_layer: m.get_u32(&format!("{a}.block_count"))? as usize,
            n_ff: m.get_u32(&format!("{a}.feed_forward_length"))? as usize,
            n_head,
            n_kv_head: m.opt_u32(&format!("{a}.attention.head_count_kv")).map_or(1, |v| v as usize),
            n_ctx_train: m.opt_u32(&format!("{a}.context_length")).unwrap_or(2048) as usize,
            eps: m.get_f32(&format!("{a}.attention.layer_norm_epsilon"))?,
            rope_base: m.opt_f32(&format!("{a}.rope.freq_base")).unwrap_or(10_000.0),
        })
    }

    pub fn from_hf(c: &HfConfig) -> Result<Self, ModelError> {
        if c.alibi.unwrap_or(false) {
            return Err(ModelError::Config("this Falcon uses ALiBi positions, which are not supported (only RoPE Falcon models are)".into()));
        }
        if !c.parallel_attn.unwrap_or(true) && !c.new_decoder_architecture.unwrap_or(false) {
            return Err(ModelError::Config("Falcon with parallel_attn: false (sequential blocks) is not supported".into()));
        }
        let (n_head, n_kv_head) = falcon_heads(c);
        let n_embd = required(c.hidden_size, "hidden_size")?;
        Ok(Self {
            n_embd,
            n_layer: required(c.num_hidden_layers, "num_hidden_layers")?,
            n_ff: c.ffn_hidden_size.unwrap_or(4 * n_embd),
            n_head,
            n_kv_head,
            n_ctx_train: c.max_position_embeddings.unwrap_or(2048),
            eps: c.layer_norm_epsilon.unwrap_or(1e-5) as f32,
            rope_base: c.rope_theta.unwrap_or(10_000.0) as f32,
        })
    }
}

pub struct FalconLayer {
    attn_norm: LayerNorm,           // [n_embd]; the MLP's input (and the attention's when alone)
    attn_norm_2: Option<LayerNorm>, // [n_embd]; the attention's input (new decoder architecture)
    attn: SelfAttention,
    mlp: Mlp,
}

impl Block for FalconLayer {
    fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize, seqs: &mut [SeqRows<'_>]) {
        let len = n * self.attn_norm.dim();
        let first = self.attn_norm_2.as_ref().unwrap_or(&self.attn_norm);
        first.forward(&s.x[..len], sized(&mut s.h, len));
        self.attn.forward(pool, s, n, seqs);
        if self.attn_norm_2.is_some() {
            // Both branches read the block input: normalise it for the MLP before the residual.
            self.attn_norm.forward(&s.x[..len], sized(&mut s.h, len));
        }
        add_residual(s, len);
        self.mlp.forward(pool, s, n);
        add_residual(s, len);
    }
}

fn layer_norm(src: &WeightSource, name: T, il: Option<usize>, d: usize, eps: f32) -> Result<LayerNorm, ModelError> {
    LayerNorm::from_tensors(&src.tensor(&tn(name, il))?, &src.tensor(&tn_bias(name, il))?, d, eps)
}

/// Rows `a..b` of the fused qkv weight (and bias) as one projection.
fn part(w: &Tensor, b: Option<&Tensor>, what: &str, a: usize, e: usize, cols: usize) -> Result<Linear, ModelError> {
    let bad = |t: &Tensor| ModelError::BadShape { name: t.name.clone(), got: t.shape.clone(), want: vec![cols, e] };
    let view = w.row_range(format!("{} ({what})", w.name), a, e).ok_or_else(|| bad(w))?;
    let lin = Linear::new(view, cols, e - a)?;
    match b {
        Some(b) => {
            let bias = Tensor::from_owned(b.name.clone(), b.ty, vec![e - a], slice_1d(b, a, e).ok_or_else(|| bad(b))?);
            lin.with_bias(&bias)
        }
        None => Ok(lin),
    }
}

fn slice_1d(t: &Tensor, a: usize, e: usize) -> Option<Vec<u8>> {
    let es = t.ty.type_size() / t.ty.block_size().max(1);
    (t.ty.block_size() == 1 && t.shape.len() == 1).then(|| t.data().get(a * es..e * es).map(<[u8]>::to_vec))?
}

pub fn load(src: &WeightSource) -> Result<Decoder<FalconLayer>, ModelError> {
    let c = match src {
        WeightSource::Gguf(g) => FalconConfig::from_gguf(g.metadata())?,
        WeightSource::Hf(h) => FalconConfig::from_hf(&h.config)?,
    };
    if c.n_head == 0 || c.n_kv_head == 0 || c.n_head % c.n_kv_head != 0 {
        return Err(ModelError::Config(format!("{} attention heads do not split into {} KV groups", c.n_head, c.n_kv_head)));
    }
    let embd = src.tensor(&tn(T::TokenEmbd, None))?;
    let n_vocab = *embd.shape.get(1).unwrap_or(&0);
    let (d, hd) = (c.n_embd, c.n_embd / c.n_head);
    let (nq, nkv) = (c.n_head * hd, c.n_kv_head * hd);
    let rope = Rope { rot_dim: hd, base: c.rope_base, style: RopeStyle::Neox, freq_factors: None, attn_factor: 1.0 };
    let mut layers = Vec::with_capacity(c.n_layer);
    for il in 0..c.n_layer {
        let qkv = src.tensor(&tn(T::AttnQkv, Some(il)))?;
        let qkv_b = match src.has_tensor(&tn_bias(T::AttnQkv, Some(il))) {
            true => Some(src.tensor(&tn_bias(T::AttnQkv, Some(il)))?),
            false => None,
        };
        let attn_norm_2 = match src.has_tensor(&tn(T::AttnNorm2, Some(il))) {
            true => Some(layer_norm(src, T::AttnNorm2, Some(il), d, c.eps)?),
            false => None,
        };
        layers.push(FalconLayer {
            attn_norm: layer_norm(src, T::AttnNorm, Some(il), d, c.eps)?,
            attn_norm_2,
            attn: SelfAttention {
                wq: part(&qkv, qkv_b.as_ref(), "q", 0, nq, d)?,
                wk: part(&qkv, qkv_b.as_ref(), "k", nq, nq + nkv, d)?,
                wv: part(&qkv, qkv_b.as_ref(), "v", nq + nkv, nq + 2 * nkv, d)?,
                wo: linear(src, T::AttnOutput, il, nq, d)?,
                q_norm: None,
                k_norm: None,
                rope: rope.clone(),
                shape: AttnShape { n_head: c.n_head, n_kv_head: c.n_kv_head, head_dim: hd, window: None, scale: 1.0 / (hd as f32).sqrt(), softcap: None },
            },
            mlp: Mlp { up: linear(src, T::FfnUp, il, d, c.n_ff)?, down: linear(src, T::FfnDown, il, c.n_ff, d)?, act: Activation::Gelu },
        });
    }
    let output = output_head(src, &embd, d, n_vocab)?;
    let config = ModelConfig {
        arch: "falcon".into(),
        n_vocab,
        n_embd: d,
        n_layer: c.n_layer,
        n_head: c.n_head,
        n_kv_head: c.n_kv_head,
        head_dim: hd,
        n_ctx_train: c.n_ctx_train,
        layer_window: vec![None; c.n_layer],
    };
    let out_norm = layer_norm(src, T::OutputNorm, None, d, c.eps)?;
    Ok(Decoder { config, embed: Embedding::new(embd)?, embed_scale: 1.0, layers, out_norm: out_norm.into(), output, logit_softcap: None })
}
