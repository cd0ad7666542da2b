//! `agora merge`: a LoRA adapter folded into its base model's weights, written as a new GGUF of any
//! quantization type. Adapted tensors are dequantized, get scale·B·A added, and are quantized again;
//! the rest follow the usual plan.

use std::path::Path;

use kernels::dequant::dequantize_row;
use kernels::GgmlType;
use models::lora::LoraAdapter;
use weights::{GgufFile, MetaValue, Tensor};

use crate::error::{QuantizeError, Result};
use crate::writer::{quantize_edited, Options, Progress, Report};

/// Merges the PEFT adapter in `adapter_dir` into the GGUF `base`, writing `output` as `opts.ftype`.
pub fn merge_lora(base: &Path, adapter_dir: &Path, output: &Path, opts: &Options, on_progress: &mut dyn FnMut(Progress)) -> Result<(Report, usize)> {
    let gguf = GgufFile::open(base)?;
    let md = gguf.metadata();
    let arch = md.get_str("general.architecture")?.to_string();
    let get = |k: &str| md.get_u32(&format!("{arch}.{k}")).map(|v| v as usize);
    let n_head = get("attention.head_count")?;
    let n_kv = get("attention.head_count_kv").unwrap_or(n_head);
    let adapter = LoraAdapter::open_peft(adapter_dir, &arch, n_head, n_kv).map_err(|e| QuantizeError::Invalid(e.to_string()))?;
    for name in adapter.deltas.keys() {
        if gguf.tensor(name).is_err() {
            return Err(QuantizeError::Invalid(format!(
                "the adapter {} targets '{name}', which {} does not have (an adapter for another base model?)",
                adapter_dir.display(),
                base.display()
            )));
        }
    }
    let edit = |t: &Tensor| -> Result<Option<Tensor>> {
        let Some(d) = adapter.deltas.get(&t.name) else { return Ok(None) };
        if t.shape != [d.cols, d.rows] {
            return Err(QuantizeError::Invalid(format!("'{}' is {:?}; the adapter's delta is [{}, {}]", t.name, t.shape, d.cols, d.rows)));
        }
        // Rows are whole blocks laid end to end, so the tensor dequantizes as one long row.
        let mut w = vec![0.0f32; d.rows * d.cols];
        dequantize_row(t.ty, t.data(), &mut w).map_err(|e| QuantizeError::Invalid(format!("'{}': {e}", t.name)))?;
        d.merge_into(&mut w);
        let bytes = w.iter().flat_map(|x| x.to_le_bytes()).collect();
        Ok(Some(Tensor::from_owned(t.name.clone(), GgmlType::F32, t.shape.clone(), bytes)))
    };
    let mut opts = opts.clone();
    opts.extra_metadata.push(("agora.lora.merged".into(), MetaValue::from(adapter_dir.display().to_string())));
    opts.extra_metadata.push(("agora.lora.rank".into(), MetaValue::from(adapter.r as u32)));
    opts.extra_metadata.push(("agora.lora.alpha".into(), MetaValue::from(adapter.alpha)));
    let report = quantize_edited(base, output, &opts, None, &edit, on_progress)?;
    Ok((report, adapter.deltas.len()))
}
