use crate::sampler::math::{exp_shifted, exp_shifted_sum};
use crate::sampler::{Candidates, SamplerStage};

/// Nucleus sampling: keeps the smallest prefix (by descending probability) whose mass reaches p.
/// On an unsorted full vocabulary it looks at a growing top slice (64, 512, ...) until that
/// slice holds mass >= p, so a peaked 262k-token row costs O(n), not O(n log n).
#[derive(Debug, Clone)]
pub struct TopP {
    pub p: f32,
}

const FIRST_SLICE: usize = 64;

impl SamplerStage for TopP {
    fn name(&self) -> &'static str {
        "top_p"
    }

    fn apply(&mut self, c: &mut Candidates) {
        if self.p.is_nan() || self.p >= 1.0 || c.len() <= 1 {
            return;
        }
        let Some(max) = c.max_logit() else { return };
        if !max.is_finite() {
            return;
        }
        let z = exp_shifted_sum(&c.logits, max);
        let target = self.p as f64 * z; // compare unnormalised mass against p * z

        if !c.is_sorted() {
            let mut k = FIRST_SLICE;
            loop {
                if k >= c.len() {
                    c.sort_desc();
                    break;
                }
                let mass: f64 = c
                    .collect_top_k(k)
                    .iter()
                    .map(|&(l, _)| exp_shifted(l, max) as f64)
                    .sum();
                if mass >= target {
                    c.commit_collected();
                    break;
                }
                k = k.saturating_mul(8);
            }
        }

        let mut cum = 0.0f64;
        let mut keep = c.len();
        for (i, &l) in c.logits.iter().enumerate() {
            cum += exp_shifted(l, max) as f64;
            if cum >= target {
                keep = i + 1;
                break;
            }
        }
        c.truncate(keep.max(1));
    }
}
