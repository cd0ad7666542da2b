//! The `agora` binary on bad input: a one-line error that names the problem, a non-zero exit,
//! never a panic.

use std::path::{Path, PathBuf};
use std::process::Command;

use weights::gguf::GgufWriter;

fn agora(args: &[&str], home: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agora")).args(args).env("AGORA_HOME", home).output().expect("run agora");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "agora {args:?} panicked: {stderr}");
    (out.status.success(), stderr)
}

fn tiny(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

#[test]
fn truncated_and_foreign_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let real = std::fs::read(tiny("tiny-llama/model-f32.gguf")).unwrap();
    let cut = dir.path().join("cut.gguf");
    std::fs::write(&cut, &real[..real.len() / 2]).unwrap();
    let (ok, err) = agora(&["run", cut.to_str().unwrap(), "hi"], dir.path());
    assert!(!ok && err.contains("truncated"), "{err}");
    let text = dir.path().join("notes.gguf");
    std::fs::write(&text, b"this is not a model at all").unwrap();
    let (ok, err) = agora(&["info", text.to_str().unwrap()], dir.path());
    assert!(!ok && err.contains("not a GGUF file"), "{err}");
    let (ok, err) = agora(&["run", dir.path().join("missing.gguf").to_str().unwrap(), "hi"], dir.path());
    assert!(!ok && err.starts_with("error:"), "{err}");
}

#[test]
fn unknown_architecture_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mystery.gguf");
    let mut w = GgufWriter::new();
    w.set("general.architecture", "mystery9");
    w.write(&path).unwrap();
    let (ok, err) = agora(&["run", path.to_str().unwrap(), "hi"], dir.path());
    assert!(!ok && err.contains("unknown model architecture 'mystery9'"), "{err}");
}

#[test]
fn context_overflow_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny("tiny-llama/model-f32.gguf");
    let prompt = "once upon a time ".repeat(20);
    let (ok, err) = agora(&["run", model.to_str().unwrap(), "--ctx", "16", &prompt], dir.path());
    assert!(!ok && err.contains("--ctx"), "{err}");
}

#[test]
fn run_streams_and_reports_json_on_a_tiny_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny("tiny-llama/model-f32.gguf");
    let out = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["run", model.to_str().unwrap(), "-n", "5", "--temp", "0", "--json", "Once upon a time"])
        .env("AGORA_HOME", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["tokens"].as_array().unwrap().len(), 5);
    assert!(v["timings"]["generate_seconds"].as_f64().is_some());
}

#[test]
fn every_zoo_architecture_runs_from_its_hf_folder_and_its_gguf() {
    let dir = tempfile::tempdir().unwrap();
    for arch in ["qwen2", "mistral", "qwen3", "phi3", "gemma2", "falcon", "falcon40b", "mixtral", "qwen3moe", "qwen2moe", "phi3-longrope"] {
        let folder = tiny(&format!("tiny-{arch}"));
        for model in [folder.clone(), folder.join("model-bf16.gguf")] {
            let out = Command::new(env!("CARGO_BIN_EXE_agora"))
                .args(["run", model.to_str().unwrap(), "-n", "4", "--temp", "0", "--json", "Once upon a time"])
                .env("AGORA_HOME", dir.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{}: {}", model.display(), String::from_utf8_lossy(&out.stderr));
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            assert!(!v["tokens"].as_array().unwrap().is_empty(), "{}: no tokens", model.display());
        }
    }
}

/// `--ctx` reaches the loader: a long-rope model run within its original context (16 tokens for the
/// tiny fixture) uses the short RoPE factors, beyond it the long ones, so greedy output differs.
#[test]
fn run_ctx_chooses_the_long_rope_factors() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny("tiny-phi3-longrope");
    let tokens = |ctx: &str| -> Vec<serde_json::Value> {
        let out = Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(["run", model.to_str().unwrap(), "-c", ctx, "-n", "4", "--temp", "0", "--json", "Once upon a time"])
            .env("AGORA_HOME", dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "-c {ctx}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["tokens"].as_array().unwrap().clone()
    };
    let (short, long) = (tokens("16"), tokens("64"));
    assert_eq!(short.len(), 4);
    assert_ne!(short, long, "the context size did not change the RoPE factors");
}

#[test]
fn bad_guard_policies_are_named_before_anything_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, err) = agora(&["serve", "--guard", "/no/such/policy.yaml", "--port", "0"], dir.path());
    assert!(!ok && err.contains("cannot read guard policy") && err.contains("standard, strict"), "{err}");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "input:\n  pii: sometimes\n").unwrap();
    let (ok, err) = agora(&["serve", "--guard", bad.to_str().unwrap(), "--port", "0"], dir.path());
    assert!(!ok && err.contains("input.pii") && err.contains("redact"), "{err}");
}
