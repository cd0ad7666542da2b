//! Golden hashes of ggml's own reference quantizers (`quantize_row_*_ref` from llama.cpp commit
//! 0c1e57098, the copy vendored in llama-cpp-python 0.3.36, `libggml-base.so` built -O3 for
//! baseline x86-64, so without FMA contraction) on the integer-exact row below.
//!
//! gguf-py cannot quantize the K-quants, Q8_1 or Q8_K, so this is their bit-exactness check.
//! The goldens were made once by calling those C functions through Python ctypes on the same row
//! (the generator only uses integer arithmetic and exact power-of-two scaling, so numpy rebuilds
//! it bit for bit) and hashing the output with FNV-1a 64.

use kernels::quant::quantize_row;
use kernels::GgmlType;

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        kernels::rng::splitmix64(&mut self.0)
    }
}

fn pow2(k: i32) -> f32 {
    f32::from_bits(((k + 127) as u32) << 23)
}

/// 256-element blocks cycling through 8 kinds: plain (sum of four uniforms), offset, 3% outliers
/// (x8), all zeros, constant, tiny (below ggml's 1e-15 "all zero" threshold), all positive,
/// a single non-zero. Every value is an integer below 2^26 times a power of two: exact in f32.
fn golden_row(seed: u64, n_blocks: usize) -> Vec<f32> {
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(n_blocks * 256);
    for b in 0..n_blocks {
        let kind = b % 8;
        let r = rng.next();
        let e = if kind == 5 {
            -100
        } else {
            (r % 24) as i32 - 16
        };
        let off = if kind == 1 {
            (rng.next() >> 41) as i64 - (1 << 22)
        } else {
            0
        };
        for i in 0..256 {
            let mut v: i64 = (0..4).map(|_| (rng.next() >> 43) as i64 - (1 << 20)).sum();
            v += off;
            if kind == 2 && rng.next() & 31 == 0 {
                v *= 8;
            }
            v = match kind {
                3 => 0,
                4 => 12345,
                6 => v.abs(),
                7 if i != 77 => 0,
                _ => v,
            };
            out.push(v as f32 * pow2(e - 22));
        }
    }
    out
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ c as u64).wrapping_mul(0x100_0000_01b3)
    })
}

const GOLDEN: [(GgmlType, u64); 12] = [
    (GgmlType::Q4_0, 0xc6d4c45852e23ad7),
    (GgmlType::Q4_1, 0xd3ad95439e13a453),
    (GgmlType::Q5_0, 0x9547ce7999b96888),
    (GgmlType::Q5_1, 0x9144a7cc89a65413),
    (GgmlType::Q8_0, 0x1bf28022fe2c7fcd),
    (GgmlType::Q8_1, 0xd9cc247d5bc8fa58),
    (GgmlType::Q2K, 0x9219d9cfa4bf133a),
    (GgmlType::Q3K, 0xb8b9cd7e061b94df),
    (GgmlType::Q4K, 0xeeb27b089ff51b9a),
    (GgmlType::Q5K, 0x34fcac3968eaeb59),
    (GgmlType::Q6K, 0x9b58ef9c3a5a1364),
    (GgmlType::Q8K, 0xb6d8f4c4c1176eec),
];

#[test]
fn generator_is_the_one_the_goldens_were_made_from() {
    let x = golden_row(0x601DE2, 64);
    assert_eq!(x.len(), 64 * 256);
    let bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        fnv1a(&bytes),
        GENERATOR_HASH,
        "the test row changed; the goldens no longer apply"
    );
}

/// FNV-1a 64 of the f32 little-endian row as written by the ctypes generator.
const GENERATOR_HASH: u64 = 0x2887c777fb5d38d8;

#[test]
fn quantize_matches_ggml_reference_bytes() {
    let x = golden_row(0x601DE2, 64);
    let mut failed = Vec::new();
    for (ty, want) in GOLDEN {
        let mut y = vec![0u8; ty.row_bytes(x.len()).unwrap()];
        quantize_row(ty, &x, &mut y).unwrap();
        let got = fnv1a(&y);
        if got != want {
            failed.push(format!("{} hash {got:#018x}, ggml {want:#018x}", ty.name()));
        }
    }
    assert!(
        failed.is_empty(),
        "quantization differs from ggml's: {}",
        failed.join("; ")
    );
}
