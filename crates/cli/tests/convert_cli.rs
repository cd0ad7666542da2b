//! `agora convert` and `agora quantize` of a Hugging Face folder, end to end through the binary.

use std::path::Path;

mod run_util;

use run_util::{agora, testdata as tiny};

#[test]
fn convert_writes_a_runnable_gguf_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("qwen3-f16.gguf");
    let input = tiny("tiny-qwen3");
    let (ok, stdout, err) = agora(&["convert", input.to_str().unwrap(), out.to_str().unwrap(), "--type", "f16", "--json", "-t", "2"], dir.path());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!((v["source"].as_str(), v["architecture"].as_str(), v["out_type"].as_str()), (Some("huggingface"), Some("qwen3"), Some("F16")));
    assert_eq!(v["types"]["F16"], 15);
    assert_eq!(v["n_vocab"], 512);
    // The file runs: the same greedy text as the folder.
    let run = |m: &Path| {
        let (ok, stdout, err) = agora(&["run", m.to_str().unwrap(), "Once upon a time", "-n", "8", "--temp", "0", "-t", "2"], dir.path());
        assert!(ok && stdout.len() > "Once upon a time".len(), "{err}");
        stdout
    };
    assert_eq!(run(&out), run(&input));
    // Bad type: a clear error, no output.
    let bad = dir.path().join("bad.gguf");
    let (ok, _, err) = agora(&["convert", input.to_str().unwrap(), bad.to_str().unwrap(), "--type", "q4_k_m"], dir.path());
    assert!(!ok && err.contains("'q4_k_m' is not a conversion type") && err.contains("agora quantize"), "{err}");
    assert!(!bad.exists());
}

#[test]
fn quantize_takes_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mixtral-q8.gguf");
    let input = tiny("tiny-mixtral");
    let (ok, stdout, err) = agora(&["quantize", input.to_str().unwrap(), out.to_str().unwrap(), "--type", "Q8_0", "--json", "-t", "2"], dir.path());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(v["ftype"], "Q8_0");
    assert!(v["n_converted"].as_u64().unwrap() >= 15, "{v}");
    assert!(!err.contains("already quantized"), "a folder is not re-quantization: {err}");
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains("convert")), "temporary file left: {names:?}");
    let (ok, stdout, err) = agora(&["run", out.to_str().unwrap(), "Once upon a time", "-n", "4", "--temp", "0", "-t", "2"], dir.path());
    assert!(ok && !stdout.is_empty(), "{err}");
}
