//! Two stateless `agora hub serve` processes sharing Postgres and S3 (as behind a load balancer),
//! driven by the official client (tests/hub/test_two_servers.py): an upload through one is served by
//! the other, and commits racing on one parent through both servers: exactly one wins per parent.
//! Then `agora hub fsck` on the shared stores, and a crash: a server killed mid-upload leaves
//! every earlier commit intact.

mod hub_util;

use std::path::PathBuf;
use std::process::Command;

use hub_util::{ok, remote, start};

#[test]
fn two_servers_share_postgres_and_s3() {
    let b = remote("multi");
    let dir = tempfile::tempdir().unwrap();
    // Each server has its own (throwaway) data directory: nothing it needs is local. The upload
    // signing key is shared through the environment, as it would be behind a load balancer.
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    ok(&da, &b, &["user", "add", "alice"]);
    let alice = ok(&db, &b, &["token", "new", "alice", "--write"]);
    let secret = [("AGORA_HUB_SECRET", "0123456789abcdef0123456789abcdef-test-only")];
    let (_a, url_a) = start(&da, &b, &[], &secret, "hub-a");
    let (_b, url_b) = start(&db, &b, &[], &secret, "hub-b");

    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/hub/test_two_servers.py");
    let status = Command::new("python3")
        .args(["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"])
        .arg(&tests)
        .env("AGORA_HUB_A", &url_a)
        .env("AGORA_HUB_B", &url_b)
        .env("AGORA_HUB_ALICE", &alice)
        .env("HF_HOME", dir.path().join("hf-home"))
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .status()
        .expect("running python3 -m pytest (pip install huggingface_hub==2.4.0 pytest)");
    assert!(status.success(), "the two-server client tests failed (output above)");

    // fsck from a third place sees one sound hub.
    let report: serde_json::Value = serde_json::from_str(&ok(&dir.path().join("c"), &b, &["fsck", "--json"])).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["referenced"].as_u64().unwrap() >= 4, "{report}");
}
