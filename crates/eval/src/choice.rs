//! Multiple choice by log-likelihood, scored the way lm-evaluation-harness scores it:
//! context and continuation tokenized as a pair (trailing context spaces move to the
//! continuation; the continuation's tokens are what the whole adds to the context's), no BOS,
//! log-likelihood summed over continuation tokens; `acc` takes the best sum, `acc_norm` the best
//! sum per character of the choice text.

use engine::logprob::token_logprob;
use engine::KvCache;
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted, Model};
use serde::Serialize;
use tokenize::Tokenizer;

use crate::task::McTask;

#[derive(Debug, Clone, Serialize)]
pub struct DocScore {
    /// Sum of log-probs of each choice's tokens.
    pub loglik: Vec<f64>,
    /// Whether each choice's tokens were all the argmax.
    pub greedy: Vec<bool>,
    pub gold: usize,
    pub pred: usize,
    pub pred_norm: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct McResult {
    pub task: String,
    pub acc: f64,
    pub acc_norm: f64,
    pub docs: Vec<DocScore>,
}

/// (context tokens, continuation tokens) as lm-evaluation-harness splits them.
pub fn encode_pair(tok: &Tokenizer, context: &str, continuation: &str) -> Result<(Vec<u32>, Vec<u32>), tokenize::TokenizeError> {
    let trimmed = context.trim_end();
    let moved = &context[trimmed.len()..];
    let cont = format!("{moved}{continuation}");
    let whole = tok.encode(&format!("{trimmed}{cont}"), false, true)?;
    let ctx = tok.encode(trimmed, false, true)?;
    let split = ctx.len().min(whole.len());
    Ok((ctx, whole[split..].to_vec()))
}

/// Log-likelihood of `cont` after `ctx`, and whether every token was the model's top choice.
pub fn loglikelihood(model: &dyn Model, pool: &ThreadPool, ctx: &[u32], cont: &[u32]) -> Result<(f64, bool), models::ModelError> {
    let tokens: Vec<u32> = ctx.iter().chain(cont).copied().collect();
    let n = tokens.len();
    let mut kv = KvCache::new(model.config(), n + 1, n);
    let mut fc = ForwardCtx::new(pool);
    let mut logits = Vec::new();
    model.forward(&mut fc, &tokens, 0, &mut kv, LogitsWanted::All, &mut logits)?;
    let nv = model.config().n_vocab;
    let (mut sum, mut greedy) = (0.0f64, true);
    for (i, &t) in cont.iter().enumerate() {
        let row = ctx.len() + i - 1; // the row that predicts token ctx.len() + i
        let lp = token_logprob(&logits[row * nv..(row + 1) * nv], t, 1);
        sum += lp.logprob as f64;
        greedy &= lp.top[0].0 == t || lp.top[0].1 == lp.logprob;
    }
    Ok((sum, greedy))
}

fn argmax(v: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, x) in v.enumerate() {
        if x > best.1 {
            best = (i, x);
        }
    }
    best.0
}

#[derive(Debug, thiserror::Error)]
pub enum McError {
    #[error(transparent)]
    Tokenize(#[from] tokenize::TokenizeError),
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("question {0}: the context is empty after tokenizing; lm-eval-style scoring needs one token of context")]
    EmptyContext(usize),
}

pub fn evaluate(model: &dyn Model, tok: &Tokenizer, pool: &ThreadPool, task: &McTask, mut progress: impl FnMut(usize)) -> Result<McResult, McError> {
    let mut docs = Vec::with_capacity(task.docs.len());
    for (i, d) in task.docs.iter().enumerate() {
        let mut loglik = Vec::new();
        let mut greedy = Vec::new();
        for c in &d.continuations {
            let (ctx, cont) = encode_pair(tok, &d.context, c)?;
            if ctx.is_empty() {
                return Err(McError::EmptyContext(i));
            }
            let (ll, g) = loglikelihood(model, pool, &ctx, &cont)?;
            loglik.push(ll);
            greedy.push(g);
        }
        let pred = argmax(loglik.iter().copied());
        let pred_norm = argmax(loglik.iter().zip(&d.choices).map(|(l, c)| l / c.chars().count().max(1) as f64));
        docs.push(DocScore { loglik, greedy, gold: d.gold, pred, pred_norm });
        progress(i + 1);
    }
    let n = docs.len() as f64;
    let acc = docs.iter().filter(|d| d.pred == d.gold).count() as f64 / n;
    let acc_norm = docs.iter().filter(|d| d.pred_norm == d.gold).count() as f64 / n;
    Ok(McResult { task: task.name.clone(), acc, acc_norm, docs })
}
