//! `agora serve --guard`: the guard test suite (tests/guard/test_guard.py) through the real server
//! with the official `openai` SDK, and the judge model path.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::start;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn guard_policy_through_the_openai_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let policy = repo().join("tests/guard/policy.yaml");
    let (_server, url) = start(&["--ctx", "512", "--guard", policy.to_str().unwrap(), "--guard-log", log.to_str().unwrap()]);
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(repo().join("tests/guard/test_guard.py"))
        .env("AGORA_BASE_URL", &url)
        .env("AGORA_MODEL_ID", "gemma3-270m")
        .env("AGORA_GUARD_LOG", &log)
        .status()
        .expect("running python3 -m pytest (pip install openai httpx pytest)");
    assert!(status.success(), "the guard tests failed (output above)");
}

/// The judge is a model Agora runs: its answer decides. (See tests/guard/judge-policy.yaml for
/// why the prompt makes the verdict predictable.)
#[test]
fn judge_model_verdict_refuses_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let model = store::test_model_path();
    let policy = std::fs::read_to_string(repo().join("tests/guard/judge-policy.yaml")).unwrap().replace("model: gemma3-270m", &format!("model: {}", model.display()));
    let policy_path = dir.path().join("judge.yaml");
    std::fs::write(&policy_path, policy).unwrap();
    let (_server, url) = start(&["--ctx", "512", "--guard", policy_path.to_str().unwrap(), "--guard-log", log.to_str().unwrap()]);
    let post = |prompt: &str| -> (u16, serde_json::Value) {
        let body = serde_json::json!({"model": "gemma3-270m", "prompt": prompt, "max_tokens": 2, "temperature": 0});
        let out = Command::new("python3")
            .args(["-c", "import sys,httpx; r=httpx.post(sys.argv[1]+'/completions', json=__import__('json').loads(sys.argv[2]), timeout=120); print(r.status_code); print(r.text)"])
            .arg(&url)
            .arg(body.to_string())
            .output()
            .expect("python3 with httpx");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (status, json) = text.split_once('\n').unwrap_or_else(|| panic!("no answer: {text} {}", String::from_utf8_lossy(&out.stderr)));
        (status.trim().parse().unwrap(), serde_json::from_str(json.trim()).unwrap())
    };
    let (status, body) = post("The Eiffel Tower is in the city of");
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "content_filter");
    assert!(body["error"]["message"].as_str().unwrap().contains("judge"), "{body}");
    let (status, body) = post("Write a short poem about the sea.");
    assert_eq!(status, 200, "{body}");
    let log = std::fs::read_to_string(&log).unwrap();
    let rules: Vec<String> = log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["rule"].as_str().unwrap().to_string()).collect();
    assert_eq!(rules, vec!["judge"], "exactly the refused request is logged");
}
