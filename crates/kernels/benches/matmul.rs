//! Matmul throughput on Gemma 3 270M shapes: GB/s of weights streamed for GEMV (m = 1, decode) and
//! GFLOP/s for GEMM (m = 8, a decode batch; m = 512, prefill), with 1 and 2 threads, next to a plain memory-read baseline
//! measured in the same run (this box is shared; compare within one run only).
//!
//! `cargo bench -p kernels [-- FILTER...]`, FILTER matching e.g. `q8_0`, `m=1`, `t=2`.
//! `AGORA_CPU=scalar` benches the scalar kernels. `AGORA_BENCH_SECS` sets the time per case (0.5).

use std::hint::black_box;
use std::time::{Duration, Instant};

use kernels::cpu;
use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use kernels::GgmlType;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        kernels::rng::splitmix64(&mut self.0)
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Random quant bits with small positive f16 scales in each block's scale fields.
fn weights(ty: GgmlType, rows: usize, k: usize, rng: &mut Rng) -> Vec<u8> {
    let mut v = vec![0u8; rows * ty.row_bytes(k).expect("whole blocks")];
    for c in v.chunks_mut(8) {
        let r = rng.next().to_le_bytes();
        c.copy_from_slice(&r[..c.len()]);
    }
    let fields: &[usize] = match ty {
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q8_0 => &[0],
        GgmlType::Q4_1 | GgmlType::Q5_1 | GgmlType::Q4K | GgmlType::Q5K => &[0, 2],
        GgmlType::Q6K => &[208],
        _ => &[],
    };
    for b in v.chunks_exact_mut(ty.type_size()) {
        for &off in fields {
            let h = half::f16::from_f32(1e-3 * (0.5 + rng.unit())).to_bits();
            b[off..off + 2].copy_from_slice(&h.to_le_bytes());
        }
    }
    v
}

/// CPU time of the whole process (all threads), seconds: unlike wall time it does not count the
/// time other processes on this shared box take from us.
fn process_cpu_secs() -> f64 {
    #[repr(C)]
    struct Timespec {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: plain libc call writing into a valid timespec.
    if unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        return f64::NAN;
    }
    ts.sec as f64 + ts.nsec as f64 * 1e-9
}

/// Per call: best and median wall seconds, and mean process CPU seconds.
struct Timing {
    best: f64,
    median: f64,
    cpu: f64,
}

/// Times `f` for at least `budget` (3 calls minimum, 1 when a single call exceeds the budget),
/// after one warm-up call (page faults, scratch growth, caches).
fn time_it(budget: Duration, mut f: impl FnMut()) -> Timing {
    let t = Instant::now();
    f();
    let first = t.elapsed();
    let min_samples = if first > budget { 1 } else { 3 };
    let mut samples = Vec::new();
    let start = Instant::now();
    let cpu0 = process_cpu_secs();
    while samples.len() < min_samples || start.elapsed() < budget {
        let t = Instant::now();
        f();
        samples.push(t.elapsed().as_secs_f64());
    }
    let cpu = (process_cpu_secs() - cpu0) / samples.len() as f64;
    samples.sort_by(|a, b| a.total_cmp(b));
    Timing { best: samples[0], median: samples[samples.len() / 2], cpu }
}

fn selected(filters: &[String], name: &str) -> bool {
    filters.is_empty() || filters.iter().all(|f| name.contains(f.as_str()))
}

fn main() {
    // Cargo passes `--bench`; everything else not starting with '-' is a filter.
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let budget = Duration::from_secs_f64(
        std::env::var("AGORA_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(0.5),
    );
    println!("cpu level: {} (detected {})", cpu::active(), cpu::detected());
    let pools = [ThreadPool::new(1), ThreadPool::new(2)];

    // Baseline: read 256 MiB with 1 and 2 threads.
    let want_mem = pools.iter().any(|p| selected(&filters, &format!("memread t={}", p.n_threads())));
    let buf: Vec<u64> = if want_mem { (0..32 << 20).map(|i| i as u64).collect() } else { Vec::new() };
    for pool in pools.iter().filter(|_| want_mem) {
        let name = format!("memread t={}", pool.n_threads());
        if !selected(&filters, &name) {
            continue;
        }
        let t = time_it(budget, || {
            pool.run(&|i, n| {
                let chunk = buf.len() / n;
                let s: u64 = buf[i * chunk..(i + 1) * chunk].iter().fold(0u64, |a, &b| a.wrapping_add(b));
                black_box(s);
            })
        });
        let gb = (buf.len() * 8) as f64 / 1e9;
        println!("{name:<36} {:>8.2} GB/s best {:>8.2} median {:>8.2} per cpu-s", gb / t.best, gb / t.median, gb / t.cpu);
    }

    // Pool overhead: an empty job, and a job of ~20 us per thread.
    for pool in &pools {
        let name = format!("pool-run t={}", pool.n_threads());
        if !selected(&filters, &name) {
            continue;
        }
        let empty = time_it(budget, || {
            for _ in 0..100 {
                pool.run(&|_, _| {});
            }
        });
        println!("{name:<36} empty job {:>8.2} us best {:>8.2} us median", empty.best * 1e4, empty.median * 1e4);
    }

    let shapes = [
        (GgmlType::Q5_0, 640, 1024, "attn_q"),
        (GgmlType::Q5_0, 640, 2048, "ffn_gate/up"),
        (GgmlType::Q4K, 1024, 640, "attn_output"),
        (GgmlType::Q6K, 2048, 640, "ffn_down"),
        (GgmlType::Q8_0, 640, 262144, "output head"),
        // Cache-resident: kernel speed without the memory system.
        (GgmlType::Q5_0, 640, 32, "L1-resident"),
        (GgmlType::Q8_0, 640, 32, "L1-resident"),
        (GgmlType::Q4K, 1024, 32, "L1-resident"),
        (GgmlType::Q6K, 2048, 16, "L1-resident"),
    ];
    let mut rng = Rng(42);
    for (ty, k, rows, what) in shapes {
        let name = |m: usize, t: usize| format!("{} {k}->{rows} m={m} t={t}", ty.name().to_lowercase());
        if ![1, 4, 8, 512].iter().any(|&m| (1..=2).any(|t| selected(&filters, &name(m, t)))) {
            continue;
        }
        let data = weights(ty, rows, k, &mut rng);
        let w = QMatrix::new(ty, &data, rows, k).expect("valid bench matrix");
        for m in [1usize, 4, 8, 512] {
            if !(1..=2).any(|t| selected(&filters, &name(m, t))) {
                continue;
            }
            let x: Vec<f32> = (0..m * k).map(|_| rng.unit() * 2.0 - 1.0).collect();
            // Touched up front so page faults stay out of the timings.
            let mut y = vec![1f32; m * rows];
            for pool in &pools {
                let name = name(m, pool.n_threads());
                if !selected(&filters, &name) {
                    continue;
                }
                let t = time_it(budget, || matmul(pool, &w, &x, m, &mut y));
                black_box(&y);
                // GEMV: weight bytes streamed per second; GEMM: multiply-adds x 2 per second.
                let (work, unit) = if m == 1 {
                    (data.len() as f64 / 1e9, "GB/s   ")
                } else {
                    (2.0 * (m * rows * k) as f64 / 1e9, "GFLOP/s")
                };
                println!(
                    "{name:<36} {:>8.2} {unit} best {:>8.2} median {:>8.2} per cpu-s  {:>10.1} us best  ({what})",
                    work / t.best,
                    work / t.median,
                    work / t.cpu,
                    t.best * 1e6
                );
            }
        }
    }
}
