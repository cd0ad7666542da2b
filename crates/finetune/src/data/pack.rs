//! Deterministic per-epoch shuffling and greedy packing of examples into batches.

use super::encode::Example;
use crate::batch::{Batch, IGNORE};

/// splitmix64 (Steele, Lea & Flood 2014): a tiny, well-mixed generator for shuffles and seeds.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed derived from several values (seed, epoch, step, ...), each mixed in turn.
pub fn derive_seed(parts: &[u64]) -> u64 {
    let mut s = 0x005E_ED0F_A60A_u64;
    for &p in parts {
        s ^= p;
        s = splitmix64(&mut s);
    }
    s
}

/// The example order of `epoch`: a Fisher-Yates shuffle seeded by (seed, epoch).
pub fn epoch_order(n: usize, epoch: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = derive_seed(&[seed, epoch as u64]);
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
}

/// Packs examples (each at most `max_len` tokens) in the given order: a batch takes examples until
/// the next one would overflow `max_len`.
pub fn pack<'a>(examples: impl IntoIterator<Item = &'a Example>, max_len: usize) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut cur = Batch::default();
    for ex in examples {
        if ex.tokens.is_empty() {
            continue;
        }
        if !cur.tokens.is_empty() && cur.tokens.len() + ex.tokens.len() > max_len {
            out.push(std::mem::take(&mut cur));
        }
        cur.doc_starts.push(cur.tokens.len());
        cur.tokens.extend_from_slice(&ex.tokens);
        let n = ex.tokens.len();
        cur.targets.extend((0..n).map(|i| if i + 1 < n && ex.mask[i + 1] { ex.tokens[i + 1] } else { IGNORE }));
    }
    if !cur.tokens.is_empty() {
        out.push(cur);
    }
    out
}
