//! Shared helpers for the finetune integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

use finetune::batch::IGNORE;
use finetune::Batch;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Documents packed into one batch; each position from `skip` to len-2 predicts the next token.
pub fn pack(docs: &[Vec<u32>], skip: usize) -> Batch {
    let mut b = Batch::default();
    for d in docs {
        b.doc_starts.push(b.tokens.len());
        for (i, &t) in d.iter().enumerate() {
            b.tokens.push(t);
            b.targets.push(if i >= skip && i + 1 < d.len() { d[i + 1] } else { IGNORE });
        }
    }
    b
}

/// max |a - b| / max |b| (b the reference).
pub fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}
