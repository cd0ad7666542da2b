//! Shared helpers for the SIMD / matmul tests: a deterministic PRNG, random weight rows of any type,
//! activation-like inputs, and the levels this machine can run.
#![allow(dead_code)]

use half::f16;
use kernels::cpu::CpuLevel;
use kernels::GgmlType;

/// SplitMix64.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }
    /// Approximately standard normal.
    pub fn normal(&mut self) -> f32 {
        let u1 = (self.unit() as f64).max(1e-12);
        let u2 = self.unit() as f64;
        ((-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()) as f32
    }
    pub fn fill_bytes(&mut self, b: &mut [u8]) {
        for c in b.chunks_mut(8) {
            let r = self.next_u64().to_le_bytes();
            c.copy_from_slice(&r[..c.len()]);
        }
    }
}

/// Weight types a matmul accepts.
pub const WEIGHT_TYPES: [GgmlType; 11] = [
    GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
    GgmlType::Q4K, GgmlType::Q5K, GgmlType::Q6K, GgmlType::F32, GgmlType::F16, GgmlType::BF16,
];

/// Row lengths from the brief; those that are not whole blocks of a type are skipped for it.
pub const KS: [usize; 6] = [32, 64, 640, 1024, 2048, 2080];

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
