//! A read-only view of a decoder's parts for code that runs its own forward pass over the same
//! weights (LoRA training saves activations and runs backward passes; inference does neither).
//! Architectures describe their block once (`Block::parts`); nothing here computes.

use crate::layers::{Embedding, GatedMlp, Linear, RmsNorm, SelfAttention};
use crate::ModelConfig;

/// One pre-norm transformer block: x += post_attn(attn(attn_norm(x))); x += post_ffn(mlp(ffn_norm(x))).
/// The post norms are Gemma's (None for Llama-style blocks).
pub struct BlockParts<'a> {
    pub attn_norm: &'a RmsNorm,
    pub attn: &'a SelfAttention,
    pub post_attn_norm: Option<&'a RmsNorm>,
    pub ffn_norm: &'a RmsNorm,
    pub mlp: &'a GatedMlp,
    pub post_ffn_norm: Option<&'a RmsNorm>,
}

/// The whole decoder: embed (times `embed_scale`) -> blocks -> out_norm -> output (-> softcap).
pub struct TrainView<'a> {
    pub config: &'a ModelConfig,
    pub embed: &'a Embedding,
    pub embed_scale: f32,
    pub blocks: Vec<BlockParts<'a>>,
    pub out_norm: &'a RmsNorm,
    pub output: &'a Linear,
    pub logit_softcap: Option<f32>,
}
