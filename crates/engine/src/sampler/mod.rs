//! The sampler: logits -> one token id, as a chain of small stages
//! (the shape of llama.cpp's `llama_sampler_i`: apply / accept / reset).
//!
//! Default order: penalties -> top_k -> top_p -> min_p -> temperature -> dist;
//! with temperature 0: penalties -> greedy.

mod candidates;
mod chain;
mod error;
mod math;
mod params;
pub mod rng;
mod stages;

pub use candidates::Candidates;
pub use chain::SamplerChain;
pub use error::SamplerError;
pub use params::SamplingParams;
pub use stages::{Dist, Greedy, MinP, Penalties, Temperature, TopK, TopP};

/// One step of the chain. `apply` narrows or rescales the candidates; a final stage
/// (Greedy, Dist) sets `Candidates::selected`.
pub trait SamplerStage: Send {
    fn name(&self) -> &'static str;
    fn apply(&mut self, c: &mut Candidates);
    /// Called with every token the caller keeps (generated, or prompt tokens to penalise).
    fn accept(&mut self, _token: u32) {}
    /// Forget all history, as at the start of a new sequence.
    fn reset(&mut self) {}
}
