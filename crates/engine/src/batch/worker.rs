//! The scheduler thread: admit, plan a step, run one batched forward pass, hand out logits.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::Receiver;
use std::sync::Mutex;
use std::time::Instant;

use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted, SeqInput};

use super::request::{Event, Job};
use super::slot::{Outcome, Slot};
use super::stats::Stats;
use super::{Msg, SchedulerConfig};
use crate::LoadedModel;

pub(crate) fn run(lm: &LoadedModel, cfg: &SchedulerConfig, rx: Receiver<Msg>, stats: &Stats) {
    let pool = ThreadPool::new(cfg.threads.max(1));
    let mut ctx = ForwardCtx::new(&pool);
    let model = lm.model.as_ref();
    let tok = &lm.tokenizer;
    let nv = model.config().n_vocab;
    let mc = model.config();
    let bytes_per_pos = cfg.kv.bytes_per_pos(mc);
    let chunk = cfg.step_tokens.max(1);
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut slots: Vec<Slot> = Vec::new();
    let mut logits = Vec::new();
    let mut draining = false;
    loop {
        // Wait for work when idle; otherwise pick up whatever arrived since the last step.
        if slots.is_empty() && waiting.is_empty() {
            if draining {
                return;
            }
            match rx.recv() {
                Ok(m) => take(m, &mut waiting, &mut draining),
                Err(_) => return,
            }
        }
        while let Ok(m) = rx.try_recv() {
            take(m, &mut waiting, &mut draining);
        }
        while slots.len() < cfg.slots.max(1) {
            let Some(job) = waiting.pop_front() else { break };
            stats.queued.fetch_sub(1, Relaxed);
            stats.requests_total.fetch_add(1, Relaxed);
            if job.sink.is_closed() {
                stats.requests_cancelled.fetch_add(1, Relaxed);
                continue;
            }
            if job.embed {
                embed(model, &mut ctx, &job, &mut logits, stats);
                continue;
            }
            match Slot::new(job, model, tok, cfg.n_ctx, chunk, cfg.kv) {
                Ok(s) => slots.push(s),
                Err((job, e)) => {
                    stats.requests_failed.fetch_add(1, Relaxed);
                    job.sink.send(Event::Failed(e));
                }
            }
        }
        let before = slots.len();
        slots.retain(|s| !s.job.sink.is_closed());
        stats.requests_cancelled.fetch_add((before - slots.len()) as u64, Relaxed);
        publish(stats, &slots, bytes_per_pos, cfg.n_ctx);
        if slots.is_empty() {
            continue;
        }

        // Decode rows first (one each), then prompt chunks within what is left of the budget.
        let mut budget = cfg.step_tokens.max(slots.len());
        let mut plan = vec![(0, 0, LogitsWanted::None); slots.len()];
        for (p, s) in plan.iter_mut().zip(&slots).filter(|(_, s)| !s.prefilling()) {
            *p = s.plan(1);
            budget -= 1;
        }
        for (p, s) in plan.iter_mut().zip(&slots).filter(|(_, s)| s.prefilling()) {
            if budget == 0 {
                break;
            }
            *p = s.plan(budget);
            budget -= p.0;
        }
        let t0 = Instant::now();
        let result = {
            let mut seqs: Vec<SeqInput> = Vec::with_capacity(slots.len());
            for (s, &(n, pos0, want)) in slots.iter_mut().zip(&plan) {
                if n == 0 {
                    continue;
                }
                let Slot { job, kv, next, fed, .. } = s;
                let tokens: &[u32] = if *fed < job.req.prompt.len() { &job.req.prompt[pos0..pos0 + n] } else { &next[..] };
                seqs.push(SeqInput { tokens, pos0, kv, want, adapter: job.req.adapter });
            }
            model.forward_batch(&mut ctx, &mut seqs, &mut logits)
        };
        stats.busy_micros.fetch_add(t0.elapsed().as_micros() as u64, Relaxed);
        if let Err(e) = result {
            // A failed pass leaves every cache in the batch unusable: end those requests.
            for (s, p) in slots.iter().zip(&plan) {
                if p.0 > 0 {
                    s.job.sink.send(Event::Failed(e.to_string()));
                }
            }
            stats.requests_failed.fetch_add(plan.iter().filter(|p| p.0 > 0).count() as u64, Relaxed);
            let mut i = 0;
            slots.retain(|_| {
                i += 1;
                plan[i - 1].0 == 0
            });
            continue;
        }
        // Sampling, log-probs and detokenizing of each sequence run on the pool's threads: with many
        // sequences this per-token work would otherwise leave the other cores idle between passes.
        let n_slots = slots.len();
        let mut row = 0;
        let mut work = Vec::with_capacity(n_slots);
        for ((i, s), &(n, _, want)) in slots.iter_mut().enumerate().zip(&plan) {
            if n == 0 {
                continue;
            }
            let rows = match want {
                LogitsWanted::None => 0,
                LogitsWanted::All => n,
                _ => 1,
            };
            work.push(Mutex::new((i, s, &logits[row * nv..(row + rows) * nv], n, want, false)));
            row += rows;
        }
        let post = |t: usize, nt: usize| {
            for item in work.iter().skip(t).step_by(nt) {
                let mut g = item.lock().unwrap_or_else(|e| e.into_inner());
                let (_, s, out, n, want, done) = &mut *g;
                *done = matches!(s.after_forward(*n, *want, out, nv, tok, stats), Outcome::Done);
            }
        };
        if work.len() > 1 && pool.n_threads() > 1 {
            pool.run(&post);
        } else {
            post(0, 1);
        }
        let mut keep = vec![true; n_slots];
        for item in work {
            let (i, s, _, _, _, done) = item.into_inner().unwrap_or_else(|e| e.into_inner());
            if done {
                keep[i] = false;
                if s.job.sink.is_closed() {
                    stats.requests_cancelled.fetch_add(1, Relaxed);
                }
            }
        }
        let mut i = 0;
        slots.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        publish(stats, &slots, bytes_per_pos, cfg.n_ctx);
    }
}

/// Runs one embedding request on its own (hidden states cannot share a pass with logits).
fn embed(model: &dyn models::Model, ctx: &mut ForwardCtx, job: &Job, out: &mut Vec<f32>, stats: &Stats) {
    let tokens = &job.req.prompt;
    let mut kv = crate::KvCache::new(model.config(), tokens.len() + 1, tokens.len());
    let t0 = Instant::now();
    let r = model.forward_batch(ctx, &mut [SeqInput { tokens, pos0: 0, kv: &mut kv, want: LogitsWanted::Hidden, adapter: job.req.adapter }], out);
    stats.busy_micros.fetch_add(t0.elapsed().as_micros() as u64, Relaxed);
    if let Err(e) = r {
        stats.requests_failed.fetch_add(1, Relaxed);
        job.sink.send(Event::Failed(e.to_string()));
        return;
    }
    let d = model.config().n_embd;
    let mut v = vec![0.0f32; d];
    for row in out.chunks_exact(d) {
        kernels::ops::add_assign(&mut v, row);
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    stats.prompt_tokens_total.fetch_add(tokens.len() as u64, Relaxed);
    if job.sink.send(Event::Embedding(v)) {
        let done = super::Finished { reason: crate::StopReason::MaxTokens, tail: String::new(), prompt_tokens: tokens.len(), completion_tokens: 0 };
        job.sink.send(Event::Done(done));
    }
}

fn take(m: Msg, waiting: &mut VecDeque<Job>, draining: &mut bool) {
    match m {
        Msg::Jobs(j) => waiting.extend(j),
        Msg::Drain => *draining = true,
    }
}

fn publish(stats: &Stats, slots: &[Slot], bytes_per_pos: usize, n_ctx: usize) {
    stats.active.store(slots.len(), Relaxed);
    stats.kv_bytes_used.store(slots.iter().map(|s| s.positions() * bytes_per_pos).sum(), Relaxed);
    stats.kv_bytes_reserved.store(slots.len() * n_ctx * bytes_per_pos, Relaxed);
}
