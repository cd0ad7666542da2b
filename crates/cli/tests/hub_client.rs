//! `agora hub serve` driven by the official `huggingface_hub` Python client
//! (tests/hub/test_hub_client.py, run with pytest; `.ci/run` installs the pinned client), then
//! `agora hub fsck` on what the session left: sound, and damage is found. Twice: on the embedded
//! backends (SQLite + folder) and on the shared ones (Postgres + S3, from scripts/hub-backends.sh).

mod hub_util;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use hub_util::{agora, ok, start, Backend};

#[test]
fn huggingface_hub_client_against_the_hub() {
    client_session(Backend::Embedded);
}

#[test]
fn huggingface_hub_client_against_the_hub_on_postgres_and_s3() {
    client_session(hub_util::remote("client"));
}

fn client_session(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let b = &b;
    ok(&data, b, &["user", "add", "alice"]);
    ok(&data, b, &["user", "add", "bob"]);
    let alice = ok(&data, b, &["token", "new", "alice", "--write"]);
    let alice_read = ok(&data, b, &["token", "new", "alice", "--name", "ro"]);
    let bob = ok(&data, b, &["token", "new", "bob", "--write"]);
    assert!(alice.starts_with("hf_") && alice != bob);
    // A user name that would shadow a URL, and a second user of the same name, are refused.
    assert!(!agora(&data, b, &["user", "add", "api"]).status.success());
    assert!(!agora(&data, b, &["user", "add", "Alice"]).status.success());

    let (mut server, url) = start(&data, b, &["--tree-page", "3", "--max-file-size", &(16u64 << 20).to_string()], &[], "hub");
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
    let listed = ok(&data, b, &["token", "list", "bob", "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(&listed).unwrap()[0]["id"].as_i64().unwrap();
    ok(&data, b, &["token", "revoke", "bob", &id.to_string()]);
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
    let report: serde_json::Value = serde_json::from_str(&ok(&data, b, &["fsck", "--json"])).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["referenced"].as_u64().unwrap() >= 8, "{report}");

    // Damage one referenced blob: fsck names it and fails.
    let (name, expect) = match b {
        Backend::Embedded => {
            let victim = find_blob(&data.join("blobs/sha256"), 11 << 20).expect("the 11 MiB LFS file is stored");
            let mut bytes = std::fs::read(&victim).unwrap();
            bytes[12345] ^= 1;
            std::fs::write(&victim, &bytes).unwrap();
            (victim.file_name().unwrap().to_str().unwrap().to_string(), "CORRUPT ")
        }
        Backend::Remote { blobs, endpoint, .. } => {
            use hub::blob::BlobStore;
            let s = hub::blob::S3BlobStore::open(&hub::blob::S3Location::parse(blobs, Some(endpoint.clone())).unwrap()).unwrap();
            let victim = s.list().unwrap().into_iter().find(|x| x.size == 11 << 20).expect("the 11 MiB LFS file is stored");
            s.delete(&victim.sha256).unwrap();
            (victim.sha256, "MISSING ")
        }
    };
    let out = agora(&data, b, &["fsck"]);
    assert!(!out.status.success(), "fsck missed a damaged blob");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{expect} {name}")), "{}", String::from_utf8_lossy(&out.stdout));
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
