//! Multiple-choice tasks as data, in the subset of lm-evaluation-harness's task YAML that both
//! tools read, so one folder runs in `agora eval` and in `lm_eval --include_path`:
//!
//! ```yaml
//! task: capitals
//! dataset_path: json
//! dataset_kwargs: {data_files: {test: test.jsonl}}
//! test_split: test
//! output_type: multiple_choice
//! doc_to_text: "Question: {{question}}\nAnswer:"
//! doc_to_choice: choices        # a field holding the list of answers
//! doc_to_target: answer         # a field holding the index of the right one
//! ```
//! `data_files` paths are relative to the task folder (run lm_eval from that folder).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{path}: {reason}")]
    Bad { path: PathBuf, reason: String },
}

#[derive(Deserialize)]
struct TaskYaml {
    task: String,
    output_type: String,
    dataset_kwargs: DatasetKwargs,
    test_split: Option<String>,
    doc_to_text: String,
    doc_to_choice: String,
    doc_to_target: String,
    #[serde(default = "space")]
    target_delimiter: String,
}

fn space() -> String {
    " ".into()
}

#[derive(Deserialize)]
struct DatasetKwargs {
    data_files: HashMap<String, String>,
}

/// One question: the prompt and its candidate continuations.
#[derive(Debug, Clone)]
pub struct McDoc {
    pub context: String,
    /// Continuations as scored (delimiter included), and the bare choice texts.
    pub continuations: Vec<String>,
    pub choices: Vec<String>,
    pub gold: usize,
}

#[derive(Debug, Clone)]
pub struct McTask {
    pub name: String,
    pub docs: Vec<McDoc>,
}

impl McTask {
    /// Reads `dir/task.yaml` (or the only `*.yaml` in `dir`) and its JSONL examples.
    pub fn load(dir: &Path) -> Result<McTask, TaskError> {
        let yaml_path = find_yaml(dir)?;
        let bad = |p: &Path, reason: String| TaskError::Bad { path: p.to_path_buf(), reason };
        let text = std::fs::read_to_string(&yaml_path).map_err(|e| bad(&yaml_path, e.to_string()))?;
        let t: TaskYaml = serde_yaml::from_str(&text).map_err(|e| bad(&yaml_path, e.to_string()))?;
        if t.output_type != "multiple_choice" {
            return Err(bad(&yaml_path, format!("output_type '{}' is not supported yet; use multiple_choice", t.output_type)));
        }
        let split = t.test_split.unwrap_or_else(|| "test".into());
        let file = t.dataset_kwargs.data_files.get(&split).ok_or_else(|| bad(&yaml_path, format!("data_files has no '{split}' split")))?;
        let data_path = dir.join(file);
        let data = std::fs::read_to_string(&data_path).map_err(|e| bad(&data_path, e.to_string()))?;
        let mut env = minijinja::Environment::new();
        env.add_template("text", &t.doc_to_text).map_err(|e| bad(&yaml_path, format!("doc_to_text: {e}")))?;
        let tmpl = env.get_template("text").expect("just added");
        let mut docs = Vec::new();
        for (i, line) in data.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let at = |reason: String| bad(&data_path, format!("line {}: {reason}", i + 1));
            let doc: Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
            let context = tmpl.render(&doc).map_err(|e| at(format!("doc_to_text: {e}")))?;
            let choices: Vec<String> = doc
                .get(&t.doc_to_choice)
                .and_then(Value::as_array)
                .ok_or_else(|| at(format!("field '{}' must be a list of strings", t.doc_to_choice)))?
                .iter()
                .map(|c| c.as_str().map(str::to_string).ok_or_else(|| at("choices must be strings".into())))
                .collect::<Result<_, _>>()?;
            let gold = doc.get(&t.doc_to_target).and_then(Value::as_u64).ok_or_else(|| at(format!("field '{}' must be an answer index", t.doc_to_target)))? as usize;
            if gold >= choices.len() || choices.len() < 2 {
                return Err(at(format!("answer {gold} with {} choices", choices.len())));
            }
            let continuations = choices.iter().map(|c| format!("{}{c}", t.target_delimiter)).collect();
            docs.push(McDoc { context, continuations, choices, gold });
        }
        if docs.is_empty() {
            return Err(bad(&data_path, "no examples".into()));
        }
        Ok(McTask { name: t.task, docs })
    }
}

fn find_yaml(dir: &Path) -> Result<PathBuf, TaskError> {
    let direct = dir.join("task.yaml");
    if direct.is_file() {
        return Ok(direct);
    }
    let bad = |reason: String| TaskError::Bad { path: dir.to_path_buf(), reason };
    let entries = std::fs::read_dir(dir).map_err(|e| bad(e.to_string()))?;
    let yamls: Vec<PathBuf> = entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "yaml")).collect();
    match yamls.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(bad("no task.yaml in this folder".into())),
        _ => Err(bad("several .yaml files; name the task file task.yaml".into())),
    }
}
