//! The serving side of `agora serve --guard`: prompts screened before tokenizing (redacted or
//! refused with a `content_filter` error), answers filtered while they stream (redacted, or ended
//! with finish reason `content_filter`). The checks themselves live in the `safety` crate.

use std::sync::Mutex;

use engine::batch::{Event, Finished, Sink};
use safety::{Context, Guard, OutputFilter};
use tokenize::ChatMessage;

use crate::error::ApiError;
use crate::state::ModelState;

fn context(st: &ModelState, id: &str) -> Context {
    Context { id: id.to_string(), model: st.id.clone() }
}

/// Runs the input checks; the judge model (if any) is slow, so off the async worker.
fn screen(guard: &Guard, ctx: &Context, field: &str, text: &str) -> Result<String, ApiError> {
    let run = || guard.screen_input(ctx, field, text);
    let out = if guard.policy.judge.is_some() { tokio::task::block_in_place(run) } else { run() };
    out.map_err(|b| ApiError::ContentFilter { message: b.message })
}

/// Screens every message in place.
pub fn screen_messages(st: &ModelState, id: &str, messages: &mut [ChatMessage]) -> Result<(), ApiError> {
    let Some(guard) = &st.guard else { return Ok(()) };
    let ctx = context(st, id);
    for (i, m) in messages.iter_mut().enumerate() {
        m.content = screen(guard, &ctx, &format!("messages[{i}]"), &m.content)?;
    }
    Ok(())
}

/// Screens a text prompt; returns the text to tokenize.
pub fn screen_prompt(st: &ModelState, id: &str, field: &str, text: &str) -> Result<String, ApiError> {
    match &st.guard {
        None => Ok(text.to_string()),
        Some(guard) => screen(guard, &context(st, id), field, text),
    }
}

/// Token-id prompts are checked on their decoded text; they cannot be redacted without changing
/// the tokens the client chose, so anything the policy would redact refuses them instead.
pub fn screen_token_prompt(st: &ModelState, id: &str, field: &str, text: &str) -> Result<(), ApiError> {
    let screened = screen_prompt(st, id, field, text)?;
    if screened != text {
        return Err(ApiError::ContentFilter {
            message: format!("The token-id prompt ({field}) holds personal data the server's content policy redacts; send it as text so it can be redacted. Request id {id} is in the guard's audit log."),
        });
    }
    Ok(())
}

/// Log-probs show each generated token as it is, before the output filter: with an output policy
/// they would leak what the filter removes, so they are refused.
pub fn check_logprobs(st: &ModelState, wanted: bool) -> Result<(), ApiError> {
    match &st.guard {
        Some(g) if wanted && OutputFilter::active(g) => Err(ApiError::invalid(
            "logprobs",
            "this server filters model output (agora serve --guard) and log-probs would show the unfiltered tokens; ask without logprobs",
        )),
        _ => Ok(()),
    }
}

/// Wraps a choice's sink in the output filter when the policy checks output.
pub fn wrap(st: &ModelState, id: &str, index: usize, prompt_tokens: usize, inner: Box<dyn Sink>) -> Box<dyn Sink> {
    match &st.guard {
        Some(g) if OutputFilter::active(g) => {
            let filter = OutputFilter::new(g.clone(), context(st, id), format!("choices[{index}]"));
            Box::new(Filtered { inner, state: Mutex::new(FilterState { filter, tokens: 0, ended: false }), prompt_tokens })
        }
        _ => inner,
    }
}

struct FilterState {
    filter: OutputFilter,
    tokens: usize,
    ended: bool,
}

struct Filtered {
    inner: Box<dyn Sink>,
    state: Mutex<FilterState>,
    prompt_tokens: usize,
}

impl Filtered {
    /// Ends the choice with `content_filter`; returning false makes the scheduler drop the sequence.
    fn end(&self, s: &mut FilterState, tail: String) -> bool {
        s.ended = true;
        let done = Finished { reason: engine::StopReason::ContentFilter, tail, prompt_tokens: self.prompt_tokens, completion_tokens: s.tokens };
        self.inner.send(Event::Done(done));
        false
    }
}

impl Sink for Filtered {
    fn send(&self, ev: Event) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.ended {
            return false;
        }
        match ev {
            Event::Token { id, text, logprob } => {
                s.tokens += 1;
                let r = s.filter.push(&text);
                if r.blocked.is_some() {
                    return self.end(&mut s, r.text);
                }
                self.inner.send(Event::Token { id, text: r.text, logprob })
            }
            Event::Done(mut d) => {
                let mut r = s.filter.push(&d.tail);
                if r.blocked.is_none() {
                    let rest = s.filter.finish();
                    r.text.push_str(&rest.text);
                    r.blocked = rest.blocked;
                }
                if r.blocked.is_some() {
                    return self.end(&mut s, r.text);
                }
                s.ended = true;
                d.tail = r.text;
                self.inner.send(Event::Done(d))
            }
            other => self.inner.send(other),
        }
    }

    fn is_closed(&self) -> bool {
        self.state.lock().map(|s| s.ended).unwrap_or(true) || self.inner.is_closed()
    }
}
