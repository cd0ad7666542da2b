//! Test helpers: where the real model and the reference data live.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

/// The real model: see `store::test_model_path`.
pub fn model_path() -> PathBuf {
    store::test_model_path()
}

/// `shared/reference/gemma-3-270m-q4_k_m/<name>`, beside the repository.
pub fn reference_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/gemma-3-270m-q4_k_m")
        .join(name);
    assert!(
        path.is_file(),
        "reference data not found at {}: the shared/ folder with llama.cpp reference outputs must sit beside the repository",
        path.display()
    );
    path
}

pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

pub fn hex_to_bytes(hex: &str) -> Vec<u8> {
    assert_eq!(hex.len() % 2, 0, "odd-length hex {hex:?}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array()
        .expect("id array")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}
