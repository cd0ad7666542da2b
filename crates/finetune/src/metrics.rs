//! The run's metrics: one JSON object per optimizer step (and per evaluation) in `metrics.jsonl`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::FinetuneError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainRow {
    /// 1-based optimizer step.
    pub step: usize,
    pub epoch: usize,
    /// Mean loss per target token over the step's batches (nats).
    pub loss: f64,
    pub lr: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    /// Tokens processed in this step (all positions, not only targets).
    pub tokens: usize,
    pub tokens_per_s: f64,
    pub elapsed_s: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    /// The optimizer step after which the evaluation ran.
    pub step: usize,
    pub epoch: usize,
    pub eval_loss: f64,
    pub eval_tokens: usize,
    pub elapsed_s: f64,
}

/// Training and evaluation rows share the file; `eval_loss` tells them apart.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricRow {
    Train(TrainRow),
    Eval(EvalRow),
}

/// Writes `rows` as JSON lines, atomically.
pub fn write_jsonl(path: &Path, rows: &[MetricRow]) -> Result<(), FinetuneError> {
    let mut out = Vec::new();
    for r in rows {
        serde_json::to_writer(&mut out, r).expect("metric rows serialize");
        out.push(b'\n');
    }
    write_atomic(path, &out)
}

/// Reads a `metrics.jsonl` back.
pub fn read_jsonl(path: &Path) -> Result<Vec<MetricRow>, FinetuneError> {
    let text = std::fs::read_to_string(path).map_err(|source| FinetuneError::Io { path: path.display().to_string(), source })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| FinetuneError::Data {
                path: path.display().to_string(),
                msg: format!("line {}: not a metrics row ({e})", i + 1),
            })
        })
        .collect()
}

/// Writes `bytes` to a temp file beside `path`, syncs it, and renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FinetuneError> {
    Ok(weights::write_atomic(path, bytes)?)
}
