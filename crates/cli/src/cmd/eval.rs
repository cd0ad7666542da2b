//! `agora eval [MODEL] --tasks A,B [--json [FILE]] [--html FILE] [--judge MODEL]` and
//! `agora eval --compare A B [C] --tasks ...`: every task on every model, then one report.
//! With `--card README` the scores go into the card's model-index and a signed lineage record.

use std::path::Path;

use anyhow::{Context, Result};
use eval::lm::Lm;
use eval::report::{html, write_atomic, Report, Run};
use eval::suite::Suite;
use indicatif::{ProgressBar, ProgressStyle};
use kernels::pool::ThreadPool;

use crate::args::EvalArgs;
use crate::settings;

pub fn run(a: &EvalArgs) -> Result<()> {
    let suites = a.tasks.iter().map(|d| Suite::load(d).with_context(|| format!("loading the task in {}", d.display()))).collect::<Result<Vec<_>>>()?;
    let models: Vec<Option<&str>> = if a.compare.is_empty() { vec![a.model.as_deref()] } else { a.compare.iter().map(|m| Some(m.as_str())).collect() };
    let paths = models.iter().map(|m| settings::resolve_model(*m, true)).collect::<Result<Vec<_>>>()?;
    for p in &paths {
        super::acceptance::ensure(p, a.accept_license)?;
    }
    let pool = ThreadPool::new(settings::threads(a.threads));
    let quiet = matches!(a.json, Some(None));
    let judge_model = match &a.judge {
        Some(j) => {
            let p = settings::resolve_model(Some(j), true)?;
            Some((super::open_model(&p)?, name_of(j, &p)))
        }
        None => None,
    };
    let judge = match &judge_model {
        Some((lm, name)) => Some((Lm::new(lm, &pool, true)?, name.clone())),
        None => None,
    };
    let mut runs = Vec::new();
    for (m, path) in models.iter().zip(&paths) {
        let lm = super::open_model_lora(path, None, a.lora.as_deref())?;
        let model = Lm::new(&lm, &pool, true)?;
        let mut name = name_of(m.unwrap_or(""), path);
        if let Some(dir) = &a.lora {
            name = format!("{name}+{}", dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned()));
        }
        let mut results = Vec::new();
        for s in &suites {
            let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(s.len() as u64) };
            bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}").expect("template"));
            bar.set_message(format!("{name}: {}", s.name()));
            let r = s.run(&model, judge.as_ref().map(|(l, n)| (l, n.clone())), |i| bar.set_position(i as u64)).with_context(|| format!("running {} on {name}", s.name()))?;
            bar.finish_and_clear();
            results.push(r);
        }
        let prompt_format = if model.uses_chat_template() { "chat_template" } else { "transcript" }.to_string();
        runs.push(Run { model: name, path: path.display().to_string(), prompt_format, results });
    }
    let report = Report::new(runs);
    let json = serde_json::to_string_pretty(&report)?;
    match &a.json {
        Some(None) => println!("{json}"),
        Some(Some(f)) => write_atomic(f, json.as_bytes())?,
        None => {}
    }
    if let Some(f) = &a.html {
        write_atomic(f, html::render(&report).as_bytes())?;
    }
    if let (Some(readme), [run]) = (&a.card, report.runs.as_slice()) {
        let index = eval::report::model_index(run);
        card::set_model_index(readme, &index).with_context(|| format!("recording the results in {}", readme.display()))?;
        // The scores also go into a signed lineage record whose artifact is the JSON report.
        let results = match &a.json {
            Some(Some(f)) => f.clone(),
            _ => {
                let f = readme.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("eval-results.json");
                write_atomic(&f, json.as_bytes())?;
                f
            }
        };
        let record = super::provenance::record_evaluation(&paths[0], a.lora.as_deref(), &results, &a.tasks, &index).context("signing the evaluation's lineage record")?;
        if !quiet {
            eprintln!("model-index recorded in {}", readme.display());
            eprintln!("signed evaluation record {} (check it with `agora lineage verify {}`)", record.display(), results.display());
        }
    }
    if !quiet {
        print!("{}", report.table());
        for (what, f) in [("JSON", a.json.clone().flatten()), ("HTML", a.html.clone())] {
            if let Some(f) = f {
                eprintln!("{what} report: {}", f.display());
            }
        }
    }
    Ok(())
}

/// The name a model is shown under: the argument when it is a store name, else the file stem.
fn name_of(arg: &str, path: &Path) -> String {
    if !arg.is_empty() && !arg.contains('/') && !arg.ends_with(".gguf") {
        return arg.to_string();
    }
    path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned())
}
