//! SentencePiece BPE ("llama" vocabularies), as llama.cpp runs it.
//!
//! Start from one symbol per UTF-8 character; repeatedly merge the adjacent pair whose joined text
//! is a vocabulary token with the highest score (ties: the leftmost pair); stop when no adjacent
//! pair forms a token. A final symbol that is not a token (a character outside the vocabulary)
//! falls back to one `<0xXX>` token per byte. The caller has already replaced spaces by U+2581.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What the algorithm needs from the vocabulary.
pub(crate) trait SpmVocab {
    fn lookup(&self, text: &str) -> Option<u32>;
    fn score(&self, id: u32) -> f32;
    /// The token for a raw byte (`<0xXX>`), for characters outside the vocabulary.
    fn byte_token(&self, byte: u8) -> Option<u32>;
}

#[derive(Clone, Copy)]
struct Symbol {
    prev: i32,
    next: i32,
    start: usize, // byte offset into the text
    len: usize,   // bytes; 0 once merged into its left neighbour
}

struct Bigram {
    score: f32,
    left: i32,
    right: i32,
    len: usize, // byte length of the joined text when queued, to detect stale entries
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// Max-heap order: higher score first, then the leftmost pair. Scores compare as C++ floats
    /// do (-0.0 == 0.0), so ties break exactly as in llama.cpp.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .partial_cmp(&other.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// Appends the token ids of `text` (already whitespace-escaped) to `out`.
pub(crate) fn tokenize(vocab: &impl SpmVocab, text: &str, out: &mut Vec<u32>) {
    if text.is_empty() {
        return;
    }
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (i, (start, c)) in text.char_indices().enumerate() {
        let i = i as i32;
        let end = start + c.len_utf8();
        symbols.push(Symbol {
            prev: i - 1,
            next: if end == text.len() { -1 } else { i + 1 },
            start,
            len: c.len_utf8(),
        });
    }

    let mut queue = BinaryHeap::with_capacity(symbols.len());
    let try_add = |symbols: &[Symbol], queue: &mut BinaryHeap<Bigram>, left: i32, right: i32| {
        if left < 0 || right < 0 {
            return;
        }
        let (l, r) = (symbols[left as usize], symbols[right as usize]);
        let joined = &text[l.start..l.start + l.len + r.len];
        if let Some(id) = vocab.lookup(joined) {
            queue.push(Bigram {
                score: vocab.score(id),
                left,
                right,
                len: joined.len(),
            });
        }
    };
    for i in 1..symbols.len() as i32 {
        try_add(&symbols, &mut queue, i - 1, i);
    }

    while let Some(b) = queue.pop() {
        let (l, r) = (symbols[b.left as usize], symbols[b.right as usize]);
        if l.len == 0 || r.len == 0 || l.len + r.len != b.len {
            continue; // one side was merged since this pair was queued
        }
        symbols[b.left as usize].len += r.len;
        symbols[b.right as usize].len = 0;
        symbols[b.left as usize].next = r.next;
        if r.next >= 0 {
            symbols[r.next as usize].prev = b.left;
        }
        try_add(&symbols, &mut queue, l.prev, b.left);
        try_add(&symbols, &mut queue, b.left, r.next);
    }

    let mut i = 0i32;
    while i >= 0 {
        let s = symbols[i as usize];
        let piece = &text[s.start..s.start + s.len];
        match vocab.lookup(piece) {
            Some(id) => out.push(id),
            None => out.extend(piece.bytes().filter_map(|b| vocab.byte_token(b))),
        }
        i = s.next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Toy {
        ids: HashMap<&'static str, u32>,
        scores: Vec<f32>,
    }

    impl SpmVocab for Toy {
        fn lookup(&self, text: &str) -> Option<u32> {
            self.ids.get(text).copied()
        }
        fn score(&self, id: u32) -> f32 {
            self.scores[id as usize]
        }
        fn byte_token(&self, byte: u8) -> Option<u32> {
            Some(100 + byte as u32)
        }
    }

    fn toy() -> Toy {
        let toks = ["a", "b", "c", "ab", "bc", "abc"];
        let scores = vec![0.0, 0.0, 0.0, -1.0, -0.5, -2.0];
        Toy {
            ids: toks
                .iter()
                .enumerate()
                .map(|(i, t)| (*t, i as u32))
                .collect(),
            scores,
        }
    }

    #[test]
    fn highest_score_pair_merges_first() {
        // "bc" (-0.5) beats "ab" (-1.0); then "a"+"bc" = "abc" is a token.
        let mut out = Vec::new();
        tokenize(&toy(), "abc", &mut out);
        assert_eq!(out, [5]);
        out.clear();
        tokenize(&toy(), "abab", &mut out);
        assert_eq!(out, [3, 3]);
    }

    #[test]
    fn unknown_characters_fall_back_to_bytes() {
        let mut out = Vec::new();
        tokenize(&toy(), "aé", &mut out);
        assert_eq!(out, [0, 100 + 0xC3, 100 + 0xA9]);
    }
}
