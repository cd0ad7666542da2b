//! Hugging Face model and dataset cards: typed front matter, validation that names the field.

use std::path::Path;

use serde::Serialize;
use serde_yaml::{Mapping, Value};

use crate::check::Terms;
use crate::error::{io, CardError, Result};
use crate::front;
use crate::kb::{self, Relation};

/// One thing wrong (or doubtful) in a card, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
    /// Errors make a card invalid (a hub push is refused); warnings are shown.
    pub error: bool,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lvl = if self.error { "error" } else { "warning" };
        write!(f, "{lvl}: `{}`: {}", self.field, self.message)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardKind {
    Model,
    Dataset,
}

/// A parsed card: the front matter as typed fields plus the raw mapping (nothing is dropped).
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    pub kind: CardKind,
    pub license: Option<String>,
    pub license_name: Option<String>,
    pub license_link: Option<String>,
    pub base_model: Vec<String>,
    pub base_model_relation: Option<String>,
    pub datasets: Vec<String>,
    pub language: Vec<String>,
    pub tags: Vec<String>,
    pub model_index: Option<serde_json::Value>,
    pub gated: Vec<(String, String)>,
    #[serde(skip)]
    pub raw: Mapping,
    #[serde(skip)]
    pub body: String,
    pub problems: Vec<Problem>,
}

const RELATIONS: &[&str] = &["adapter", "merge", "quantized", "finetune", "converted", "distill"];

impl Card {
    pub fn read(path: &Path, kind: CardKind) -> Result<Card> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        Card::parse(&text, kind).map_err(|e| CardError::Card { path: path.display().to_string(), msg: e.to_string() })
    }

    /// Parses front matter; only YAML that is not a mapping is an error here, every field
    /// problem lands in `problems`.
    pub fn parse(text: &str, kind: CardKind) -> Result<Card> {
        let (yaml, body) = front::split(text);
        let raw: Mapping = if yaml.trim().is_empty() {
            Mapping::new()
        } else {
            match serde_yaml::from_str::<Value>(yaml) {
                Ok(Value::Mapping(m)) => m,
                Ok(Value::Null) => Mapping::new(),
                Ok(_) => return Err(CardError::Invalid("the front matter is not a YAML mapping (key: value lines)".into())),
                Err(e) => return Err(CardError::Invalid(format!("the front matter is not valid YAML: {e}"))),
            }
        };
        let mut p = Vec::new();
        let s = |k: &str, p: &mut Vec<Problem>| string(&raw, k, p);
        let license = s("license", &mut p);
        let license_name = s("license_name", &mut p);
        let license_link = s("license_link", &mut p);
        let base_model = list(&raw, "base_model", &mut p);
        let base_model_relation = s("base_model_relation", &mut p);
        let datasets = list(&raw, "datasets", &mut p);
        let language = list(&raw, "language", &mut p);
        let tags = list(&raw, "tags", &mut p);
        let model_index = raw.get("model-index").map(|v| serde_json::to_value(v).unwrap_or(serde_json::Value::Null));
        let gated = raw
            .iter()
            .filter_map(|(k, v)| {
                let k = k.as_str()?;
                k.starts_with("extra_gated_").then(|| (k.to_string(), scalar(v)))
            })
            .collect();
        let mut c = Card {
            kind,
            license,
            license_name,
            license_link,
            base_model,
            base_model_relation,
            datasets,
            language,
            tags,
            model_index,
            gated,
            raw,
            body: body.to_string(),
            problems: p,
        };
        c.validate();
        Ok(c)
    }

    fn validate(&mut self) {
        let mut p = std::mem::take(&mut self.problems);
        let err = |f: &str, m: String| Problem { field: f.into(), message: m, error: true };
        let warn = |f: &str, m: String| Problem { field: f.into(), message: m, error: false };
        match self.license.as_deref() {
            None => p.push(err("license", "missing: every card must state a license (an SPDX-like id such as apache-2.0, or `other` with license_name and license_link)".into())),
            Some(l) if l.eq_ignore_ascii_case("other") => {
                if self.license_name.is_none() {
                    p.push(err("license_name", "required when license is `other`: name the custom license".into()));
                }
                if self.license_link.is_none() {
                    p.push(err("license_link", "required when license is `other`: link the license text (URL or file in the repo)".into()));
                }
                if kb::resolve("other", self.license_name.as_deref()).id == "other" {
                    p.push(warn("license_name", format!("{:?} is not in Agora's knowledge base: every use needs review", self.license_name.as_deref().unwrap_or(""))));
                }
            }
            Some(l) => {
                if kb::find(l).is_err() {
                    p.push(warn("license", format!("{l:?} is not in Agora's knowledge base ({}); it is treated as unknown terms", kb::ids().join(", "))));
                }
            }
        }
        if let Some(link) = &self.license_link {
            if link.trim().is_empty() {
                p.push(err("license_link", "is empty".into()));
            }
        }
        for b in &self.base_model {
            if !repo_id_ok(b) {
                p.push(err("base_model", format!("{b:?} is not a model id (namespace/name, letters, digits, - _ .)")));
            }
        }
        if let Some(r) = &self.base_model_relation {
            if !RELATIONS.contains(&r.as_str()) {
                p.push(err("base_model_relation", format!("{r:?} is not one of {}", RELATIONS.join(", "))));
            } else if self.base_model.is_empty() {
                p.push(err("base_model_relation", "is set but base_model is missing".into()));
            } else if r == "merge" && self.base_model.len() < 2 {
                p.push(err("base_model_relation", "merge needs at least two base_model entries".into()));
            }
        }
        if self.kind == CardKind::Model && self.base_model.len() > 1 && self.base_model_relation.is_none() {
            p.push(warn("base_model_relation", "several base models but no relation (merge?)".into()));
        }
        for l in &self.language {
            if !lang_ok(l) {
                p.push(err("language", format!("{l:?} is not an ISO 639 code (like en, fr, zh-Hans)")));
            }
        }
        for d in &self.datasets {
            if d.trim().is_empty() {
                p.push(err("datasets", "an entry is empty".into()));
            }
        }
        if let Some(mi) = self.raw.get("model-index") {
            model_index(mi, &mut p);
        }
        for (k, v) in &self.gated {
            if k == "extra_gated_prompt" && v.trim().is_empty() {
                p.push(err(k, "is empty".into()));
            }
        }
        if let Some(v) = self.raw.get("extra_gated_fields") {
            if !v.is_mapping() {
                p.push(err("extra_gated_fields", "must be a mapping of field label to type".into()));
            }
        }
        self.problems = p;
    }

    pub fn is_valid(&self) -> bool {
        !self.problems.iter().any(|p| p.error)
    }

    pub fn relation(&self) -> Option<Relation> {
        self.base_model_relation.as_deref().and_then(|r| Relation::parse(r).ok())
    }

    /// The resolved license (unknown or missing is `other`).
    pub fn license_id(&self) -> String {
        kb::resolve(self.license.as_deref().unwrap_or("other"), self.license_name.as_deref()).id.clone()
    }

    /// The terms this card states for itself (its own license; parents' are not known from a card).
    pub fn terms(&self) -> Terms {
        let mut t = Terms::of(&self.license_id());
        t.adapted = self.relation().is_some_and(|r| r.adapts());
        t
    }
}

/// What a hub should say about a pushed README: errors refuse the push, warnings are shown.
pub fn check_for_push(readme: &str) -> Vec<Problem> {
    match Card::parse(readme, CardKind::Model) {
        Ok(c) => {
            let mut p = c.problems.clone();
            let q = crate::check::Question { terms: c.terms(), relation: c.relation(), name: None, use_: crate::kb::Use::Research };
            for conflict in crate::check::check(&q).conflicts {
                // `other` licenses stay a warning on a hub: reviewing is the reader's job.
                let error = conflict.license != "other";
                p.push(Problem { field: "license".into(), message: conflict.reason, error });
            }
            p
        }
        Err(e) => vec![Problem { field: "front matter".into(), message: e.to_string(), error: true }],
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
    }
}

fn string(m: &Mapping, k: &str, p: &mut Vec<Problem>) -> Option<String> {
    match m.get(k)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        Value::Number(n) => Some(n.to_string()),
        _ => {
            p.push(Problem { field: k.into(), message: "must be a single string".into(), error: true });
            None
        }
    }
}

fn list(m: &Mapping, k: &str, p: &mut Vec<Problem>) -> Vec<String> {
    match m.get(k) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(seq)) => seq
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                _ => {
                    p.push(Problem { field: k.into(), message: "every entry must be a string".into(), error: true });
                    None
                }
            })
            .collect(),
        Some(_) => {
            p.push(Problem { field: k.into(), message: "must be a string or a list of strings".into(), error: true });
            Vec::new()
        }
    }
}

fn repo_id_ok(s: &str) -> bool {
    let ok = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    match s.split_once('/') {
        Some((ns, name)) => ok(ns) && ok(name) && !name.contains('/'),
        None => ok(s),
    }
}

fn lang_ok(s: &str) -> bool {
    let mut parts = s.split(['-', '_']);
    let head = parts.next().unwrap_or("");
    (2..=3).contains(&head.len()) && head.chars().all(|c| c.is_ascii_lowercase()) && parts.all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

fn model_index(v: &Value, p: &mut Vec<Problem>) {
    let e = |m: String| Problem { field: "model-index".into(), message: m, error: true };
    let Some(entries) = v.as_sequence() else {
        p.push(e("must be a list of {name, results}".into()));
        return;
    };
    for (i, ent) in entries.iter().enumerate() {
        if ent.get("name").and_then(Value::as_str).is_none() {
            p.push(e(format!("entry {i} has no name")));
        }
        let Some(results) = ent.get("results").and_then(Value::as_sequence) else {
            p.push(e(format!("entry {i} has no results list")));
            continue;
        };
        for (j, r) in results.iter().enumerate() {
            if r.get("task").and_then(|t| t.get("type")).and_then(Value::as_str).is_none() {
                p.push(e(format!("entry {i} result {j}: task.type is missing")));
            }
            let Some(metrics) = r.get("metrics").and_then(Value::as_sequence) else {
                p.push(e(format!("entry {i} result {j}: metrics list is missing")));
                continue;
            };
            for (k, m) in metrics.iter().enumerate() {
                if m.get("type").and_then(Value::as_str).is_none() || m.get("value").is_none() {
                    p.push(e(format!("entry {i} result {j} metric {k}: needs type and value")));
                }
            }
        }
    }
}
