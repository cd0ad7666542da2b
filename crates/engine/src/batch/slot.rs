//! One running request: its cache, sampler, detokenizer and stop matcher.

use models::{LogitsWanted, Model};
use tokenize::{StreamDecoder, Tokenizer};

use super::request::{Event, Finished, Job};
use super::stats::Stats;
use crate::kv::KvCache;
use crate::logprob::{token_logprob, TokenLogprob};
use crate::sampler::SamplerChain;
use crate::stop::StopMatcher;
use crate::StopReason;

/// After this many rejected samples, the constraint is applied to the whole vocabulary at once.
const CONSTRAINT_RETRIES: usize = 8;

pub(crate) struct Slot<'t> {
    pub job: Job,
    pub kv: KvCache,
    sampler: SamplerChain,
    stops: StopMatcher,
    detok: StreamDecoder<'t>,
    /// Prompt tokens already in the cache.
    pub fed: usize,
    /// The token the next step decodes (once the prompt is in).
    pub next: [u32; 1],
    generated: usize,
    prompt_lp: Vec<TokenLogprob>,
    masked: Vec<f32>,
}

pub(crate) enum Outcome {
    Running,
    Done,
}

impl<'t> Slot<'t> {
    /// Hands the job back with the reason when its sampler cannot be built.
    pub fn new(job: Job, model: &dyn Model, tok: &'t Tokenizer, n_ctx: usize, chunk: usize, kv: crate::KvTypes) -> Result<Self, (Job, String)> {
        let kv = match KvCache::with_types(model.config(), n_ctx, chunk, kv.k, kv.v) {
            Ok(c) => c,
            Err(e) => return Err((job, e.to_string())),
        };
        // The generation limit is the slot's business (0 is allowed: score the prompt only).
        let params = crate::sampler::SamplingParams { max_tokens: None, ..job.req.params.clone() };
        let mut sampler = match SamplerChain::new(&params, model.config().n_vocab) {
            Ok(s) => s,
            Err(e) => return Err((job, e.to_string())),
        };
        for &t in &job.req.prompt {
            sampler.accept(t);
        }
        Ok(Slot {
            kv,
            sampler,
            stops: StopMatcher::new(&job.req.params.stop),
            detok: StreamDecoder::new(tok, true),
            fed: 0,
            next: [0],
            generated: 0,
            prompt_lp: Vec::new(),
            masked: Vec::new(),
            job,
        })
    }

    pub fn prefilling(&self) -> bool {
        self.fed < self.job.req.prompt.len()
    }

    /// Tokens to feed this step (at most `budget` of the prompt), their first position, and
    /// which logits to compute.
    pub fn plan(&self, budget: usize) -> (usize, usize, LogitsWanted) {
        let prompt = &self.job.req.prompt;
        if !self.prefilling() {
            return (1, prompt.len() + self.generated - 1, LogitsWanted::Last);
        }
        let n = (prompt.len() - self.fed).min(budget);
        let last = self.fed + n == prompt.len();
        let want = match (self.job.req.prompt_logprobs, last) {
            (true, _) => LogitsWanted::All,
            (false, true) => LogitsWanted::Last,
            (false, false) => LogitsWanted::None,
        };
        (n, self.fed, want)
    }

    /// Takes the logits of a step that fed `n` tokens planned with `want`.
    pub fn after_forward(&mut self, n: usize, want: LogitsWanted, logits: &[f32], nv: usize, tok: &Tokenizer, stats: &Stats) -> Outcome {
        if !self.prefilling() {
            self.kv.set_len(self.kv.len() + 1);
            return self.generate(&logits[..nv], tok, stats);
        }
        let prompt = &self.job.req.prompt;
        let pos0 = self.fed;
        self.fed += n;
        self.kv.set_len(self.fed);
        if want == LogitsWanted::All {
            let k = self.job.req.logprobs.unwrap_or(0);
            for r in 0..n {
                if let Some(&next) = prompt.get(pos0 + r + 1) {
                    self.prompt_lp.push(token_logprob(&logits[r * nv..(r + 1) * nv], next, k));
                }
            }
        }
        if self.prefilling() {
            return Outcome::Running;
        }
        stats.prompt_tokens_total.fetch_add(prompt.len() as u64, std::sync::atomic::Ordering::Relaxed);
        if self.job.req.prompt_logprobs && !self.job.sink.send(Event::PromptLogprobs(std::mem::take(&mut self.prompt_lp))) {
            return Outcome::Done;
        }
        let rows = if want == LogitsWanted::All { n } else { 1 };
        self.generate(&logits[(rows - 1) * nv..rows * nv], tok, stats)
    }

    /// Samples the next token from `row` and reports it.
    fn generate(&mut self, row: &[f32], tok: &Tokenizer, stats: &Stats) -> Outcome {
        let max_tokens = self.job.req.params.max_tokens.unwrap_or(usize::MAX);
        if self.generated >= max_tokens {
            return self.finish(StopReason::MaxTokens);
        }
        let id = match self.pick(row, tok) {
            Ok(Some(id)) => id,
            Ok(None) => return self.finish(StopReason::Eog),
            Err(e) => {
                self.job.sink.send(Event::Failed(e));
                return Outcome::Done;
            }
        };
        self.sampler.accept(id);
        if tok.eog_ids().contains(&id) {
            return self.finish(StopReason::Eog);
        }
        if self.generated == 0 {
            stats.observe_ttft(self.job.queued_at.elapsed().as_secs_f64());
        }
        self.generated += 1;
        stats.generated_tokens_total.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(c) = self.job.req.constraint.as_mut() {
            c.accept(&tok.token_to_piece(id));
        }
        let piece = self.detok.push(id);
        let o = self.stops.push(&piece);
        let logprob = self.job.req.logprobs.map(|k| token_logprob(row, id, k));
        if !self.job.sink.send(Event::Token { id, text: o.emit, logprob }) {
            return Outcome::Done;
        }
        if o.stopped {
            return self.finish(StopReason::StopString);
        }
        if self.generated >= max_tokens {
            return self.finish(StopReason::MaxTokens);
        }
        if self.job.req.prompt.len() + self.generated >= self.kv_ctx() {
            return self.finish(StopReason::ContextFull);
        }
        self.next = [id];
        Outcome::Running
    }

    fn kv_ctx(&self) -> usize {
        models::KvAccess::n_ctx(&self.kv)
    }

    /// Samples a token the constraint allows; `None` when the constrained text is complete and
    /// nothing may follow it.
    fn pick(&mut self, row: &[f32], tok: &Tokenizer) -> Result<Option<u32>, String> {
        if self.job.req.ignore_eos && self.job.req.constraint.is_none() {
            self.masked.clear();
            self.masked.extend_from_slice(row);
            for &e in tok.eog_ids() {
                self.masked[e as usize] = f32::NEG_INFINITY;
            }
            return self.sampler.sample(&self.masked).map(Some).map_err(|e| e.to_string());
        }
        let Some(c) = self.job.req.constraint.as_ref() else {
            return self.sampler.sample(row).map(Some).map_err(|e| e.to_string());
        };
        let eog = tok.eog_ids();
        let ok = |id: u32| {
            if eog.contains(&id) {
                c.is_complete()
            } else {
                c.allows(&tok.token_to_piece(id))
            }
        };
        for attempt in 0..=CONSTRAINT_RETRIES {
            let logits = if attempt == 0 { row } else { &self.masked[..] };
            let id = self.sampler.sample(logits).map_err(|e| e.to_string())?;
            if ok(id) {
                return Ok(Some(id));
            }
            if attempt == 0 {
                self.masked.clear();
                self.masked.extend_from_slice(row);
            }
            self.masked[id as usize] = f32::NEG_INFINITY;
            if attempt == CONSTRAINT_RETRIES {
                // Too many misses: mask everything the constraint forbids, once.
                for (i, v) in self.masked.iter_mut().enumerate() {
                    if v.is_finite() && !ok(i as u32) {
                        *v = f32::NEG_INFINITY;
                    }
                }
                if self.masked.iter().all(|v| !v.is_finite()) {
                    return if c.is_complete() { Ok(None) } else { Err("no token can continue the structured output".into()) };
                }
                let id = self.sampler.sample(&self.masked).map_err(|e| e.to_string())?;
                return Ok(Some(id));
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    fn finish(&mut self, reason: StopReason) -> Outcome {
        let mut tail = String::new();
        if reason != StopReason::StopString {
            let o = self.stops.push(&self.detok.finish());
            tail.push_str(&o.emit);
            if !o.stopped {
                tail.push_str(&self.stops.finish());
            }
        }
        let done = Finished { reason, tail, prompt_tokens: self.job.req.prompt.len(), completion_tokens: self.generated };
        self.job.sink.send(Event::Done(done));
        Outcome::Done
    }

    /// Positions this sequence holds in its cache.
    pub fn positions(&self) -> usize {
        self.kv.len()
    }
}
