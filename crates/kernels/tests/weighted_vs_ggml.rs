//! Importance-weighted quantization against ggml's own: `ggml_quantize_chunk` from llama.cpp's
//! libggml-base.so, called with importance weights on the rows below (by `scripts/imatrix_tool.py
//! ggml-rows`, hashes in testdata/imatrix/ggml-weighted-rows.json). Covers every weighted quantizer,
//! including Q2_K, which no Gemma preset reaches with 256-wide rows.

use kernels::quant_weighted::quantize_row_weighted;
use kernels::GgmlType;

/// n values in [-1, 1) from a 32-bit LCG; each step is exact in f32 (the Python generator matches).
fn lcg_values(seed: u32, n: usize) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
        })
        .collect()
}

/// Rows with an outlier column every 61 and a per-row power-of-two scale; weights in [1/64, 16 + 1/64).
fn rows(n_rows: usize, n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut x = lcg_values(1, n_rows * n);
    for (r, row) in x.chunks_mut(n).enumerate() {
        for (i, v) in row.iter_mut().enumerate() {
            if i % 61 == 0 {
                *v *= 8.0;
            }
            *v *= 2f32.powi(r as i32 % 5 - 2);
        }
    }
    let w = lcg_values(2, n).iter().map(|&v| (v + 1.0) * 8.0 + 1.0 / 64.0).collect();
    (x, w)
}

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01B3))
}

fn golden(ty: &str) -> u64 {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/imatrix/ggml-weighted-rows.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}; make it with scripts/imatrix-goldens.sh"));
    let key = format!("\"{ty}\": \"");
    let at = text.find(&key).unwrap_or_else(|| panic!("{path} has no {ty}")) + key.len();
    u64::from_str_radix(&text[at..at + 16], 16).unwrap()
}

#[test]
fn weighted_quantizers_match_ggml_quantize_chunk() {
    let (n_rows, n) = (8, 512);
    let (x, w) = rows(n_rows, n);
    let mut wrong = Vec::new();
    for ty in [
        GgmlType::Q2K, GgmlType::Q3K, GgmlType::Q4K, GgmlType::Q5K, GgmlType::Q6K,
        GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0,
    ] {
        let rb = ty.row_bytes(n).unwrap();
        let mut out = vec![0u8; n_rows * rb];
        for (src, dst) in x.chunks(n).zip(out.chunks_mut(rb)) {
            quantize_row_weighted(ty, src, dst, &w).unwrap();
        }
        if fnv1a64(&out) != golden(ty.name()) {
            wrong.push(ty.name());
        }
    }
    assert!(wrong.is_empty(), "differ from ggml's weighted quantizers: {wrong:?}");
}
