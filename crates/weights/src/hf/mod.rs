//! A Hugging Face model folder: `config.json` plus one or many `*.safetensors` (with
//! `model.safetensors.index.json` when sharded). Tensors are served under their GGUF names, with the value
//! changes llama.cpp's converter would make (Gemma norms +1, Llama q/k row permutation), so a model
//! built from GGUF names reads an HF folder without knowing the difference.

mod config;
mod name_map;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use kernels::GgmlType;

use crate::error::{Result, WeightsError};
use crate::safetensors::SafetensorsFile;
use crate::tensor::Tensor;

pub use config::{HfConfig, RopeScaling, TokenIds};
pub use name_map::{hf_to_gguf_name, permutes_qk, qk_permutation};

const INDEX_FILE: &str = "model.safetensors.index.json";

pub struct HfModel {
    pub config: HfConfig,
    dir: PathBuf,
    files: Vec<SafetensorsFile>,
    /// GGUF name (or HF name when unmapped) -> (file index, HF name). Sorted for a stable listing.
    index: BTreeMap<String, (usize, String)>,
}

impl HfModel {
    pub fn open(dir: &Path) -> Result<Self> {
        let config = HfConfig::from_file(&dir.join("config.json"))?;
        let paths = weight_files(dir)?;
        let mut files = Vec::with_capacity(paths.len());
        for p in &paths {
            files.push(SafetensorsFile::open(p)?);
        }
        let mut index = BTreeMap::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (fi, f) in files.iter().enumerate() {
            for hf in f.names() {
                if let Some(prev) = seen.insert(hf.clone(), fi) {
                    return Err(WeightsError::Safetensors {
                        path: f.path().to_path_buf(),
                        msg: format!(
                            "tensor '{hf}' is also in {}; the shards overlap",
                            files[prev].path().display()
                        ),
                    });
                }
                let name = hf_to_gguf_name(hf, &config.model_type).unwrap_or_else(|| hf.clone());
                if index.insert(name.clone(), (fi, hf.clone())).is_some() {
                    return Err(WeightsError::Safetensors {
                        path: f.path().to_path_buf(),
                        msg: format!("two tensors map to the GGUF name '{name}'"),
                    });
                }
            }
        }
        check_index(dir, &seen, &files)?;
        Ok(HfModel {
            config,
            dir: dir.to_path_buf(),
            files,
            index,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Tensor names: GGUF names where the map knows one, HF names otherwise. Sorted.
    pub fn tensor_names(&self) -> impl Iterator<Item = &str> {
        self.index.keys().map(String::as_str)
    }

    pub fn contains_tensor(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The HF name behind a GGUF name.
    pub fn hf_name(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|(_, hf)| hf.as_str())
    }

    /// A tensor by GGUF name, ggml-order shape, F32/F16/BF16. Zero-copy except where the converter would
    /// change values (Gemma norm weights become owned F32 with +1; Llama q/k become owned, rows permuted).
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let (fi, hf) = self
            .index
            .get(name)
            .ok_or_else(|| WeightsError::TensorNotFound {
                name: name.to_string(),
                source_name: self.dir.display().to_string(),
            })?;
        let mut t = self.files[*fi].tensor(hf)?;
        t.name = name.to_string();
        let model_type = self.config.model_type.as_str();
        if name_map::adds_one_to_norms(model_type) && hf.ends_with("norm.weight") {
            return Ok(norm_plus_one(&t));
        }
        if model_type == "falcon" && hf.contains("query_key_value.") {
            let (n_head, n_kv) = falcon_heads(&self.config);
            let n_rows = t.shape.last().copied().unwrap_or(1);
            let src = name_map::falcon_qkv_permutation(n_rows, n_head, n_kv).ok_or_else(|| WeightsError::HfConfig {
                path: self.dir.join("config.json"),
                msg: format!("tensor '{hf}' has {n_rows} rows, which do not split into {n_head} query and 2 x {n_kv} key/value heads"),
            })?;
            return Ok(reorder_rows(&t, &src));
        }
        if name_map::permutes_qk(model_type) {
            let heads = if hf.ends_with("self_attn.q_proj.weight")
                || hf.ends_with("self_attn.q_proj.bias")
            {
                self.config.num_attention_heads
            } else if hf.ends_with("self_attn.k_proj.weight")
                || hf.ends_with("self_attn.k_proj.bias")
            {
                self.config.kv_heads()
            } else {
                return Ok(t);
            };
            return permute_rows(&t, heads.unwrap_or(0));
        }
        Ok(t)
    }
}

/// The safetensors files of a folder: those named by the index, else every `*.safetensors` (adapters excluded).
fn weight_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let index_path = dir.join(INDEX_FILE);
    if index_path.exists() {
        let map = read_index(&index_path)?;
        let mut files: Vec<String> = map.into_values().collect();
        files.sort();
        files.dedup();
        if let Some(f) = files.iter().find(|f| !dir.join(f).is_file()) {
            return Err(WeightsError::NoWeights {
                path: dir.to_path_buf(),
                msg: format!("shard '{f}' named in {INDEX_FILE} is missing; download every shard of the model"),
            });
        }
        return Ok(files.into_iter().map(|f| dir.join(f)).collect());
    }
    let read = std::fs::read_dir(dir).map_err(|source| WeightsError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = read
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".safetensors") && !name.starts_with("adapter_")
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(WeightsError::NoWeights {
            path: dir.to_path_buf(),
            msg: "no *.safetensors files; if it holds pytorch_model.bin, re-save it with safetensors (save_pretrained(..., safe_serialization=True))".to_string(),
        });
    }
    Ok(files)
}

/// `weight_map` of model.safetensors.index.json: HF tensor name -> shard file name.
fn read_index(path: &Path) -> Result<HashMap<String, String>> {
    let bad = |msg: String| WeightsError::HfConfig {
        path: path.to_path_buf(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|source| WeightsError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let map = v
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| bad("no \"weight_map\" object".to_string()))?;
    let mut out = HashMap::with_capacity(map.len());
    for (k, f) in map {
        let f = f
            .as_str()
            .ok_or_else(|| bad(format!("weight_map entry '{k}' is not a file name")))?;
        // Shard names must stay inside the folder.
        if f.contains('/') || f.contains('\\') || f == ".." {
            return Err(bad(format!(
                "weight_map entry '{k}' points outside the folder: {f}"
            )));
        }
        out.insert(k.clone(), f.to_string());
    }
    Ok(out)
}

/// Every tensor the index promises must be in the shard it names.
fn check_index(dir: &Path, seen: &HashMap<String, usize>, files: &[SafetensorsFile]) -> Result<()> {
    let index_path = dir.join(INDEX_FILE);
    if !index_path.exists() {
        return Ok(());
    }
    for (name, file) in read_index(&index_path)? {
        let found = seen.get(&name).map(|&fi| {
            files[fi].path().file_name().and_then(|n| n.to_str()) == Some(file.as_str())
        });
        if found != Some(true) {
            return Err(WeightsError::Safetensors {
                path: dir.join(&file),
                msg: format!(
                    "tensor '{name}' is listed in {INDEX_FILE} but missing from this shard"
                ),
            });
        }
    }
    Ok(())
}

fn to_f32(t: &Tensor) -> Vec<f32> {
    let d = t.data();
    match t.ty {
        GgmlType::F16 => d
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        GgmlType::BF16 => d
            .chunks_exact(2)
            .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        _ => d
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    }
}

fn norm_plus_one(t: &Tensor) -> Tensor {
    let bytes: Vec<u8> = to_f32(t)
        .into_iter()
        .flat_map(|x| (x + 1.0).to_le_bytes())
        .collect();
    Tensor::from_owned(t.name.clone(), GgmlType::F32, t.shape.clone(), bytes)
}

/// Falcon's (query heads, KV heads) as transformers derives them: grouped KV with the new decoder
/// architecture, one shared KV head for multi-query, else one per query head.
pub fn falcon_heads(c: &HfConfig) -> (usize, usize) {
    let n_head = c.num_attention_heads.or_else(|| c.extra.get("n_head").and_then(|v| v.as_u64()).map(|v| v as usize)).unwrap_or(0);
    let n_kv = if c.new_decoder_architecture.unwrap_or(false) {
        c.num_kv_heads.unwrap_or(n_head)
    } else if c.multi_query.unwrap_or(true) {
        1
    } else {
        n_head
    };
    (n_head, n_kv)
}

fn reorder_rows(t: &Tensor, src: &[usize]) -> Tensor {
    let row = t.data().len() / src.len().max(1);
    let mut out = Vec::with_capacity(t.data().len());
    for &s in src {
        out.extend_from_slice(&t.data()[s * row..(s + 1) * row]);
    }
    Tensor::from_owned(t.name.clone(), t.ty, t.shape.clone(), out)
}

fn permute_rows(t: &Tensor, n_heads: usize) -> Result<Tensor> {
    // The HF row dimension (out features) is the last ggml dimension.
    let n_rows = t.shape.last().copied().unwrap_or(1);
    let src = name_map::qk_permutation(n_rows, n_heads).ok_or_else(|| WeightsError::HfConfig {
        path: PathBuf::from("config.json"),
        msg: format!(
            "tensor '{}' has {n_rows} rows, which do not split into {n_heads} heads of even size",
            t.name
        ),
    })?;
    let row = t.data().len() / n_rows.max(1);
    let mut out = Vec::with_capacity(t.data().len());
    for s in src {
        out.extend_from_slice(&t.data()[s * row..(s + 1) * row]);
    }
    Ok(Tensor::from_owned(
        t.name.clone(),
        t.ty,
        t.shape.clone(),
        out,
    ))
}
