//! `agora merge BASE ADAPTER OUT.gguf [--type T]`: a LoRA adapter folded into its base model.

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use quantize::{FileType, Options};

use crate::args::MergeArgs;
use crate::settings;

pub fn run(a: &MergeArgs) -> Result<()> {
    let ftype = FileType::parse(&a.ty)?;
    let base = settings::resolve_model(Some(&a.base), false)?;
    if base.is_dir() {
        bail!("the base {} is a Hugging Face folder; convert it first (agora convert {} base.gguf), then merge into the GGUF", base.display(), base.display());
    }
    quantize::writer::check_paths(&base, &a.output)?;
    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {percent}% eta {eta}")?);
    bar.set_message(format!("merging into {}", ftype.name()));
    let opts = Options { ftype, threads: settings::threads(a.threads), extra_metadata: Vec::new() };
    let (report, n_adapted) = quantize::merge::merge_lora(&base, &a.adapter, &a.output, &opts, &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    })?;
    bar.finish_and_clear();
    // The merged weights are a fine-tune of the base: card and signed lineage name the base and
    // hash the adapter's files.
    let mut details = std::collections::BTreeMap::new();
    details.insert("type".to_string(), ftype.name().to_string());
    details.insert("adapter".to_string(), a.adapter.display().to_string());
    let extra_inputs = vec![("adapter", a.adapter.join("adapter_model.safetensors")), ("adapter config", a.adapter.join("adapter_config.json"))];
    let (card_path, lineage_path) = super::provenance::record(super::provenance::Made {
        input: &base,
        output: &a.output,
        relation: card::Relation::Finetune,
        details,
        extra_inputs,
        model_index: None,
        extra_md: None,
        datasets: Vec::new(),
    })?;
    if a.json {
        let v = serde_json::json!({
            "base": base, "adapter": a.adapter, "output": report.output, "type": report.ftype,
            "adapted_tensors": n_adapted, "tensors": report.n_tensors, "output_bytes": report.output_bytes, "seconds": report.seconds,
            "card": card_path, "lineage": lineage_path,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "merged {} ({n_adapted} adapted tensors) into {}: {} tensors, {:.1} MB, {:.1} s",
            a.adapter.display(),
            report.output.display(),
            report.n_tensors,
            report.output_bytes as f64 / 1e6,
            report.seconds
        );
    }
    Ok(())
}
