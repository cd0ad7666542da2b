//! `agora hub serve` driven by the official `huggingface_hub` Python client
//! (tests/hub/test_hub_client.py, run with pytest; `.ci/run` installs the pinned client), then
//! `agora hub fsck` on what the session left: sound, and damage is found.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agora(data: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_agora")).arg("hub").arg("--data").arg(data).args(args).output().expect("running agora hub");
    out
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = agora(data, args);
    assert!(out.status.success(), "agora hub {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn start(data: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_agora"))
        .arg("hub")
        .arg("--data")
        .arg(data)
        .args(["serve", "--addr", "127.0.0.1:0", "--tree-page", "3", "--max-file-size", &(16u64 << 20).to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting agora hub serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let t = Instant::now();
    let url = loop {
        let line = lines.next().expect("agora hub serve exited before listening").expect("reading stderr");
        if let Some(rest) = line.split(" at http://").nth(1) {
            break format!("http://{}", rest.split_whitespace().next().unwrap());
        }
        assert!(t.elapsed() < Duration::from_secs(30), "agora hub serve did not start");
    };
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            eprintln!("[hub] {l}");
        }
    });
    (Server(child), url)
}

#[test]
fn huggingface_hub_client_against_the_hub() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    ok(&data, &["user", "add", "alice"]);
    ok(&data, &["user", "add", "bob"]);
    let alice = ok(&data, &["token", "new", "alice", "--write"]);
    let alice_read = ok(&data, &["token", "new", "alice", "--name", "ro"]);
    let bob = ok(&data, &["token", "new", "bob", "--write"]);
    assert!(alice.starts_with("hf_") && alice != bob);
    // A user name that would shadow a URL, and a second user of the same name, are refused.
    assert!(!agora(&data, &["user", "add", "api"]).status.success());
    assert!(!agora(&data, &["user", "add", "Alice"]).status.success());

    let (mut server, url) = start(&data);
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/hub/test_hub_client.py");
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"])
        .arg(&tests)
        .env("HF_ENDPOINT", &url)
        .env("HF_HOME", dir.path().join("hf-home")) // no token or cache of the user's own
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .env("HF_HUB_DISABLE_XET", "1")
        .env("AGORA_HUB_ALICE", &alice)
        .env("AGORA_HUB_ALICE_READ", &alice_read)
        .env("AGORA_HUB_BOB", &bob)
        .status()
        .expect("running python3 -m pytest (pip install huggingface_hub==2.4.0 pytest httpx)");
    assert!(status.success(), "the huggingface_hub client tests failed (output above)");

    // Revoked tokens stop working at once, while the server runs.
    let listed = ok(&data, &["token", "list", "bob", "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(&listed).unwrap()[0]["id"].as_i64().unwrap();
    ok(&data, &["token", "revoke", "bob", &id.to_string()]);
    let who = Command::new("python3")
        .args(["-c", "import httpx,sys; r=httpx.get(sys.argv[1]+'/api/whoami-v2', headers={'Authorization':'Bearer '+sys.argv[2]}); print(r.status_code)"])
        .args([&url, &bob])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&who.stdout).trim(), "401", "a revoked token still works");

    // SIGTERM stops the server cleanly.
    unsafe { libc::kill(server.0.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    loop {
        if let Some(st) = server.0.try_wait().unwrap() {
            assert!(st.success(), "agora hub serve exited with {st} after SIGTERM");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "agora hub serve did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Everything the session committed is intact.
    let report: serde_json::Value = serde_json::from_str(&ok(&data, &["fsck", "--json"])).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["referenced"].as_u64().unwrap() >= 8, "{report}");

    // Damage one referenced blob: fsck names it and fails.
    let victim = find_blob(&data.join("blobs/sha256"), 11 << 20).expect("the 11 MiB LFS file is stored");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[12345] ^= 1;
    std::fs::write(&victim, &bytes).unwrap();
    let out = agora(&data, &["fsck"]);
    assert!(!out.status.success(), "fsck missed a corrupted blob");
    let name = victim.file_name().unwrap().to_str().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("CORRUPT  {name}")), "{}", String::from_utf8_lossy(&out.stdout));
}

fn find_blob(dir: &Path, size: u64) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()? {
        let p = e.ok()?.path();
        if p.is_dir() {
            if let Some(f) = find_blob(&p, size) {
                return Some(f);
            }
        } else if std::fs::metadata(&p).ok()?.len() == size {
            return Some(p);
        }
    }
    None
}
