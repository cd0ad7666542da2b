//! Shared helpers for the SIMD / matmul tests: a deterministic PRNG, random weight rows of any type,
//! activation-like inputs, and the levels this machine can run.
#![allow(dead_code)]

use half::f16;
use kernels::cpu::CpuLevel;
use kernels::GgmlType;

#[path = "../rng/mod.rs"]
mod rng;
pub use rng::Rng;

/// Weight types a matmul accepts.
pub const WEIGHT_TYPES: [GgmlType; 11] = [
    GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
    GgmlType::Q4K, GgmlType::Q5K, GgmlType::Q6K, GgmlType::F32, GgmlType::F16, GgmlType::BF16,
];

/// Row lengths from the brief; those that are not whole blocks of a type are skipped for it.
pub const KS: [usize; 7] = [32, 64, 96, 640, 1024, 2048, 2080];

pub fn ks_for(ty: GgmlType) -> Vec<usize> {
    KS.iter().copied().filter(|k| ty.row_bytes(*k).is_some()).collect()
}

/// Byte offsets of the f16 scale fields in one block (d, then m / dmin).
fn f16_fields(ty: GgmlType) -> &'static [usize] {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4K | GgmlType::Q5K => &[0, 2],
        GgmlType::Q6K => &[208],
        _ => &[],
    }
}

/// `rows` rows of `k` values of `ty`: random quant bits with realistic finite scales (like trained
/// weights: |d| around 1e-3..1e-2), float types normal(0, 0.05).
pub fn random_matrix(ty: GgmlType, rows: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
    let rb = ty.row_bytes(k).expect("k must be whole blocks");
    let mut v = vec![0u8; rows * rb];
    match ty {
        GgmlType::F32 => {
            for c in v.chunks_exact_mut(4) {
                c.copy_from_slice(&(0.05 * rng.normal()).to_le_bytes());
            }
        }
        GgmlType::F16 => {
            for c in v.chunks_exact_mut(2) {
                c.copy_from_slice(&f16::from_f32(0.05 * rng.normal()).to_bits().to_le_bytes());
            }
        }
        GgmlType::BF16 => {
            for c in v.chunks_exact_mut(2) {
                c.copy_from_slice(&half::bf16::from_f32(0.05 * rng.normal()).to_bits().to_le_bytes());
            }
        }
        _ => {
            rng.fill_bytes(&mut v);
            for b in v.chunks_exact_mut(ty.type_size()) {
                for (i, &off) in f16_fields(ty).iter().enumerate() {
                    // K-quant super-scales multiply 6-bit sub-scales: keep them smaller.
                    let base = if matches!(ty, GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K) { 2e-4 } else { 5e-3 };
                    let mut s = rng.uniform(0.2, 1.0) * base;
                    if i == 0 && ty != GgmlType::Q6K && rng.unit() < 0.5 {
                        s = -s;
                    }
                    b[off..off + 2].copy_from_slice(&f16::from_f32(s).to_bits().to_le_bytes());
                }
            }
        }
    }
    v
}

/// Activation-like input: normal values with a scale that varies per 32 values, and a few outliers
/// (the Gemma residual stream has them).
pub fn activations(n: usize, rng: &mut Rng) -> Vec<f32> {
    let mut x = Vec::with_capacity(n);
    let mut scale = 1.0;
    for i in 0..n {
        if i % 32 == 0 {
            scale = 2f32.powf(rng.uniform(-4.0, 4.0));
        }
        let mut v = scale * rng.normal();
        if rng.unit() < 0.003 {
            v *= 30.0;
        }
        x.push(v);
    }
    x
}

/// The levels this machine runs (those above the CPU are clamped by the kernels anyway).
pub fn levels() -> Vec<CpuLevel> {
    CpuLevel::all().iter().copied().filter(|l| l.is_supported()).collect()
}

/// The best SIMD level this machine has; the tests insist it is exercised where the CPU has AVX2.
pub fn simd_level() -> Option<CpuLevel> {
    levels().into_iter().rfind(|l| *l != CpuLevel::Scalar)
}
