//! `agora convert`: a Hugging Face folder (or any GGUF) to a GGUF file that our loader, llama.cpp and
//! the Python `gguf` package read, with the metadata keys, tokenizer and tensor layout llama.cpp's
//! `convert_hf_to_gguf.py` writes.
//!
//! It lives in `quantize` because it is the same job, weights in and a GGUF out: it shares the
//! row converters, the Q8_0 quantizer and the streaming atomic writer, and a Hugging Face folder given
//! to `agora quantize` goes through here first. The HF -> GGUF name map and value changes stay in
//! `weights::hf` (tensors are read through it); the tokenizer export lives in `tokenize::export`.
//!
//! Reading order: [`hparams`] (config.json -> `{arch}.*` keys), [`tensors`] (which tensors, which
//! types), then [`convert`] here, which writes them.

mod hparams;
mod tensors;

use std::path::{Path, PathBuf};
use std::time::Instant;

use kernels::GgmlType;
use serde::Serialize;
use weights::{GgufWriter, HfModel, MetaValue, Metadata};

use crate::error::QuantizeError;
use crate::ftype::FileType;
use crate::writer::{check_paths, convert_into, Progress, QUANTIZATION_VERSION};

pub use tensors::{pick_type, OutTensor};

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("'{0}' is not a conversion type; choose one of: f32, f16, bf16, q8_0 (other quantizations: agora quantize)")]
    UnknownType(String),
    #[error("{0} is neither a GGUF file nor a Hugging Face model folder (config.json + *.safetensors)")]
    NotAModel(PathBuf),
    #[error("the folder's config.json names model_type '{model_type}' (architectures {archs}), which convert does not know; supported: {supported}")]
    UnknownArchitecture { model_type: String, archs: String, supported: String },
    #[error("tensor '{0}' has no GGUF name for this architecture; is the checkpoint of the architecture config.json names?")]
    UnmappedTensor(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Weights(#[from] weights::WeightsError),
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("tokenizer: {0}")]
    Tokenizer(#[from] tokenize::TokenizeError),
    #[error(transparent)]
    Quantize(Box<QuantizeError>),
}

impl From<QuantizeError> for ConvertError {
    fn from(e: QuantizeError) -> Self {
        ConvertError::Quantize(Box::new(e))
    }
}

pub type Result<T, E = ConvertError> = std::result::Result<T, E>;

/// The output types `convert` writes (llama.cpp's converter's `--outtype`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum OutType {
    F32,
    F16,
    BF16,
    Q8_0,
}

impl OutType {
    pub fn parse(s: &str) -> Result<OutType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" => Ok(Self::F32),
            "f16" => Ok(Self::F16),
            "bf16" => Ok(Self::BF16),
            "q8_0" => Ok(Self::Q8_0),
            _ => Err(ConvertError::UnknownType(s.to_string())),
        }
    }

    pub fn file_type(self) -> FileType {
        match self {
            Self::F32 => FileType::F32,
            Self::F16 => FileType::F16,
            Self::BF16 => FileType::BF16,
            Self::Q8_0 => FileType::Q8_0,
        }
    }

    fn main_type(self) -> GgmlType {
        self.file_type().default_type()
    }

    /// The float type of a source tensor, kept when no type is asked for (lossless).
    fn of_source(t: GgmlType) -> OutType {
        match t {
            GgmlType::F16 => Self::F16,
            GgmlType::BF16 => Self::BF16,
            _ => Self::F32,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// None: the source's float type for a folder, F32 for a GGUF.
    pub out_type: Option<OutType>,
    pub threads: usize,
    /// `general.name`; default: from the folder name, as llama.cpp does.
    pub name: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub input: PathBuf,
    pub output: PathBuf,
    /// "huggingface" or "gguf".
    pub source: &'static str,
    pub architecture: String,
    pub out_type: OutType,
    pub n_tensors: usize,
    /// Tensor count per type, e.g. {"F32": 9, "BF16": 14}.
    pub types: std::collections::BTreeMap<&'static str, usize>,
    pub n_vocab: usize,
    pub output_bytes: u64,
    pub seconds: f64,
}

/// Converts a folder or a GGUF file into the GGUF `output` (written atomically).
pub fn convert(input: &Path, output: &Path, opts: &Options, on_progress: &mut dyn FnMut(Progress)) -> Result<Report> {
    if input.is_dir() {
        convert_hf(input, output, opts, on_progress)
    } else if input.is_file() {
        convert_gguf(input, output, opts, on_progress)
    } else {
        Err(ConvertError::NotAModel(input.to_path_buf()))
    }
}

fn convert_gguf(input: &Path, output: &Path, opts: &Options, on_progress: &mut dyn FnMut(Progress)) -> Result<Report> {
    let t0 = Instant::now();
    let out_type = opts.out_type.unwrap_or(OutType::F32);
    let extra_metadata = opts.name.iter().map(|n| ("general.name".to_string(), MetaValue::from(n.as_str()))).collect();
    let qopts = crate::writer::Options { ftype: out_type.file_type(), threads: opts.threads.max(1), extra_metadata };
    let r = crate::writer::quantize_file(input, output, &qopts, on_progress)?;
    let gguf = weights::GgufFile::open(output)?;
    let mut types = std::collections::BTreeMap::new();
    for t in gguf.tensor_infos() {
        *types.entry(t.ty.name()).or_default() += 1;
    }
    Ok(Report {
        input: input.to_path_buf(),
        output: output.to_path_buf(),
        source: "gguf",
        architecture: gguf.metadata().opt_str("general.architecture").unwrap_or("").to_string(),
        out_type,
        n_tensors: r.n_tensors,
        types,
        n_vocab: gguf.metadata().opt_str_array("tokenizer.ggml.tokens").map_or(0, <[String]>::len),
        output_bytes: r.output_bytes,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

fn convert_hf(dir: &Path, output: &Path, opts: &Options, on_progress: &mut dyn FnMut(Progress)) -> Result<Report> {
    let t0 = Instant::now();
    check_paths(dir, output)?;
    if !dir.join("config.json").is_file() {
        return Err(ConvertError::NotAModel(dir.to_path_buf()));
    }
    let hf = HfModel::open(dir)?;
    let c = &hf.config;
    let arch = c.gguf_arch().ok_or_else(|| ConvertError::UnknownArchitecture {
        model_type: c.model_type.clone(),
        archs: format!("{:?}", c.architectures),
        supported: "llama, mistral, mixtral, qwen2, qwen3, qwen3_moe, gemma2, gemma3, phi3, falcon".into(),
    })?;
    // Building the model checks that every tensor it needs is there with the right shape, and
    // refuses what the engine cannot run, before anything is written.
    drop(models::registry::build(&models::WeightSource::Hf(HfModel::open(dir)?))?);

    let embd = hf.tensor("token_embd.weight")?;
    let n_vocab = *embd.shape.get(1).unwrap_or(&0);
    let out_type = opts.out_type.unwrap_or_else(|| OutType::of_source(embd.ty));
    let mut extra = Vec::new();
    if let Some(f) = llama3_freqs(c, arch)? {
        extra.push(("rope_freqs.weight".to_string(), f));
    }
    if arch == "phi3" {
        if let Some(lr) = hparams::phi3_long_rope(c)? {
            extra.push(("rope_factors_long.weight".to_string(), lr.long));
            extra.push(("rope_factors_short.weight".to_string(), lr.short));
        }
    }
    let plan = tensors::plan(&hf, out_type.main_type(), extra)?;

    let mut md = Metadata::new();
    md.insert("general.architecture", arch);
    md.insert("general.type", "model");
    md.insert("general.name", opts.name.clone().unwrap_or_else(|| name_from_dir(dir)));
    md.insert("general.size_label", size_label(&plan));
    for (k, v) in hparams::arch_metadata(c, arch, out_type.file_type().llama_ftype())? {
        md.insert(k, v);
    }
    md.insert("general.quantization_version", QUANTIZATION_VERSION);
    for (k, v) in tokenize::export::hf_tokenizer_metadata(dir, arch, n_vocab)? {
        md.insert(k, v);
    }
    write(&hf, &plan, md, output, opts.threads.max(1), on_progress)?;

    let mut types = std::collections::BTreeMap::new();
    for t in &plan {
        *types.entry(t.ty.name()).or_default() += 1;
    }
    Ok(Report {
        input: dir.to_path_buf(),
        output: output.to_path_buf(),
        source: "huggingface",
        architecture: arch.to_string(),
        out_type,
        n_tensors: plan.len(),
        types,
        n_vocab,
        output_bytes: std::fs::metadata(output).map(|m| m.len()).unwrap_or(0),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Llama 3 RoPE scaling is stored as per-frequency divisors in `rope_freqs.weight`. Computed in f32
/// step by step as llama.cpp's converter does (torch float32), so the tensor matches its bytes; the
/// engine's own f64 factors for a folder differ by about 1e-7.
fn llama3_freqs(c: &weights::HfConfig, arch: &str) -> Result<Option<Vec<f32>>> {
    let Some(rs) = c.rope_scaling.as_ref().filter(|r| r.rope_type.as_deref() == Some("llama3")) else { return Ok(None) };
    if arch != "llama" {
        return Ok(None);
    }
    let dim = c.head_dim().unwrap_or(0);
    let base = c.rope_theta.unwrap_or(10_000.0) as f32;
    let factor = rs.factor.unwrap_or(8.0) as f32;
    let (low, high) = (rs.low_freq_factor.unwrap_or(1.0), rs.high_freq_factor.unwrap_or(4.0));
    let old_ctx = rs.original_max_position_embeddings.unwrap_or(8192) as f64;
    if factor <= 0.0 || high <= low {
        return Err(ConvertError::Invalid(format!("llama3 rope scaling needs factor > 0 and high_freq_factor > low_freq_factor (got {factor}, {low}, {high})")));
    }
    let (low_wavelen, high_wavelen) = (old_ctx / low, old_ctx / high);
    let two_pi = (2.0 * std::f64::consts::PI) as f32;
    Ok(Some(
        (0..dim / 2)
            .map(|i| {
                let freq = 1.0f32 / base.powf((2 * i) as f32 / dim as f32);
                let wavelen = two_pi / freq;
                if (wavelen as f64) < high_wavelen {
                    1.0
                } else if (wavelen as f64) > low_wavelen {
                    factor
                } else {
                    let smooth = (old_ctx as f32 / wavelen - low as f32) / (high - low) as f32;
                    1.0 / ((1.0 - smooth) / factor + smooth)
                }
            })
            .collect(),
    ))
}

fn write(
    hf: &HfModel,
    plan: &[OutTensor],
    md: Metadata,
    output: &Path,
    threads: usize,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    let declared: Vec<(String, GgmlType, Vec<usize>)> = plan.iter().map(|t| (t.name.clone(), t.ty, t.shape.clone())).collect();
    let total: u64 = plan.iter().map(|t| t.shape.iter().product::<usize>() as u64).sum();
    let mut done = 0u64;
    let mut buf = Vec::new();
    let mut failure: Option<ConvertError> = None;
    let written = GgufWriter::with_metadata(md).write_streaming(output, &declared, &mut |i, w| {
        let t = &plan[i];
        let step = (|| -> Result<()> {
            for src in tensors::sources(hf, t)? {
                if src.ty == t.ty {
                    w.write_all(src.data()).map_err(|e| write_err(output, e))?;
                } else {
                    convert_into(&src, t.ty, threads, &mut buf)?;
                    w.write_all(&buf).map_err(|e| write_err(output, e))?;
                }
            }
            Ok(())
        })();
        match step {
            Ok(()) => {
                done += t.shape.iter().product::<usize>() as u64;
                on_progress(Progress { tensor: &t.name, done, total });
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                failure = Some(e);
                Err(std::io::Error::other(msg))
            }
        }
    });
    match written {
        Ok(()) => Ok(()),
        Err(e) => Err(failure.unwrap_or(ConvertError::Weights(e))),
    }
}

fn write_err(path: &Path, source: std::io::Error) -> ConvertError {
    ConvertError::Weights(weights::WeightsError::Write { path: path.to_path_buf(), source })
}

/// "tiny-qwen3moe" -> "Tiny Qwen3Moe": words split on '-' and '_', each letter upper-cased after a
/// non-letter and lower-cased after a letter (Python's `str.title`, which llama.cpp's naming uses).
pub fn name_from_dir(dir: &Path) -> String {
    let full = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let base = full.file_name().map_or_else(|| "model".into(), |n| n.to_string_lossy().into_owned()).replace(['-', '_'], " ");
    let mut prev_letter = false;
    base.chars()
        .map(|ch| {
            let out = if prev_letter { ch.to_lowercase().collect::<String>() } else { ch.to_uppercase().collect() };
            prev_letter = ch.is_alphabetic();
            out
        })
        .collect()
}

/// `general.size_label`: total parameters ("140K", "1.2B"), or experts x one expert's model ("4x116K").
pub fn size_label(plan: &[OutTensor]) -> String {
    let (mut total, mut shared, mut expert, mut n_expert) = (0u64, 0u64, 0u64, 0u64);
    for t in plan {
        let n: u64 = t.shape.iter().map(|&d| d as u64).product();
        total += n;
        if t.name.contains("_exps.") && t.shape.len() >= 3 {
            n_expert = t.shape[2] as u64;
            expert += n / n_expert.max(1);
        } else {
            shared += n;
        }
    }
    if n_expert > 0 {
        format!("{n_expert}x{}", rounded(shared + expert))
    } else {
        rounded(total)
    }
}

/// "139584" -> "140K": at least two significant digits before the suffix.
fn rounded(n: u64) -> String {
    let x = n as f64;
    let (v, s) = if x > 1e12 {
        (x * 1e-12, "T")
    } else if x > 1e9 {
        (x * 1e-9, "B")
    } else if x > 1e6 {
        (x * 1e-6, "M")
    } else {
        (x * 1e-3, "K")
    };
    let int_digits = format!("{}", v.round() as u64).trim_start_matches('0').len();
    let decimals = 2usize.saturating_sub(int_digits);
    format!("{v:.decimals$}{s}")
}

/// `agora quantize` of a folder: converted losslessly into a temporary GGUF beside the output
/// (removed afterwards, also on error), then quantized from it.
pub fn quantize_hf(
    dir: &Path,
    output: &Path,
    qopts: &crate::writer::Options,
    imat: Option<&crate::ImatrixUse>,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<crate::writer::Report> {
    check_paths(dir, output)?;
    let name = output.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let tmp = output.with_file_name(format!(".{name}.convert-{}.gguf", std::process::id()));
    struct Cleanup<'a>(&'a Path);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _cleanup = Cleanup(&tmp);
    let copts = Options { out_type: None, threads: qopts.threads, name: None };
    convert_hf(dir, &tmp, &copts, &mut |_| {})?;
    let mut r = crate::writer::quantize_file_with_imatrix(&tmp, output, qopts, imat, on_progress)?;
    r.input = dir.to_path_buf();
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_labels_round_like_llama_cpp() {
        assert_eq!(rounded(139_584), "140K");
        assert_eq!(rounded(268_098_176), "268M");
        assert_eq!(rounded(1_235_814_400), "1.2B");
        assert_eq!(rounded(8_030_261_248), "8.0B");
    }

    #[test]
    fn names_are_title_cased() {
        let n = |s: &str| name_from_dir(Path::new(s));
        assert_eq!(n("/nonexistent/tiny-qwen3moe"), "Tiny Qwen3Moe");
        assert_eq!(OutType::parse("Q8_0").unwrap(), OutType::Q8_0);
        assert!(OutType::parse("q4_k_m").unwrap_err().to_string().contains("agora quantize"));
    }
}
