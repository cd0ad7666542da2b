//! Hostile input: the real header truncated at many offsets and with random bit flips, plus a small
//! complete file flipped anywhere. The parser must return Ok or Err: no panic, no huge allocation.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use weights::{GgmlType, GgufFile, GgufWriter};

/// Records the largest single allocation made by the current thread while tracking is on.
struct Tracking;

thread_local! {
    static TRACK: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

fn note(size: usize) {
    // try_with: thread-locals may be gone while a thread exits.
    let _ = TRACK.try_with(|t| {
        if t.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// Parse `bytes`; panics (failing the test) if the parser panicked or made one allocation larger than
/// four times the input plus 1 MiB. Returns whether it parsed.
fn check(bytes: Vec<u8>, label: &str) -> bool {
    let limit = bytes.len() * 4 + (1 << 20);
    LARGEST.with(|l| l.set(0));
    TRACK.with(|t| t.set(true));
    let result = catch_unwind(AssertUnwindSafe(|| {
        GgufFile::from_bytes(bytes).map(|f| f.tensor_infos().len())
    }));
    TRACK.with(|t| t.set(false));
    let largest = LARGEST.with(|l| l.get());
    let parsed = match result {
        Ok(r) => r.is_ok(),
        Err(_) => panic!("GgufFile::from_bytes panicked on {label}"),
    };
    assert!(
        largest <= limit,
        "{label}: one allocation of {largest} bytes (limit {limit})"
    );
    parsed
}

fn real_file() -> (Vec<u8>, u64) {
    let path = common::model_path();
    let f = GgufFile::open(&path).unwrap();
    // The data section starts after the 262k-token vocabulary: everything before it is header.
    (std::fs::read(&path).unwrap(), f.data_offset())
}

#[test]
fn truncated_real_file_errors_cleanly() {
    let (bytes, header_len) = real_file();
    let header_len = header_len as usize;
    let mut offsets: Vec<usize> = (0..=200).collect();
    let mut rng = common::Rng(0x5eed_0001);
    offsets.extend((0..150).map(|_| rng.below(header_len)));
    offsets.extend([header_len - 1, header_len, header_len + 1]);
    offsets.extend((0..12).map(|_| header_len + rng.below(bytes.len() - header_len)));
    offsets.push(bytes.len() - 1);
    for &cut in &offsets {
        assert!(
            !check(bytes[..cut].to_vec(), &format!("the file cut at {cut}")),
            "the file cut at {cut} parsed"
        );
    }
    assert!(check(bytes, "the whole file"));
}

#[test]
fn bit_flips_in_real_header_never_panic() {
    let (bytes, header_len) = real_file();
    let header_len = header_len as usize;
    // A 64 KiB prefix (magic, counts, every scalar key, the start of the vocabulary) is cheap to parse; the
    // whole header (the parser walks all 262k tokens, then fails on tensor bounds) covers the tensor infos.
    let prefix = &bytes[..64 << 10];
    let header = &bytes[..header_len];
    let info_start = header_len - 236 * 64;
    let mut rng = common::Rng(0x5eed_0002);
    for trial in 0..2600 {
        let (mut buf, region) = match trial % 13 {
            0..=5 => (prefix.to_vec(), 0..4096),
            6..=10 => (prefix.to_vec(), 0..prefix.len()),
            11 => (header.to_vec(), 0..4096),
            _ => (header.to_vec(), info_start..header_len),
        };
        let flips = 1 + rng.below(4);
        for _ in 0..flips {
            let at = region.start + rng.below(region.len());
            buf[at] ^= 1 << rng.below(8);
        }
        check(buf, &format!("bit-flip trial {trial}"));
    }
}

#[test]
fn bit_flips_anywhere_in_a_small_complete_file_never_panic() {
    let mut w = GgufWriter::new();
    w.set("general.architecture", "tiny");
    w.set("tiny.block_count", 1u32);
    w.set("tokenizer.ggml.tokens", vec!["<s>", "a", "b"]);
    w.set("tokenizer.ggml.scores", vec![0.0f32, -1.0, -2.0]);
    w.set(
        "nested",
        weights::MetaArray::Array(vec![
            weights::MetaArray::U8(vec![1]),
            weights::MetaArray::U8(vec![]),
        ]),
    );
    w.add_tensor_bytes(
        "token_embd.weight",
        GgmlType::Q8_0,
        vec![32, 3],
        vec![1; 3 * 34],
    )
    .unwrap();
    w.add_tensor_bytes(
        "blk.0.attn_norm.weight",
        GgmlType::F32,
        vec![32],
        vec![0; 128],
    )
    .unwrap();
    w.add_tensor_bytes(
        "blk.0.ffn_down.weight",
        GgmlType::Q6K,
        vec![256, 1],
        vec![0; 210],
    )
    .unwrap();
    let good = w.to_bytes().unwrap();
    assert!(check(good.clone(), "the intact file"));
    let mut rng = common::Rng(0x5eed_0003);
    let mut parsed = 0;
    for trial in 0..4000 {
        let mut buf = good.clone();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(buf.len());
            buf[at] ^= 1 << rng.below(8);
        }
        parsed += check(buf, &format!("small-file trial {trial}")) as usize;
    }
    // Flips in tensor data are harmless, so some must still parse: the test exercises the Ok path too.
    assert!(parsed > 100, "only {parsed} of 4000 flipped files parsed");
}
