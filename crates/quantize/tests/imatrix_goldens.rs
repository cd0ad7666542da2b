//! Importance matrices against llama.cpp: our collection against `llama-imatrix`'s, our files read by
//! llama-quantize and theirs by us, and `--imatrix` quantization bytes against `llama-quantize --imatrix`.
//! Goldens in testdata/imatrix/, written by scripts/imatrix-goldens.sh from llama.cpp's own tools.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use engine::LoadedModel;
use kernels::pool::ThreadPool;
use quantize::imatrix::{CollectOptions, Entry, Format, Imatrix};
use quantize::writer::ImatrixUse;
use quantize::{FileType, Options};
use sha2::{Digest, Sha256};
use weights::GgufFile;

fn data(name: &str) -> PathBuf {
    common::repo().join("testdata/imatrix").join(name)
}

fn golden(name: &str) -> serde_json::Value {
    let p = data(name);
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("golden {} missing ({e}); make it with scripts/imatrix-goldens.sh", p.display()));
    serde_json::from_str(&text).unwrap()
}

/// Runs `agora imatrix`'s collection on `model` over testdata/imatrix/gpl-3.txt.
fn collect(model: &Path, n_ctx: usize, chunks: usize) -> Imatrix {
    let lm = LoadedModel::open(model).unwrap_or_else(|e| panic!("loading {}: {e}", model.display()));
    let text = std::fs::read_to_string(data("gpl-3.txt")).unwrap();
    let tokens = lm.tokenizer.encode(&text, true, false).unwrap();
    let bos = lm.tokenizer.add_bos().then(|| lm.tokenizer.bos_id()).flatten();
    let experts: HashMap<String, usize> = GgufFile::open(model)
        .unwrap()
        .tensor_infos()
        .iter()
        .filter(|t| t.shape.len() == 3)
        .map(|t| (t.name.clone(), t.shape[2]))
        .collect();
    let opts = CollectOptions { n_ctx, max_chunks: Some(chunks), process_output: false, dataset: "gpl-3.txt".into() };
    let pool = ThreadPool::new(2);
    let (m, r) = quantize::imatrix::collect(lm.model.as_ref(), &pool, &tokens, bos, experts, &opts, &mut |_, _, _| {}).unwrap();
    assert_eq!(r.n_chunks, chunks);
    m
}

fn rel_l2(a: &[f32], b: &[f32]) -> f64 {
    let d: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum();
    let n: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
    (d / n).sqrt()
}

#[test]
fn gemma_imatrix_matches_llama_imatrix() {
    // llama-imatrix -m gemma-3-270m-q4_k_m.gguf -f gpl-3.txt -c 512 --chunks 4, summarised.
    let g = golden("gemma3-270m-llamacpp-summary.json");
    let ours = collect(&store::test_model_path(), 512, 4);
    assert_eq!((ours.chunk_count, ours.chunk_size), (4, 512));
    let want = g["entries"].as_object().unwrap();
    let names: Vec<&String> = ours.entries.keys().collect();
    assert_eq!(names, want.keys().collect::<Vec<_>>(), "the same matmul weights are collected");
    let mut worst = (0.0f64, String::new());
    for (name, e) in &ours.entries {
        let w = &want[name];
        // Token counts are exact: every per-layer matmul sees every token of every chunk.
        let counts: Vec<u64> = w["counts"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
        assert_eq!(e.counts, counts, "{name}: counts");
        assert_eq!(e.sums.len() as u64, w["n"].as_u64().unwrap(), "{name}: columns");
        // Values differ only by rounding in two different matmul implementations (llama.cpp quantizes
        // activations to 8 bits for its Q4_K matmuls, as we do, but sums in another order). Measured:
        // sums within 1.3%, sampled columns within 17%, typically far closer.
        let sum: f64 = e.sums.iter().map(|&v| v as f64).sum();
        let want_sum = w["sum"].as_f64().unwrap();
        let rel = (sum - want_sum).abs() / want_sum;
        assert!(rel < 0.03, "{name}: sum {sum} vs llama-imatrix {want_sum} ({:.2}%)", 100.0 * rel);
        let cols = w["cols"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap() as usize);
        let ours_s: Vec<f32> = cols.map(|c| e.sums[c]).collect();
        let want_s: Vec<f32> = w["values"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        for (i, (&a, &b)) in ours_s.iter().zip(&want_s).enumerate() {
            assert!((a - b).abs() <= 0.3 * b.abs() + 1e-6, "{name}: sampled column {i}: {a} vs llama-imatrix {b}");
        }
        let r = rel_l2(&ours_s, &want_s);
        if r > worst.0 {
            worst = (r, name.clone());
        }
    }
    eprintln!("largest relative L2 difference over sampled columns: {:.4} ({})", worst.0, worst.1);
    assert!(worst.0 < 0.05, "{}: sampled columns differ by {:.3} (relative L2)", worst.1, worst.0);
}

#[test]
fn tiny_llama_imatrix_matches_llama_imatrix_in_both_layouts() {
    let ours = collect(&common::tiny("tiny-llama/model-f32.gguf"), 128, 8);
    let theirs = Imatrix::read(&data("tiny-llama-llamacpp.gguf")).unwrap();
    assert_eq!(theirs.format, Format::Gguf);
    assert_eq!((theirs.chunk_count, theirs.chunk_size), (8, 128));
    assert_eq!(theirs.datasets, vec!["gpl-3.txt".to_string()]);
    assert_eq!(ours.entries.keys().collect::<Vec<_>>(), theirs.entries.keys().collect::<Vec<_>>());
    for (name, e) in &ours.entries {
        let t = &theirs.entries[name];
        assert_eq!(e.counts, t.counts, "{name}");
        // F32 weights: both sides compute in f32, only the summation order differs.
        let r = rel_l2(&e.sums, &t.sums);
        assert!(r < 1e-3, "{name}: relative L2 difference {r}");
    }
    // The legacy file llama-imatrix wrote from the same run is exactly what our .dat writer makes
    // from its GGUF twin: same layout, same arithmetic.
    let dat = std::fs::read(data("tiny-llama-llamacpp.dat")).unwrap();
    assert_eq!(theirs.to_dat().unwrap(), dat, "our .dat bytes from llama-imatrix's GGUF");
    // And reading that .dat gives the same per-column weights as the GGUF (sums/count vs (sums/count*ncall)/ncall).
    let legacy = Imatrix::read(&data("tiny-llama-llamacpp.dat")).unwrap();
    assert_eq!(legacy.format, Format::Dat);
    assert_eq!(legacy.to_dat().unwrap(), dat, "a .dat read and written again is unchanged");
    assert_eq!(legacy.chunk_count, 8);
    for name in theirs.entries.keys() {
        let (a, b) = (legacy.weights(name).unwrap(), theirs.weights(name).unwrap());
        assert!(rel_l2(&a, &b) < 1e-6, "{name}");
    }
}

#[test]
fn moe_imatrix_keeps_experts_apart_like_llama_imatrix() {
    let ours = collect(&common::tiny("tiny-qwen3moe/model-bf16.gguf"), 128, 8);
    let theirs = Imatrix::read(&data("tiny-qwen3moe-llamacpp.gguf")).unwrap();
    assert_eq!(ours.entries.keys().collect::<Vec<_>>(), theirs.entries.keys().collect::<Vec<_>>());
    let up = &ours.entries["blk.0.ffn_up_exps.weight"];
    assert_eq!(up.counts.len(), 4, "one count per expert");
    // 2 of 4 experts per token: the per-expert counts add up to twice the tokens.
    assert_eq!(up.counts.iter().sum::<u64>(), 2 * 8 * 128);
    for (name, e) in &ours.entries {
        let t = &theirs.entries[name];
        assert_eq!(e.counts.len(), t.counts.len(), "{name}");
        // Routing of near-ties may differ between implementations: allow 1% of tokens to move.
        for (a, b) in e.counts.iter().zip(&t.counts) {
            assert!((*a as f64 - *b as f64).abs() <= 0.01 * (*b as f64) + 2.0, "{name}: counts {:?} vs {:?}", e.counts, t.counts);
        }
        let r = rel_l2(&e.sums, &t.sums);
        assert!(r < 0.02, "{name}: relative L2 difference {r}");
    }
}

/// Each tensor's type and the first 16 hex digits of its sha256 equal the golden's.
fn check_against(ours: &Path, preset: &serde_json::Value, what: &str) {
    let gguf = GgufFile::open(ours).unwrap();
    let tensors = preset["tensors"].as_object().unwrap();
    assert_eq!(gguf.tensor_infos().len(), tensors.len(), "{what}: tensor count");
    let mut wrong = Vec::new();
    for t in gguf.tensors() {
        let g = tensors.get(&t.name).unwrap_or_else(|| panic!("{what}: llama-quantize has no {}", t.name));
        let hash = format!("{:x}", Sha256::digest(t.data()));
        if t.ty.name() != g[0].as_str().unwrap() || hash[..16] != *g[1].as_str().unwrap() {
            wrong.push(format!("{} (ours {}, llama-quantize {})", t.name, t.ty.name(), g[0]));
        }
    }
    assert!(wrong.is_empty(), "{what}: {} tensors differ from llama-quantize: {:?}", wrong.len(), &wrong[..wrong.len().min(8)]);
    assert_eq!(gguf.metadata().get_u32("general.file_type").unwrap() as u64, preset["file_type"].as_u64().unwrap());
}

fn quantize_with(input: &Path, output: &Path, ftype: FileType, im: &ImatrixUse) -> quantize::Report {
    let opts = Options { ftype, threads: 2, extra_metadata: Vec::new() };
    quantize::quantize_file_with_imatrix(input, output, &opts, Some(im), &mut |_| {})
        .unwrap_or_else(|e| panic!("quantizing {} to {}: {e}", input.display(), ftype.name()))
}

#[test]
fn tiny_llama_with_either_tools_imatrix_matches_llama_quantize() {
    // Sources: llama-imatrix's .dat and .gguf (we read theirs) and agora imatrix's .dat (llama-quantize read ours).
    let golden = golden("tiny-llama-quantized.json");
    let input = common::tiny("tiny-llama/model-f32.gguf");
    let dir = tempfile::tempdir().unwrap();
    let presets = golden["presets"].as_object().unwrap();
    assert_eq!(presets.len(), 18);
    for (key, preset) in presets {
        let (src, name) = key.split_once(':').unwrap();
        let im = ImatrixUse::load(&data(&format!("tiny-llama-{src}"))).unwrap();
        let out = dir.path().join(format!("{src}-{name}.gguf"));
        let r = quantize_with(&input, &out, FileType::parse(name).unwrap(), &im);
        let cov = &r.imatrix.as_ref().unwrap().coverage;
        assert!(cov.missing.is_empty() && cov.used > 0, "{key}: {cov:?}");
        check_against(&out, preset, &format!("tiny-llama {key}"));
    }
}

/// The matrix scripts/imatrix_tool.py `synthetic` writes: every per-layer matrix, column c of matrix m
/// weighing ((37c + 11m) mod 101 + 1) / 4 (exact in f32), count 1.
fn synthetic(model: &Path) -> ImatrixUse {
    let mut entries = BTreeMap::new();
    for t in GgufFile::open(model).unwrap().tensor_infos() {
        if !t.name.starts_with("blk.") || t.shape.len() < 2 {
            continue;
        }
        let (n, mats) = (t.shape[0], t.shape.get(2).copied().unwrap_or(1));
        let sums = (0..mats).flat_map(|m| (0..n).map(move |c| ((c * 37 + m * 11) % 101 + 1) as f32 * 0.25)).collect();
        entries.insert(t.name.clone(), Entry { sums, counts: vec![1; mats] });
    }
    let matrix = Imatrix { entries, datasets: vec!["synthetic".into()], chunk_count: 1, chunk_size: 1, format: Format::Gguf };
    ImatrixUse { matrix, file: "synthetic.gguf".into(), sha256: String::new() }
}

#[test]
fn gemma_weighted_quantization_matches_llama_quantize_imatrix() {
    // K-quants on Gemma's 1024- and 2048-wide rows, the 32-element types on its 640-wide ones, and the
    // Q4_0/Q5_0 rule for ffn_down that applies only with an imatrix.
    let golden = golden("gemma3-270m-quantized.json");
    let f32 = common::gemma_f32();
    let im = synthetic(f32);
    let presets = golden["presets"].as_object().unwrap();
    assert_eq!(presets.len(), 5);
    for (name, preset) in presets {
        let out = common::scratch().join(format!("gemma-imatrix-{name}.gguf"));
        quantize_with(f32, &out, FileType::parse(name).unwrap(), &im);
        check_against(&out, preset, &format!("Gemma {name} --imatrix"));
        std::fs::remove_file(&out).unwrap();
    }
}
