//! Training data: JSONL files of text, prompt/completion pairs or chat conversations, tokenized
//! with a loss mask, truncated to a maximum length, shuffled per epoch and packed into batches.

mod encode;
mod pack;
mod record;

use std::io::BufRead;
use std::path::Path;

use tokenize::chat::ChatTemplate;
use tokenize::Tokenizer;

pub use encode::{Encoder, Example};
pub use pack::{derive_seed, epoch_order, pack, splitmix64};
pub use record::Format;

use crate::{Batch, FinetuneError};

/// What loading found, for the run's report.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DataStats {
    /// Examples kept.
    pub examples: usize,
    pub tokens: usize,
    /// Tokens that carry a loss.
    pub target_tokens: usize,
    /// Examples cut to `max_len` (they are kept, shortened).
    pub truncated: usize,
    /// Line numbers (1-based) of the truncated examples, for the warning.
    pub truncated_lines: Vec<usize>,
    /// Examples left with no loss-carrying token (e.g. a prompt longer than `max_len`); dropped.
    pub dropped: usize,
}

#[derive(Clone, Debug, Default)]
pub struct Dataset {
    pub examples: Vec<Example>,
    pub format: Option<Format>,
    /// What loading found (also returned by `load`).
    pub stats: DataStats,
}

impl Dataset {
    /// Reads a JSONL file (one record per line; blank lines are skipped).
    pub fn load(
        path: &Path,
        tok: &Tokenizer,
        template: Option<&ChatTemplate>,
        max_len: usize,
    ) -> Result<(Dataset, DataStats), FinetuneError> {
        let shown = path.display().to_string();
        let data_err = |msg: String| FinetuneError::Data { path: shown.clone(), msg };
        if max_len < 2 {
            return Err(FinetuneError::Config(format!("--max-len {max_len} is too small; a training example needs at least 2 tokens")));
        }
        let file = std::fs::File::open(path).map_err(|source| FinetuneError::Io { path: shown.clone(), source })?;
        let enc = Encoder { tok, template };
        let mut format = None;
        let mut examples = Vec::new();
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let lineno = i + 1;
            let line = line.map_err(|e| data_err(format!("line {lineno}: cannot read ({e}); is the file UTF-8 text?")))?;
            // Editors on Windows may start the file with a byte-order mark.
            let line = if lineno == 1 { line.trim_start_matches('\u{feff}').to_string() } else { line };
            if line.trim().is_empty() {
                continue;
            }
            let rec = record::parse(&line, format).map_err(|m| data_err(format!("line {lineno}: {m}")))?;
            format = Some(rec.format());
            let ex = enc.encode(&rec).map_err(|m| data_err(format!("line {lineno}: {m}")))?;
            examples.push((lineno, ex));
        }
        if examples.is_empty() {
            return Err(data_err("holds no records; expected one JSON object per line".into()));
        }
        let (mut ds, stats) = Dataset::from_examples(examples, max_len);
        ds.format = format;
        if stats.target_tokens == 0 {
            return Err(data_err(format!(
                "no example has a token to learn from after truncation to {max_len} tokens; raise --max-len"
            )));
        }
        Ok((ds, stats))
    }

    /// Builds a dataset from tokenized examples tagged with their line numbers: truncates to
    /// `max_len`, drops examples with no targets, and counts both.
    pub fn from_examples(examples: Vec<(usize, Example)>, max_len: usize) -> (Dataset, DataStats) {
        let mut stats = DataStats::default();
        let mut kept = Vec::with_capacity(examples.len());
        for (line, mut ex) in examples {
            if ex.tokens.len() > max_len {
                ex.tokens.truncate(max_len);
                ex.mask.truncate(max_len);
                stats.truncated += 1;
                stats.truncated_lines.push(line);
            }
            let t = ex.n_targets();
            if t == 0 {
                stats.dropped += 1;
                continue;
            }
            stats.examples += 1;
            stats.tokens += ex.tokens.len();
            stats.target_tokens += t;
            kept.push(ex);
        }
        (Dataset { examples: kept, format: None, stats: stats.clone() }, stats)
    }

    /// The batches of one epoch: examples shuffled by (seed, epoch), then packed to `max_len`.
    pub fn epoch_batches(&self, epoch: usize, seed: u64, max_len: usize) -> Vec<Batch> {
        let order = epoch_order(self.examples.len(), epoch, seed);
        pack(order.iter().map(|&i| &self.examples[i]), max_len)
    }

    /// The batches in file order (evaluation).
    pub fn batches_in_order(&self, max_len: usize) -> Vec<Batch> {
        pack(&self.examples, max_len)
    }
}
