//! How far a quantized model's next-token distributions drift from its base model's, measured the way
//! `llama-perplexity --kl-divergence` does: both models score the same chunks of text (BOS at each chunk
//! start, empty cache, second half of each chunk scored) and every scored position compares the two
//! full distributions. Reported: mean KL(base || quant), top-1 agreement, both perplexities, and
//! percentiles of KL and of the change in the probability of the actual next token.

use std::sync::Mutex;

use engine::KvCache;
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted, Model};
use serde::Serialize;

use crate::error::{QuantizeError, Result};

/// One scored position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TokenScore {
    /// KL(P_base || P_quant) in nats.
    pub kld: f64,
    /// log P(next token) under each model.
    pub base_logp: f64,
    pub quant_logp: f64,
    /// Both models' most likely token is the same.
    pub same_top: bool,
    /// P_quant(next) - P_base(next).
    pub delta_p: f64,
}

/// log-softmax of a logit row in f64, plus the index of the largest logit (first one on ties).
fn log_softmax(row: &[f32], out: &mut Vec<f64>) -> usize {
    let (mut arg, mut max) = (0usize, f32::NEG_INFINITY);
    for (i, &v) in row.iter().enumerate() {
        if v > max {
            max = v;
            arg = i;
        }
    }
    let max = max as f64;
    let lse = row.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln() + max;
    out.clear();
    out.extend(row.iter().map(|&v| v as f64 - lse));
    arg
}

/// Compares two logit rows over the same vocabulary; `target` is the token that actually came next.
pub fn score_row(base: &[f32], quant: &[f32], target: usize) -> TokenScore {
    let (mut lb, mut lq) = (Vec::new(), Vec::new());
    score_row_with(base, quant, target, &mut lb, &mut lq)
}

fn score_row_with(base: &[f32], quant: &[f32], target: usize, lb: &mut Vec<f64>, lq: &mut Vec<f64>) -> TokenScore {
    assert_eq!(base.len(), quant.len(), "logit rows of different vocabularies");
    let top_b = log_softmax(base, lb);
    let top_q = log_softmax(quant, lq);
    let kld: f64 = lb.iter().zip(lq.iter()).map(|(&b, &q)| b.exp() * (b - q)).sum();
    TokenScore {
        // Rounding can make a near-zero sum slightly negative; KL is never below 0.
        kld: kld.max(0.0),
        base_logp: lb[target],
        quant_logp: lq[target],
        same_top: top_b == top_q,
        delta_p: lq[target].exp() - lb[target].exp(),
    }
}

/// Value at fraction `p` (0..=1) of sorted data, interpolating linearly between neighbours.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let x = p.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (x - lo as f64)
}

fn mean_stderr(v: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = v.clone().count() as f64;
    if n == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.clone().sum::<f64>() / n;
    let var = v.map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    let se = if n > 1.0 { (var / (n - 1.0)).sqrt() } else { 0.0 };
    (mean, se)
}

#[derive(Clone, Debug, Serialize)]
pub struct Percentiles {
    pub max: f64,
    pub p99_9: f64,
    pub p99: f64,
    pub p95: f64,
    pub p90: f64,
    pub median: f64,
    pub p10: f64,
    pub p5: f64,
    pub p1: f64,
    pub p0_1: f64,
    pub min: f64,
}

impl Percentiles {
    fn of(mut v: Vec<f64>) -> Percentiles {
        v.sort_by(f64::total_cmp);
        let p = |q| percentile(&v, q);
        Percentiles {
            max: p(1.0),
            p99_9: p(0.999),
            p99: p(0.99),
            p95: p(0.95),
            p90: p(0.90),
            median: p(0.5),
            p10: p(0.10),
            p5: p(0.05),
            p1: p(0.01),
            p0_1: p(0.001),
            min: p(0.0),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct KldReport {
    pub n_ctx: usize,
    pub n_chunks: usize,
    pub scored_tokens: usize,
    pub ppl_base: f64,
    pub ppl_quant: f64,
    /// PPL(quant) - PPL(base).
    pub ppl_delta: f64,
    /// Mean of ln P_base(next) - ln P_quant(next) = ln(PPL(quant)/PPL(base)), and its standard error.
    pub ln_ppl_ratio: f64,
    pub ln_ppl_ratio_stderr: f64,
    /// Correlation of the two models' per-token log-probabilities.
    pub logp_correlation: f64,
    pub kld_mean: f64,
    pub kld_stderr: f64,
    pub kld: Percentiles,
    /// Fraction of positions where both models rank the same token first.
    pub top1_agreement: f64,
    pub top1_stderr: f64,
    pub delta_p_mean: f64,
    pub delta_p_rms: f64,
    pub delta_p: Percentiles,
}

impl KldReport {
    pub fn from_scores(scores: &[TokenScore], n_ctx: usize, n_chunks: usize) -> Result<KldReport> {
        if scores.is_empty() {
            return Err(QuantizeError::Invalid("no positions were scored".into()));
        }
        let n = scores.len() as f64;
        let nll_b = -scores.iter().map(|s| s.base_logp).sum::<f64>() / n;
        let nll_q = -scores.iter().map(|s| s.quant_logp).sum::<f64>() / n;
        let (ln_ratio, ln_ratio_se) = mean_stderr(scores.iter().map(|s| s.base_logp - s.quant_logp));
        let (kld_mean, kld_se) = mean_stderr(scores.iter().map(|s| s.kld));
        let top1 = scores.iter().filter(|s| s.same_top).count() as f64 / n;
        let (dp_mean, _) = mean_stderr(scores.iter().map(|s| s.delta_p));
        let dp_rms = (scores.iter().map(|s| s.delta_p * s.delta_p).sum::<f64>() / n).sqrt();
        let (mb, mq) = (-nll_b, -nll_q);
        let cov: f64 = scores.iter().map(|s| (s.base_logp - mb) * (s.quant_logp - mq)).sum();
        let vb: f64 = scores.iter().map(|s| (s.base_logp - mb).powi(2)).sum();
        let vq: f64 = scores.iter().map(|s| (s.quant_logp - mq).powi(2)).sum();
        Ok(KldReport {
            n_ctx,
            n_chunks,
            scored_tokens: scores.len(),
            ppl_base: nll_b.exp(),
            ppl_quant: nll_q.exp(),
            ppl_delta: nll_q.exp() - nll_b.exp(),
            ln_ppl_ratio: ln_ratio,
            ln_ppl_ratio_stderr: ln_ratio_se,
            logp_correlation: cov / (vb * vq).sqrt(),
            kld_mean,
            kld_stderr: kld_se,
            kld: Percentiles::of(scores.iter().map(|s| s.kld).collect()),
            top1_agreement: top1,
            top1_stderr: if n > 1.0 { (top1 * (1.0 - top1) / (n - 1.0)).sqrt() } else { 0.0 },
            delta_p_mean: dp_mean,
            delta_p_rms: dp_rms,
            delta_p: Percentiles::of(scores.iter().map(|s| s.delta_p).collect()),
        })
    }
}

/// Scores `tokens` (the text tokenized with BOS) with both models in `n_ctx` chunks.
/// `on_chunk(done, total)` is called after each chunk.
pub fn kl_divergence(
    base: &dyn Model,
    quant: &dyn Model,
    pool: &ThreadPool,
    tokens: &[u32],
    n_ctx: usize,
    bos: Option<u32>,
    on_chunk: &mut dyn FnMut(usize, usize),
) -> Result<KldReport> {
    let n_vocab = base.config().n_vocab;
    if quant.config().n_vocab != n_vocab {
        return Err(QuantizeError::Invalid(format!(
            "the models have different vocabularies ({} and {} tokens); compare a model with a quantization of itself",
            n_vocab,
            quant.config().n_vocab
        )));
    }
    let n_chunks = tokens.len() / n_ctx.max(1);
    if n_chunks == 0 || n_ctx < 4 {
        return Err(QuantizeError::Invalid(format!(
            "KL divergence needs at least one chunk of {n_ctx} tokens, the text has {}; use a longer file or a smaller --ctx",
            tokens.len()
        )));
    }
    let first = n_ctx / 2;
    let mut ctx = ForwardCtx::new(pool);
    let mut kv_b = KvCache::new(base.config(), n_ctx, n_ctx);
    let mut kv_q = KvCache::new(quant.config(), n_ctx, n_ctx);
    let (mut lb, mut lq) = (Vec::new(), Vec::new());
    let mut scores = Vec::with_capacity(n_chunks * (n_ctx - first));
    let mut chunk = vec![0u32; n_ctx];
    for c in 0..n_chunks {
        chunk.copy_from_slice(&tokens[c * n_ctx..(c + 1) * n_ctx]);
        if let Some(b) = bos {
            chunk[0] = b;
        }
        kv_b.clear();
        kv_q.clear();
        base.forward(&mut ctx, &chunk, 0, &mut kv_b, LogitsWanted::From(first), &mut lb)?;
        quant.forward(&mut ctx, &chunk, 0, &mut kv_q, LogitsWanted::From(first), &mut lq)?;
        scores.extend(score_rows(pool, &lb, &lq, &chunk[first + 1..], n_vocab));
        on_chunk(c + 1, n_chunks);
    }
    KldReport::from_scores(&scores, n_ctx, n_chunks)
}

/// Rows j = 0.. of both logit blocks against `targets[j]`, spread over the pool.
fn score_rows(pool: &ThreadPool, lb: &[f32], lq: &[f32], targets: &[u32], n_vocab: usize) -> Vec<TokenScore> {
    let results = Mutex::new(Vec::with_capacity(targets.len()));
    pool.run(&|i, n| {
        let (mut bufb, mut bufq) = (Vec::new(), Vec::new());
        let mut mine = Vec::new();
        for (j, &t) in targets.iter().enumerate().skip(i).step_by(n) {
            let row = j * n_vocab..(j + 1) * n_vocab;
            mine.push((j, score_row_with(&lb[row.clone()], &lq[row], t as usize, &mut bufb, &mut bufq)));
        }
        results.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
    });
    let mut v = results.into_inner().unwrap_or_else(|e| e.into_inner());
    v.sort_by_key(|&(j, _)| j);
    v.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_rows_have_zero_divergence() {
        let row = [0.5f32, -1.0, 2.0, 0.0];
        let s = score_row(&row, &row, 2);
        assert_eq!(s.kld, 0.0);
        assert!(s.same_top);
        assert_eq!(s.delta_p, 0.0);
        assert_eq!(s.base_logp, s.quant_logp);
    }

    #[test]
    fn hand_computed_two_token_example() {
        // base p = (1/4, 3/4), quant q = (1/2, 1/2):
        // KL = 1/4 ln(1/2) + 3/4 ln(3/2) = 0.130812035...
        let base = [0.0f32, 3f32.ln()];
        let quant = [0.0f32, 0.0];
        let s = score_row(&base, &quant, 1);
        let expect = 0.25 * (0.25f64 / 0.5).ln() + 0.75 * (0.75f64 / 0.5).ln();
        assert!((expect - 0.130_812_035).abs() < 1e-8);
        assert!((s.kld - expect).abs() < 1e-7, "{} vs {expect}", s.kld);
        assert!((s.base_logp - 0.75f64.ln()).abs() < 1e-7);
        assert!((s.quant_logp - 0.5f64.ln()).abs() < 1e-12);
        assert!((s.delta_p + 0.25).abs() < 1e-7);
        // base ranks token 1 first; quant ties and takes the first, token 0.
        assert!(!s.same_top);
    }

    #[test]
    fn divergence_is_shift_invariant_and_asymmetric() {
        let base = [1.0f32, 2.0, 3.0];
        let quant = [3.0f32, 2.0, 1.0];
        let shifted: Vec<f32> = quant.iter().map(|v| v + 100.0).collect();
        let a = score_row(&base, &quant, 0);
        let b = score_row(&base, &shifted, 0);
        assert!((a.kld - b.kld).abs() < 1e-9);
        // Three tokens p = softmax(1,2,3), q = its reverse: KL = sum p ln(p/q) = (p3 - p1) * 2.
        let z = 1f64.exp() + 2f64.exp() + 3f64.exp();
        let expect = 2.0 * (3f64.exp() - 1f64.exp()) / z;
        assert!((a.kld - expect).abs() < 1e-6, "{} vs {expect}", a.kld);
        let base2 = [1.0f32, 2.0, 3.0];
        let quant2 = [1.0f32, 1.0, 3.0];
        let fwd = score_row(&base2, &quant2, 0).kld;
        let back = score_row(&quant2, &base2, 0).kld;
        assert!((fwd - back).abs() > 1e-4, "KL is not symmetric: {fwd} {back}");
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert_eq!(percentile(&v, 0.25), 2.0);
        assert_eq!(percentile(&v, 0.1), 1.4);
        assert_eq!(percentile(&v, 1.0), 5.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
    }

    #[test]
    fn report_aggregates_scores() {
        let s = |kld, b: f64, q: f64, same| TokenScore {
            kld,
            base_logp: b.ln(),
            quant_logp: q.ln(),
            same_top: same,
            delta_p: q - b,
        };
        let scores = [s(0.1, 0.5, 0.25, true), s(0.3, 0.5, 0.5, false)];
        let r = KldReport::from_scores(&scores, 8, 1).unwrap();
        assert!((r.kld_mean - 0.2).abs() < 1e-12);
        // stderr of (0.1, 0.3): population var 0.01, /(n-1) -> 0.01, sqrt -> 0.1.
        assert!((r.kld_stderr - 0.1).abs() < 1e-12);
        assert_eq!(r.top1_agreement, 0.5);
        assert!((r.ppl_base - 2.0).abs() < 1e-12);
        // quant nll = -(ln 1/4 + ln 1/2)/2 = 1.5 ln 2 -> ppl 2^1.5.
        assert!((r.ppl_quant - 2f64.powf(1.5)).abs() < 1e-12);
        assert!((r.ln_ppl_ratio - 0.5 * 2f64.ln()).abs() < 1e-12);
        assert!((r.delta_p_mean + 0.125).abs() < 1e-12);
        assert!((r.delta_p_rms - (0.25f64 * 0.25 / 2.0).sqrt()).abs() < 1e-12);
        assert_eq!(r.kld.max, 0.3);
        assert!(KldReport::from_scores(&[], 8, 1).is_err());
    }
}
