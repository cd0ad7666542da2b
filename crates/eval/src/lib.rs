//! Evaluation: perplexity and multiple-choice tasks (lm-evaluation-harness compatible),
//! generation tasks, bias suites (paired sentences, counterfactual generations), a safety
//! suite, the statistics behind them, and reports (table, JSON, HTML, HF `model-index`).

pub mod bias;
pub mod choice;
pub mod csv;
pub mod gen;
pub mod lm;
pub mod perplexity;
pub mod report;
pub mod safety;
pub mod stats;
pub mod suite;
pub mod task;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{path}: {reason}")]
    Bad { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Task(#[from] task::TaskError),
    #[error(transparent)]
    Mc(#[from] choice::McError),
    #[error(transparent)]
    Tokenize(#[from] tokenize::TokenizeError),
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

impl EvalError {
    pub fn bad(path: &std::path::Path, reason: impl Into<String>) -> Self {
        EvalError::Bad { path: path.to_path_buf(), reason: reason.into() }
    }
}
