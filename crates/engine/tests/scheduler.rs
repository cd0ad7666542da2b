//! The continuous-batching scheduler on the real model: results, log-probs, cancellation,
//! admission control and memory accounting.

mod common;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sched::{collect, greedy, submit};
use common::{log_softmax, model_path};
use engine::batch::{Event, Scheduler, SchedulerConfig, SubmitError};
use engine::sampler::SamplingParams;
use engine::{KvCache, LoadedModel, Session, StopReason};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted};

fn setup(cfg: SchedulerConfig) -> (Arc<LoadedModel>, Scheduler) {
    let lm = Arc::new(LoadedModel::open(&model_path()).expect("model"));
    let s = Scheduler::start(lm.clone(), cfg);
    (lm, s)
}

fn cfg() -> SchedulerConfig {
    SchedulerConfig { n_ctx: 256, slots: 4, max_queue: 4, step_tokens: 64, threads: 2, kv: Default::default() }
}

#[test]
fn a_single_request_matches_the_session_loop() {
    let (lm, sched) = setup(cfg());
    let ids = lm.tokenizer.encode("The capital of France is", true, false).unwrap();
    let pool = ThreadPool::new(2);
    let mut s = Session::new(lm.model.as_ref(), &pool, 256);
    let params = SamplingParams { max_tokens: Some(12), ..SamplingParams::greedy() };
    let want = s.generate(&lm.tokenizer, &ids, &params, &mut |_| true).unwrap();
    let got = collect(submit(&sched, greedy(ids.clone(), 12)));
    assert_eq!(got.ids, want.tokens);
    assert_eq!(got.text, want.text);
    assert_eq!(got.done.reason, StopReason::MaxTokens);
    assert_eq!((got.done.prompt_tokens, got.done.completion_tokens), (ids.len(), 12));
}

#[test]
fn prompt_and_token_logprobs_match_a_direct_forward_pass() {
    let (lm, sched) = setup(cfg());
    let ids = lm.tokenizer.encode("Paris is the capital of France.", true, false).unwrap();
    let mut req = greedy(ids.clone(), 1);
    req.prompt_logprobs = true;
    req.logprobs = Some(3);
    let got = collect(submit(&sched, req));
    let pool = ThreadPool::new(2);
    let mut ctx = ForwardCtx::new(&pool);
    let mut kv = KvCache::new(lm.model.config(), 256, 256);
    let mut all = Vec::new();
    lm.model.forward(&mut ctx, &ids, 0, &mut kv, LogitsWanted::All, &mut all).unwrap();
    let nv = lm.model.config().n_vocab;
    assert_eq!(got.prompt_logprobs.len(), ids.len() - 1);
    for (i, lp) in got.prompt_logprobs.iter().enumerate() {
        let ls = log_softmax(&all[i * nv..(i + 1) * nv]);
        assert_eq!(lp.id, ids[i + 1]);
        assert!((lp.logprob as f64 - ls[ids[i + 1] as usize]).abs() < 1e-3, "prompt token {i}");
        assert_eq!(lp.top.len(), 3);
        assert!(lp.top[0].1 >= lp.top[1].1 && lp.top[1].1 >= lp.top[2].1);
    }
    // The generated (greedy) token is the most likely one, and its log-prob is the top entry's.
    let g = &got.logprobs[0];
    assert_eq!(g.top[0].0, g.id);
    assert!((g.top[0].1 - g.logprob).abs() < 1e-6);
}

#[test]
fn max_tokens_zero_scores_the_prompt_only() {
    let (lm, sched) = setup(cfg());
    let ids = lm.tokenizer.encode("One two three", true, false).unwrap();
    let mut req = greedy(ids.clone(), 0);
    req.prompt_logprobs = true;
    let got = collect(submit(&sched, req));
    assert!(got.ids.is_empty());
    assert_eq!(got.prompt_logprobs.len(), ids.len() - 1);
    assert_eq!(got.done.reason, StopReason::MaxTokens);
}

#[test]
fn a_dropped_receiver_cancels_and_frees_the_cache() {
    let (lm, sched) = setup(cfg());
    let ids = lm.tokenizer.encode("Tell me a long story about a cat.", true, false).unwrap();
    let (tx, rx) = channel();
    sched.submit(greedy(ids.clone(), 200), Box::new(tx)).unwrap();
    // Wait for the first token, then hang up.
    loop {
        match rx.recv_timeout(Duration::from_secs(60)).expect("a token") {
            Event::Token { .. } => break,
            Event::PromptLogprobs(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(rx);
    let t = Instant::now();
    while sched.stats().active.load(Relaxed) > 0 {
        assert!(t.elapsed() < Duration::from_secs(30), "the cancelled request kept running");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(sched.stats().kv_bytes_used.load(Relaxed), 0);
    assert!(sched.stats().requests_cancelled.load(Relaxed) + sched.stats().generated_tokens_total.load(Relaxed) > 0);
    // The scheduler still serves new work.
    let got = collect(submit(&sched, greedy(ids, 3)));
    assert_eq!(got.ids.len(), 3);
}

#[test]
fn admission_control_and_bad_requests() {
    let mut c = cfg();
    c.slots = 1;
    c.max_queue = 2;
    let (lm, sched) = setup(c);
    let ids = lm.tokenizer.encode("Count to one hundred:", true, false).unwrap();
    let mut held = Vec::new();
    let mut refused = None;
    for _ in 0..8 {
        let (tx, rx) = channel();
        match sched.submit(greedy(ids.clone(), 64), Box::new(tx)) {
            Ok(()) => held.push(rx),
            Err(e) => {
                refused = Some(e);
                break;
            }
        }
    }
    assert!(matches!(refused, Some(SubmitError::QueueFull { limit: 2, .. })), "{refused:?}");
    let long = vec![2u32; 300];
    assert!(matches!(sched.submit(greedy(long, 1), Box::new(channel().0)), Err(SubmitError::PromptTooLong { n_prompt: 300, n_ctx: 256 })));
    assert!(matches!(sched.submit(greedy(vec![], 1), Box::new(channel().0)), Err(SubmitError::EmptyPrompt)));
    let mut bad = greedy(ids.clone(), 1);
    bad.params.top_p = 0.0;
    assert!(matches!(sched.submit(bad, Box::new(channel().0)), Err(SubmitError::Sampler(_))));
    drop(held);
    sched.shutdown();
    assert!(matches!(sched.submit(greedy(ids, 1), Box::new(channel().0)), Err(SubmitError::ShuttingDown)));
}

#[test]
fn stop_strings_end_generation_without_emitting_them() {
    let (lm, sched) = setup(cfg());
    let ids = lm.tokenizer.encode("1, 2, 3, 4, 5,", true, false).unwrap();
    let mut free = greedy(ids.clone(), 16);
    free.params.stop = vec![];
    let base = collect(submit(&sched, free)).text;
    let cut = base.char_indices().nth(4).map(|(i, _)| i).expect("some output");
    let stop = base[cut..].chars().take(2).collect::<String>();
    let mut req = greedy(ids, 16);
    req.params.stop = vec![stop.clone()];
    let got = collect(submit(&sched, req));
    assert_eq!(got.done.reason, StopReason::StopString);
    assert!(!got.text.contains(&stop), "{:?} contains the stop {:?}", got.text, stop);
    assert!(base.starts_with(&got.text));
}
