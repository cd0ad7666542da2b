//! Writes a trained adapter as a PEFT LoRA folder: `adapter_config.json` (the keys PEFT writes for a
//! CAUSAL_LM LoRA adapter) and `adapter_model.safetensors` (F32, row-major, PEFT tensor names).
//! Both files appear atomically; transformers/PEFT, llama.cpp's converter and `agora --lora` read it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use weights::safetensors_write::{self, F32Tensor};

use crate::{FinetuneError, LoraConfig};

/// What `adapter_config.json` records.
#[derive(Clone, Debug, PartialEq)]
pub struct PeftAdapterConfig {
    pub r: usize,
    pub alpha: f32,
    pub dropout: f32,
    /// PEFT module names (`q_proj`, ...).
    pub target_modules: Vec<String>,
    pub base_model_name_or_path: Option<String>,
}

impl PeftAdapterConfig {
    pub fn from_lora(cfg: &LoraConfig, base_model_name_or_path: Option<String>) -> Self {
        PeftAdapterConfig {
            r: cfg.r,
            alpha: cfg.alpha,
            dropout: cfg.dropout,
            target_modules: cfg.targets.iter().map(|t| t.peft_name().to_string()).collect(),
            base_model_name_or_path,
        }
    }

    /// The JSON PEFT (0.13 and later) reads back as a `LoraConfig`; only keys every such version knows.
    pub fn to_json(&self) -> Value {
        // PEFT writes an integral alpha as an integer.
        let alpha = if self.alpha.fract() == 0.0 && self.alpha.abs() < 1e9 { json!(self.alpha as i64) } else { json!(self.alpha) };
        json!({
            "alpha_pattern": {},
            "auto_mapping": null,
            "base_model_name_or_path": self.base_model_name_or_path,
            "bias": "none",
            "fan_in_fan_out": false,
            "inference_mode": true,
            "init_lora_weights": true,
            "layer_replication": null,
            "layers_pattern": null,
            "layers_to_transform": null,
            "loftq_config": {},
            "lora_alpha": alpha,
            "lora_dropout": self.dropout,
            "megatron_config": null,
            "megatron_core": "megatron.core",
            "modules_to_save": null,
            "peft_type": "LORA",
            "r": self.r,
            "rank_pattern": {},
            "revision": null,
            "target_modules": self.target_modules,
            "task_type": "CAUSAL_LM",
            "use_dora": false,
            "use_rslora": false
        })
    }
}

/// Writes `dir/adapter_config.json` and `dir/adapter_model.safetensors` from `tensors`
/// (PEFT name, row-major shape, values) as made by the model side's PEFT name conversion.
pub fn write_peft_adapter(dir: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)], cfg: &PeftAdapterConfig) -> Result<(), FinetuneError> {
    let bad = |msg: String| Err(FinetuneError::Config(format!("cannot export the adapter: {msg}")));
    if tensors.is_empty() {
        return bad("there are no LoRA tensors to write".into());
    }
    if cfg.r == 0 || cfg.target_modules.is_empty() {
        return bad(format!("r is {} and target_modules is {:?}; both must be set", cfg.r, cfg.target_modules));
    }
    for (name, shape, data) in tensors {
        let is_a = name.ends_with(".lora_A.weight");
        if !is_a && !name.ends_with(".lora_B.weight") {
            return bad(format!("tensor '{name}' is not named like a PEFT LoRA matrix (...lora_A.weight / ...lora_B.weight)"));
        }
        let rank = if is_a { shape.first() } else { shape.get(1) };
        if shape.len() != 2 || rank != Some(&cfg.r) || shape.iter().product::<usize>() != data.len() {
            return bad(format!("tensor '{name}' has shape {shape:?} and {} values; expected a rank-{} matrix", data.len(), cfg.r));
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| FinetuneError::Io { path: dir.display().to_string(), source })?;
    // PEFT's loaders look at this key to choose the framework.
    let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
    let st: Vec<F32Tensor> = tensors.iter().map(|(n, s, d)| F32Tensor { name: n, shape: s, data: d }).collect();
    let path = dir.join("adapter_model.safetensors");
    safetensors_write::write_f32(&path, &st, &meta).map_err(|e| FinetuneError::Config(format!("cannot write {}: {e}", path.display())))?;
    let mut text = serde_json::to_string_pretty(&cfg.to_json()).expect("config serializes");
    text.push('\n');
    crate::metrics::write_atomic(&dir.join("adapter_config.json"), text.as_bytes())
}
