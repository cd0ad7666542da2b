//! Continuous batching: many requests share one model. A worker thread owns the model's thread
//! pool and runs steps; each step feeds every running sequence its next token (or a chunk of its
//! prompt, within a token budget) through one `forward_batch`, so the weights are read once per
//! step for all of them. New requests join at the next step; finished or abandoned ones leave and
//! free their cache at once.

mod request;
mod slot;
mod stats;
mod worker;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

pub use request::{Collected, Event, Finished, Request, Sink, SubmitError, TextConstraint};
pub use stats::{Stats, TTFT_BUCKETS};

use crate::LoadedModel;
use request::Job;

#[derive(Clone, Debug)]
pub struct SchedulerConfig {
    /// Context per sequence (prompt + generated tokens).
    pub n_ctx: usize,
    /// Sequences decoded together; more wait in the queue.
    pub slots: usize,
    /// Requests allowed to wait; beyond that `submit` answers `QueueFull`.
    pub max_queue: usize,
    /// Tokens per step over all sequences (decode rows first, prompt chunks fill the rest).
    pub step_tokens: usize,
    pub threads: usize,
    /// KV cache storage types of every slot.
    pub kv: crate::KvTypes,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self { n_ctx: 4096, slots: 4, max_queue: 64, step_tokens: 512, threads: 1, kv: crate::KvTypes::default() }
    }
}

enum Msg {
    /// The parts of one client request, delivered together so they join the same step (and
    /// the same request always batches the same way).
    Jobs(Vec<Job>),
    /// Finish the running and queued requests, then exit.
    Drain,
}

/// Handle to the worker; cheap to share behind an `Arc`.
pub struct Scheduler {
    tx: Mutex<Option<Sender<Msg>>>,
    worker: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<Stats>,
    config: SchedulerConfig,
    /// Adapters the model holds (valid `Request::adapter` ids are 0..=n_adapters).
    n_adapters: usize,
}

impl Scheduler {
    pub fn start(model: Arc<LoadedModel>, config: SchedulerConfig) -> Scheduler {
        let (tx, rx) = channel();
        let stats = Arc::new(Stats::default());
        let (st, cfg) = (stats.clone(), config.clone());
        let n_adapters = model.adapters.len();
        let worker = std::thread::Builder::new()
            .name("agora-scheduler".into())
            .spawn(move || worker::run(&model, &cfg, rx, &st))
            .expect("spawning the scheduler thread");
        Scheduler { tx: Mutex::new(Some(tx)), worker: Mutex::new(Some(worker)), stats, config, n_adapters }
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Queues `req`; its events go to `sink`. Checks what can be checked without the worker.
    pub fn submit(&self, req: Request, sink: Box<dyn Sink>) -> Result<(), SubmitError> {
        self.submit_group(vec![(req, sink)])
    }

    /// Queues the parts of one client request (its `n` choices or several prompts) together:
    /// all are checked first, and the queue limit applies to the group as a whole (it is
    /// admitted while the queue is not full), so a request is never half-queued.
    pub fn submit_group(&self, parts: Vec<(Request, Box<dyn Sink>)>) -> Result<(), SubmitError> {
        self.enqueue(parts, false)
    }

    /// Queues embeddings of `inputs`: each sink gets one `Event::Embedding`, then `Done`.
    pub fn submit_embeddings(&self, inputs: Vec<(Vec<u32>, Box<dyn Sink>)>) -> Result<(), SubmitError> {
        self.submit_embeddings_with(inputs, 0)
    }

    /// `submit_embeddings` with the hidden states of LoRA adapter `adapter` (0 = the base).
    pub fn submit_embeddings_with(&self, inputs: Vec<(Vec<u32>, Box<dyn Sink>)>, adapter: usize) -> Result<(), SubmitError> {
        let params = crate::sampler::SamplingParams { max_tokens: Some(0), ..crate::sampler::SamplingParams::greedy() };
        let parts = inputs
            .into_iter()
            .map(|(prompt, sink)| (Request { prompt, params: params.clone(), logprobs: None, prompt_logprobs: false, constraint: None, ignore_eos: false, adapter }, sink))
            .collect();
        self.enqueue(parts, true)
    }

    fn enqueue(&self, parts: Vec<(Request, Box<dyn Sink>)>, embed: bool) -> Result<(), SubmitError> {
        for (req, _) in &parts {
            if req.prompt.is_empty() {
                return Err(SubmitError::EmptyPrompt);
            }
            if req.adapter > self.n_adapters {
                return Err(SubmitError::UnknownAdapter { asked: req.adapter, loaded: self.n_adapters });
            }
            if req.prompt.len() >= self.config.n_ctx {
                return Err(SubmitError::PromptTooLong { n_prompt: req.prompt.len(), n_ctx: self.config.n_ctx });
            }
            // max_tokens 0 is fine here: the request only scores its prompt (lm-eval's loglikelihood).
            let mut check = req.params.clone();
            if check.max_tokens == Some(0) {
                check.max_tokens = None;
            }
            check.validate()?;
        }
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let tx = guard.as_ref().ok_or(SubmitError::ShuttingDown)?;
        let queued = self.stats.queued.load(Relaxed);
        if queued >= self.config.max_queue {
            return Err(SubmitError::QueueFull { queued, limit: self.config.max_queue });
        }
        let now = Instant::now();
        let jobs: Vec<Job> = parts.into_iter().map(|(req, sink)| Job { req, sink, embed, queued_at: now }).collect();
        self.stats.queued.fetch_add(jobs.len(), Relaxed);
        tx.send(Msg::Jobs(jobs)).map_err(|_| SubmitError::ShuttingDown)
    }

    /// Stops taking requests, lets the running and queued ones finish, and waits for the worker.
    pub fn shutdown(&self) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(Msg::Drain);
        }
        if let Some(w) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = w.join();
        }
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.shutdown();
    }
}
