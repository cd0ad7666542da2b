//! `agora quantize` and `agora kld` end to end on the tiny fixture model.

use std::path::{Path, PathBuf};

mod run_util;

use run_util::{agora, testdata as tiny};

fn text_file(dir: &Path) -> PathBuf {
    let p = dir.join("text.txt");
    let body = "once upon a time there was a little cat who liked to sit in the sun and watch the birds. ".repeat(12);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn quantize_reports_json_and_refuses_unknown_types() {
    let dir = tempfile::tempdir().unwrap();
    let input = tiny("tiny-llama/model-f32.gguf");
    let out = dir.path().join("q8.gguf");
    let (ok, _, err) = agora(&["quantize", input.to_str().unwrap(), out.to_str().unwrap(), "--type", "Q9_9"], dir.path());
    assert!(!ok && err.contains("unknown quantization type 'Q9_9'") && err.contains("Q4_K_M"), "{err}");
    assert!(!out.exists());
    let (ok, stdout, err) =
        agora(&["quantize", input.to_str().unwrap(), out.to_str().unwrap(), "--type", "q8_0", "--json", "-t", "2"], dir.path());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!(v["ftype"], "Q8_0");
    assert_eq!(v["llama_ftype"], 7);
    assert!(v["n_converted"].as_u64().unwrap() > 0);
    assert!(!err.contains("warning"), "F32 input must not warn: {err}");
    // Quantizing the Q8_0 output again warns that precision is lost twice.
    let again = dir.path().join("q4.gguf");
    let (ok, _, err) = agora(&["quantize", out.to_str().unwrap(), again.to_str().unwrap(), "--type", "Q4_0"], dir.path());
    assert!(ok && err.contains("warning") && err.contains("already quantized"), "{err}");
    let (ok, _, err) =
        agora(&["quantize", input.to_str().unwrap(), dir.path().join("no/such/dir/x.gguf").to_str().unwrap(), "--type", "Q8_0"], dir.path());
    assert!(!ok && err.contains("does not exist"), "{err}");
}

#[test]
fn kld_compares_a_model_with_its_quantization() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny("tiny-llama/model-f32.gguf");
    let text = text_file(dir.path());
    let (ok, stdout, err) = agora(
        &["kld", base.to_str().unwrap(), base.to_str().unwrap(), "--text", text.to_str().unwrap(), "--ctx", "32", "--json"],
        dir.path(),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["kld_mean"].as_f64().unwrap(), 0.0, "a model against itself");
    assert_eq!(v["top1_agreement"].as_f64().unwrap(), 1.0);
    let q4 = dir.path().join("q4.gguf");
    assert!(agora(&["quantize", base.to_str().unwrap(), q4.to_str().unwrap(), "--type", "Q4_0"], dir.path()).0);
    let (ok, stdout, err) =
        agora(&["kld", base.to_str().unwrap(), q4.to_str().unwrap(), "--text", text.to_str().unwrap(), "--ctx", "32"], dir.path());
    assert!(ok && stdout.contains("Mean KLD") && stdout.contains("Same top token"), "{stdout}{err}");
    let other = tiny("tiny-gemma3/model-f32.gguf");
    let (ok, _, err) =
        agora(&["kld", base.to_str().unwrap(), other.to_str().unwrap(), "--text", text.to_str().unwrap(), "--ctx", "32"], dir.path());
    assert!(!ok && err.starts_with("error:"), "{err}");
    let (ok, _, err) =
        agora(&["kld", base.to_str().unwrap(), q4.to_str().unwrap(), "--text", text.to_str().unwrap(), "--ctx", "100000"], dir.path());
    assert!(!ok && err.contains("--ctx"), "{err}");
}

#[test]
fn certify_writes_figures_into_metadata_and_card() {
    let dir = tempfile::tempdir().unwrap();
    let base = tiny("tiny-llama/model-f32.gguf");
    let text = text_file(dir.path());
    let out = dir.path().join("tiny-q4_k_m.gguf");
    let (ok, stdout, err) = agora(
        &["quantize", base.to_str().unwrap(), out.to_str().unwrap(), "--type", "Q4_K_M", "--certify", text.to_str().unwrap(), "--ctx", "32", "--json"],
        dir.path(),
    );
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let kld = v["kld"]["kld_mean"].as_f64().unwrap();
    assert!(kld > 0.0 && kld.is_finite());
    let g = weights::GgufFile::open(&out).unwrap();
    assert_eq!(g.metadata().get_f64("agora.quality.kld_mean").unwrap(), kld);
    assert_eq!(g.metadata().get_str("agora.lineage.base").unwrap(), "model-f32.gguf");
    let card = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(card.starts_with("---\n") && card.contains("model-index:") && card.contains("type: kl_divergence"), "{card}");
    // A second certified output beside it keeps the first card.
    let out2 = dir.path().join("tiny-q8_0.gguf");
    assert!(agora(&["quantize", base.to_str().unwrap(), out2.to_str().unwrap(), "--type", "Q8_0", "--certify", text.to_str().unwrap(), "--ctx", "32"], dir.path()).0);
    assert!(dir.path().join("tiny-q8_0.README.md").is_file());
    assert_eq!(std::fs::read_to_string(dir.path().join("README.md")).unwrap(), card);
}
