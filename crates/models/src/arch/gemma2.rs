//! Gemma 2. Paper: "Gemma 2: Improving Open Language Models at a Practical Size" (2024),
//! https://arxiv.org/abs/2408.00118
//!
//! The Gemma 3 block (sandwich RMSNorms, GeGLU, embeddings scaled by sqrt(n_embd), tied head,
//! NEOX RoPE) without the per-head q/k norms, plus:
//! - attention scores soft-capped: `cap * tanh(s / cap)` (`attn_logit_softcapping`, 50);
//! - final logits soft-capped the same way (`final_logit_softcapping`, 30);
//! - sliding window (4096) on every other layer, starting with layer 0; one RoPE base for all;
//! - q scaled by 1/sqrt(query_pre_attn_scalar) (HF config; GGUF lacks it, and llama.cpp uses
//!   n_embd / n_head for the 46-layer 27B and head_dim otherwise, as we do).

use weights::gguf::Metadata;
use weights::hf::HfConfig;
use weights::names::{tn, TensorName as T};

use super::gemma3::Gemma3Layer;
use crate::decoder::{output_head, Decoder};
use crate::layers::{Activation, AttnShape, Embedding, GatedMlp, Linear, RmsNorm, Rope, RopeStyle, SelfAttention};
use crate::model::required;
use crate::{ModelConfig, ModelError, WeightSource};

#[derive(Clone, Debug)]
pub struct Gemma2Config {
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ctx_train: usize,
    pub eps: f32,
    pub rope_base: f32,
    pub sliding_window: usize,
    pub query_pre_attn_scalar: f32,
    pub attn_softcap: Option<f32>,
    pub final_softcap: Option<f32>,
    /// Per layer: true when it uses the sliding window.
    pub sliding: Vec<bool>,
}

impl Gemma2Config {
    pub fn from_gguf(m: &Metadata) -> Result<Self, ModelError> {
        let a = "gemma2";
        let n_embd = m.get_u32(&format!("{a}.embedding_length"))? as usize;
        let n_head = m.get_u32(&format!("{a}.attention.head_count"))? as usize;
        let n_layer = m.get_u32(&format!("{a}.block_count"))? as usize;
        if n_head == 0 {
            return Err(ModelError::Config("attention.head_count is 0".into()));
        }
        let head_dim = m.opt_u32(&format!("{a}.attention.key_length")).map_or(n_embd / n_head, |v| v as usize);
        let qpas = if n_layer == 46 { n_embd / n_head } else { head_dim };
        Ok(Self {
            n_embd,
            n_layer,
            n_ff: m.get_u32(&format!("{a}.feed_forward_length"))? as usize,
            n_head,
            n_kv_head: m.opt_u32(&format!("{a}.attention.head_count_kv")).map_or(n_head, |v| v as usize),
            head_dim,
            n_ctx_train: m.opt_u32(&format!("{a}.context_length")).unwrap_or(8192) as usize,
            eps: m.get_f32(&format!("{a}.attention.layer_norm_rms_epsilon"))?,
            rope_base: m.opt_f32(&format!("{a}.rope.freq_base")).unwrap_or(10_000.0),
            sliding_window: m.opt_u32(&format!("{a}.attention.sliding_window")).unwrap_or(4096) as usize,
            query_pre_attn_scalar: qpas as f32,
            attn_softcap: m.opt_f32(&format!("{a}.attn_logit_softcapping")).filter(|&c| c > 0.0),
            final_softcap: m.opt_f32(&format!("{a}.final_logit_softcapping")).filter(|&c| c > 0.0),
            sliding: (0..n_layer).map(|il| il % 2 == 0).collect(),
        })
    }

    pub fn from_hf(c: &HfConfig) -> Result<Self, ModelError> {
        let n_head = required(c.num_attention_heads, "num_attention_heads")?;
        let n_embd = required(c.hidden_size, "hidden_size")?;
        let n_layer = required(c.num_hidden_layers, "num_hidden_layers")?;
        let head_dim = c.head_dim.unwrap_or(n_embd / n_head.max(1));
        let sliding = match &c.layer_types {
            Some(t) if t.len() == n_layer => t.iter().map(|k| k == "sliding_attention").collect(),
            Some(t) => return Err(ModelError::Config(format!("layer_types has {} entries for {n_layer} layers", t.len()))),
            None => (0..n_layer).map(|il| il % 2 == 0).collect(),
        };
        Ok(Self {
            n_embd,
            n_layer,
            n_ff: required(c.intermediate_size, "intermediate_size")?,
            n_head,
            n_kv_head: c.num_key_value_heads.unwrap_or(n_head),
            head_dim,
            n_ctx_train: c.max_position_embeddings.unwrap_or(8192),
            eps: c.rms_norm_eps.unwrap_or(1e-6) as f32,
            rope_base: c.rope_theta.unwrap_or(10_000.0) as f32,
            sliding_window: c.sliding_window.unwrap_or(4096),
            query_pre_attn_scalar: c.query_pre_attn_scalar.unwrap_or(head_dim as f64) as f32,
            attn_softcap: c.attn_logit_softcapping.filter(|&v| v > 0.0).map(|v| v as f32),
            final_softcap: c.final_logit_softcapping.filter(|&v| v > 0.0).map(|v| v as f32),
            sliding,
        })
    }
}

pub fn load(src: &WeightSource) -> Result<Decoder<Gemma3Layer>, ModelError> {
    let c = match src {
        WeightSource::Gguf(g) => Gemma2Config::from_gguf(g.metadata())?,
        WeightSource::Hf(h) => Gemma2Config::from_hf(&h.config)?,
    };
    let embd = src.tensor(&tn(T::TokenEmbd, None))?;
    let n_vocab = *embd.shape.get(1).unwrap_or(&0);
    let (d, hd) = (c.n_embd, c.head_dim);
    let norm = |name: T, il: Option<usize>| RmsNorm::from_tensor(&src.tensor(&tn(name, il))?, d, c.eps);
    let lin = |name: T, il: usize, cols: usize, rows: usize| Linear::new(src.tensor(&tn(name, Some(il)))?, cols, rows);
    let rope = Rope { rot_dim: hd, base: c.rope_base, style: RopeStyle::Neox, freq_factors: None, attn_factor: 1.0 };
    let layer_window: Vec<Option<usize>> = c.sliding.iter().map(|&s| s.then_some(c.sliding_window)).collect();
    let mut layers = Vec::with_capacity(c.n_layer);
    for (il, &window) in layer_window.iter().enumerate() {
        layers.push(Gemma3Layer {
            attn_norm: norm(T::AttnNorm, Some(il))?,
            attn: SelfAttention {
                wq: lin(T::AttnQ, il, d, c.n_head * hd)?,
                wk: lin(T::AttnK, il, d, c.n_kv_head * hd)?,
                wv: lin(T::AttnV, il, d, c.n_kv_head * hd)?,
                wo: lin(T::AttnOutput, il, c.n_head * hd, d)?,
                q_norm: None,
                k_norm: None,
                rope: rope.clone(),
                shape: AttnShape { n_head: c.n_head, n_kv_head: c.n_kv_head, head_dim: hd, window, scale: 1.0 / c.query_pre_attn_scalar.sqrt(), softcap: c.attn_softcap },
            },
            post_attn_norm: norm(T::AttnPostNorm, Some(il))?,
            ffn_norm: norm(T::FfnNorm, Some(il))?,
            mlp: GatedMlp {
                gate: lin(T::FfnGate, il, d, c.n_ff)?,
                up: lin(T::FfnUp, il, d, c.n_ff)?,
                down: lin(T::FfnDown, il, c.n_ff, d)?,
                act: Activation::GeluTanh,
            },
            post_ffn_norm: norm(T::FfnPostNorm, Some(il))?,
        });
    }
    let output = output_head(src, &embd, d, n_vocab)?;
    let config = ModelConfig {
        arch: "gemma2".into(),
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
        out_norm: norm(T::OutputNorm, None)?.into(),
        output,
        logit_softcap: c.final_softcap,
    })
}
