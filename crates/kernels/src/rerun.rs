//! Re-running tests of the current test binary at other CPU levels this machine supports.
//! `AGORA_CPU` is read once per process, so each level needs a process of its own: the reference tests
//! (logits and perplexity against llama.cpp) use this to pass on every dispatch level, not only the best.

use std::process::Command;

use crate::cpu::{self, CpuLevel};

/// Every level this CPU supports other than the active one (which the plain test run covers).
pub fn other_levels() -> Vec<CpuLevel> {
    CpuLevel::all().iter().copied().filter(|l| l.is_supported() && *l != cpu::active()).collect()
}

/// Runs the named tests (exact names) of the running test binary in a child process with
/// `AGORA_CPU=level`. Panics with the child's output when one fails or did not run.
pub fn rerun_at(level: CpuLevel, tests: &[&str]) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new(&exe)
        .args(["--exact", "--nocapture", "--test-threads", "1"])
        .args(tests)
        .env("AGORA_CPU", level.name())
        .output()
        .unwrap_or_else(|e| panic!("running {} at {level}: {e}", exe.display()));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "at AGORA_CPU={level}:\n{text}");
    // A filter that matched nothing would pass silently: insist every test ran.
    let passed = text.matches(" ... ok").count();
    assert_eq!(passed, tests.len(), "at AGORA_CPU={level}, expected {} tests to pass:\n{text}", tests.len());
    eprintln!("AGORA_CPU={level}: {passed} tests passed");
}
