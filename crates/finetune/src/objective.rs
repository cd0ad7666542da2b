//! What the trainer optimizes: anything that maps a batch and the current parameters to a summed
//! loss and its gradients. The LoRA model implements it; so can small test problems.

use crate::{Batch, FinetuneError, LoraParams};

pub trait Objective {
    /// Sum of the per-target losses over `batch` (nats) and how many targets there were;
    /// adds d(sum)/d(params) into `grads` (same shapes as `params`). `train` turns dropout on;
    /// `seed` makes its masks reproducible.
    fn loss_and_grad(
        &mut self,
        batch: &Batch,
        params: &LoraParams,
        grads: &mut LoraParams,
        train: bool,
        seed: u64,
    ) -> Result<(f64, usize), FinetuneError>;

    /// The summed loss alone (evaluation; no dropout, no gradients).
    fn loss(&mut self, batch: &Batch, params: &LoraParams) -> Result<(f64, usize), FinetuneError>;
}
