//! LoRA parameters <-> PEFT tensors. PEFT names a module's matrices
//! `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight` (A: [r, in], B: [out, r]) in
//! Hugging Face row order; ours keep GGUF row order, which for Llama-family q/k is a per-head
//! interleave of HF's rows (see `weights::hf::qk_permutation`).

use std::path::Path;

use models::lora::LoraAdapter;

use crate::{FinetuneError, LoraConfig, LoraModule, LoraParams, Target};

/// The PEFT module path of (layer, target), without the `.lora_A.weight` suffix.
pub fn peft_module(layer: usize, t: Target) -> String {
    let block = match t {
        Target::Q | Target::K | Target::V | Target::O => "self_attn",
        _ => "mlp",
    };
    format!("base_model.model.model.layers.{layer}.{block}.{}", t.peft_name())
}

/// GGUF row i of a Llama q/k weight is HF row perm[i]; None when rows are not permuted.
fn qk_perm(arch: &str, t: Target, rows: usize, n_head: usize, n_kv_head: usize) -> Result<Option<Vec<usize>>, FinetuneError> {
    if !weights::hf::permutes_qk(arch) || !matches!(t, Target::Q | Target::K) {
        return Ok(None);
    }
    let heads = if t == Target::Q { n_head } else { n_kv_head };
    weights::hf::qk_permutation(rows, heads)
        .map(Some)
        .ok_or_else(|| FinetuneError::Config(format!("{rows} rows of {} do not split into {heads} heads", t.peft_name())))
}

/// A named tensor for PEFT's safetensors file: (name, shape, row-major values).
pub type PeftTensor = (String, Vec<usize>, Vec<f32>);

/// (name, shape, values) for every A and B, B's rows in HF order.
pub fn to_peft_tensors(params: &LoraParams, arch: &str, n_head: usize, n_kv_head: usize) -> Result<Vec<PeftTensor>, FinetuneError> {
    let mut out = Vec::with_capacity(2 * params.modules.len());
    for m in &params.modules {
        let base = peft_module(m.layer, m.target);
        let b = match qk_perm(arch, m.target, m.rows, n_head, n_kv_head)? {
            None => m.b.clone(),
            Some(perm) => {
                let mut hf = vec![0.0f32; m.b.len()];
                for (i, &src) in perm.iter().enumerate() {
                    hf[src * m.r..(src + 1) * m.r].copy_from_slice(&m.b[i * m.r..(i + 1) * m.r]);
                }
                hf
            }
        };
        out.push((format!("{base}.lora_A.weight"), vec![m.r, m.cols], m.a.clone()));
        out.push((format!("{base}.lora_B.weight"), vec![m.rows, m.r], b));
    }
    Ok(out)
}

/// Reads a PEFT adapter folder into parameters (B in GGUF row order), ordered by (layer, target).
/// `dropout` is not stored by PEFT's weights; it is read from adapter_config.json when present.
pub fn from_peft_dir(dir: &Path, arch: &str, n_head: usize, n_kv_head: usize) -> Result<LoraParams, FinetuneError> {
    let ad = LoraAdapter::open_peft(dir, arch, n_head, n_kv_head)?;
    let mut modules = Vec::new();
    for (name, d) in &ad.deltas {
        let parsed = name.strip_prefix("blk.").and_then(|r| r.strip_suffix(".weight")).and_then(|r| r.split_once('.'));
        let (layer, base) = parsed.ok_or_else(|| FinetuneError::Config(format!("{}: unexpected adapted tensor {name}", dir.display())))?;
        let layer: usize = layer.parse().map_err(|_| FinetuneError::Config(format!("{}: bad layer in {name}", dir.display())))?;
        let t = Target::ALL.into_iter().find(|t| t.gguf_base() == base).ok_or_else(|| {
            FinetuneError::Config(format!("{}: {name} is not one of the trainable projections (q k v o gate up down)", dir.display()))
        })?;
        let (a, b) = d.matrices();
        modules.push(LoraModule { layer, target: t, rows: d.rows, cols: d.cols, r: d.r, a, b });
    }
    modules.sort_by_key(|m| (m.layer, m.target));
    let r = modules.first().map_or(ad.r, |m| m.r);
    if modules.iter().any(|m| m.r != r) {
        return Err(FinetuneError::Config(format!("{}: modules with different ranks (rank_pattern) are not supported for training", dir.display())));
    }
    let mut targets: Vec<Target> = modules.iter().map(|m| m.target).collect();
    targets.sort();
    targets.dedup();
    let dropout = std::fs::read_to_string(dir.join("adapter_config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("lora_dropout").and_then(|x| x.as_f64()))
        .unwrap_or(0.0) as f32;
    // LoraConfig::scale is alpha / r: keep the adapter's effective scale (rsLoRA included).
    let scale = ad.deltas.values().next().map_or(1.0, |d| d.scale);
    let config = LoraConfig { r, alpha: scale * r as f32, dropout, targets };
    Ok(LoraParams { config, modules })
}
