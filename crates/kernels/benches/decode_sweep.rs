//! One decode token's matmuls on Gemma 3 270M Q4_K_M shapes (18 layers of q, k, v, o, gate, up, down
//! and the Q8_0 output head, 247 MB, far beyond the caches), in huge-page memory as the engine loads
//! weights: how close the GEMV path gets to streaming memory speed, without attention or norms.
//!
//! `cargo bench -p kernels --bench decode_sweep`; `AGORA_BENCH_SECS` sets the time per case (2).

use std::hint::black_box;
use std::time::{Duration, Instant};

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use kernels::GgmlType;

const LAYER: [(GgmlType, usize, usize); 7] = [
    (GgmlType::Q5_0, 640, 1024), // attn_q
    (GgmlType::Q5_0, 640, 256),  // attn_k
    (GgmlType::Q5_0, 640, 256),  // attn_v
    (GgmlType::Q4K, 1024, 640),  // attn_output
    (GgmlType::Q5_0, 640, 2048), // ffn_gate
    (GgmlType::Q5_0, 640, 2048), // ffn_up
    (GgmlType::Q6K, 2048, 640),  // ffn_down
];
const HEAD: (GgmlType, usize, usize) = (GgmlType::Q8_0, 640, 262144);

/// Random bytes with a small positive f16 scale in each block's first field (enough for timing).
fn fill(ty: GgmlType, buf: &mut [u8], seed: &mut u64) {
    for c in buf.chunks_mut(8) {
        let r = kernels::rng::splitmix64(seed).to_le_bytes();
        c.copy_from_slice(&r[..c.len()]);
    }
    let off = if ty == GgmlType::Q6K { 208 } else { 0 };
    for b in buf.chunks_exact_mut(ty.type_size()) {
        b[off..off + 2].copy_from_slice(&half::f16::from_f32(1e-3).to_bits().to_le_bytes());
    }
}

fn main() {
    let budget = Duration::from_secs_f64(std::env::var("AGORA_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2.0));
    let mut shapes: Vec<(GgmlType, usize, usize)> = (0..18).flat_map(|_| LAYER).collect();
    shapes.push(HEAD);
    let sizes: Vec<usize> = shapes.iter().map(|&(ty, k, rows)| rows * ty.row_bytes(k).expect("whole blocks")).collect();
    let total: usize = sizes.iter().sum();
    let mut map = memmap2::MmapOptions::new().len(total).map_anon().expect("anonymous map");
    if std::env::var_os("AGORA_SMALL_PAGES").is_none() {
        map.advise(memmap2::Advice::HugePage).expect("madvise");
    }
    let mut seed = 7u64;
    let mut at = 0;
    for (&(ty, _, _), &n) in shapes.iter().zip(&sizes) {
        fill(ty, &mut map[at..at + n], &mut seed);
        at += n;
    }
    let mut at = 0;
    let mats: Vec<QMatrix<'_>> = shapes
        .iter()
        .zip(&sizes)
        .map(|(&(ty, k, rows), &n)| {
            let m = QMatrix::new(ty, &map[at..at + n], rows, k).expect("valid matrix");
            at += n;
            m
        })
        .collect();
    let x: Vec<f32> = (0..2048).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
    let mut y = vec![0f32; 262144];
    for threads in [1usize, 2] {
        let pool = ThreadPool::new(threads);
        let mut token = || {
            for w in &mats {
                matmul(&pool, w, &x[..w.cols], 1, &mut y[..w.rows]);
            }
            black_box(&y);
        };
        token();
        let (mut best, mut n, start) = (f64::MAX, 0, Instant::now());
        while n < 3 || start.elapsed() < budget {
            let t = Instant::now();
            token();
            best = best.min(t.elapsed().as_secs_f64());
            n += 1;
        }
        let mean = start.elapsed().as_secs_f64() / n as f64;
        println!(
            "decode sweep t={threads}: {:.2} ms best {:.2} ms mean per token, {:.1} GB/s best ({:.0} MB)",
            best * 1e3,
            mean * 1e3,
            total as f64 / best / 1e9,
            total as f64 / 1e6
        );
    }
}
