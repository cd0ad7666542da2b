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

/// Starts `agora serve ARGS` (AGORA_HOME=home when given) and waits up to `wait` for it to listen;
/// returns it with the address it printed after `at http://` (`127.0.0.1:PORT/v1`).
pub fn spawn_serve(args: &[&str], home: Option<&std::path::Path>, wait: Duration) -> (Server, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agora"));
    cmd.arg("serve").args(args).stderr(Stdio::piped());
    if let Some(h) = home {
        cmd.env("AGORA_HOME", h);
    }
    let mut child = cmd.spawn().expect("starting agora serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let server = Server(child);
    let t = Instant::now();
    let at = loop {
        let line = lines.next().expect("agora serve exited before listening").expect("reading stderr");
        if let Some(rest) = line.split("at http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
        assert!(t.elapsed() < wait, "agora serve did not start");
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (server, at)
}

/// The host:port part of what `spawn_serve` returns.
pub fn host_port(at: &str) -> String {
    at.split('/').next().unwrap_or(at).to_string()
}

/// Starts `agora serve` with the real model on a free port; returns it with its base URL
/// (`http://127.0.0.1:PORT/v1`).
pub fn start(extra: &[&str]) -> (Server, String) {
    let model = store::test_model_path();
    let mut args = vec![model.to_str().unwrap(), "--port", "0", "--model-id", "gemma3-270m", "-t", "2"];
    args.extend_from_slice(extra);
    let (server, at) = spawn_serve(&args, None, Duration::from_secs(60));
    (server, format!("http://{at}"))
}
