//! `agora bench`: prefill (pp) and decode (tg) tokens/s, measured like llama-bench:
//! pp = one batch of N prompt tokens from an empty cache; tg = N single-token steps from an empty cache.

use std::time::Instant;

use anyhow::Result;
use engine::Session;
use kernels::pool::ThreadPool;
use serde::Serialize;

use crate::args::BenchArgs;
use crate::settings;

#[derive(Serialize)]
struct TestResult {
    test: String,
    threads: usize,
    tokens_per_second: f64,
    stddev: f64,
    samples: Vec<f64>,
}

pub fn run(a: &BenchArgs) -> Result<()> {
    let path = settings::resolve_model(a.model.as_deref(), true)?;
    super::acceptance::ensure(&path, a.accept_license)?;
    let ctx = a.ctx.max(a.n_prompt + 1).max(a.n_gen + 1);
    let t0 = Instant::now();
    let lm = super::open_model_ctx(&path, ctx)?;
    let load_seconds = t0.elapsed().as_secs_f64();
    let threads = settings::threads(a.threads);
    let pool = ThreadPool::new(threads);
    let model = lm.model.as_ref();
    let n_vocab = model.config().n_vocab as u64;
    // Deterministic pseudo-random tokens, as llama-bench uses random ids.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next_tok = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n_vocab) as u32
    };
    let kv = a.kv.types();
    let mut session = Session::with_kv_types(model, &pool, ctx, kv)?;
    let mut results = Vec::new();
    if a.n_prompt > 0 {
        let prompt: Vec<u32> = (0..a.n_prompt).map(|_| next_tok()).collect();
        let mut samples = Vec::new();
        for rep in 0..=a.reps {
            session = reset(session, model, &pool, ctx, kv)?;
            let t = Instant::now();
            session.prefill(&prompt)?;
            let s = t.elapsed().as_secs_f64();
            if rep > 0 {
                samples.push(a.n_prompt as f64 / s); // rep 0 warms up caches and page faults
            }
        }
        results.push(summarise(format!("pp{}", a.n_prompt), threads, samples));
    }
    if a.n_gen > 0 {
        let mut samples = Vec::new();
        for rep in 0..=a.reps {
            session = reset(session, model, &pool, ctx, kv)?;
            let first = next_tok();
            let t = Instant::now();
            session.prefill(&[first])?;
            for _ in 1..a.n_gen {
                session.decode(next_tok())?;
            }
            let s = t.elapsed().as_secs_f64();
            if rep > 0 {
                samples.push(a.n_gen as f64 / s);
            }
        }
        results.push(summarise(format!("tg{}", a.n_gen), threads, samples));
    }
    if a.n_gen > 0 && a.batch > 1 {
        let mut samples = Vec::new();
        for rep in 0..=a.reps {
            let s = batched_decode(model, &pool, a.batch, a.n_gen, ctx, kv, &mut next_tok)?;
            if rep > 0 {
                samples.push((a.batch * a.n_gen) as f64 / s);
            }
        }
        results.push(summarise(format!("tg{} x{}", a.n_gen, a.batch), threads, samples));
    }
    let rss = peak_rss_mib();
    if a.json {
        let v = serde_json::json!({ "model": path, "load_seconds": load_seconds, "peak_rss_mib": rss,
            "cpu": format!("{:?}", kernels::cpu::active()), "results": results });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("| model | threads | test | t/s |");
        println!("| --- | ---: | ---: | ---: |");
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        for r in &results {
            println!("| {name} | {} | {} | {:.2} ± {:.2} |", r.threads, r.test, r.tokens_per_second, r.stddev);
        }
        println!("load {load_seconds:.2} s, peak RSS {rss:.0} MiB, kernels {:?}", kernels::cpu::active());
    }
    Ok(())
}

/// Seconds for `n` steps that each decode one token for each of `b` sequences in one pass.
#[allow(clippy::too_many_arguments)]
fn batched_decode(model: &dyn models::Model, pool: &ThreadPool, b: usize, n: usize, ctx: usize, kv: engine::KvTypes, next_tok: &mut dyn FnMut() -> u32) -> Result<f64> {
    let mut caches = (0..b).map(|_| engine::KvCache::with_types(model.config(), ctx, 1, kv.k, kv.v)).collect::<Result<Vec<_>, _>>()?;
    let mut fc = models::ForwardCtx::new(pool);
    let mut out = Vec::new();
    let t = Instant::now();
    for pos in 0..n {
        let toks: Vec<[u32; 1]> = (0..b).map(|_| [next_tok()]).collect();
        let mut seqs: Vec<models::SeqInput> = caches
            .iter_mut()
            .zip(&toks)
            .map(|(kv, tk)| models::SeqInput { tokens: &tk[..], pos0: pos, kv, want: models::LogitsWanted::Last, adapter: 0 })
            .collect();
        model.forward_batch(&mut fc, &mut seqs, &mut out)?;
        drop(seqs);
        caches.iter_mut().for_each(|c| c.set_len(pos + 1));
    }
    Ok(t.elapsed().as_secs_f64())
}

fn reset<'m>(s: Session<'m>, model: &'m dyn models::Model, pool: &'m ThreadPool, ctx: usize, kv: engine::KvTypes) -> Result<Session<'m>> {
    drop(s);
    Ok(Session::with_kv_types(model, pool, ctx, kv)?)
}

fn summarise(test: String, threads: usize, samples: Vec<f64>) -> TestResult {
    let n = samples.len().max(1) as f64;
    let mean = samples.iter().sum::<f64>() / n;
    let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    TestResult { test, threads, tokens_per_second: mean, stddev: var.sqrt(), samples }
}

/// Peak resident set size of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}
