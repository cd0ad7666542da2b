//! Our plans and bytes against llama.cpp's `llama-quantize` on the same F32 inputs
//! (goldens in testdata/quantize/, written by scripts/quantize-goldens.sh from llama-quantize's output).

mod common;

use std::path::Path;

use quantize::{FileType, Plan};
use sha2::{Digest, Sha256};
use weights::GgufFile;

/// Every tensor's type and data hash in `ours` equals the golden preset's.
fn check_against(ours: &Path, preset: &serde_json::Value, what: &str) {
    let gguf = GgufFile::open(ours).unwrap();
    let tensors = preset["tensors"].as_object().unwrap();
    assert_eq!(gguf.tensor_infos().len(), tensors.len(), "{what}: tensor count");
    let mut wrong = Vec::new();
    for t in gguf.tensors() {
        let g = tensors.get(&t.name).unwrap_or_else(|| panic!("{what}: llama-quantize has no {}", t.name));
        let (ty, hash) = (g[0].as_str().unwrap(), g[1].as_str().unwrap());
        let ours_hash = format!("{:x}", Sha256::digest(t.data()));
        if t.ty.name() != ty || ours_hash != hash {
            wrong.push(format!("{} (ours {}, llama-quantize {ty})", t.name, t.ty.name()));
        }
    }
    assert!(wrong.is_empty(), "{what}: {} tensors differ from llama-quantize: {:?}", wrong.len(), &wrong[..wrong.len().min(8)]);
    assert_eq!(gguf.metadata().get_u32("general.file_type").unwrap() as u64, preset["file_type"].as_u64().unwrap());
}

#[test]
fn gemma_q4_k_m_plan_matches_llama_quantize() {
    let golden = common::golden("gemma3-270m-f32-llamacpp.json");
    let plan = Plan::for_file(&GgufFile::open(common::gemma_f32()).unwrap(), FileType::Q4KM).unwrap();
    let tensors = golden["presets"]["Q4_K_M"]["tensors"].as_object().unwrap();
    assert_eq!(plan.tensors.len(), tensors.len());
    for t in &plan.tensors {
        assert_eq!(t.to.name(), tensors[&t.name][0].as_str().unwrap(), "{}", t.name);
    }
    // Gemma's 640-wide rows do not fit 256-element blocks: every K-quant there fell back.
    assert_eq!(plan.n_fallback(), 90);
}

#[test]
fn gemma_q8_0_and_q4_k_m_bytes_match_llama_quantize() {
    let golden = common::golden("gemma3-270m-f32-llamacpp.json");
    for ftype in [FileType::Q8_0, FileType::Q4KM] {
        let ours = common::gemma_as(ftype);
        check_against(&ours, &golden["presets"][ftype.name()], &format!("Gemma {}", ftype.name()));
    }
}

#[test]
fn tiny_llama_every_preset_matches_llama_quantize() {
    let golden = common::golden("tiny-llama-llamacpp.json");
    let input = common::tiny("tiny-llama/model-f32.gguf");
    let dir = tempfile::tempdir().unwrap();
    let presets = golden["presets"].as_object().unwrap();
    assert!(presets.len() >= 10, "golden has {} presets", presets.len());
    for (name, preset) in presets {
        let ftype = FileType::parse(name).unwrap();
        let out = dir.path().join(format!("{name}.gguf"));
        common::quantize(&input, &out, ftype);
        check_against(&out, preset, &format!("tiny-llama {name}"));
    }
}
