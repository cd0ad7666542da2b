//! Shared by the hub tests: a running `agora hub serve`, and fresh Postgres + S3 backends from
//! `scripts/hub-backends.sh` (AGORA_TEST_PG, AGORA_TEST_S3, AGORA_TEST_S3_ENDPOINT and the AWS keys).
//! Missing variables fail the test with the command to run; these tests are never skipped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where a test hub keeps its metadata and blobs.
#[derive(Clone, Debug)]
pub enum Backend {
    /// SQLite and the blob folder under the data directory.
    Embedded,
    Remote { db: String, blobs: String, endpoint: String },
}

impl Backend {
    /// Global `agora hub` flags selecting this backend.
    pub fn args(&self) -> Vec<String> {
        match self {
            Backend::Embedded => vec![],
            Backend::Remote { db, blobs, endpoint } => vec!["--db".into(), db.clone(), "--blobs".into(), blobs.clone(), "--s3-endpoint".into(), endpoint.clone()],
        }
    }
}

pub fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run `eval \"$(scripts/hub-backends.sh start)\"` first (this test needs Postgres and an S3 store)"))
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{tag}_{}_{nanos}", std::process::id())
}

/// A fresh database on the test Postgres and a fresh prefix in the test bucket.
pub fn remote(tag: &str) -> Backend {
    let admin = env("AGORA_TEST_PG");
    let name = unique(tag);
    let out = Command::new("psql").arg(&admin).args(["-qc", &format!("CREATE DATABASE {name}")]).output().expect("running psql (apt-get install postgresql-client)");
    assert!(out.status.success(), "creating database {name}: {}", String::from_utf8_lossy(&out.stderr));
    let (base, _) = admin.rsplit_once('/').expect("AGORA_TEST_PG ends in /DATABASE");
    Backend::Remote {
        db: format!("{base}/{name}"),
        blobs: format!("{}/{}", env("AGORA_TEST_S3").trim_end_matches('/'), unique(tag)),
        endpoint: env("AGORA_TEST_S3_ENDPOINT"),
    }
}

pub fn agora(data: &Path, b: &Backend, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agora")).arg("hub").arg("--data").arg(data).args(b.args()).args(args).output().expect("running agora hub")
}

pub fn ok(data: &Path, b: &Backend, args: &[&str]) -> String {
    let out = agora(data, b, args);
    assert!(out.status.success(), "agora hub {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Starts `agora hub serve` on a free port; returns it with its URL. `tag` prefixes its log lines.
pub fn start(data: &Path, b: &Backend, extra: &[&str], envs: &[(&str, &str)], tag: &'static str) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
        .arg("hub")
        .arg("--data")
        .arg(data)
        .args(b.args())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .args(extra)
        .envs(envs.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting agora hub serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let t = Instant::now();
    let url = loop {
        let line = lines.next().expect("agora hub serve exited before listening").expect("reading stderr");
        eprintln!("[{tag}] {line}");
        if let Some(rest) = line.split(" at http://").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
        assert!(t.elapsed() < Duration::from_secs(30), "agora hub serve did not start");
    };
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            eprintln!("[{tag}] {l}");
        }
    });
    (Server(child), url)
}
