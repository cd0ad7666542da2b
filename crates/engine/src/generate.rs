//! The step loop for one sequence: prefill in chunks, then sample and decode token by token.

use std::time::Instant;

use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted, Model};
use serde::Serialize;
use tokenize::{StreamDecoder, Tokenizer};

use crate::kv::{KvCache, KvTypes};
use crate::sampler::{SamplerChain, SamplingParams};
use crate::stop::StopMatcher;
use crate::EngineError;

/// Prompt tokens per forward call during prefill.
pub const DEFAULT_CHUNK: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model produced an end-of-generation token.
    Eog,
    MaxTokens,
    StopString,
    ContextFull,
    /// The caller's callback asked to stop.
    Cancelled,
    /// A content guard ended the answer (set by the server's output filter, never by the engine).
    ContentFilter,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Timings {
    pub prompt_tokens: usize,
    /// Prompt tokens served from the cache instead of recomputed.
    pub cached_tokens: usize,
    pub prompt_seconds: f64,
    pub generated_tokens: usize,
    pub generate_seconds: f64,
}

impl Timings {
    pub fn prompt_tps(&self) -> f64 {
        rate(self.prompt_tokens - self.cached_tokens, self.prompt_seconds)
    }
    pub fn generate_tps(&self) -> f64 {
        rate(self.generated_tokens, self.generate_seconds)
    }
}

fn rate(n: usize, s: f64) -> f64 {
    if s > 0.0 {
        n as f64 / s
    } else {
        0.0
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Generation {
    pub tokens: Vec<u32>,
    pub text: String,
    pub stop_reason: StopReason,
    pub timings: Timings,
}

/// One sequence's state: cache, working memory, and the tokens the cache holds.
pub struct Session<'m> {
    model: &'m dyn Model,
    ctx: ForwardCtx<'m>,
    kv: KvCache,
    tokens: Vec<u32>,
    logits: Vec<f32>,
    chunk: usize,
}

impl<'m> Session<'m> {
    pub fn new(model: &'m dyn Model, pool: &'m ThreadPool, n_ctx: usize) -> Self {
        Self::with_chunk(model, pool, n_ctx, DEFAULT_CHUNK)
    }

    /// `chunk`: the most prompt tokens per forward call (also sizes the sliding-window rings).
    pub fn with_chunk(model: &'m dyn Model, pool: &'m ThreadPool, n_ctx: usize, chunk: usize) -> Self {
        let chunk = chunk.clamp(1, n_ctx.max(1));
        Self::with_cache(model, pool, KvCache::new(model.config(), n_ctx, chunk), chunk)
    }

    /// Like `new`, with keys and values stored as `kv` (fails when the model cannot use them).
    pub fn with_kv_types(model: &'m dyn Model, pool: &'m ThreadPool, n_ctx: usize, kv: KvTypes) -> Result<Self, EngineError> {
        let chunk = DEFAULT_CHUNK.clamp(1, n_ctx.max(1));
        let cache = KvCache::with_types(model.config(), n_ctx, chunk, kv.k, kv.v)?;
        Ok(Self::with_cache(model, pool, cache, chunk))
    }

    fn with_cache(model: &'m dyn Model, pool: &'m ThreadPool, kv: KvCache, chunk: usize) -> Self {
        Self { model, ctx: ForwardCtx::new(pool), kv, tokens: Vec::new(), logits: Vec::new(), chunk }
    }

    /// Bytes held by this session's KV cache.
    pub fn kv_bytes(&self) -> usize {
        self.kv.bytes()
    }

    pub fn n_ctx(&self) -> usize {
        models::KvAccess::n_ctx(&self.kv)
    }

    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    pub fn kv(&self) -> &KvCache {
        &self.kv
    }

    /// Makes the cache hold exactly `ids`, reusing the longest common prefix, and leaves the
    /// last token's logits in `self.logits()`. Returns how many tokens came from the cache.
    pub fn prefill(&mut self, ids: &[u32]) -> Result<usize, EngineError> {
        if ids.is_empty() {
            return Err(EngineError::EmptyPrompt);
        }
        if ids.len() >= self.n_ctx() {
            return Err(EngineError::PromptTooLong {
                n_prompt: ids.len(),
                n_ctx: self.n_ctx(),
                n_ctx_train: self.model.config().n_ctx_train,
            });
        }
        // Keep at least the last token to recompute, so its logits are fresh.
        let mut keep = self.tokens.iter().zip(ids).take_while(|(a, b)| a == b).count().min(ids.len() - 1);
        if !self.kv.seq_rm(keep) {
            keep = 0;
        }
        self.tokens.truncate(keep);
        let mut pos = keep;
        while pos < ids.len() {
            let end = (pos + self.chunk).min(ids.len());
            let want = if end == ids.len() { LogitsWanted::Last } else { LogitsWanted::None };
            self.model.forward(&mut self.ctx, &ids[pos..end], pos, &mut self.kv, want, &mut self.logits)?;
            pos = end;
            self.kv.set_len(pos);
        }
        self.tokens.extend_from_slice(&ids[keep..]);
        Ok(keep)
    }

    /// Appends one token and computes its logits.
    pub fn decode(&mut self, id: u32) -> Result<(), EngineError> {
        let pos = self.tokens.len();
        self.model.forward(&mut self.ctx, &[id], pos, &mut self.kv, LogitsWanted::Last, &mut self.logits)?;
        self.tokens.push(id);
        self.kv.set_len(pos + 1);
        Ok(())
    }

    /// Logits of the last token fed: [n_vocab].
    pub fn logits(&self) -> &[f32] {
        &self.logits[..self.model.config().n_vocab]
    }

    /// Runs the full loop: prefill `prompt`, then sample until a stop condition.
    /// `on_text` receives complete UTF-8 pieces as they are produced; returning false cancels.
    pub fn generate(
        &mut self,
        tok: &Tokenizer,
        prompt: &[u32],
        params: &SamplingParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation, EngineError> {
        params.validate()?;
        let mut timings = Timings { prompt_tokens: prompt.len(), ..Default::default() };
        let t0 = Instant::now();
        timings.cached_tokens = self.prefill(prompt)?;
        timings.prompt_seconds = t0.elapsed().as_secs_f64();

        let mut sampler = SamplerChain::new(params, self.model.config().n_vocab)?;
        for &t in prompt {
            sampler.accept(t);
        }
        let mut detok = StreamDecoder::new(tok, true);
        let mut stops = StopMatcher::new(&params.stop);
        let mut out = Generation { tokens: Vec::new(), text: String::new(), stop_reason: StopReason::MaxTokens, timings };
        let max = params.max_tokens.unwrap_or(usize::MAX);
        let t1 = Instant::now();
        let mut emit = |s: &str, text: &mut String| {
            text.push_str(s);
            s.is_empty() || on_text(s)
        };
        let reason = loop {
            if out.tokens.len() >= max {
                break StopReason::MaxTokens;
            }
            let id = sampler.sample(self.logits())?;
            sampler.accept(id);
            if tok.eog_ids().contains(&id) {
                break StopReason::Eog;
            }
            out.tokens.push(id);
            let piece = detok.push(id);
            let o = stops.push(&piece);
            if !emit(&o.emit, &mut out.text) {
                break StopReason::Cancelled;
            }
            if o.stopped {
                break StopReason::StopString;
            }
            if self.tokens.len() + 1 >= self.n_ctx() {
                break StopReason::ContextFull;
            }
            self.decode(id)?;
        };
        if reason != StopReason::StopString && reason != StopReason::Cancelled {
            let tail = stops.push(&detok.finish());
            emit(&tail.emit, &mut out.text);
            if !tail.stopped {
                let rest = stops.finish();
                emit(&rest, &mut out.text);
            }
        }
        out.stop_reason = reason;
        out.timings.generated_tokens = out.tokens.len();
        out.timings.generate_seconds = t1.elapsed().as_secs_f64();
        Ok(out)
    }
}
