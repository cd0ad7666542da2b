//! The step loop on the tiny Gemma 3 fixture (sliding window 8): chunked prefill through the
//! ring-buffer KV cache, prefix reuse, and the context-overflow error.

mod common;

use std::path::PathBuf;

use common::ids;
use engine::{EngineError, LoadedModel, Session};
use kernels::pool::ThreadPool;

fn tiny_gemma() -> (LoadedModel, serde_json::Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/tiny-gemma3");
    let g: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap()).unwrap();
    (LoadedModel::open(&dir.join("model-f32.gguf")).expect("load"), g)
}

fn last_row(g: &serde_json::Value, seq: usize) -> Vec<f32> {
    let rows = g["sequences"][seq]["logits"].as_array().unwrap();
    rows.last().unwrap().as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn chunked_prefill_through_sliding_window_rings_matches_transformers() {
    let (lm, g) = tiny_gemma();
    let pool = ThreadPool::new(2);
    let seq = ids(&g["sequences"][2]["ids"]); // 40 tokens, 5x the window
    let want = last_row(&g, 2);
    for chunk in [1, 3, 7, 8, 40] {
        // Rings of window + chunk slots: most positions are overwritten several times.
        let mut s = Session::with_chunk(lm.model.as_ref(), &pool, 64, chunk);
        s.prefill(&seq).expect("prefill");
        let d = max_diff(s.logits(), &want);
        assert!(d < 2e-3, "chunk {chunk}: max |dlogit| {d}");
    }
}

#[test]
fn prefix_reuse_gives_the_same_logits_as_a_fresh_prefill() {
    let (lm, g) = tiny_gemma();
    let pool = ThreadPool::new(2);
    let long = ids(&g["sequences"][2]["ids"]);
    let mut s = Session::with_chunk(lm.model.as_ref(), &pool, 64, 4);
    s.prefill(&long[..30]).unwrap();
    // Same first 28 tokens, then new ones: only the tail may be recomputed (within the ring's slack).
    let mut other = long[..28].to_vec();
    other.extend_from_slice(&long[..12]);
    let reused = s.prefill(&other).unwrap();
    assert!(reused > 0, "expected the common prefix to be reused");
    let mut fresh = Session::with_chunk(lm.model.as_ref(), &pool, 64, 4);
    fresh.prefill(&other).unwrap();
    assert!(max_diff(s.logits(), fresh.logits()) < 1e-4);
}

#[test]
fn prompt_longer_than_context_is_a_clear_error() {
    let (lm, g) = tiny_gemma();
    let pool = ThreadPool::new(1);
    let seq = ids(&g["sequences"][2]["ids"]);
    let mut s = Session::new(lm.model.as_ref(), &pool, 16);
    match s.prefill(&seq) {
        Err(e @ EngineError::PromptTooLong { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("40 tokens") && msg.contains("--ctx"), "{msg}");
        }
        other => panic!("expected PromptTooLong, got {:?}", other.map(|_| ())),
    }
    assert!(matches!(s.prefill(&[]), Err(EngineError::EmptyPrompt)));
}
