//! Shared test helpers: the real model's path, the Python reference scripts, a deterministic RNG.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The real model: see `store::test_model_path`.
pub fn model_path() -> PathBuf {
    store::test_model_path()
}

/// `shared/reference/gemma-3-270m-q4_k_m/model_metadata.json`, next to the repository.
pub fn reference_metadata() -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = [
        root.join("../shared/reference/gemma-3-270m-q4_k_m/model_metadata.json"),
        root.join("shared/reference/gemma-3-270m-q4_k_m/model_metadata.json"),
    ];
    let path = candidates
        .iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("reference data not found at {}", candidates[0].display()));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Run `python3 scripts/<script> args...` and return stdout; a missing python or package fails clearly.
pub fn python_script(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}); install Python 3, then `pip install gguf numpy`")
        });
    assert!(
        out.status.success(),
        "{} failed ({}): {}\nif packages are missing: pip install gguf numpy",
        path.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("python output is UTF-8")
}

/// xorshift64*: deterministic, dependency-free randomness for corruption tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
