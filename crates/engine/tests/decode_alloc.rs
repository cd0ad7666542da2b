//! The decode path allocates nothing per token: after warm-up, single-token forward calls against the
//! preallocated KV cache (and the sampler-free logits buffer) make no heap allocations at all.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted};

/// Counts allocations on every thread (the pool's workers included).
struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn decode_steps_allocate_nothing_after_warm_up() {
    let lm = LoadedModel::open(&common::model_path()).expect("load model");
    let pool = ThreadPool::new(2);
    let mut ctx = ForwardCtx::new(&pool);
    let mut kv = KvCache::new(lm.model.config(), 256, 64);
    let mut logits = Vec::new();
    let prompt = lm.tokenizer.encode("The capital of France is", true, true).unwrap();
    lm.model.forward(&mut ctx, &prompt, 0, &mut kv, LogitsWanted::Last, &mut logits).expect("prefill");
    let mut pos = prompt.len();
    let mut step = |tok: u32, pos: usize, logits: &mut Vec<f32>| {
        lm.model.forward(&mut ctx, &[tok], pos, &mut kv, LogitsWanted::Last, logits).expect("decode");
    };
    // Warm-up: scratch buffers reach their decode sizes.
    for _ in 0..2 {
        step(100, pos, &mut logits);
        pos += 1;
    }
    let before = ALLOCS.load(Ordering::Relaxed);
    for i in 0..16 {
        step(200 + i, pos, &mut logits);
        pos += 1;
    }
    let n = ALLOCS.load(Ordering::Relaxed) - before;
    assert_eq!(n, 0, "16 decode steps made {n} heap allocations");
    assert_eq!(logits.len(), lm.model.config().n_vocab);
}
