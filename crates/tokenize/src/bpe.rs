//! Byte-level BPE ("gpt2" vocabularies: Llama 3, Qwen, Falcon, GPT-2...).
//!
//! The text is split into words by the pre-tokenizer; each word's bytes start as one symbol each
//! (the byte-level character that stands for the byte); adjacent pairs are merged lowest merge
//! rank first (ties: leftmost) until no listed merge applies.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::byte_level;
use crate::error::{Result, TokenizeError};
use crate::pretokenize::{is_llama3_family, PreTokenizer};

#[derive(Debug)]
pub(crate) struct Bpe {
    /// (left id, right id) -> (rank, merged id)
    merges: HashMap<(u32, u32), (u32, u32)>,
    pretok: PreTokenizer,
    /// Llama 3 style: a word that is itself a token is emitted whole, without merging.
    ignore_merges: bool,
    byte_ids: [Option<u32>; 256], // raw byte -> id of the token for its byte-level character
}

#[derive(Clone, Copy)]
struct Symbol {
    id: u32,
    prev: i32,
    next: i32,
    alive: bool,
}

impl Bpe {
    pub fn new(
        lookup: impl Fn(&str) -> Option<u32>,
        merges: &[String],
        pre: Option<&str>,
    ) -> Result<Self> {
        let pretok = PreTokenizer::for_pre(pre)?;
        let mut byte_ids = [None; 256];
        for b in 0..=255u8 {
            byte_ids[b as usize] = lookup(byte_level::byte_to_char(b).encode_utf8(&mut [0; 4]));
        }
        let mut table = HashMap::with_capacity(merges.len());
        let mut joined = String::new();
        for (rank, m) in merges.iter().enumerate() {
            // Split at the first space after the first byte, as llama.cpp does (a merge's left
            // part may itself start with a space). A space byte is always a char boundary.
            let Some(pos) = m.bytes().skip(1).position(|b| b == b' ').map(|p| p + 1) else {
                return Err(TokenizeError::BadVocab(format!(
                    "merge #{rank} {m:?} has no space separator"
                )));
            };
            let (left, right) = (&m[..pos], &m[pos + 1..]);
            joined.clear();
            joined.push_str(left);
            joined.push_str(right);
            // A merge whose parts or result are not tokens can never apply; skip it.
            if let (Some(l), Some(r), Some(j)) = (lookup(left), lookup(right), lookup(&joined)) {
                table.entry((l, r)).or_insert((rank as u32, j));
            }
        }
        Ok(Self {
            merges: table,
            pretok,
            ignore_merges: pre.is_some_and(is_llama3_family),
            byte_ids,
        })
    }

    pub fn tokenize(
        &self,
        lookup: impl Fn(&str) -> Option<u32>,
        unk: Option<u32>,
        text: &str,
        out: &mut Vec<u32>,
    ) {
        let mut symbols: Vec<Symbol> = Vec::new();
        let mut queue: BinaryHeap<Reverse<(u32, i32, u32, u32)>> = BinaryHeap::new(); // (rank, left, left id, right id)
        for (start, end) in self.pretok.split(text) {
            let word = &text.as_bytes()[start..end];
            if self.ignore_merges {
                if let Some(id) = lookup(&byte_level::encode(word)) {
                    out.push(id);
                    continue;
                }
            }
            symbols.clear();
            queue.clear();
            for &b in word {
                // A byte with no token and no <unk> is dropped, as llama.cpp does.
                if let Some(id) = self.byte_ids[b as usize].or(unk) {
                    let i = symbols.len() as i32;
                    symbols.push(Symbol {
                        id,
                        prev: i - 1,
                        next: i + 1,
                        alive: true,
                    });
                }
            }
            let Some(last) = symbols.last_mut() else {
                continue;
            };
            last.next = -1;

            let push = |symbols: &[Symbol], queue: &mut BinaryHeap<_>, left: i32, right: i32| {
                if left < 0 || right < 0 {
                    return;
                }
                let (l, r) = (symbols[left as usize].id, symbols[right as usize].id);
                if let Some(&(rank, _)) = self.merges.get(&(l, r)) {
                    queue.push(Reverse((rank, left, l, r)));
                }
            };
            for i in 1..symbols.len() as i32 {
                push(&symbols, &mut queue, i - 1, i);
            }
            while let Some(Reverse((_, left, lid, rid))) = queue.pop() {
                let l = symbols[left as usize];
                if !l.alive || l.id != lid || l.next < 0 {
                    continue;
                }
                let right = l.next;
                let r = symbols[right as usize];
                if r.id != rid {
                    continue; // stale: a neighbour changed since this pair was queued
                }
                let (_, merged) = self.merges[&(lid, rid)];
                symbols[left as usize].id = merged;
                symbols[left as usize].next = r.next;
                symbols[right as usize].alive = false;
                if r.next >= 0 {
                    symbols[r.next as usize].prev = left;
                }
                push(&symbols, &mut queue, l.prev, left);
                push(&symbols, &mut queue, left, r.next);
            }
            let mut i = 0;
            while i >= 0 {
                out.push(symbols[i as usize].id);
                i = symbols[i as usize].next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_apply_in_rank_order() {
        // Tokens: byte-level chars for a, b, c plus "ab", "bc", "abc".
        let toks = ["a", "b", "c", "ab", "bc", "abc"];
        let ids: HashMap<&str, u32> = toks
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i as u32))
            .collect();
        let lookup = |s: &str| ids.get(s).copied();
        // "b c" has the better rank, so "abc" can't come from "ab"+"c"; "a bc" is not listed.
        let merges = vec!["b c".to_string(), "a b".to_string(), "ab c".to_string()];
        let bpe = Bpe::new(lookup, &merges, Some("gpt2")).unwrap();
        let mut out = Vec::new();
        bpe.tokenize(lookup, None, "abc", &mut out);
        assert_eq!(out, [0, 4]);
    }

    #[test]
    fn merges_may_start_with_a_multibyte_character() {
        let toks = ["\u{120}", "a", "\u{120}a"]; // "Ġ", "a", "Ġa"
        let ids: HashMap<&str, u32> = toks
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i as u32))
            .collect();
        let lookup = |s: &str| ids.get(s).copied();
        let bpe = Bpe::new(lookup, &["\u{120} a".to_string()], Some("gpt2")).unwrap();
        let mut out = Vec::new();
        bpe.tokenize(lookup, None, " a", &mut out);
        assert_eq!(out, [2]);
    }

    #[test]
    fn a_merge_without_a_space_is_a_clear_error() {
        let err = Bpe::new(|_| Some(0), &["ab".to_string()], None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no space"), "{err}");
    }
}
