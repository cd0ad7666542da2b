//! Crash safety: `agora hub serve` is killed with SIGKILL again and again while a client uploads
//! and commits (tests/hub/crash_client.py). Afterwards every commit the server acknowledged is
//! still there with its exact bytes, the head is complete, and `agora hub fsck` finds no damage.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn start(data: &Path, addr: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora")).arg("hub").arg("--data").arg(data).args(["serve", "--addr", addr]).stderr(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let t = Instant::now();
    let url = loop {
        let line = lines.next().expect("agora hub serve exited before listening").unwrap();
        if let Some(rest) = line.split(" at http://").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
        assert!(t.elapsed() < Duration::from_secs(30));
    };
    std::thread::spawn(move || for _ in lines {});
    (child, url)
}

/// Kills what it holds when dropped, so a failing assertion leaves no server or client behind.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map(|s| s.lines().count()).unwrap_or(0)
}

fn agora_hub(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_agora")).arg("hub").arg("--data").arg(data).args(args).output().unwrap();
    assert!(out.status.success(), "agora hub {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn kill_9_during_uploads_and_commits_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    agora_hub(&data, &["user", "add", "alice"]);
    let token = agora_hub(&data, &["token", "new", "alice", "--write"]);
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/hub/crash_client.py");
    let log = dir.path().join("acknowledged.log");
    // Keep one port so the client's endpoint stays valid across restarts.
    let (first, url) = start(&data, "127.0.0.1:0");
    let addr = url.trim_start_matches("http://").to_string();
    let mut server = Some(first);
    let mut srv_guard = Guard(None);
    let mut client_guard = Guard(None);
    let rounds: u64 = 6;
    for round in 0..rounds {
        srv_guard.0 = Some(match server.take() {
            Some(s) => s,
            None => start(&data, &addr).0,
        });
        client_guard.0 = Some(Command::new("python3")
            .arg(&script)
            .args(["write", log.to_str().unwrap()])
            .env("HF_ENDPOINT", &url)
            .env("HF_HOME", dir.path().join("hf-home"))
            .env("AGORA_HUB_ALICE", &token)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with huggingface_hub"));
        let client = client_guard.0.as_mut().unwrap();
        // Once this round has a commit acknowledged, kill at a varying moment after it, so the
        // kill lands in different phases (LFS upload, commit, between requests).
        let before = lines(&log);
        let t = Instant::now();
        while lines(&log) == before {
            assert!(t.elapsed() < Duration::from_secs(120), "round {round}: no commit was acknowledged");
            assert!(client.try_wait().unwrap().is_none(), "round {round}: the client died while the server was up");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(50 + 173 * round % 900));
        eprintln!("round {round}: killing the server after {} acknowledged commits", lines(&log));
        let srv = srv_guard.0.as_mut().unwrap();
        srv.kill().unwrap(); // SIGKILL
        srv.wait().unwrap();
        let t = Instant::now();
        while client.try_wait().unwrap().is_none() {
            if t.elapsed() > Duration::from_secs(30) {
                let _ = client.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let acknowledged = lines(&log);
    assert!(acknowledged >= rounds as usize, "too few commits were acknowledged ({acknowledged}) for the test to mean anything");

    // Restarted, the hub still has every acknowledged commit with its bytes.
    let (srv, url) = start(&data, &addr);
    let mut srv = Guard(Some(srv));
    let out = Command::new("python3")
        .arg(&script)
        .args(["verify", log.to_str().unwrap()])
        .env("HF_ENDPOINT", &url)
        .env("HF_HOME", dir.path().join("hf-home"))
        .env("VERIFY_CACHE", dir.path().join("verify-cache"))
        .env("AGORA_HUB_ALICE", &token)
        .output()
        .unwrap();
    drop(srv.0.take().map(|mut s| {
        let _ = s.kill();
        s.wait()
    }));
    assert!(out.status.success(), "verification failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("{}", String::from_utf8_lossy(&out.stdout));

    // Nothing referenced is missing or damaged; leftovers of cut uploads are swept.
    let report: serde_json::Value = serde_json::from_str(&agora_hub(&data, &["fsck", "--json"])).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    eprintln!("fsck after {rounds} kills: {report}");
    assert_eq!(std::fs::read_dir(data.join("blobs/tmp")).unwrap().count(), 0);
}
