//! `agora push` of the real Gemma model to `agora hub serve`, then `agora pull hf:...` into a fresh
//! store: byte-identical, and pushing or pulling again transfers nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_agora")).args(args).env_remove("HF_TOKEN").env("HF_HOME", "/nonexistent/agora-test-hf-home").envs(envs.iter().copied()).output().expect("running agora");
    assert!(out.status.success(), "agora {args:?} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum()).unwrap_or(0)
}

#[test]
fn push_then_pull_round_trips_the_real_model() {
    let model = store::test_model_path();
    let model_dir = model.parent().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let data_s = data.to_str().unwrap();
    run(&["hub", "--data", data_s, "user", "add", "alice"], &[]);
    let token = stdout(&run(&["hub", "--data", data_s, "token", "new", "alice", "--write"], &[])).trim().to_string();

    let mut child = Command::new(env!("CARGO_BIN_EXE_agora")).args(["hub", "--data", data_s, "serve", "--addr", "127.0.0.1:0"]).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let t = Instant::now();
    let url = loop {
        let line = lines.next().expect("agora hub serve exited").unwrap();
        if let Some(rest) = line.split(" at http://").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
        assert!(t.elapsed() < Duration::from_secs(30));
    };
    std::thread::spawn(move || for _ in lines {});
    let _server = Server(child);

    let env = [("HF_ENDPOINT", url.as_str()), ("HF_TOKEN", token.as_str())];
    let out = stdout(&run(&["push", model_dir.to_str().unwrap(), "alice/gemma3-270m", "--quiet"], &env));
    assert!(out.contains("pushed") && out.contains("(new repo)"), "{out}");
    let blobs = count_files(&data.join("blobs/sha256"));
    let out = stdout(&run(&["push", model_dir.to_str().unwrap(), "alice/gemma3-270m", "--quiet"], &env));
    assert!(out.contains("is up to date"), "a second push of the same files changed something: {out}");
    assert_eq!(count_files(&data.join("blobs/sha256")), blobs);

    // Pull into an empty store (no token needed: the repo is public).
    let home = dir.path().join("home");
    let penv = [("HF_ENDPOINT", url.as_str()), ("AGORA_HOME", home.to_str().unwrap())];
    let out = stdout(&run(&["pull", "hf:alice/gemma3-270m", "--quiet"], &penv));
    assert!(out.contains("downloaded") && out.contains("pulled alice/gemma3-270m@"), "{out}");
    let pulled = home.join("models/gemma3-270m").join(model.file_name().unwrap());
    assert!(std::fs::read(&pulled).unwrap() == std::fs::read(&model).unwrap(), "the pulled model differs from the pushed one");
    assert!(!home.join("hub-cache").exists() || count_files(&home.join("hub-cache")) == 0, "the download cache was left behind");
    let out = stdout(&run(&["pull", "hf:alice/gemma3-270m", "--quiet"], &penv));
    assert!(out.contains("nothing to download"), "a second pull downloaded again: {out}");

    // A pinned revision that does not exist is a clear error; the listing shows the model.
    let bad = Command::new(env!("CARGO_BIN_EXE_agora")).args(["pull", "hf:alice/gemma3-270m@v9", "--quiet"]).envs(penv).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("v9"), "{}", String::from_utf8_lossy(&bad.stderr));
    let list = stdout(&run(&["list"], &penv));
    assert!(list.contains("gemma3-270m"), "{list}");
}
