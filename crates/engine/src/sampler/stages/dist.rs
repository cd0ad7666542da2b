use crate::sampler::math::sum_f32;
use crate::sampler::rng::Xoshiro256;
use crate::sampler::{Candidates, SamplerStage};

/// Softmax over the remaining candidates, then one seeded draw (inverse CDF). `reset`
/// restarts the stream from the same seed, so a reset chain replays the same choices.
#[derive(Debug, Clone)]
pub struct Dist {
    seed: u64,
    rng: Xoshiro256,
    block_sums: Vec<f64>, // [ceil(n / BLOCK)] probability mass per block
}

/// The draw first finds the block holding the target, then walks only that block, so a
/// full-vocabulary draw is not one 262k-long chain of dependent additions.
const BLOCK: usize = 1024;

impl Dist {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            rng: Xoshiro256::seed_from_u64(seed),
            block_sums: Vec::new(),
        }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl SamplerStage for Dist {
    fn name(&self) -> &'static str {
        "dist"
    }

    fn apply(&mut self, c: &mut Candidates) {
        c.selected = None;
        if c.is_empty() {
            return;
        }
        c.softmax();
        let Some(probs) = c.probs.as_ref() else {
            return;
        };
        self.block_sums.clear();
        self.block_sums.extend(probs.chunks(BLOCK).map(sum_f32));
        let total: f64 = self.block_sums.iter().sum();
        let target = self.rng.next_f64() * total;

        let mut cum = 0.0f64;
        for (b, &mass) in self.block_sums.iter().enumerate() {
            if cum + mass <= target {
                cum += mass;
                continue;
            }
            let start = b * BLOCK;
            let block = &probs[start..(start + BLOCK).min(probs.len())];
            // Rounding between the lane sum and this walk can leave the target just past
            // the end: then the block's last token with any mass is the right pick.
            let mut pick = block.iter().rposition(|&p| p > 0.0).unwrap_or(0);
            for (j, &p) in block.iter().enumerate() {
                cum += p as f64;
                if target < cum {
                    pick = j;
                    break;
                }
            }
            c.selected = Some(start + pick);
            return;
        }
        // Only reachable if the total rounds above every block: take the last token with mass.
        c.selected = Some(probs.iter().rposition(|&p| p > 0.0).unwrap_or(0));
    }

    fn reset(&mut self) {
        self.rng = Xoshiro256::seed_from_u64(self.seed);
    }
}
