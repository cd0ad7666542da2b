//! `agora license`, `agora card`, `agora lineage`, `agora keys` and license acceptance, end to end
//! with the real binary (and the real Gemma model where a real license is needed).

use std::path::Path;
use std::process::Command;

mod run_util;

use run_util::{agora, testdata};

#[test]
fn license_check_what_if_verdicts_and_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let (ok, out, err) = agora(&["license", "check", "--base", "apache-2.0,cc-by-nc-4.0", "--relation", "merge", "--use", "commercial"], h);
    assert!(!ok && out.contains("[cc-by-nc-4.0 §2(a)(1)]") && err.contains("conflict"), "{out}{err}");
    let (ok, out, _) = agora(&["license", "check", "--base", "apache-2.0,cc-by-nc-4.0", "--relation", "merge", "--use", "research", "--json"], h);
    assert!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["conflicts"].as_array().unwrap().len(), 0);
    assert!(v["required"].as_array().unwrap().iter().any(|r| r["license"] == "apache-2.0" && r["clause"] == "§4(d)"));
    let (ok, out, _) = agora(&["license", "check", "--base", "llama3.1", "--relation", "finetune", "--name", "MyBot"], h);
    assert!(!ok && out.contains("must begin with \"Llama\"") && out.contains("§1.b.i"), "{out}");
    assert!(agora(&["license", "check", "--base", "llama3.1", "--relation", "finetune", "--name", "Llama-MyBot"], h).0);
    let (ok, out, _) = agora(&["license", "check", "--base", "llama2", "--relation", "distill", "--use", "research"], h);
    assert!(!ok && out.contains("§1.b.v"), "{out}");
    // Bad input: clear errors, never a panic.
    let (ok, _, err) = agora(&["license", "check", "--base", "mit", "--relation", "cooked"], h);
    assert!(!ok && err.contains("unknown relation \"cooked\""), "{err}");
    let (ok, _, err) = agora(&["license", "check", "--base", "mit"], h);
    assert!(!ok && err.contains("--relation"), "{err}");
    let (ok, out, err) = agora(&["license", "check", "--base", "made-up-license", "--relation", "quantized", "--use", "personal"], h);
    assert!(!ok && err.contains("not in the knowledge base") && out.contains("unknown terms"), "{out}{err}");
    let (ok, out, _) = agora(&["license", "list"], h);
    assert!(ok && out.contains("llama3.3") && out.contains("tongyi-qianwen"), "{out}");
}

#[test]
fn the_gemma_store_model_card_and_license() {
    let model = store::test_model_path();
    let m = model.to_str().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (ok, out, err) = agora(&["card", m, "--json"], home.path());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["artifact"]["license"], "gemma");
    assert_eq!(v["artifact"]["base_models"][0], "google/gemma-3-270m");
    assert_eq!(v["artifact"]["relation"], "quantized");
    assert_eq!(v["acceptance_required"][0], "gemma");
    assert!(v["generated_card"].as_str().unwrap().contains("prohibited_use_policy"));
    assert!(v["attribution"].as_array().unwrap().iter().any(|a| a.as_str().unwrap().starts_with("Gemma is provided under")));
    let (ok, out, err) = agora(&["license", "check", m, "--use", "commercial"], home.path());
    assert!(ok && out.contains("[gemma §3.2]") && out.contains("conflicts: none"), "{out}{err}");
    let (ok, out, _) = agora(&["info", m], home.path());
    assert!(ok && out.contains("attribution: Gemma is provided under"), "{out}");
}

#[test]
fn gated_models_need_acceptance_without_a_terminal() {
    let model = store::test_model_path();
    let home = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_agora"))
            .args(["run", model.to_str().unwrap(), "-n", "1", "--temp", "0", "-t", "2"])
            .args(extra)
            .arg("Hi")
            .env("AGORA_HOME", home.path())
            .env_remove("AGORA_ACCEPT_LICENSES")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = run(&[]);
    assert!(!ok && err.contains("--accept-license") && err.contains("Gemma Terms of Use") && err.contains("agora license accept gemma"), "{err}");
    assert!(!home.path().join("acceptances.json").exists());
    let (ok, err) = run(&["--accept-license"]);
    assert!(ok, "{err}");
    let rec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.path().join("acceptances.json")).unwrap()).unwrap();
    assert_eq!(rec[0]["license"], "gemma");
    assert_eq!(rec[0]["version"], "Last modified March 24, 2025");
    assert!(!rec[0]["user"].as_str().unwrap().is_empty() && rec[0]["at"].as_str().unwrap().ends_with('Z'));
    // Recorded once: later runs need no flag.
    let (ok, err) = run(&[]);
    assert!(ok, "{err}");
}

fn flip(p: &Path) {
    let mut b = std::fs::read(p).unwrap();
    let n = b.len() / 2;
    b[n] ^= 0x40;
    std::fs::write(p, b).unwrap();
}

#[test]
fn quantize_and_convert_leave_a_card_and_a_verifiable_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let home = d.join("home");
    let base = d.join("base.gguf");
    std::fs::copy(testdata("tiny-llama/model-f32.gguf"), &base).unwrap();
    std::fs::write(d.join("base.README.md"), "---\nlicense: llama3.1\nbase_model: meta-llama/Llama-3.1-8B\nbase_model_relation: finetune\n---\n# base\n").unwrap();
    let f16 = d.join("conv.gguf");
    let (ok, _, err) = agora(&["convert", base.to_str().unwrap(), f16.to_str().unwrap(), "--type", "f16"], &home);
    assert!(ok, "{err}");
    let q = d.join("q.gguf");
    let (ok, out, err) = agora(&["quantize", f16.to_str().unwrap(), q.to_str().unwrap(), "--type", "q8_0", "--json"], &home);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let card_path = v["card"].as_str().unwrap().to_string();
    let card = std::fs::read_to_string(&card_path).unwrap();
    assert!(card.contains("license: llama3.1") && card.contains("base_model_relation: quantized"), "{card}");
    assert!(card.contains("Built with Llama") && card.contains("Llama 3.1 is licensed under the Llama 3.1 Community License"), "{card}");
    assert!(card.contains("## Intended use\n\nunknown") && card.contains("--type q8_0"), "{card}");
    let g = weights::GgufFile::open(&q).unwrap();
    assert_eq!(g.metadata().get_str("general.license").unwrap(), "llama3.1");
    assert!(g.metadata().get_str("general.base_model.0.name").is_ok_and(|n| card.contains(&format!("base_model: {n}"))), "{card}");
    // The finetuned input's name is not "Llama...": the check flags the naming rule up the chain.
    let (ok, out, _) = agora(&["license", "check", q.to_str().unwrap(), "--name", "MyBot"], &home);
    assert!(!ok && out.contains("must begin with \"Llama\""), "{out}");
    let (ok, out, err) = agora(&["lineage", "verify", q.to_str().unwrap()], &home);
    assert!(ok && out.contains("link 1: conv.gguf") && out.contains("ok: 2 link(s)"), "{out}{err}");
    flip(&f16);
    let (ok, _, err) = agora(&["lineage", "verify", q.to_str().unwrap()], &home);
    assert!(!ok && err.contains("link 0") && err.contains("base input") && err.contains("conv.gguf"), "{err}");
    let (ok, _, err) = agora(&["lineage", "verify", base.to_str().unwrap()], &home);
    assert!(!ok && err.contains("no lineage record"), "{err}");
}

#[test]
fn keys_new_and_show() {
    let home = tempfile::tempdir().unwrap();
    let (ok, _, err) = agora(&["keys", "show"], home.path());
    assert!(!ok && err.contains("agora keys new"), "{err}");
    let (ok, out, err) = agora(&["keys", "new"], home.path());
    assert!(ok && out.contains("fingerprint"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(home.path().join("keys/agora_ed25519")).unwrap().permissions().mode();
        assert_eq!(m & 0o777, 0o600);
    }
    let (ok, _, err) = agora(&["keys", "new"], home.path());
    assert!(!ok && err.contains("--force"), "{err}");
    let (ok, out, _) = agora(&["keys", "show", "--json"], home.path());
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(ok && v["public_key"].as_str().unwrap().len() == 64);
}
