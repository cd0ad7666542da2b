//! Wire request -> engine requests ("parse, don't validate"): every check with the field it
//! concerns, before anything is queued.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use engine::batch::Request;
use engine::sampler::SamplingParams;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::ModelState;
use crate::wire::common::SamplingFields;

/// Most choices per request (`n`) and stop strings.
pub const MAX_N: usize = 16;
pub const MAX_STOPS: usize = 16;
pub const MAX_TOP_LOGPROBS: usize = 20;

pub fn parse_json<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>, limit: usize) -> Result<T, ApiError> {
    let bytes = body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(limit),
        _ => ApiError::BadJson(r.body_text()),
    })?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::BadJson(e.to_string()))
}

/// OpenAI semantics: temperature 1 and top_p 1 unless given, no top-k / min-p cut.
pub fn sampling(f: &SamplingFields, max_tokens: usize) -> Result<SamplingParams, ApiError> {
    let temperature = f.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ApiError::invalid("temperature", format!("temperature must be between 0 and 2, got {temperature}")));
    }
    let top_p = f.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(ApiError::invalid("top_p", format!("top_p must be in (0, 1], got {top_p}")));
    }
    for (name, v) in [("presence_penalty", f.presence_penalty), ("frequency_penalty", f.frequency_penalty)] {
        if let Some(v) = v {
            if !(-2.0..=2.0).contains(&v) {
                return Err(ApiError::invalid(name, format!("{name} must be between -2 and 2, got {v}")));
            }
        }
    }
    let stop = f.stop.clone().map(|s| s.into_vec()).unwrap_or_default();
    if stop.len() > MAX_STOPS {
        return Err(ApiError::invalid("stop", format!("at most {MAX_STOPS} stop strings, got {}", stop.len())));
    }
    if stop.iter().any(|s| s.is_empty()) {
        return Err(ApiError::invalid("stop", "stop strings must not be empty"));
    }
    let params = SamplingParams {
        temperature,
        top_p,
        top_k: f.top_k.unwrap_or(0),
        min_p: f.min_p.unwrap_or(0.0),
        repeat_penalty: f.repeat_penalty.unwrap_or(1.0),
        presence_penalty: f.presence_penalty.unwrap_or(0.0),
        frequency_penalty: f.frequency_penalty.unwrap_or(0.0),
        penalty_last_n: 64,
        seed: f.seed.map(|s| s as u64),
        max_tokens: Some(max_tokens),
        stop,
    };
    let mut check = params.clone();
    check.max_tokens = None; // 0 is allowed: score the prompt only
    check.validate().map_err(|e| ApiError::Invalid { message: e.to_string(), param: None })?;
    Ok(params)
}

pub fn choices(f: &SamplingFields) -> Result<usize, ApiError> {
    match f.n.unwrap_or(1) {
        n @ 1..=MAX_N => Ok(n),
        n => Err(ApiError::invalid("n", format!("n must be between 1 and {MAX_N}, got {n}"))),
    }
}

/// The generation limit: what was asked, else what the context leaves (or `default`). A prompt
/// plus limit beyond the context is an error with the numbers, never a silent cut.
pub fn max_tokens(st: &ModelState, asked: Option<usize>, default: Option<usize>, n_prompt: usize) -> Result<usize, ApiError> {
    let n_ctx = st.n_ctx();
    if n_prompt >= n_ctx {
        return Err(ApiError::ContextLength { n_ctx, total: n_prompt, prompt: n_prompt, completion: asked.unwrap_or(0) });
    }
    let left = n_ctx - n_prompt;
    match asked {
        Some(m) if m > left => Err(ApiError::ContextLength { n_ctx, total: n_prompt + m, prompt: n_prompt, completion: m }),
        Some(m) => Ok(m),
        None => Ok(default.unwrap_or(left).min(left)),
    }
}

pub fn top_logprobs(param: &'static str, k: Option<usize>) -> Result<usize, ApiError> {
    match k.unwrap_or(0) {
        k @ 0..=MAX_TOP_LOGPROBS => Ok(k),
        k => Err(ApiError::invalid(param, format!("{param} must be between 0 and {MAX_TOP_LOGPROBS}, got {k}"))),
    }
}

/// `n` copies of a request; with a seed, choice i uses seed + i so they differ yet reproduce.
pub fn fan_out(base: Request, n: usize, make: impl Fn() -> Option<Box<dyn engine::batch::TextConstraint>>) -> Vec<Request> {
    (0..n)
        .map(|i| {
            let mut params = base.params.clone();
            params.seed = params.seed.map(|s| s.wrapping_add(i as u64));
            Request { prompt: base.prompt.clone(), params, logprobs: base.logprobs, prompt_logprobs: base.prompt_logprobs, constraint: make(), ignore_eos: base.ignore_eos, adapter: base.adapter }
        })
        .collect()
}
