use crate::sampler::{Candidates, SamplerStage};

/// Drops tokens with p < min_p * p_max. In logit space that is l < l_max + ln(min_p),
/// so no softmax and no sort are needed. Always keeps the best token.
#[derive(Debug, Clone)]
pub struct MinP {
    pub p: f32,
}

impl SamplerStage for MinP {
    fn name(&self) -> &'static str {
        "min_p"
    }

    fn apply(&mut self, c: &mut Candidates) {
        if self.p.is_nan() || self.p <= 0.0 || c.len() <= 1 {
            return;
        }
        let Some(max) = c.max_logit() else { return };
        if !max.is_finite() {
            return;
        }
        c.retain_min_logit(max + self.p.min(1.0).ln());
    }
}
