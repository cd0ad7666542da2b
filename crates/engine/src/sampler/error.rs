//! Errors from building or running a sampler chain.

use thiserror::Error;

/// What went wrong, named so the caller can fix the request or the call.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SamplerError {
    #[error("temperature must be a finite number >= 0 (0 = greedy), got {0}")]
    Temperature(f32),
    #[error("top_p must be in (0, 1] (1 = off), got {0}")]
    TopP(f32),
    #[error("min_p must be in [0, 1] (0 = off), got {0}")]
    MinP(f32),
    #[error("repeat_penalty must be a finite number > 0 (1 = off), got {0}")]
    RepeatPenalty(f32),
    #[error("presence_penalty must be a finite number (0 = off), got {0}")]
    PresencePenalty(f32),
    #[error("frequency_penalty must be a finite number (0 = off), got {0}")]
    FrequencyPenalty(f32),
    #[error("max_tokens must be at least 1; use no limit (None) instead of 0")]
    MaxTokens,
    #[error(
        "stop string #{index} is empty; remove it (an empty stop would end generation at once)"
    )]
    EmptyStop { index: usize },
    #[error("n_vocab is 0; build the sampler with the model's vocabulary size")]
    EmptyVocab,
    #[error("got {got} logits but the sampler was built for a vocabulary of {expected}; pass the model's last-position logits row")]
    LogitsLength { expected: usize, got: usize },
    #[error("every logit is NaN or -inf; the model produced no usable scores for this position")]
    NoFiniteLogits,
    #[error("the sampler chain picked no token: it needs a final greedy or dist stage, and no stage may remove every candidate")]
    NoSelection,
}
