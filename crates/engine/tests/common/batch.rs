//! Continuous batching check shared by the native-level and scalar-level test binaries.

use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted, SeqInput};

use super::{argmax, model_path};

fn check(what: &str, got: &[f32], want: &[f32], max_tol: f32, mean_tol: f32) {
    assert_eq!(got.len(), want.len());
    let max = got.iter().zip(want).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
    let mean = got.iter().zip(want).map(|(x, y)| (x - y).abs() as f64).sum::<f64>() / got.len() as f64;
    eprintln!("{what}: max |dlogit| {max:.2e}, mean {mean:.2e}");
    assert!(max <= max_tol && mean <= mean_tol as f64, "{what}: max |dlogit| {max} (<= {max_tol}), mean {mean} (<= {mean_tol})");
    assert_eq!(argmax(got), argmax(want), "{what}: batched and alone pick different tokens");
}

/// Prefill three prompts of different lengths in one pass, then decode one step for all three, and
/// compare every logit with running each sequence alone: max |d| <= `max_tol`, mean |d| <= `mean_tol`,
/// and the same argmax.
pub fn batch_vs_alone(max_tol: f32, mean_tol: f32) {
    let lm = LoadedModel::open(&model_path()).expect("model");
    let cfg = lm.model.config().clone();
    let pool = ThreadPool::new(2);
    let mut ctx = ForwardCtx::new(&pool);
    let tok = |s: &str| lm.tokenizer.encode(s, true, false).unwrap();
    let a = tok("The capital of France is");
    let b = tok("Once upon a time, in a land far away, there lived a dragon who loved");
    let c = tok("1, 2, 3, 4,");

    // Alone: prefill each, then one decode step with a fixed next token.
    let mut alone = Vec::new();
    for p in [&a, &b, &c] {
        let mut kv = KvCache::new(&cfg, 256, 64);
        let (mut pre, mut step) = (Vec::new(), Vec::new());
        lm.model.forward(&mut ctx, p, 0, &mut kv, LogitsWanted::Last, &mut pre).unwrap();
        lm.model.forward(&mut ctx, &[argmax(&pre)], p.len(), &mut kv, LogitsWanted::Last, &mut step).unwrap();
        alone.push((pre, step));
    }

    // Together: one prefill pass for all three (different lengths and wants), one decode pass.
    let mut kvs: Vec<KvCache> = (0..3).map(|_| KvCache::new(&cfg, 256, 64)).collect();
    let mut out = Vec::new();
    {
        let [ka, kb, kc] = &mut kvs[..] else { unreachable!() };
        let mut seqs = [
            SeqInput { tokens: &a, pos0: 0, kv: ka, want: LogitsWanted::Last, adapter: 0 },
            SeqInput { tokens: &b, pos0: 0, kv: kb, want: LogitsWanted::Last, adapter: 0 },
            SeqInput { tokens: &c, pos0: 0, kv: kc, want: LogitsWanted::Last, adapter: 0 },
        ];
        lm.model.forward_batch(&mut ctx, &mut seqs, &mut out).unwrap();
    }
    let nv = cfg.n_vocab;
    assert_eq!(out.len(), 3 * nv);
    for i in 0..3 {
        check(&format!("prefill of sequence {i}"), &out[i * nv..(i + 1) * nv], &alone[i].0, max_tol, mean_tol);
    }
    let next: Vec<[u32; 1]> = (0..3).map(|i| [argmax(&alone[i].0)]).collect();
    let mut step = Vec::new();
    {
        let [ka, kb, kc] = &mut kvs[..] else { unreachable!() };
        let mut seqs = [
            SeqInput { tokens: &next[0], pos0: a.len(), kv: ka, want: LogitsWanted::Last, adapter: 0 },
            SeqInput { tokens: &next[1], pos0: b.len(), kv: kb, want: LogitsWanted::Last, adapter: 0 },
            SeqInput { tokens: &next[2], pos0: c.len(), kv: kc, want: LogitsWanted::Last, adapter: 0 },
        ];
        lm.model.forward_batch(&mut ctx, &mut seqs, &mut step).unwrap();
    }
    for i in 0..3 {
        check(&format!("decode step of sequence {i}"), &step[i * nv..(i + 1) * nv], &alone[i].1, max_tol, mean_tol);
    }
}

