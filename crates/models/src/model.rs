//! The interface every architecture implements, and the per-call working memory.

use kernels::pool::ThreadPool;

use crate::{KvAccess, ModelError};

/// Shape facts the engine needs to size caches and batches.
#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub arch: String,
    pub n_vocab: usize,
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub n_ctx_train: usize,
    /// Per layer: `Some(w)` when the layer attends only to the last `w` positions.
    pub layer_window: Vec<Option<usize>>,
}

impl ModelConfig {
    pub fn kv_dim(&self) -> usize {
        self.n_kv_head * self.head_dim
    }
}

/// Choices made when a model is loaded.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Tokens per sequence the model will run (prompt + generation); None: its training context.
    /// Phi-3 long-rope models pick their RoPE factors from it (llama.cpp's `n_ctx`).
    pub n_ctx: Option<usize>,
    /// A PEFT LoRA adapter folder applied on top of the base weights.
    pub lora: Option<std::path::PathBuf>,
    /// Map a GGUF file instead of reading it into huge-page memory (`AGORA_MMAP=1` does the same):
    /// loads faster and shares the page cache between processes, but decodes slower.
    pub mmap: bool,
}

impl LoadOptions {
    /// Whether GGUF weights are mapped rather than read (the option or `AGORA_MMAP=1`).
    pub fn use_mmap(&self) -> bool {
        self.mmap || std::env::var("AGORA_MMAP").is_ok_and(|v| v == "1")
    }
}

/// Which logits `forward` must produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogitsWanted {
    /// Only the last token's row (generation).
    Last,
    /// One row per input token (scoring).
    All,
    /// Rows for input tokens `i..` of this call (perplexity scores the second half of a chunk).
    From(usize),
    /// No logits (prefill chunks before the last).
    None,
    /// Instead of logits, every token's final normalized hidden state, `[n, n_embd]`
    /// (embeddings). A batch either wants this for all its sequences or for none.
    Hidden,
}

/// Thread pool plus reusable buffers, so a decode step allocates nothing after warm-up.
pub struct ForwardCtx<'p> {
    pub pool: &'p ThreadPool,
    pub scratch: Scratch,
}

impl<'p> ForwardCtx<'p> {
    pub fn new(pool: &'p ThreadPool) -> Self {
        Self { pool, scratch: Scratch::default() }
    }
}

/// Growable f32 buffers; `take(len)` hands out a zeroed-or-stale slice of exactly `len`.
#[derive(Default)]
pub struct Scratch {
    pub x: Vec<f32>,
    pub h: Vec<f32>,
    pub q: Vec<f32>,
    pub k: Vec<f32>,
    pub v: Vec<f32>,
    pub att: Vec<f32>,
    pub o: Vec<f32>,
    pub gate: Vec<f32>,
    pub up: Vec<f32>,
    pub scores: Vec<f32>,
    pub rope: Vec<f32>,
    /// Which rows of the current pass run through which per-request LoRA adapter.
    pub adapter_rows: Vec<crate::lora::AdapterRows>,
    /// The per-layer sequence views' buffer, kept empty between passes (see `decoder::recycle`).
    pub seq_rows: Vec<crate::SeqRows<'static>>,
}

/// A config field the architecture cannot do without.
pub fn required<T>(v: Option<T>, key: &str) -> Result<T, ModelError> {
    v.ok_or_else(|| ModelError::Config(format!("config.json has no '{key}'")))
}

/// Ensures `buf` holds exactly `len` floats, growing capacity only when needed.
pub fn sized(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// One sequence's tokens in a batched forward pass.
pub struct SeqInput<'a> {
    pub tokens: &'a [u32],
    /// Position of `tokens[0]` in its sequence.
    pub pos0: usize,
    pub kv: &'a mut dyn KvAccess,
    pub want: LogitsWanted,
    /// Per-request LoRA adapter (`Model::attach_adapter`'s id); 0 = the base model.
    pub adapter: usize,
}

impl LogitsWanted {
    /// The first of `n` input rows whose logits are wanted (`n` when none are).
    pub fn first_row(self, n: usize) -> usize {
        match self {
            LogitsWanted::None => n,
            LogitsWanted::Last => n.saturating_sub(1),
            LogitsWanted::All | LogitsWanted::Hidden => 0,
            LogitsWanted::From(i) => i.min(n.saturating_sub(1)),
        }
    }
}

pub trait Model: Send + Sync {
    fn config(&self) -> &ModelConfig;

    /// Applies a LoRA adapter to the linears it names; every delta must find its linear.
    fn attach_lora(&mut self, _adapter: &crate::lora::LoraAdapter) -> Result<(), ModelError> {
        Err(ModelError::Config(format!("LoRA adapters are not supported for {} models", self.config().arch)))
    }

    /// Loads a LoRA adapter next to the base weights without changing them: it applies only to
    /// sequences whose `SeqInput::adapter` is the returned id (1, 2, ...).
    fn attach_adapter(&mut self, _adapter: &crate::lora::LoraAdapter) -> Result<usize, ModelError> {
        Err(ModelError::Config(format!("LoRA adapters are not supported for {} models", self.config().arch)))
    }

    /// The parts LoRA training runs its own forward and backward passes over; None for
    /// architectures training does not support.
    fn train_view(&self) -> Option<crate::TrainView<'_>> {
        None
    }

    /// Runs several sequences through the model in one pass: every weight matrix is read once
    /// for all their tokens (continuous batching). Keys/values go into each sequence's cache;
    /// the wanted logits rows are appended to `out` in sequence order, `[rows, n_vocab]`.
    fn forward_batch(
        &self,
        ctx: &mut ForwardCtx,
        seqs: &mut [SeqInput<'_>],
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError>;

    /// Runs `tokens` (one sequence, positions `pos0..pos0+tokens.len()`) through the model,
    /// writing their keys/values into `kv` and the requested logits into `out`
    /// (`[rows, n_vocab]`: 1 row for `Last`, one per token for `All`, n - i for `From(i)`).
    fn forward(
        &self,
        ctx: &mut ForwardCtx,
        tokens: &[u32],
        pos0: usize,
        kv: &mut dyn KvAccess,
        want: LogitsWanted,
        out: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.forward_batch(ctx, &mut [SeqInput { tokens, pos0, kv, want, adapter: 0 }], out)
    }
}
