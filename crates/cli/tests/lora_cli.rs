//! `agora run --lora` and `agora merge` with the PEFT adapters made by transformers + peft
//! (testdata/lora/, scripts/make_lora_fixtures.py).

mod run_util;

use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted};
use run_util::{agora, testdata};

fn max_dlogit(model: &std::path::Path, golden: &std::path::Path) -> f32 {
    let g: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
    let lm = LoadedModel::open(model).unwrap();
    let pool = ThreadPool::new(2);
    let mut max = 0.0f32;
    for s in g["sequences"].as_array().unwrap() {
        let ids: Vec<u32> = s["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        let mut ctx = ForwardCtx::new(&pool);
        let mut kv = KvCache::new(lm.model.config(), 128, 64);
        let mut out = Vec::new();
        lm.model.forward(&mut ctx, &ids, 0, &mut kv, LogitsWanted::All, &mut out).unwrap();
        let want = s["logits"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32));
        max = want.zip(&out).map(|(a, b)| (a - b).abs()).fold(max, f32::max);
    }
    max
}

#[test]
fn merged_model_equals_peft_and_run_with_the_adapter() {
    let home = tempfile::tempdir().unwrap();
    // 7 projections per layer: 2 layers in tiny-llama, 6 in tiny-gemma3.
    for (base, adapter, adapted) in [("tiny-llama/model-f32.gguf", "lora/tiny-llama", 14), ("tiny-gemma3/model-f32.gguf", "lora/tiny-gemma3", 42)] {
        let out = home.path().join(format!("{}-merged.gguf", adapter.replace('/', "-")));
        let (ok, stdout, err) = agora(&["merge", testdata(base).to_str().unwrap(), testdata(adapter).to_str().unwrap(), out.to_str().unwrap(), "--type", "F32", "--json"], home.path());
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["adapted_tensors"].as_u64().unwrap(), adapted, "{stdout}");
        // A card and a signed lineage record beside the output, naming the adapter's files.
        let lineage = std::fs::read_to_string(v["lineage"].as_str().unwrap()).unwrap();
        assert!(lineage.contains("adapter_model.safetensors"), "{lineage}");
        let card = std::fs::read_to_string(v["card"].as_str().unwrap()).unwrap();
        assert!(card.contains("finetune"), "{card}");
        let (ok, _, err) = agora(&["lineage", "verify", out.to_str().unwrap()], home.path());
        assert!(ok, "{err}");
        let max = max_dlogit(&out, &testdata(adapter).join("golden.json"));
        eprintln!("{base} merged with {adapter}: max |dlogit| vs peft {max:.2e}");
        assert!(max <= 5e-3, "{base} merged with {adapter}: max |dlogit| {max}");
        // `run --lora` on the base and `run` on the merged file generate the same greedy text.
        let run = |model: &str, lora: Option<&str>| {
            let mut args = vec!["run", model, "-n", "12", "--temp", "0", "--json"];
            if let Some(l) = lora {
                args.extend(["--lora", l]);
            }
            args.push("Hello world");
            let (ok, stdout, err) = agora(&args, home.path());
            assert!(ok, "{err}");
            serde_json::from_str::<serde_json::Value>(&stdout).unwrap()["text"].as_str().unwrap().to_string()
        };
        let with_lora = run(testdata(base).to_str().unwrap(), Some(testdata(adapter).to_str().unwrap()));
        assert_eq!(with_lora, run(out.to_str().unwrap(), None), "{base}");
        assert_ne!(with_lora, run(testdata(base).to_str().unwrap(), None), "{base}: the adapter changed nothing");
    }
}

#[test]
fn merging_an_adapter_into_the_wrong_base_fails_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("bad.gguf");
    let (ok, _, err) = agora(&["merge", testdata("tiny-llama/model-f32.gguf").to_str().unwrap(), testdata("lora/tiny-gemma3").to_str().unwrap(), out.to_str().unwrap()], home.path());
    assert!(!ok && err.contains("adapter"), "{err}");
    assert!(!out.exists(), "a failed merge left {}", out.display());
    let (ok, _, err) = agora(&["run", testdata("tiny-llama").to_str().unwrap(), "--lora", "/no/such/adapter", "hi"], home.path());
    assert!(!ok && err.contains("adapter_config.json"), "{err}");
}
