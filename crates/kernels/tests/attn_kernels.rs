//! Attention kernels: every supported level against the scalar level (and f64 math), on odd lengths
//! and every query count up to past `MAX_Q`.

mod simd_util;

use kernels::attn::{AttnOps, BlockQ8_0, KvRow, KvType, MAX_Q, QK8_0};
use simd_util::*;

const DIMS: [usize; 7] = [1, 7, 8, 9, 33, 64, 256];

fn close(what: &str, got: f32, want: f64, tol: f64) {
    let err = (got as f64 - want).abs();
    assert!(err <= tol, "{what}: got {got}, want {want} (err {err:e} > {tol:e})");
}

#[test]
fn dot_multi_matches_f64_at_every_level() {
    let mut rng = Rng::new(31);
    for &level in &levels() {
        let ops = AttnOps::at(level);
        for d in DIMS {
            for m in 0..=MAX_Q + 3 {
                let qs = activations(m * d, &mut rng);
                let k = activations(d, &mut rng);
                let mut out = vec![f32::NAN; m];
                ops.dot_multi(&qs, &k, &mut out);
                for i in 0..m {
                    let q = &qs[i * d..(i + 1) * d];
                    let want: f64 = q.iter().zip(&k).map(|(&a, &b)| a as f64 * b as f64).sum();
                    let mag: f64 = q.iter().zip(&k).map(|(&a, &b)| (a as f64 * b as f64).abs()).sum();
                    close(&format!("dot_multi {level} d={d} m={m} i={i}"), out[i], want, 1e-6 * mag + 1e-30);
                }
            }
        }
    }
}

#[test]
fn pv_multi_matches_f64_at_every_level() {
    let mut rng = Rng::new(35);
    for &level in &levels() {
        let ops = AttnOps::at(level);
        for d in DIMS {
            for m in [1usize, 3, 4, 8, 9, 12] {
                for t in [1usize, 5, 64] {
                    let stride = t + 3;
                    let ps: Vec<f32> = (0..m * stride).map(|_| rng.normal().abs()).collect();
                    let rows: Vec<Vec<f32>> = (0..t).map(|_| activations(d, &mut rng)).collect();
                    let refs: Vec<&[f32]> = rows.iter().map(|r| &r[..]).collect();
                    let y0 = activations(m * d, &mut rng);
                    let mut y = y0.clone();
                    ops.pv_multi(&ps, stride, &refs, &mut y);
                    for i in 0..m {
                        for j in 0..d {
                            let terms = (0..t).map(|k| ps[i * stride + k] as f64 * rows[k][j] as f64);
                            let mag: f64 = y0[i * d + j].abs() as f64 + terms.clone().map(f64::abs).sum::<f64>();
                            let want = y0[i * d + j] as f64 + terms.sum::<f64>();
                            close(&format!("pv_multi {level} d={d} m={m} t={t} ({i},{j})"), y[i * d + j], want, 1e-6 * mag + 1e-30);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn kv_rows_decode_like_scalar_and_round_trip() {
    let mut rng = Rng::new(33);
    let scalar = AttnOps::at(kernels::cpu::CpuLevel::Scalar);
    for &level in &levels() {
        let ops = AttnOps::at(level);
        for nb in [1usize, 3, 8] {
            let n = nb * QK8_0;
            let x = activations(n, &mut rng);
            // Q8_0: error per value at most half a step (d/2) plus the f16 rounding of d.
            let mut q = vec![BlockQ8_0::default(); nb];
            ops.f32_to_q8_0(&x, &mut q);
            let mut buf = vec![0.0; n];
            let got = ops.row_f32(KvRow::Q8_0(&q), &mut buf).to_vec();
            let mut want = vec![0.0; n];
            scalar.q8_0_to_f32(&q, &mut want);
            assert_eq!(got, want, "q8_0 decode {level} n={n}");
            for (b, xs) in x.chunks(QK8_0).enumerate() {
                let amax = xs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                for (j, &v) in xs.iter().enumerate() {
                    let e = (got[b * QK8_0 + j] - v).abs();
                    assert!(e <= amax / 127.0 * 0.5 + amax * 1e-3 + 1e-30, "q8_0 round trip {level} n={n}: {v} -> {}", got[b * QK8_0 + j]);
                }
            }
            // f16: relative error at most 2^-11.
            let mut h = vec![0u16; n];
            ops.f32_to_f16(&x, &mut h);
            let got = ops.row_f32(KvRow::F16(&h), &mut buf).to_vec();
            for (g, v) in got.iter().zip(&x) {
                assert!((g - v).abs() <= v.abs() * 4.9e-4 + 1e-7, "f16 round trip {level}: {v} -> {g}");
            }
            // f32 rows come back untouched.
            assert_eq!(ops.row_f32(KvRow::F32(&x), &mut buf), &x[..]);
        }
    }
}

#[test]
fn exp_sub_sum_matches_f64_and_zeroes_masked() {
    let mut rng = Rng::new(34);
    for &level in &levels() {
        let ops = AttnOps::at(level);
        for n in [1usize, 7, 8, 9, 64, 67] {
            let mut x: Vec<f32> = (0..n).map(|_| 3.0 * rng.normal()).collect();
            if n > 1 {
                x[n / 2] = f32::NEG_INFINITY; // a masked score
            }
            let max = x.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let x0 = x.clone();
            let sum = ops.exp_sub_sum(&mut x, max);
            let mut want_sum = 0.0f64;
            for (g, v) in x.iter().zip(&x0) {
                let w = (*v as f64 - max as f64).exp();
                want_sum += w;
                close(&format!("exp {level} n={n}"), *g, w, 1e-6 * w + 1e-30);
            }
            close(&format!("exp sum {level} n={n}"), sum, want_sum, 1e-6 * want_sum);
        }
    }
}

#[test]
fn kv_type_names_parse_and_bad_ones_are_named() {
    for t in KvType::ALL {
        assert_eq!(t.name().parse::<KvType>(), Ok(t));
        assert_eq!(t.name().to_uppercase().parse::<KvType>(), Ok(t));
    }
    let err = "q4".parse::<KvType>().unwrap_err().to_string();
    assert!(err.contains("'q4'") && err.contains("q8_0"), "{err}");
    assert_eq!(KvType::Q8_0.row_bytes(256), 8 * 34);
    assert_eq!(KvType::F16.row_bytes(256), 512);
}
