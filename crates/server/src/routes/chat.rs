//! `POST /v1/chat/completions`: messages rendered with the model's chat template.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::batch::{Event, Request, TextConstraint};
use engine::constrain::{JsonConstraint, Schema};
use engine::logprob::TokenLogprob;
use serde_json::{json, Value};
use tokenize::ChatMessage;

use crate::error::ApiError;
use crate::run::{collect, new_id, piece, submit_all};
use crate::sse::{respond, Renderer};
use crate::state::{ModelState, Shared};
use crate::validate::{choices, fan_out, max_tokens, parse_json, sampling, top_logprobs};
use crate::wire::chat::*;
use crate::wire::common::{finish_reason, ResponseFormat, Usage};

pub async fn handle(State(app): State<Shared>, body: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    let req: ChatRequest = parse_json(body, app.config.max_body_bytes)?;
    let st = app.model(&req.model)?;
    let id = new_id("chatcmpl");
    let mut messages = messages(&req.messages)?;
    crate::guard::screen_messages(&st, &id, &mut messages)?;
    crate::guard::check_logprobs(&st, req.logprobs)?;
    let rendered = st.template.render(&messages, true, &st.bos, &st.eos).map_err(|e| ApiError::invalid("messages", e.to_string()))?;
    let ids = st.model.tokenizer.encode_chat_prompt(&rendered).map_err(|e| ApiError::invalid("messages", e.to_string()))?;
    let n = choices(&req.sampling)?;
    let max = max_tokens(&st, req.max_completion_tokens.or(req.max_tokens), None, ids.len())?;
    let params = sampling(&req.sampling, max)?;
    if req.top_logprobs.is_some() && !req.logprobs {
        return Err(ApiError::invalid("top_logprobs", "top_logprobs needs logprobs: true"));
    }
    let k = top_logprobs("top_logprobs", req.top_logprobs)?;
    let schema = response_schema(req.response_format.as_ref())?;
    let make = || schema.clone().map(|s| Box::new(JsonConstraint::new(s)) as Box<dyn TextConstraint>);
    let base = Request { prompt: ids.clone(), params, logprobs: req.logprobs.then_some(k), prompt_logprobs: false, constraint: None, ignore_eos: req.sampling.ignore_eos, adapter: st.adapter };
    let rx = submit_all(&st, &id, fan_out(base, n, make))?;
    if req.stream {
        let include_usage = req.stream_options.as_ref().is_some_and(|o| o.include_usage);
        let r = ChatStream { st: st.clone(), id, n, want_logprobs: req.logprobs, include_usage, usage: Usage::default(), prompt_tokens: ids.len() };
        return Ok(respond(rx, n, r));
    }
    let results = collect(rx, n).await?;
    let mut usage = Usage::default();
    usage.add(ids.len(), 0);
    let choices = results
        .into_iter()
        .enumerate()
        .map(|(index, r)| {
            let done = r.done.expect("collect waits for Done");
            usage.add(0, done.completion_tokens);
            ChatChoice {
                index,
                message: AssistantMessage { role: "assistant", content: r.text },
                logprobs: req.logprobs.then(|| ChatLogprobs { content: r.logprobs.iter().map(|l| logprob_json(&st, l)).collect() }),
                finish_reason: finish_reason(done.reason),
            }
        })
        .collect();
    let resp = ChatResponse { id, object: "chat.completion", created: crate::state::now(), model: st.id.clone(), system_fingerprint: FINGERPRINT, choices, usage };
    Ok(Json(resp).into_response())
}

pub const FINGERPRINT: &str = concat!("agora-", env!("CARGO_PKG_VERSION"));

fn messages(msgs: &[Message]) -> Result<Vec<ChatMessage>, ApiError> {
    if msgs.is_empty() {
        return Err(ApiError::invalid("messages", "messages must hold at least one message"));
    }
    msgs.iter()
        .map(|m| {
            let content = match &m.content {
                None => String::new(),
                Some(Content::Text(t)) => t.clone(),
                Some(Content::Parts(parts)) => {
                    let mut text = Vec::new();
                    for p in parts {
                        match (p.kind.as_str(), &p.text) {
                            ("text", Some(t)) => text.push(t.as_str()),
                            (kind, _) => return Err(ApiError::invalid("messages", format!("content parts of type '{kind}' are not supported; this model reads text"))),
                        }
                    }
                    text.join("\n")
                }
            };
            let role = match m.role.as_str() {
                "developer" => "system",
                r @ ("system" | "user" | "assistant" | "tool") => r,
                other => return Err(ApiError::invalid("messages", format!("unknown role '{other}' (use system, user, assistant or tool)"))),
            };
            Ok(ChatMessage::new(role, content))
        })
        .collect()
}

/// The grammar for `response_format`, if it asks for JSON.
pub fn response_schema(f: Option<&ResponseFormat>) -> Result<Option<Schema>, ApiError> {
    Ok(match f {
        None | Some(ResponseFormat::Text) => None,
        Some(ResponseFormat::JsonObject) => Some(Schema::any_object()),
        Some(ResponseFormat::JsonSchema { json_schema }) => {
            let s = json_schema.schema.as_ref().ok_or_else(|| ApiError::invalid("response_format", "json_schema needs a 'schema'"))?;
            Some(Schema::compile(s).map_err(|e| ApiError::invalid("response_format", e.to_string()))?)
        }
    })
}

fn logprob_json(st: &ModelState, l: &TokenLogprob) -> TokenLogprobJson {
    let (token, bytes) = piece(st, l.id);
    let top = l
        .top
        .iter()
        .map(|&(id, lp)| {
            let (token, bytes) = piece(st, id);
            TopLogprobJson { token, logprob: lp, bytes }
        })
        .collect();
    TokenLogprobJson { token, logprob: l.logprob, bytes, top_logprobs: Some(top) }
}

struct ChatStream {
    st: Arc<ModelState>,
    id: String,
    n: usize,
    want_logprobs: bool,
    include_usage: bool,
    usage: Usage,
    prompt_tokens: usize,
}

impl ChatStream {
    fn chunk(&self, choices: Vec<ChunkChoice>, usage: Option<Usage>) -> Value {
        let c = ChatChunk { id: self.id.clone(), object: "chat.completion.chunk", created: crate::state::now(), model: self.st.id.clone(), system_fingerprint: FINGERPRINT, choices, usage };
        serde_json::to_value(c).unwrap_or_else(|e| json!({"error": e.to_string()}))
    }
}

impl Renderer for ChatStream {
    fn start(&mut self) -> Vec<Value> {
        (0..self.n)
            .map(|index| {
                let delta = Delta { role: Some("assistant"), content: Some(String::new()) };
                self.chunk(vec![ChunkChoice { index, delta, logprobs: None, finish_reason: None }], None)
            })
            .collect()
    }

    fn event(&mut self, index: usize, ev: Event) -> Vec<Value> {
        match ev {
            Event::Token { text, logprob, .. } => {
                if text.is_empty() && !self.want_logprobs {
                    return vec![];
                }
                let logprobs = self.want_logprobs.then(|| ChatLogprobs { content: logprob.iter().map(|l| logprob_json(&self.st, l)).collect() });
                let delta = Delta { role: None, content: Some(text) };
                vec![self.chunk(vec![ChunkChoice { index, delta, logprobs, finish_reason: None }], None)]
            }
            Event::Done(d) => {
                self.usage.add(0, d.completion_tokens);
                let mut out = Vec::new();
                if !d.tail.is_empty() {
                    let delta = Delta { role: None, content: Some(d.tail) };
                    out.push(self.chunk(vec![ChunkChoice { index, delta, logprobs: None, finish_reason: None }], None));
                }
                let fin = ChunkChoice { index, delta: Delta::default(), logprobs: None, finish_reason: Some(finish_reason(d.reason)) };
                out.push(self.chunk(vec![fin], None));
                out
            }
            Event::PromptLogprobs(_) | Event::Embedding(_) | Event::Failed(_) => vec![],
        }
    }

    fn finish(&mut self) -> Vec<Value> {
        if !self.include_usage {
            return vec![];
        }
        let mut u = self.usage;
        u.add(self.prompt_tokens, 0);
        vec![self.chunk(vec![], Some(u))]
    }
}
