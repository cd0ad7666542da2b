//! Helpers shared by the store's integration tests: real files on disk, no mocks.
#![allow(dead_code)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use store::{PullOptions, Store};

/// A store in a fresh temporary AGORA_HOME (kept alive by the returned guard).
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("creating a temp dir");
    let store = Store::at(dir.path().join("home"));
    (dir, store)
}

pub fn quiet() -> PullOptions {
    PullOptions {
        quiet: true,
        ..PullOptions::default()
    }
}

pub fn named(name: &str) -> PullOptions {
    PullOptions {
        name: Some(name.to_string()),
        ..quiet()
    }
}

/// Deterministic bytes that start with the GGUF magic (the store checks only the magic).
pub fn gguf_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    let mut v: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    v[..4].copy_from_slice(b"GGUF");
    v
}

pub fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// A small HF-layout folder: config.json, model.safetensors, tokenizer.json, a card, a nested file.
pub fn hf_folder(dir: &Path) -> PathBuf {
    write(&dir.join("config.json"), br#"{"model_type":"gemma3_text"}"#);
    write(&dir.join("model.safetensors"), &gguf_bytes(50_000, 9)[4..]);
    write(&dir.join("tokenizer.json"), br#"{"model":{}}"#);
    write(
        &dir.join("README.md"),
        b"---\nlicense: apache-2.0\n---\n# tiny\n",
    );
    write(&dir.join("extra/notes.txt"), b"nested");
    write(&dir.join(".git/HEAD"), b"hidden, must not be copied");
    dir.to_path_buf()
}

/// Files in the store's tmp folder (a finished or failed pull leaves none).
pub fn tmp_leftovers(store: &Store) -> Vec<PathBuf> {
    match std::fs::read_dir(store.root().join("tmp")) {
        Ok(rd) => rd.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Write a wheel (a zip) with the given entries.
pub fn wheel(path: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let mut z = zip::ZipWriter::new(File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    for (name, data) in files {
        z.start_file(*name, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
    path.to_path_buf()
}

/// The dist-info entries pip needs to read a wheel's name, version and requirements.
pub fn dist_info(dist: &str, version: &str, requires: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut meta = format!(
        "Metadata-Version: 2.1\nName: {}\nVersion: {version}\n",
        dist.replace('_', "-")
    );
    for r in requires {
        meta.push_str(&format!("Requires-Dist: {r}\n"));
    }
    meta.push_str("\nA test model package.\n");
    let di = format!("{dist}-{version}.dist-info");
    vec![
        (format!("{di}/METADATA"), meta.into_bytes()),
        (
            format!("{di}/WHEEL"),
            b"Wheel-Version: 1.0\nGenerator: agora-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_vec(),
        ),
        (format!("{di}/RECORD"), Vec::new()),
    ]
}
