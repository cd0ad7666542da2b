//! LoRA adapters in PEFT's format (`adapter_config.json` + `adapter_model.safetensors`), applied to
//! the base model's linears at load: y = x W^T + (alpha / r) (x A^T) B^T. The base stays in its own
//! (quantized) format; A and B are small F32 matrices.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use kernels::GgmlType;
use serde::Deserialize;
use weights::safetensors::SafetensorsFile;

use crate::ModelError;

/// One adapted linear: A is [r, cols], B is [rows, r], both row-major F32 bytes.
#[derive(Clone, Debug)]
pub struct LoraDelta {
    a: Vec<f32>,
    b: Vec<f32>,
    pub r: usize,
    pub rows: usize,
    pub cols: usize,
    pub scale: f32,
}

/// The F32 matmul reads little-endian bytes: on the little-endian targets we build for, an f32
/// slice is already that.
fn as_bytes(v: &[f32]) -> &[u8] {
    #[cfg(target_endian = "big")]
    compile_error!("LoRA deltas assume a little-endian target");
    // SAFETY: u8 has no alignment or validity requirement, and the length covers exactly `v`.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// Below this many multiply-adds the low-rank product runs on the calling thread: a decode step's
/// few rows cost less than waking the pool (measured by scripts/bench-lora-serve.py).
const SERIAL_MACS: usize = 1 << 21;

impl LoraDelta {
    pub fn new(a: &[f32], b: &[f32], r: usize, rows: usize, cols: usize, scale: f32) -> Self {
        assert_eq!((a.len(), b.len()), (r * cols, rows * r), "LoRA A/B sizes");
        Self { a: a.to_vec(), b: b.to_vec(), r, rows, cols, scale }
    }

    /// (A [r, cols], B [rows, r]) as f32 values (training reads an adapter back).
    pub fn matrices(&self) -> (Vec<f32>, Vec<f32>) {
        (self.a.clone(), self.b.clone())
    }

    /// W[rows, cols] += scale * B A: the adapter folded into a dense copy of the weight.
    pub fn merge_into(&self, w: &mut [f32]) {
        let (a, b) = (&self.a, &self.b);
        for (o, row) in w.chunks_exact_mut(self.cols).take(self.rows).enumerate() {
            for j in 0..self.r {
                let s = self.scale * b[o * self.r + j];
                for (x, &aj) in row.iter_mut().zip(&a[j * self.cols..(j + 1) * self.cols]) {
                    *x += s * aj;
                }
            }
        }
    }

    /// y[m, rows] += scale * (x[m, cols] A^T) B^T
    pub fn add_to(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32]) {
        if m * self.r * (self.rows + self.cols) < SERIAL_MACS {
            let mut t = vec![0.0f32; self.r];
            for (x, y) in x.chunks_exact(self.cols).zip(y.chunks_exact_mut(self.rows)).take(m) {
                for (t, a) in t.iter_mut().zip(self.a.chunks_exact(self.cols)) {
                    *t = kernels::ops::dot_f32(x, a);
                }
                for (y, b) in y.iter_mut().zip(self.b.chunks_exact(self.r)) {
                    *y += self.scale * kernels::ops::dot_f32(b, &t);
                }
            }
            return;
        }
        let qa = QMatrix { ty: GgmlType::F32, data: as_bytes(&self.a), rows: self.r, cols: self.cols };
        let qb = QMatrix { ty: GgmlType::F32, data: as_bytes(&self.b), rows: self.rows, cols: self.r };
        let mut t = vec![0.0f32; m * self.r];
        matmul(pool, &qa, &x[..m * self.cols], m, &mut t);
        let mut d = vec![0.0f32; m * self.rows];
        matmul(pool, &qb, &t, m, &mut d);
        for (y, d) in y[..m * self.rows].iter_mut().zip(&d) {
            *y += self.scale * d;
        }
    }
}

/// Rows `start..start+len` of a batched pass belong to sequences that chose adapter `id` (>= 1;
/// the base model, id 0, never gets a segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdapterRows {
    pub start: usize,
    pub len: usize,
    pub id: usize,
}

/// Fills `out` with the segments of consecutive `(rows, adapter id)` runs, merging neighbours
/// that share an adapter so each adapter's low-rank product runs once per run of rows.
pub fn segments(out: &mut Vec<AdapterRows>, runs: impl Iterator<Item = (usize, usize)>) {
    out.clear();
    let mut start = 0;
    for (len, id) in runs {
        if id != 0 && len > 0 {
            match out.last_mut() {
                Some(last) if last.id == id && last.start + last.len == start => last.len += len,
                _ => out.push(AdapterRows { start, len, id }),
            }
        }
        start += len;
    }
}

#[derive(Debug, Deserialize)]
struct PeftConfig {
    #[serde(default)]
    peft_type: Option<String>,
    r: usize,
    lora_alpha: f32,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    fan_in_fan_out: bool,
    #[serde(default)]
    use_dora: bool,
    #[serde(default)]
    base_model_name_or_path: Option<String>,
    #[serde(default)]
    alpha_pattern: serde_json::Map<String, serde_json::Value>,
}

/// An adapter: its deltas keyed by the GGUF name of the weight they adapt (`blk.0.attn_q.weight`).
pub struct LoraAdapter {
    pub dir: PathBuf,
    pub r: usize,
    pub alpha: f32,
    pub base_model: Option<String>,
    pub deltas: HashMap<String, LoraDelta>,
}

fn bad(dir: &Path, msg: impl Into<String>) -> ModelError {
    ModelError::Config(format!("LoRA adapter {}: {}", dir.display(), msg.into()))
}

impl LoraAdapter {
    /// Reads a PEFT adapter folder for a model of architecture `arch` with `n_head`/`n_kv_head`
    /// (q/k rows of Llama-family models are permuted in GGUF; B's rows are permuted the same way).
    pub fn open_peft(dir: &Path, arch: &str, n_head: usize, n_kv_head: usize) -> Result<Self, ModelError> {
        let cfg_path = dir.join("adapter_config.json");
        let text = std::fs::read_to_string(&cfg_path).map_err(|e| bad(dir, format!("cannot read adapter_config.json: {e} (a PEFT LoRA adapter folder holds adapter_config.json and adapter_model.safetensors)")))?;
        let cfg: PeftConfig = serde_json::from_str(&text).map_err(|e| bad(dir, format!("adapter_config.json: {e}")))?;
        if let Some(t) = &cfg.peft_type {
            if t != "LORA" {
                return Err(bad(dir, format!("peft_type is {t}; only LORA adapters are supported")));
            }
        }
        if cfg.use_dora {
            return Err(bad(dir, "DoRA adapters (use_dora: true) are not supported"));
        }
        if cfg.fan_in_fan_out {
            return Err(bad(dir, "fan_in_fan_out adapters (GPT-2 style Conv1D) are not supported"));
        }
        if !cfg.alpha_pattern.is_empty() {
            return Err(bad(dir, "per-module lora_alpha (alpha_pattern) is not supported"));
        }
        if cfg.r == 0 {
            return Err(bad(dir, "r is 0"));
        }
        // Per module r (PEFT's rank_pattern may change it); alpha is the config's.
        let scale = |r: usize| if cfg.use_rslora { cfg.lora_alpha / (r as f32).sqrt() } else { cfg.lora_alpha / r as f32 };
        let st = SafetensorsFile::open(&dir.join("adapter_model.safetensors")).map_err(|e| bad(dir, e.to_string()))?;
        let mut pairs: HashMap<String, (Option<Vec<f32>>, Option<Vec<f32>>, Vec<usize>, Vec<usize>)> = HashMap::new();
        for name in st.names() {
            let (module, which) = if let Some(m) = name.strip_suffix(".lora_A.weight") {
                (m, 0)
            } else if let Some(m) = name.strip_suffix(".lora_B.weight") {
                (m, 1)
            } else {
                return Err(bad(dir, format!("tensor '{name}' is not a LoRA A/B matrix (embedding and bias adapters are not supported)")));
            };
            let hf = module.strip_prefix("base_model.model.").unwrap_or(module);
            let gguf = weights::hf::hf_to_gguf_name(&format!("{hf}.weight"), arch).ok_or_else(|| bad(dir, format!("'{name}' names no weight of a {arch} model")))?;
            let t = st.tensor(name).map_err(|e| bad(dir, e.to_string()))?;
            let shape = st.hf_shape(name).unwrap_or(&[]).to_vec();
            if shape.len() != 2 {
                return Err(bad(dir, format!("'{name}' has shape {shape:?}; expected a matrix")));
            }
            let mut v = vec![0.0f32; t.n_elements()];
            kernels::dequant::dequantize_row(t.ty, t.data(), &mut v).map_err(|e| bad(dir, format!("'{name}': {e}")))?;
            let e = pairs.entry(gguf).or_insert((None, None, Vec::new(), Vec::new()));
            if which == 0 {
                e.0 = Some(v);
                e.2 = shape;
            } else {
                e.1 = Some(v);
                e.3 = shape;
            }
        }
        let mut deltas = HashMap::new();
        for (gguf, (a, b, sa, sb)) in pairs {
            let (Some(a), Some(mut b)) = (a, b) else {
                return Err(bad(dir, format!("{gguf}: lora_A and lora_B must both be present")));
            };
            // A: [r, in], B: [out, r] (HF row-major shapes).
            let (r, cols, rows) = (sa[0], sa[1], sb[0]);
            if sb[1] != r || r == 0 {
                return Err(bad(dir, format!("{gguf}: lora_A {sa:?} and lora_B {sb:?} do not chain")));
            }
            if weights::hf::permutes_qk(arch) && (gguf.ends_with(".attn_q.weight") || gguf.ends_with(".attn_k.weight")) {
                let heads = if gguf.ends_with(".attn_q.weight") { n_head } else { n_kv_head };
                let perm = weights::hf::qk_permutation(rows, heads).ok_or_else(|| bad(dir, format!("{gguf}: {rows} rows do not split into {heads} heads")))?;
                let mut out = Vec::with_capacity(b.len());
                for s in perm {
                    out.extend_from_slice(&b[s * r..(s + 1) * r]);
                }
                b = out;
            }
            deltas.insert(gguf, LoraDelta::new(&a, &b, r, rows, cols, scale(r)));
        }
        if deltas.is_empty() {
            return Err(bad(dir, "adapter_model.safetensors holds no LoRA matrices"));
        }
        Ok(Self { dir: dir.to_path_buf(), r: cfg.r, alpha: cfg.lora_alpha, base_model: cfg.base_model_name_or_path, deltas })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_skip_the_base_and_merge_neighbours_on_one_adapter() {
        let mut out = vec![AdapterRows { start: 9, len: 9, id: 9 }];
        // (rows, adapter) per sequence: base, 1, 1, empty, 2, base, 1.
        segments(&mut out, [(3, 0), (2, 1), (4, 1), (0, 2), (1, 2), (5, 0), (1, 1)].into_iter());
        let want = [AdapterRows { start: 3, len: 6, id: 1 }, AdapterRows { start: 9, len: 1, id: 2 }, AdapterRows { start: 15, len: 1, id: 1 }];
        assert_eq!(out, want);
        segments(&mut out, [(4, 0)].into_iter());
        assert!(out.is_empty());
    }
}
