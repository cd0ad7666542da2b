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

/// Runs the node script `tests/browser/SCRIPT` (headless Chromium via playwright-core) with `envs`;
/// panics with its output when it fails. Needs `npm ci` in tests/browser and Chromium from apt
/// (`.ci/run` does both); missing either fails loudly, never skips.
pub fn browser_test(script: &str, envs: &[(&str, &str)]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(dir.join("node_modules/playwright-core").is_dir(), "playwright-core is not installed: run `npm ci` in {}", dir.display());
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots");
    let out = Command::new("node")
        .arg(dir.join(script))
        .current_dir(&dir)
        .env("SCREENSHOT_DIR", &shots)
        .envs(envs.iter().copied())
        .output()
        .expect("running node (apt-get install nodejs)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser test {script} failed:\n{text}");
    eprintln!("{text}");
}
