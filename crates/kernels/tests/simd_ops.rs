//! f32 helpers: every level against f64 math (and SIMD against scalar), on odd lengths.

mod simd_util;

use kernels::cpu::CpuLevel;
use kernels::ops::Ops;
use simd_util::*;

const LENS: [usize; 9] = [0, 1, 7, 8, 9, 31, 640, 1025, 2048];

fn close(what: &str, got: f32, want: f64, rel: f64, abs: f64) {
    let err = (got as f64 - want).abs();
    assert!(err <= rel * want.abs() + abs, "{what}: got {got}, want {want} (err {err:e})");
}

/// 0.5 x (1 + tanh(z)) written as x / (1 + e^(-2z)) so f64 keeps the tiny negative tail exactly.
fn gelu64(x: f64) -> f64 {
    let z = (2.0 / std::f64::consts::PI).sqrt() * x * (1.0 + 0.044715 * x * x);
    x / (1.0 + (-2.0 * z).exp())
}

#[test]
fn elementwise_ops_match_f64() {
    let mut rng = Rng::new(20);
    for &level in &levels() {
        let ops = Ops::at(level);
        for n in LENS {
            let a = activations(n, &mut rng);
            let b = activations(n, &mut rng);
            let tag = |op: &str| format!("{op} {level} n={n}");

            let want: f64 = a.iter().zip(&b).map(|(&x, &y)| x as f64 * y as f64).sum();
            let mag: f64 = a.iter().zip(&b).map(|(&x, &y)| (x as f64 * y as f64).abs()).sum();
            close(&tag("dot_f32"), ops.dot_f32(&a, &b), want, 0.0, 1e-6 * mag + 1e-30);

            let mut y = b.clone();
            ops.axpy(0.75, &a, &mut y);
            for i in 0..n {
                close(&tag("axpy"), y[i], b[i] as f64 + 0.75 * a[i] as f64, 1e-6, 1e-6 * a[i].abs() as f64);
            }
            let mut y = b.clone();
            ops.add_assign(&mut y, &a);
            let mut s = a.clone();
            ops.scale(&mut s, -1.5);
            for i in 0..n {
                assert_eq!(y[i], b[i] + a[i], "{}", tag("add_assign"));
                assert_eq!(s[i], a[i] * -1.5, "{}", tag("scale"));
            }

            let mut g = a.clone();
            ops.gelu_tanh_mul(&mut g, &b);
            let mut g1 = a.clone();
            ops.gelu_tanh_inplace(&mut g1);
            let mut si = a.clone();
            ops.silu_mul(&mut si, &b);
            for i in 0..n {
                let (x, u) = (a[i] as f64, b[i] as f64);
                // Relative 2e-6, except deep in the negative tail where f32 rounding of the exponent
                // argument is amplified; there the output is < 1e-7 of |x| and the absolute term covers it.
                let tail = 1e-7 * (x * u).abs();
                close(&tag("gelu_tanh_mul"), g[i], gelu64(x) * u, 2e-6, tail);
                close(&tag("gelu_tanh_inplace"), g1[i], gelu64(x), 2e-6, 1e-7 * x.abs());
                close(&tag("silu_mul"), si[i], x / (1.0 + (-x).exp()) * u, 2e-6, tail);
            }
        }
    }
}

#[test]
fn gelu_and_silu_extremes_are_finite() {
    for &level in &levels() {
        let ops = Ops::at(level);
        let mut x = vec![-200.0f32, -90.0, -20.0, -1e-20, 0.0, 1e-20, 20.0, 90.0, 200.0];
        let up = vec![1.0f32; x.len()];
        let orig = x.clone();
        ops.gelu_tanh_mul(&mut x, &up);
        for (g, o) in x.iter().zip(&orig) {
            assert!(g.is_finite(), "gelu({o}) = {g} at {level}");
            close(&format!("gelu({o}) {level}"), *g, gelu64(*o as f64), 1e-6, 1e-30);
        }
        let mut s = orig.clone();
        ops.silu_mul(&mut s, &up);
        for (g, o) in s.iter().zip(&orig) {
            let want = *o as f64 / (1.0 + (-*o as f64).exp());
            close(&format!("silu({o}) {level}"), *g, want, 1e-6, 1e-30);
        }
    }
}

#[test]
fn rms_norm_matches_f64() {
    let mut rng = Rng::new(21);
    for &level in &levels() {
        let ops = Ops::at(level);
        for n in LENS.into_iter().filter(|&n| n > 0) {
            let x = activations(n, &mut rng);
            let w: Vec<f32> = (0..n).map(|_| rng.uniform(0.5, 1.5)).collect();
            let eps = 1e-6f32;
            let mean: f64 = x.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / n as f64;
            let inv = 1.0 / (mean + eps as f64).sqrt();
            let mut out = vec![0f32; n];
            ops.rms_norm(&x, &w, eps, &mut out);
            let mut nw = x.clone();
            ops.rms_norm_inplace_noweight(&mut nw, eps);
            for i in 0..n {
                let t = format!("rms_norm {level} n={n} i={i}");
                close(&t, out[i], x[i] as f64 * inv * w[i] as f64, 1e-6, 1e-30);
                close(&t, nw[i], x[i] as f64 * inv, 1e-6, 1e-30);
            }
        }
    }
}

#[test]
fn softmax_matches_f64() {
    let mut rng = Rng::new(22);
    for &level in &levels() {
        let ops = Ops::at(level);
        for n in LENS {
            let mut x: Vec<f32> = (0..n).map(|_| 8.0 * rng.normal()).collect();
            if n > 3 {
                // Masked positions.
                x[1] = f32::NEG_INFINITY;
                x[n - 1] = f32::NEG_INFINITY;
            }
            let m = x.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
            let e: Vec<f64> = x.iter().map(|&v| (v as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            let mut y = x.clone();
            ops.softmax_inplace(&mut y);
            for i in 0..n {
                close(&format!("softmax {level} n={n} i={i}"), y[i], e[i] / s, 1e-5, 1e-12);
            }
            if n > 3 {
                assert_eq!(y[1], 0.0, "masked position must be exactly 0 at {level}");
            }
        }
        let mut all_masked = vec![f32::NEG_INFINITY; 9];
        ops.softmax_inplace(&mut all_masked);
        assert!(all_masked.iter().all(|v| v.is_nan()), "fully masked row at {level}: {all_masked:?}");
    }
}

#[test]
fn f16_conversions_are_exact() {
    let mut rng = Rng::new(23);
    for &level in &levels() {
        let ops = Ops::at(level);
        for n in LENS {
            let bits: Vec<u16> = (0..n).map(|_| rng.next_u64() as u16).collect();
            let mut f = vec![0f32; n];
            ops.f16_row_to_f32(&bits, &mut f);
            for (b, v) in bits.iter().zip(&f) {
                let want = half::f16::from_bits(*b).to_f32();
                assert!(want.to_bits() == v.to_bits() || (want.is_nan() && v.is_nan()), "{level} f16 {b:#x}");
            }
            let x = activations(n, &mut rng);
            let mut h = vec![0u16; n];
            ops.f32_row_to_f16(&x, &mut h);
            for (v, b) in x.iter().zip(&h) {
                assert_eq!(*b, half::f16::from_f32(*v).to_bits(), "{level} f32 {v} -> f16");
            }
        }
    }
    let mut out = [0f32; 2];
    Ops::at(CpuLevel::Scalar).bf16_row_to_f32(&[0x3f80, 0xc000], &mut out);
    assert_eq!(out, [1.0, -2.0]);
}

#[test]
#[should_panic(expected = "slice lengths differ")]
fn mismatched_lengths_panic_with_a_message() {
    let mut y = vec![0f32; 3];
    kernels::ops::add_assign(&mut y, &[1.0, 2.0]);
}
