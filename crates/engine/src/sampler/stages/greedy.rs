use crate::sampler::{Candidates, SamplerStage};

/// Picks the highest logit; ties go to the lowest token id.
#[derive(Debug, Default, Clone)]
pub struct Greedy;

impl SamplerStage for Greedy {
    fn name(&self) -> &'static str {
        "greedy"
    }

    fn apply(&mut self, c: &mut Candidates) {
        c.selected = c.argmax();
    }
}
