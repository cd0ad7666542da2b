//! `agora eval [MODEL] --tasks DIR`: multiple-choice accuracy, scored like lm-evaluation-harness.

use anyhow::{Context, Result};
use eval::choice::evaluate;
use eval::task::McTask;
use indicatif::{ProgressBar, ProgressStyle};
use kernels::pool::ThreadPool;

use crate::args::EvalArgs;
use crate::settings;

pub fn run(a: &EvalArgs) -> Result<()> {
    let tasks = a.tasks.iter().map(|d| McTask::load(d).with_context(|| format!("loading the task in {}", d.display()))).collect::<Result<Vec<_>>>()?;
    let path = settings::resolve_model(a.model.as_deref(), true)?;
    super::acceptance::ensure(&path, a.accept_license)?;
    let lm = super::open_model(&path)?;
    let pool = ThreadPool::new(settings::threads(a.threads));
    let mut results = Vec::new();
    for t in &tasks {
        let bar = if a.json { ProgressBar::hidden() } else { ProgressBar::new(t.docs.len() as u64) };
        bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}").expect("template"));
        bar.set_message(t.name.clone());
        let r = evaluate(lm.model.as_ref(), &lm.tokenizer, &pool, t, |i| bar.set_position(i as u64))?;
        bar.finish_and_clear();
        results.push(r);
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    println!("{:<28} {:>6} {:>8} {:>9}", "task", "n", "acc", "acc_norm");
    for r in &results {
        println!("{:<28} {:>6} {:>8.4} {:>9.4}", r.task, r.docs.len(), r.acc, r.acc_norm);
    }
    Ok(())
}
