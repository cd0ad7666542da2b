//! Bad input gets a named error and leaves nothing behind; odd shapes fall back as llama.cpp does.

mod common;

use std::path::Path;

use kernels::GgmlType;
use quantize::{FileType, Options, QuantizeError};
use weights::{GgufFile, GgufWriter};

fn run(input: &Path, output: &Path, ftype: FileType) -> Result<quantize::Report, QuantizeError> {
    let opts = Options { ftype, threads: 2, extra_metadata: Vec::new() };
    quantize::quantize_file(input, output, &opts, &mut |_| {})
}

/// The folder holds exactly `names` (no output, no temp file).
fn only(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    found.sort();
    assert_eq!(found, names, "left behind in {}", dir.display());
}

#[test]
fn unknown_type_names_the_choices() {
    let e = FileType::parse("q4_k_x").unwrap_err().to_string();
    assert!(e.contains("unknown quantization type 'q4_k_x'") && e.contains("Q4_K_M"), "{e}");
}

#[test]
fn truncated_input_is_named_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(common::tiny("tiny-llama/model-f32.gguf")).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &real[..real.len() * 2 / 3]).unwrap();
    let e = run(&cut, &dir.path().join("out.gguf"), FileType::Q8_0).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
    let junk = dir.path().join("junk.gguf");
    std::fs::write(&junk, b"definitely not a model").unwrap();
    let e = run(&junk, &dir.path().join("out.gguf"), FileType::Q8_0).unwrap_err().to_string();
    assert!(e.contains("not a GGUF file"), "{e}");
    only(dir.path(), &["cut.gguf", "junk.gguf"]);
}

#[test]
fn output_in_a_missing_folder_or_onto_the_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.gguf");
    std::fs::copy(common::tiny("tiny-llama/model-f32.gguf"), &input).unwrap();
    let e = run(&input, &dir.path().join("nope/out.gguf"), FileType::Q8_0).unwrap_err();
    assert!(matches!(e, QuantizeError::MissingOutputDir(_)), "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
    let e = run(&input, &input, FileType::Q8_0).unwrap_err();
    assert!(matches!(e, QuantizeError::SameFile(_)), "{e}");
    let e = run(&input, dir.path(), FileType::Q8_0).unwrap_err().to_string();
    assert!(e.contains("is a folder"), "{e}");
    only(dir.path(), &["in.gguf"]);
    // The input is untouched.
    assert_eq!(std::fs::read(&input).unwrap(), std::fs::read(common::tiny("tiny-llama/model-f32.gguf")).unwrap());
}

fn small_model(dir: &Path, row: usize, fill: f32) -> std::path::PathBuf {
    let mut w = GgufWriter::new();
    w.set("general.architecture", "llama");
    w.set("llama.block_count", 1u32);
    let rows = 4;
    let vals: Vec<u8> = (0..row * rows).flat_map(|i| (fill + i as f32 * 0.01).to_le_bytes()).collect();
    w.add_tensor_bytes("blk.0.attn_q.weight", GgmlType::F32, vec![row, rows], vals.clone()).unwrap();
    w.add_tensor_bytes("blk.0.attn_norm.weight", GgmlType::F32, vec![row], vals[..row * 4].to_vec()).unwrap();
    let p = dir.join(format!("small-{row}.gguf"));
    w.write(&p).unwrap();
    p
}

#[test]
fn rows_that_fit_no_block_fall_back_to_f16() {
    let dir = tempfile::tempdir().unwrap();
    let input = small_model(dir.path(), 40, 0.5);
    for ftype in [FileType::Q4KM, FileType::Q4_0, FileType::Q8_0, FileType::Q2K] {
        let out = dir.path().join(format!("{}.gguf", ftype.name()));
        let r = run(&input, &out, ftype).unwrap();
        assert_eq!(r.n_fallback, 1, "{}", ftype.name());
        let g = GgufFile::open(&out).unwrap();
        assert_eq!(g.tensor_info("blk.0.attn_q.weight").unwrap().ty, GgmlType::F16, "{}", ftype.name());
        assert_eq!(g.tensor_info("blk.0.attn_norm.weight").unwrap().ty, GgmlType::F32);
        let why = r.plan.tensors.iter().find_map(|t| t.fallback_from.clone()).unwrap();
        assert!(why.contains("not a multiple"), "{why}");
    }
    // 96-wide rows: K-quants (256) fall back to their 32-element stand-ins.
    let input = small_model(dir.path(), 96, 0.5);
    let out = dir.path().join("q4ks.gguf");
    run(&input, &out, FileType::Q4KS).unwrap();
    assert_eq!(GgufFile::open(&out).unwrap().tensor_info("blk.0.attn_q.weight").unwrap().ty, GgmlType::Q5_0);
}

#[test]
fn non_finite_weights_are_refused_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = small_model(dir.path(), 64, f32::NAN);
    let e = run(&input, &dir.path().join("out.gguf"), FileType::Q8_0).unwrap_err().to_string();
    assert!(e.contains("blk.0.attn_q.weight") && e.contains("non-finite"), "{e}");
    only(dir.path(), &["small-64.gguf"]);
}

#[test]
fn requantizing_is_reported_and_same_type_tensors_are_copied() {
    let dir = tempfile::tempdir().unwrap();
    let q8 = common::tiny("tiny-llama/model-q8_0.gguf");
    let out = dir.path().join("q8-again.gguf");
    let r = run(&q8, &out, FileType::Q8_0).unwrap();
    assert_eq!(r.n_converted, 0, "Q8_0 -> Q8_0 changes nothing");
    assert_eq!(r.n_requantized, 0);
    let (a, b) = (GgufFile::open(&q8).unwrap(), GgufFile::open(&out).unwrap());
    for t in a.tensors() {
        assert_eq!(t.data(), b.tensor(&t.name).unwrap().data(), "{}", t.name);
    }
    let r = run(&q8, &dir.path().join("q4.gguf"), FileType::Q4_0).unwrap();
    assert!(r.n_requantized > 0);
}
