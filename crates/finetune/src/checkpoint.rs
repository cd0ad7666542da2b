//! Training checkpoints: `checkpoint-STEP/` holding
//! - `params.safetensors`: the LoRA matrices (F32, exact bits),
//! - `optimizer.safetensors`: AdamW's first and second moments, same names prefixed `m.` / `v.`,
//! - `state.json`: the adapter layout, optimizer settings and step, and the trainer's position
//!   (epoch, batch within the epoch, global step, seed, elapsed time, the metrics so far).
//!
//! Safetensors because it stores F32 bit for bit, this workspace already reads and writes it, and
//! Python tools can inspect a checkpoint; the small remainder is JSON. All randomness of a run is
//! derived from (seed, epoch) and (seed, step, micro-batch), so the seed is the whole RNG state and a
//! resumed run is bit-identical to an uninterrupted one. A checkpoint is written into a temp folder
//! and renamed into place, so a crash never leaves a half-written `checkpoint-STEP`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use weights::safetensors_write::{self, F32Tensor};
use weights::SafetensorsFile;

use crate::metrics::MetricRow;
use crate::optim::{AdamW, AdamWConfig};
use crate::{FinetuneError, LoraConfig, LoraModule, LoraParams, Target};

const FORMAT_VERSION: u32 = 1;
const PREFIX: &str = "checkpoint-";

/// Where the trainer stands; enough to continue exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// The epoch to continue in.
    pub epoch: usize,
    /// The next micro-batch of that epoch.
    pub batch_in_epoch: usize,
    /// Optimizer steps taken.
    pub global_step: usize,
    /// The run's seed (shuffles and dropout masks derive from it).
    pub seed: u64,
    /// Settings that fix the batch sequence; resuming with others would not continue the same run.
    pub max_len: usize,
    pub grad_accum: usize,
    pub tokens_seen: u64,
    pub elapsed_s: f64,
    pub metrics: Vec<MetricRow>,
}

pub struct Checkpoint {
    pub params: LoraParams,
    pub optimizer: AdamW,
    pub state: TrainerState,
}

#[derive(Serialize, Deserialize)]
struct ModuleLayout {
    layer: usize,
    target: Target,
    rows: usize,
    cols: usize,
    r: usize,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    format_version: u32,
    lora: LoraConfig,
    modules: Vec<ModuleLayout>,
    adamw: AdamWConfig,
    optimizer_step: u64,
    trainer: TrainerState,
}

fn tensor_names(m: &LoraModule) -> (String, String) {
    let base = format!("blk.{}.{}", m.layer, m.target.gguf_base());
    (format!("{base}.lora_a"), format!("{base}.lora_b"))
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> FinetuneError + '_ {
    move |source| FinetuneError::Io { path: path.display().to_string(), source }
}

/// Writes the matrices of each (prefix, params) pair into one safetensors file.
fn write_params(path: &Path, sets: &[(&str, &LoraParams)]) -> Result<(), FinetuneError> {
    let mut meta = Vec::new(); // (A name, B name, A shape, B shape, module)
    for (prefix, p) in sets {
        for m in &p.modules {
            let (a, b) = tensor_names(m);
            meta.push((format!("{prefix}{a}"), format!("{prefix}{b}"), [m.r, m.cols], [m.rows, m.r], m));
        }
    }
    let tensors: Vec<F32Tensor> = meta
        .iter()
        .flat_map(|(na, nb, sa, sb, m)| {
            [F32Tensor { name: na, shape: sa, data: &m.a }, F32Tensor { name: nb, shape: sb, data: &m.b }]
        })
        .collect();
    safetensors_write::write_f32(path, &tensors, &BTreeMap::new())
        .map_err(|e| FinetuneError::Config(format!("cannot write checkpoint {}: {e}", path.display())))
}

/// Fills `p`'s matrices (layout already set) from `file`.
fn read_params(file: &Path, p: &mut LoraParams, prefix: &str) -> Result<(), FinetuneError> {
    let bad = |msg: String| FinetuneError::Data { path: file.display().to_string(), msg };
    let st = SafetensorsFile::open(file).map_err(|e| bad(format!("{e}; the checkpoint is damaged, resume from an older one")))?;
    for m in &mut p.modules {
        let (na, nb) = tensor_names(m);
        for (name, dst) in [(format!("{prefix}{na}"), &mut m.a), (format!("{prefix}{nb}"), &mut m.b)] {
            let t = st.tensor(&name).map_err(|e| bad(e.to_string()))?;
            if st.dtype_name(&name).as_deref() != Some("F32") || t.data().len() != dst.len() * 4 {
                return Err(bad(format!("'{name}' is not an F32 tensor of {} values", dst.len())));
            }
            for (d, c) in dst.iter_mut().zip(t.data().chunks_exact(4)) {
                *d = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
    }
    Ok(())
}

/// The folder name of the checkpoint after `step` optimizer steps.
pub fn dir_name(step: usize) -> String {
    format!("{PREFIX}{step}")
}

/// Checkpoints under `out_dir`, oldest first, as (step, path).
pub fn list(out_dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(out_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix(PREFIX)?.parse().ok()?;
            e.path().join("state.json").is_file().then(|| (step, e.path()))
        })
        .collect();
    found.sort();
    found
}

/// The newest checkpoint under `out_dir`, if any.
pub fn latest(out_dir: &Path) -> Option<PathBuf> {
    list(out_dir).pop().map(|(_, p)| p)
}

/// Writes `checkpoint-STEP/` under `out_dir` and then deletes all but the newest `keep` (0 keeps all).
pub fn save(out_dir: &Path, ck: &Checkpoint, keep: usize) -> Result<PathBuf, FinetuneError> {
    std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let step = ck.state.global_step;
    let dest = out_dir.join(dir_name(step));
    let tmp = out_dir.join(format!(".{}.tmp{}", dir_name(step), std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    write_params(&tmp.join("params.safetensors"), &[("", &ck.params)])?;
    write_params(&tmp.join("optimizer.safetensors"), &[("m.", &ck.optimizer.m), ("v.", &ck.optimizer.v)])?;
    let state = StateFile {
        format_version: FORMAT_VERSION,
        lora: ck.params.config.clone(),
        modules: ck.params.modules.iter().map(|m| ModuleLayout { layer: m.layer, target: m.target, rows: m.rows, cols: m.cols, r: m.r }).collect(),
        adamw: ck.optimizer.config,
        optimizer_step: ck.optimizer.step,
        trainer: ck.state.clone(),
    };
    let json = serde_json::to_vec_pretty(&state).expect("checkpoint state serializes");
    crate::metrics::write_atomic(&tmp.join("state.json"), &json)?;
    if dest.exists() {
        // Re-saving the same step (a rerun): the old copy goes first; rename cannot replace a folder.
        std::fs::remove_dir_all(&dest).map_err(io_err(&dest))?;
    }
    std::fs::rename(&tmp, &dest).map_err(io_err(&dest))?;
    if keep > 0 {
        let all = list(out_dir);
        for (_, old) in all.iter().take(all.len().saturating_sub(keep)) {
            std::fs::remove_dir_all(old).map_err(io_err(old))?;
        }
    }
    Ok(dest)
}

/// Reads a checkpoint folder.
pub fn load(dir: &Path) -> Result<Checkpoint, FinetuneError> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|source| FinetuneError::Io {
        path: format!("{} (is this a checkpoint-STEP folder?)", state_path.display()),
        source,
    })?;
    let bad = |msg: String| FinetuneError::Data { path: state_path.display().to_string(), msg };
    let sf: StateFile = serde_json::from_str(&text).map_err(|e| bad(format!("not a checkpoint state ({e})")))?;
    if sf.format_version != FORMAT_VERSION {
        return Err(bad(format!("checkpoint format {} is not supported (this build reads {FORMAT_VERSION})", sf.format_version)));
    }
    let modules = sf
        .modules
        .iter()
        .map(|l| LoraModule { layer: l.layer, target: l.target, rows: l.rows, cols: l.cols, r: l.r, a: vec![0.0; l.r * l.cols], b: vec![0.0; l.rows * l.r] })
        .collect();
    let mut params = LoraParams { config: sf.lora, modules };
    read_params(&dir.join("params.safetensors"), &mut params, "")?;
    let mut optimizer = AdamW::new(sf.adamw, &params);
    optimizer.step = sf.optimizer_step;
    read_params(&dir.join("optimizer.safetensors"), &mut optimizer.m, "m.")?;
    read_params(&dir.join("optimizer.safetensors"), &mut optimizer.v, "v.")?;
    Ok(Checkpoint { params, optimizer, state: sf.trainer })
}
