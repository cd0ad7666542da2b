//! Shared helpers for the block-format tests: a deterministic PRNG, random blocks and rows,
//! and the `scripts/gguf_dequant.py` runner (the independent reference).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

use half::f16;
use kernels::GgmlType;

#[path = "../rng/mod.rs"]
mod rng;
pub use rng::Rng;

/// Byte offsets of the f16 scale fields in one block of `ty` (d, m/dmin, s), per the GGUF layouts.
pub fn f16_fields(ty: GgmlType) -> &'static [usize] {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q8_1 | GgmlType::Q4K | GgmlType::Q5K => &[0, 2],
        GgmlType::Q2K => &[80, 82],
        GgmlType::Q3K => &[108],
        GgmlType::Q6K => &[208],
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 | GgmlType::Q8K => &[],
    }
}

/// `n_blocks` blocks of fully random bytes, except that f16 scale fields hold finite values in
/// [-2, 2] (and Q8_K's f32 d a finite value in [-2, 2]). F32/F16/BF16 rows stay fully random,
/// NaNs and infinities included.
pub fn random_blocks(ty: GgmlType, n_blocks: usize, rng: &mut Rng) -> Vec<u8> {
    let ts = ty.type_size();
    let mut v = vec![0u8; n_blocks * ts];
    rng.fill_bytes(&mut v);
    for b in v.chunks_exact_mut(ts) {
        for &off in f16_fields(ty) {
            let h = f16::from_f32(rng.uniform(-2.0, 2.0)).to_bits();
            b[off..off + 2].copy_from_slice(&h.to_le_bytes());
        }
        if ty == GgmlType::Q8K {
            b[0..4].copy_from_slice(&rng.uniform(-2.0, 2.0).to_le_bytes());
        }
    }
    v
}

/// A row of `n_blocks * block` values shaped like real weights: per block a normal distribution
/// with a random scale over 2^-12..2^8, some blocks with outliers, some with an offset.
pub fn weight_like_row(n: usize, block: usize, rng: &mut Rng) -> Vec<f32> {
    let mut x = Vec::with_capacity(n);
    for _ in 0..n / block {
        let scale = 2f32.powf(rng.uniform(-12.0, 8.0));
        let offset = if rng.unit() < 0.25 {
            rng.uniform(-3.0, 3.0) * scale
        } else {
            0.0
        };
        let outliers = rng.unit() < 0.25;
        for _ in 0..block {
            let mut v = rng.normal() * scale + offset;
            if outliers && rng.unit() < 0.03 {
                v *= 8.0;
            }
            x.push(v);
        }
    }
    x
}

/// f32 bit patterns equal, all NaNs counting as equal. Panics naming the first few differences.
pub fn assert_bits_eq(what: &str, ours: &[f32], reference: &[f32]) {
    assert_eq!(ours.len(), reference.len(), "{what}: length");
    let bad: Vec<usize> = (0..ours.len())
        .filter(|&i| {
            let (a, b) = (ours[i], reference[i]);
            !(a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()))
        })
        .collect();
    if !bad.is_empty() {
        let show: Vec<String> = bad
            .iter()
            .take(5)
            .map(|&i| {
                format!(
                    "[{i}] ours {:e} ({:#010x}) ref {:e} ({:#010x})",
                    ours[i],
                    ours[i].to_bits(),
                    reference[i],
                    reference[i].to_bits()
                )
            })
            .collect();
        panic!(
            "{what}: {} of {} values differ: {}",
            bad.len(),
            ours.len(),
            show.join("; ")
        );
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gguf_dequant.py")
}

/// Runs `scripts/gguf_dequant.py [--quantize] TYPE in out ...` once for all `jobs` and returns
/// each job's output bytes. Panics (never skips) when python3, numpy or gguf is missing.
pub fn run_gguf_py(quantize: bool, jobs: &[(GgmlType, Vec<u8>)]) -> Vec<Vec<u8>> {
    let script = script();
    assert!(
        script.is_file(),
        "reference script {} is missing",
        script.display()
    );
    let dir = std::env::temp_dir();
    let tag = format!(
        "agora-fmt-{}-{}",
        std::process::id(),
        if quantize { "q" } else { "dq" }
    );
    let paths: Vec<(PathBuf, PathBuf)> = (0..jobs.len())
        .map(|i| {
            (
                dir.join(format!("{tag}-{i}.in")),
                dir.join(format!("{tag}-{i}.out")),
            )
        })
        .collect();
    let mut cmd = Command::new("python3");
    cmd.arg(&script);
    if quantize {
        cmd.arg("--quantize");
    }
    for ((ty, input), (inp, out)) in jobs.iter().zip(&paths) {
        std::fs::write(inp, input).expect("write temp input");
        cmd.arg(ty.name()).arg(inp).arg(out);
    }
    let res = cmd.output();
    let cleanup = || {
        for (inp, out) in &paths {
            let _ = std::fs::remove_file(inp);
            let _ = std::fs::remove_file(out);
        }
    };
    let res = match res {
        Ok(r) => r,
        Err(e) => {
            cleanup();
            panic!("cannot run python3 ({e}); install Python 3, then `pip install gguf numpy`")
        }
    };
    if !res.status.success() {
        cleanup();
        let stderr = String::from_utf8_lossy(&res.stderr);
        if res.status.code() == Some(3) {
            panic!("the gguf-py reference is unavailable: {}", stderr.trim());
        }
        panic!("gguf_dequant.py failed ({}): {stderr}", res.status);
    }
    let outputs = paths
        .iter()
        .map(|(_, out)| std::fs::read(out).expect("read script output"))
        .collect();
    cleanup();
    outputs
}

pub fn f32s_from_le(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn f32s_to_le(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}
