//! `agora quantize IN OUT --type TYPE [--imatrix FILE] [--certify TEXT]`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use quantize::{FileType, Options, Plan};
use weights::GgufFile;

use crate::args::QuantizeArgs;
use crate::settings;

pub fn run(a: &QuantizeArgs) -> Result<()> {
    let ftype = FileType::parse(&a.ty)?;
    let input = settings::resolve_model(Some(&a.input), false)?;
    quantize::writer::check_paths(&input, &a.output)?;
    if let Some(t) = &a.certify {
        if !t.is_file() {
            bail!("--certify {}: no such text file", t.display());
        }
    }
    if !input.is_dir() {
        warn_requantize(&input, ftype)?;
    }
    let imat = a.imatrix.as_deref().map(quantize::ImatrixUse::load).transpose()?;

    let threads = settings::threads(a.threads);
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {percent}% {wide_msg:.dim} eta {eta}")?);
    bar.set_message(format!("quantizing to {}", ftype.name()));
    // The license and base model keys llama.cpp's converter writes, from the input's card.
    let (art, bases, _) = super::provenance::describe_input(&input)?;
    let extra_metadata = super::provenance::gguf_keys(&super::provenance::terms_of(&art, card::Relation::Quantized), &bases);
    let opts = Options { ftype, threads, extra_metadata };
    let mut progress = |p: quantize::Progress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let report = if input.is_dir() {
        // A Hugging Face folder: converted losslessly to a temporary GGUF first (removed afterwards).
        quantize::convert::quantize_hf(&input, &a.output, &opts, imat.as_ref(), &mut progress)?
    } else {
        quantize::quantize_file_with_imatrix(&input, &a.output, &opts, imat.as_ref(), &mut progress)?
    };
    bar.finish_and_clear();
    if let Some(im) = &report.imatrix {
        super::imatrix::warn_missing(&im.coverage.missing);
    }

    let certified = match &a.certify {
        Some(text) => Some(certify(&input, &a.output, text, a.ctx, a.threads, ftype)?),
        None => None,
    };
    let mut details = BTreeMap::new();
    details.insert("type".to_string(), ftype.name().to_string());
    let mut extra_inputs: Vec<(&'static str, PathBuf)> = Vec::new();
    if let Some(im) = &a.imatrix {
        details.insert("imatrix".to_string(), im.display().to_string());
        extra_inputs.push(("imatrix", im.clone()));
    }
    if let Some(t) = &a.certify {
        details.insert("certified on".to_string(), format!("{} (ctx {})", t.display(), a.ctx));
        extra_inputs.push(("text", t.clone()));
    }
    let (model_index, extra_md) = match &certified {
        Some((_, c)) => (c.0.clone(), Some(c.1.clone())),
        None => (None, None),
    };
    let (card_path, lineage_path) = super::provenance::record(super::provenance::Made {
        input: &input,
        output: &a.output,
        relation: card::Relation::Quantized,
        details,
        extra_inputs,
        model_index,
        extra_md,
        datasets: Vec::new(),
    })?;
    if a.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some((k, _)) = &certified {
            v["kld"] = serde_json::to_value(k)?;
        }
        v["card"] = card_path.display().to_string().into();
        v["lineage"] = lineage_path.display().to_string().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for t in &report.plan.tensors {
            *counts.entry(t.to.name()).or_default() += 1;
        }
        let mix: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "{} -> {} ({}): {} tensors ({}), {:.1} MiB -> {:.1} MiB in {:.2} s on {} threads",
            report.input.display(),
            report.output.display(),
            report.ftype,
            report.n_tensors,
            mix.join(", "),
            report.input_bytes as f64 / 1048576.0,
            report.output_bytes as f64 / 1048576.0,
            report.seconds,
            report.threads
        );
        if let Some(im) = &report.imatrix {
            println!("importance matrix {} ({} entries, {} chunks) weighed {} tensors", im.file, im.entries, im.chunks, im.coverage.used);
        }
        if report.n_fallback > 0 {
            println!("{} tensors used a fallback type (row length not a multiple of the block size)", report.n_fallback);
        }
        if let Some((k, _)) = &certified {
            super::kld::print_report(k);
        }
        println!("card: {}\nlineage: {}", card_path.display(), lineage_path.display());
    }
    Ok(())
}

fn warn_requantize(input: &std::path::Path, ftype: FileType) -> Result<()> {
    let plan = Plan::for_file(&GgufFile::open(input)?, ftype)?;
    let mut from: Vec<&str> = plan.requantized().map(|t| t.from.name()).collect();
    if !from.is_empty() {
        let n = from.len();
        from.sort_unstable();
        from.dedup();
        eprintln!(
            "warning: {n} tensors are already quantized ({}); quantizing them again adds to their error. \
             Quantize from the F16/BF16/F32 original when you have it.",
            from.join(", ")
        );
    }
    Ok(())
}

/// Measures the output against the input and records the figures in its metadata; returns the
/// report with the card's `model-index` and figure table (the card itself is written by
/// `provenance::record`, the one card writer).
fn certify(
    input: &std::path::Path,
    output: &std::path::Path,
    text: &std::path::Path,
    ctx: usize,
    threads: Option<usize>,
    ftype: FileType,
) -> Result<(quantize::KldReport, (Option<serde_json::Value>, String))> {
    let r = super::kld::measure(input, output, text, ctx, threads)?;
    let c = quantize::certify::Certificate::new(input, output, text, ftype, &r);
    quantize::writer::add_metadata(output, &c.metadata())?;
    // The certificate's card text is parsed for its model-index and figure table.
    let parsed = card::Card::parse(&c.card(), card::CardKind::Model)?;
    let table = parsed.body.split_once("\n\n").map_or(parsed.body.as_str(), |(_, rest)| rest).trim().to_string();
    Ok((r, (parsed.model_index, table)))
}
