//! Log-probabilities of tokens under one row of logits (OpenAI `logprobs`, lm-eval scoring).

use serde::Serialize;

/// A token's log-probability and, when asked, the most likely alternatives at that position.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TokenLogprob {
    pub id: u32,
    pub logprob: f32,
    /// `(id, logprob)`, most likely first.
    pub top: Vec<(u32, f32)>,
}

/// log-sum-exp of a logits row, in f64 so 262k-entry rows keep their precision.
pub fn log_normalizer(row: &[f32]) -> f64 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    max + row.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>().ln()
}

/// `id`'s log-probability under `row`, with the `top_k` best alternatives.
pub fn token_logprob(row: &[f32], id: u32, top_k: usize) -> TokenLogprob {
    let lse = log_normalizer(row);
    let lp = |i: usize| (row[i] as f64 - lse) as f32;
    let mut top: Vec<(u32, f32)> = Vec::with_capacity(top_k);
    if top_k > 0 {
        // Partial selection: keep the k best seen so far, sorted descending.
        for (i, &v) in row.iter().enumerate() {
            if top.len() == top_k && v <= row[top[top_k - 1].0 as usize] {
                continue;
            }
            let at = top.partition_point(|&(j, _)| row[j as usize] >= v);
            top.insert(at, (i as u32, 0.0));
            top.truncate(top_k);
        }
        for t in &mut top {
            t.1 = lp(t.0 as usize);
        }
    }
    TokenLogprob { id, logprob: lp(id as usize), top }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_softmax() {
        let row = [1.0f32, 2.0, 3.0, 0.5];
        let z: f64 = row.iter().map(|&v| (v as f64).exp()).sum();
        let t = token_logprob(&row, 1, 2);
        assert!((t.logprob as f64 - (2.0f64.exp() / z).ln()).abs() < 1e-6);
        assert_eq!(t.top.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2, 1]);
        assert!((t.top[0].1 as f64 - (3.0f64.exp() / z).ln()).abs() < 1e-6);
        let probs: f64 = (0..4).map(|i| (token_logprob(&row, i, 0).logprob as f64).exp()).sum();
        assert!((probs - 1.0).abs() < 1e-6);
    }

    #[test]
    fn top_k_larger_than_vocab_lists_all() {
        let t = token_logprob(&[0.0, 1.0], 0, 5);
        assert_eq!(t.top.len(), 2);
        assert_eq!(t.top[0].0, 1);
    }
}
