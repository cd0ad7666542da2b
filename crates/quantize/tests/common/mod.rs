//! Shared fixtures: the real Gemma 3 model, dequantized once per test binary to F32.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use quantize::{FileType, Options, Report};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn tiny(name: &str) -> PathBuf {
    repo().join("testdata").join(name)
}

pub fn quantize(input: &Path, output: &Path, ftype: FileType) -> Report {
    let opts = Options { ftype, threads: 2, extra_metadata: Vec::new() };
    quantize::quantize_file(input, output, &opts, &mut |_| {})
        .unwrap_or_else(|e| panic!("quantizing {} to {}: {e}", input.display(), ftype.name()))
}

/// A scratch folder per test binary under cargo's target tmp dir. Not a `TempDir` in a static:
/// statics never drop, so each run leaked its gigabyte F32 files into /tmp. Here the next run
/// overwrites them and `cargo clean` removes them.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("test binary path");
        let name = exe.file_stem().and_then(|s| s.to_str()).unwrap_or("quantize-test").to_string();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    })
}

/// The real Gemma 3 270M file dequantized to F32 (the input both we and llama-quantize start from).
pub fn gemma_f32() -> &'static Path {
    static F32: OnceLock<PathBuf> = OnceLock::new();
    F32.get_or_init(|| {
        let out = scratch().join("gemma-f32.gguf");
        quantize(&store::test_model_path(), &out, FileType::F32);
        out
    })
}

/// The F32 Gemma quantized to `ftype`, made once per test binary.
pub fn gemma_as(ftype: FileType) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch().join(format!("gemma-{}.gguf", ftype.name()));
    if !out.exists() {
        quantize(gemma_f32(), &out, ftype);
    }
    out
}

pub fn golden(name: &str) -> serde_json::Value {
    let p = repo().join("testdata/quantize").join(name);
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("golden {} missing ({e}); make it with scripts/quantize-goldens.sh", p.display()));
    serde_json::from_str(&text).expect("golden json")
}
