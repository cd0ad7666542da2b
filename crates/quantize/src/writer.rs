//! GGUF in, GGUF out: every tensor the plan changes is dequantized row by row to f32 and quantized
//! again with the reference quantizers; the rest are copied from the input's mapping unchanged.
//! The output appears only when complete (`GgufWriter::write`: temp file, fsync, rename).

use std::path::{Path, PathBuf};
use std::time::Instant;

use kernels::dequant::dequantize_row;
use kernels::quant::quantize_row;
use kernels::quant_weighted::quantize_row_weighted;
use kernels::GgmlType;
use serde::Serialize;
use weights::{GgufFile, GgufWriter, MetaValue, Tensor};

use crate::error::{QuantizeError, Result};
use crate::ftype::FileType;
use crate::imatrix::{self, Coverage, Imatrix};
use crate::plan::{Plan, TensorPlan};

/// ggml's quantization format version (the K-quant block layouts of 2023 onwards).
pub const QUANTIZATION_VERSION: u32 = 2;

/// Keys that describe a split input; the output is always one file.
const SPLIT_KEYS: &[&str] = &["split.no", "split.count", "split.tensors.count"];

#[derive(Clone, Debug)]
pub struct Options {
    pub ftype: FileType,
    pub threads: usize,
    /// Extra metadata written into the output (e.g. quality figures).
    pub extra_metadata: Vec<(String, MetaValue)>,
}

/// Progress after each tensor: elements processed so far out of the total.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    pub tensor: &'a str,
    pub done: u64,
    pub total: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub input: PathBuf,
    pub output: PathBuf,
    pub ftype: &'static str,
    pub llama_ftype: u32,
    pub n_tensors: usize,
    pub n_converted: usize,
    pub n_fallback: usize,
    /// Tensors that were already quantized and were quantized again (each step loses precision).
    pub n_requantized: usize,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub seconds: f64,
    pub threads: usize,
    /// The importance matrix used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imatrix: Option<ImatrixReport>,
    pub plan: Plan,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImatrixReport {
    pub file: String,
    pub sha256: String,
    pub entries: usize,
    pub chunks: u32,
    pub datasets: Vec<String>,
    #[serde(flatten)]
    pub coverage: Coverage,
}

/// An importance matrix to weigh the quantization by (`--imatrix`), with the file it came from.
pub struct ImatrixUse {
    pub matrix: Imatrix,
    /// The path as the user gave it (recorded in the output, as llama-quantize does).
    pub file: String,
    pub sha256: String,
}

impl ImatrixUse {
    pub fn load(path: &Path) -> Result<ImatrixUse> {
        use sha2::{Digest, Sha256};
        let matrix = Imatrix::read(path)?;
        let bytes = std::fs::read(path).map_err(|e| QuantizeError::Imatrix(format!("cannot read {}: {e}", path.display())))?;
        let sha256 = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        Ok(ImatrixUse { matrix, file: path.display().to_string(), sha256 })
    }
}

/// llama.cpp's metadata override values are at most 127 bytes.
fn clip127(s: &str) -> String {
    let mut end = s.len().min(127);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// Errors a caller can report before any work: bad output location, output == input.
pub fn check_paths(input: &Path, output: &Path) -> Result<()> {
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(QuantizeError::MissingOutputDir(dir));
    }
    if output.is_dir() {
        return Err(QuantizeError::Invalid(format!(
            "the output {} is a folder; give a file name such as {}/model-q4_k_m.gguf",
            output.display(),
            output.display()
        )));
    }
    if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize()) {
        if a == b {
            return Err(QuantizeError::SameFile(output.to_path_buf()));
        }
    }
    Ok(())
}

/// Quantizes `input` into `output` by the plan of `opts.ftype`.
pub fn quantize_file(
    input: &Path,
    output: &Path,
    opts: &Options,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Report> {
    quantize_file_with_imatrix(input, output, opts, None, on_progress)
}

/// `quantize_file`, the rows of each tensor the importance matrix covers quantized with its weights
/// (llama-quantize `--imatrix`).
pub fn quantize_file_with_imatrix(
    input: &Path,
    output: &Path,
    opts: &Options,
    imat: Option<&ImatrixUse>,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Report> {
    quantize_edited(input, output, opts, imat, &|_| Ok(None), on_progress)
}

/// Changes a tensor's values before it is written: `Some(f32 tensor)` replaces it (and is
/// quantized to the plan's type even where the plan would copy the input), `None` keeps it.
pub type TensorEdit<'a> = dyn Fn(&Tensor) -> Result<Option<Tensor>> + 'a;

/// `quantize_file_with_imatrix` with some tensors changed on the way (LoRA merging).
pub fn quantize_edited(
    input: &Path,
    output: &Path,
    opts: &Options,
    imat: Option<&ImatrixUse>,
    edit: &TensorEdit,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Report> {
    check_paths(input, output)?;
    let t0 = Instant::now();
    let gguf = GgufFile::open(input)?;
    let plan = Plan::for_file_with(&gguf, opts.ftype, imat.is_some())?;
    let threads = opts.threads.max(1);
    let coverage = match imat {
        Some(u) => {
            let all: Vec<(String, Vec<usize>)> = plan.tensors.iter().map(|t| (t.name.clone(), t.shape.clone())).collect();
            let quantized: Vec<&str> = plan
                .tensors
                .iter()
                .filter(|t| t.converts() && crate::ftype::is_quantized_type(t.to))
                .map(|t| t.name.as_str())
                .collect();
            for (name, e) in &u.matrix.entries {
                if !e.sums.iter().all(|v| v.is_finite()) {
                    return Err(QuantizeError::Imatrix(format!(
                        "importance matrix {}: entry '{name}' holds non-finite values; collect it again",
                        u.file
                    )));
                }
            }
            Some(imatrix::check(&u.matrix, &all, &quantized)?)
        }
        None => None,
    };

    let mut md = gguf.metadata().clone();
    for k in SPLIT_KEYS {
        md.remove(k);
    }
    md.insert("general.quantization_version", QUANTIZATION_VERSION);
    md.insert("general.file_type", opts.ftype.llama_ftype());
    if let Some(u) = imat {
        // The keys llama-quantize writes, plus the file's hash.
        let m = &u.matrix;
        md.insert("quantize.imatrix.file", clip127(&u.file));
        if let Some(d) = m.datasets.first() {
            md.insert("quantize.imatrix.dataset", clip127(d));
        }
        md.insert("quantize.imatrix.entries_count", m.entries.len() as u32);
        if m.chunk_count > 0 {
            md.insert("quantize.imatrix.chunks_count", m.chunk_count);
        }
        md.insert("quantize.imatrix.sha256", u.sha256.clone());
    }
    for (k, v) in &opts.extra_metadata {
        md.insert(k.clone(), v.clone());
    }
    let writer = GgufWriter::with_metadata(md);

    // Tensors are produced one at a time while the file is written: memory holds one output tensor.
    let declared: Vec<(String, GgmlType, Vec<usize>)> =
        plan.tensors.iter().map(|t| (t.name.clone(), t.to, t.shape.clone())).collect();
    let elements = |t: &TensorPlan| t.shape.iter().product::<usize>() as u64;
    let total: u64 = plan.tensors.iter().map(elements).sum();
    let mut done = 0u64;
    let mut buf = Vec::new();
    let mut failure: Option<QuantizeError> = None;
    let written = writer.write_streaming(output, &declared, &mut |i, w| {
        let tp = &plan.tensors[i];
        let step = (|| -> Result<()> {
            let src = gguf.tensor(&tp.name)?;
            if let Some(edited) = edit(&src)? {
                let qw = imat.and_then(|u| u.matrix.weights(&tp.name));
                convert_weighted_into(&edited, tp.to, threads, qw.as_deref(), &mut buf)?;
                w.write_all(&buf).map_err(|e| io_err(output, e))?;
            } else if tp.converts() {
                let qw = imat.and_then(|u| u.matrix.weights(&tp.name));
                convert_weighted_into(&src, tp.to, threads, qw.as_deref(), &mut buf)?;
                w.write_all(&buf).map_err(|e| io_err(output, e))?;
            } else {
                w.write_all(src.data()).map_err(|e| io_err(output, e))?;
            }
            Ok(())
        })();
        match step {
            Ok(()) => {
                done += elements(tp);
                on_progress(Progress { tensor: &tp.name, done, total });
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                failure = Some(e);
                Err(std::io::Error::other(msg))
            }
        }
    });
    if let Err(e) = written {
        return Err(failure.unwrap_or(QuantizeError::Weights(e)));
    }
    let output_bytes = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
    Ok(Report {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        ftype: opts.ftype.name(),
        llama_ftype: opts.ftype.llama_ftype(),
        n_tensors: plan.tensors.len(),
        n_converted: plan.tensors.iter().filter(|t| t.converts()).count(),
        n_fallback: plan.n_fallback(),
        n_requantized: plan.requantized().count(),
        input_bytes: gguf.file_size(),
        output_bytes,
        seconds: t0.elapsed().as_secs_f64(),
        threads,
        imatrix: imat.zip(coverage).map(|(u, coverage)| ImatrixReport {
            file: u.file.clone(),
            sha256: u.sha256.clone(),
            entries: u.matrix.entries.len(),
            chunks: u.matrix.chunk_count,
            datasets: u.matrix.datasets.clone(),
            coverage,
        }),
        plan,
    })
}

fn io_err(path: &Path, source: std::io::Error) -> QuantizeError {
    QuantizeError::Weights(weights::WeightsError::Write { path: path.to_path_buf(), source })
}

/// One tensor to type `to`, rows split evenly over `threads` threads.
pub fn convert(src: &Tensor, to: GgmlType, threads: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    convert_into(src, to, threads, &mut out)?;
    Ok(out)
}

/// Like `convert`, into a reused buffer (resized to the tensor's size).
pub fn convert_into(src: &Tensor, to: GgmlType, threads: usize, dst: &mut Vec<u8>) -> Result<()> {
    convert_weighted_into(src, to, threads, None, dst)
}

/// `convert_into` with optional importance weights `qw`: `[n_mat, cols]`, matrix `m` (an expert of a
/// stacked tensor) weighing the rows `m * rows_per_matrix ..`.
pub fn convert_weighted_into(
    src: &Tensor,
    to: GgmlType,
    threads: usize,
    qw: Option<&[f32]>,
    dst: &mut Vec<u8>,
) -> Result<()> {
    let n = src.shape[0];
    let rows: usize = src.shape[1..].iter().product();
    let bad_len = |ty: GgmlType| QuantizeError::Format {
        name: src.name.clone(),
        source: kernels::dequant::FormatError::PartialBlock { ty: ty.name(), n, block: ty.block_size() },
    };
    let src_row = src.ty.row_bytes(n).ok_or_else(|| bad_len(src.ty))?;
    let dst_row = to.row_bytes(n).ok_or_else(|| bad_len(to))?;
    let data = src.data();
    let rows_per_mat = src.shape.get(1).copied().unwrap_or(1).max(1);
    if let Some(w) = qw {
        let n_mat = src.shape.get(2).copied().unwrap_or(1);
        if w.len() != n * n_mat {
            return Err(QuantizeError::Imatrix(format!(
                "tensor '{}': the importance matrix has {} values, the tensor needs {}",
                src.name,
                w.len(),
                n * n_mat
            )));
        }
    }
    dst.resize(rows * dst_row, 0);
    if rows == 0 || dst_row == 0 {
        return Ok(());
    }
    let per = rows.div_ceil(threads.clamp(1, rows));
    let fmt = |e| QuantizeError::Format { name: src.name.clone(), source: e };
    let results: Vec<Result<()>> = std::thread::scope(|s| {
        let handles: Vec<_> = dst
            .chunks_mut(per * dst_row)
            .enumerate()
            .map(|(ci, out)| {
                s.spawn(move || -> Result<()> {
                    let mut buf = vec![0f32; n];
                    for (k, o) in out.chunks_exact_mut(dst_row).enumerate() {
                        let r = ci * per + k;
                        to_f32(src.ty, &data[r * src_row..(r + 1) * src_row], &mut buf).map_err(fmt)?;
                        if !buf.iter().all(|v| v.is_finite()) {
                            return Err(QuantizeError::NonFinite { name: src.name.clone(), row: r });
                        }
                        match qw {
                            Some(w) => {
                                let m = r / rows_per_mat;
                                quantize_row_weighted(to, &buf, o, &w[m * n..(m + 1) * n]).map_err(fmt)?
                            }
                            None => quantize_row(to, &buf, o).map_err(fmt)?,
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
    });
    results.into_iter().collect::<Result<Vec<()>>>()?;
    Ok(())
}

/// One row to f32. F32 rows are a plain byte copy (the generic path costs a call per element).
fn to_f32(ty: GgmlType, src: &[u8], dst: &mut [f32]) -> std::result::Result<(), kernels::dequant::FormatError> {
    if ty == GgmlType::F32 && src.len() == dst.len() * 4 {
        for (d, b) in dst.iter_mut().zip(src.chunks_exact(4)) {
            *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        return Ok(());
    }
    dequantize_row(ty, src, dst)
}

/// Rewrites a GGUF with extra metadata (tensors copied from the mapping), atomically in place.
pub fn add_metadata(path: &Path, keys: &[(String, MetaValue)]) -> Result<()> {
    let gguf = GgufFile::open(path)?;
    let mut md = gguf.metadata().clone();
    for (k, v) in keys {
        md.insert(k.clone(), v.clone());
    }
    let mut w = GgufWriter::with_metadata(md);
    for t in gguf.tensors() {
        w.add_tensor(t)?;
    }
    w.write(path)?;
    Ok(())
}
