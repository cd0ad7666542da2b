//! Any task folder, loaded and run: an lm-evaluation-harness task (`task.yaml` with
//! `output_type`), or one of Agora's suites (`suite.yaml` with `kind`: crows_pairs,
//! counterfactual or safety). See tasks/README.md for the formats.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::bias::counterfactual::{self, CounterfactualResult, Spec};
use crate::bias::pairs::{self, Pair, PairsResult};
use crate::choice::McResult;
use crate::gen::{GenResult, GenTask};
use crate::lm::Lm;
use crate::safety::{self, Case, SafetyResult};
use crate::task::McTask;
use crate::EvalError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteYaml {
    kind: String,
    name: String,
    data: PathBuf,
    max_tokens: Option<usize>,
    #[allow(dead_code)]
    description: Option<String>,
}

pub enum Suite {
    MultipleChoice(McTask),
    Generation(GenTask),
    CrowsPairs { name: String, pairs: Vec<Pair> },
    Counterfactual { name: String, spec: Spec },
    Safety { name: String, cases: Vec<Case>, max_tokens: usize },
}

/// One task's result; `kind` tags it in JSON.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskResult {
    MultipleChoice(McResult),
    Generation(GenResult),
    CrowsPairs(PairsResult),
    Counterfactual(CounterfactualResult),
    Safety(SafetyResult),
}

impl TaskResult {
    pub fn task(&self) -> &str {
        match self {
            TaskResult::MultipleChoice(r) => &r.task,
            TaskResult::Generation(r) => &r.task,
            TaskResult::CrowsPairs(r) => &r.task,
            TaskResult::Counterfactual(r) => &r.task,
            TaskResult::Safety(r) => &r.task,
        }
    }
}

impl Suite {
    pub fn load(dir: &Path) -> Result<Suite, EvalError> {
        let suite = dir.join("suite.yaml");
        if !suite.is_file() {
            let text = std::fs::read_to_string(dir.join("task.yaml")).unwrap_or_default();
            let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_default();
            if matches!(doc.get("output_type").and_then(|v| v.as_str()), Some("generate_until" | "loglikelihood_rolling")) {
                return Ok(Suite::Generation(GenTask::load(dir)?));
            }
            return Ok(Suite::MultipleChoice(McTask::load(dir)?));
        }
        let text = std::fs::read_to_string(&suite).map_err(|e| EvalError::bad(&suite, e.to_string()))?;
        let s: SuiteYaml = serde_yaml::from_str(&text).map_err(|e| EvalError::bad(&suite, e.to_string()))?;
        let data = dir.join(&s.data);
        Ok(match s.kind.as_str() {
            "crows_pairs" => Suite::CrowsPairs { name: s.name, pairs: pairs::load(&data)? },
            "counterfactual" => {
                let t = std::fs::read_to_string(&data).map_err(|e| EvalError::bad(&data, e.to_string()))?;
                let spec: Spec = serde_yaml::from_str(&t).map_err(|e| EvalError::bad(&data, e.to_string()))?;
                spec.validate().map_err(|e| EvalError::bad(&data, e))?;
                Suite::Counterfactual { name: s.name, spec }
            }
            "safety" => Suite::Safety { name: s.name, cases: safety::load(&data)?, max_tokens: s.max_tokens.unwrap_or(48) },
            other => return Err(EvalError::bad(&suite, format!("kind '{other}' is unknown; use crows_pairs, counterfactual or safety"))),
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Suite::MultipleChoice(t) => &t.name,
            Suite::Generation(t) => &t.name,
            Suite::CrowsPairs { name, .. } | Suite::Counterfactual { name, .. } | Suite::Safety { name, .. } => name,
        }
    }

    /// Units of work, for a progress bar.
    pub fn len(&self) -> usize {
        match self {
            Suite::MultipleChoice(t) => t.docs.len(),
            Suite::Generation(t) => t.docs.len(),
            Suite::CrowsPairs { pairs, .. } => pairs.len(),
            Suite::Counterfactual { spec, .. } => spec.templates.iter().map(|t| spec.attributes[&t.attribute].values().map(Vec::len).sum::<usize>() * spec.samples).sum(),
            Suite::Safety { cases, .. } => cases.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `judge`: the safety suite's optional judge model and its name.
    pub fn run(&self, lm: &Lm, judge: Option<(&Lm, String)>, mut progress: impl FnMut(usize)) -> Result<TaskResult, EvalError> {
        Ok(match self {
            Suite::MultipleChoice(t) => TaskResult::MultipleChoice(crate::choice::evaluate(lm.lm.model.as_ref(), &lm.lm.tokenizer, lm.pool, t, progress)?),
            Suite::Generation(t) => TaskResult::Generation(crate::gen::run(lm, t, progress)?),
            Suite::CrowsPairs { name, pairs } => TaskResult::CrowsPairs(pairs::score(lm, name, pairs, progress)?),
            Suite::Counterfactual { name, spec } => TaskResult::Counterfactual(counterfactual::run(lm, name, spec, |i, _| progress(i))?),
            Suite::Safety { name, cases, max_tokens } => TaskResult::Safety(safety::run(lm, judge, name, cases, *max_tokens, progress)?),
        })
    }
}
