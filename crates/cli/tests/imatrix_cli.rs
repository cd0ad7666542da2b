//! `agora imatrix` and `agora quantize --imatrix` end to end on the tiny fixture model.

use std::path::Path;

mod run_util;

use run_util::{agora, testdata};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn imatrix_writes_both_layouts_and_quantize_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let model = testdata("tiny-llama/model-f32.gguf");
    let text = testdata("imatrix/gpl-3.txt");
    let dat = dir.path().join("im.dat");
    let (ok, stdout, err) =
        agora(&["imatrix", s(&model), "-f", s(&text), "-c", "128", "--chunks", "4", "-o", s(&dat), "--json", "-t", "2"], dir.path());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    assert_eq!((v["n_chunks"].as_u64(), v["n_ctx"].as_u64(), v["n_entries"].as_u64()), (Some(4), Some(128), Some(14)));
    assert_eq!(v["format"], "dat");
    assert!(v["ppl"].as_f64().unwrap() > 1.0);
    let m = quantize::Imatrix::read(&dat).unwrap();
    assert_eq!((m.format, m.chunk_count), (quantize::imatrix::Format::Dat, 4));
    let gg = dir.path().join("im.gguf");
    let (ok, stdout, err) = agora(&["imatrix", s(&model), "-f", s(&text), "-c", "128", "--chunks", "4", "-o", s(&gg)], dir.path());
    assert!(ok && stdout.contains("14 entries") && stdout.contains("Gguf"), "{stdout}{err}");
    let g = quantize::Imatrix::read(&gg).unwrap();
    assert_eq!(g.entries["blk.0.attn_q.weight"].counts, vec![4 * 128]);
    // --process-output adds the (untied) output head, which sees every position.
    let head = dir.path().join("head.gguf");
    let (ok, _, err) =
        agora(&["imatrix", s(&model), "-f", s(&text), "-c", "128", "--chunks", "2", "--process-output", "-o", s(&head)], dir.path());
    assert!(ok, "{err}");
    let h = quantize::Imatrix::read(&head).unwrap();
    assert_eq!(h.entries.len(), 15);
    assert_eq!(h.entries["output.weight"].counts, vec![2 * 128]);

    let out = dir.path().join("q4.gguf");
    let (ok, stdout, err) =
        agora(&["quantize", s(&model), s(&out), "--type", "Q4_0", "--imatrix", s(&dat), "-t", "2"], dir.path());
    assert!(ok && stdout.contains("importance matrix") && stdout.contains("weighed 14 tensors"), "{stdout}{err}");
    assert!(!err.contains("warning"), "a complete matrix must not warn: {err}");
    let md = weights::GgufFile::open(&out).unwrap();
    assert_eq!(md.metadata().get_str("quantize.imatrix.file").unwrap(), s(&dat));
    assert_eq!(md.metadata().get_u32("quantize.imatrix.chunks_count").unwrap(), 4);
    // The same with the GGUF layout, and --json carries the coverage.
    let (ok, stdout, err) =
        agora(&["quantize", s(&model), s(&out), "--type", "Q4_K_M", "--imatrix", s(&gg), "--json"], dir.path());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["imatrix"]["used"], 14);
    assert_eq!(v["imatrix"]["missing"].as_array().unwrap().len(), 0);
}

#[test]
fn imatrix_and_quantize_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let model = testdata("tiny-llama/model-f32.gguf");
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "far too short a text for two chunks").unwrap();
    let out = dir.path().join("im.dat");
    let (ok, _, err) = agora(&["imatrix", s(&model), "-f", s(&short), "-c", "128", "-o", s(&out)], dir.path());
    assert!(!ok && err.contains("at least 2 x 128"), "{err}");
    let text = testdata("imatrix/gpl-3.txt");
    let (ok, _, err) = agora(&["imatrix", s(&model), "-f", s(&text), "-c", "128", "--chunks", "0", "-o", s(&out)], dir.path());
    assert!(!ok && err.contains("--chunks 0"), "{err}");
    let (ok, _, err) = agora(&["imatrix", s(&model), "-f", s(&dir.path().join("none.txt")), "-o", s(&out)], dir.path());
    assert!(!ok && err.contains("none.txt"), "{err}");
    assert!(!out.exists());

    let q = dir.path().join("q.gguf");
    // An imatrix from another model (tiny-llama's, for tiny-qwen3moe).
    let (ok, _, err) = agora(
        &["quantize", s(&testdata("tiny-qwen3moe/model-bf16.gguf")), s(&q), "--type", "Q4_0", "--imatrix", s(&testdata("imatrix/tiny-llama-llamacpp.dat"))],
        dir.path(),
    );
    assert!(!ok && err.contains("another model") && err.contains("blk.0."), "{err}");
    let (ok, _, err) =
        agora(&["quantize", s(&model), s(&q), "--type", "Q4_0", "--imatrix", s(&dir.path().join("missing.dat"))], dir.path());
    assert!(!ok && err.contains("missing.dat") && err.contains("cannot read"), "{err}");
    assert!(!q.exists());

    // A partial matrix warns, naming what it lacks, and the output is still written.
    let mut m = quantize::Imatrix::read(&testdata("imatrix/tiny-llama-llamacpp.gguf")).unwrap();
    m.entries.retain(|k, _| k.starts_with("blk.0."));
    let part = dir.path().join("part.gguf");
    m.write(&part, quantize::imatrix::Format::Gguf).unwrap();
    let (ok, _, err) = agora(&["quantize", s(&model), s(&q), "--type", "Q4_0", "--imatrix", s(&part)], dir.path());
    assert!(ok && err.contains("no entry for 7 tensors") && err.contains("blk.1."), "{err}");
    assert!(q.exists());
}
