//! `agora serve BASE --lora NAME=DIR ...`: per-request LoRA adapters on the tiny Llama fixture
//! with the two PEFT adapters of testdata/lora (scripts/make_lora_fixtures.py). The official
//! `openai` SDK drives it (tests/openai/test_lora.py), then headless Chromium checks the
//! playground's adapter picker (tests/browser/playground_lora.js).

mod common;
mod run_util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::Server;
use run_util::{agora, browser_test, testdata};

const BASE_ID: &str = "tiny-llama";

fn serve(extra: &[&str], home: &std::path::Path) -> (Server, String) {
    let base = testdata("tiny-llama");
    let mut args = vec![base.to_str().unwrap(), "--model-id", BASE_ID, "--port", "0", "-t", "2", "--ctx", "256"];
    args.extend_from_slice(extra);
    let (server, at) = common::spawn_serve(&args, Some(home), Duration::from_secs(60));
    (server, common::host_port(&at))
}

fn post(addr: &str, path: &str, body: &str) -> serde_json::Value {
    let mut conn = TcpStream::connect(addr).expect("connect");
    let req = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    conn.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    conn.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap()
}

#[test]
fn adapters_served_per_request_with_the_openai_sdk_and_the_playground() {
    let home = tempfile::tempdir().unwrap();
    let (a, b) = (testdata("lora/tiny-llama"), testdata("lora/tiny-llama-b"));
    let (la, lb) = (format!("a={}", a.display()), format!("b={}", b.display()));
    let (_server, addr) = serve(&["--parallel", "9", "--lora", &la, "--lora", &lb], home.path());
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"])
        .arg(std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/openai/test_lora.py"))
        .env("AGORA_BASE_URL", format!("http://{addr}/v1"))
        .env("AGORA_BIN", env!("CARGO_BIN_EXE_agora"))
        .env("AGORA_HOME", home.path())
        .env("BASE_ID", BASE_ID)
        .env("BASE_DIR", testdata("tiny-llama"))
        .env("LORA_A", &a)
        .env("LORA_B", &b)
        .status()
        .expect("running python3 -m pytest (pip install openai httpx pytest)");
    assert!(status.success(), "the openai SDK adapter tests failed (output above)");

    // The playground: each choice of the adapter picker answers as that model does over the API.
    let prompt = "Say something.";
    let answer = |model: &str| {
        let body = serde_json::json!({"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 8, "temperature": 0});
        post(&addr, "/v1/chat/completions", &body.to_string())["choices"][0]["message"]["content"].as_str().unwrap().to_string()
    };
    let (base, ans_a, ans_b) = (answer(BASE_ID), answer("a"), answer("b"));
    assert!(base != ans_a && base != ans_b, "the adapters did not change the answer: {base:?}");
    let url = format!("http://{addr}");
    browser_test(
        "playground_lora.js",
        &[("AGORA_URL", &url), ("BASE_ID", BASE_ID), ("ADAPTERS", "a,b"), ("PROMPT", prompt), ("ANSWER_BASE", &base), ("ANSWER_A", &ans_a), ("ANSWER_B", &ans_b)],
    );
}

#[test]
fn bad_lora_flags_and_folders_fail_at_startup_naming_the_problem() {
    let home = tempfile::tempdir().unwrap();
    let base = testdata("tiny-llama");
    let base = base.to_str().unwrap();
    let serve = |extra: &[&str]| {
        let mut args = vec!["serve", base, "--port", "0"];
        args.extend(extra);
        let (ok, _, err) = agora(&args, home.path());
        assert!(!ok, "agora serve {extra:?} started");
        err
    };
    let err = serve(&["--lora", "/no/such/adapter"]);
    assert!(err.contains("NAME=DIR"), "{err}");
    let err = serve(&["--lora", "x=/no/such/adapter"]);
    assert!(err.contains("/no/such/adapter") && err.contains("no such folder"), "{err}");
    // A folder that is not an adapter, and an adapter made for another model: the folder and the reason.
    let empty = tempfile::tempdir().unwrap();
    let err = serve(&["--lora", &format!("e={}", empty.path().display())]);
    assert!(err.contains(&empty.path().display().to_string()) && err.contains("adapter_config.json"), "{err}");
    let gemma = testdata("lora/tiny-gemma3");
    let err = serve(&["--lora", &format!("g={}", gemma.display())]);
    assert!(err.contains("'g'") && err.contains("tiny-gemma3") && err.contains("LoRA"), "{err}");
    let a = format!("a={}", testdata("lora/tiny-llama").display());
    let err = serve(&["--lora", &a, "--lora", &a]);
    assert!(err.contains("'a' is given twice"), "{err}");
    // An adapter name that is also a model id could not be routed.
    let clash = format!("{BASE_ID}={}", testdata("lora/tiny-llama").display());
    let err = serve(&["--model-id", BASE_ID, "--lora", &clash]);
    assert!(err.contains(&format!("'{BASE_ID}'")), "{err}");
    // Adapters belong to one base.
    let err = serve(&[base, "--lora", &a]);
    assert!(err.contains("one base model"), "{err}");
}
