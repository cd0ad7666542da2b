//! Collecting an importance matrix the way `llama-imatrix` does: the text is cut into chunks of
//! `n_ctx` tokens (BOS first, empty cache each), each chunk runs through the model once, and every
//! matmul with a per-layer weight (`blk.*`) adds the squares of its input activations per input
//! column, plus the number of tokens it saw. Experts of a stacked MoE tensor are kept apart: each
//! counts only the tokens routed to it. The second half of each chunk is scored, for a perplexity
//! to show while it runs.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use engine::KvCache;
use kernels::pool::ThreadPool;
use models::observe::{with_observer, MatmulObserver};
use models::{ForwardCtx, LogitsWanted, Model};
use serde::Serialize;

use super::file::{Entry, Format, Imatrix};
use crate::error::{QuantizeError, Result};

#[derive(Clone, Debug)]
pub struct CollectOptions {
    /// Tokens per chunk (llama-imatrix's `-c`, default 512).
    pub n_ctx: usize,
    /// Stop after this many chunks (all the text allows when `None`).
    pub max_chunks: Option<usize>,
    /// Also collect `output.weight` (llama-imatrix's `--process-output`).
    pub process_output: bool,
    /// Recorded in the file as the dataset (llama-imatrix records the text file's path as given).
    pub dataset: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CollectReport {
    pub n_ctx: usize,
    pub n_chunks: usize,
    pub n_tokens_text: usize,
    pub n_entries: usize,
    /// Perplexity over the second halves of the chunks.
    pub ppl: f64,
}

struct Stat {
    sums: Vec<f32>,
    counts: Vec<u64>,
}

/// The matmul observer: sums of squares per (weight, matrix, column).
struct Collector {
    /// Stacked expert tensor -> number of experts (from the model's own tensor shapes).
    n_experts: HashMap<String, usize>,
    process_output: bool,
    stats: RefCell<HashMap<String, Stat>>,
    problem: RefCell<Option<String>>,
}

impl Collector {
    fn fail(&self, msg: String) {
        self.problem.borrow_mut().get_or_insert(msg);
    }
}

/// `"blk.0.ffn_up_exps.weight[3]"` -> `("blk.0.ffn_up_exps.weight", Some(3))`.
fn split_expert(name: &str) -> (&str, Option<usize>) {
    if let Some(open) = name.strip_suffix(']').and_then(|s| s.rfind('[')) {
        if let Ok(e) = name[open + 1..name.len() - 1].parse() {
            return (&name[..open], Some(e));
        }
    }
    (name, None)
}

impl MatmulObserver for Collector {
    fn on_matmul(&self, weight: &str, x: &[f32], m: usize, cols: usize) {
        let (base, expert) = split_expert(weight);
        if !(base.starts_with("blk.") || (self.process_output && base == "output.weight")) {
            return;
        }
        let (n_mat, mat) = match expert {
            Some(e) => match self.n_experts.get(base) {
                Some(&n) if e < n => (n, e),
                _ => return self.fail(format!("matmul with '{weight}', an expert the model file does not declare")),
            },
            None => (1, 0),
        };
        let mut stats = self.stats.borrow_mut();
        let st = stats
            .entry(base.to_string())
            .or_insert_with(|| Stat { sums: vec![0.0; n_mat * cols], counts: vec![0; n_mat] });
        if st.sums.len() != n_mat * cols {
            drop(stats);
            return self.fail(format!("'{base}' was multiplied with inputs of {cols} columns, earlier with another width"));
        }
        let acc = &mut st.sums[mat * cols..(mat + 1) * cols];
        for row in x[..m * cols].chunks_exact(cols) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v * v;
            }
        }
        st.counts[mat] += m as u64;
        if !acc.iter().all(|v| v.is_finite()) {
            drop(stats);
            self.fail(format!("non-finite activations reached '{base}'; the model or its input is damaged"));
        }
    }
}

/// Runs `tokens` (the text tokenized with BOS) through `model` and returns the importance matrix.
/// `stacked_experts`: each stacked MoE tensor of the model file and its expert count.
/// `on_chunk(done, total, ppl_so_far)` is called after each chunk.
pub fn collect(
    model: &dyn Model,
    pool: &ThreadPool,
    tokens: &[u32],
    bos: Option<u32>,
    stacked_experts: HashMap<String, usize>,
    opts: &CollectOptions,
    on_chunk: &mut dyn FnMut(usize, usize, f64),
) -> Result<(Imatrix, CollectReport)> {
    let n_ctx = opts.n_ctx;
    if n_ctx < 16 {
        return Err(QuantizeError::Invalid(format!("a context of {n_ctx} tokens is too small; use at least 16 (llama-imatrix uses 512)")));
    }
    if tokens.len() < 2 * n_ctx {
        return Err(QuantizeError::Invalid(format!(
            "the text has {} tokens; an importance matrix needs at least 2 x {n_ctx} (two chunks); use a longer text or a smaller context",
            tokens.len()
        )));
    }
    let mut n_chunks = tokens.len() / n_ctx;
    if let Some(max) = opts.max_chunks {
        if max == 0 {
            return Err(QuantizeError::Invalid("--chunks 0 collects nothing; give at least 1".into()));
        }
        n_chunks = n_chunks.min(max);
    }
    let collector = Rc::new(Collector {
        n_experts: stacked_experts,
        process_output: opts.process_output,
        stats: RefCell::new(HashMap::new()),
        problem: RefCell::new(None),
    });
    let n_vocab = model.config().n_vocab;
    let first = n_ctx / 2;
    let mut ctx = ForwardCtx::new(pool);
    let mut kv = KvCache::new(model.config(), n_ctx, n_ctx);
    let mut logits = Vec::new();
    let mut chunk = vec![0u32; n_ctx];
    let (mut nll, mut scored) = (0.0f64, 0usize);
    for c in 0..n_chunks {
        chunk.copy_from_slice(&tokens[c * n_ctx..(c + 1) * n_ctx]);
        if let Some(b) = bos {
            chunk[0] = b;
        }
        kv.clear();
        let obs: Rc<dyn MatmulObserver> = collector.clone();
        // llama-imatrix computes every position's logits; they matter only when the head is collected.
        let want = if opts.process_output { LogitsWanted::All } else { LogitsWanted::From(first) };
        with_observer(obs, || model.forward(&mut ctx, &chunk, 0, &mut kv, want, &mut logits))?;
        let skip = if opts.process_output { first } else { 0 };
        if let Some(p) = collector.problem.borrow_mut().take() {
            return Err(QuantizeError::Invalid(p));
        }
        for (i, row) in logits.chunks_exact(n_vocab).skip(skip).take(n_ctx - 1 - first).enumerate() {
            nll -= log_prob(row, chunk[first + i + 1] as usize);
            scored += 1;
        }
        on_chunk(c + 1, n_chunks, (nll / scored.max(1) as f64).exp());
    }
    let stats = std::mem::take(&mut *collector.stats.borrow_mut());
    let entries: BTreeMap<String, Entry> =
        stats.into_iter().map(|(k, s)| (k, Entry { sums: s.sums, counts: s.counts })).collect();
    if entries.is_empty() {
        return Err(QuantizeError::Invalid("the model made no matmul with a per-layer weight; nothing to collect".into()));
    }
    let report = CollectReport {
        n_ctx,
        n_chunks,
        n_tokens_text: tokens.len(),
        n_entries: entries.len(),
        ppl: (nll / scored.max(1) as f64).exp(),
    };
    let m = Imatrix {
        entries,
        datasets: vec![opts.dataset.clone()],
        chunk_count: n_chunks as u32,
        chunk_size: n_ctx as u32,
        format: Format::Gguf,
    };
    Ok((m, report))
}

fn log_prob(row: &[f32], target: usize) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = row.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln() + max;
    row[target] as f64 - lse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expert_names_split() {
        assert_eq!(split_expert("blk.0.ffn_up_exps.weight[3]"), ("blk.0.ffn_up_exps.weight", Some(3)));
        assert_eq!(split_expert("blk.0.attn_q.weight"), ("blk.0.attn_q.weight", None));
        assert_eq!(split_expert("odd[x]"), ("odd[x]", None));
    }

    #[test]
    fn squares_and_counts_accumulate_per_expert() {
        let c = Collector {
            n_experts: HashMap::from([("blk.0.e.weight".to_string(), 2)]),
            process_output: false,
            stats: RefCell::new(HashMap::new()),
            problem: RefCell::new(None),
        };
        c.on_matmul("blk.0.q.weight", &[1.0, 2.0, 3.0, 4.0], 2, 2);
        c.on_matmul("blk.0.e.weight[1]", &[2.0, -1.0], 1, 2);
        c.on_matmul("output.weight", &[5.0, 5.0], 1, 2);
        let s = c.stats.borrow();
        assert_eq!(s["blk.0.q.weight"].sums, vec![10.0, 20.0]);
        assert_eq!(s["blk.0.q.weight"].counts, vec![2]);
        assert_eq!(s["blk.0.e.weight"].sums, vec![0.0, 0.0, 4.0, 1.0]);
        assert_eq!(s["blk.0.e.weight"].counts, vec![0, 1]);
        assert!(!s.contains_key("output.weight"));
        drop(s);
        c.on_matmul("blk.0.e.weight[2]", &[1.0, 1.0], 1, 2);
        assert!(c.problem.borrow().as_ref().unwrap().contains("does not declare"));
    }
}
