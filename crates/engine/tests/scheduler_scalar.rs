//! Continuous batching end to end on scalar kernels, where batched and single-sequence arithmetic
//! are identical: concurrent greedy requests must produce exactly what each produces alone.

mod common;

use std::sync::Arc;

use common::model_path;
use common::sched::{collect, greedy, submit};
use engine::batch::{Scheduler, SchedulerConfig};
use engine::sampler::SamplingParams;
use engine::{LoadedModel, Session};
use kernels::pool::ThreadPool;

#[test]
fn concurrent_greedy_requests_equal_solo_runs() {
    // Read once per process by kernels::cpu::active(); this binary holds only this test.
    std::env::set_var("AGORA_CPU", "scalar");
    let lm = Arc::new(LoadedModel::open(&model_path()).expect("model"));
    let prompts = ["The capital of France is", "Write a haiku about the sea:", "1, 2, 3, 4,", "Question: what is a dog?\nAnswer:"];
    let lens = [12, 5, 9, 16];
    let pool = ThreadPool::new(2);
    let solo: Vec<Vec<u32>> = prompts
        .iter()
        .zip(lens)
        .map(|(p, n)| {
            let ids = lm.tokenizer.encode(p, true, false).unwrap();
            let mut s = Session::new(lm.model.as_ref(), &pool, 256);
            let params = SamplingParams { max_tokens: Some(n), ..SamplingParams::greedy() };
            s.generate(&lm.tokenizer, &ids, &params, &mut |_| true).unwrap().tokens
        })
        .collect();
    // Small step budget: prompts are fed in chunks while other sequences decode.
    let cfg = SchedulerConfig { n_ctx: 256, slots: 3, max_queue: 8, step_tokens: 6, threads: 2, kv: Default::default() };
    let sched = Scheduler::start(lm.clone(), cfg);
    let rxs: Vec<_> = prompts
        .iter()
        .zip(lens)
        .map(|(p, n)| submit(&sched, greedy(lm.tokenizer.encode(p, true, false).unwrap(), n)))
        .collect();
    for (i, rx) in rxs.into_iter().enumerate() {
        let got = collect(rx);
        assert_eq!(got.ids, solo[i], "request {i} ({:?}) differs from its solo run", prompts[i]);
        assert_eq!(got.done.completion_tokens, got.ids.len());
    }
}
