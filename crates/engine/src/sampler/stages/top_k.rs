use crate::sampler::{Candidates, SamplerStage};

/// Keeps the k highest logits (sorted). k = 0 is a no-op.
#[derive(Debug, Clone)]
pub struct TopK {
    pub k: usize,
}

impl SamplerStage for TopK {
    fn name(&self) -> &'static str {
        "top_k"
    }

    fn apply(&mut self, c: &mut Candidates) {
        if self.k > 0 {
            c.retain_top_k(self.k);
        }
    }
}
