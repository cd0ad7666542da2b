//! The playground and multi-model serving end to end: `agora serve` runs the real Gemma 270M
//! Q4_K_M file and a Q8_0 re-quantization of it made here with `agora quantize`, behind an API
//! key. The HTTP checks cover routing by `model`; then headless Chromium drives the page
//! (tests/browser/playground.js): key prompt, streamed chat, stop, `<script>` output kept inert,
//! compare with log-probs, card panel, phone width. Screenshots land in target/browser-screenshots.

mod common;
mod run_util;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use run_util::{agora, browser_test};
use serde_json::Value;

const KEY: &str = "play-key";
const A: &str = "gemma3-270m-q4km";
const B: &str = "gemma3-270m-q8";

/// One HTTP/1.1 request with the key: (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    conn.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    conn.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn playground_in_headless_chromium_with_two_models() {
    let dir = tempfile::tempdir().unwrap();
    let base = store::test_model_path();
    let q8 = dir.path().join("gemma-3-270m-q8_0.gguf");
    let (ok, _, err) = agora(&["quantize", base.to_str().unwrap(), q8.to_str().unwrap(), "--type", "Q8_0", "-t", "2"], dir.path());
    assert!(ok, "quantize to Q8_0 failed: {err}");

    let args = [base.to_str().unwrap(), q8.to_str().unwrap(), "--model-id", A, "--model-id", B, "--port", "0", "-t", "2", "--ctx", "4096", "--parallel", "2", "--api-key", KEY];
    let (_server, at) = common::spawn_serve(&args, Some(dir.path()), Duration::from_secs(120));
    let addr = common::host_port(&at);

    // Both models listed, each with its metadata.
    let (status, body) = http(&addr, "GET", "/v1/models", "");
    assert_eq!(status, 200, "{body}");
    let list = json(&body);
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.iter().map(|m| m["id"].as_str().unwrap()).collect::<Vec<_>>(), [A, B]);
    assert_eq!(data[0]["agora"]["quantization"], "Q4_K_M", "{body}");
    assert_eq!(data[1]["agora"]["quantization"], "Q8_0", "{body}");
    for m in data {
        assert_eq!(m["agora"]["license"]["id"], "gemma", "{m}");
        assert_eq!(m["agora"]["architecture"], "gemma3");
        assert_eq!(m["agora"]["adapters"], Value::Array(vec![]));
        assert!(m["agora"]["attribution"].is_array());
    }
    // The store entry's card gives the first model its base model and summary.
    assert_eq!(data[0]["agora"]["base_model"][0], "google/gemma-3-270m", "{body}");
    assert!(data[0]["agora"]["summary"].as_str().is_some_and(|s| s.contains("GGUF")), "{body}");

    // Requests route by `model`; an unknown one is a 404 naming the served ids.
    for id in [A, B] {
        let req = format!(r#"{{"model":"{id}","messages":[{{"role":"user","content":"Say hi."}}],"max_tokens":4,"temperature":0}}"#);
        let (status, body) = http(&addr, "POST", "/v1/chat/completions", &req);
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["model"], id);
    }
    let (status, body) = http(&addr, "POST", "/v1/chat/completions", r#"{"model":"gpt-4","messages":[{"role":"user","content":"x"}]}"#);
    assert_eq!(status, 404, "{body}");
    let err = json(&body);
    assert_eq!(err["error"]["code"], "model_not_found");
    let msg = err["error"]["message"].as_str().unwrap();
    assert!(msg.contains("gpt-4") && msg.contains(A) && msg.contains(B), "{msg}");
    let (status, _) = http(&addr, "GET", &format!("/v1/models/{B}"), "");
    assert_eq!(status, 200);
    let (status, body) = http(&addr, "GET", "/metrics", "");
    assert!(status == 200 && body.contains(&format!("agora_requests_total{{model=\"{B}\"}} 1")), "{body}");

    // The page needs no key; its assets are served with a strict CSP.
    let page = |path: &str| {
        let mut conn = TcpStream::connect(&addr).unwrap();
        conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
        let mut out = String::new();
        conn.read_to_string(&mut out).unwrap();
        out
    };
    let index = page("/");
    assert!(index.starts_with("HTTP/1.1 200") && index.to_ascii_lowercase().contains("content-security-policy: default-src 'self'"), "{index}");
    assert!(page("/playground/app.js").starts_with("HTTP/1.1 200"));
    assert!(page("/playground/nope.js").starts_with("HTTP/1.1 404"));
    assert!(page("/v1/models").starts_with("HTTP/1.1 401"), "the API must still need the key");

    browser_test("playground.js", &[("AGORA_URL", &format!("http://{addr}")), ("AGORA_KEY", KEY), ("MODEL_A", A), ("MODEL_B", B)]);
}
