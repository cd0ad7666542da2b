//! The chain: stages in order, one reused candidate buffer, typed errors at the edges.

use super::rng::fresh_seed;
use super::{
    Candidates, Dist, Greedy, MinP, Penalties, SamplerError, SamplerStage, SamplingParams,
    Temperature, TopK, TopP,
};

/// Turns a logits row into a token id. One chain per sequence: it holds the penalty
/// window and the RNG stream.
pub struct SamplerChain {
    stages: Vec<Box<dyn SamplerStage>>,
    cands: Candidates,
    n_vocab: usize,
    seed: u64,
    fast: FastPath,
}

/// Fused first steps for the common chains, so the full vocabulary is read once and not copied.
#[derive(Debug, Clone, Copy, PartialEq)]
enum FastPath {
    None,
    /// The chain is just Greedy: argmax straight from the logits row.
    Argmax,
    /// The chain starts with TopK(k): fill only the k best.
    TopK(usize),
}

impl SamplerChain {
    /// Validates `params`, then builds penalties -> top_k -> top_p -> min_p -> temperature -> dist
    /// (or penalties -> greedy when temperature is 0). Stages that are off are left out.
    pub fn new(params: &SamplingParams, n_vocab: usize) -> Result<Self, SamplerError> {
        params.validate()?;
        let seed = params.seed.unwrap_or_else(fresh_seed);
        let mut stages: Vec<Box<dyn SamplerStage>> = Vec::new();
        if params.has_penalties() {
            stages.push(Box::new(Penalties::new(
                params.penalty_last_n,
                params.repeat_penalty,
                params.frequency_penalty,
                params.presence_penalty,
            )));
        }
        if params.temperature <= 0.0 {
            stages.push(Box::new(Greedy));
        } else {
            if params.top_k > 0 && params.top_k < n_vocab {
                stages.push(Box::new(TopK { k: params.top_k }));
            }
            if params.top_p < 1.0 {
                stages.push(Box::new(TopP { p: params.top_p }));
            }
            if params.min_p > 0.0 {
                stages.push(Box::new(MinP { p: params.min_p }));
            }
            if params.temperature != 1.0 {
                stages.push(Box::new(Temperature {
                    t: params.temperature,
                }));
            }
            stages.push(Box::new(Dist::new(seed)));
        }
        let fast = match (params.temperature <= 0.0, params.has_penalties()) {
            (true, false) => FastPath::Argmax,
            (false, false) if params.top_k > 0 && params.top_k < n_vocab => {
                FastPath::TopK(params.top_k)
            }
            _ => FastPath::None,
        };
        let mut chain = Self::from_stages(stages, n_vocab)?;
        chain.seed = seed;
        chain.fast = fast;
        Ok(chain)
    }

    /// A custom chain; the last stage must pick (Greedy, Dist or your own).
    pub fn from_stages(
        stages: Vec<Box<dyn SamplerStage>>,
        n_vocab: usize,
    ) -> Result<Self, SamplerError> {
        if n_vocab == 0 {
            return Err(SamplerError::EmptyVocab);
        }
        let mut cands = Candidates::new();
        cands.ids.reserve(n_vocab);
        cands.logits.reserve(n_vocab);
        Ok(Self {
            stages,
            cands,
            n_vocab,
            seed: 0,
            fast: FastPath::None,
        })
    }

    /// Picks the next token from `logits` ([n_vocab], the last position's row).
    /// Does not record it: call `accept` with the token you keep.
    pub fn sample(&mut self, logits: &[f32]) -> Result<u32, SamplerError> {
        if logits.len() != self.n_vocab {
            return Err(SamplerError::LogitsLength {
                expected: self.n_vocab,
                got: logits.len(),
            });
        }
        // The fused fills give exactly what the stage they replace would have produced.
        let skip = match self.fast {
            FastPath::Argmax => {
                self.cands.fill_argmax_from(logits);
                1
            }
            FastPath::TopK(k) => {
                self.cands.fill_top_k_from(logits, k);
                1
            }
            FastPath::None => {
                self.cands.fill_from(logits);
                0
            }
        };
        for stage in self.stages.iter_mut().skip(skip) {
            stage.apply(&mut self.cands);
        }
        let i = self
            .cands
            .selected
            .filter(|&i| i < self.cands.len())
            .ok_or(SamplerError::NoSelection)?;
        // Only an all -inf/NaN row can end with a -inf pick: the stages always keep the best token.
        if self.cands.logits[i] == f32::NEG_INFINITY {
            return Err(SamplerError::NoFiniteLogits);
        }
        Ok(self.cands.ids[i])
    }

    /// Records a kept token (for the penalties). Prompt tokens may be fed too.
    pub fn accept(&mut self, id: u32) {
        for stage in &mut self.stages {
            stage.accept(id);
        }
    }

    /// Back to a fresh sequence: penalty history cleared, RNG restarted from the same seed.
    pub fn reset(&mut self) {
        for stage in &mut self.stages {
            stage.reset();
        }
    }

    /// The seed in use (drawn at build time when the params gave none); log it to replay a run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn n_vocab(&self) -> usize {
        self.n_vocab
    }

    /// Stage names in order, e.g. ["penalties", "top_k", ..., "dist"].
    pub fn stage_names(&self) -> Vec<&'static str> {
        self.stages.iter().map(|s| s.name()).collect()
    }

    /// The candidates left after the last `sample` (with `probs` when dist ran), e.g. for logprobs.
    pub fn candidates(&self) -> &Candidates {
        &self.cands
    }
}
