//! Learning-rate schedules: linear warmup from 0 to the peak, then cosine, linear or constant
//! decay to a floor over the remaining steps.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decay {
    Cosine,
    Linear,
    Constant,
}

impl Decay {
    pub fn parse(s: &str) -> Option<Decay> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cosine" => Some(Decay::Cosine),
            "linear" => Some(Decay::Linear),
            "constant" => Some(Decay::Constant),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    pub peak_lr: f32,
    pub min_lr: f32,
    pub warmup_steps: usize,
    pub total_steps: usize,
    pub decay: Decay,
}

impl Schedule {
    /// The learning rate of optimizer step `step` (0-based). Warmup step i uses peak * (i + 1) / warmup,
    /// so the first step already moves the parameters.
    pub fn lr(&self, step: usize) -> f32 {
        if step < self.warmup_steps {
            return self.peak_lr * (step + 1) as f32 / self.warmup_steps as f32;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps);
        // progress 0 at the first step after warmup, 1 at the last step.
        let t = if span <= 1 { 0.0 } else { ((step - self.warmup_steps) as f64 / (span - 1) as f64).min(1.0) };
        let f = match self.decay {
            Decay::Constant => return self.peak_lr,
            Decay::Linear => 1.0 - t,
            Decay::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * t).cos()),
        };
        (self.min_lr as f64 + (self.peak_lr - self.min_lr) as f64 * f) as f32
    }
}
