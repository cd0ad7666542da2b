//! Bit-exactness against an independent implementation: the Python `gguf` package
//! (`gguf.quants.dequantize` / `quantize`), driven through `scripts/gguf_dequant.py`.
//! Needs `python3` with `pip install gguf numpy`; fails (never skips) without them.

mod quant_util;

use kernels::dequant::dequantize_row;
use kernels::quant::quantize_row;
use kernels::GgmlType;
use quant_util::*;

/// Types gguf-py can dequantize. Q8_1 and Q8_K are not among them (they are activation formats
/// only ever built at run time); `quant_roundtrip.rs` covers those.
const DEQUANT_TYPES: [GgmlType; 13] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
    GgmlType::Q2K,
    GgmlType::Q3K,
    GgmlType::Q4K,
    GgmlType::Q5K,
    GgmlType::Q6K,
];

/// Types gguf-py can quantize (checked against gguf 0.19: K-quants raise NotImplementedError).
const QUANT_TYPES: [GgmlType; 8] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::BF16,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q8_0,
];

#[test]
fn dequantize_matches_gguf_py_bit_for_bit() {
    let jobs: Vec<(GgmlType, Vec<u8>)> = DEQUANT_TYPES
        .iter()
        .enumerate()
        .map(|(k, &ty)| {
            // 512 blocks of every quantized type; 16384 values of F32/F16/BF16.
            let n_blocks = if ty.block_size() == 1 { 16384 } else { 512 };
            (
                ty,
                random_blocks(ty, n_blocks, &mut Rng::new(0xD00D + k as u64)),
            )
        })
        .collect();
    let outputs = run_gguf_py(false, &jobs);
    for ((ty, blocks), reference) in jobs.iter().zip(outputs) {
        let mut ours = vec![0f32; blocks.len() / ty.type_size() * ty.block_size()];
        dequantize_row(*ty, blocks, &mut ours).unwrap();
        assert_bits_eq(
            &format!("dequantize {}", ty.name()),
            &ours,
            &f32s_from_le(&reference),
        );
    }
}

/// Rows that exercise the corners: ordinary weights, an all-zero block, a constant block,
/// values on exact rounding ties, a block whose extremes have equal magnitude and opposite sign,
/// f16 subnormal/overflow territory.
fn quantize_test_row(ty: GgmlType, rng: &mut Rng) -> Vec<f32> {
    let bs = ty.block_size().max(32);
    let mut x = weight_like_row(256 * bs, bs, rng);
    let special: [Vec<f32>; 7] = [
        vec![0.0; bs],
        vec![0.75; bs],
        (0..bs).map(|i| (i as f32 - 16.0) * 0.5).collect(), // ties for Q8_0 / Q4_1 steps
        (0..bs)
            .map(|i| {
                if i == 3 {
                    -7.0
                } else if i == 9 {
                    7.0
                } else {
                    (i as f32).sin()
                }
            })
            .collect(),
        (0..bs).map(|i| (i as f32 + 1.0) * 3e-8).collect(),
        (0..bs).map(|i| (i as f32 - 10.0) * 4000.0).collect(),
        // amax 127 makes Q8_0's d exactly 1: x.5 values are exact ties (roundf vs round-half-even).
        (0..bs)
            .map(|i| if i == 0 { 127.0 } else { i as f32 - 16.5 })
            .collect(),
    ];
    for s in special {
        x.extend(s);
    }
    x
}

#[test]
fn quantize_matches_gguf_py_bytes() {
    let rows: Vec<Vec<f32>> = (0..QUANT_TYPES.len())
        .map(|k| quantize_test_row(QUANT_TYPES[k], &mut Rng::new(0xBEEF + k as u64)))
        .collect();
    let jobs: Vec<(GgmlType, Vec<u8>)> = QUANT_TYPES
        .iter()
        .zip(&rows)
        .map(|(&ty, x)| (ty, f32s_to_le(x)))
        .collect();
    let outputs = run_gguf_py(true, &jobs);
    for ((ty, x), reference) in QUANT_TYPES.into_iter().zip(&rows).zip(outputs) {
        let mut ours = vec![0u8; ty.row_bytes(x.len()).unwrap()];
        quantize_row(ty, x, &mut ours).unwrap();
        assert_eq!(reference.len(), ours.len(), "{}: output size", ty.name());
        let ts = ty.type_size();
        let bad: Vec<usize> = (0..ours.len() / ts)
            .filter(|&b| ours[b * ts..(b + 1) * ts] != reference[b * ts..(b + 1) * ts])
            .collect();
        if let Some(&b) = bad.first() {
            panic!(
                "quantize {}: {} of {} blocks differ; first is block {b}:\n ours {:02x?}\n  ref {:02x?}\n  x {:?}",
                ty.name(),
                bad.len(),
                ours.len() / ts,
                &ours[b * ts..(b + 1) * ts],
                &reference[b * ts..(b + 1) * ts],
                &x[b * ty.block_size()..(b + 1) * ty.block_size()]
            );
        }
    }
}
