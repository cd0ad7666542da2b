//! `agora license check|accept|list`.

use anyhow::{bail, Context, Result};
use card::kb::{self, Relation, Use};
use card::{check, Lineage, Question, Terms};

use crate::card_args::{LicenseAcceptArgs, LicenseArgs, LicenseCheckArgs, LicenseCommand};

pub fn run(a: &LicenseArgs) -> Result<()> {
    match &a.command {
        LicenseCommand::Check(c) => run_check(c),
        LicenseCommand::Accept(c) => accept(c),
        LicenseCommand::List(j) => list(j.json),
    }
}

fn list(json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(kb::all())?);
        return Ok(());
    }
    for l in kb::all() {
        let gate = if l.acceptance_required { "  (acceptance required)" } else { "" };
        println!("{:<22} {} ({}){gate}\n{:<22} {}", l.id, l.name, l.version, "", l.url);
    }
    Ok(())
}

fn question(c: &LicenseCheckArgs) -> Result<Question> {
    let use_ = Use::parse(&c.use_)?;
    let relation = c.relation.as_deref().map(Relation::parse).transpose()?;
    let datasets: Vec<&str> = c.dataset_license.iter().map(String::as_str).collect();
    for l in c.base.iter().chain(&c.dataset_license) {
        if kb::find(l).is_err() {
            eprintln!("warning: license {l:?} is not in the knowledge base; treated as unknown terms (`agora license list` shows the known ids)");
        }
    }
    if !c.base.is_empty() {
        let Some(rel) = relation else { bail!("--base needs --relation finetune|adapter|merge|quantized|converted|distill") };
        if c.artifact.is_some() {
            bail!("give either ARTIFACT or --base, not both");
        }
        let parents: Vec<Terms> = c.base.iter().map(|b| Terms::of(b)).collect();
        return Ok(Question { terms: Terms::derive(&parents, &datasets, rel), relation: Some(rel), name: c.name.clone(), use_ });
    }
    let Some(art) = &c.artifact else { bail!("name an ARTIFACT (store model, file, folder or lineage.json), or give --base LICENSE --relation R") };
    if art.ends_with(".json") {
        let l = Lineage::read(std::path::Path::new(art))?;
        let rel = l.recipe.get("relation").and_then(|v| v.as_str()).map(Relation::parse).transpose()?.or(relation);
        let mut terms = Terms::default();
        for id in &l.licenses {
            terms.licenses.insert(kb::resolve(id, None).id.clone());
        }
        terms.adapted = rel.is_some_and(|r| r.adapts()) || chain_adapted(&l);
        let terms = Terms::derive(&[terms], &datasets, rel.unwrap_or(Relation::Converted));
        return Ok(Question { terms, relation: rel, name: c.name.clone(), use_ });
    }
    let path = super::card::resolve_artifact(art)?;
    let a = card::inspect(&path).with_context(|| format!("reading {}", path.display()))?;
    let rel = relation.or(a.relation);
    let terms = Terms::derive(&[a.terms()], &datasets, rel.unwrap_or(Relation::Converted));
    let name = c.name.clone().or_else(|| rel.filter(|r| r.adapts()).map(|_| a.name.clone()));
    Ok(Question { terms, relation: rel, name, use_ })
}

fn chain_adapted(l: &Lineage) -> bool {
    l.parents.iter().any(|p| p.recipe.get("relation").and_then(|v| v.as_str()).and_then(|r| Relation::parse(r).ok()).is_some_and(|r| r.adapts()) || chain_adapted(p))
}

fn run_check(c: &LicenseCheckArgs) -> Result<()> {
    let q = question(c)?;
    let r = check(&q);
    if c.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        let mut ls = r.licenses.clone();
        ls.extend(r.dataset_licenses.iter().map(|d| format!("{d} (data)")));
        println!("licenses: {}   relation: {}   use: {}", ls.join(", "), r.relation.map_or("none", |x| x.name()), r.use_.name());
        println!("\nallowed:");
        for a in &r.allowed {
            println!("  - {a}");
        }
        println!("\nrequired:");
        for q in &r.required {
            let mut line = format!("  - [{} {}] {}", q.license, q.obligation.clause, q.obligation.summary);
            if let Some(t) = &q.obligation.text {
                line += &format!(" Text: \"{t}\"");
            }
            println!("{line}");
        }
        if !r.review.is_empty() {
            println!("\nneeds review:");
            for x in &r.review {
                println!("  - {x}");
            }
        }
        println!("\nconflicts:{}", if r.conflicts.is_empty() { " none" } else { "" });
        for x in &r.conflicts {
            println!("  - [{} {}] {}", x.license, x.clause, x.reason);
        }
    }
    if !r.ok() {
        bail!("{} conflict(s) for {} use", r.conflicts.len(), r.use_.name());
    }
    Ok(())
}

fn accept(a: &LicenseAcceptArgs) -> Result<()> {
    let l = kb::find(&a.license)?;
    let home = store::Store::open_default()?.root().to_path_buf();
    if !a.yes {
        super::acceptance::prompt(l)?;
    }
    let rec = card::acceptance::record(&home, l, &store::now_rfc3339(), if a.yes { "command --yes" } else { "command prompt" })?;
    println!("accepted {} ({}) as {} at {}; recorded in {}", l.name, l.version, rec.user, rec.at, card::acceptance::file(&home).display());
    Ok(())
}
