//! Quantization error budgets: quantize -> dequantize on random rows must stay within
//! (a) a per-element bound derived from each block's own stored scales (what round-to-nearest
//!     with those scales guarantees, plus the f16 rounding of the scales), and
//! (b) a normalized RMSE budget on Gaussian data (catches a poor choice of scales, which (a)
//!     cannot see), and quantizing a dequantized row must reproduce it.

mod quant_util;

use kernels::dequant::{dequantize_row, f16_to_f32, get_scale_min_k4, q3k_scale};
use kernels::quant::quantize_row;
use kernels::GgmlType;
use quant_util::*;

fn roundtrip(ty: GgmlType, x: &[f32]) -> (Vec<u8>, Vec<f32>) {
    let mut q = vec![0u8; ty.row_bytes(x.len()).unwrap()];
    quantize_row(ty, x, &mut q).unwrap();
    let mut y = vec![0f32; x.len()];
    dequantize_row(ty, &q, &mut y).unwrap();
    (q, y)
}

fn rd16(b: &[u8], off: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[off], b[off + 1]]))
}

/// Distance of t outside [lo, hi] (0 inside): the clamping error in units of the step.
fn excess(t: f32, lo: f32, hi: f32) -> f32 {
    (lo - t).max(t - hi).max(0.0)
}

/// Rounding slack for the float arithmetic in x/d and d*q (a few ulps in units of the step).
const ULPS: f32 = 1e-4;

/// Largest-magnitude element with its sign, first on ties (how ggml picks the scale's sign).
fn signed_absmax(x: &[f32]) -> f32 {
    x.iter()
        .fold(0.0f32, |m, &v| if v.abs() > m.abs() { v } else { m })
}

/// Per-element error bound for block `b` of type `ty` holding values `x` (one block).
fn bounds(ty: GgmlType, x: &[f32], b: &[u8]) -> Vec<f32> {
    let n = x.len();
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let (min, max) = x
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    // Symmetric formats: q in [lo, hi] with scale d32 chosen from the data, stored as f16 d16.
    let symmetric = |d32: f32, d16: f32, lo: f32, hi: f32| -> Vec<f32> {
        let qmax = lo.abs().max(hi.abs());
        x.iter()
            .map(|&v| {
                let t = if d32 != 0.0 { v / d32 } else { 0.0 };
                (0.5 + excess(t, lo, hi) + ULPS) * d32.abs() + qmax * (d32 - d16).abs()
            })
            .collect()
    };
    // Asymmetric: q in [0, qmax], step d32 from the range, offset min stored as f16.
    let asymmetric = |qmax: f32, d16: f32, m16: f32| -> Vec<f32> {
        let d32 = (max - min) / qmax;
        vec![(0.5 + ULPS) * d32 + qmax * (d32 - d16).abs() + (min - m16).abs(); n]
    };
    // K-quants: sub-block of `sub` elements with effective step ds and offset dm, q in [lo, hi].
    let kquant =
        |sub: usize, lo: f32, hi: f32, scale_min: &dyn Fn(usize) -> (f32, f32)| -> Vec<f32> {
            (0..n)
                .map(|i| {
                    let (ds, dm) = scale_min(i / sub);
                    if ds == 0.0 {
                        return f32::INFINITY; // scale rounded to zero: levels come from the search, see RMSE test
                    }
                    let t = (x[i] + dm) / ds;
                    (0.5 + excess(t, lo, hi) + ULPS) * ds.abs()
                        + 1e-6 * (ds.abs() * hi.abs().max(lo.abs()) + dm.abs())
                })
                .collect()
        };
    match ty {
        GgmlType::F32 => vec![0.0; n],
        GgmlType::F16 => x
            .iter()
            .map(|v| v.abs() * 2f32.powi(-11) + 2f32.powi(-25))
            .collect(),
        GgmlType::BF16 => x.iter().map(|v| v.abs() * 2f32.powi(-8) + 1e-38).collect(),
        GgmlType::Q8_0 | GgmlType::Q8_1 => symmetric(amax / 127.0, rd16(b, 0), -127.0, 127.0),
        GgmlType::Q4_0 => symmetric(signed_absmax(x) / -8.0, rd16(b, 0), -8.0, 7.0),
        GgmlType::Q5_0 => symmetric(signed_absmax(x) / -16.0, rd16(b, 0), -16.0, 15.0),
        GgmlType::Q4_1 => asymmetric(15.0, rd16(b, 0), rd16(b, 2)),
        GgmlType::Q5_1 => asymmetric(31.0, rd16(b, 0), rd16(b, 2)),
        GgmlType::Q8K => {
            let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            symmetric(d, d, -127.0, 127.0)
        }
        GgmlType::Q2K => {
            let (d, dmin) = (rd16(b, 80), rd16(b, 82));
            kquant(16, 0.0, 3.0, &|j| {
                (d * (b[j] & 0xF) as f32, dmin * (b[j] >> 4) as f32)
            })
        }
        GgmlType::Q3K => {
            let d = rd16(b, 108);
            kquant(16, -4.0, 3.0, &|j| {
                (d * q3k_scale(j, &b[96..108]) as f32, 0.0)
            })
        }
        GgmlType::Q4K | GgmlType::Q5K => {
            let (d, dmin) = (rd16(b, 0), rd16(b, 2));
            let hi = if ty == GgmlType::Q4K { 15.0 } else { 31.0 };
            kquant(32, 0.0, hi, &|j| {
                let (sc, m) = get_scale_min_k4(j, &b[4..16]);
                (d * sc as f32, dmin * m as f32)
            })
        }
        GgmlType::Q6K => {
            let d = rd16(b, 208);
            kquant(16, -32.0, 31.0, &|j| (d * b[192 + j] as i8 as f32, 0.0))
        }
    }
}

fn check_bounds(ty: GgmlType, x: &[f32], what: &str) {
    let (q, y) = roundtrip(ty, x);
    let (bs, ts) = (ty.block_size().max(32), ty.type_size());
    let per_block_bytes = ts * bs / ty.block_size();
    for (k, ((xb, yb), b)) in x
        .chunks(bs)
        .zip(y.chunks(bs))
        .zip(q.chunks(per_block_bytes))
        .enumerate()
    {
        let bound = if ty.block_size() == 1 {
            xb.iter()
                .enumerate()
                .flat_map(|(i, _)| bounds(ty, &xb[i..i + 1], &b[i * ts..]))
                .collect()
        } else {
            bounds(ty, xb, b)
        };
        for i in 0..bs {
            let err = (xb[i] - yb[i]).abs();
            assert!(
                err <= bound[i],
                "{} ({what}) block {k} element {i}: x {} -> {} error {err:e} exceeds bound {:e}",
                ty.name(),
                xb[i],
                yb[i],
                bound[i]
            );
        }
    }
}

#[test]
fn error_within_per_block_bounds_on_weight_like_rows() {
    for (k, ty) in GgmlType::ALL.into_iter().enumerate() {
        let bs = ty.block_size().max(32);
        let mut rng = Rng::new(0x5EED + k as u64);
        check_bounds(ty, &weight_like_row(bs * 512, bs, &mut rng), "weight-like");
        let bs = ty.block_size();
        let specials: [(&str, Vec<f32>); 5] = [
            ("constant", vec![-0.3; bs.max(32)]),
            (
                "single non-zero",
                (0..bs.max(32))
                    .map(|i| if i == 5 { 2.5 } else { 0.0 })
                    .collect(),
            ),
            (
                "tiny",
                (0..bs.max(32)).map(|i| (i as f32 - 7.0) * 1e-20).collect(),
            ),
            (
                "large",
                (0..bs.max(32)).map(|i| (i as f32 - 7.0) * 100.0).collect(),
            ),
            (
                "all positive",
                (0..bs.max(32))
                    .map(|i| 1.0 + (i as f32 * 0.37).sin().abs())
                    .collect(),
            ),
        ];
        for (what, x) in specials {
            check_bounds(ty, &x, what);
        }
    }
}

/// Normalized RMSE (rms error / rms value) on N(0,1) data, measured with these quantizers
/// (which match ggml bit for bit) plus ~10% headroom. For reference, a uniform quantizer with
/// step D has rms error D/sqrt(12).
const RMSE_BUDGET: [(GgmlType, f64); 15] = [
    (GgmlType::F32, 0.0),
    (GgmlType::F16, 2.4e-4),   // measured 2.1e-4
    (GgmlType::BF16, 1.85e-3), // 1.67e-3
    (GgmlType::Q8_0, 0.0060),  // 0.00539
    (GgmlType::Q8_1, 0.0060),  // 0.00539
    (GgmlType::Q8K, 0.0077),   // 0.00695
    (GgmlType::Q6K, 0.0195),   // 0.01774
    (GgmlType::Q5_1, 0.042),   // 0.0379
    (GgmlType::Q5K, 0.040),    // 0.0361
    (GgmlType::Q5_0, 0.047),   // 0.0427
    (GgmlType::Q4K, 0.079),    // 0.0714
    (GgmlType::Q4_1, 0.087),   // 0.0784
    (GgmlType::Q4_0, 0.095),   // 0.0861
    (GgmlType::Q3K, 0.167),    // 0.151
    (GgmlType::Q2K, 0.33),     // 0.297
];

/// rms(a - b) / rms(x).
fn rel_rms(a: &[f32], b: &[f32], x: &[f32]) -> f64 {
    let se: f64 = a.iter().zip(b).map(|(u, v)| ((u - v) as f64).powi(2)).sum();
    let sx: f64 = x.iter().map(|v| (*v as f64).powi(2)).sum();
    (se / sx).sqrt()
}

fn gaussian_row(ty: GgmlType, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..ty.block_size().max(32) * 2048)
        .map(|_| rng.normal())
        .collect()
}

#[test]
fn rmse_within_budget_on_gaussian_data() {
    assert_eq!(RMSE_BUDGET.len(), GgmlType::ALL.len());
    for (ty, budget) in RMSE_BUDGET {
        let x = gaussian_row(ty, 7);
        let (_, y) = roundtrip(ty, &x);
        let e = rel_rms(&x, &y, &x);
        assert!(
            e <= budget,
            "{}: normalized RMSE {e:.5} over budget {budget}",
            ty.name()
        );
    }
}

#[test]
fn requantizing_a_dequantized_row_reproduces_it() {
    // Identical bytes: the stored scales and levels are recovered exactly.
    let same_bytes = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::BF16,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
        GgmlType::Q5_0,
        GgmlType::Q5_1,
        GgmlType::Q8_0,
        GgmlType::Q4K,
    ];
    // Identical values; bytes may differ (Q8_1's s uses the unrounded f32 scale, Q6_K can reach
    // the same products with another d/scale pair).
    let same_values = [GgmlType::Q8_1, GgmlType::Q6K];
    // Drift allowed, far below the format's own error. Q8_K's f32 d = max/-127 comes back an ulp
    // off; the iterative searches of Q2_K/Q3_K/Q5_K may settle elsewhere on their own output.
    // Measured: Q8_K 3.1e-8, Q2_K 0.0061, Q3_K 0.031, Q5_K 0.0033.
    let close = [
        (GgmlType::Q8K, 1e-6),
        (GgmlType::Q2K, 0.012),
        (GgmlType::Q3K, 0.045),
        (GgmlType::Q5K, 0.006),
    ];
    assert_eq!(
        same_bytes.len() + same_values.len() + close.len(),
        GgmlType::ALL.len()
    );

    for ty in GgmlType::ALL {
        let x = gaussian_row(ty, 11);
        let (q1, y1) = roundtrip(ty, &x);
        let (q2, y2) = roundtrip(ty, &y1);
        if same_bytes.contains(&ty) {
            assert!(q1 == q2, "{}: requantized bytes differ", ty.name());
        } else if same_values.contains(&ty) {
            // == rather than bits: a zero level may come back as -0.0.
            let n_diff = y1.iter().zip(&y2).filter(|(a, b)| a != b).count();
            assert_eq!(n_diff, 0, "{}: requantized values differ", ty.name());
        } else {
            let budget = close.iter().find(|c| c.0 == ty).unwrap().1;
            let drift = rel_rms(&y1, &y2, &x);
            assert!(
                drift <= budget,
                "{}: requantization drift {drift:.5} over {budget}",
                ty.name()
            );
        }
    }
}
