//! Perplexity by llama-perplexity's method, so numbers are comparable with llama.cpp's:
//! split the tokens into `n_ctx` chunks, put BOS at each chunk start, evaluate each chunk from an
//! empty cache and score only its second half (every scored token sees at least n_ctx/2 of context).

use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted, Model};
use serde::Serialize;

use engine::{EngineError, KvCache, KvTypes};

#[derive(Clone, Debug, Serialize)]
pub struct Perplexity {
    pub ppl: f64,
    /// Standard error of the perplexity estimate (llama.cpp's "+/-").
    pub stderr: f64,
    pub n_chunks: usize,
    pub n_ctx: usize,
    pub scored_tokens: usize,
    /// Running perplexity after each chunk (llama.cpp prints these as [1]x,[2]y...).
    pub per_chunk: Vec<f64>,
}

/// `tokens` is the whole text tokenized with BOS; `bos` replaces each chunk's first token when set.
pub fn perplexity(
    model: &dyn Model,
    pool: &ThreadPool,
    tokens: &[u32],
    n_ctx: usize,
    bos: Option<u32>,
    on_chunk: &mut dyn FnMut(usize, usize),
) -> Result<Perplexity, EngineError> {
    perplexity_with(model, pool, tokens, n_ctx, KvTypes::default(), bos, on_chunk)
}

/// `perplexity` with keys and values cached as `kv_types`.
pub fn perplexity_with(
    model: &dyn Model,
    pool: &ThreadPool,
    tokens: &[u32],
    n_ctx: usize,
    kv_types: KvTypes,
    bos: Option<u32>,
    on_chunk: &mut dyn FnMut(usize, usize),
) -> Result<Perplexity, EngineError> {
    let n_chunks = tokens.len() / n_ctx;
    if n_chunks == 0 || n_ctx < 4 {
        return Err(EngineError::Invalid(format!(
            "perplexity needs at least one chunk of {n_ctx} tokens, the text has {}; use a longer file or a smaller --ctx",
            tokens.len()
        )));
    }
    let n_vocab = model.config().n_vocab;
    let first = n_ctx / 2;
    let mut ctx = ForwardCtx::new(pool);
    let mut kv = KvCache::with_types(model.config(), n_ctx, n_ctx, kv_types.k, kv_types.v)?;
    let mut logits = Vec::new();
    let (mut nll, mut nll2, mut count) = (0.0f64, 0.0f64, 0usize);
    let mut per_chunk = Vec::with_capacity(n_chunks);
    let mut chunk = vec![0u32; n_ctx];
    for c in 0..n_chunks {
        chunk.copy_from_slice(&tokens[c * n_ctx..(c + 1) * n_ctx]);
        if let Some(b) = bos {
            chunk[0] = b;
        }
        kv.clear();
        model.forward(&mut ctx, &chunk, 0, &mut kv, LogitsWanted::From(first), &mut logits)?;
        for j in first..n_ctx - 1 {
            let row = &logits[(j - first) * n_vocab..(j - first + 1) * n_vocab];
            let lp = log_softmax_at(row, chunk[j + 1] as usize);
            nll -= lp;
            nll2 += lp * lp;
            count += 1;
        }
        per_chunk.push((nll / count as f64).exp());
        on_chunk(c + 1, n_chunks);
    }
    let mean = nll / count as f64;
    let var = (nll2 / count as f64 - mean * mean).max(0.0);
    let ppl = mean.exp();
    let stderr = if count > 1 { (var / (count - 1) as f64).sqrt() * ppl } else { 0.0 };
    Ok(Perplexity { ppl, stderr, n_chunks, n_ctx, scored_tokens: count, per_chunk })
}

/// log softmax(row)[target], accumulated in f64.
pub fn log_softmax_at(row: &[f32], target: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = row.iter().map(|&v| (v as f64 - max).exp()).sum();
    row[target] as f64 - max - sum.ln()
}
