//! What `convert` and `quantize` leave beside their output: a model card (inherited license and
//! notices, base model and relation, the exact recipe, evaluation when measured) and a signed
//! lineage.json; plus the `general.license*`/`general.base_model.*` GGUF keys llama.cpp writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use card::kb::Relation;
use card::{Artifact, Lineage, ModelCardSpec, Recipe, Terms};
use weights::MetaValue;

pub struct Made<'a> {
    pub input: &'a Path,
    pub output: &'a Path,
    pub relation: Relation,
    pub details: BTreeMap<String, String>,
    /// Other inputs that decided the output (imatrix, calibration text), by role.
    pub extra_inputs: Vec<(&'static str, PathBuf)>,
    pub model_index: Option<serde_json::Value>,
    /// Markdown placed in the card body (e.g. the certify table).
    pub extra_md: Option<String>,
    /// Dataset ids this step trained on (named in the card).
    pub datasets: Vec<String>,
}

/// The input as the card and lineage see it, and the ids of the output's base model(s).
pub fn describe_input(input: &Path) -> Result<(Artifact, Vec<String>, Option<String>)> {
    let a = card::inspect(input).with_context(|| format!("reading the card and license of {}", input.display()))?;
    // Same weights in another form point at the original; otherwise the input itself is the base.
    if !a.base_models.is_empty() && a.relation.map_or(true, |r| !r.adapts()) {
        let b = a.base_models.clone();
        return Ok((a, b, None));
    }
    let id: String = a.name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_./".contains(c) { c } else { '-' }).collect();
    let note = format!("base model id {id:?} is the input's name; its upstream repository id is unknown");
    Ok((a, vec![id], Some(note)))
}

pub fn terms_of(a: &Artifact, relation: Relation) -> Terms {
    Terms::derive(&[a.terms()], &[], relation)
}

/// GGUF keys for the output, as llama.cpp's converter names them.
pub fn gguf_keys(terms: &Terms, bases: &[String]) -> Vec<(String, MetaValue)> {
    let (lic, name, link) = card::writer::license_fields(terms);
    let mut v = vec![("general.license".to_string(), MetaValue::from(lic.as_str()))];
    if let Some(n) = name {
        v.push(("general.license.name".into(), MetaValue::from(n.as_str())));
    }
    if let Some(l) = link {
        v.push(("general.license.link".into(), MetaValue::from(l.as_str())));
    }
    v.push(("general.base_model.count".into(), MetaValue::U32(bases.len() as u32)));
    for (i, b) in bases.iter().enumerate() {
        let (org, name) = b.split_once('/').map_or((None, b.as_str()), |(o, n)| (Some(o), n));
        v.push((format!("general.base_model.{i}.name"), MetaValue::from(name)));
        if let Some(o) = org {
            v.push((format!("general.base_model.{i}.organization"), MetaValue::from(o)));
            v.push((format!("general.base_model.{i}.repo_url"), MetaValue::from(format!("https://huggingface.co/{b}").as_str())));
        }
    }
    v
}

/// Writes the card and the signed lineage record beside the output; returns their paths.
pub fn record(m: Made<'_>) -> Result<(PathBuf, PathBuf)> {
    let (a, bases, note) = describe_input(m.input)?;
    let terms = terms_of(&a, m.relation);
    let command: Vec<String> = std::env::args().collect();
    let tool = format!("agora {}", env!("CARGO_PKG_VERSION"));
    let mut provenance = Vec::new();
    if let Some(p) = &a.card_path {
        provenance.push(format!("license and base model from the input's card {}", p.display()));
    }
    provenance.extend(a.inferred.iter().cloned());
    provenance.extend(note);
    let sections = card::Sections {
        training_data: a.card.as_ref().filter(|c| !c.datasets.is_empty()).map(|c| format!("The base model's card lists: {}.", c.datasets.join(", "))),
        ..Default::default()
    };
    let spec = ModelCardSpec {
        name: card::writer::artifact_name(m.output),
        terms: terms.clone(),
        base_models: bases,
        relation: Some(m.relation),
        datasets: m.datasets.clone(),
        language: a.card.as_ref().map(|c| c.language.clone()).unwrap_or_default(),
        tags: vec!["gguf".into(), "agora".into()],
        recipe: Some(Recipe { tool, command: command.clone(), details: m.details.clone() }),
        model_index: m.model_index,
        sections,
        extra: m.extra_md,
        provenance,
    };
    let card_path = card::writer::write_beside(m.output, &card::model_card(&spec))?;

    let keys = super::keys::load_or_create()?;
    let mut recipe: BTreeMap<String, serde_json::Value> = m.details.into_iter().map(|(k, v)| (k, v.into())).collect();
    recipe.insert("relation".into(), m.relation.name().into());
    // Some ancestor made a new model: naming rules keep applying to this artifact.
    recipe.insert("adapted".into(), terms.adapted.into());
    let mut inputs: Vec<(&str, &Path)> = vec![("base", m.input)];
    for (role, p) in &m.extra_inputs {
        inputs.push((role, p));
    }
    let mut l = Lineage::build(m.output, &inputs, command, recipe, terms.licenses.iter().cloned().collect(), store::now_rfc3339())?;
    l.sign(&keys);
    let lineage_path = l.write_beside(m.output)?;
    Ok((card_path, lineage_path))
}

/// Signs a lineage record for an evaluation: the artifact is the results file, the inputs are
/// the model evaluated and every task file, the recipe carries the scores (`model-index`). The
/// model's own record is embedded, so `agora lineage verify RESULTS` checks the whole chain.
pub fn record_evaluation(model: &Path, adapter: Option<&Path>, results: &Path, tasks: &[PathBuf], model_index: &serde_json::Value) -> Result<PathBuf> {
    let a = card::inspect(model).with_context(|| format!("reading the card and license of {}", model.display()))?;
    let mut recipe = BTreeMap::new();
    recipe.insert("relation".to_string(), serde_json::Value::from("evaluation"));
    recipe.insert("model-index".to_string(), model_index.clone());
    let mut inputs: Vec<(&str, &Path)> = vec![("model", model)];
    inputs.extend(adapter.map(|d| ("adapter", d)));
    inputs.extend(tasks.iter().map(|t| ("task", t.as_path())));
    let command: Vec<String> = std::env::args().collect();
    let licenses = a.terms().licenses.into_iter().collect();
    let mut l = Lineage::build(results, &inputs, command, recipe, licenses, store::now_rfc3339())?;
    l.sign(&super::keys::load_or_create()?);
    Ok(l.write_beside(results)?)
}
