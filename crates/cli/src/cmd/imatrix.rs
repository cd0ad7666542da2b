//! `agora imatrix MODEL --text FILE -o imatrix.dat`: the statistics `quantize --imatrix` weighs by.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kernels::pool::ThreadPool;
use quantize::imatrix::{CollectOptions, Format};
use weights::GgufFile;

use crate::args::ImatrixArgs;
use crate::settings;

pub fn run(a: &ImatrixArgs) -> Result<()> {
    let path = settings::resolve_model(Some(&a.model), false)?;
    if path.is_dir() {
        bail!("{} is a Hugging Face folder; an importance matrix is collected from the GGUF file you will quantize (convert it first)", path.display());
    }
    quantize::writer::check_paths(&path, &a.output)?;
    let body = std::fs::read_to_string(&a.text).with_context(|| format!("reading {}", a.text.display()))?;
    // Stacked expert tensors and their expert counts, so each expert gets its own statistics.
    let experts: HashMap<String, usize> = GgufFile::open(&path)?
        .tensor_infos()
        .iter()
        .filter(|t| t.shape.len() == 3)
        .map(|t| (t.name.clone(), t.shape[2]))
        .collect();
    let lm = super::open_model(&path)?;
    let tokens = lm.tokenizer.encode(&body, true, false)?;
    let bos = lm.tokenizer.add_bos().then(|| lm.tokenizer.bos_id()).flatten();
    let pool = ThreadPool::new(settings::threads(a.threads));
    let opts = CollectOptions {
        n_ctx: a.ctx,
        max_chunks: a.chunks,
        process_output: a.process_output,
        dataset: a.text.display().to_string(),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} chunks, eta {eta}")?);
    bar.set_message("collecting");
    let (m, report) = quantize::imatrix::collect(lm.model.as_ref(), &pool, &tokens, bos, experts, &opts, &mut |done, total, ppl| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(format!("collecting, PPL {ppl:.3}"));
    })?;
    bar.finish_and_clear();
    let format = Format::for_path(&a.output);
    for (name, e) in &m.entries {
        let zero = e.counts.iter().filter(|&&c| c == 0).count();
        if zero > 0 {
            eprintln!(
                "warning: '{name}': {zero} of {} experts saw no token ({}); use more text",
                e.counts.len(),
                if format == Format::Dat && zero == e.counts.len() { "left out of the file" } else { "stored as weight 1" }
            );
        }
    }
    m.write(&a.output, format)?;
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["output"] = a.output.display().to_string().into();
        v["format"] = serde_json::to_value(format)?;
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: {} entries from {} chunks of {} tokens (PPL {:.4}) -> {} ({:?})",
            path.display(),
            report.n_entries,
            report.n_chunks,
            report.n_ctx,
            report.ppl,
            a.output.display(),
            format
        );
    }
    Ok(())
}

/// Warns about per-layer tensors an importance matrix does not cover, as llama-quantize does.
pub fn warn_missing(missing: &[String]) {
    if missing.is_empty() {
        return;
    }
    let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
    eprintln!(
        "warning: the importance matrix has no entry for {} tensors ({}{}); they were quantized without it",
        missing.len(),
        shown.join(", "),
        if missing.len() > shown.len() { ", ..." } else { "" }
    );
}
