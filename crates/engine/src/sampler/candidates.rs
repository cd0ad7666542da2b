//! The working set the stages narrow down: token ids with their logits, reused across steps.

use std::cmp::Ordering;

use super::math::{exp_shifted_into, max_f32, scan_hits};

/// Candidate tokens for one position. `ids`, `logits` (and `probs` when present) are parallel.
/// Buffers are kept between steps, so after the first step sampling does not allocate.
#[derive(Debug, Default, Clone)]
pub struct Candidates {
    pub ids: Vec<u32>,           // [n] token ids
    pub logits: Vec<f32>,        // [n] scores, edited by the stages
    pub probs: Option<Vec<f32>>, // [n] softmax of `logits`; Some only after `softmax()`, cleared by edits
    /// Index (into `ids`) of the token the final stage picked.
    pub selected: Option<usize>,
    sorted: bool,           // true when logits are descending, ties by ascending id
    spare_probs: Vec<f32>,  // the probs buffer while `probs` is None
    pairs: Vec<(f32, u32)>, // [<= 2k] top-k buffer, or [n] sort buffer
}

/// Descending logit, then ascending id, so every ordering (and every tie) is deterministic.
fn by_rank(a: &(f32, u32), b: &(f32, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Top k of (logit, id) by `by_rank` into `pairs`, sorted. One streaming pass with a buffer of
/// about 2k and an occasional partial selection (`select_nth_unstable_by`) on that buffer:
/// O(n), chunks of 8 below the current k-th best are skipped with one vector compare, no copy
/// and no sort of the full vocabulary. NaN counts as -inf, -0.0 as 0.0 (as in `fill_from`).
fn stream_top_k(
    logits: &[f32],
    id_at: impl Fn(usize) -> u32,
    k: usize,
    pairs: &mut Vec<(f32, u32)>,
) {
    let cap = 2 * k + 64;
    pairs.reserve(cap);
    let mut worst = (f32::NEG_INFINITY, 0u32); // rank of the k-th kept so far
    let mut full = false;
    // `thr` only gates which chunks get the exact test below: -inf until the buffer first
    // fills, then the k-th best logit so far. Ties and NaNs get through.
    let thr = std::cell::Cell::new(f32::NEG_INFINITY);
    scan_hits(
        logits,
        |l| l >= thr.get() || l.is_nan(),
        |i| {
            let l = logits[i];
            let l = if l.is_nan() {
                f32::NEG_INFINITY
            } else {
                l + 0.0
            };
            let id = id_at(i);
            if !full || l > worst.0 || (l == worst.0 && id < worst.1) {
                pairs.push((l, id));
                if pairs.len() == cap {
                    pairs.select_nth_unstable_by(k - 1, by_rank);
                    pairs.truncate(k);
                    worst = pairs[k - 1];
                    thr.set(worst.0);
                    full = true;
                }
            }
        },
    );
    if pairs.len() > k {
        pairs.select_nth_unstable_by(k - 1, by_rank);
        pairs.truncate(k);
    }
    pairs.sort_unstable_by(by_rank);
}

impl Candidates {
    pub fn new() -> Self {
        Self::default()
    }

    /// Resets to the full vocabulary: id i with logit `logits[i]`. NaN becomes -inf
    /// (never picked) and -0.0 becomes 0.0 (so ties are ties).
    pub fn fill_from(&mut self, logits: &[f32]) {
        self.invalidate_probs();
        self.selected = None;
        self.sorted = false;
        self.ids.clear();
        self.ids.extend(0..logits.len() as u32);
        self.logits.clear();
        self.logits.extend(logits.iter().map(|&x| {
            if x.is_nan() {
                f32::NEG_INFINITY
            } else {
                x + 0.0
            }
        }));
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// True when logits are descending with ties by ascending id.
    pub fn is_sorted(&self) -> bool {
        self.sorted
    }

    /// Call after reordering or editing `logits` by hand.
    pub fn mark_unsorted(&mut self) {
        self.sorted = false;
    }

    /// Drops `probs` (keeping its buffer for reuse); any edit of the set or the logits must call this.
    pub fn invalidate_probs(&mut self) {
        if let Some(p) = self.probs.take() {
            self.spare_probs = p;
        }
    }

    /// The picked token id, if a final stage ran.
    pub fn selected_id(&self) -> Option<u32> {
        self.selected.and_then(|i| self.ids.get(i).copied())
    }

    /// Largest logit, None when empty.
    pub fn max_logit(&self) -> Option<f32> {
        if self.is_empty() {
            None
        } else if self.sorted {
            Some(self.logits[0])
        } else {
            Some(max_f32(&self.logits))
        }
    }

    /// Index of the best candidate: highest logit, ties to the lowest id.
    pub fn argmax(&self) -> Option<usize> {
        let max = self.max_logit()?;
        if self.sorted {
            return Some(0);
        }
        let (logits, ids) = (&self.logits, &self.ids);
        let mut best: Option<(u32, usize)> = None;
        scan_hits(
            logits,
            |l| l == max,
            |i| {
                let better = match best {
                    None => true,
                    Some((bid, _)) => ids[i] < bid,
                };
                if logits[i] == max && better {
                    best = Some((ids[i], i));
                }
            },
        );
        // Only NaNs written by hand can miss the max; the first candidate is as good as any then.
        Some(best.map_or(0, |(_, i)| i))
    }

    /// Sorts all candidates descending. O(n log n): stages use it only on small sets.
    pub fn sort_desc(&mut self) {
        if self.sorted {
            return;
        }
        self.pairs.clear();
        self.pairs
            .extend(self.logits.iter().copied().zip(self.ids.iter().copied()));
        self.pairs.sort_unstable_by(by_rank);
        self.take_pairs();
    }

    /// Keeps the k best candidates (k >= 1), sorted, without sorting the rest (see `collect_top_k`).
    pub fn retain_top_k(&mut self, k: usize) {
        let k = k.max(1);
        if k >= self.len() {
            self.sort_desc();
        } else if self.sorted {
            self.truncate(k);
        } else {
            self.collect_top_k(k);
            self.take_pairs();
        }
    }

    /// The k best (logit, id) pairs, sorted, leaving the candidates as they are; follow with
    /// `commit_collected` to keep exactly those.
    pub(crate) fn collect_top_k(&mut self, k: usize) -> &[(f32, u32)] {
        let k = k.clamp(1, self.len().max(1));
        self.pairs.clear();
        if self.sorted {
            self.pairs.extend(
                self.logits
                    .iter()
                    .copied()
                    .zip(self.ids.iter().copied())
                    .take(k),
            );
        } else {
            let ids = &self.ids;
            stream_top_k(&self.logits, |i| ids[i], k, &mut self.pairs);
        }
        &self.pairs
    }

    /// Same result as `fill_from` then `retain_top_k(k)`, without materialising the full
    /// vocabulary: one read of `logits`, k entries written.
    pub fn fill_top_k_from(&mut self, logits: &[f32], k: usize) {
        if k >= logits.len() {
            self.fill_from(logits);
            self.sort_desc();
            return;
        }
        self.pairs.clear();
        stream_top_k(logits, |i| i as u32, k.max(1), &mut self.pairs);
        self.take_pairs();
    }

    /// Same result as `fill_from` then keeping only the argmax (ties to the lowest id):
    /// the greedy fast path, one read of `logits` and nothing copied.
    pub fn fill_argmax_from(&mut self, logits: &[f32]) {
        let max = max_f32(logits); // NaN ignored
        let mut best = None;
        scan_hits(
            logits,
            |l| l == max,
            |i| {
                if best.is_none() && logits[i] == max {
                    best = Some(i);
                }
            },
        );
        self.invalidate_probs();
        self.ids.clear();
        self.logits.clear();
        match best {
            Some(i) => {
                self.ids.push(i as u32);
                self.logits.push(logits[i] + 0.0);
            }
            // Empty or all NaN: keep one -inf candidate, as `fill_from` would have made it.
            None if !logits.is_empty() => {
                self.ids.push(0);
                self.logits.push(f32::NEG_INFINITY);
            }
            None => {}
        }
        self.sorted = true;
        self.selected = if self.ids.is_empty() { None } else { Some(0) };
    }

    /// Makes the pairs from the last `collect_top_k` the candidate set.
    pub(crate) fn commit_collected(&mut self) {
        self.take_pairs();
    }

    /// Keeps candidates with logit >= `min`, preserving order (and sortedness).
    pub fn retain_min_logit(&mut self, min: f32) {
        self.invalidate_probs();
        self.selected = None;
        let mut w = 0;
        let (logits, ids) = (&mut self.logits, &mut self.ids);
        // Chunks with no survivor are skipped; survivors only ever move left, so the
        // in-place compaction never overwrites an entry it has yet to read.
        let n = logits.len();
        let mut r = 0;
        while r < n {
            let end = (r + 8).min(n);
            let mut any = false;
            for &l in &logits[r..end] {
                any |= l >= min;
            }
            if any {
                for i in r..end {
                    if logits[i] >= min {
                        logits[w] = logits[i];
                        ids[w] = ids[i];
                        w += 1;
                    }
                }
            }
            r = end;
        }
        logits.truncate(w);
        ids.truncate(w);
    }

    /// Keeps only the candidate at `index` (no-op when out of range).
    pub fn keep_only(&mut self, index: usize) {
        if index >= self.len() {
            return;
        }
        self.invalidate_probs();
        self.selected = None;
        self.ids.swap(0, index);
        self.logits.swap(0, index);
        self.ids.truncate(1);
        self.logits.truncate(1);
        self.sorted = true;
    }

    /// Keeps the first n candidates.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.invalidate_probs();
            self.selected = None;
            self.ids.truncate(n);
            self.logits.truncate(n);
        }
    }

    /// Fills `probs` with the softmax of `logits`, reusing the buffer. A row of all -inf
    /// becomes uniform; with +inf logits those share all the mass.
    pub fn softmax(&mut self) {
        let mut p = match self.probs.take() {
            Some(p) => p,
            None => std::mem::take(&mut self.spare_probs),
        };
        let Some(max) = self.max_logit() else {
            p.clear();
            self.probs = Some(p);
            return;
        };
        let sum = exp_shifted_into(&self.logits, max, &mut p);
        if sum > 0.0 {
            let inv = (1.0 / sum) as f32;
            p.iter_mut().for_each(|x| *x *= inv);
        }
        self.probs = Some(p);
    }

    /// Replaces the set with the (sorted) contents of `pairs`.
    fn take_pairs(&mut self) {
        self.invalidate_probs();
        self.selected = None;
        self.ids.clear();
        self.logits.clear();
        self.ids.extend(self.pairs.iter().map(|p| p.1));
        self.logits.extend(self.pairs.iter().map(|p| p.0));
        self.sorted = true;
    }
}
