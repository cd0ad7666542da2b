//! Driving the continuous-batching scheduler from tests.

use std::sync::mpsc::{channel, Receiver};

use engine::batch::{Event, Finished, Request, Scheduler};
use engine::logprob::TokenLogprob;
use engine::sampler::SamplingParams;

pub struct Collected {
    pub ids: Vec<u32>,
    pub text: String,
    pub logprobs: Vec<TokenLogprob>,
    pub prompt_logprobs: Vec<TokenLogprob>,
    pub done: Finished,
}

pub fn greedy(prompt: Vec<u32>, max_tokens: usize) -> Request {
    Request {
        prompt,
        params: SamplingParams { max_tokens: Some(max_tokens), ..SamplingParams::greedy() },
        logprobs: None,
        prompt_logprobs: false,
        constraint: None,
        ignore_eos: false,
        adapter: 0,
    }
}

pub fn submit(s: &Scheduler, req: Request) -> Receiver<Event> {
    let (tx, rx) = channel();
    s.submit(req, Box::new(tx)).expect("submit");
    rx
}

pub fn collect(rx: Receiver<Event>) -> Collected {
    let mut c = engine::batch::Collected::default();
    for ev in rx {
        if c.push(ev).unwrap_or_else(|e| panic!("request failed: {e}")) {
            let done = c.done.expect("set by Done");
            return Collected { ids: c.ids, text: c.text, logprobs: c.logprobs, prompt_logprobs: c.prompt_logprobs, done };
        }
    }
    panic!("the scheduler dropped the request without a Done event")
}
