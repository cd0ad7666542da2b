//! The OpenAI-compatible server driven by the official `openai` Python SDK
//! (tests/openai/test_server.py, run with pytest; `.ci/run` installs openai, httpx and pytest).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::start;

#[test]
fn openai_python_sdk_against_the_server() {
    let (mut server, url) = start(&["--ctx", "512", "--parallel", "2", "--queue", "2", "--max-body", "65536", "--api-key", "test-key"]);
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/openai/test_server.py");
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"])
        .arg(&tests)
        .env("AGORA_BASE_URL", &url)
        .env("AGORA_MODEL_ID", "gemma3-270m")
        .status()
        .expect("running python3 -m pytest (pip install openai httpx pytest)");
    assert!(status.success(), "the openai SDK tests failed (output above)");
    // Graceful shutdown on SIGTERM: the process exits by itself, successfully.
    unsafe { libc::kill(server.0.id() as i32, libc::SIGTERM) };
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
