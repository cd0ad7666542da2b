//! Llama 2/3.x (and the many models that share its shape).
//! Paper: "The Llama 3 Herd of Models" (2024); https://github.com/meta-llama/llama-models
//!
//! The reference layout the others differ from: pre-norm RMSNorm, SwiGLU FFN, grouped-query
//! attention, RoPE. Llama 3.1+ divides RoPE frequencies by per-frequency factors
//! (`rope_freqs.weight` in GGUF; computed from `rope_scaling` for Hugging Face files).
//! q/k are laid out for interleaved ("normal") RoPE: GGUF files store them permuted that way and
//! `weights::hf` permutes Hugging Face tensors the same way on load.

use kernels::pool::ThreadPool;
use weights::gguf::Metadata;
use weights::hf::HfConfig;
use weights::names::{tn, TensorName as T};

use crate::decoder::{add_residual, output_head, Block, Decoder};
use crate::layers::{Activation, Embedding, GatedMlp, Linear, RmsNorm, Rope, RopeStyle, SelfAttention};
use crate::model::{required, sized, Scratch};
use crate::{ModelConfig, SeqRows, ModelError, WeightSource};

#[derive(Clone, Debug)]
pub struct LlamaConfig {
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_ff: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub rot_dim: usize,
    pub n_ctx_train: usize,
    pub eps: f32,
    pub rope_base: f32,
    /// Llama 3 frequency divisors computed from config (Hugging Face files only).
    pub freq_factors: Option<Vec<f32>>,
}

impl LlamaConfig {
    pub fn from_gguf(m: &Metadata, arch: &str) -> Result<Self, ModelError> {
        let n_embd = m.get_u32(&format!("{arch}.embedding_length"))? as usize;
        let n_head = m.get_u32(&format!("{arch}.attention.head_count"))? as usize;
        if n_head == 0 {
            return Err(ModelError::Config("attention.head_count is 0".into()));
        }
        let head_dim = m.opt_u32(&format!("{arch}.attention.key_length")).map_or(n_embd / n_head, |v| v as usize);
        Ok(Self {
            n_embd,
            n_layer: m.get_u32(&format!("{arch}.block_count"))? as usize,
            n_ff: m.get_u32(&format!("{arch}.feed_forward_length"))? as usize,
            n_head,
            n_kv_head: m.opt_u32(&format!("{arch}.attention.head_count_kv")).map_or(n_head, |v| v as usize),
            head_dim,
            rot_dim: m.opt_u32(&format!("{arch}.rope.dimension_count")).map_or(head_dim, |v| v as usize),
            n_ctx_train: m.opt_u32(&format!("{arch}.context_length")).unwrap_or(4096) as usize,
            eps: m.get_f32(&format!("{arch}.attention.layer_norm_rms_epsilon"))?,
            rope_base: m.opt_f32(&format!("{arch}.rope.freq_base")).unwrap_or(10_000.0),
            freq_factors: None,
        })
    }

    pub fn from_hf(c: &HfConfig) -> Result<Self, ModelError> {
        let n_head = required(c.num_attention_heads, "num_attention_heads")?;
        let n_embd = required(c.hidden_size, "hidden_size")?;
        let head_dim = c.head_dim.unwrap_or(n_embd / n_head);
        let rope_base = c.rope_theta.unwrap_or(10_000.0) as f32;
        Ok(Self {
            n_embd,
            n_layer: required(c.num_hidden_layers, "num_hidden_layers")?,
            n_ff: required(c.intermediate_size, "intermediate_size")?,
            n_head,
            n_kv_head: c.num_key_value_heads.unwrap_or(n_head),
            head_dim,
            rot_dim: head_dim,
            n_ctx_train: c.max_position_embeddings.unwrap_or(4096),
            eps: c.rms_norm_eps.unwrap_or(1e-5) as f32,
            rope_base,
            freq_factors: llama3_freq_factors(c, head_dim, rope_base),
        })
    }
}

/// Llama 3 "rope_scaling": long wavelengths are divided by `factor`, short ones kept, and the
/// band between blended smoothly. Returned as divisors of each inverse frequency.
fn llama3_freq_factors(c: &HfConfig, dim: usize, base: f32) -> Option<Vec<f32>> {
    let rs = c.rope_scaling.as_ref()?;
    if rs.rope_type.as_deref() != Some("llama3") {
        return None;
    }
    let factor = rs.factor.unwrap_or(8.0);
    let (low, high) = (rs.low_freq_factor.unwrap_or(1.0), rs.high_freq_factor.unwrap_or(4.0));
    let old_ctx = rs.original_max_position_embeddings.unwrap_or(8192) as f64;
    let (low_wavelen, high_wavelen) = (old_ctx / low, old_ctx / high);
    Some(
        (0..dim / 2)
            .map(|i| {
                let inv_freq = (base as f64).powf(-2.0 * i as f64 / dim as f64);
                let wavelen = 2.0 * std::f64::consts::PI / inv_freq;
                if wavelen < high_wavelen {
                    1.0
                } else if wavelen > low_wavelen {
                    factor as f32
                } else {
                    let smooth = (old_ctx / wavelen - low) / (high - low);
                    (1.0 / ((1.0 - smooth) / factor + smooth)) as f32
                }
            })
            .collect(),
    )
}

pub struct LlamaLayer {
    attn_norm: RmsNorm, // [n_embd]
    attn: SelfAttention,
    ffn_norm: RmsNorm,  // [n_embd]
    mlp: GatedMlp,
}

impl Block for LlamaLayer {
    fn forward(&self, pool: &ThreadPool, s: &mut Scratch, n: usize, seqs: &mut [SeqRows<'_>]) {
        let len = n * self.attn_norm.dim();
        self.attn_norm.forward(&s.x[..len], sized(&mut s.h, len));
        self.attn.forward(pool, s, n, seqs);
        add_residual(s, len);
        self.ffn_norm.forward(&s.x[..len], sized(&mut s.h, len));
        self.mlp.forward(pool, s, n);
        add_residual(s, len);
    }
}

pub fn load(src: &WeightSource, arch: &str) -> Result<Decoder<LlamaLayer>, ModelError> {
    let embd = src.tensor(&tn(T::TokenEmbd, None))?;
    let n_vocab = *embd.shape.get(1).unwrap_or(&0);
    let mut c = match src {
        WeightSource::Gguf(g) => LlamaConfig::from_gguf(g.metadata(), arch)?,
        WeightSource::Hf(h) => LlamaConfig::from_hf(&h.config)?,
    };
    if c.freq_factors.is_none() && src.has_tensor(&tn(T::RopeFreqs, None)) {
        let t = src.tensor(&tn(T::RopeFreqs, None))?;
        let mut ff = vec![0.0f32; c.rot_dim / 2];
        if t.shape != [c.rot_dim / 2] {
            return Err(ModelError::BadShape { name: t.name.clone(), got: t.shape.clone(), want: vec![c.rot_dim / 2] });
        }
        kernels::dequant::dequantize_row(t.ty, t.data(), &mut ff)
            .map_err(|e| ModelError::Config(format!("'{}': {e}", t.name)))?;
        c.freq_factors = Some(ff);
    }
    let (d, hd) = (c.n_embd, c.head_dim);
    let norm = |name: T, il: Option<usize>| RmsNorm::from_tensor(&src.tensor(&tn(name, il))?, d, c.eps);
    let lin = |name: T, il: usize, cols: usize, rows: usize| Linear::new(src.tensor(&tn(name, Some(il)))?, cols, rows);
    let rope = Rope { rot_dim: c.rot_dim, base: c.rope_base, style: RopeStyle::Normal, freq_factors: c.freq_factors.clone() };
    let mut layers = Vec::with_capacity(c.n_layer);
    for il in 0..c.n_layer {
        layers.push(LlamaLayer {
            attn_norm: norm(T::AttnNorm, Some(il))?,
            attn: SelfAttention {
                wq: lin(T::AttnQ, il, d, c.n_head * hd)?,
                wk: lin(T::AttnK, il, d, c.n_kv_head * hd)?,
                wv: lin(T::AttnV, il, d, c.n_kv_head * hd)?,
                wo: lin(T::AttnOutput, il, c.n_head * hd, d)?,
                q_norm: None,
                k_norm: None,
                rope: rope.clone(),
                n_head: c.n_head,
                n_kv_head: c.n_kv_head,
                head_dim: hd,
                window: None,
                scale: 1.0 / (hd as f32).sqrt(),
            },
            ffn_norm: norm(T::FfnNorm, Some(il))?,
            mlp: GatedMlp {
                gate: lin(T::FfnGate, il, d, c.n_ff)?,
                up: lin(T::FfnUp, il, d, c.n_ff)?,
                down: lin(T::FfnDown, il, c.n_ff, d)?,
                act: Activation::Silu,
            },
        });
    }
    let output = output_head(src, &embd, d, n_vocab)?;
    let config = ModelConfig {
        arch: arch.to_string(),
        n_vocab,
        n_embd: d,
        n_layer: c.n_layer,
        n_head: c.n_head,
        n_kv_head: c.n_kv_head,
        head_dim: hd,
        n_ctx_train: c.n_ctx_train,
        layer_window: vec![None; c.n_layer],
    };
    Ok(Decoder { config, embed: Embedding::new(embd)?, embed_scale: 1.0, layers, out_norm: norm(T::OutputNorm, None)?, output })
}
