//! Compact token storage: all token texts in one buffer, plus an open-addressing index from text
//! to id. Building it for Gemma's 262,144 tokens makes two allocations instead of half a million,
//! which is most of the tokenizer's load time.

/// Byte strings packed end to end; item `i` is `data[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Default, Clone)]
pub(crate) struct Packed {
    data: Vec<u8>,
    offsets: Vec<u32>, // [n + 1]
}

impl Packed {
    pub fn with_capacity(items: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(items + 1);
        offsets.push(0);
        Self {
            data: Vec::with_capacity(bytes),
            offsets,
        }
    }

    /// Appends one item, written by `fill` into the shared buffer.
    pub fn push_with(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        fill(&mut self.data);
        self.offsets.push(self.data.len() as u32);
    }

    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let (a, b) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        Some(&self.data[a as usize..b as usize])
    }
}

const EMPTY: u64 = u64::MAX;

/// Token texts by id, and ids by text.
#[derive(Debug, Clone)]
pub(crate) struct TokenTable {
    data: String,      // every token text, end to end
    offsets: Vec<u32>, // [n_vocab + 1] text i is data[offsets[i]..offsets[i + 1]]
    /// [capacity] `hash_tag << 32 | id`, or EMPTY; linear probing; capacity a power of two.
    /// The tag (high hash bits) rejects most non-matching slots without touching `data`.
    index: Vec<u64>,
    shift: u32, // 64 - log2(capacity): slots come from the hash's high bits, which mix best
}

/// FxHash-style multiply-rotate over 8-byte words: fast on short keys, good enough spread here.
fn hash(s: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = s.len() as u64;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let mut tail = 0u64;
    for (i, &b) in chunks.remainder().iter().enumerate() {
        tail |= (b as u64) << (8 * i);
    }
    (h.rotate_left(5) ^ tail).wrapping_mul(K)
}

impl TokenTable {
    /// Empty texts are renamed `[EMPTY_<id>]`, as llama.cpp does, so every id has a distinct text.
    /// When a text repeats, lookups give its last id (llama.cpp's map keeps the last insert).
    pub fn new<'a>(tokens: impl ExactSizeIterator<Item = &'a str> + Clone) -> Self {
        let n = tokens.len();
        let bytes: usize = tokens.clone().map(str::len).sum();
        let mut data = String::with_capacity(bytes);
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        for (i, t) in tokens.enumerate() {
            if t.is_empty() {
                data.push_str(&format!("[EMPTY_{i}]"));
            } else {
                data.push_str(t);
            }
            offsets.push(data.len() as u32);
        }
        let cap = (n * 2).next_power_of_two().max(16);
        let mut table = Self {
            data,
            offsets,
            index: vec![EMPTY; cap],
            shift: 64 - cap.trailing_zeros(),
        };
        for id in 0..n as u32 {
            let text = table.bytes(id);
            let h = hash(text);
            let slot = table.find_slot(text, h);
            table.index[slot] = (h >> 32) << 32 | id as u64;
        }
        table
    }

    fn bytes(&self, id: u32) -> &[u8] {
        let i = id as usize;
        &self.data.as_bytes()[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The slot holding `text` (whose hash is `h`), or the empty slot where it would go.
    fn find_slot(&self, text: &[u8], h: u64) -> usize {
        let mask = self.index.len() - 1;
        let tag = h >> 32;
        let mut slot = (h >> self.shift) as usize;
        loop {
            let e = self.index[slot];
            if e == EMPTY || (e >> 32 == tag && self.bytes(e as u32) == text) {
                return slot;
            }
            slot = (slot + 1) & mask;
        }
    }

    pub fn lookup(&self, text: &str) -> Option<u32> {
        let e = self.index[self.find_slot(text.as_bytes(), hash(text.as_bytes()))];
        (e != EMPTY).then_some(e as u32)
    }

    pub fn text(&self, id: u32) -> Option<&str> {
        let i = id as usize;
        let (a, b) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        // Offsets lie between whole pushed strings, so this slice is always on char boundaries.
        self.data.get(a as usize..b as usize)
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        (0..self.len() as u32).map(move |id| (id, self.text(id).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_round_trips_and_last_duplicate_wins() {
        let toks = ["a", "", "hello world, long token text", "a", "\u{2581}x"];
        let t = TokenTable::new(toks.iter().copied());
        assert_eq!(t.lookup("a"), Some(3));
        assert_eq!(t.lookup("[EMPTY_1]"), Some(1));
        assert_eq!(t.text(1), Some("[EMPTY_1]"));
        assert_eq!(t.lookup("hello world, long token text"), Some(2));
        assert_eq!(t.lookup("\u{2581}x"), Some(4));
        assert_eq!(t.lookup("b"), None);
        assert_eq!(t.text(5), None);
    }
}
