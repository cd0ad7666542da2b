//! `agora pull`, `agora list`, `agora rm`.

use anyhow::Result;
use store::{PullOptions, Store};

use crate::args::PullArgs;

pub fn pull(a: &PullArgs) -> Result<()> {
    if a.source.starts_with("hf:") {
        return super::hub_client::pull(a);
    }
    let store = Store::open_default()?;
    let opts = PullOptions { name: a.name.clone(), force: a.force, quiet: a.quiet, ..PullOptions::default() };
    let report = store.pull_report(&a.source, &opts)?;
    let entry = &report.entry;
    if report.fresh {
        println!("pulled {} -> {}", entry.name, entry.dir.display());
    } else {
        println!("{} is up to date ({})", entry.name, entry.dir.display());
    }
    Ok(())
}

pub fn list(json: bool) -> Result<()> {
    let entries = Store::open_default()?.list()?;
    if json {
        let v: Vec<_> = entries.iter().map(|e| &e.manifest).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if entries.is_empty() {
        println!("no models yet; try `agora pull gemma3-270m`");
    }
    for e in entries {
        let m = &e.manifest;
        println!("{:<24} {:>10.1} MB  {:<10} {}", e.name, m.total_size as f64 / 1e6, m.license.as_deref().unwrap_or("-"), m.source);
    }
    Ok(())
}

pub fn rm(name: &str) -> Result<()> {
    Store::open_default()?.remove(name)?;
    println!("removed {name}");
    Ok(())
}
