//! The PEFT folder writer, read back by our safetensors reader, our PEFT adapter loader, and the
//! real Python `peft` + `safetensors`.

use std::path::PathBuf;
use std::process::Command;

use finetune::export::{write_peft_adapter, PeftAdapterConfig};
use finetune::{LoraConfig, Target};
use models::lora::LoraAdapter;
use weights::SafetensorsFile;

const R: usize = 4;

/// Gemma 3 270M shapes: q_proj [1024, 640], down_proj [640, 2048], for layers 0 and 3.
fn tensors() -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut out = Vec::new();
    for layer in [0, 3] {
        for (module, rows, cols) in [("self_attn.q_proj", 1024, 640), ("mlp.down_proj", 640, 2048)] {
            let base = format!("base_model.model.model.layers.{layer}.{module}");
            let val = |n: usize, k: usize| (0..n).map(|i| (((i * 31 + k * 17 + layer) % 97) as f32 - 48.0) / 1000.0).collect::<Vec<f32>>();
            out.push((format!("{base}.lora_A.weight"), vec![R, cols], val(R * cols, 1)));
            out.push((format!("{base}.lora_B.weight"), vec![rows, R], val(rows * R, 2)));
        }
    }
    out
}

fn config() -> PeftAdapterConfig {
    let lora = LoraConfig { r: R, alpha: 8.0, dropout: 0.05, targets: vec![Target::Q, Target::Down] };
    PeftAdapterConfig::from_lora(&lora, Some("google/gemma-3-270m".into()))
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

#[test]
fn the_folder_reads_back_with_our_readers() {
    let dir = tempfile::tempdir().unwrap();
    let ts = tensors();
    write_peft_adapter(dir.path(), &ts, &config()).unwrap();
    let cfg: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("adapter_config.json")).unwrap()).unwrap();
    assert_eq!(cfg["peft_type"], "LORA");
    assert_eq!(cfg["task_type"], "CAUSAL_LM");
    assert_eq!(cfg["lora_alpha"], 8, "integral alpha written as an integer, as PEFT does");
    assert_eq!(cfg["target_modules"], serde_json::json!(["q_proj", "down_proj"]));
    // The keys of our config are a subset of the ones PEFT itself wrote for the test fixtures.
    let peft_made: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo().join("testdata/lora/tiny-gemma3/adapter_config.json")).unwrap()).unwrap();
    for key in cfg.as_object().unwrap().keys() {
        assert!(peft_made.get(key).is_some(), "PEFT does not write '{key}'");
    }

    let st = SafetensorsFile::open(&dir.path().join("adapter_model.safetensors")).unwrap();
    assert_eq!(st.names().len(), ts.len());
    for (name, shape, data) in &ts {
        assert_eq!(st.hf_shape(name), Some(shape.as_slice()));
        assert_eq!(&f32s(st.tensor(name).unwrap().data()), data);
    }

    let ad = LoraAdapter::open_peft(dir.path(), "gemma3", 4, 1).unwrap();
    assert_eq!((ad.r, ad.alpha), (R, 8.0));
    assert_eq!(ad.base_model.as_deref(), Some("google/gemma-3-270m"));
    let mut keys: Vec<&str> = ad.deltas.keys().map(|s| s.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["blk.0.attn_q.weight", "blk.0.ffn_down.weight", "blk.3.attn_q.weight", "blk.3.ffn_down.weight"]);
    // The delta folds in as scale * B A.
    let d = &ad.deltas["blk.3.attn_q.weight"];
    assert_eq!((d.rows, d.cols, d.r, d.scale), (1024, 640, R, 2.0));
    let (a, b) = (&ts[4].2, &ts[5].2);
    let mut w = vec![0.0f32; 1024 * 640];
    d.merge_into(&mut w);
    for (o, i) in [(0, 0), (5, 17), (1023, 639)] {
        let want: f32 = (0..R).map(|j| 2.0 * b[o * R + j] * a[j * 640 + i]).sum();
        assert!((w[o * 640 + i] - want).abs() < 1e-6, "({o},{i}) {} vs {want}", w[o * 640 + i]);
    }
    // Only the two files: no temp files left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn bad_tensors_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut ts = tensors();
    ts[1].1 = vec![1024, R + 1];
    let e = write_peft_adapter(dir.path(), &ts, &config()).unwrap_err().to_string();
    assert!(e.contains("lora_B") && e.contains("rank-4"), "{e}");
    let e = write_peft_adapter(dir.path(), &[("model.embed.weight".into(), vec![1], vec![0.0])], &config()).unwrap_err().to_string();
    assert!(e.contains("not named like a PEFT LoRA matrix"), "{e}");
    assert!(!dir.path().join("adapter_model.safetensors").exists());
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Python with torch, peft and safetensors (CI installs them): `AGORA_TEST_PYTHON`, else python3.
fn python() -> PathBuf {
    std::env::var_os("AGORA_TEST_PYTHON").map_or_else(|| "python3".into(), PathBuf::from)
}

#[test]
fn python_peft_and_safetensors_load_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let ts = tensors();
    let cfg = config();
    write_peft_adapter(dir.path(), &ts, &cfg).unwrap();
    let expect = serde_json::json!({
        "r": cfg.r,
        "lora_alpha": 8,
        "lora_dropout": cfg.dropout,
        "target_modules": cfg.target_modules,
        "base_model_name_or_path": cfg.base_model_name_or_path,
        "tensors": ts.iter().map(|(n, s, d)| (n.clone(), serde_json::json!({
            "shape": s,
            "sum": d.iter().map(|&x| x as f64).sum::<f64>(),
            "first": d[0],
        }))).collect::<serde_json::Map<_, _>>(),
    });
    let expect_path = dir.path().join("expect.json");
    std::fs::write(&expect_path, expect.to_string()).unwrap();
    let py = python();
    let out = Command::new(&py)
        .arg(repo().join("tests/finetune/check_peft.py"))
        .arg(dir.path())
        .arg(&expect_path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}); set AGORA_PEFT_PYTHON to a Python with torch, peft and safetensors", py.display()));
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} tests/finetune/check_peft.py failed:\n{text}", py.display());
    assert!(text.contains("config and 8 tensors OK"), "{text}");
    eprintln!("{text}");
}
