//! What Agora knows about an artifact on disk: its card (README.md beside it), its GGUF metadata,
//! and its lineage record. Facts inferred rather than read are listed in `inferred`.

use std::path::{Path, PathBuf};

use serde::Serialize;
use weights::{GgufFile, MetaValue};

use crate::card::{Card, CardKind};
use crate::check::Terms;
use crate::error::Result;
use crate::kb::{self, Relation};
use crate::writer::{self, ModelCardSpec, Sections};

#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub path: PathBuf,
    pub name: String,
    pub card_path: Option<PathBuf>,
    #[serde(skip)]
    pub card: Option<Card>,
    pub license: String,
    pub base_models: Vec<String>,
    pub relation: Option<Relation>,
    pub datasets: Vec<String>,
    /// Facts Agora inferred (and from what), so nobody mistakes them for the author's word.
    pub inferred: Vec<String>,
    pub lineage_path: Option<PathBuf>,
    /// From the lineage record: licenses of every ancestor, and whether any step adapted the model.
    pub lineage_licenses: Vec<String>,
    pub lineage_adapted: bool,
}

fn meta_str(g: &GgufFile, k: &str) -> Option<String> {
    match g.metadata().get(k)? {
        MetaValue::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The card for a file or folder: `<stem>.README.md`, then `README.md` beside it (inside it for a folder).
pub fn find_card(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        let p = path.join("README.md");
        return p.is_file().then_some(p);
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    [dir.join(format!("{stem}.README.md")), dir.join("README.md")].into_iter().find(|p| p.is_file())
}

pub fn inspect(path: &Path) -> Result<Artifact> {
    let card_path = find_card(path);
    let card = card_path.as_deref().map(|p| Card::read(p, CardKind::Model)).transpose()?;
    let gguf = if path.is_file() { GgufFile::open(path).ok() } else { None };
    let mut inferred = Vec::new();

    let name = gguf.as_ref().and_then(|g| meta_str(g, "general.name")).unwrap_or_else(|| writer::artifact_name(path));
    let license = match (&card, &gguf) {
        (Some(c), _) if c.license.is_some() => c.license_id(),
        (_, Some(g)) if meta_str(g, "general.license").is_some() => {
            let l = meta_str(g, "general.license").unwrap_or_default();
            inferred.push(format!("license {l:?} from GGUF general.license (no card states it)"));
            kb::resolve(&l, meta_str(g, "general.license.name").as_deref()).id.clone()
        }
        _ => {
            inferred.push("license unknown (no card, no general.license): treated as `other`".into());
            "other".into()
        }
    };
    let mut base_models = card.as_ref().map(|c| c.base_model.clone()).unwrap_or_default();
    if base_models.is_empty() {
        if let Some(g) = &gguf {
            let n = g.metadata().get("general.base_model.count").and_then(MetaValue::as_int).unwrap_or(0);
            for i in 0..n {
                let id = meta_str(g, &format!("general.base_model.{i}.repo_url"))
                    .map(|u| u.trim_start_matches("https://huggingface.co/").to_string())
                    .or_else(|| meta_str(g, &format!("general.base_model.{i}.name")));
                if let Some(id) = id {
                    inferred.push(format!("base model {id:?} from GGUF general.base_model.{i}"));
                    base_models.push(id);
                }
            }
        }
    }
    let mut relation = card.as_ref().and_then(Card::relation);
    if relation.is_none() {
        if let Some(r) = card.as_ref().and_then(|c| c.raw.get("agora_relation")).and_then(|v| v.as_str()).and_then(|r| Relation::parse(r).ok()) {
            relation = Some(r);
        }
    }
    if relation.is_none() && !base_models.is_empty() {
        if let Some(ty) = gguf.as_ref().and_then(quantized_type) {
            relation = Some(Relation::Quantized);
            inferred.push(format!("relation `quantized`: the card names a base model and the GGUF weights are {ty}"));
        }
    }
    let datasets = card.as_ref().map(|c| c.datasets.clone()).unwrap_or_default();
    let lineage_path = crate::lineage::find(path);
    let record = lineage_path.as_deref().and_then(|p| crate::lineage::Lineage::read(p).ok());
    let lineage_licenses = record.as_ref().map(|l| l.licenses.clone()).unwrap_or_default();
    let lineage_adapted = record.as_ref().is_some_and(|l| l.recipe.get("adapted").and_then(|v| v.as_bool()) == Some(true));
    Ok(Artifact { path: path.to_path_buf(), name, card_path, card, license, base_models, relation, datasets, inferred, lineage_path, lineage_licenses, lineage_adapted })
}

/// The quantized tensor types in the file, most used first (None for a float file).
fn quantized_type(g: &GgufFile) -> Option<String> {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for t in g.tensor_infos() {
        let n = t.ty.name();
        if !matches!(n, "F32" | "F16" | "BF16" | "F64") {
            *counts.entry(n).or_default() += 1;
        }
    }
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1));
    (!v.is_empty()).then(|| v.iter().map(|(k, _)| *k).collect::<Vec<_>>().join("/"))
}

impl Artifact {
    /// Terms from the card's license, plus every ancestor license the lineage record lists.
    pub fn terms(&self) -> Terms {
        // Our writer names a multi-license merge `other` + `license_name: a+b`.
        let combined = self.card.as_ref().and_then(|c| c.license_name.clone()).filter(|n| self.license == "other" && n.contains('+'));
        let mut t = match combined {
            Some(n) => {
                let mut t = Terms::default();
                t.licenses.extend(n.split('+').map(|p| kb::resolve(p, None).id.clone()));
                t
            }
            None => Terms::of(&self.license),
        };
        for l in &self.lineage_licenses {
            t.licenses.insert(kb::resolve(l, None).id.clone());
        }
        t.adapted = self.relation.is_some_and(|r| r.adapts()) || self.lineage_adapted;
        t
    }

    /// A card to show or write: the artifact's own facts, inherited obligations, unknowns marked.
    pub fn card_spec(&self) -> ModelCardSpec {
        let mut provenance: Vec<String> = Vec::new();
        if let Some(p) = &self.card_path {
            provenance.push(format!("card {}", p.display()));
        }
        provenance.extend(self.inferred.iter().cloned());
        ModelCardSpec {
            name: self.name.clone(),
            terms: self.terms(),
            base_models: self.base_models.clone(),
            relation: self.relation,
            datasets: self.datasets.clone(),
            language: self.card.as_ref().map(|c| c.language.clone()).unwrap_or_default(),
            tags: self.card.as_ref().map(|c| c.tags.clone()).unwrap_or_default(),
            recipe: None,
            model_index: self.card.as_ref().and_then(|c| c.model_index.clone()),
            sections: Sections::default(),
            extra: None,
            provenance,
        }
    }
}

/// The attribution lines the model at `path` requires (for `/v1/models` metadata and `agora info`);
/// empty when nothing is required or its card cannot be read.
pub fn attribution_of(path: &Path) -> Vec<String> {
    inspect(path).map(|a| crate::check::attribution_for(&a.terms())).unwrap_or_default()
}
