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

    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
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
    }
    Ok(())
}
