//! The OpenAI-compatible server driven by the official `openai` Python SDK
//! (tests/openai/test_server.py, run with pytest; `.ci/run` installs openai, httpx and pytest).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `agora serve` on a free port and returns it with its base URL.
fn start(extra: &[&str]) -> (Server, String) {
    let model = store::test_model_path();
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["serve", model.to_str().unwrap(), "--port", "0", "--model-id", "gemma3-270m", "-t", "2"])
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting agora serve");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let t = Instant::now();
    let url = loop {
        let line = lines.next().expect("agora serve exited before listening").expect("reading stderr");
        if let Some(rest) = line.split("at http://").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
        assert!(t.elapsed() < Duration::from_secs(60), "agora serve did not start");
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Server(child), url)
}

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
