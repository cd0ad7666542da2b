//! Running the `agora` binary in a test: its outcome, and the repository's test data.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `agora ARGS` with `AGORA_HOME=home`: (success, stdout, stderr). A panic is a test failure.
pub fn agora(args: &[&str], home: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_agora")).args(args).env("AGORA_HOME", home).output().expect("run agora");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "agora {args:?} panicked: {stderr}");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// `testdata/NAME` in the repository.
pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}
