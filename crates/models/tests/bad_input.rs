//! Broken Hugging Face folders (made from the tiny Qwen2 fixture) must fail with an error that
//! names the problem, never a panic.

use std::path::{Path, PathBuf};

use models::load_model;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name)
}

/// A copy of tiny-qwen2 with config.json edited by `edit`.
fn broken(edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    broken_copy("tiny-qwen2", edit)
}

fn broken_copy(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(fixture(name).join(f), dir.path().join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name).join("config.json")).unwrap()).unwrap();
    edit(&mut cfg);
    std::fs::write(dir.path().join("config.json"), serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    dir
}

fn load_err(path: &Path) -> String {
    match load_model(path) {
        Ok(_) => panic!("{} loaded, but it is broken", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_intact_copy_loads() {
    let dir = broken(|_| {});
    load_model(dir.path()).expect("an unedited copy must load");
}

#[test]
fn config_naming_a_missing_tensor() {
    // A third layer the weights do not have.
    let dir = broken(|c| c["num_hidden_layers"] = 3.into());
    let e = load_err(dir.path());
    assert!(e.contains("'blk.2.") && e.contains("not found"), "{e}");
}

#[test]
fn shape_mismatch_between_config_and_weights() {
    let dir = broken(|c| c["intermediate_size"] = 96.into());
    let e = load_err(dir.path());
    assert!(e.contains("has shape") && e.contains("96"), "{e}");
}

#[test]
fn unsupported_rope_scaling_type() {
    let dir = broken(|c| {
        c.as_object_mut().unwrap().remove("rope_parameters");
        c["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64});
    });
    let e = load_err(dir.path());
    assert!(e.contains("rope scaling type 'yarn' is not supported"), "{e}");
}

#[test]
fn unknown_architecture_lists_the_supported_ones() {
    let dir = broken(|c| c["model_type"] = "mamba".into());
    let e = load_err(dir.path());
    assert!(e.contains("'mamba'") && e.contains("qwen2") && e.contains("gemma3"), "{e}");
}

#[test]
fn shard_missing_from_the_index() {
    let dir = broken(|_| {});
    // The index names a second shard that is not in the folder.
    let index = serde_json::json!({"metadata": {}, "weight_map": {
        "model.embed_tokens.weight": "model.safetensors",
        "model.layers.1.mlp.up_proj.weight": "model-00002-of-00002.safetensors"}});
    std::fs::write(dir.path().join("model.safetensors.index.json"), index.to_string()).unwrap();
    let e = load_err(dir.path());
    assert!(e.contains("model-00002-of-00002.safetensors") && e.contains("missing"), "{e}");
}

#[test]
fn longrope_with_a_missing_or_short_factor_list() {
    let dir = broken_copy("tiny-phi3-longrope", |c| {
        c["rope_parameters"].as_object_mut().unwrap().remove("long_factor");
    });
    let e = load_err(dir.path());
    assert!(e.contains("no 'long_factor'"), "{e}");
    let dir = broken_copy("tiny-phi3-longrope", |c| c["rope_parameters"]["short_factor"] = serde_json::json!([1.0, 1.0]));
    let e = load_err(dir.path());
    assert!(e.contains("short_factor has 2 values") && e.contains("needs 8"), "{e}");
    let dir = broken_copy("tiny-phi3-longrope", |c| {
        c["rope_parameters"].as_object_mut().unwrap().remove("original_max_position_embeddings");
        c.as_object_mut().unwrap().remove("original_max_position_embeddings");
    });
    let e = load_err(dir.path());
    assert!(e.contains("original_max_position_embeddings"), "{e}");
}

#[test]
fn longrope_on_an_architecture_without_it() {
    let dir = broken(|c| {
        c["rope_parameters"] = serde_json::json!({"rope_type": "longrope", "rope_theta": 10000.0, "original_max_position_embeddings": 16,
            "short_factor": vec![1.0; 8], "long_factor": vec![2.0; 8]});
    });
    let e = load_err(dir.path());
    assert!(e.contains("longrope") && e.contains("phi3 models only"), "{e}");
}
