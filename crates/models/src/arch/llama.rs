//! Llama 2/3.x, and Mistral and Mixtral (same GGUF architecture).
//! Paper: "The Llama 3 Herd of Models" (2024); https://github.com/meta-llama/llama-models
//! Mistral 7B: https://arxiv.org/abs/2310.06825
//!
//! The reference layout the others differ from: pre-norm RMSNorm, SwiGLU FFN, grouped-query
//! attention, RoPE. Llama 3.1+ divides RoPE frequencies by per-frequency factors
//! (`rope_freqs.weight` in GGUF; computed from `rope_scaling` for Hugging Face files).
//! q/k are laid out for interleaved ("normal") RoPE: GGUF files store them permuted that way and
//! `weights::hf` permutes Hugging Face tensors the same way on load.
//! Mistral differs only by its sliding window (`sliding_window` in config.json). llama.cpp's
//! converter writes Mistral as `llama` and drops the window; we honour
//! `llama.attention.sliding_window` when a GGUF has it.
//!
//! Mixtral (also GGUF `llama`, with `expert_count`): the FFN is a mixture of 8 SwiGLU experts, 2
//! chosen per token by a router (`ffn_gate_inp`), stacked in GGUF (`ffn_*_exps`), one tensor per
//! expert in Hugging Face files.
//!
//! Qwen2, Qwen3 and their MoE variants share this block and build through [`build`] with their
//! [`Variant`]; Qwen2-MoE's shared expert is loaded wherever the config gives it a size.

use kernels::pool::ThreadPool;
use weights::gguf::Metadata;
use weights::hf::HfConfig;
use weights::names::{tn, TensorName as T};

use crate::decoder::{add_residual, linear, output_head, Block, Decoder};
use crate::layers::rope_scaling::{gguf_freq_factors, hf_freq_factors, refuse_longrope};
use crate::layers::{vector, Activation, AttnShape, Embedding, Ffn, GatedMlp, Linear, MoeMlp, RmsNorm, Rope, RopeStyle, SelfAttention, SharedExpert};
use crate::model::{required, sized, Scratch};
use crate::{ModelConfig, ModelError, SeqRows, WeightSource};

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
    /// Per-frequency RoPE divisors (Llama 3 / linear scaling).
    pub freq_factors: Option<Vec<f32>>,
    /// Every layer attends to the last `window` positions only (Mistral).
    pub window: Option<usize>,
    /// Mixture of experts (Mixtral): experts per layer and experts used per token; 0 when dense.
    pub n_expert: usize,
    pub n_expert_used: usize,
    /// Hidden size of one expert (Qwen3-MoE's moe_intermediate_size; n_ff for Mixtral).
    pub n_ff_expert: usize,
    /// Renormalise the chosen experts' probabilities (Mixtral; Qwen3-MoE's norm_topk_prob).
    pub norm_topk: bool,
    /// Hidden size of the shared expert (Qwen2-MoE); 0 when there is none.
    pub n_ff_shexp: usize,
}

impl LlamaConfig {
    pub fn from_gguf(m: &Metadata, arch: &str) -> Result<Self, ModelError> {
        let n_embd = m.get_u32(&format!("{arch}.embedding_length"))? as usize;
        let n_head = m.get_u32(&format!("{arch}.attention.head_count"))? as usize;
        if n_head == 0 {
            return Err(ModelError::Config("attention.head_count is 0".into()));
        }
        let head_dim = m.opt_u32(&format!("{arch}.attention.key_length")).map_or(n_embd / n_head, |v| v as usize);
        let rot_dim = m.opt_u32(&format!("{arch}.rope.dimension_count")).map_or(head_dim, |v| v as usize);
        let n_ff = m.get_u32(&format!("{arch}.feed_forward_length"))? as usize;
        Ok(Self {
            n_embd,
            n_layer: m.get_u32(&format!("{arch}.block_count"))? as usize,
            n_ff,
            n_head,
            n_kv_head: m.opt_u32(&format!("{arch}.attention.head_count_kv")).map_or(n_head, |v| v as usize),
            head_dim,
            rot_dim,
            n_ctx_train: m.opt_u32(&format!("{arch}.context_length")).unwrap_or(4096) as usize,
            eps: m.get_f32(&format!("{arch}.attention.layer_norm_rms_epsilon"))?,
            rope_base: m.opt_f32(&format!("{arch}.rope.freq_base")).unwrap_or(10_000.0),
            freq_factors: gguf_freq_factors(m, arch, rot_dim)?,
            window: m.opt_u32(&format!("{arch}.attention.sliding_window")).filter(|&w| w > 0).map(|w| w as usize),
            n_expert: m.opt_u32(&format!("{arch}.expert_count")).unwrap_or(0) as usize,
            n_expert_used: m.opt_u32(&format!("{arch}.expert_used_count")).unwrap_or(0) as usize,
            n_ff_expert: m.opt_u32(&format!("{arch}.expert_feed_forward_length")).map_or(n_ff, |v| v as usize),
            norm_topk: m.opt_bool(&format!("{arch}.expert_weights_norm")).unwrap_or(true),
            n_ff_shexp: m.opt_u32(&format!("{arch}.expert_shared_feed_forward_length")).unwrap_or(0) as usize,
        })
    }

    pub fn from_hf(c: &HfConfig) -> Result<Self, ModelError> {
        let n_head = required(c.num_attention_heads, "num_attention_heads")?;
        let n_embd = required(c.hidden_size, "hidden_size")?;
        if n_head == 0 {
            return Err(ModelError::Config("num_attention_heads is 0".into()));
        }
        let head_dim = c.head_dim.unwrap_or(n_embd / n_head);
        let rope_base = c.rope_theta.unwrap_or(10_000.0) as f32;
        let partial = c.partial_rotary_factor.unwrap_or(1.0);
        let rot_dim = ((head_dim as f64 * partial) as usize) & !1;
        // Qwen configs carry a sliding_window that only applies with use_sliding_window: true.
        let use_window = c.use_sliding_window.unwrap_or(true);
        let n_ff = required(c.intermediate_size, "intermediate_size")?;
        // Qwen-MoE variants with dense layers among the sparse ones are not built here.
        let dense_layers = c.mlp_only_layers.as_ref().is_some_and(|l| !l.is_empty());
        if c.decoder_sparse_step.unwrap_or(1) != 1 || dense_layers {
            return Err(ModelError::Config("mixture-of-experts models with dense layers in between (decoder_sparse_step != 1 or mlp_only_layers) are not supported".into()));
        }
        Ok(Self {
            n_embd,
            n_layer: required(c.num_hidden_layers, "num_hidden_layers")?,
            n_ff,
            n_head,
            n_kv_head: c.num_key_value_heads.unwrap_or(n_head),
            head_dim,
            rot_dim,
            n_ctx_train: c.max_position_embeddings.unwrap_or(4096),
            eps: c.rms_norm_eps.unwrap_or(1e-5) as f32,
            rope_base,
            freq_factors: hf_freq_factors(c, rot_dim, rope_base)?,
            window: c.sliding_window.filter(|&w| use_window && w > 0),
            n_expert: c.num_local_experts.or(c.num_experts).unwrap_or(0),
            n_expert_used: c.num_experts_per_tok.unwrap_or(0),
            n_ff_expert: c.moe_intermediate_size.unwrap_or(n_ff),
            norm_topk: c.norm_topk_prob.unwrap_or(true),
            n_ff_shexp: c.shared_expert_intermediate_size.unwrap_or(0),
        })
    }

    pub fn load(src: &WeightSource, arch: &str) -> Result<Self, ModelError> {
        match src {
            WeightSource::Gguf(g) => Self::from_gguf(g.metadata(), arch),
            WeightSource::Hf(h) => Self::from_hf(&h.config),
        }
    }
}

/// What a Llama-shaped architecture changes.
#[derive(Clone, Copy, Debug)]
pub struct Variant {
    pub rope: RopeStyle,
    /// Per-head RMSNorm on q and k before RoPE (Qwen3).
    pub qk_norm: bool,
}

pub struct LlamaLayer {
    pub(crate) attn_norm: RmsNorm, // [n_embd]
    pub(crate) attn: SelfAttention,
    pub(crate) ffn_norm: RmsNorm,  // [n_embd]
    pub(crate) mlp: Ffn,
}

impl Block for LlamaLayer {
    fn linears_mut(&mut self) -> Vec<&mut Linear> {
        let mut v = self.attn.linears_mut();
        if let Ffn::Dense(m) = &mut self.mlp {
            v.extend(m.linears_mut());
        }
        v
    }

    fn parts(&self) -> Option<crate::BlockParts<'_>> {
        let Ffn::Dense(mlp) = &self.mlp else { return None };
        Some(crate::BlockParts { attn_norm: &self.attn_norm, attn: &self.attn, post_attn_norm: None, ffn_norm: &self.ffn_norm, mlp, post_ffn_norm: None })
    }

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

/// Mixtral's experts: stacked `[cols, rows, n_expert]` tensors in GGUF, one tensor per expert
/// ("blk.N.ffn_gate_exps.E.weight") from Hugging Face; either way a zero-copy view per expert.
fn moe(src: &WeightSource, c: &LlamaConfig, il: usize) -> Result<MoeMlp, ModelError> {
    if c.n_expert_used == 0 || c.n_expert_used > c.n_expert {
        return Err(ModelError::Config(format!("{} experts used per token out of {}", c.n_expert_used, c.n_expert)));
    }
    let (d, ff) = (c.n_embd, c.n_ff_expert);
    let expert = |name: T, e: usize, cols: usize, rows: usize| -> Result<Linear, ModelError> {
        let stacked = tn(name, Some(il));
        if !src.has_tensor(&stacked) {
            return Linear::new(src.tensor(&format!("blk.{il}.{}.{e}.weight", name.base()))?, cols, rows);
        }
        let t = src.tensor(&stacked)?;
        let want = vec![cols, rows, c.n_expert];
        if t.shape != want {
            return Err(ModelError::BadShape { name: t.name.clone(), got: t.shape.clone(), want });
        }
        let m = t.matrix(format!("{}[{e}]", t.name), e).ok_or_else(|| ModelError::BadShape { name: t.name.clone(), got: t.shape.clone(), want })?;
        Linear::new(m, cols, rows)
    };
    let experts = (0..c.n_expert)
        .map(|e| {
            Ok(GatedMlp {
                gate: expert(T::FfnGateExps, e, d, ff)?,
                up: expert(T::FfnUpExps, e, d, ff)?,
                down: expert(T::FfnDownExps, e, ff, d)?,
                act: Activation::Silu,
            })
        })
        .collect::<Result<Vec<_>, ModelError>>()?;
    let router = Linear::new(src.tensor(&tn(T::FfnGateInp, Some(il)))?, d, c.n_expert)?;
    let shared = match c.n_ff_shexp {
        0 => None,
        sff => {
            let lin = |name: T, cols: usize, rows: usize| linear(src, name, il, cols, rows);
            let mut gate = src.tensor(&tn(T::FfnGateInpShexp, Some(il)))?;
            if gate.shape == [d] {
                gate.shape = vec![d, 1]; // older conversions store the [1, n_embd] gate as a vector
            }
            Some(Box::new(SharedExpert {
                mlp: GatedMlp {
                    gate: lin(T::FfnGateShexp, d, sff)?,
                    up: lin(T::FfnUpShexp, d, sff)?,
                    down: lin(T::FfnDownShexp, sff, d)?,
                    act: Activation::Silu,
                },
                gate: Linear::new(gate, d, 1)?,
            }))
        }
    };
    Ok(MoeMlp { router, experts, n_used: c.n_expert_used, norm_topk: c.norm_topk, shared })
}

pub fn load(src: &WeightSource, arch: &str) -> Result<Decoder<LlamaLayer>, ModelError> {
    let c = LlamaConfig::load(src, arch)?;
    build(src, arch, c, Variant { rope: RopeStyle::Normal, qk_norm: false })
}

/// Builds any Llama-shaped model; q/k/v/o biases are used wherever the file has them.
pub fn build(src: &WeightSource, arch: &str, mut c: LlamaConfig, v: Variant) -> Result<Decoder<LlamaLayer>, ModelError> {
    refuse_longrope(src, arch)?;
    let embd = src.tensor(&tn(T::TokenEmbd, None))?;
    let n_vocab = *embd.shape.get(1).unwrap_or(&0);
    if c.freq_factors.is_none() && src.has_tensor(&tn(T::RopeFreqs, None)) {
        c.freq_factors = Some(vector(&src.tensor(&tn(T::RopeFreqs, None))?, c.rot_dim / 2)?);
    }
    let (d, hd) = (c.n_embd, c.head_dim);
    let norm = |name: T, il: Option<usize>, dim: usize| RmsNorm::from_tensor(&src.tensor(&tn(name, il))?, dim, c.eps);
    let lin = |name: T, il: usize, cols: usize, rows: usize| linear(src, name, il, cols, rows);
    let rope = Rope { rot_dim: c.rot_dim, base: c.rope_base, style: v.rope, freq_factors: c.freq_factors.clone(), attn_factor: 1.0 };
    let mut layers = Vec::with_capacity(c.n_layer);
    for il in 0..c.n_layer {
        let (q_norm, k_norm) = match v.qk_norm {
            true => (Some(norm(T::AttnQNorm, Some(il), hd)?), Some(norm(T::AttnKNorm, Some(il), hd)?)),
            false => (None, None),
        };
        layers.push(LlamaLayer {
            attn_norm: norm(T::AttnNorm, Some(il), d)?,
            attn: SelfAttention {
                wq: lin(T::AttnQ, il, d, c.n_head * hd)?,
                wk: lin(T::AttnK, il, d, c.n_kv_head * hd)?,
                wv: lin(T::AttnV, il, d, c.n_kv_head * hd)?,
                wo: lin(T::AttnOutput, il, c.n_head * hd, d)?,
                q_norm,
                k_norm,
                rope: rope.clone(),
                shape: AttnShape { n_head: c.n_head, n_kv_head: c.n_kv_head, head_dim: hd, window: c.window, scale: 1.0 / (hd as f32).sqrt(), softcap: None },
            },
            ffn_norm: norm(T::FfnNorm, Some(il), d)?,
            mlp: match c.n_expert {
                0 => GatedMlp {
                    gate: lin(T::FfnGate, il, d, c.n_ff)?,
                    up: lin(T::FfnUp, il, d, c.n_ff)?,
                    down: lin(T::FfnDown, il, c.n_ff, d)?,
                    act: Activation::Silu,
                }
                .into(),
                _ => Ffn::Moe(moe(src, &c, il)?),
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
        layer_window: vec![c.window; c.n_layer],
    };
    Ok(Decoder {
        config,
        embed: Embedding::new(embd)?,
        embed_scale: 1.0,
        layers,
        out_norm: norm(T::OutputNorm, None, d)?.into(),
        output,
        logit_softcap: None,
    })
}
