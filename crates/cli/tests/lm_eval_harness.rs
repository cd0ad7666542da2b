//! lm-evaluation-harness (`local-completions`, the server's echo + logprobs and its vLLM-style
//! tokenizer endpoints) on the repo's multiple-choice task must agree with `agora eval`: the same
//! accuracy, and every choice's log-likelihood to 1e-6 (lm-eval logs them with 6 decimals).
//! `.ci/run` installs `lm-eval[api]`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::start;
use serde_json::Value;

#[test]
fn lm_eval_against_the_server_matches_agora_eval() {
    let task = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tasks/world-facts").canonicalize().expect("task folder");
    let (_server, url) = start(&["--ctx", "1024", "--parallel", "1"]);
    let out = tempfile::tempdir().unwrap();
    let args = format!("model=gemma3-270m,base_url={url}/completions,tokenizer_backend=remote,tokenized_requests=True,num_concurrent=1,max_retries=1");
    let status = Command::new("python3")
        .args(["-m", "lm_eval", "--model", "local-completions", "--model_args", &args, "--include_path", ".", "--tasks", "agora_world_facts", "--log_samples", "--output_path"])
        .arg(out.path())
        .current_dir(&task)
        .env("HF_DATASETS_OFFLINE", "1")
        .env("HF_HUB_OFFLINE", "1")
        .status()
        .expect("running python3 -m lm_eval (pip install 'lm-eval[api]')");
    assert!(status.success(), "lm_eval failed (output above)");

    let find = |prefix: &str| {
        walk(out.path()).into_iter().find(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix)).unwrap_or_else(|| panic!("no {prefix}* in lm_eval's output"))
    };
    let results: Value = serde_json::from_str(&std::fs::read_to_string(find("results_")).unwrap()).unwrap();
    let theirs = &results["results"]["agora_world_facts"];
    let mut samples: Vec<Value> = std::fs::read_to_string(find("samples_")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    samples.sort_by_key(|s| s["doc_id"].as_u64().unwrap());

    let ours = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["eval", store::test_model_path().to_str().unwrap(), "--tasks"])
        .arg(&task)
        .args(["--json", "-t", "2"])
        .output()
        .expect("agora eval");
    assert!(ours.status.success(), "agora eval failed: {}", String::from_utf8_lossy(&ours.stderr));
    let ours: Value = serde_json::from_slice(&ours.stdout).unwrap();
    let ours = &ours["runs"][0]["results"][0];

    assert_eq!(theirs["acc,none"].as_f64().unwrap(), ours["acc"].as_f64().unwrap(), "accuracy");
    assert_eq!(theirs["acc_norm,none"].as_f64().unwrap(), ours["acc_norm"].as_f64().unwrap(), "normalized accuracy");
    let docs = ours["docs"].as_array().unwrap();
    assert_eq!(samples.len(), docs.len());
    assert_eq!(docs.len(), 12);
    let mut max = 0.0f64;
    for (s, d) in samples.iter().zip(docs) {
        let resps = s["filtered_resps"].as_array().unwrap();
        for (i, r) in resps.iter().enumerate() {
            let ll: f64 = r[0].as_str().unwrap().parse().unwrap();
            let greedy = r[1].as_str().unwrap() == "True";
            let mine = d["loglik"][i].as_f64().unwrap();
            max = max.max((ll - mine).abs());
            assert!((ll - mine).abs() <= 1e-6, "doc {} choice {i}: lm-eval {ll} vs agora {mine}", s["doc_id"]);
            assert_eq!(greedy, d["greedy"][i].as_bool().unwrap(), "doc {} choice {i}: is_greedy", s["doc_id"]);
        }
    }
    eprintln!("48 choices: max |lm-eval - agora| = {max:.2e}");
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
