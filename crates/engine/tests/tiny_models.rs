//! Tiny random Llama 3 and Gemma 3 models (testdata/, made by scripts/make_tiny_models.py with
//! transformers) loaded from both Hugging Face safetensors and llama.cpp-converted GGUF, against
//! transformers' float32 logits and greedy output.

mod common;

use std::path::PathBuf;

use common::{argmax, ids};
use engine::sampler::SamplingParams;
use engine::{KvCache, LoadedModel, Session};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

fn golden(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(fixture(name).join("golden.json")).expect("golden.json");
    serde_json::from_str(&text).expect("golden json")
}

fn logits_for(lm: &LoadedModel, pool: &ThreadPool, seq: &[u32]) -> Vec<f32> {
    let mut ctx = ForwardCtx::new(pool);
    let mut kv = KvCache::new(lm.model.config(), 128, 64);
    let mut out = Vec::new();
    lm.model.forward(&mut ctx, seq, 0, &mut kv, LogitsWanted::All, &mut out).expect("forward");
    out
}

/// Float32 weights: every logit of every sequence within `tol` of transformers.
fn check_float(name: &str, path: PathBuf, tol: f32) {
    let g = golden(name);
    let lm = LoadedModel::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let pool = ThreadPool::new(2);
    for s in g["sequences"].as_array().unwrap() {
        let seq = ids(&s["ids"]);
        let ours = logits_for(&lm, &pool, &seq);
        let want: Vec<f32> = s["logits"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32)).collect();
        assert_eq!(ours.len(), want.len());
        let max = ours.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        eprintln!("{name} {} len {}: max |dlogit| {max:.2e}", path.display(), seq.len());
        assert!(max <= tol, "{name} from {}: sequence of {} tokens, max |dlogit| {max} > {tol}", path.display(), seq.len());
    }
    // Greedy through the step loop (batched prefill, then the KV cache) until the first near-tie.
    let gr = &g["greedy"];
    let prompt = ids(&gr["prompt_ids"]);
    let want = ids(&gr["new_ids"]);
    let stable = gr["steps"].as_array().unwrap().iter().position(|s| s["margin"].as_f64().unwrap() < 0.01).unwrap_or(want.len());
    let mut session = Session::new(lm.model.as_ref(), &pool, 128);
    let params = SamplingParams { max_tokens: Some(want.len()), ..SamplingParams::greedy() };
    let out = session.generate(&lm.tokenizer, &prompt, &params, &mut |_| true).expect("generate");
    let n = stable.min(out.tokens.len());
    assert!(n >= stable.min(4), "{name}: generation stopped early: {:?}", out.stop_reason);
    assert_eq!(&out.tokens[..n], &want[..n], "{name} from {}: greedy ids", path.display());
}

#[test]
fn tiny_llama_safetensors_matches_transformers() {
    check_float("tiny-llama", fixture("tiny-llama"), 2e-3);
}

#[test]
fn tiny_llama_gguf_f32_matches_transformers() {
    check_float("tiny-llama", fixture("tiny-llama/model-f32.gguf"), 2e-3);
}

#[test]
fn tiny_gemma3_safetensors_matches_transformers() {
    check_float("tiny-gemma3", fixture("tiny-gemma3"), 2e-3);
}

#[test]
fn tiny_gemma3_gguf_f32_matches_transformers() {
    check_float("tiny-gemma3", fixture("tiny-gemma3/model-f32.gguf"), 2e-3);
}

/// Q8_0 weights: compare with an exact float64 pass over the same dequantized weights; the gap
/// left is our 8-bit activation rounding.
fn check_q8(name: &str) {
    let g = golden(name);
    let r = &g["gguf"]["files"]["model-q8_0.gguf"]["reference_logits"];
    let lm = LoadedModel::open(&fixture(name).join("model-q8_0.gguf")).expect("load q8_0");
    let pool = ThreadPool::new(2);
    let n_vocab = lm.model.config().n_vocab;
    let (mut same, mut total) = (0, 0);
    for (s, am) in g["sequences"].as_array().unwrap().iter().zip(r["argmax"].as_array().unwrap()) {
        let seq = ids(&s["ids"]);
        let ours = logits_for(&lm, &pool, &seq);
        for (p, want) in ids(am).iter().enumerate() {
            same += usize::from(argmax(&ours[p * n_vocab..(p + 1) * n_vocab]) == *want);
            total += 1;
        }
        if total == seq.len() {
            let want: Vec<f32> = r["sequence_0_logits"].as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32)).collect();
            let max = ours.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            eprintln!("{name} q8_0 sequence 0: max |dlogit| {max:.3}");
            // 8-bit activation rounding on a 64-wide random model; transformers vs this exact math is ~2.2.
            assert!(max < 1.5, "{name} q8_0: max |dlogit| {max} vs exact dequantized math");
        }
    }
    let agree = same as f64 / total as f64;
    eprintln!("{name} q8_0: top-1 agreement {agree:.3} over {total} positions");
    assert!(agree >= 0.9, "{name} q8_0: top-1 agreement {agree}");
}

#[test]
fn tiny_llama_gguf_q8_0_matches_exact_math() {
    check_q8("tiny-llama");
}

#[test]
fn tiny_gemma3_gguf_q8_0_matches_exact_math() {
    check_q8("tiny-gemma3");
}

#[test]
fn tiny_tokenizers_match_transformers() {
    for name in ["tiny-llama", "tiny-gemma3"] {
        let g = golden(name);
        for path in [fixture(name), fixture(name).join("model-f32.gguf")] {
            let lm = LoadedModel::open(&path).expect("load");
            for case in g["tokenizer"].as_array().unwrap() {
                let text = case["text"].as_str().unwrap();
                assert_eq!(lm.tokenizer.encode(text, true, true).unwrap(), ids(&case["ids_add_special_true"]), "{name} {}: {text:?}", path.display());
                assert_eq!(lm.tokenizer.encode(text, false, true).unwrap(), ids(&case["ids_add_special_false"]), "{name} {}: {text:?}", path.display());
            }
        }
    }
}
