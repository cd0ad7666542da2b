//! The model zoo: one tiny random model per architecture (testdata/tiny-<arch>, made by
//! scripts/make_tiny_models.py), loaded from bfloat16 safetensors and from the bfloat16 GGUF written by
//! llama.cpp's own converter (float32 norms and biases), against transformers' float32 logits on the
//! same values and its greedy ids; and the batched paths against the one-token path. The engine
//! computes in float32 from BF16 weights, so the float32 tolerance applies.

mod common;

use std::path::PathBuf;

use common::ids;
use engine::sampler::SamplingParams;
use engine::{KvCache, LoadedModel, Session};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LoadOptions, LogitsWanted, SeqInput};

/// Logits agree with transformers to this (float32 compute on both sides).
const TOL: f32 = 1e-3;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn golden(name: &str) -> serde_json::Value {
    let p = fixture(name).join("golden.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("golden json")
}

fn open(path: &PathBuf) -> LoadedModel {
    LoadedModel::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_logits(lm: &LoadedModel, pool: &ThreadPool, seq: &[u32]) -> Vec<f32> {
    let mut ctx = ForwardCtx::new(pool);
    let mut kv = KvCache::new(lm.model.config(), 128, 64);
    let mut out = Vec::new();
    lm.model.forward(&mut ctx, seq, 0, &mut kv, LogitsWanted::All, &mut out).expect("forward");
    out
}

/// Every golden logit row (positions below `max_pos` only, when given) within TOL, and the greedy
/// continuation equal up to the first near-tie.
fn check(name: &str, path: PathBuf, max_pos: Option<usize>) {
    let g = golden(name);
    let lm = open(&path);
    let n_vocab = lm.model.config().n_vocab;
    let pool = ThreadPool::new(2);
    let mut compared = 0;
    for s in g["sequences"].as_array().unwrap() {
        let seq = ids(&s["ids"]);
        let ours = all_logits(&lm, &pool, &seq);
        for (p, row) in ids(&s["positions"]).iter().zip(s["logits"].as_array().unwrap()) {
            let p = *p as usize;
            if max_pos.is_some_and(|m| p >= m) {
                continue;
            }
            let want: Vec<f32> = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let got = &ours[p * n_vocab..(p + 1) * n_vocab];
            let max = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(max <= TOL, "{name} from {}: position {p} of {} tokens, max |dlogit| {max} > {TOL}", path.display(), seq.len());
            compared += 1;
        }
    }
    eprintln!("{name} {}: {compared} logit rows within {TOL}", path.display());
    assert!(compared >= 8, "{name}: only {compared} rows compared");
    let gr = &g["greedy"];
    let prompt = ids(&gr["prompt_ids"]);
    let want = ids(&gr["new_ids"]);
    let stable = gr["steps"].as_array().unwrap().iter().position(|s| s["margin"].as_f64().unwrap() < 0.01).unwrap_or(want.len());
    let n = match max_pos {
        Some(m) => stable.min(m.saturating_sub(prompt.len())),
        None => stable,
    };
    // Every fixture is made with margins that leave at least this many decided steps.
    let floor = n.min(8);
    let mut session = Session::new(lm.model.as_ref(), &pool, 128);
    let params = SamplingParams { max_tokens: Some(want.len()), ..SamplingParams::greedy() };
    let out = session.generate(&lm.tokenizer, &prompt, &params, &mut |_| true).expect("generate");
    // The session stops at an end-of-generation token (the golden ran with EOS disabled).
    let eog = ids(&g["special_tokens"]["end_of_generation"]);
    let stop = want.iter().position(|t| eog.contains(t));
    let n = match stop {
        Some(i) if i < n => {
            assert!(out.tokens.len() <= i + 1, "{name}: did not stop at end-of-generation token {}", want[i]);
            out.tokens.len().min(i)
        }
        _ => n,
    };
    assert!(out.tokens.len() >= n && n >= floor, "{name}: generation stopped early ({} tokens): {:?}", out.tokens.len(), out.stop_reason);
    assert_eq!(&out.tokens[..n], &want[..n], "{name} from {}: greedy ids", path.display());
    eprintln!("{name} {}: greedy ids equal over {n} of {} tokens", path.display(), want.len());
    assert!(n >= 8 || max_pos.is_some(), "{name}: only {n} greedy steps are decided (margin >= 0.01); remake the fixture");
}

/// One pass over each whole sequence, all sequences batched in one pass, and one token at a time
/// through the KV cache must give the same logits.
fn check_paths_agree(name: &str) {
    let g = golden(name);
    let lm = open(&fixture(name));
    let cfg = lm.model.config().clone();
    let nv = cfg.n_vocab;
    let pool = ThreadPool::new(2);
    let seqs: Vec<Vec<u32>> = g["sequences"].as_array().unwrap().iter().map(|s| ids(&s["ids"])).collect();
    let whole: Vec<Vec<f32>> = seqs.iter().map(|s| all_logits(&lm, &pool, s)).collect();
    let close = |a: &[f32], b: &[f32], what: &str| {
        let max = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(max <= 1e-4, "{name}: {what}: max |dlogit| {max}");
    };
    // One token at a time.
    let mut ctx = ForwardCtx::new(&pool);
    for (s, w) in seqs.iter().zip(&whole) {
        let mut kv = KvCache::new(&cfg, 128, 64);
        let mut out = Vec::new();
        for (p, &t) in s.iter().enumerate() {
            lm.model.forward(&mut ctx, &[t], p, &mut kv, LogitsWanted::Last, &mut out).unwrap();
            close(&out, &w[p * nv..(p + 1) * nv], &format!("token-by-token position {p}"));
        }
    }
    // All sequences in one batched pass.
    let mut kvs: Vec<KvCache> = seqs.iter().map(|_| KvCache::new(&cfg, 128, 64)).collect();
    let mut inputs: Vec<SeqInput> = seqs
        .iter()
        .zip(kvs.iter_mut())
        .map(|(s, kv)| SeqInput { tokens: s, pos0: 0, kv, want: LogitsWanted::All, adapter: 0 })
        .collect();
    let mut out = Vec::new();
    lm.model.forward_batch(&mut ctx, &mut inputs, &mut out).unwrap();
    let flat: Vec<f32> = whole.concat();
    close(&out, &flat, "batched sequences");
}

macro_rules! zoo_tests {
    ($arch:ident, $name:literal, $gguf_max_pos:expr) => {
        mod $arch {
            use super::*;

            #[test]
            fn safetensors_matches_transformers() {
                check($name, fixture($name), None);
            }

            #[test]
            fn gguf_bf16_matches_transformers() {
                check($name, fixture($name).join("model-bf16.gguf"), $gguf_max_pos);
            }

            #[test]
            fn batch_and_single_token_paths_agree() {
                check_paths_agree($name);
            }
        }
    };
}

zoo_tests!(qwen2, "tiny-qwen2", None);
zoo_tests!(qwen3, "tiny-qwen3", None);
zoo_tests!(phi3, "tiny-phi3", None);
zoo_tests!(gemma2, "tiny-gemma2", None);
// llama.cpp's converter writes Mistral as `llama` without its sliding window (8 here) and llama.cpp
// attends to everything: the GGUF equals transformers only on positions inside the first window.
zoo_tests!(mistral, "tiny-mistral", Some(8));

/// The window is real: beyond it, the HF folder (window honoured) and the converted GGUF differ.
#[test]
fn mistral_sliding_window_changes_late_positions() {
    let g = golden("tiny-mistral");
    let pool = ThreadPool::new(2);
    let seq = ids(&g["sequences"][2]["ids"]);
    let hf = all_logits(&open(&fixture("tiny-mistral")), &pool, &seq);
    let gguf = all_logits(&open(&fixture("tiny-mistral").join("model-bf16.gguf")), &pool, &seq);
    let nv = hf.len() / seq.len();
    let diff = |p: usize| hf[p * nv..(p + 1) * nv].iter().zip(&gguf[p * nv..(p + 1) * nv]).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff(7) < 1e-4, "inside the window: {}", diff(7));
    assert!(diff(seq.len() - 1) > 1e-2, "outside the window: {}", diff(seq.len() - 1));
}
zoo_tests!(falcon, "tiny-falcon", None);
zoo_tests!(falcon40b, "tiny-falcon40b", None);
zoo_tests!(mixtral, "tiny-mixtral", None);
zoo_tests!(qwen3moe, "tiny-qwen3moe", None);
zoo_tests!(qwen2moe, "tiny-qwen2moe", None);
// Loaded with the default context (the training context, 256 > original 16): the long factors, which
// transformers used for the golden sequences (all longer than 16 tokens).
zoo_tests!(phi3_longrope, "tiny-phi3-longrope", None);

/// Largest |dlogit| against the golden rows of `seqs` for a long-rope model loaded for `n_ctx` tokens.
fn longrope_max_diff(path: &std::path::Path, n_ctx: usize, seqs: &serde_json::Value) -> f32 {
    let lm = LoadedModel::open_with(path, &LoadOptions { n_ctx: Some(n_ctx), ..Default::default() }).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let nv = lm.model.config().n_vocab;
    let pool = ThreadPool::new(2);
    let mut max = 0.0f32;
    for s in seqs.as_array().unwrap() {
        let seq = ids(&s["ids"]);
        let ours = all_logits(&lm, &pool, &seq);
        for (p, row) in ids(&s["positions"]).iter().zip(s["logits"].as_array().unwrap()) {
            let got = &ours[*p as usize * nv..(*p as usize + 1) * nv];
            for (a, b) in got.iter().zip(row.as_array().unwrap()) {
                max = max.max((a - b.as_f64().unwrap() as f32).abs());
            }
        }
    }
    max
}

/// Loaded for a context within the original 16 tokens, the model uses the short factors: it matches
/// transformers on sequences of at most 16 tokens (where transformers uses them too) from both
/// sources, and no longer matches the long-factor goldens; loaded for more, the reverse.
#[test]
fn phi3_longrope_context_picks_short_or_long_factors() {
    let g = golden("tiny-phi3-longrope");
    let short = &g["short_sequences"];
    let orig = short["n_ctx"].as_u64().unwrap() as usize;
    assert_eq!(orig, g["config"]["rope_parameters"]["original_max_position_embeddings"].as_u64().unwrap() as usize);
    assert!(short["sequences"].as_array().unwrap().iter().all(|s| ids(&s["ids"]).len() <= orig));
    for path in [fixture("tiny-phi3-longrope"), fixture("tiny-phi3-longrope").join("model-bf16.gguf")] {
        let d = longrope_max_diff(&path, orig, &short["sequences"]);
        assert!(d <= TOL, "{}: short factors at n_ctx {orig}: max |dlogit| {d} > {TOL}", path.display());
        let d = longrope_max_diff(&path, orig + 1, &g["sequences"]);
        assert!(d <= TOL, "{}: long factors at n_ctx {}: max |dlogit| {d} > {TOL}", path.display(), orig + 1);
        // The choice matters: the other set misses each golden by far more than the tolerance.
        let d_short = longrope_max_diff(&path, orig, &g["sequences"]);
        assert!(d_short > 0.1, "{}: short factors still match the long goldens ({d_short})", path.display());
        let d_long = longrope_max_diff(&path, orig + 1, &short["sequences"]);
        assert!(d_long > 0.1, "{}: long factors still match the short goldens ({d_long})", path.display());
        eprintln!("{}: each factor set matches its goldens; the other set misses them by {d_short} / {d_long}", path.display());
    }
}
