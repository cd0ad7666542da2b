//! Where test suites find the real model, in one place.

use std::path::PathBuf;

use crate::{Store, DEFAULT_MODEL};

/// `AGORA_TEST_MODEL`, else the default model's file in the store (`$AGORA_HOME`).
/// Panics with the fix when absent: tests that need the model fail, they never skip.
pub fn test_model_path() -> PathBuf {
    let path = match std::env::var_os("AGORA_TEST_MODEL") {
        Some(p) => PathBuf::from(p),
        None => Store::open_default()
            .and_then(|s| s.resolve(DEFAULT_MODEL))
            .map(|r| r.path)
            .unwrap_or_else(|e| panic!("the test model is missing ({e}): run `agora pull gemma3-270m` first (or set AGORA_TEST_MODEL)")),
    };
    assert!(path.is_file(), "test model not found at {}: run `agora pull gemma3-270m` first (or set AGORA_TEST_MODEL)", path.display());
    path
}
