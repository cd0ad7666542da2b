//! User-facing sampling settings and their validation.

use serde::{Deserialize, Serialize};

use super::SamplerError;

/// How to pick each next token. Defaults follow llama.cpp's
/// (temperature 0.8, top_k 40, top_p 0.95, min_p 0.05, no penalties).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SamplingParams {
    /// Softmax temperature; 0 means greedy (argmax).
    pub temperature: f32,
    /// Keep only the k most likely tokens; 0 = off.
    pub top_k: usize,
    /// Keep the smallest set whose probability mass reaches p; 1 = off.
    pub top_p: f32,
    /// Drop tokens whose probability is below min_p times the best one's; 0 = off.
    pub min_p: f32,
    /// Divide positive (multiply negative) logits of recently seen tokens; 1 = off.
    pub repeat_penalty: f32,
    /// Subtracted once from the logit of every recently seen token; 0 = off.
    pub presence_penalty: f32,
    /// Subtracted per occurrence from the logit of recently seen tokens; 0 = off.
    pub frequency_penalty: f32,
    /// How many of the last accepted tokens the penalties look at; 0 = off.
    pub penalty_last_n: usize,
    /// RNG seed; None draws a fresh one (see `SamplerChain::seed`).
    pub seed: Option<u64>,
    /// Generation limit, enforced by the generation loop; None = until EOS / context end.
    pub max_tokens: Option<usize>,
    /// Generation ends before any of these strings (see `crate::stop::StopMatcher`).
    pub stop: Vec<String>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            penalty_last_n: 64,
            seed: None,
            max_tokens: None,
            stop: Vec::new(),
        }
    }
}

impl SamplingParams {
    /// Deterministic argmax decoding, no penalties.
    pub fn greedy() -> Self {
        Self {
            temperature: 0.0,
            ..Self::default()
        }
    }

    /// Checks every field; the error names the field, the bad value and the valid range.
    pub fn validate(&self) -> Result<(), SamplerError> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(SamplerError::Temperature(self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(SamplerError::TopP(self.top_p));
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return Err(SamplerError::MinP(self.min_p));
        }
        if !(self.repeat_penalty.is_finite() && self.repeat_penalty > 0.0) {
            return Err(SamplerError::RepeatPenalty(self.repeat_penalty));
        }
        if !self.presence_penalty.is_finite() {
            return Err(SamplerError::PresencePenalty(self.presence_penalty));
        }
        if !self.frequency_penalty.is_finite() {
            return Err(SamplerError::FrequencyPenalty(self.frequency_penalty));
        }
        if self.max_tokens == Some(0) {
            return Err(SamplerError::MaxTokens);
        }
        if let Some(index) = self.stop.iter().position(|s| s.is_empty()) {
            return Err(SamplerError::EmptyStop { index });
        }
        Ok(())
    }

    /// True when any penalty would change a logit.
    pub fn has_penalties(&self) -> bool {
        self.penalty_last_n > 0
            && (self.repeat_penalty != 1.0
                || self.presence_penalty != 0.0
                || self.frequency_penalty != 0.0)
    }
}
