//! Hugging Face folders written here with the `safetensors` crate: names, shapes, the converter's value
//! changes (Gemma norms +1, Llama q/k permutation), sharding, and errors.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::{serialize, TensorView};
use safetensors::Dtype;
use weights::{GgmlType, HfConfig, HfModel, SafetensorsFile, WeightsError};

struct T {
    name: &'static str,
    dtype: Dtype,
    shape: Vec<usize>, // HF order
    data: Vec<u8>,
}

/// Tensor with values 0, 1, 2... in the given dtype.
fn t(name: &'static str, dtype: Dtype, shape: &[usize]) -> T {
    let n: usize = shape.iter().product();
    let vals = (0..n).map(|i| i as f32 * 0.25);
    let data = match dtype {
        Dtype::F32 => vals.flat_map(|x| x.to_le_bytes()).collect(),
        Dtype::F16 => vals
            .flat_map(|x| half::f16::from_f32(x).to_le_bytes())
            .collect(),
        Dtype::BF16 => vals
            .flat_map(|x| half::bf16::from_f32(x).to_le_bytes())
            .collect(),
        Dtype::I64 => (0..n as i64).flat_map(|x| x.to_le_bytes()).collect(),
        _ => unreachable!(),
    };
    T {
        name,
        dtype,
        shape: shape.to_vec(),
        data,
    }
}

fn write_st(path: &Path, tensors: &[T]) {
    let views: Vec<(&str, TensorView)> = tensors
        .iter()
        .map(|t| {
            (
                t.name,
                TensorView::new(t.dtype, t.shape.clone(), &t.data).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, serialize(views, &None).unwrap()).unwrap();
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

const LLAMA_CONFIG: &str = r#"{
  "architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
  "num_attention_heads": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-5,
  "rope_theta": 500000, "max_position_embeddings": 64, "vocab_size": 10,
  "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192},
  "bos_token_id": 0, "eos_token_id": [1, 2], "tie_word_embeddings": false, "sliding_window": null,
  "some_new_field": {"x": 1}
}"#;

fn llama_tensors() -> Vec<T> {
    vec![
        t("model.embed_tokens.weight", Dtype::F32, &[10, 8]),
        t("model.layers.0.input_layernorm.weight", Dtype::F32, &[8]),
        t(
            "model.layers.0.self_attn.q_proj.weight",
            Dtype::BF16,
            &[8, 8],
        ),
        t(
            "model.layers.0.self_attn.k_proj.weight",
            Dtype::F16,
            &[4, 8],
        ),
        t(
            "model.layers.0.self_attn.v_proj.weight",
            Dtype::F32,
            &[4, 8],
        ),
        t(
            "model.layers.0.self_attn.o_proj.weight",
            Dtype::F32,
            &[8, 8],
        ),
        t(
            "model.layers.0.self_attn.rotary_emb.inv_freq",
            Dtype::F32,
            &[2],
        ),
        t(
            "model.layers.0.post_attention_layernorm.weight",
            Dtype::F32,
            &[8],
        ),
        t("model.layers.0.mlp.gate_proj.weight", Dtype::BF16, &[16, 8]),
        t("model.layers.0.mlp.up_proj.weight", Dtype::BF16, &[16, 8]),
        t("model.layers.0.mlp.down_proj.weight", Dtype::BF16, &[8, 16]),
        t("model.norm.weight", Dtype::F32, &[8]),
        t("lm_head.weight", Dtype::F32, &[10, 8]),
        t("step_counter", Dtype::I64, &[1]),
    ]
}

/// The row order llama.cpp's converter produces, computed by numpy with its reshape/swapaxes recipe.
fn numpy_permuted_rows(n_rows: usize, n_head: usize) -> Vec<usize> {
    let code = format!(
        "import numpy as np; w=np.arange({n_rows}).reshape({n_rows},1); n={n_head}; \
         print(' '.join(map(str, w.reshape(n, 2, w.shape[0]//n//2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)[:,0])))"
    );
    let out = std::process::Command::new("python3")
        .args(["-c", &code])
        .output()
        .expect("python3 runs (pip install numpy)");
    assert!(
        out.status.success(),
        "numpy failed: {}; pip install numpy",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect()
}

#[test]
fn llama_folder_serves_gguf_names_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), LLAMA_CONFIG).unwrap();
    let tensors = llama_tensors();
    write_st(&dir.path().join("model.safetensors"), &tensors);
    let m = HfModel::open(dir.path()).unwrap();

    let c = &m.config;
    assert_eq!(c.model_type, "llama");
    assert_eq!(c.gguf_arch(), Some("llama"));
    assert_eq!(
        (c.hidden_size, c.num_key_value_heads, c.head_dim()),
        (Some(8), Some(1), Some(4))
    );
    assert_eq!(c.rope_theta, Some(500000.0));
    let rs = c.rope_scaling.as_ref().unwrap();
    assert_eq!(
        (
            rs.rope_type.as_deref(),
            rs.factor,
            rs.original_max_position_embeddings
        ),
        (Some("llama3"), Some(8.0), Some(8192))
    );
    assert_eq!(c.eos_ids(), vec![1, 2]);
    assert_eq!(c.sliding_window, None);
    assert_eq!(c.extra["some_new_field"]["x"], 1);

    let names: Vec<&str> = m.tensor_names().collect();
    for n in [
        "token_embd.weight",
        "blk.0.attn_q.weight",
        "blk.0.ffn_norm.weight",
        "output_norm.weight",
        "output.weight",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(
        names.contains(&"model.layers.0.self_attn.rotary_emb.inv_freq"),
        "unmapped names are kept as they are"
    );
    assert_eq!(
        m.hf_name("blk.0.ffn_norm.weight"),
        Some("model.layers.0.post_attention_layernorm.weight")
    );

    // Zero-copy, dims reversed: HF [vocab, hidden] -> ggml [hidden, vocab].
    let emb = m.tensor("token_embd.weight").unwrap();
    assert_eq!(
        (emb.ty, emb.shape.clone(), emb.cols(), emb.rows()),
        (GgmlType::F32, vec![8, 10], 8, 10)
    );
    assert_eq!(emb.data(), &tensors[0].data[..]);
    assert_eq!(f32s(emb.row(1).unwrap())[0], 8.0 * 0.25);
    let down = m.tensor("blk.0.ffn_down.weight").unwrap();
    assert_eq!((down.ty, down.shape.clone()), (GgmlType::BF16, vec![16, 8]));

    // q/k rows are permuted exactly as the converter does (k with the KV head count).
    for (name, idx, rows, heads) in [
        ("blk.0.attn_q.weight", 2, 8, 2),
        ("blk.0.attn_k.weight", 3, 4, 1),
    ] {
        let got = m.tensor(name).unwrap();
        assert_eq!(got.shape, vec![8, rows]);
        let row_bytes = 8 * 2;
        let src = &tensors[idx].data;
        for (dst, s) in numpy_permuted_rows(rows, heads).into_iter().enumerate() {
            assert_eq!(
                got.row(dst).unwrap(),
                &src[s * row_bytes..(s + 1) * row_bytes],
                "{name} row {dst}"
            );
        }
    }
    // v is untouched.
    assert_eq!(
        m.tensor("blk.0.attn_v.weight").unwrap().data(),
        &tensors[4].data[..]
    );

    let e = m.tensor("step_counter").unwrap_err();
    assert!(matches!(e, WeightsError::UnsupportedDtype { .. }), "{e:?}");
    assert!(
        e.to_string().contains("'step_counter'") && e.to_string().contains("I64"),
        "{e}"
    );
    let e = m.tensor("blk.1.attn_q.weight").unwrap_err().to_string();
    assert!(e.contains("'blk.1.attn_q.weight'"), "{e}");
}

const GEMMA3_CONFIG: &str = r#"{
  "architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
  "text_config": {"model_type": "gemma3_text", "hidden_size": 4, "intermediate_size": 8, "num_hidden_layers": 2,
                  "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 2, "rms_norm_eps": 1e-6,
                  "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": 512,
                  "query_pre_attn_scalar": 256, "layer_types": ["sliding_attention", "full_attention"],
                  "vocab_size": 6},
  "vision_config": {"hidden_size": 1152},
  "eos_token_id": [1, 106], "bos_token_id": 2, "tie_word_embeddings": true
}"#;

#[test]
fn sharded_gemma3_folder_matches_converter_semantics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), GEMMA3_CONFIG).unwrap();
    let p = "model.language_model.";
    let shard1 = vec![
        t(
            "model.language_model.embed_tokens.weight",
            Dtype::BF16,
            &[6, 4],
        ),
        t(
            "model.language_model.layers.0.input_layernorm.weight",
            Dtype::BF16,
            &[4],
        ),
        t(
            "model.language_model.layers.0.self_attn.q_proj.weight",
            Dtype::BF16,
            &[4, 4],
        ),
        t(
            "model.language_model.layers.0.self_attn.q_norm.weight",
            Dtype::BF16,
            &[2],
        ),
        t(
            "model.language_model.layers.0.post_attention_layernorm.weight",
            Dtype::BF16,
            &[4],
        ),
    ];
    let shard2 = vec![
        t(
            "model.language_model.layers.0.pre_feedforward_layernorm.weight",
            Dtype::F16,
            &[4],
        ),
        t(
            "model.language_model.layers.0.post_feedforward_layernorm.weight",
            Dtype::F32,
            &[4],
        ),
        t("model.language_model.norm.weight", Dtype::BF16, &[4]),
    ];
    write_st(
        &dir.path().join("model-00001-of-00002.safetensors"),
        &shard1,
    );
    write_st(
        &dir.path().join("model-00002-of-00002.safetensors"),
        &shard2,
    );
    let mut weight_map = serde_json::Map::new();
    for (ts, f) in [
        (&shard1, "model-00001-of-00002.safetensors"),
        (&shard2, "model-00002-of-00002.safetensors"),
    ] {
        for t in ts.iter() {
            weight_map.insert(t.name.to_string(), f.into());
        }
    }
    let index = serde_json::json!({"metadata": {"total_size": 0}, "weight_map": weight_map});
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        index.to_string(),
    )
    .unwrap();

    let m = HfModel::open(dir.path()).unwrap();
    let c = &m.config;
    // text_config wins, outer fields fill the gaps.
    assert_eq!(c.model_type, "gemma3_text");
    assert_eq!(c.architectures, ["Gemma3ForConditionalGeneration"]);
    assert_eq!(
        (c.hidden_size, c.head_dim(), c.sliding_window),
        (Some(4), Some(2), Some(512))
    );
    assert_eq!(
        (c.query_pre_attn_scalar, c.rope_local_base_freq),
        (Some(256.0), Some(10000.0))
    );
    assert_eq!(c.eos_ids(), vec![1, 106]);
    assert_eq!(c.tie_word_embeddings, Some(true));
    assert_eq!(c.gguf_arch(), Some("gemma3"));
    assert!(!c.extra.contains_key("vision_config"));

    let names: Vec<&str> = m.tensor_names().collect();
    assert_eq!(
        names,
        [
            "blk.0.attn_norm.weight",
            "blk.0.attn_q.weight",
            "blk.0.attn_q_norm.weight",
            "blk.0.ffn_norm.weight",
            "blk.0.post_attention_norm.weight",
            "blk.0.post_ffw_norm.weight",
            "output_norm.weight",
            "token_embd.weight",
        ]
    );
    assert_eq!(
        m.hf_name("blk.0.ffn_norm.weight"),
        Some(&*format!("{p}layers.0.pre_feedforward_layernorm.weight"))
    );

    // Every norm (F16, BF16 or F32 on disk) comes out as F32 with +1, like the GGUF.
    for n in [
        "blk.0.attn_norm.weight",
        "blk.0.ffn_norm.weight",
        "blk.0.post_ffw_norm.weight",
        "output_norm.weight",
    ] {
        let t = m.tensor(n).unwrap();
        assert_eq!((t.ty, t.shape.clone()), (GgmlType::F32, vec![4]), "{n}");
        assert_eq!(f32s(t.data()), vec![1.0, 1.25, 1.5, 1.75], "{n}");
    }
    assert_eq!(
        f32s(m.tensor("blk.0.attn_q_norm.weight").unwrap().data()),
        vec![1.0, 1.25]
    );
    // Projections are served as stored (Gemma uses NEOX RoPE: no permutation).
    let q = m.tensor("blk.0.attn_q.weight").unwrap();
    assert_eq!((q.ty, q.data()), (GgmlType::BF16, &shard1[2].data[..]));
    // Tied embeddings: no output tensor, as in the GGUF.
    assert!(!m.contains_tensor("output.weight"));

    // An index that promises a tensor the shard lacks.
    let mut broken = index.clone();
    broken["weight_map"]["model.language_model.layers.9.mlp.up_proj.weight"] =
        "model-00002-of-00002.safetensors".into();
    std::fs::write(
        dir.path().join("model.safetensors.index.json"),
        broken.to_string(),
    )
    .unwrap();
    let e = HfModel::open(dir.path())
        .err()
        .expect("a broken index must be refused")
        .to_string();
    assert!(
        e.contains("layers.9.mlp.up_proj.weight") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn folder_errors_say_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let e = HfModel::open(dir.path()).err().unwrap().to_string();
    assert!(e.contains("config.json"), "{e}");

    std::fs::write(dir.path().join("config.json"), LLAMA_CONFIG).unwrap();
    let e = HfModel::open(dir.path()).err().unwrap();
    assert!(matches!(e, WeightsError::NoWeights { .. }), "{e:?}");
    assert!(e.to_string().contains("safetensors"), "{e}");

    std::fs::write(
        dir.path().join("model.safetensors"),
        b"\x08\0\0\0\0\0\0\0{broken}",
    )
    .unwrap();
    let e = HfModel::open(dir.path()).err().unwrap();
    assert!(matches!(e, WeightsError::Safetensors { .. }), "{e:?}");
    assert!(e.to_string().contains("model.safetensors"), "{e}");

    std::fs::write(dir.path().join("config.json"), "[1, 2]").unwrap();
    let e = HfModel::open(dir.path()).err().unwrap().to_string();
    assert!(
        e.contains("config.json") && e.contains("not a JSON object"),
        "{e}"
    );
}

#[test]
fn overlapping_shards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), LLAMA_CONFIG).unwrap();
    write_st(
        &dir.path().join("a.safetensors"),
        &[t("model.norm.weight", Dtype::F32, &[8])],
    );
    write_st(
        &dir.path().join("b.safetensors"),
        &[t("model.norm.weight", Dtype::F32, &[8])],
    );
    let e = HfModel::open(dir.path()).err().unwrap().to_string();
    assert!(
        e.contains("model.norm.weight") && e.contains("overlap"),
        "{e}"
    );
}

#[test]
fn single_safetensors_file_reverses_dims_and_borrows() {
    let bytes = {
        let tensors = [t("w", Dtype::F16, &[3, 2, 4]), t("s", Dtype::F32, &[])];
        let views: Vec<(&str, TensorView)> = tensors
            .iter()
            .map(|t| {
                (
                    t.name,
                    TensorView::new(t.dtype, t.shape.clone(), &t.data).unwrap(),
                )
            })
            .collect();
        serialize(views, &None::<HashMap<String, String>>).unwrap()
    };
    let f = SafetensorsFile::from_bytes(bytes).unwrap();
    assert_eq!(f.names(), ["s", "w"]);
    assert_eq!(f.hf_shape("w"), Some(&[3, 2, 4][..]));
    let w = f.tensor("w").unwrap();
    assert_eq!(
        (w.ty, w.shape.clone(), w.cols(), w.rows()),
        (GgmlType::F16, vec![4, 2, 3], 4, 6)
    );
    assert_eq!(w.data().len(), 24 * 2);
    let s = f.tensor("s").unwrap();
    assert_eq!((s.shape.clone(), s.data().len()), (vec![1], 4));
    assert!(SafetensorsFile::from_bytes(vec![1, 2, 3]).is_err());
}

#[test]
fn config_parses_common_variants() {
    let c = HfConfig::from_json_str(r#"{"model_type": "qwen2", "eos_token_id": 151643, "rope_scaling": {"type": "linear", "factor": 2}}"#).unwrap();
    assert_eq!(c.eos_ids(), vec![151643]);
    assert_eq!(
        c.rope_scaling.as_ref().unwrap().rope_type.as_deref(),
        Some("linear")
    );
    assert_eq!(c.gguf_arch(), Some("qwen2"));
    assert!(HfConfig::from_json_str(r#"{"hidden_size": "big"}"#).is_err());
    assert_eq!(
        HfConfig::from_json_str(r#"{"model_type": "bert"}"#)
            .unwrap()
            .gguf_arch(),
        None
    );
}
