//! `agora lineage verify|show ARTIFACT`.

use anyhow::{anyhow, bail, Result};

use crate::card_args::{LineageArgs, LineageCommand};

fn record_of(s: &str) -> Result<std::path::PathBuf> {
    let p = super::card::resolve_artifact(s)?;
    card::lineage::find(&p).ok_or_else(|| anyhow!("{} has no lineage record (lineage.json beside it); artifacts made by `agora convert`/`agora quantize` get one", p.display()))
}

pub fn run(a: &LineageArgs) -> Result<()> {
    match &a.command {
        LineageCommand::Show { artifact } => {
            let p = record_of(artifact)?;
            print!("{}", std::fs::read_to_string(&p)?);
            Ok(())
        }
        LineageCommand::Verify { artifact, json } => {
            let p = record_of(artifact)?;
            let v = card::verify(&p)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for l in &v.links {
                    println!(
                        "link {}: {} (sha256 {}…) signed by {}; checked {}; not on this machine: {}",
                        l.depth,
                        l.artifact,
                        &l.sha256[..12.min(l.sha256.len())],
                        l.signer.as_deref().unwrap_or("?"),
                        l.checked.len(),
                        if l.not_present.is_empty() { "none".into() } else { l.not_present.join(", ") }
                    );
                }
            }
            match &v.broken {
                Some(b) => bail!("lineage broken at link {} ({}): {}", b.depth, b.artifact, b.problem),
                None => {
                    if !*json {
                        println!("ok: {} link(s) verified", v.links.len());
                    }
                    Ok(())
                }
            }
        }
    }
}
