//! Sampler cost per token at Gemma 3's vocabulary (262144). Run:
//! `cargo bench -p engine --bench sampler`. Prints µs/token for a few chains: wall clock, and
//! on Linux also this thread's CPU time (from /proc), which stays meaningful on a busy machine.

use std::hint::black_box;
use std::time::Instant;

use engine::sampler::rng::Xoshiro256;
use engine::sampler::{SamplerChain, SamplingParams};

const N_VOCAB: usize = 262_144;

/// Logits shaped like a model's: a broad bell around 0 plus a few strong candidates.
fn make_logits(rng: &mut Xoshiro256) -> Vec<f32> {
    let mut l: Vec<f32> = (0..N_VOCAB)
        .map(|_| {
            let s: f64 = (0..4).map(|_| rng.next_f64()).sum::<f64>() - 2.0;
            (s * 3.0) as f32
        })
        .collect();
    for j in 0..8 {
        let i = (rng.next_u64() % N_VOCAB as u64) as usize;
        l[i] = 18.0 - j as f32;
    }
    l
}

fn bench(name: &str, params: SamplingParams, rows: &[Vec<f32>], steps: usize) {
    let mut chain = match SamplerChain::new(&params, N_VOCAB) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{name}: {e}");
            return;
        }
    };
    // Warm-up grows the reused buffers.
    for row in rows.iter().take(4) {
        let _ = chain.sample(row);
    }
    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    for step in 0..steps {
        let id = chain
            .sample(black_box(&rows[step % rows.len()]))
            .unwrap_or(0);
        chain.accept(black_box(id));
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / steps as f64;
    let cpu = match (cpu0, thread_cpu_ns()) {
        (Some(a), Some(b)) => format!("{:>9.1} µs/token cpu", (b - a) as f64 / 1e3 / steps as f64),
        _ => String::new(),
    };
    println!(
        "{name:<44} {us:>9.1} µs/token wall {cpu}   {:?}",
        chain.stage_names()
    );
}

/// Nanoseconds this thread has run on a CPU (Linux schedstat), None elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn main() {
    let mut rng = Xoshiro256::seed_from_u64(42);
    let rows: Vec<Vec<f32>> = (0..8).map(|_| make_logits(&mut rng)).collect();
    let seed = Some(1);
    println!("vocab {N_VOCAB}");
    bench("greedy", SamplingParams::greedy(), &rows, 2000);
    bench(
        "default (k40 p0.95 minp0.05 t0.8)",
        SamplingParams {
            seed,
            ..Default::default()
        },
        &rows,
        2000,
    );
    bench(
        "default + penalties (rep 1.1, freq, pres)",
        SamplingParams {
            seed,
            repeat_penalty: 1.1,
            frequency_penalty: 0.1,
            presence_penalty: 0.1,
            ..Default::default()
        },
        &rows,
        2000,
    );
    bench(
        "top_p 0.95 only (full vocab)",
        SamplingParams {
            seed,
            top_k: 0,
            min_p: 0.0,
            temperature: 1.0,
            ..Default::default()
        },
        &rows,
        500,
    );
    bench(
        "min_p 0.05 only (full vocab)",
        SamplingParams {
            seed,
            top_k: 0,
            top_p: 1.0,
            temperature: 1.0,
            ..Default::default()
        },
        &rows,
        500,
    );
    bench(
        "pure dist t=1 (full-vocab softmax)",
        SamplingParams {
            seed,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            temperature: 1.0,
            ..Default::default()
        },
        &rows,
        200,
    );
}
