//! Dot products: the scalar path against exact f64 math on dequantized values, every SIMD level
//! against the scalar path, and activation quantization SIMD against scalar (bit for bit).

mod simd_util;

use kernels::cpu::CpuLevel;
use kernels::dot::{self, ActFormat, ActRow, BlockQ8, BlockQ8K};
use kernels::{GgmlType, QK_K};
use simd_util::*;

/// Activation row for `ty` quantized at `level`, and its dequantized values.
struct Act {
    q8: Vec<BlockQ8>,
    q8k: Vec<BlockQ8K>,
    f32: Vec<f32>,
    /// What the kernels actually multiply: d * q per value (or x itself for float weights).
    values: Vec<f64>,
    /// Half a quantization step per value: |x - values| <= this.
    half_step: Vec<f64>,
}

fn quantize_act(level: CpuLevel, ty: GgmlType, x: &[f32]) -> Act {
    let mut a = Act { q8: vec![], q8k: vec![], f32: x.to_vec(), values: vec![], half_step: vec![] };
    match ActFormat::for_weight(ty).unwrap() {
        ActFormat::Q8 => {
            a.q8 = vec![BlockQ8::ZERO; x.len() / 32];
            dot::quantize_q8(level, x, &mut a.q8);
            for b in &a.q8 {
                a.values.extend(b.qs.iter().map(|&q| b.d as f64 * q as f64));
                a.half_step.extend([0.5 * b.d as f64; 32]);
            }
        }
        ActFormat::Q8K => {
            a.q8k = vec![BlockQ8K::ZERO; x.len() / QK_K];
            dot::quantize_q8k(level, x, &mut a.q8k);
            for b in &a.q8k {
                a.values.extend(b.qs.iter().map(|&q| b.d as f64 * q as f64));
                a.half_step.extend([0.5 * b.d as f64; QK_K]);
            }
        }
        ActFormat::F32 => {
            a.values = x.iter().map(|&v| v as f64).collect();
            a.half_step = vec![0.0; x.len()];
        }
    }
    a
}

impl Act {
    fn row(&self, ty: GgmlType) -> ActRow<'_> {
        match ActFormat::for_weight(ty).unwrap() {
            ActFormat::Q8 => ActRow::Q8(&self.q8),
            ActFormat::Q8K => ActRow::Q8K(&self.q8k),
            ActFormat::F32 => ActRow::F32(&self.f32),
        }
    }
}

/// The crate's reference decoder (bit-exact with ggml, tested against gguf-py in its own tests).
fn dequant(ty: GgmlType, row: &[u8], k: usize) -> Vec<f32> {
    let mut out = vec![0f32; k];
    kernels::dequant::dequantize_row(ty, row, &mut out).unwrap();
    out
}

#[test]
fn fast_decoder_matches_reference_dequantize_bit_for_bit() {
    let mut rng = Rng::new(1);
    for ty in WEIGHT_TYPES {
        for k in ks_for(ty) {
            let w = random_matrix(ty, 3, k, &mut rng);
            let rb = ty.row_bytes(k).unwrap();
            for row in w.chunks_exact(rb) {
                let mut ours = vec![0f32; k];
                kernels::matmul::dequantize_row_into(ty, row, &mut ours).unwrap();
                let reference = dequant(ty, row, k);
                for (i, (a, b)) in ours.iter().zip(&reference).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "{} k={k} value {i}: {a} vs {b}", ty.name());
                }
            }
        }
    }
}

/// The scalar dot equals exact f64 math on (dequantized weight) x (dequantized activation) up to f32
/// rounding, and is within the activation quantization error of the true f32 dot.
#[test]
fn scalar_dot_matches_f64_math() {
    let mut rng = Rng::new(2);
    for ty in WEIGHT_TYPES {
        for k in ks_for(ty) {
            for trial in 0..4 {
                let w = random_matrix(ty, 1, k, &mut rng);
                let x = activations(k, &mut rng);
                let act = quantize_act(CpuLevel::Scalar, ty, &x);
                let got = dot::vec_dot(CpuLevel::Scalar, ty, &w, act.row(ty)).unwrap() as f64;
                let wf = dequant(ty, &w, k);

                let exact_q: f64 = wf.iter().zip(&act.values).map(|(&w, &a)| w as f64 * a).sum();
                let magnitude: f64 = wf.iter().zip(&act.values).map(|(&w, &a)| (w as f64 * a).abs()).sum();
                // f32 accumulation over k terms (and f16 scale products): a few ulps of the magnitude.
                let tol_q = 2e-6 * magnitude + 1e-30;
                assert!(
                    (got - exact_q).abs() <= tol_q,
                    "{} k={k} trial {trial}: scalar {got} vs exact {exact_q} (tol {tol_q:e})",
                    ty.name()
                );

                let exact_x: f64 = wf.iter().zip(&x).map(|(&w, &x)| w as f64 * x as f64).sum();
                let bound: f64 = wf.iter().zip(&act.half_step).map(|(&w, &h)| (w as f64).abs() * h).sum();
                assert!(
                    (got - exact_x).abs() <= bound + tol_q,
                    "{} k={k} trial {trial}: scalar {got} vs f32-input exact {exact_x}, beyond the \
                     quantization bound {bound:e}",
                    ty.name()
                );
            }
        }
    }
}

/// Every SIMD level agrees with scalar: integer sums are exact, only f32 summation order differs.
#[test]
fn simd_dot_matches_scalar() {
    let simd = levels();
    #[cfg(target_arch = "x86_64")]
    assert!(
        !std::is_x86_feature_detected!("avx2") || simd_level().is_some(),
        "AVX2 machine but no SIMD level detected: the SIMD kernels would go untested"
    );
    #[cfg(target_arch = "aarch64")]
    assert!(simd_level().is_some(), "aarch64 but no NEON level detected: the NEON kernels would go untested");
    let mut rng = Rng::new(3);
    for ty in WEIGHT_TYPES {
        for k in ks_for(ty) {
            for _ in 0..8 {
                let w = random_matrix(ty, 1, k, &mut rng);
                let x = activations(k, &mut rng);
                let act = quantize_act(CpuLevel::Scalar, ty, &x);
                let want = dot::vec_dot(CpuLevel::Scalar, ty, &w, act.row(ty)).unwrap();
                let wf = dequant(ty, &w, k);
                let magnitude: f64 = wf.iter().zip(&act.values).map(|(&w, &a)| (w as f64 * a).abs()).sum();
                for &level in &simd {
                    let got = dot::vec_dot(level, ty, &w, act.row(ty)).unwrap();
                    let tol = 4e-6 * magnitude;
                    assert!(
                        ((got - want) as f64).abs() <= tol,
                        "{} k={k} {level}: {got} vs scalar {want} (tol {tol:e})",
                        ty.name()
                    );
                }
            }
        }
    }
}

#[test]
fn activation_quantization_simd_is_bit_exact() {
    let mut rng = Rng::new(4);
    for &level in &levels() {
        for k in [256usize, 512, 2048] {
            let mut x = activations(k, &mut rng);
            // An all-zero block and a block with one non-zero value.
            x[32..64].fill(0.0);
            x[64..96].fill(0.0);
            x[70] = -3.5;
            let mut a = vec![BlockQ8::ZERO; k / 32];
            let mut b = vec![BlockQ8::ZERO; k / 32];
            dot::quantize_q8(level, &x, &mut a);
            dot::quantize_q8(CpuLevel::Scalar, &x, &mut b);
            assert_eq!(a, b, "Q8 activations at {level}, k={k}");
            let mut a = vec![BlockQ8K::ZERO; k / QK_K];
            let mut b = vec![BlockQ8K::ZERO; k / QK_K];
            dot::quantize_q8k(level, &x, &mut a);
            dot::quantize_q8k(CpuLevel::Scalar, &x, &mut b);
            assert_eq!(a, b, "Q8_K activations at {level}, k={k}");
            for blk in &b {
                for j in 0..QK_K / 16 {
                    let s: i32 = blk.qs[16 * j..16 * j + 16].iter().map(|&q| q as i32).sum();
                    assert_eq!(s, blk.bsums[j] as i32);
                }
            }
        }
    }
    // The scalar reference itself: within half a step, zero block stays zero.
    let x = activations(64, &mut rng);
    let b = dot::quantize_block_q8(&x[..32]);
    for (q, v) in b.qs.iter().zip(&x[..32]) {
        assert!((*q as f32 * b.d - v).abs() <= 0.5 * b.d * 1.0001, "{q} * {} vs {v}", b.d);
    }
    assert_eq!(dot::quantize_block_q8(&[0.0; 32]), BlockQ8::ZERO);
}

#[test]
fn vec_dot_rejects_mismatched_inputs() {
    let w = vec![0u8; GgmlType::Q8_0.row_bytes(64).unwrap()];
    let q8 = vec![BlockQ8::ZERO; 2];
    let q8k = vec![BlockQ8K::ZERO; 1];
    assert!(dot::vec_dot(CpuLevel::Scalar, GgmlType::Q8_0, &w, ActRow::Q8(&q8)).is_ok());
    assert!(dot::vec_dot(CpuLevel::Scalar, GgmlType::Q8_0, &w, ActRow::Q8K(&q8k)).is_err());
    assert!(dot::vec_dot(CpuLevel::Scalar, GgmlType::Q8_0, &w[1..], ActRow::Q8(&q8)).is_err());
    assert!(dot::vec_dot(CpuLevel::Scalar, GgmlType::Q2K, &w, ActRow::Q8(&q8)).is_err());
}
