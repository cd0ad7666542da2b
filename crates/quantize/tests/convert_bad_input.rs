//! `agora convert` on bad input: a clear error naming the problem, no panic, and nothing left in the
//! output folder. Also `agora quantize` of a folder: same tensors as quantizing llama.cpp's GGUF of it,
//! and its temporary file gone; a sharded folder (with its index) converts like the single-file one.

mod common;

use std::path::{Path, PathBuf};

use quantize::convert::{self, ConvertError, OutType};
use quantize::{FileType, Options};
use weights::GgufFile;

/// A copy of a fixture folder whose config.json is changed by `edit` (files in `drop` left out).
fn edited_copy(name: &str, drop: &[&str], edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(common::tiny(name)).unwrap() {
        let p = e.unwrap().path();
        let f = p.file_name().unwrap().to_str().unwrap().to_string();
        if !f.ends_with(".gguf") && !drop.contains(&f.as_str()) {
            std::fs::copy(&p, dir.path().join(&f)).unwrap();
        }
    }
    let cfg = dir.path().join("config.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&cfg).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&cfg, serde_json::to_string_pretty(&v).unwrap()).unwrap();
    dir
}

/// Converts into an empty folder; returns the error text and checks the folder stayed empty.
fn convert_err(input: &Path) -> String {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("out.gguf");
    let opts = convert::Options { out_type: Some(OutType::F16), threads: 2, name: None };
    let e = convert::convert(input, &out, &opts, &mut |_| {}).expect_err("must fail");
    let left: Vec<PathBuf> = std::fs::read_dir(out_dir.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    e.to_string()
}

#[test]
fn unknown_architecture_lists_the_supported_ones() {
    let d = edited_copy("tiny-llama", &[], |v| v["model_type"] = "bert".into());
    let e = convert_err(d.path());
    assert!(e.contains("'bert'") && e.contains("supported") && e.contains("qwen2"), "{e}");
}

#[test]
fn a_config_naming_a_missing_tensor_is_refused() {
    let d = edited_copy("tiny-llama", &[], |v| v["num_hidden_layers"] = 3.into());
    let e = convert_err(d.path());
    assert!(e.contains("blk.2.") && e.contains("not found"), "{e}");
}

#[test]
fn shape_mismatch_is_refused() {
    let d = edited_copy("tiny-qwen3", &[], |v| v["intermediate_size"] = 96.into());
    let e = convert_err(d.path());
    assert!(e.contains("ffn") && e.contains("96"), "{e}");
}

#[test]
fn unsupported_rope_scaling_is_refused() {
    let d = edited_copy("tiny-llama", &[], |v| v["rope_parameters"]["rope_type"] = "dynamic".into());
    let e = convert_err(d.path());
    assert!(e.contains("dynamic") && e.contains("not supported"), "{e}");
}

#[test]
fn a_shard_missing_from_the_index_is_refused() {
    let d = edited_copy("tiny-qwen2", &[], |_| {});
    let index = serde_json::json!({"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model-00002-of-00002.safetensors"}});
    std::fs::write(d.path().join("model.safetensors.index.json"), index.to_string()).unwrap();
    let e = convert_err(d.path());
    assert!(e.contains("model-00002-of-00002.safetensors") && e.contains("missing"), "{e}");
}

#[test]
fn gemma_without_its_sentencepiece_model_is_refused() {
    let d = edited_copy("tiny-gemma3", &["tokenizer.model"], |_| {});
    let e = convert_err(d.path());
    assert!(e.contains("tokenizer.model"), "{e}");
}

#[test]
fn not_a_model_and_unknown_types_are_refused() {
    let empty = tempfile::tempdir().unwrap();
    assert!(convert_err(empty.path()).contains("neither a GGUF file nor a Hugging Face model folder"));
    assert!(convert_err(&empty.path().join("nope")).contains("neither"));
    let junk = empty.path().join("junk.gguf");
    std::fs::write(&junk, b"not a gguf at all").unwrap();
    assert!(convert_err(&junk).contains("not a GGUF file"), "{}", convert_err(&junk));
    let e = OutType::parse("q4_k_m").unwrap_err().to_string();
    assert!(e.contains("f16") && e.contains("agora quantize"), "{e}");
    // The output's folder must exist.
    let opts = convert::Options::default();
    let e = convert::convert(&common::tiny("tiny-qwen2"), &empty.path().join("no/dir/x.gguf"), &opts, &mut |_| {}).unwrap_err();
    assert!(matches!(e, ConvertError::Quantize(_)) && e.to_string().contains("does not exist"), "{e}");
}

#[test]
fn quantizing_a_folder_equals_quantizing_its_llama_cpp_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (dir.path().join("from-folder.gguf"), dir.path().join("from-gguf.gguf"));
    let opts = Options { ftype: FileType::Q4KM, threads: 2, extra_metadata: Vec::new() };
    let r = convert::quantize_hf(&common::tiny("tiny-llama"), &ours, &opts, None, &mut |_| {}).expect("quantize a folder");
    assert_eq!(r.input, common::tiny("tiny-llama"));
    quantize::quantize_file(&common::tiny("tiny-llama/model-f32.gguf"), &theirs, &opts, &mut |_| {}).unwrap();
    let (a, b) = (GgufFile::open(&ours).unwrap(), GgufFile::open(&theirs).unwrap());
    assert_eq!(a.tensor_infos().len(), b.tensor_infos().len());
    for t in b.tensor_infos() {
        let x = a.tensor(&t.name).unwrap();
        assert_eq!((x.ty, &x.shape), (t.ty, &t.shape), "{}", t.name);
        assert!(x.data() == b.tensor(&t.name).unwrap().data(), "{}: other bytes", t.name);
    }
    assert_eq!(a.metadata().get_u32("general.file_type").unwrap(), 15);
    let mut left: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    left.sort();
    assert_eq!(left, ["from-folder.gguf", "from-gguf.gguf"], "the temporary GGUF must be gone");
    // A failing conversion leaves nothing either.
    let bad = edited_copy("tiny-llama", &[], |v| v["model_type"] = "bert".into());
    let out = dir.path().join("bad.gguf");
    assert!(convert::quantize_hf(bad.path(), &out, &opts, None, &mut |_| {}).is_err());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// Writes `names` of `src` as one safetensors file (header: dtype, HF shape, data offsets).
fn write_shard(src: &weights::SafetensorsFile, names: &[String], path: &Path) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for n in names {
        let t = src.tensor(n).unwrap();
        let start = data.len();
        data.extend_from_slice(t.data());
        let entry = serde_json::json!({"dtype": src.dtype_name(n).unwrap(), "shape": src.hf_shape(n).unwrap(), "data_offsets": [start, data.len()]});
        header.insert(n.clone(), entry);
    }
    let mut h = serde_json::Value::Object(header).to_string().into_bytes();
    while !h.len().is_multiple_of(8) {
        h.push(b' ');
    }
    let mut out = (h.len() as u64).to_le_bytes().to_vec();
    out.extend(h);
    out.extend(data);
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_sharded_folder_converts_like_the_single_file_one() {
    let sharded = edited_copy("tiny-qwen3moe", &["model.safetensors"], |_| {});
    let src = weights::SafetensorsFile::open(&common::tiny("tiny-qwen3moe/model.safetensors")).unwrap();
    let names = src.names().to_vec();
    let (a, b) = names.split_at(names.len() / 2);
    let mut map = serde_json::Map::new();
    for (part, file) in [(a, "model-00001-of-00002.safetensors"), (b, "model-00002-of-00002.safetensors")] {
        write_shard(&src, part, &sharded.path().join(file));
        for n in part {
            map.insert(n.clone(), file.into());
        }
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(sharded.path().join("model.safetensors.index.json"), index.to_string()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let opts = convert::Options { out_type: None, threads: 2, name: Some("Tiny Qwen3Moe".into()) };
    let (x, y) = (out.path().join("sharded.gguf"), out.path().join("single.gguf"));
    convert::convert(sharded.path(), &x, &opts, &mut |_| {}).expect("sharded folder");
    convert::convert(&common::tiny("tiny-qwen3moe"), &y, &opts, &mut |_| {}).unwrap();
    let (gx, gy) = (GgufFile::open(&x).unwrap(), GgufFile::open(&y).unwrap());
    assert_eq!(gx.metadata(), gy.metadata());
    assert_eq!(gx.tensor_infos().len(), gy.tensor_infos().len());
    for t in gy.tensor_infos() {
        assert!(gx.tensor(&t.name).unwrap().data() == gy.tensor(&t.name).unwrap().data(), "{}", t.name);
    }
}
