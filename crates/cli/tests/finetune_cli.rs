//! `agora finetune` end to end on the tiny fixtures: the loss falls, the output folder holds a
//! PEFT adapter that the real `peft` library loads with the same logits as `agora run --lora`,
//! a card and a verifiable lineage record; Ctrl-C saves a checkpoint and resuming from it ends
//! with the same adapter, bit for bit, as a run that was never stopped.
//! Python with torch + transformers + peft: $AGORA_TEST_PYTHON, else `python3`.

mod run_util;

use std::path::{Path, PathBuf};
use std::process::Command;

use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LoadOptions, LogitsWanted};
use run_util::{agora, testdata};

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

/// The first `n` lines of a fictional-kb file, as a dataset in `dir`.
fn data(dir: &Path, name: &str, src: &str, n: usize) -> PathBuf {
    let text = std::fs::read_to_string(repo(src)).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn python() -> String {
    std::env::var("AGORA_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn finetune_args<'a>(base: &'a str, train: &'a str, out: &'a str) -> Vec<&'a str> {
    vec!["finetune", base, "--data", train, "--out", out, "--max-len", "256", "--rank", "4", "--lr", "5e-3", "--warmup", "2", "-t", "2"]
}

fn agora_logits(base: &Path, adapter: &Path, ids: &[u32]) -> Vec<f32> {
    let lm = LoadedModel::open_with(base, &LoadOptions { n_ctx: None, lora: Some(adapter.to_path_buf()), ..Default::default() }).unwrap();
    let pool = ThreadPool::new(2);
    let mut ctx = ForwardCtx::new(&pool);
    let mut kv = KvCache::new(lm.model.config(), 64, 64);
    let mut out = Vec::new();
    lm.model.forward(&mut ctx, ids, 0, &mut kv, LogitsWanted::All, &mut out).unwrap();
    out
}

#[test]
fn finetune_writes_an_adapter_peft_loads_with_our_logits() {
    let home = tempfile::tempdir().unwrap();
    let train = data(home.path(), "train.jsonl", "datasets/fictional-kb/train.jsonl", 24);
    let valid = data(home.path(), "valid.jsonl", "datasets/fictional-kb/valid.jsonl", 6);
    for fixture in ["tiny-llama", "tiny-gemma3"] {
        let out = home.path().join(format!("{fixture}-adapter"));
        let base = testdata(fixture);
        let mut args = finetune_args(base.to_str().unwrap(), train.to_str().unwrap(), out.to_str().unwrap());
        args.extend(["--eval", valid.to_str().unwrap(), "--epochs", "3", "--json"]);
        let (ok, stdout, err) = agora(&args, home.path());
        assert!(ok, "{fixture}: {err}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
        // The loss falls: the last step's against the first step's (metrics.jsonl).
        let rows: Vec<serde_json::Value> = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let losses: Vec<f64> = rows.iter().filter_map(|r| r.get("loss").and_then(|l| l.as_f64())).collect();
        assert!(losses.len() >= 6, "{fixture}: {rows:?}");
        let (first, last) = (losses[..2].iter().sum::<f64>() / 2.0, losses[losses.len() - 2..].iter().sum::<f64>() / 2.0);
        assert!(last < first * 0.9, "{fixture}: loss {first:.4} -> {last:.4}");
        assert!(rows.iter().any(|r| r.get("eval_loss").is_some()), "{fixture}: no eval row in metrics.jsonl");
        assert!(v["summary"]["final_eval_loss"].as_f64().is_some_and(f64::is_finite), "{stdout}");
        let svg = std::fs::read_to_string(out.join("loss.svg")).unwrap();
        assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{svg}");
        // Card: an adapter of the base, datasets named, license inherited; the lineage verifies.
        let card = std::fs::read_to_string(out.join("README.md")).unwrap();
        assert!(card.contains("adapter") && card.contains("train.jsonl"), "{card}");
        let (ok, o, e) = agora(&["lineage", "verify", out.join("adapter_model.safetensors").to_str().unwrap()], home.path());
        assert!(ok, "{o}{e}");

        // The real peft library loads the folder onto the transformers model: same logits.
        let ids: Vec<u32> = vec![2, 45, 301, 7, 88, 19, 240, 5, 77, 3];
        let ids_json = serde_json::to_string(&ids).unwrap();
        let py = Command::new(python()).arg(repo("tests/finetune/peft_logits.py")).args([base.to_str().unwrap(), out.to_str().unwrap(), &ids_json]).output().expect("running python (set AGORA_TEST_PYTHON to a python with torch, transformers, peft)");
        assert!(py.status.success(), "peft could not load the adapter: {}", String::from_utf8_lossy(&py.stderr));
        let p: serde_json::Value = serde_json::from_slice(&py.stdout).unwrap();
        let want: Vec<f32> = p["logits"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32)).collect();
        // Float32 on both sides; logits of the tiny models are O(10), so 1e-3 absolute.
        for b in [base.clone(), base.join("model-f32.gguf")] {
            let ours = agora_logits(&b, &out, &ids);
            assert_eq!(ours.len(), want.len());
            let max = ours.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            eprintln!("{fixture} ({}): agora vs peft max |dlogit| {max:.2e}", b.display());
            assert!(max < 1e-3, "{fixture} ({}): max |dlogit| {max}", b.display());
        }
    }
}

#[test]
fn ctrl_c_checkpoints_and_resume_ends_bit_identical() {
    let home = tempfile::tempdir().unwrap();
    let train = data(home.path(), "train.jsonl", "datasets/fictional-kb/train.jsonl", 24);
    let base = testdata("tiny-llama");
    let run_to_end = |out: &Path, extra: &[&str]| {
        let mut args = finetune_args(base.to_str().unwrap(), train.to_str().unwrap(), out.to_str().unwrap());
        args.extend(["--epochs", "30", "--save-every", "5"]);
        args.extend(extra);
        let (ok, o, e) = agora(&args, home.path());
        assert!(ok, "{o}{e}");
    };
    let straight = home.path().join("straight");
    run_to_end(&straight, &[]);

    // Same run, interrupted by SIGINT once a checkpoint exists.
    let stopped = home.path().join("stopped");
    let mut args = finetune_args(base.to_str().unwrap(), train.to_str().unwrap(), stopped.to_str().unwrap());
    args.extend(["--epochs", "30", "--save-every", "5"]);
    let child = Command::new(env!("CARGO_BIN_EXE_agora")).args(&args).env("AGORA_HOME", home.path()).stderr(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let t0 = std::time::Instant::now();
    while !std::fs::read_dir(&stopped).is_ok_and(|d| d.filter_map(|e| e.ok()).any(|e| e.file_name().to_string_lossy().starts_with("checkpoint-"))) {
        assert!(t0.elapsed().as_secs() < 120, "no checkpoint appeared");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let res = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&res.stderr).to_string();
    assert!(res.status.success(), "{err}");
    assert!(err.contains("stopped at step"), "the run finished before the signal arrived, or ignored it: {err}");
    assert!(!stopped.join("adapter_model.safetensors").exists(), "a stopped run writes no final adapter");
    let ck = err.split("--resume ").nth(1).map(|s| s.trim().to_string()).expect("the resume hint names the checkpoint");
    run_to_end(&stopped, &["--resume", &ck]);
    let a = std::fs::read(straight.join("adapter_model.safetensors")).unwrap();
    let b = std::fs::read(stopped.join("adapter_model.safetensors")).unwrap();
    assert!(a == b, "resumed adapter differs from the uninterrupted run's");
}

#[test]
fn bad_finetune_input_is_refused_clearly() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"prompt\": \"a\", \"completion\": \"b\"}\nnot json\n").unwrap();
    let out = home.path().join("out");
    let base = testdata("tiny-llama");
    let (ok, _, err) = agora(&finetune_args(base.to_str().unwrap(), bad.to_str().unwrap(), out.to_str().unwrap()), home.path());
    assert!(!ok && err.contains("bad.jsonl") && err.contains("line 2"), "{err}");
    let good = data(home.path(), "train.jsonl", "datasets/fictional-kb/train.jsonl", 4);
    let mut args = finetune_args(base.to_str().unwrap(), good.to_str().unwrap(), out.to_str().unwrap());
    args.extend(["--targets", "q,wobble"]);
    let (ok, _, err) = agora(&args, home.path());
    assert!(!ok && err.contains("wobble"), "{err}");
    // An architecture training does not support: named, with what is supported.
    let (ok, _, err) = agora(&finetune_args(testdata("tiny-falcon").to_str().unwrap(), good.to_str().unwrap(), out.to_str().unwrap()), home.path());
    assert!(!ok && err.contains("falcon"), "{err}");
    assert!(!out.join("adapter_model.safetensors").exists());
}
