//! `--imatrix` with the wrong matrix: from another model, partial, damaged; and what the output records.

mod common;

use std::path::{Path, PathBuf};

use quantize::imatrix::Imatrix;
use quantize::writer::ImatrixUse;
use quantize::{FileType, Options, QuantizeError};
use weights::GgufFile;

fn data(name: &str) -> PathBuf {
    common::repo().join("testdata/imatrix").join(name)
}

fn run(input: &Path, output: &Path, ftype: FileType, im: &ImatrixUse) -> Result<quantize::Report, QuantizeError> {
    let opts = Options { ftype, threads: 2, extra_metadata: Vec::new() };
    quantize::quantize_file_with_imatrix(input, output, &opts, Some(im), &mut |_| {})
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn imatrix_of_another_model_names_the_first_mismatch() {
    // tiny-llama's matrix (64/128 columns) against tiny-qwen3moe: same tensor names, other sizes.
    let dir = tempfile::tempdir().unwrap();
    let im = ImatrixUse::load(&data("tiny-llama-llamacpp.dat")).unwrap();
    let moe = common::tiny("tiny-qwen3moe/model-bf16.gguf");
    let e = run(&moe, &dir.path().join("out.gguf"), FileType::Q8_0, &im).unwrap_err().to_string();
    assert!(e.contains("another model") && e.contains("blk.0."), "{e}");
    // An entry naming a tensor the model lacks (tiny-qwen3moe's experts, against tiny-llama).
    let mut im = ImatrixUse::load(&data("tiny-qwen3moe-llamacpp.gguf")).unwrap();
    im.matrix.entries.retain(|k, _| k.contains("_exps"));
    let e = run(&common::tiny("tiny-llama/model-f32.gguf"), &dir.path().join("out.gguf"), FileType::Q8_0, &im)
        .unwrap_err()
        .to_string();
    assert!(e.contains("which this model does not have") && e.contains("another model"), "{e}");
    assert!(files(dir.path()).is_empty(), "nothing written: {:?}", files(dir.path()));
}

#[test]
fn partial_imatrix_reports_the_missing_tensors_and_still_quantizes() {
    let dir = tempfile::tempdir().unwrap();
    let mut im = ImatrixUse::load(&data("tiny-llama-llamacpp.gguf")).unwrap();
    im.matrix.entries.retain(|k, _| k.starts_with("blk.0."));
    let out = dir.path().join("out.gguf");
    let r = run(&common::tiny("tiny-llama/model-f32.gguf"), &out, FileType::Q4_0, &im).unwrap();
    let cov = &r.imatrix.as_ref().unwrap().coverage;
    assert_eq!(cov.used, 7);
    assert_eq!(cov.missing.len(), 7);
    assert!(cov.missing.iter().all(|n| n.starts_with("blk.1.")), "{:?}", cov.missing);
    assert!(out.exists());
}

#[test]
fn damaged_imatrix_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(data("tiny-llama-llamacpp.dat")).unwrap();
    let cut = dir.path().join("cut.dat");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let e = ImatrixUse::load(&cut).err().unwrap().to_string();
    assert!(e.contains("cut.dat") && e.contains("truncated"), "{e}");
    // NaN weights are refused before any work, naming the entry.
    let mut im = ImatrixUse::load(&data("tiny-llama-llamacpp.dat")).unwrap();
    im.matrix.entries.get_mut("blk.1.ffn_up.weight").unwrap().sums[3] = f32::NAN;
    let e = run(&common::tiny("tiny-llama/model-f32.gguf"), &dir.path().join("out.gguf"), FileType::Q4_0, &im)
        .unwrap_err()
        .to_string();
    assert!(e.contains("blk.1.ffn_up.weight") && e.contains("non-finite"), "{e}");
    // A model file is not an importance matrix.
    let e = Imatrix::read(&common::tiny("tiny-llama/model-f32.gguf")).unwrap_err().to_string();
    assert!(e.contains("not an importance matrix"), "{e}");
    assert_eq!(files(dir.path()), vec!["cut.dat".to_string()]);
}

#[test]
fn output_records_the_imatrix_like_llama_quantize() {
    let dir = tempfile::tempdir().unwrap();
    let im = ImatrixUse::load(&data("tiny-llama-llamacpp.dat")).unwrap();
    let out = dir.path().join("out.gguf");
    run(&common::tiny("tiny-llama/model-f32.gguf"), &out, FileType::Q4KM, &im).unwrap();
    let g = GgufFile::open(&out).unwrap();
    let md = g.metadata();
    assert_eq!(md.get_str("quantize.imatrix.file").unwrap(), im.file);
    assert_eq!(md.get_str("quantize.imatrix.dataset").unwrap(), "gpl-3.txt");
    assert_eq!(md.get_u32("quantize.imatrix.entries_count").unwrap(), 14);
    assert_eq!(md.get_u32("quantize.imatrix.chunks_count").unwrap(), 8);
    let sha = md.get_str("quantize.imatrix.sha256").unwrap();
    assert_eq!(sha.len(), 64);
    assert_eq!(sha, im.sha256);
}
