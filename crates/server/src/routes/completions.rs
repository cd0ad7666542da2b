//! `POST /v1/completions`: raw text or token-id prompts, `echo`, and log-probs of the prompt
//! tokens (what lm-evaluation-harness scores multiple-choice answers with).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::batch::{Event, Request};
use engine::logprob::TokenLogprob;
use serde_json::{json, Value};

use super::chat::FINGERPRINT;
use crate::error::ApiError;
use crate::run::{collect, new_id, piece, submit_all};
use crate::sse::{respond, Renderer};
use crate::state::{ModelState, Shared};
use crate::validate::{choices, fan_out, max_tokens, parse_json, sampling, top_logprobs};
use crate::wire::common::{finish_reason, Usage};
use crate::wire::completions::*;

/// OpenAI's default `max_tokens` for completions.
const DEFAULT_MAX_TOKENS: usize = 16;
/// Most prompts in one request.
const MAX_PROMPTS: usize = 64;

struct PromptIn {
    ids: Vec<u32>,
    text: String,
}

pub async fn handle(State(app): State<Shared>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let req: CompletionRequest = parse_json(body, app.config.max_body_bytes)?;
    let st = app.model(&req.model)?;
    let id = new_id("cmpl");
    crate::guard::check_logprobs(&st, req.logprobs.is_some())?;
    let prompts = prompts(&st, &req.prompt, &id)?;
    let n = choices(&req.sampling)?;
    let k = top_logprobs("logprobs", req.logprobs)?;
    let mut requests = Vec::new();
    let mut usage = Usage::default();
    for p in &prompts {
        let max = max_tokens(&st, req.max_tokens, Some(DEFAULT_MAX_TOKENS), p.ids.len())?;
        let params = sampling(&req.sampling, max)?;
        let base = Request { prompt: p.ids.clone(), params, logprobs: req.logprobs.map(|_| k), prompt_logprobs: req.echo && req.logprobs.is_some(), constraint: None, ignore_eos: req.sampling.ignore_eos, adapter: st.adapter };
        requests.extend(fan_out(base, n, || None));
        usage.add(p.ids.len(), 0);
    }
    let total = requests.len();
    let rx = submit_all(&st, &id, requests)?;
    if req.stream {
        let include_usage = req.stream_options.as_ref().is_some_and(|o| o.include_usage);
        let echo: Vec<String> = (0..total).map(|i| if req.echo { prompts[i / n].text.clone() } else { String::new() }).collect();
        let r = CompletionStream { st: st.clone(), id, echo, want_logprobs: req.logprobs.is_some(), include_usage, usage };
        return Ok(respond(rx, total, r));
    }
    let results = collect(rx, total).await?;
    let mut out = Vec::with_capacity(total);
    for (index, r) in results.into_iter().enumerate() {
        let p = &prompts[index / n];
        let done = r.done.expect("collect waits for Done");
        usage.add(0, done.completion_tokens);
        let mut text = if req.echo { p.text.clone() } else { String::new() };
        let logprobs = req.logprobs.map(|_| {
            let mut lp = CompletionLogprobs::default();
            if req.echo {
                lp.push_prompt(&st, &p.ids, &r.prompt_logprobs);
            }
            for l in &r.logprobs {
                lp.push(&st, l.id, Some(l));
            }
            lp.offsets_from(0);
            lp
        });
        text.push_str(&r.text);
        out.push(CompletionChoice { text, index, logprobs, finish_reason: Some(finish_reason(done.reason)) });
    }
    let resp = CompletionResponse { id, object: "text_completion", created: crate::state::now(), model: st.id.clone(), system_fingerprint: FINGERPRINT, choices: out, usage: Some(usage) };
    Ok(Json(resp).into_response())
}

fn prompts(st: &ModelState, p: &Prompt, id: &str) -> Result<Vec<PromptIn>, ApiError> {
    let tok = &st.model.tokenizer;
    let vocab = tok.vocab_size();
    let field = |i: usize, many: bool| if many { format!("prompt[{i}]") } else { "prompt".to_string() };
    let from_text = |i: usize, t: &str, many: bool| -> Result<PromptIn, ApiError> {
        let t = crate::guard::screen_prompt(st, id, &field(i, many), t)?;
        let ids = tok.encode(&t, true, false).map_err(|e| ApiError::invalid("prompt", e.to_string()))?;
        Ok(PromptIn { ids, text: t })
    };
    let from_ids = |i: usize, ids: &[u32], many: bool| -> Result<PromptIn, ApiError> {
        if let Some(bad) = ids.iter().find(|&&i| i as usize >= vocab) {
            return Err(ApiError::invalid("prompt", format!("token id {bad} is outside the vocabulary (size {vocab})")));
        }
        let text = tok.decode(ids, true);
        crate::guard::screen_token_prompt(st, id, &field(i, many), &text)?;
        Ok(PromptIn { ids: ids.to_vec(), text })
    };
    let list = match p {
        Prompt::Text(t) => vec![from_text(0, t, false)?],
        Prompt::Texts(ts) => ts.iter().enumerate().map(|(i, t)| from_text(i, t, true)).collect::<Result<_, _>>()?,
        Prompt::Ids(ids) => vec![from_ids(0, ids, false)?],
        Prompt::IdLists(l) => l.iter().enumerate().map(|(i, ids)| from_ids(i, ids, true)).collect::<Result<_, _>>()?,
    };
    if list.is_empty() || list.len() > MAX_PROMPTS {
        return Err(ApiError::invalid("prompt", format!("give between 1 and {MAX_PROMPTS} prompts, got {}", list.len())));
    }
    if list.iter().any(|p| p.ids.is_empty()) {
        return Err(ApiError::invalid("prompt", "a prompt is empty: give at least one token"));
    }
    Ok(list)
}

impl CompletionLogprobs {
    fn push(&mut self, st: &ModelState, id: u32, l: Option<&TokenLogprob>) {
        self.tokens.push(piece(st, id).0);
        self.token_logprobs.push(l.map(|l| l.logprob));
        self.top_logprobs.push(l.map(|l| {
            let mut m = BTreeMap::new();
            for &(t, lp) in &l.top {
                m.entry(piece(st, t).0).or_insert(lp);
            }
            m
        }));
    }

    /// The prompt's tokens: the first has no log-prob (nothing precedes it).
    fn push_prompt(&mut self, st: &ModelState, ids: &[u32], lps: &[TokenLogprob]) {
        for (i, &id) in ids.iter().enumerate() {
            self.push(st, id, if i == 0 { None } else { lps.get(i - 1) });
        }
    }

    fn offsets_from(&mut self, start: usize) {
        let mut at = start;
        self.text_offset = self
            .tokens
            .iter()
            .map(|t| {
                let o = at;
                at += t.len();
                o
            })
            .collect();
    }
}

struct CompletionStream {
    st: Arc<ModelState>,
    id: String,
    /// Per choice: the prompt text to send first (`echo`), or empty.
    echo: Vec<String>,
    want_logprobs: bool,
    include_usage: bool,
    usage: Usage,
}

impl CompletionStream {
    fn chunk(&self, index: usize, text: String, logprobs: Option<CompletionLogprobs>, finish: Option<&'static str>) -> Value {
        let c = CompletionResponse {
            id: self.id.clone(),
            object: "text_completion",
            created: crate::state::now(),
            model: self.st.id.clone(),
            system_fingerprint: FINGERPRINT,
            choices: vec![CompletionChoice { text, index, logprobs, finish_reason: finish }],
            usage: None,
        };
        serde_json::to_value(c).unwrap_or_else(|e| json!({"error": e.to_string()}))
    }
}

impl Renderer for CompletionStream {
    fn start(&mut self) -> Vec<Value> {
        (0..self.echo.len()).filter(|&i| !self.echo[i].is_empty()).map(|i| self.chunk(i, self.echo[i].clone(), None, None)).collect()
    }

    fn event(&mut self, index: usize, ev: Event) -> Vec<Value> {
        match ev {
            Event::Token { id, text, logprob } => {
                if text.is_empty() && !self.want_logprobs {
                    return vec![];
                }
                let lp = self.want_logprobs.then(|| {
                    let mut lp = CompletionLogprobs::default();
                    lp.push(&self.st, id, logprob.as_ref());
                    lp.offsets_from(0);
                    lp
                });
                vec![self.chunk(index, text, lp, None)]
            }
            Event::Done(d) => {
                self.usage.add(0, d.completion_tokens);
                vec![self.chunk(index, d.tail, None, Some(finish_reason(d.reason)))]
            }
            Event::PromptLogprobs(_) | Event::Embedding(_) | Event::Failed(_) => vec![],
        }
    }

    fn finish(&mut self) -> Vec<Value> {
        if !self.include_usage {
            return vec![];
        }
        let c = json!({"id": self.id, "object": "text_completion", "created": crate::state::now(), "model": self.st.id, "choices": [], "usage": self.usage});
        vec![c]
    }
}
