//! Any bytes into the GGUF parser: it must return Ok or Err, never panic or allocate without bound.
//! Run: `cargo +nightly fuzz run gguf_parse` (seed the corpus with small files from `GgufWriter`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = weights::GgufFile::from_bytes(data.to_vec()) {
        // Touch every view and getter path a loader would use.
        for t in file.tensors() {
            let _ = (t.data().len(), t.rows(), t.cols(), t.row(0));
        }
        let m = file.metadata();
        for (key, _) in m.iter() {
            let _ = (
                m.get_u64(key),
                m.get_f32(key),
                m.get_str_array(key),
                m.get_i32_array(key),
            );
        }
    }
});
