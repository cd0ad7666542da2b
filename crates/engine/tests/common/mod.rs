//! Locating the real model and the llama.cpp reference data for tests.
#![allow(dead_code)] // each test binary uses a different subset

pub mod batch;
pub mod sched;

use std::path::PathBuf;

/// The real model: see `store::test_model_path`.
pub fn model_path() -> PathBuf {
    store::test_model_path()
}

pub fn reference(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/gemma-3-270m-q4_k_m").join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reference data {} missing: {e}", p.display()));
    serde_json::from_str(&text).expect("reference json")
}

pub fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().expect("id array").iter().map(|x| x.as_u64().expect("id") as u32).collect()
}

/// log softmax of one logit row, in f64.
pub fn log_softmax(row: &[f32]) -> Vec<f64> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = max + row.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln();
    row.iter().map(|&v| v as f64 - lse).collect()
}

pub fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}
