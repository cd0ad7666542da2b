//! Per-request LoRA adapters (`LoadedModel::attach_adapter`): one batched pass with sequences on
//! the base and on two different adapters gives each sequence the logits it gets alone with that
//! adapter baked in (`LoadOptions::lora`, the `run --lora` path), and those match peft's.

mod common;

use std::path::PathBuf;

use common::ids;
use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LoadOptions, LogitsWanted, SeqInput};

fn testdata(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(p)
}

fn golden(p: &str) -> Vec<(Vec<u32>, Vec<Vec<f32>>)> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(testdata(p)).unwrap()).unwrap();
    let rows = |s: &serde_json::Value| s["logits"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()).collect();
    v["sequences"].as_array().unwrap().iter().map(|s| (ids(&s["ids"]), rows(s))).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Every position's logits of `tokens` run alone, then `extra` decode steps' last-row logits.
fn alone(lm: &LoadedModel, tokens: &[u32], extra: &[u32]) -> (Vec<f32>, Vec<Vec<f32>>) {
    let pool = ThreadPool::new(2);
    let mut ctx = ForwardCtx::new(&pool);
    let mut kv = KvCache::new(lm.model.config(), 128, 64);
    let mut out = Vec::new();
    lm.model.forward(&mut ctx, tokens, 0, &mut kv, LogitsWanted::All, &mut out).unwrap();
    let prefill = out.clone();
    let steps = extra
        .iter()
        .enumerate()
        .map(|(i, t)| {
            lm.model.forward(&mut ctx, &[*t], tokens.len() + i, &mut kv, LogitsWanted::Last, &mut out).unwrap();
            out.clone()
        })
        .collect();
    (prefill, steps)
}

/// Runs the sequences together, sequence `i` on adapter `adapters[i]`: one prefill pass, then
/// decode passes of one token each (the head then sees one row per sequence).
fn together(lm: &LoadedModel, seqs: &[&[u32]], adapters: &[usize], extra: &[u32]) -> (Vec<Vec<f32>>, Vec<Vec<Vec<f32>>>) {
    let pool = ThreadPool::new(2);
    let mut ctx = ForwardCtx::new(&pool);
    let nv = lm.model.config().n_vocab;
    let mut kvs: Vec<KvCache> = seqs.iter().map(|_| KvCache::new(lm.model.config(), 128, 64)).collect();
    let mut out = Vec::new();
    let mut batch: Vec<SeqInput> = seqs.iter().zip(kvs.iter_mut()).zip(adapters).map(|((t, kv), &adapter)| SeqInput { tokens: t, pos0: 0, kv, want: LogitsWanted::All, adapter }).collect();
    lm.model.forward_batch(&mut ctx, &mut batch, &mut out).unwrap();
    drop(batch);
    let mut prefill = Vec::new();
    let mut row = 0;
    for t in seqs {
        prefill.push(out[row * nv..(row + t.len()) * nv].to_vec());
        row += t.len();
    }
    let mut steps = vec![Vec::new(); seqs.len()];
    for (i, tok) in extra.iter().enumerate() {
        let one = [*tok];
        let mut batch: Vec<SeqInput> = seqs.iter().zip(kvs.iter_mut()).zip(adapters).map(|((t, kv), &adapter)| SeqInput { tokens: &one, pos0: t.len() + i, kv, want: LogitsWanted::Last, adapter }).collect();
        lm.model.forward_batch(&mut ctx, &mut batch, &mut out).unwrap();
        for (s, row) in steps.iter_mut().zip(out.chunks_exact(nv)) {
            s.push(row.to_vec());
        }
    }
    (prefill, steps)
}

fn baked(base: &str, adapter: Option<&str>) -> LoadedModel {
    LoadedModel::open_with(&testdata(base), &LoadOptions { n_ctx: None, lora: adapter.map(testdata), ..Default::default() }).unwrap()
}

#[test]
fn a_batch_mixing_base_and_two_adapters_equals_each_sequence_alone_with_its_adapter_baked_in() {
    for base in ["tiny-llama", "tiny-llama/model-q8_0.gguf"] {
        let mut lm = LoadedModel::open(&testdata(base)).unwrap();
        assert_eq!(lm.attach_adapter("a", &testdata("lora/tiny-llama")).unwrap(), 1);
        assert_eq!(lm.attach_adapter("b", &testdata("lora/tiny-llama-b")).unwrap(), 2);
        assert_eq!(lm.adapters, ["a", "b"]);
        let g = golden("lora/tiny-llama/golden.json");
        // Three prompts of different lengths, in an order that puts adapters between the base rows.
        let seqs: [&[u32]; 4] = [&g[1].0, &g[0].0, &g[2].0, &g[0].0[..3]];
        let adapters = [1, 0, 2, 1];
        let extra = [5u32, 17, 3];
        let (prefill, steps) = together(&lm, &seqs, &adapters, &extra);
        let refs = [baked(base, None), baked(base, Some("lora/tiny-llama")), baked(base, Some("lora/tiny-llama-b"))];
        for (i, (t, &a)) in seqs.iter().zip(&adapters).enumerate() {
            let (want_prefill, want_steps) = alone(&refs[a], t, &extra);
            // Same kernels on the same rows, only the batch around them differs: float noise only.
            let d = max_diff(&prefill[i], &want_prefill);
            assert!(d <= 1e-4, "{base}: sequence {i} (adapter {a}) prefill differs from the baked-in run by {d}");
            for (s, (got, want)) in steps[i].iter().zip(&want_steps).enumerate() {
                let d = max_diff(got, want);
                assert!(d <= 1e-4, "{base}: sequence {i} (adapter {a}) decode step {s} differs by {d}");
            }
            // The adapters change the output (so the comparison above can fail).
            if a != 0 {
                let (plain, _) = alone(&refs[0], t, &[]);
                assert!(max_diff(&prefill[i], &plain) > 1.0, "{base}: adapter {a} left sequence {i} as the base computed it");
            }
        }
    }
}

#[test]
fn per_request_adapters_match_transformers_and_peft() {
    // Float32 bases: peft's logits within 5e-3 (as the baked-in path in lora_peft.rs).
    for (base, adapters) in [("tiny-llama", vec!["lora/tiny-llama", "lora/tiny-llama-b"]), ("tiny-gemma3/model-f32.gguf", vec!["lora/tiny-gemma3"])] {
        let mut lm = LoadedModel::open(&testdata(base)).unwrap();
        for (i, a) in adapters.iter().enumerate() {
            lm.attach_adapter(&format!("adapter-{i}"), &testdata(a)).unwrap();
        }
        // Every golden sequence on every adapter, all in one pass.
        let goldens: Vec<_> = adapters.iter().map(|a| golden(&format!("{a}/golden.json"))).collect();
        let mut seqs: Vec<&[u32]> = Vec::new();
        let mut ids_of = Vec::new();
        let mut wants: Vec<&Vec<Vec<f32>>> = Vec::new();
        for (i, g) in goldens.iter().enumerate() {
            for (t, logits) in g {
                seqs.push(t);
                ids_of.push(i + 1);
                wants.push(logits);
            }
        }
        let (prefill, _) = together(&lm, &seqs, &ids_of, &[]);
        let nv = lm.model.config().n_vocab;
        for (k, (got, want)) in prefill.iter().zip(&wants).enumerate() {
            let flat: Vec<f32> = want.iter().flatten().copied().collect();
            assert_eq!(flat.len(), seqs[k].len() * nv);
            let d = max_diff(got, &flat);
            eprintln!("{base}: sequence {k} on adapter {}: max |dlogit| vs peft {d:.2e}", ids_of[k]);
            assert!(d <= 5e-3, "{base}: sequence {k} on adapter {}: max |dlogit| vs peft {d}", ids_of[k]);
        }
    }
}

#[test]
fn a_broken_adapter_is_a_named_error_and_leaves_the_ids_unchanged() {
    let mut lm = LoadedModel::open(&testdata("tiny-llama")).unwrap();
    let err = lm.attach_adapter("g", &testdata("lora/tiny-gemma3")).err().expect("Gemma's adapter on Llama must fail").to_string();
    assert!(err.contains("LoRA") && err.contains("tiny-gemma3"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = lm.attach_adapter("x", dir.path()).err().expect("an empty folder must fail").to_string();
    assert!(err.contains("adapter_config.json"), "{err}");
    assert!(lm.adapters.is_empty());
    assert_eq!(lm.attach_adapter("a", &testdata("lora/tiny-llama")).unwrap(), 1);
}
