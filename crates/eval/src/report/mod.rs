//! Reports: the runs of one or more models on the same tasks, as a text table, JSON, a
//! self-contained HTML page (`html`), and the Hugging Face `model-index` value for a card.

pub mod html;
pub mod metrics;

use serde::Serialize;
use serde_json::{json, Value};

use crate::suite::TaskResult;
pub use metrics::{bars, headline, Bar, Chart, Metric};

/// One model's results.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// The name shown (store name or file stem).
    pub model: String,
    pub path: String,
    /// How generation suites framed prompts: "chat_template" or "transcript" (see `lm`).
    pub prompt_format: String,
    pub results: Vec<TaskResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Bumped when the JSON layout changes.
    pub schema: u32,
    pub runs: Vec<Run>,
}

impl Report {
    pub fn new(runs: Vec<Run>) -> Self {
        Report { schema: 1, runs }
    }

    /// A fixed-width table: one row per (task, metric), one column per model.
    pub fn table(&self) -> String {
        let mut out = format!("{:<28} {:<34}", "task", "metric");
        for r in &self.runs {
            out += &format!(" {:>24}", truncate(&r.model, 24));
        }
        out.push('\n');
        let Some(first) = self.runs.first() else { return out };
        for (ti, t) in first.results.iter().enumerate() {
            for (mi, m) in headline(t).iter().enumerate() {
                out += &format!("{:<28} {:<34}", if mi == 0 { truncate(t.task(), 28) } else { String::new() }, truncate(&m.name, 34));
                for r in &self.runs {
                    let cell = r.results.get(ti).and_then(|x| headline(x).into_iter().find(|y| y.name == m.name)).map_or("-".to_string(), |y| y.cell());
                    out += &format!(" {cell:>24}");
                }
                out.push('\n');
            }
        }
        out
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "~"
    }
}

/// The `model-index` value of a Hugging Face model card for one run: one entry per task with
/// its headline metrics (`card::set_model_index(readme, &value)` writes it into the card).
pub fn model_index(run: &Run) -> Value {
    let results: Vec<Value> = run
        .results
        .iter()
        .map(|t| {
            let metrics: Vec<Value> = headline(t).iter().map(|m| json!({"type": m.id, "name": m.name, "value": round6(m.value)})).collect();
            json!({
                "task": {"type": "text-generation", "name": kind_name(t)},
                "dataset": {"type": t.task(), "name": t.task()},
                "metrics": metrics,
            })
        })
        .collect();
    json!([{"name": run.model, "results": results}])
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn kind_name(t: &TaskResult) -> &'static str {
    match t {
        TaskResult::MultipleChoice(_) => "Multiple choice",
        TaskResult::Generation(_) => "Generation",
        TaskResult::CrowsPairs(_) => "Bias (paired sentences)",
        TaskResult::Counterfactual(_) => "Bias (counterfactual generation)",
        TaskResult::Safety(_) => "Safety (red-team refusals)",
    }
}

/// Writes `data` to `path` through a temporary file in the same folder and a rename, so a
/// reader never sees half a report.
pub fn write_atomic(path: &std::path::Path, data: &[u8]) -> Result<(), crate::EvalError> {
    let err = |source| crate::EvalError::Write { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().ok_or_else(|| err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name")))?;
    let tmp = dir.join(format!(".{}.tmp{}", name.to_string_lossy(), std::process::id()));
    std::fs::write(&tmp, data).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}
