//! Turning raw arguments into what the commands need: a model path, a thread pool, sampling params.

use std::path::PathBuf;

use anyhow::{Context, Result};
use engine::sampler::SamplingParams;
use store::{PullOptions, Store, DEFAULT_MODEL};

use crate::args::SamplingOpts;

/// A model name, alias or path -> a file or folder to open. With `pull_default`, the default
/// model is pulled into the store on first use.
pub fn resolve_model(spec: Option<&str>, pull_default: bool) -> Result<PathBuf> {
    let store = Store::open_default().context("opening the model store ($AGORA_HOME)")?;
    let spec = spec.unwrap_or(DEFAULT_MODEL);
    if spec == DEFAULT_MODEL && pull_default && store.get(spec)?.is_none() {
        eprintln!("agora: {DEFAULT_MODEL} is not in the store yet; pulling it (one time)...");
        store.pull(spec, &PullOptions::default())?;
    }
    Ok(store.resolve(spec)?.path)
}

pub fn threads(requested: Option<usize>) -> usize {
    requested
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

pub fn sampling(o: &SamplingOpts, max_tokens: usize) -> SamplingParams {
    SamplingParams {
        temperature: o.temp,
        top_k: o.top_k,
        top_p: o.top_p,
        min_p: o.min_p,
        repeat_penalty: o.repeat_penalty,
        presence_penalty: o.presence_penalty,
        frequency_penalty: o.frequency_penalty,
        seed: o.seed,
        max_tokens: Some(max_tokens),
        stop: o.stop.clone(),
        ..SamplingParams::default()
    }
}
