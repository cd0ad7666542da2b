//! `agora convert IN OUT [--type f32|f16|bf16|q8_0]`: a Hugging Face folder (or any GGUF) to GGUF.

use std::path::PathBuf;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use quantize::convert::{self, OutType};

use crate::args::ConvertArgs;
use crate::settings;

pub fn run(a: &ConvertArgs) -> Result<()> {
    let out_type = a.ty.as_deref().map(OutType::parse).transpose()?;
    let path = PathBuf::from(&a.input);
    // A path that exists is used as is; anything else is a name in the store.
    let input = if path.exists() { path } else { settings::resolve_model(Some(&a.input), false)? };
    let opts = convert::Options { out_type, threads: settings::threads(a.threads), name: a.name.clone() };

    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {percent}% {wide_msg:.dim} eta {eta}")?);
    bar.set_message("converting");
    let report = convert::convert(&input, &a.output, &opts, &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    })?;
    bar.finish_and_clear();

    // Card, lineage and license keys: what the output inherits and how it was made.
    let relation = if report.out_type == OutType::Q8_0 { card::Relation::Quantized } else { card::Relation::Converted };
    let (art, bases, _) = super::provenance::describe_input(&input)?;
    let keys = super::provenance::gguf_keys(&super::provenance::terms_of(&art, relation), &bases);
    quantize::writer::add_metadata(&a.output, &keys)?;
    let mut details = std::collections::BTreeMap::new();
    details.insert("type".to_string(), format!("{:?}", report.out_type));
    details.insert("source format".to_string(), report.source.to_string());
    details.insert("architecture".to_string(), report.architecture.to_string());
    let (card_path, lineage_path) = super::provenance::record(super::provenance::Made {
        input: &input,
        output: &a.output,
        relation,
        details,
        extra_inputs: Vec::new(),
        model_index: None,
        extra_md: None,
        datasets: Vec::new(),
    })?;

    if a.json {
        let mut v = serde_json::to_value(&report)?;
        v["card"] = card_path.display().to_string().into();
        v["lineage"] = lineage_path.display().to_string().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let mix: Vec<String> = report.types.iter().map(|(k, n)| format!("{n} {k}")).collect();
        println!(
            "{} ({}, {}) -> {} ({:?}): {} tensors ({}), vocabulary {}, {:.1} MiB in {:.2} s",
            report.input.display(),
            report.source,
            report.architecture,
            report.output.display(),
            report.out_type,
            report.n_tensors,
            mix.join(", "),
            report.n_vocab,
            report.output_bytes as f64 / 1048576.0,
            report.seconds
        );
        println!("card: {}\nlineage: {}", card_path.display(), lineage_path.display());
    }
    Ok(())
}
