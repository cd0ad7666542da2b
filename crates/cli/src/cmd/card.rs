//! `agora card MODEL [--json] [--write FILE]`: the model's card, validated; generated from GGUF
//! metadata (unknowns marked) when the model has none.

use std::path::PathBuf;

use anyhow::{bail, Result};
use card::{Card, CardKind};

use crate::card_args::CardArgs;
use crate::settings;

/// A path that exists is used as is; anything else is a name in the store.
pub fn resolve_artifact(s: &str) -> Result<PathBuf> {
    let p = PathBuf::from(s);
    if p.exists() {
        return Ok(p);
    }
    settings::resolve_model(Some(s), false)
}

pub fn run(a: &CardArgs) -> Result<()> {
    let path = resolve_artifact(&a.model)?;
    if a.dataset {
        let readme = if path.is_dir() { path.join("README.md") } else { path.clone() };
        let c = Card::read(&readme, CardKind::Dataset)?;
        return show_problems(&readme.display().to_string(), &c, a.json, None);
    }
    let art = card::inspect(&path)?;
    let generated = card::model_card(&art.card_spec());
    if let Some(out) = &a.write {
        card::front::write_atomic(out, generated.as_bytes())?;
        println!("card: {}", out.display());
        return Ok(());
    }
    let shown = match &art.card_path {
        Some(p) => std::fs::read_to_string(p)?,
        None => generated.clone(),
    };
    let parsed = Card::parse(&shown, CardKind::Model)?;
    if a.json {
        let terms = art.terms();
        let v = serde_json::json!({
            "artifact": art,
            "card": parsed,
            "valid": parsed.is_valid(),
            "attribution": card::attribution_for(&terms),
            "acceptance_required": terms.acceptance_required().iter().map(|l| &l.id).collect::<Vec<_>>(),
            "generated_card": generated,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        if !parsed.is_valid() {
            bail!("the card is invalid");
        }
        return Ok(());
    }
    match &art.card_path {
        Some(p) => println!("card: {}", p.display()),
        None => println!("card: none on disk; generated from the GGUF metadata (write it with --write FILE)"),
    }
    println!("license: {}   base model: {}   relation: {}", art.license, list(&art.base_models), art.relation.map_or("none", |r| r.name()));
    for i in &art.inferred {
        println!("inferred: {i}");
    }
    let attribution = card::attribution_for(&art.terms());
    if !attribution.is_empty() {
        println!("attribution:");
        for l in attribution {
            println!("  {l}");
        }
    }
    println!();
    print!("{}", if art.card_path.is_some() { generated.as_str() } else { shown.as_str() });
    show_problems("card", &parsed, false, Some(()))
}

fn list(v: &[String]) -> String {
    if v.is_empty() {
        "unknown".into()
    } else {
        v.join(", ")
    }
}

fn show_problems(what: &str, c: &Card, json: bool, quiet_ok: Option<()>) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"card": c, "valid": c.is_valid()}))?);
    } else {
        for p in &c.problems {
            eprintln!("{what}: {p}");
        }
        if c.problems.is_empty() && quiet_ok.is_none() {
            println!("{what}: valid");
        }
    }
    if !c.is_valid() {
        bail!("{what} is invalid ({} problems)", c.problems.iter().filter(|p| p.error).count());
    }
    Ok(())
}
