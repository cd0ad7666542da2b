//! Starting and stopping a real `agora serve` for integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `agora serve` with the real model on a free port; returns it with its base URL
/// (`http://127.0.0.1:PORT/v1`).
pub fn start(extra: &[&str]) -> (Server, String) {
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
