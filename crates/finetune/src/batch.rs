//! One training step's tokens: several documents packed into one row of tokens.

/// Target value meaning "no loss at this position" (prompt tokens, padding, document ends).
pub const IGNORE: u32 = u32::MAX;

/// A packed sequence: `tokens[i]` predicts `targets[i]` (usually `tokens[i + 1]` of the same document,
/// or [`IGNORE`]). Documents start at `doc_starts` (the first is 0); attention never crosses a
/// document boundary and positions restart at 0 in each document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    pub tokens: Vec<u32>,
    pub targets: Vec<u32>,
    pub doc_starts: Vec<usize>,
}

impl Batch {
    /// Positions that carry a loss.
    pub fn n_targets(&self) -> usize {
        self.targets.iter().filter(|&&t| t != IGNORE).count()
    }

    /// The (start, len) of each document.
    pub fn docs(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let n = self.tokens.len();
        self.doc_starts.iter().enumerate().map(move |(i, &s)| {
            let end = self.doc_starts.get(i + 1).copied().unwrap_or(n);
            (s, end - s)
        })
    }
}
