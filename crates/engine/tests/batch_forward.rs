//! Continuous batching: several sequences in one forward pass must compute what each computes
//! alone (their own positions, their own KV cache, sliding-window rings included).

mod common;

use common::batch::batch_vs_alone;
use common::model_path;
use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted, SeqInput};

/// At the native level a batch may take other kernels than the rows alone (pre-decoded panels from
/// 8 rows, GEMM tiles from 2), which round differently; Gemma 3 amplifies that to ~0.2 mean |dlogit|
/// (each path is as far from the scalar kernels). The choice of token must not change. Exactness of
/// the batching itself is checked on scalar kernels (batch_forward_scalar.rs).
#[test]
fn batched_sequences_match_separate_runs() {
    batch_vs_alone(2.5, 0.5);
}

#[test]
fn a_sequence_wanting_no_logits_adds_no_rows() {
    let lm = LoadedModel::open(&model_path()).expect("model");
    let cfg = lm.model.config().clone();
    let pool = ThreadPool::new(2);
    let mut ctx = ForwardCtx::new(&pool);
    let a = lm.tokenizer.encode("Hello there", true, false).unwrap();
    let (mut k1, mut k2) = (KvCache::new(&cfg, 64, 64), KvCache::new(&cfg, 64, 64));
    let mut out = Vec::new();
    let mut seqs = [
        SeqInput { tokens: &a, pos0: 0, kv: &mut k1, want: LogitsWanted::None, adapter: 0 },
        SeqInput { tokens: &a, pos0: 0, kv: &mut k2, want: LogitsWanted::All, adapter: 0 },
    ];
    lm.model.forward_batch(&mut ctx, &mut seqs, &mut out).unwrap();
    assert_eq!(out.len(), a.len() * cfg.n_vocab);
}
