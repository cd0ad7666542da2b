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
    }
}

pub fn submit(s: &Scheduler, req: Request) -> Receiver<Event> {
    let (tx, rx) = channel();
    s.submit(req, Box::new(tx)).expect("submit");
    rx
}

pub fn collect(rx: Receiver<Event>) -> Collected {
    let mut c = Collected { ids: vec![], text: String::new(), logprobs: vec![], prompt_logprobs: vec![], done: Finished { reason: engine::StopReason::Cancelled, tail: String::new(), prompt_tokens: 0, completion_tokens: 0 } };
    for ev in rx {
        match ev {
            Event::PromptLogprobs(v) => c.prompt_logprobs = v,
            Event::Token { id, text, logprob } => {
                c.ids.push(id);
                c.text.push_str(&text);
                c.logprobs.extend(logprob);
            }
            Event::Done(d) => {
                c.text.push_str(&d.tail);
                c.done = d;
                return c;
            }
            Event::Failed(e) => panic!("request failed: {e}"),
            Event::Embedding(_) => panic!("an embedding for a generation request"),
        }
    }
    panic!("the scheduler dropped the request without a Done event")
}
