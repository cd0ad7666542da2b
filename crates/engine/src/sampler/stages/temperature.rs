use crate::sampler::{Candidates, SamplerStage};

/// Divides logits by t (t < 1 sharpens, t > 1 flattens). t <= 0 keeps only the best token.
#[derive(Debug, Clone)]
pub struct Temperature {
    pub t: f32,
}

impl SamplerStage for Temperature {
    fn name(&self) -> &'static str {
        "temperature"
    }

    fn apply(&mut self, c: &mut Candidates) {
        if self.t == 1.0 || c.is_empty() {
            return;
        }
        if self.t.is_nan() || self.t <= 0.0 {
            if let Some(best) = c.argmax() {
                c.keep_only(best);
            }
            return;
        }
        c.invalidate_probs();
        // Division, not multiplication by 1/t: a tiny t must not turn 0 * inf into NaN.
        let t = self.t;
        c.logits.iter_mut().for_each(|l| *l /= t);
    }
}
