//! PEFT LoRA adapters (made by transformers + peft: scripts/make_lora_fixtures.py) applied to the
//! tiny fixtures, loaded from safetensors and from GGUF (F32 and Q8_0 bases), against peft's logits.

mod common;

use std::path::PathBuf;

use common::ids;
use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LoadOptions, LogitsWanted};

fn testdata(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(p)
}

fn open(base: &str, adapter: &str) -> Result<LoadedModel, String> {
    let opts = LoadOptions { n_ctx: None, lora: Some(testdata(adapter)), ..Default::default() };
    LoadedModel::open_with(&testdata(base), &opts).map_err(|e| e.to_string())
}

/// Max |dlogit| over every sequence, and the share of positions whose argmax agrees.
fn compare(lm: &LoadedModel, golden: &serde_json::Value) -> (f32, f64) {
    let pool = ThreadPool::new(2);
    let (mut max, mut agree, mut total) = (0.0f32, 0usize, 0usize);
    for s in golden["sequences"].as_array().unwrap() {
        let seq = ids(&s["ids"]);
        let mut ctx = ForwardCtx::new(&pool);
        let mut kv = KvCache::new(lm.model.config(), 128, 64);
        let mut out = Vec::new();
        lm.model.forward(&mut ctx, &seq, 0, &mut kv, LogitsWanted::All, &mut out).expect("forward");
        let rows: Vec<Vec<f32>> = s["logits"].as_array().unwrap().iter().map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect()).collect();
        let n_vocab = rows[0].len();
        for (i, want) in rows.iter().enumerate() {
            let ours = &out[i * n_vocab..(i + 1) * n_vocab];
            max = want.iter().zip(ours).map(|(a, b)| (a - b).abs()).fold(max, f32::max);
            let am = |v: &[f32]| v.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            agree += usize::from(am(ours) == am(want));
            total += 1;
        }
    }
    (max, agree as f64 / total as f64)
}

fn golden(adapter: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(testdata(adapter).join("golden.json")).unwrap()).unwrap()
}

#[test]
fn peft_adapters_match_transformers_on_float_bases() {
    // Float32 throughout; logits reach about ±25 with the adapter, hence 5e-3.
    for (base, adapter) in [
        ("tiny-llama", "lora/tiny-llama"),
        ("tiny-llama/model-f32.gguf", "lora/tiny-llama"),
        ("tiny-gemma3", "lora/tiny-gemma3"),
        ("tiny-gemma3/model-f32.gguf", "lora/tiny-gemma3"),
    ] {
        let lm = open(base, adapter).unwrap_or_else(|e| panic!("{base} + {adapter}: {e}"));
        let (max, agree) = compare(&lm, &golden(adapter));
        eprintln!("{base} + {adapter}: max |dlogit| {max:.2e}, argmax agreement {agree:.3}");
        assert!(max <= 5e-3, "{base} + {adapter}: max |dlogit| {max}");
        // Without the adapter the same model is far away (the test can fail).
        let plain = LoadedModel::open(&testdata(base)).unwrap();
        let (max_plain, _) = compare(&plain, &golden(adapter));
        assert!(max_plain > 1.0, "{base}: the adapter's golden logits are too close to the base's ({max_plain})");
    }
}

#[test]
fn peft_adapter_on_a_quantized_base_stays_close() {
    // QLoRA-style: the base stays Q8_0, the adapter F32.
    for (base, adapter) in [("tiny-llama/model-q8_0.gguf", "lora/tiny-llama"), ("tiny-gemma3/model-q8_0.gguf", "lora/tiny-gemma3")] {
        let lm = open(base, adapter).unwrap_or_else(|e| panic!("{base} + {adapter}: {e}"));
        let (max, agree) = compare(&lm, &golden(adapter));
        // Q8_0 rounding of a random tiny model moves logits by a few tenths already; the adapter
        // must still bring the output near peft's and far from the quantized base alone.
        let (max_plain, agree_plain) = compare(&LoadedModel::open(&testdata(base)).unwrap(), &golden(adapter));
        eprintln!("{base} + {adapter}: max |dlogit| {max:.3}, argmax agreement {agree:.3} (without the adapter: {max_plain:.3}, {agree_plain:.3})");
        assert!(agree >= 0.85 && max < max_plain / 5.0, "{base} + {adapter}: max |dlogit| {max}, agreement {agree}");
    }
}

#[test]
fn adapters_for_another_model_or_broken_folders_are_named_errors() {
    // Gemma's adapter on the Llama fixture: shapes differ.
    let err = open("tiny-llama", "lora/tiny-gemma3").err().expect("a mismatched adapter must fail");
    assert!(err.contains("LoRA"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let opts = LoadOptions { n_ctx: None, lora: Some(dir.path().to_path_buf()), ..Default::default() };
    let err = LoadedModel::open_with(&testdata("tiny-llama"), &opts).err().expect("an empty folder must fail").to_string();
    assert!(err.contains("adapter_config.json"), "{err}");
    std::fs::write(dir.path().join("adapter_config.json"), r#"{"peft_type": "IA3", "r": 4, "lora_alpha": 8}"#).unwrap();
    let err = LoadedModel::open_with(&testdata("tiny-llama"), &opts).err().unwrap().to_string();
    assert!(err.contains("only LORA"), "{err}");
}
