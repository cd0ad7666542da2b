//! What a caller hands the scheduler, and what it gets back.

use std::time::Instant;

use crate::logprob::TokenLogprob;
use crate::sampler::SamplingParams;
use crate::StopReason;

/// One completion to run: a tokenized prompt and how to continue it.
pub struct Request {
    pub prompt: Vec<u32>,
    pub params: SamplingParams,
    /// `Some(k)`: report each generated token's log-prob with its k most likely alternatives.
    pub logprobs: Option<usize>,
    /// Report the log-prob of every prompt token after the first (OpenAI `echo` + `logprobs`).
    pub prompt_logprobs: bool,
    /// Optional constraint on the output text (structured output).
    pub constraint: Option<Box<dyn TextConstraint>>,
    /// Never end on an end-of-generation token (benchmarks: a fixed number of tokens).
    pub ignore_eos: bool,
    /// The LoRA adapter this request runs with (`LoadedModel::attach_adapter`'s id); 0 = the base.
    pub adapter: usize,
}

/// Limits generated text to a language (e.g. JSON matching a schema). The scheduler asks before
/// accepting each token, so the output is valid by construction.
pub trait TextConstraint: Send {
    /// Whether the token bytes `piece` may follow the bytes accepted so far.
    fn allows(&self, piece: &[u8]) -> bool;
    fn accept(&mut self, piece: &[u8]);
    /// The text so far is a complete document: generation may end (and must end if
    /// `!allows` for everything else).
    fn is_complete(&self) -> bool;
}

#[derive(Debug)]
pub enum Event {
    /// Log-probs of prompt tokens 1.. (sent once, before any token, when asked).
    PromptLogprobs(Vec<TokenLogprob>),
    /// A generated token; `text` is what became safe to show (may be empty while a stop string
    /// or a multi-byte character is pending).
    Token { id: u32, text: String, logprob: Option<TokenLogprob> },
    /// The mean of the prompt's final hidden states, L2-normalized (embedding requests).
    Embedding(Vec<f32>),
    Done(Finished),
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub reason: StopReason,
    /// Text held back until the end (a partial stop-string match that never completed).
    pub tail: String,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
}

/// Where a request's events go. `send` returns false once nobody listens (the client went
/// away): the scheduler then drops the sequence and frees its cache.
pub trait Sink: Send {
    fn send(&self, ev: Event) -> bool;
    fn is_closed(&self) -> bool;
}

impl Sink for std::sync::mpsc::Sender<Event> {
    fn send(&self, ev: Event) -> bool {
        std::sync::mpsc::Sender::send(self, ev).is_ok()
    }
    fn is_closed(&self) -> bool {
        false
    }
}

/// Why a request was not queued.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the server is busy: {queued} requests are already waiting (limit {limit}); retry shortly")]
    QueueFull { queued: usize, limit: usize },
    #[error("the prompt has {n_prompt} tokens but the context holds {n_ctx}; shorten the prompt")]
    PromptTooLong { n_prompt: usize, n_ctx: usize },
    #[error("the prompt is empty: give at least one token")]
    EmptyPrompt,
    #[error("no LoRA adapter {asked} is loaded ({loaded} are); load it with the model")]
    UnknownAdapter { asked: usize, loaded: usize },
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Sampler(#[from] crate::sampler::SamplerError),
}

pub(crate) struct Job {
    pub req: Request,
    /// Compute an embedding of the prompt instead of generating.
    pub embed: bool,
    pub sink: Box<dyn Sink>,
    pub queued_at: Instant,
}

/// Everything one request produced, assembled from its events (for callers that do not stream).
#[derive(Debug, Default)]
pub struct Collected {
    pub ids: Vec<u32>,
    pub text: String,
    pub logprobs: Vec<TokenLogprob>,
    pub prompt_logprobs: Vec<TokenLogprob>,
    pub embedding: Vec<f32>,
    /// Set by the final event.
    pub done: Option<Finished>,
}

impl Collected {
    /// Adds one event; `Ok(true)` once the request is finished, `Err` with the reason if it failed.
    pub fn push(&mut self, ev: Event) -> Result<bool, String> {
        match ev {
            Event::PromptLogprobs(v) => self.prompt_logprobs = v,
            Event::Embedding(v) => self.embedding = v,
            Event::Token { id, text, logprob } => {
                self.ids.push(id);
                self.text.push_str(&text);
                self.logprobs.extend(logprob);
            }
            Event::Done(d) => {
                self.text.push_str(&d.tail);
                self.done = Some(d);
                return Ok(true);
            }
            Event::Failed(e) => return Err(e),
        }
        Ok(false)
    }
}
