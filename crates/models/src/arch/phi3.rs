//! Phi-3 (mini/medium). Technical report: https://arxiv.org/abs/2404.14219
//!
//! The Llama block with fused tensors: one `attn_qkv` weight (q rows, then k, then v) and one
//! `ffn_up` weight holding the gate rows then the up rows. Both are split here into zero-copy row
//! views, so the shared attention and MLP run unchanged. NEOX RoPE, optional sliding window
//! (`sliding_window`; 0 in GGUF means none).
//!
//! Long-context models (Phi-3-mini-128k, Phi-3.5) use "longrope" scaling: short and long
//! per-frequency factors and a cos/sin attention factor ([`LongRope`]). The set is chosen at load
//! time from the context the model is loaded for ([`LoadOptions::n_ctx`], default the training
//! context), the long one when that exceeds `original_max_position_embeddings`, as llama.cpp does.

use weights::names::{tn, TensorName as T};
use weights::Tensor;

use super::llama::{LlamaConfig, LlamaLayer};
use crate::decoder::{output_head, Decoder};
use crate::layers::rope_scaling::LongRope;
use crate::layers::{Activation, AttnShape, Embedding, GatedMlp, Linear, RmsNorm, Rope, RopeStyle, SelfAttention};
use crate::{LoadOptions, ModelConfig, ModelError, WeightSource};

/// Rows `a..b` of a fused weight as a Linear of `cols` inputs.
fn part(t: &Tensor, what: &str, a: usize, b: usize, cols: usize) -> Result<Linear, ModelError> {
    let want = vec![cols, b];
    let view = t
        .row_range(format!("{} ({what})", t.name), a, b)
        .ok_or_else(|| ModelError::BadShape { name: t.name.clone(), got: t.shape.clone(), want })?;
    Linear::new(view, cols, b - a)
}

pub fn load(src: &WeightSource, opts: &LoadOptions) -> Result<Decoder<LlamaLayer>, ModelError> {
    let c = LlamaConfig::load(src, "phi3")?;
    let (freq_factors, attn_factor) = match LongRope::load(src, "phi3", c.rot_dim, c.n_ctx_train)? {
        Some(lr) => (Some(lr.factors_for(opts.n_ctx.unwrap_or(c.n_ctx_train)).to_vec()), lr.attn_factor),
        None => (c.freq_factors.clone(), 1.0),
    };
    let embd = src.tensor(&tn(T::TokenEmbd, None))?;
    let n_vocab = *embd.shape.get(1).unwrap_or(&0);
    let (d, hd, ff) = (c.n_embd, c.head_dim, c.n_ff);
    let (nq, nkv) = (c.n_head * hd, c.n_kv_head * hd);
    let norm = |name: T, il: Option<usize>| RmsNorm::from_tensor(&src.tensor(&tn(name, il))?, d, c.eps);
    let rope = Rope { rot_dim: c.rot_dim, base: c.rope_base, style: RopeStyle::Neox, freq_factors, attn_factor };
    let mut layers = Vec::with_capacity(c.n_layer);
    for il in 0..c.n_layer {
        let lin = |name: T, cols: usize, rows: usize| Linear::new(src.tensor(&tn(name, Some(il)))?, cols, rows);
        let (wq, wk, wv) = if src.has_tensor(&tn(T::AttnQkv, Some(il))) {
            let qkv = src.tensor(&tn(T::AttnQkv, Some(il)))?;
            (part(&qkv, "q", 0, nq, d)?, part(&qkv, "k", nq, nq + nkv, d)?, part(&qkv, "v", nq + nkv, nq + 2 * nkv, d)?)
        } else {
            (lin(T::AttnQ, d, nq)?, lin(T::AttnK, d, nkv)?, lin(T::AttnV, d, nkv)?)
        };
        let (gate, up) = if src.has_tensor(&tn(T::FfnGate, Some(il))) {
            (lin(T::FfnGate, d, ff)?, lin(T::FfnUp, d, ff)?)
        } else {
            let gu = src.tensor(&tn(T::FfnUp, Some(il)))?;
            (part(&gu, "gate", 0, ff, d)?, part(&gu, "up", ff, 2 * ff, d)?)
        };
        layers.push(LlamaLayer {
            attn_norm: norm(T::AttnNorm, Some(il))?,
            attn: SelfAttention {
                wq,
                wk,
                wv,
                wo: lin(T::AttnOutput, nq, d)?,
                q_norm: None,
                k_norm: None,
                rope: rope.clone(),
                shape: AttnShape { n_head: c.n_head, n_kv_head: c.n_kv_head, head_dim: hd, window: c.window, scale: 1.0 / (hd as f32).sqrt(), softcap: None },
            },
            ffn_norm: norm(T::FfnNorm, Some(il))?,
            mlp: GatedMlp { gate, up, down: lin(T::FfnDown, ff, d)?, act: Activation::Silu }.into(),
        });
    }
    let output = output_head(src, &embd, d, n_vocab)?;
    let config = ModelConfig {
        arch: "phi3".into(),
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
        out_norm: norm(T::OutputNorm, None)?.into(),
        output,
        logit_softcap: None,
    })
}
