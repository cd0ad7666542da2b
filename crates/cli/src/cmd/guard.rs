//! `agora serve --guard POLICY`: the policy loaded, its audit log opened, and its judge model
//! (when the policy names one) loaded and run greedily by Agora itself.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use engine::sampler::SamplingParams;
use engine::{LoadedModel, Session};
use kernels::pool::ThreadPool;
use safety::{AuditLog, Guard, Judge, Policy};

use crate::settings;

/// Context of the judge's session: the policy prompt plus the message must fit.
const JUDGE_CTX: usize = 2048;

pub fn build(spec: Option<&str>, log: Option<&Path>, threads: usize) -> Result<Option<Arc<Guard>>> {
    let Some(spec) = spec else { return Ok(None) };
    let policy = Policy::load(spec)?;
    let path = match (log, &policy.audit.path) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(p)) => p.clone(),
        (None, None) => default_log()?,
    };
    let audit = AuditLog::open(&path, policy.audit.max_bytes, policy.audit.keep)?;
    let judge = match &policy.judge {
        None => None,
        Some(cfg) => {
            let model_path = settings::resolve_model(Some(&cfg.model), false).with_context(|| format!("the guard's judge model '{}'", cfg.model))?;
            let lm = super::open_model_ctx(&model_path, JUDGE_CTX)?;
            Some(Arc::new(ModelJudge { lm, pool: Mutex::new(ThreadPool::new(threads)) }) as Arc<dyn Judge>)
        }
    };
    Ok(Some(Arc::new(Guard::new(policy, audit, judge)?)))
}

fn default_log() -> Result<PathBuf> {
    let store = store::Store::open_default().context("opening $AGORA_HOME for the guard's audit log (or pass --guard-log)")?;
    Ok(store.root().join("logs").join("guard-audit.jsonl"))
}

/// A model answering the judge prompt greedily; one question at a time.
struct ModelJudge {
    lm: LoadedModel,
    pool: Mutex<ThreadPool>,
}

impl Judge for ModelJudge {
    fn answer(&self, prompt: &str, max_tokens: usize) -> std::result::Result<String, String> {
        let ids = self.lm.tokenizer.encode(prompt, true, true).map_err(|e| e.to_string())?;
        let pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        let mut session = Session::new(self.lm.model.as_ref(), &pool, JUDGE_CTX);
        let params = SamplingParams { max_tokens: Some(max_tokens), ..SamplingParams::greedy() };
        let g = session.generate(&self.lm.tokenizer, &ids, &params, &mut |_| true).map_err(|e| format!("the judge model failed: {e}"))?;
        Ok(g.text)
    }
}
