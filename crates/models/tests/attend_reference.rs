//! The blocked attention (`layers::attend`) against the plain per-(row, head) formula it replaced:
//! scores q·k * scale (soft-capped), a two-pass softmax over the visible positions, then p·v, in f64.
//! Covers prefill chunks, decode, grouped heads (including groups wider than one block), head sizes
//! that are not a multiple of 8, sliding windows on a wrapped ring, soft-capping, batched sequences,
//! 1-3 threads, and f32 / f16 / q8_0 caches (the reference reads the same stored rows).

use kernels::attn::{AttnOps, BlockQ8_0, KvType, QK8_0};
use kernels::pool::ThreadPool;
use kernels::rng::splitmix64;
use models::layers::attend::{attend, scratch_len, AttnShape};
use models::{KvBuf, LayerKvMut, SeqRows};

struct Rng(u64);
impl Rng {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f32 {
        (splitmix64(&mut self.0) >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// Owned storage for one sequence's layer cache.
enum Store {
    F32(Vec<f32>),
    F16(Vec<u16>),
    Q8(Vec<BlockQ8_0>),
}

impl Store {
    fn new(ty: KvType, n: usize) -> Store {
        match ty {
            KvType::F32 => Store::F32(vec![0.0; n]),
            KvType::F16 => Store::F16(vec![0; n]),
            KvType::Q8_0 => Store::Q8(vec![BlockQ8_0::default(); n / QK8_0]),
        }
    }
    fn buf(&mut self) -> KvBuf<'_> {
        match self {
            Store::F32(b) => KvBuf::F32(b),
            Store::F16(b) => KvBuf::F16(b),
            Store::Q8(b) => KvBuf::Q8_0(b),
        }
    }
}

struct Seq {
    pos0: usize,
    len: usize,
    cap: usize,
    k: Store,
    v: Store,
}

/// The old formula, in f64, reading keys/values as stored (decoded through the scalar kernels).
fn reference(sh: &AttnShape, q: &[f32], seqs: &mut [Seq], n: usize) -> Vec<f32> {
    let (hd, nh) = (sh.head_dim, sh.n_head);
    let kv_dim = sh.n_kv_head * hd;
    let group = nh / sh.n_kv_head;
    let ops = AttnOps::at(kernels::cpu::CpuLevel::Scalar);
    let mut out = vec![0.0f32; n * nh * hd];
    let mut start = 0;
    for s in seqs.iter_mut() {
        let (k, v) = (s.k.buf(), s.v.buf());
        let row = |b: &KvBuf<'_>, slot: usize, kvh: usize| {
            let mut buf = vec![0.0f32; hd];
            ops.row_f32(b.row(slot, kv_dim, kvh * hd, hd), &mut buf).to_vec()
        };
        for t in 0..s.len {
            let pos = s.pos0 + t;
            let first = sh.window.map_or(0, |w| (pos + 1).saturating_sub(w));
            for h in 0..nh {
                let qh = &q[((start + t) * nh + h) * hd..((start + t) * nh + h + 1) * hd];
                let kvh = h / group;
                let scores: Vec<f64> = (first..=pos)
                    .map(|p| {
                        let kr = row(&k, p % s.cap, kvh);
                        let mut x = qh.iter().zip(&kr).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>() * sh.scale as f64;
                        if let Some(c) = sh.softcap {
                            x = c as f64 * (x / c as f64).tanh();
                        }
                        x
                    })
                    .collect();
                let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = scores.iter().map(|x| (x - max).exp()).collect();
                let sum: f64 = e.iter().sum();
                let o = &mut out[((start + t) * nh + h) * hd..((start + t) * nh + h + 1) * hd];
                let mut acc = vec![0.0f64; hd];
                for (j, p) in (first..=pos).enumerate() {
                    let vr = row(&v, p % s.cap, kvh);
                    for (a, &x) in acc.iter_mut().zip(&vr) {
                        *a += e[j] / sum * x as f64;
                    }
                }
                for (o, a) in o.iter_mut().zip(acc) {
                    *o = a as f32;
                }
            }
        }
        start += s.len;
    }
    out
}

/// Runs one case: seqs given as (pos0, len); `cap` None: every position kept, else a ring of that many slots.
fn check(tag: &str, sh: AttnShape, ty: KvType, specs: &[(usize, usize)], cap: Option<usize>, threads: usize, rng: &mut Rng) {
    let (hd, nh) = (sh.head_dim, sh.n_head);
    let kv_dim = sh.n_kv_head * hd;
    let ops = AttnOps::active();
    let mut seqs: Vec<Seq> = specs
        .iter()
        .map(|&(pos0, len)| {
            let cap = cap.unwrap_or(pos0 + len);
            let mut s = Seq { pos0, len, cap, k: Store::new(ty, cap * kv_dim), v: Store::new(ty, cap * kv_dim) };
            // History then this chunk, written in position order so the ring holds the newest `cap`.
            for p in 0..pos0 + len {
                let kr: Vec<f32> = (0..kv_dim).map(|_| 2.0 * rng.next()).collect();
                let vr: Vec<f32> = (0..kv_dim).map(|_| rng.next()).collect();
                s.k.buf().store(ops, p % cap, &kr);
                s.v.buf().store(ops, p % cap, &vr);
            }
            s
        })
        .collect();
    let n: usize = specs.iter().map(|s| s.1).sum();
    let q: Vec<f32> = (0..n * nh * hd).map(|_| rng.next()).collect();
    let want = reference(&sh, &q, &mut seqs, n);

    let pool = ThreadPool::new(threads);
    let mut start = 0;
    let rows: Vec<SeqRows<'_>> = seqs
        .iter_mut()
        .map(|s| {
            let r = SeqRows { start, len: s.len, pos0: s.pos0, kv: LayerKvMut { k: s.k.buf(), v: s.v.buf(), cap: s.cap } };
            start += s.len;
            r
        })
        .collect();
    let mut got = vec![f32::NAN; n * nh * hd];
    let mut scratch = vec![f32::NAN; scratch_len(&sh, threads)];
    attend(&pool, &sh, &q, &rows, &mut got, &mut scratch);
    for (i, (g, w)) in got.chunks(hd).zip(want.chunks(hd)).enumerate() {
        let mag = w.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        for (j, (a, b)) in g.iter().zip(w).enumerate() {
            assert!((a - b).abs() <= 1e-5 * mag, "{tag} {ty} t{threads}: row {} head {} [{j}]: {a} vs {b}", i / nh, i % nh);
        }
    }
}

fn shape(n_head: usize, n_kv_head: usize, head_dim: usize, window: Option<usize>, softcap: Option<f32>) -> AttnShape {
    AttnShape { n_head, n_kv_head, head_dim, window, scale: 1.0 / (head_dim as f32).sqrt(), softcap }
}

#[test]
fn prefill_and_decode_match_reference() {
    let mut rng = Rng(1);
    for threads in [1, 2, 3] {
        for ty in KvType::ALL {
            // Gemma 3 270M's shape: 4 query heads on 1 KV head of 256.
            let g = shape(4, 1, 256, None, None);
            check("gemma prefill", g, ty, &[(0, 37)], None, threads, &mut rng);
            check("gemma chunk after history", g, ty, &[(70, 9)], None, threads, &mut rng);
            check("gemma decode", g, ty, &[(150, 1)], None, threads, &mut rng);
            // Wider groups than one block (16 heads on 1), plain MHA, GQA with 2 KV heads.
            check("group 16", shape(16, 1, 64, None, None), ty, &[(3, 5)], None, threads, &mut rng);
            check("mha", shape(3, 3, 64, None, None), ty, &[(0, 19)], None, threads, &mut rng);
            check("gqa decode", shape(8, 2, 64, None, None), ty, &[(200, 1)], None, threads, &mut rng);
        }
        // Head sizes that are not a multiple of 8 (f32 and f16 only: q8_0 needs whole blocks).
        for ty in [KvType::F32, KvType::F16] {
            check("hd 20", shape(6, 2, 20, None, None), ty, &[(5, 13)], None, threads, &mut rng);
        }
    }
}

#[test]
fn sliding_window_ring_and_softcap_match_reference() {
    let mut rng = Rng(2);
    for threads in [1, 2] {
        for ty in KvType::ALL {
            // Window 16 on a ring of 16 + 8 slots, positions far past the ring so slots wrap.
            let w = shape(4, 1, 64, Some(16), None);
            check("window prefill", w, ty, &[(0, 8)], Some(24), threads, &mut rng);
            check("window chunk wrapped", w, ty, &[(101, 8)], Some(24), threads, &mut rng);
            check("window decode wrapped", w, ty, &[(250, 1)], Some(24), threads, &mut rng);
            // A window wider than a key tile, on a ring.
            check("window 100", shape(2, 1, 32, Some(100), None), ty, &[(300, 20)], Some(120), threads, &mut rng);
            let c = shape(4, 2, 64, None, Some(5.0));
            check("softcap prefill", c, ty, &[(0, 30)], None, threads, &mut rng);
            check("softcap decode", c, ty, &[(90, 1)], None, threads, &mut rng);
        }
    }
}

#[test]
fn batched_sequences_match_reference() {
    let mut rng = Rng(3);
    for threads in [1, 2, 3] {
        for ty in KvType::ALL {
            // Decode rows of several sequences at different positions beside a prompt chunk.
            let g = shape(4, 1, 256, None, None);
            check("batch mixed", g, ty, &[(40, 1), (0, 11), (130, 1), (7, 3)], None, threads, &mut rng);
            let w = shape(4, 1, 64, Some(16), Some(8.0));
            check("batch window", w, ty, &[(77, 1), (3, 8), (200, 1)], Some(24), threads, &mut rng);
        }
    }
}
