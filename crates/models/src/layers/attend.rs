//! Blocked causal attention over the KV cache, flash-attention style.
//!
//! Work is cut into blocks of up to `MAX_Q` query vectors that share one KV head (all query heads
//! of a group, and for prefill several consecutive rows), so every key/value row read from the cache
//! serves many (row, head) pairs. Keys are visited in tiles of `TILE` with an online softmax
//! (running max and sum per query, accumulator rescaled when the max grows), so no score row of the
//! whole context is ever held. Blocks are dealt to threads whole: splitting a block's key range
//! across threads (flash-decoding) would make a query's rounding depend on the batch it runs in, and
//! the scheduler promises batched results equal solo ones.

use kernels::attn::{AttnOps, KvRow, MAX_Q};
use kernels::pool::ThreadPool;

use super::parallel::SyncPtr;
use crate::SeqRows;

/// Keys per tile: the `MAX_Q x TILE` scores stay in L1.
const TILE: usize = 64;

/// What the attention computes; the layer's fixed parameters.
#[derive(Clone, Copy, Debug)]
pub struct AttnShape {
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    /// Attend only to the last `window` positions (the current one included).
    pub window: Option<usize>,
    /// Multiplies q·k (1/sqrt(head_dim), or Gemma's 1/sqrt(query_pre_attn_scalar)).
    pub scale: f32,
    /// Gemma 2: scores become `cap * tanh(score / cap)` before the softmax.
    pub softcap: Option<f32>,
}

impl AttnShape {
    fn group(&self) -> usize {
        self.n_head / self.n_kv_head
    }

    /// First visible position for a query at `pos`.
    fn first(&self, pos: usize) -> usize {
        self.window.map_or(0, |w| (pos + 1).saturating_sub(w))
    }
}

/// How the work is cut. A block is rows `r0..r0 + rows` of one sequence times heads
/// `hb * heads..` of one KV group.
struct Plan {
    heads: usize,
    head_blocks: usize,
    rows: usize,
    blocks: usize,
}

struct Block {
    seq: usize,
    kvh: usize,
    h0: usize,
    h1: usize,
    r0: usize,
    r1: usize,
}

impl Plan {
    fn new(sh: &AttnShape, seqs: &[SeqRows<'_>]) -> Plan {
        let heads = sh.group().min(MAX_Q);
        let head_blocks = sh.group().div_ceil(heads);
        let rows = (MAX_Q / heads).max(1);
        let per_rowblock = sh.n_kv_head * head_blocks;
        let blocks = seqs.iter().map(|s| s.len.div_ceil(rows) * per_rowblock).sum::<usize>();
        Plan { heads, head_blocks, rows, blocks }
    }

    /// Row blocks outermost, so threads dealt blocks round-robin get early and late rows alike.
    fn block(&self, sh: &AttnShape, seqs: &[SeqRows<'_>], mut b: usize) -> Block {
        let per_rowblock = sh.n_kv_head * self.head_blocks;
        for (seq, s) in seqs.iter().enumerate() {
            let n = s.len.div_ceil(self.rows) * per_rowblock;
            if b < n {
                let (rb, rest) = (b / per_rowblock, b % per_rowblock);
                let (kvh, hb) = (rest / self.head_blocks, rest % self.head_blocks);
                let h0 = hb * self.heads;
                let r0 = rb * self.rows;
                return Block { seq, kvh, h0, h1: (h0 + self.heads).min(sh.group()), r0, r1: (r0 + self.rows).min(s.len) };
            }
            b -= n;
        }
        unreachable!("block index past the plan")
    }
}

/// Per-thread working memory, carved from one f32 buffer.
struct Work<'a> {
    q: &'a mut [f32],   // [MAX_Q, hd] the block's queries, contiguous
    o: &'a mut [f32],   // [MAX_Q, hd] unnormalised outputs
    s: &'a mut [f32],   // [MAX_Q, TILE] scores, then probabilities
    row: &'a mut [f32], // [hd] one decoded key row
    vt: &'a mut [f32],  // [TILE, hd] a tile of decoded value rows (f16 / q8_0 caches)
    m: &'a mut [f32],   // [MAX_Q] running max
    l: &'a mut [f32],   // [MAX_Q] running sum
    p: &'a mut [f32],   // [MAX_Q] one key's dots / probabilities across the block
}

fn work_len(hd: usize) -> usize {
    2 * MAX_Q * hd + MAX_Q * TILE + hd + TILE * hd + 3 * MAX_Q
}

fn carve(buf: &mut [f32], hd: usize) -> Work<'_> {
    let (q, r) = buf.split_at_mut(MAX_Q * hd);
    let (o, r) = r.split_at_mut(MAX_Q * hd);
    let (s, r) = r.split_at_mut(MAX_Q * TILE);
    let (row, r) = r.split_at_mut(hd);
    let (vt, r) = r.split_at_mut(TILE * hd);
    let (m, r) = r.split_at_mut(MAX_Q);
    let (l, p) = r.split_at_mut(MAX_Q);
    Work { q, o, s, row, vt, m, l, p: &mut p[..MAX_Q] }
}

/// Floats of scratch `attend` needs for these sequences on `n_threads` threads.
pub fn scratch_len(sh: &AttnShape, n_threads: usize) -> usize {
    n_threads * work_len(sh.head_dim)
}

/// softmax(q k^T * scale) v over each query's visible positions of its own sequence.
/// q, att: [n, n_head * head_dim]; `scratch` at least `scratch_len` floats.
pub fn attend(pool: &ThreadPool, sh: &AttnShape, q: &[f32], seqs: &[SeqRows<'_>], att: &mut [f32], scratch: &mut [f32]) {
    let nt = pool.n_threads();
    let plan = Plan::new(sh, seqs);
    let hd = sh.head_dim;
    let wl = work_len(hd);
    let (work_p, att_p) = (SyncPtr(scratch[..nt * wl].as_mut_ptr()), SyncPtr(att.as_mut_ptr()));
    let ops = AttnOps::active();
    pool.run(&|tid, nt| {
        // SAFETY: each thread owns its work area, and the output rows of the blocks it is dealt.
        let mut w = carve(unsafe { work_p.slice(tid * wl, wl) }, hd);
        for bi in (tid..plan.blocks).step_by(nt) {
            let b = plan.block(sh, seqs, bi);
            let sq = &seqs[b.seq];
            let nq = run_block(ops, sh, q, sq, &b, &mut w);
            for qi in 0..nq {
                let (r, h) = (b.r0 + qi / (b.h1 - b.h0), b.h0 + qi % (b.h1 - b.h0));
                let off = ((sq.start + r) * sh.n_head + b.kvh * sh.group() + h) * hd;
                let out = unsafe { att_p.slice(off, hd) };
                let inv = 1.0 / w.l[qi];
                for (y, &x) in out.iter_mut().zip(&w.o[qi * hd..(qi + 1) * hd]) {
                    *y = x * inv;
                }
            }
        }
    });
}

/// Runs one block over its visible keys, leaving unnormalised outputs and running max/sum in `w`.
/// Returns the number of query vectors.
fn run_block(ops: AttnOps, sh: &AttnShape, q: &[f32], sq: &SeqRows<'_>, b: &Block, w: &mut Work<'_>) -> usize {
    let (hd, nh) = (sh.head_dim, sh.n_head);
    let kv_dim = sh.n_kv_head * hd;
    let nhq = b.h1 - b.h0;
    let nq = (b.r1 - b.r0) * nhq;
    for r in b.r0..b.r1 {
        let src = ((sq.start + r) * nh + b.kvh * sh.group() + b.h0) * hd;
        let dst = (r - b.r0) * nhq * hd;
        w.q[dst..dst + nhq * hd].copy_from_slice(&q[src..src + nhq * hd]);
    }
    let pos = |r: usize| sq.pos0 + r;
    let (ka, kb) = (sh.first(pos(b.r0)), pos(b.r1 - 1) + 1);
    w.m.fill(f32::NEG_INFINITY);
    w.l.fill(0.0);
    w.o[..nq * hd].fill(0.0);
    let (qs, o) = (&w.q[..nq * hd], &mut w.o[..nq * hd]);
    let kv = &sq.kv;
    let mut t0 = ka;
    while t0 < kb {
        // Tiles end on multiples of TILE in position space, so a query's online-softmax steps (and
        // rounding) do not depend on which rows share its block.
        let tn = ((t0 / TILE + 1) * TILE).min(kb) - t0;
        for j in 0..tn {
            let kp = t0 + j;
            let k = ops.row_f32(kv.k.row(kp % kv.cap, kv_dim, b.kvh * hd, hd), w.row);
            ops.dot_multi(qs, k, &mut w.p[..nq]);
            for qi in 0..nq {
                let pq = pos(b.r0 + qi / nhq);
                let mut x = w.p[qi] * sh.scale;
                if let Some(cap) = sh.softcap {
                    x = super::attention::softcap(x, cap);
                }
                let visible = kp <= pq && kp >= sh.first(pq);
                w.s[qi * TILE + j] = if visible { x } else { f32::NEG_INFINITY };
            }
        }
        for qi in 0..nq {
            let s = &mut w.s[qi * TILE..qi * TILE + tn];
            let tmax = s.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            if tmax == f32::NEG_INFINITY {
                s.fill(0.0); // nothing visible to this query in this tile
                continue;
            }
            let m = w.m[qi].max(tmax);
            if m > w.m[qi] && w.l[qi] > 0.0 {
                // The max grew: rescale what was accumulated against the old one.
                let c = (w.m[qi] - m).exp();
                w.l[qi] *= c;
                ops.scale(&mut o[qi * hd..(qi + 1) * hd], c);
            }
            w.m[qi] = m;
            w.l[qi] += ops.exp_sub_sum(s, m);
        }
        // f32 value rows are used in place; others are decoded once into the tile buffer.
        let mut rows: [&[f32]; TILE] = [&[]; TILE];
        let mut bufs = w.vt.chunks_exact_mut(hd);
        for (j, row) in rows[..tn].iter_mut().enumerate() {
            *row = match kv.v.row((t0 + j) % kv.cap, kv_dim, b.kvh * hd, hd) {
                KvRow::F32(r) => r,
                other => ops.row_f32(other, bufs.next().expect("TILE rows")),
            };
        }
        ops.pv_multi(w.s, TILE, &rows[..tn], o);
        t0 += tn;
    }
    nq
}
