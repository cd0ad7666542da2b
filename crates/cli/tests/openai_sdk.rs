//! The OpenAI-compatible server driven by the official `openai` Python SDK
//! (tests/openai/test_server.py, run with pytest; `.ci/run` installs openai, httpx and pytest).

mod common;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::start;

#[test]
fn openai_python_sdk_against_the_server() {
    let (mut server, url) = start(&["--ctx", "512", "--parallel", "2", "--queue", "2", "--max-body", "65536", "--api-key", "test-key", "--cors-origin", "http://example.com"]);
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/openai/test_server.py");
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"])
        .arg(&tests)
        .env("AGORA_BASE_URL", &url)
        .env("AGORA_MODEL_ID", "gemma3-270m")
        .status()
        .expect("running python3 -m pytest (pip install openai httpx pytest)");
    assert!(status.success(), "the openai SDK tests failed (output above)");

    // Graceful shutdown on SIGTERM while a stream runs: the stream is finished, then the
    // process exits by itself, successfully.
    let addr = url.trim_start_matches("http://").trim_end_matches("/v1").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    let body = r#"{"model":"gemma3-270m","prompt":"Once upon a time","max_tokens":48,"temperature":0,"stream":true,"ignore_eos":true}"#;
    let req = format!("POST /v1/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer test-key\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    conn.write_all(req.as_bytes()).unwrap();
    let mut first = [0u8; 64];
    let got = conn.read(&mut first).unwrap();
    assert!(got > 0 && String::from_utf8_lossy(&first[..got]).starts_with("HTTP/1.1 200"), "the stream did not start");
    unsafe { libc::kill(server.0.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    conn.read_to_string(&mut rest).unwrap();
    assert!(rest.contains("data: [DONE]"), "the running stream was cut at shutdown: {rest}");
    assert!(rest.contains("\"finish_reason\":\"length\""), "the stream did not finish its tokens");
    let t = Instant::now();
    loop {
        if let Some(st) = server.0.try_wait().unwrap() {
            assert!(st.success(), "agora serve exited with {st} after SIGTERM");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "agora serve did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
