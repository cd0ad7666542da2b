//! Writing model and dataset cards. Inherited license terms and notices come from the knowledge
//! base; anything Agora does not know is written as "unknown", never guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use crate::card::{Card, CardKind};
use crate::check::Terms;
use crate::error::{io, CardError, Result};
use crate::front;
use crate::kb::{self, Kind, Relation};

pub const UNKNOWN: &str = "unknown";

/// How the artifact was made, exactly.
#[derive(Debug, Clone, Default)]
pub struct Recipe {
    /// `agora 0.1.0`
    pub tool: String,
    pub command: Vec<String>,
    /// Ordered facts such as `type: Q4_K_M`, `imatrix: file.dat (sha256 ...)`.
    pub details: BTreeMap<String, String>,
}

/// The community sections; `None` is written as unknown.
#[derive(Debug, Clone, Default)]
pub struct Sections {
    pub intended_use: Option<String>,
    pub out_of_scope_use: Option<String>,
    pub training_data: Option<String>,
    pub bias_risks_limitations: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ModelCardSpec {
    pub name: String,
    pub terms: Terms,
    pub base_models: Vec<String>,
    pub relation: Option<Relation>,
    pub datasets: Vec<String>,
    pub language: Vec<String>,
    pub tags: Vec<String>,
    pub recipe: Option<Recipe>,
    pub model_index: Option<serde_json::Value>,
    pub sections: Sections,
    /// Extra Markdown for the body (e.g. a measurement table), placed after the summary.
    pub extra: Option<String>,
    /// Where facts came from when not from our own recipe (e.g. "upstream card README.md").
    pub provenance: Vec<String>,
}

/// (license, license_name, license_link) for the front matter.
pub fn license_fields(t: &Terms) -> (String, Option<String>, Option<String>) {
    let ids: Vec<&str> = t.licenses.iter().map(String::as_str).collect();
    let hf_native = |id: &str| !matches!(id, "falcon-180b" | "tongyi-qianwen" | "mrl");
    match ids.as_slice() {
        [] => ("other".into(), Some(UNKNOWN.into()), Some(UNKNOWN.into())),
        [one] if *one == "other" => ("other".into(), Some(UNKNOWN.into()), Some(UNKNOWN.into())),
        [one] if hf_native(one) => (one.to_string(), None, None),
        [one] => ("other".into(), Some(one.to_string()), Some(kb::resolve(one, None).url.clone())),
        many => {
            let strict = many.iter().map(|i| kb::resolve(i, None)).find(|l| l.family != kb::Family::Permissive).unwrap_or_else(|| kb::resolve(many[0], None));
            ("other".into(), Some(many.join("+")), Some(strict.url.clone()))
        }
    }
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn seq(v: &[String]) -> Value {
    Value::Sequence(v.iter().map(|x| s(x)).collect())
}

pub fn model_card(spec: &ModelCardSpec) -> String {
    let mut m = Mapping::new();
    let (lic, lname, llink) = license_fields(&spec.terms);
    m.insert(s("license"), s(&lic));
    if let Some(n) = lname {
        m.insert(s("license_name"), s(&n));
    }
    if let Some(l) = llink {
        m.insert(s("license_link"), s(&l));
    }
    if !spec.base_models.is_empty() {
        m.insert(s("base_model"), if spec.base_models.len() == 1 { s(&spec.base_models[0]) } else { seq(&spec.base_models) });
    }
    if let Some(r) = spec.relation {
        // HF knows four relations; `converted`/`distill` stay in our own key.
        if matches!(r, Relation::Finetune | Relation::Adapter | Relation::Merge | Relation::Quantized) {
            m.insert(s("base_model_relation"), s(r.name()));
        } else {
            m.insert(s("agora_relation"), s(r.name()));
        }
    }
    if !spec.datasets.is_empty() {
        m.insert(s("datasets"), seq(&spec.datasets));
    }
    if !spec.language.is_empty() {
        m.insert(s("language"), seq(&spec.language));
    }
    if !spec.tags.is_empty() {
        m.insert(s("tags"), seq(&spec.tags));
    }
    let gating: Vec<_> = spec.terms.acceptance_required();
    if !gating.is_empty() {
        let names: Vec<&str> = gating.iter().map(|l| l.name.as_str()).collect();
        m.insert(
            s("extra_gated_prompt"),
            s(&format!("This model is distributed under {}. You must accept these terms to use it.", names.join(" and "))),
        );
    }
    if let Some(mi) = &spec.model_index {
        if let Ok(v) = serde_yaml::to_value(mi) {
            m.insert(s("model-index"), v);
        }
    }
    let yaml = serde_yaml::to_string(&m).unwrap_or_default();
    front::join(&yaml, &body(spec))
}

fn or_unknown(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| format!("{UNKNOWN}: not recorded by the base model's card or by this tool."))
}

fn body(spec: &ModelCardSpec) -> String {
    let mut b = format!("# {}\n\n", spec.name);
    match (spec.relation, spec.base_models.as_slice()) {
        (Some(r), [_, ..]) => b += &format!("A {} of {}.\n\n", describe(r), spec.base_models.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")),
        _ => b += "An original model (no base model recorded).\n\n",
    }
    if let Some(x) = &spec.extra {
        b += x.trim_end();
        b += "\n\n";
    }

    b += "## License and obligations\n\n";
    for l in spec.terms.all_licenses() {
        b += &format!("- **{}** ({}), {}\n", l.name, l.version, l.url);
    }
    b += "\nInherited from every ancestor; anyone who redistributes this model owes all of these:\n\n";
    for r in spec.terms.obligations() {
        let o = &r.obligation;
        b += &format!("- {} {}: {}", r.license, o.clause, o.summary);
        if let Some(t) = &o.text {
            b += &format!(" Required text: \"{t}\".");
        }
        if let Some(u) = &o.policy_url {
            b += &format!(" Policy: {u}");
        }
        b += "\n";
    }
    let notices: Vec<String> = spec.terms.obligations().into_iter().filter(|r| r.obligation.kind == Kind::NoticeFile).filter_map(|r| r.obligation.text).collect();
    if !notices.is_empty() {
        b += "\n### Notice\n\n";
        for n in notices {
            b += &format!("{n}\n\n");
        }
    }

    b += "\n## Recipe\n\n";
    match &spec.recipe {
        Some(r) => {
            b += &format!("Made by {} with:\n\n```\n{}\n```\n\n", r.tool, shell_join(&r.command));
            for (k, v) in &r.details {
                b += &format!("- {k}: {v}\n");
            }
        }
        None => b += &format!("{UNKNOWN}\n"),
    }
    if !spec.provenance.is_empty() {
        b += "\nSources of the facts above: ";
        b += &spec.provenance.join("; ");
        b += "\n";
    }
    let sec = &spec.sections;
    b += &format!("\n## Intended use\n\n{}\n", or_unknown(&sec.intended_use));
    b += &format!("\n## Out-of-scope use\n\n{}\n", out_of_scope(spec));
    b += &format!("\n## Training data and known gaps\n\n{}\n", training(spec));
    b += &format!("\n## Bias, risks and limitations\n\n{}\n", or_unknown(&sec.bias_risks_limitations));
    if spec.relation == Some(Relation::Quantized) {
        b += "Quantization changes the model's outputs slightly; see the evaluation results when present.\n";
    }
    b += "\n## Evaluation\n\n";
    b += if spec.model_index.is_some() { "See `model-index` in the front matter.\n" } else { "unknown: no evaluation recorded.\n" };
    b
}

fn out_of_scope(spec: &ModelCardSpec) -> String {
    let mut s = or_unknown(&spec.sections.out_of_scope_use);
    for r in spec.terms.obligations().into_iter().filter(|r| r.obligation.kind == Kind::UseRestrictions || r.obligation.kind == Kind::NonCommercial) {
        s += &format!("\n\n- Restricted by {} {}: {}", r.license, r.obligation.clause, r.obligation.summary);
        if let Some(u) = &r.obligation.policy_url {
            s += &format!(" ({u})");
        }
    }
    s
}

fn training(spec: &ModelCardSpec) -> String {
    let mut s = or_unknown(&spec.sections.training_data);
    if !spec.datasets.is_empty() {
        s += &format!("\n\nDatasets used in this step: {}.", spec.datasets.join(", "));
    } else if matches!(spec.relation, Some(Relation::Quantized | Relation::Converted)) {
        s += "\n\nThis step used no training data; the base model's training data applies.";
    }
    s
}

fn describe(r: Relation) -> &'static str {
    match r {
        Relation::Finetune => "fine-tune",
        Relation::Adapter => "adapter (LoRA)",
        Relation::Merge => "merge",
        Relation::Quantized => "quantization",
        Relation::Converted => "format conversion",
        Relation::Distill => "distillation",
    }
}

fn shell_join(args: &[String]) -> String {
    args.iter()
        .map(|a| if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@".contains(c)) { a.clone() } else { format!("'{}'", a.replace('\'', "'\\''")) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A datasheet for a dataset: source, license, collection, known biases.
#[derive(Debug, Clone, Default)]
pub struct DatasetCardSpec {
    pub name: String,
    pub license: String,
    pub source: Option<String>,
    pub collection: Option<String>,
    pub known_biases: Option<String>,
    pub language: Vec<String>,
    pub size: Option<String>,
}

pub fn dataset_card(d: &DatasetCardSpec) -> String {
    let mut m = Mapping::new();
    let t = Terms::of(&d.license);
    let (lic, lname, llink) = license_fields(&t);
    m.insert(s("license"), s(&lic));
    if let Some(n) = lname {
        m.insert(s("license_name"), s(&n));
    }
    if let Some(l) = llink {
        m.insert(s("license_link"), s(&l));
    }
    if !d.language.is_empty() {
        m.insert(s("language"), seq(&d.language));
    }
    if let Some(src) = &d.source {
        m.insert(s("source_datasets"), seq(std::slice::from_ref(src)));
    }
    let yaml = serde_yaml::to_string(&m).unwrap_or_default();
    let u = |v: &Option<String>| v.clone().unwrap_or_else(|| UNKNOWN.into());
    let mut b = format!("# {}\n\n", d.name);
    b += &format!("## Source\n\n{}\n\n", u(&d.source));
    b += &format!("## License\n\n{} ({})\n\n", kb::resolve(&d.license, None).name, d.license);
    b += &format!("## Collection process\n\n{}\n\n", u(&d.collection));
    b += &format!("## Size\n\n{}\n\n", u(&d.size));
    b += &format!("## Known biases and gaps\n\n{}\n", u(&d.known_biases));
    front::join(&yaml, &b)
}

/// Where a card for `artifact` goes: README.md beside it, or `<stem>.README.md` when README.md
/// belongs to something else (another model's card is never overwritten).
pub fn card_path_for(artifact: &Path) -> PathBuf {
    let dir = artifact.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let readme = dir.join("README.md");
    let stem = artifact.file_stem().map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
    let ours = |p: &Path| std::fs::read_to_string(p).is_ok_and(|t| t.contains(&format!("\n# {}\n", artifact_name(artifact))));
    if !readme.exists() || ours(&readme) {
        readme
    } else {
        dir.join(format!("{stem}.README.md"))
    }
}

pub fn artifact_name(p: &Path) -> String {
    p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// Writes a card beside `artifact` atomically and returns its path.
pub fn write_beside(artifact: &Path, text: &str) -> Result<PathBuf> {
    let path = card_path_for(artifact);
    front::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// Replaces the `model-index` of the card at `readme` (atomic; the rest is kept as is).
pub fn set_model_index(readme: &Path, model_index: &serde_json::Value) -> Result<()> {
    let text = std::fs::read_to_string(readme).map_err(io(readme))?;
    let bad = |msg: String| CardError::Card { path: readme.display().to_string(), msg };
    let card = Card::parse(&text, CardKind::Model).map_err(|e| bad(e.to_string()))?;
    if !model_index.is_array() {
        return Err(bad("model-index must be a JSON list of {name, results}".into()));
    }
    let mut raw = card.raw.clone();
    raw.insert(s("model-index"), serde_yaml::to_value(model_index).map_err(|e| bad(e.to_string()))?);
    let yaml = serde_yaml::to_string(&raw).map_err(|e| bad(e.to_string()))?;
    let out = front::join(&yaml, &card.body);
    let check = Card::parse(&out, CardKind::Model).map_err(|e| bad(e.to_string()))?;
    if let Some(p) = check.problems.iter().find(|p| p.field == "model-index") {
        return Err(bad(format!("the new model-index is invalid: {}", p.message)));
    }
    front::write_atomic(readme, out.as_bytes())
}
