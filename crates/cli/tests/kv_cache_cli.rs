//! `--cache-type-k/-v` (`-ctk/-ctv`) on the command line: q8_0 caches run on the real model,
//! unknown types and types the model cannot use are named errors with a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::Command;

fn agora(args: &[&str], home: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agora")).args(args).env("AGORA_HOME", home).output().expect("run agora");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "agora {args:?} panicked: {stderr}");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

fn tiny(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

#[test]
fn bench_runs_with_q8_0_cache() {
    let dir = tempfile::tempdir().unwrap();
    let model = store::test_model_path();
    let m = model.to_str().unwrap();
    let (code, out, err) = agora(&["bench", m, "--accept-license", "-p", "32", "-n", "4", "-r", "1", "-t", "2", "-ctk", "q8_0", "-ctv", "q8_0", "--json"], dir.path());
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("bench --json output");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{out}");
    assert!(results.iter().all(|r| r["tokens_per_second"].as_f64().unwrap() > 0.0), "{out}");
    // The long spellings and a mix of types work too.
    let (code, _, err) = agora(&["bench", m, "-p", "8", "-n", "2", "-r", "1", "--cache-type-k", "f16", "--cache-type-v=q8_0"], dir.path());
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn unknown_cache_type_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = tiny("tiny-llama/model-f32.gguf");
    for args in [vec!["bench", gguf.to_str().unwrap(), "-ctk", "q4"], vec!["run", gguf.to_str().unwrap(), "-ctv=q4", "hi"]] {
        let (code, _, err) = agora(&args, dir.path());
        assert!(code.is_some_and(|c| c != 0), "{args:?} should fail");
        assert!(err.contains("'q4'") && err.contains("f32, f16 or q8_0"), "{args:?}: {err}");
    }
}

#[test]
fn q8_0_cache_needs_head_dim_multiple_of_32() {
    let dir = tempfile::tempdir().unwrap();
    // tiny-llama has head_dim 16.
    let gguf = tiny("tiny-llama/model-f32.gguf");
    let (code, _, err) = agora(&["run", gguf.to_str().unwrap(), "-n", "2", "-ctk", "q8_0", "hi"], dir.path());
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("q8_0") && err.contains("multiple of 32") && err.contains("16"), "{err}");
    // f16 works for it.
    let (code, _, err) = agora(&["run", gguf.to_str().unwrap(), "-n", "2", "-ctk", "f16", "-ctv", "f16", "hi"], dir.path());
    assert_eq!(code, Some(0), "{err}");
}
