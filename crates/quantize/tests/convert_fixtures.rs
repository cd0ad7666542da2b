//! `agora convert` on every tiny fixture (testdata/tiny-*): the GGUF it writes from the Hugging Face
//! folder must hold what llama.cpp's own convert_hf_to_gguf.py wrote into the fixture's GGUF (same
//! metadata keys and values, same tensor names, types, shapes and bytes), read the same through the
//! Python `gguf` package, and compute the same logits in our engine as the safetensors folder.
//!
//! Deliberate differences, each checked explicitly (`EXTRA_KEYS`, `allowed_token`):
//! - tiny-qwen2: config.json says vocab_size 513 but tokenizer.json has 512 tokens. transformers loads
//!   it as Qwen2Tokenizer, which adds `<|endoftext|>` at id 512, and llama.cpp's converter (which
//!   tokenizes through transformers) writes that; we read tokenizer.json as it is, so id 512 is the
//!   padding entry "[PAD512]" (UNUSED). Real Qwen 2 tokenizer.json files list `<|endoftext|>`.
//! - tiny-mistral: we keep `llama.attention.sliding_window` (8), which llama.cpp's converter drops, so
//!   the file computes what the model computes (our engine honours the key; llama.cpp ignores it).
//! - tiny-phi3 (and tiny-phi3-longrope): its SentencePiece tokenizer.json adds no dummy prefix, so we write
//!   `tokenizer.ggml.add_space_prefix = false` (llama.cpp writes it for Gemma only, and its file
//!   then tokenizes "Hello" with a leading "▁" piece, unlike transformers).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted};
use quantize::convert::{self, OutType};
use weights::{GgufFile, MetaValue};

/// Fixture, the llama.cpp-converted GGUF of the same type our default (the folder's own float type) gives.
const FIXTURES: &[(&str, &str)] = &[
    ("tiny-falcon", "model-bf16.gguf"),
    ("tiny-falcon40b", "model-bf16.gguf"),
    ("tiny-gemma2", "model-bf16.gguf"),
    ("tiny-gemma3", "model-f32.gguf"),
    ("tiny-llama", "model-f32.gguf"),
    ("tiny-mistral", "model-bf16.gguf"),
    ("tiny-mixtral", "model-bf16.gguf"),
    ("tiny-phi3", "model-bf16.gguf"),
    ("tiny-phi3-longrope", "model-bf16.gguf"),
    ("tiny-qwen2", "model-bf16.gguf"),
    ("tiny-qwen2moe", "model-bf16.gguf"),
    ("tiny-qwen3", "model-bf16.gguf"),
    ("tiny-qwen3moe", "model-bf16.gguf"),
];

/// The one token allowed to differ per fixture (see the header).
fn allowed_token(name: &str) -> Option<usize> {
    (name == "tiny-qwen2").then_some(512)
}

/// Keys we write that llama.cpp's converter does not, with their values.
const EXTRA_KEYS: &[(&str, &str, &str)] = &[
    ("tiny-mistral", "llama.attention.sliding_window", "U32(8)"),
    ("tiny-phi3", "tokenizer.ggml.add_space_prefix", "Bool(false)"),
    ("tiny-phi3-longrope", "tokenizer.ggml.add_space_prefix", "Bool(false)"),
];

fn extra_keys(name: &str) -> Vec<&'static str> {
    EXTRA_KEYS.iter().filter(|(n, ..)| *n == name).map(|(_, k, _)| *k).collect()
}

fn converted(name: &str, ty: Option<OutType>) -> PathBuf {
    // Tests run in parallel threads of one process; one conversion per file.
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = common::scratch().join(format!("{name}-{ty:?}.gguf"));
    if !out.exists() {
        let opts = convert::Options { out_type: ty, threads: 2, name: None };
        convert::convert(&common::tiny(name), &out, &opts, &mut |_| {}).unwrap_or_else(|e| panic!("converting {name}: {e}"));
    }
    out
}

fn token_lists_equal_but(a: &MetaValue, b: &MetaValue, skip: usize) -> bool {
    match (a, b) {
        (MetaValue::Array(x), MetaValue::Array(y)) if x.len() == y.len() => {
            let strip = |v: &weights::MetaArray| -> Vec<String> {
                match v {
                    weights::MetaArray::String(s) => s.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, s)| s.clone()).collect(),
                    weights::MetaArray::I32(s) => s.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, s)| s.to_string()).collect(),
                    other => vec![format!("{other:?}")],
                }
            };
            strip(x) == strip(y)
        }
        _ => false,
    }
}

/// Same keys, values, tensor names, types, shapes and bytes.
fn assert_same_gguf(name: &str, ours: &Path, reference: &Path) {
    let (o, r) = (GgufFile::open(ours).unwrap(), GgufFile::open(reference).unwrap());
    for (_, k, v) in EXTRA_KEYS.iter().filter(|(n, ..)| *n == name) {
        assert_eq!(o.metadata().get(k).map(|x| format!("{x:?}")).as_deref(), Some(*v), "{name}: our extra key {k}");
    }
    let extra = extra_keys(name);
    let mut ko: Vec<&str> = o.metadata().keys().filter(|k| !extra.contains(k)).collect();
    let mut kr: Vec<&str> = r.metadata().keys().collect();
    ko.sort_unstable();
    kr.sort_unstable();
    assert_eq!(ko, kr, "{name}: metadata keys (ours, llama.cpp's)");
    for k in kr {
        let (a, b) = (o.metadata().get(k).unwrap(), r.metadata().get(k).unwrap());
        if a == b {
            continue;
        }
        let skip = allowed_token(name).filter(|_| matches!(k, "tokenizer.ggml.tokens" | "tokenizer.ggml.token_type"));
        match skip {
            Some(i) => assert!(token_lists_equal_but(a, b, i), "{name}: {k} differs beyond token {i}"),
            None => panic!("{name}: {k} is {a:?} in ours, {b:?} in llama.cpp's", a = format!("{a:?}").chars().take(200).collect::<String>()),
        }
    }
    if let Some(i) = allowed_token(name) {
        let tokens = o.metadata().get_str_array("tokenizer.ggml.tokens").unwrap();
        assert_eq!(tokens[i], format!("[PAD{i}]"), "{name}: the token missing from tokenizer.json");
    }
    assert_eq!(o.tensor_infos().len(), r.tensor_infos().len(), "{name}: tensor count");
    for t in r.tensor_infos() {
        let ot = o.tensor_info(&t.name).unwrap_or_else(|| panic!("{name}: tensor {} missing from ours", t.name));
        assert_eq!((ot.ty, &ot.shape), (t.ty, &t.shape), "{name}: {} type and shape", t.name);
        let same = o.tensor(&t.name).unwrap().data() == r.tensor(&t.name).unwrap().data();
        assert!(same, "{name}: tensor {} has other bytes than llama.cpp's", t.name);
    }
}

#[test]
fn every_fixture_converts_to_what_llama_cpp_writes() {
    for (name, reference) in FIXTURES {
        assert_same_gguf(name, &converted(name, None), &common::tiny(name).join(reference));
    }
    // Q8_0: the converter's own quantization, bit for bit.
    for name in ["tiny-llama", "tiny-gemma3"] {
        assert_same_gguf(name, &converted(name, Some(OutType::Q8_0)), &common::tiny(name).join("model-q8_0.gguf"));
    }
}

#[test]
fn python_gguf_reads_ours_as_it_reads_llama_cpps() {
    let script = common::repo().join("scripts/gguf_compare.py");
    for (name, reference) in FIXTURES {
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg(converted(name, None)).arg(common::tiny(name).join(reference));
        if let Some(i) = allowed_token(name) {
            cmd.args(["--allow-token", &i.to_string()]);
        }
        for k in extra_keys(name) {
            cmd.args(["--allow-extra-key", k]);
        }
        let out = cmd.output().expect("python3 must be installed (with: pip install gguf numpy)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: gguf_compare.py: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with("equal:"), "{name}: {stdout}");
    }
}

fn all_logits(lm: &LoadedModel, pool: &ThreadPool, seq: &[u32]) -> Vec<f32> {
    let mut ctx = ForwardCtx::new(pool);
    let mut kv = KvCache::new(lm.model.config(), 128, 64);
    let mut out = Vec::new();
    lm.model.forward(&mut ctx, seq, 0, &mut kv, LogitsWanted::All, &mut out).expect("forward");
    out
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Our file and the safetensors folder in our engine: the same function. Every fixture but
/// tiny-llama gives bit-identical logits (same weight bytes, same code); tiny-llama's `rope_freqs`
/// are computed in f32 as llama.cpp does (its bytes are checked above) while the folder path computes
/// them in f64: the factors differ by 1e-7 relative, the logits (magnitude ~5) by about 1.5e-5.
#[test]
fn converted_files_compute_the_folders_logits() {
    let pool = ThreadPool::new(2);
    for (name, _) in FIXTURES {
        for ty in [None, Some(OutType::F32)] {
            let (file, dir) = (converted(name, ty), common::tiny(name));
            let (a, b) = (LoadedModel::open(&file).unwrap(), LoadedModel::open(&dir).unwrap());
            let g: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("golden.json")).unwrap()).unwrap();
            let mut worst = 0.0f32;
            for s in g["sequences"].as_array().unwrap() {
                let seq = ids(&s["ids"]);
                let (x, y) = (all_logits(&a, &pool, &seq), all_logits(&b, &pool, &seq));
                assert_eq!(x.len(), y.len());
                worst = x.iter().zip(&y).map(|(p, q)| (p - q).abs()).fold(worst, f32::max);
            }
            eprintln!("{name} {ty:?}: max |dlogit| file vs folder {worst:e}");
            let tol = if *name == "tiny-llama" { 5e-5 } else { 0.0 };
            assert!(worst <= tol, "{name} {ty:?}: max |dlogit| {worst} > {tol}");
        }
    }
}

/// The converted file's tokenizer (our GGUF vocabulary code) gives transformers' ids and the folder's
/// chat template.
#[test]
fn converted_tokenizers_match_the_folders() {
    let texts = ["Hello world, this is a test.", "  two leading spaces\nand a new line", "numbers 12345 and 3.14, caf\u{e9}", "Once upon a time"];
    for (name, _) in FIXTURES {
        let file = LoadedModel::open(&converted(name, None)).unwrap();
        let dir = LoadedModel::open(&common::tiny(name)).unwrap();
        for t in texts {
            let (x, y) = (file.tokenizer.encode(t, true, false).unwrap(), dir.tokenizer.encode(t, true, false).unwrap());
            assert_eq!(x, y, "{name}: ids of {t:?}");
        }
        assert!(file.tokenizer.chat_template().is_some(), "{name}: no chat template");
        assert_eq!(file.tokenizer.chat_template(), dir.tokenizer.chat_template(), "{name}: chat template");
        assert_eq!((file.tokenizer.bos_id(), file.tokenizer.eos_id()), (dir.tokenizer.bos_id(), dir.tokenizer.eos_id()), "{name}: bos/eos");
    }
}
