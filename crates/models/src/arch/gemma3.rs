//! Gemma 3 (text). Model card: https://ai.google.dev/gemma/docs/core/model_card_3
//! Paper: "Gemma 3 Technical Report" (2025).
//!
//! Differences from Llama:
//! - embeddings multiplied by sqrt(n_embd); output head tied to the embeddings;
//! - RMSNorm before *and after* attention and the FFN; per-head RMSNorm on q and k;
//! - GeGLU FFN with tanh-GELU instead of SwiGLU;
//! - q scaled by 1/sqrt(query_pre_attn_scalar) (= head_dim for the small models);
//! - local/global attention: 5 of every 6 layers use a sliding window (512) and RoPE base 10000,
//!   every 6th layer is global with RoPE base 1e6 (neither the pattern nor the local base is in the GGUF);
//! - NEOX RoPE. Hugging Face stores norm weights as w for x*(1+w); `weights::hf` folds the 1 in as GGUF does.

use kernels::pool::ThreadPool;
use weights::gguf::Metadata;
use weights::hf::HfConfig;
use weights::names::{tn, TensorName as T};

use crate::decoder::{add_residual, output_head, Block, Decoder};
use crate::layers::{Activation, AttnShape, Embedding, GatedMlp, Linear, RmsNorm, Rope, RopeStyle, SelfAttention};
use crate::model::{required, sized, Scratch};
use crate::{ModelConfig, SeqRows, ModelError, WeightSource};

const SWA_PATTERN: usize = 6;
const LOCAL_ROPE_BASE: f32 = 10_000.0;

#[derive(Clone, Debug)]
pub struct Gemma3Config {
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ctx_train: usize,
    pub eps: f32,
    pub rope_base_global: f32,
    pub rope_base_local: f32,
    pub sliding_window: usize,
    pub query_pre_attn_scalar: f32,
}

impl Gemma3Config {
    pub fn from_gguf(m: &Metadata, n_vocab: usize) -> Result<Self, ModelError> {
        let a = "gemma3";
        let head_dim = m.get_u32(&format!("{a}.attention.key_length"))? as usize;
        Ok(Self {
            n_vocab,
            n_embd: m.get_u32(&format!("{a}.embedding_length"))? as usize,
            n_layer: m.get_u32(&format!("{a}.block_count"))? as usize,
            n_ff: m.get_u32(&format!("{a}.feed_forward_length"))? as usize,
            n_head: m.get_u32(&format!("{a}.attention.head_count"))? as usize,
            n_kv_head: m.get_u32(&format!("{a}.attention.head_count_kv"))? as usize,
            head_dim,
            n_ctx_train: m.get_u32(&format!("{a}.context_length"))? as usize,
            eps: m.get_f32(&format!("{a}.attention.layer_norm_rms_epsilon"))?,
            rope_base_global: m.opt_f32(&format!("{a}.rope.freq_base")).unwrap_or(1e6),
            rope_base_local: m.opt_f32(&format!("{a}.rope.freq_base_swa")).unwrap_or(LOCAL_ROPE_BASE),
            sliding_window: m.opt_u32(&format!("{a}.attention.sliding_window")).unwrap_or(512) as usize,
            query_pre_attn_scalar: head_dim as f32,
        })
    }

    pub fn from_hf(c: &HfConfig) -> Result<Self, ModelError> {
        let n_head = required(c.num_attention_heads, "num_attention_heads")?;
        let n_embd = required(c.hidden_size, "hidden_size")?;
        let head_dim = c.head_dim.unwrap_or(n_embd / n_head);
        Ok(Self {
            n_vocab: required(c.vocab_size, "vocab_size")?,
            n_embd,
            n_layer: required(c.num_hidden_layers, "num_hidden_layers")?,
            n_ff: required(c.intermediate_size, "intermediate_size")?,
            n_head,
            n_kv_head: c.num_key_value_heads.unwrap_or(n_head),
            head_dim,
            n_ctx_train: c.max_position_embeddings.unwrap_or(32768),
            eps: c.rms_norm_eps.unwrap_or(1e-6) as f32,
            rope_base_global: c.rope_theta.unwrap_or(1e6) as f32,
            rope_base_local: c.rope_local_base_freq.unwrap_or(LOCAL_ROPE_BASE as f64) as f32,
            sliding_window: c.sliding_window.unwrap_or(512),
            query_pre_attn_scalar: c.query_pre_attn_scalar.unwrap_or(head_dim as f64) as f32,
        })
    }

    pub fn is_global(&self, il: usize) -> bool {
        il % SWA_PATTERN == SWA_PATTERN - 1
    }
}

pub struct Gemma3Layer {
    pub(crate) attn_norm: RmsNorm,      // [n_embd]
    pub(crate) attn: SelfAttention,
    pub(crate) post_attn_norm: RmsNorm, // [n_embd]
    pub(crate) ffn_norm: RmsNorm,       // [n_embd]
    pub(crate) mlp: GatedMlp,
    pub(crate) post_ffn_norm: RmsNorm,  // [n_embd]
}

impl Block for Gemma3Layer {
    fn linears_mut(&mut self) -> Vec<&mut Linear> {
        let mut v = self.attn.linears_mut();
        v.extend(self.mlp.linears_mut());
        v
    }

    fn parts(&self) -> Option<crate::BlockParts<'_>> {
        Some(crate::BlockParts {
            attn_norm: &self.attn_norm,
            attn: &self.attn,
            post_attn_norm: Some(&self.post_attn_norm),
            ffn_norm: &self.ffn_norm,
            mlp: &self.mlp,
            post_ffn_norm: Some(&self.post_ffn_norm),
        })
    }

    fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize, seqs: &mut [SeqRows<'_>]) {
        let len = n * self.attn_norm.dim();
        self.attn_norm.forward(&s.x[..len], sized(&mut s.h, len));
        self.attn.forward(pool, s, n, seqs);
        self.post_attn_norm.forward_inplace(&mut s.o[..len]);
        add_residual(s, len);
        self.ffn_norm.forward(&s.x[..len], sized(&mut s.h, len));
        self.mlp.forward(pool, s, n);
        self.post_ffn_norm.forward_inplace(&mut s.o[..len]);
        add_residual(s, len);
    }
}

pub fn load(src: &WeightSource) -> Result<Decoder<Gemma3Layer>, ModelError> {
    let embd = src.tensor(&tn(T::TokenEmbd, None))?;
    let n_vocab = *embd.shape.get(1).unwrap_or(&0);
    let c = match src {
        WeightSource::Gguf(g) => Gemma3Config::from_gguf(g.metadata(), n_vocab)?,
        WeightSource::Hf(h) => Gemma3Config::from_hf(&h.config)?,
    };
    let (d, hd) = (c.n_embd, c.head_dim);
    let norm = |name: T, il: Option<usize>, dim: usize| -> Result<RmsNorm, ModelError> {
        RmsNorm::from_tensor(&src.tensor(&tn(name, il))?, dim, c.eps)
    };
    let lin = |name: T, il: usize, cols: usize, rows: usize| Linear::new(src.tensor(&tn(name, Some(il)))?, cols, rows);
    let mut layers = Vec::with_capacity(c.n_layer);
    let mut layer_window = Vec::with_capacity(c.n_layer);
    for il in 0..c.n_layer {
        let global = c.is_global(il);
        let window = (!global).then_some(c.sliding_window);
        layer_window.push(window);
        let base = if global { c.rope_base_global } else { c.rope_base_local };
        layers.push(Gemma3Layer {
            attn_norm: norm(T::AttnNorm, Some(il), d)?,
            attn: SelfAttention {
                wq: lin(T::AttnQ, il, d, c.n_head * hd)?,
                wk: lin(T::AttnK, il, d, c.n_kv_head * hd)?,
                wv: lin(T::AttnV, il, d, c.n_kv_head * hd)?,
                wo: lin(T::AttnOutput, il, c.n_head * hd, d)?,
                q_norm: Some(norm(T::AttnQNorm, Some(il), hd)?),
                k_norm: Some(norm(T::AttnKNorm, Some(il), hd)?),
                rope: Rope { rot_dim: hd, base, style: RopeStyle::Neox, freq_factors: None, attn_factor: 1.0 },
                shape: AttnShape { n_head: c.n_head, n_kv_head: c.n_kv_head, head_dim: hd, window, scale: 1.0 / c.query_pre_attn_scalar.sqrt(), softcap: None },
            },
            post_attn_norm: norm(T::AttnPostNorm, Some(il), d)?,
            ffn_norm: norm(T::FfnNorm, Some(il), d)?,
            mlp: GatedMlp {
                gate: lin(T::FfnGate, il, d, c.n_ff)?,
                up: lin(T::FfnUp, il, d, c.n_ff)?,
                down: lin(T::FfnDown, il, c.n_ff, d)?,
                act: Activation::GeluTanh,
            },
            post_ffn_norm: norm(T::FfnPostNorm, Some(il), d)?,
        });
    }
    let output = output_head(src, &embd, d, n_vocab)?;
    let config = ModelConfig {
        arch: "gemma3".into(),
        n_vocab,
        n_embd: d,
        n_layer: c.n_layer,
        n_head: c.n_head,
        n_kv_head: c.n_kv_head,
        head_dim: hd,
        n_ctx_train: c.n_ctx_train,
        layer_window,
    };
    Ok(Decoder {
        config,
        embed: Embedding::new(embd)?,
        embed_scale: (d as f32).sqrt(),
        layers,
        out_norm: norm(T::OutputNorm, None, d)?.into(),
        output,
        logit_softcap: None,
    })
}
