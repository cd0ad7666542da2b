use std::collections::VecDeque;

use crate::sampler::{Candidates, SamplerStage};

/// Repetition penalties over the last `last_n` accepted tokens, with llama.cpp's semantics:
/// for a token seen `count` > 0 times, a positive logit is divided by `repeat` and a negative
/// one multiplied by it, then `count * frequency + presence` is subtracted.
#[derive(Debug, Clone)]
pub struct Penalties {
    last_n: usize,
    repeat: f32,
    frequency: f32,
    presence: f32,
    window: VecDeque<u32>,   // [<= last_n] accepted tokens, oldest first
    counts: Vec<(u32, u32)>, // [<= last_n] (token, occurrences in window), sorted by token
}

impl Penalties {
    pub fn new(last_n: usize, repeat: f32, frequency: f32, presence: f32) -> Self {
        Self {
            last_n,
            repeat,
            frequency,
            presence,
            window: VecDeque::with_capacity(last_n),
            counts: Vec::with_capacity(last_n),
        }
    }

    /// (token, count) for every token in the window, sorted by token.
    pub fn counts(&self) -> &[(u32, u32)] {
        &self.counts
    }

    fn penalise(&self, logit: f32, count: u32) -> f32 {
        let l = if logit <= 0.0 {
            logit * self.repeat
        } else {
            logit / self.repeat
        };
        l - count as f32 * self.frequency - self.presence
    }

    fn bump(&mut self, token: u32, up: bool) {
        match self.counts.binary_search_by_key(&token, |&(t, _)| t) {
            Ok(i) if up => self.counts[i].1 += 1,
            Ok(i) => {
                self.counts[i].1 -= 1;
                if self.counts[i].1 == 0 {
                    self.counts.remove(i);
                }
            }
            Err(i) if up => self.counts.insert(i, (token, 1)),
            Err(_) => {} // unreachable by construction: only windowed tokens are removed
        }
    }
}

impl SamplerStage for Penalties {
    fn name(&self) -> &'static str {
        "penalties"
    }

    fn apply(&mut self, c: &mut Candidates) {
        if self.counts.is_empty() || c.is_empty() {
            return;
        }
        c.invalidate_probs();
        c.mark_unsorted();
        // Right after `fill_from`, position == id, so each seen token is one index away.
        let direct = self
            .counts
            .iter()
            .all(|&(t, _)| c.ids.get(t as usize) == Some(&t));
        if direct {
            for &(t, n) in &self.counts {
                let l = &mut c.logits[t as usize];
                *l = self.penalise(*l, n);
            }
        } else {
            for (l, id) in c.logits.iter_mut().zip(&c.ids) {
                if let Ok(i) = self.counts.binary_search_by_key(id, |&(t, _)| t) {
                    *l = self.penalise(*l, self.counts[i].1);
                }
            }
        }
    }

    fn accept(&mut self, token: u32) {
        if self.last_n == 0 {
            return;
        }
        if self.window.len() == self.last_n {
            if let Some(old) = self.window.pop_front() {
                self.bump(old, false);
            }
        }
        self.window.push_back(token);
        self.bump(token, true);
    }

    fn reset(&mut self) {
        self.window.clear();
        self.counts.clear();
    }
}
