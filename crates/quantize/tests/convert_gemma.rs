//! `agora convert` of a GGUF: the real Gemma 3 270M Q4_K_M dequantized to F32 (the start of
//! issue 8's round trip). Every value must be the exact dequantization of the source block, the
//! metadata (tokenizer, chat template) must come through unchanged, and the engine must compute the
//! same function from both files.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use engine::{KvCache, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted};
use quantize::convert::{self, OutType};
use tokenize::{ChatMessage, ChatTemplate, Tokenizer};
use weights::GgufFile;

fn converted() -> &'static PathBuf {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = common::scratch().join("gemma-converted-f32.gguf");
        let opts = convert::Options { out_type: None, threads: 2, name: None };
        let r = convert::convert(&store::test_model_path(), &out, &opts, &mut |_| {}).expect("convert Q4_K_M -> F32");
        assert_eq!((r.source, r.out_type, r.architecture.as_str()), ("gguf", OutType::F32, "gemma3"));
        out
    })
}

#[test]
fn every_value_is_the_exact_dequantization_and_metadata_is_kept() {
    let src = GgufFile::open(&store::test_model_path()).unwrap();
    let ours = GgufFile::open(converted()).unwrap();
    assert_eq!(ours.tensor_infos().len(), src.tensor_infos().len());
    let mut row = Vec::new();
    let mut n_quantized = 0;
    for t in src.tensor_infos() {
        let o = ours.tensor(&t.name).unwrap();
        assert_eq!((o.ty, &o.shape), (kernels::GgmlType::F32, &t.shape), "{}", t.name);
        let s = src.tensor(&t.name).unwrap();
        n_quantized += usize::from(t.ty != kernels::GgmlType::F32);
        let (n, rows) = (t.shape[0], s.rows());
        row.resize(n, 0.0f32);
        for r in 0..rows {
            kernels::dequant::dequantize_row(s.ty, s.row(r).unwrap(), &mut row).unwrap();
            let got = o.row(r).unwrap();
            let same = got.chunks_exact(4).zip(&row).all(|(b, v)| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).to_bits() == v.to_bits());
            assert!(same, "{} row {r}: not the exact dequantization of the {} source", t.name, t.ty.name());
        }
    }
    assert!(n_quantized > 100, "the source should be mostly quantized ({n_quantized} tensors)");
    // Metadata: all of it, unchanged, except the file type (now "all F32").
    for (k, v) in src.metadata().iter() {
        if k == "general.file_type" {
            continue;
        }
        assert_eq!(ours.metadata().get(k), Some(v), "metadata key {k}");
    }
    assert_eq!(ours.metadata().get_u32("general.file_type").unwrap(), 0);
}

#[test]
fn tokenizer_and_chat_template_round_trip() {
    let a = Tokenizer::from_gguf(&GgufFile::open(&store::test_model_path()).unwrap()).unwrap();
    let b = Tokenizer::from_gguf(&GgufFile::open(converted()).unwrap()).unwrap();
    for text in ["The capital of France is", "  spaces,\ttabs\nand lines", "Zürich 1234 \u{1f999} <start_of_turn>user", "def f(x):\n    return x ** 2"] {
        assert_eq!(a.encode(text, true, true).unwrap(), b.encode(text, true, true).unwrap(), "{text:?}");
        assert_eq!(a.encode(text, false, false).unwrap(), b.encode(text, false, false).unwrap(), "{text:?} (literal)");
    }
    // This release carries no tokenizer.chat_template; the converted file must not invent one, and
    // both render through the same (built-in Gemma) template.
    assert_eq!(a.chat_template(), b.chat_template());
    let msgs = [ChatMessage::new("user", "Hello!"), ChatMessage::new("assistant", "Hi."), ChatMessage::new("user", "Name a color.")];
    let render = |path: &std::path::Path| {
        let t = ChatTemplate::from_gguf_or_default(GgufFile::open(path).unwrap().metadata()).unwrap();
        t.render(&msgs, true, "<bos>", "<eos>").unwrap()
    };
    let (ra, rb) = (render(&store::test_model_path()), render(converted()));
    assert!(rb.contains("<start_of_turn>model"), "{rb}");
    assert_eq!(ra, rb);
    assert_eq!(a.encode_chat_prompt(&ra).unwrap(), b.encode_chat_prompt(&rb).unwrap());
}

#[test]
fn the_f32_file_computes_the_q4_k_m_function() {
    let q4 = LoadedModel::open(&store::test_model_path()).unwrap();
    let f32 = LoadedModel::open(converted()).unwrap();
    let pool = ThreadPool::new(2);
    let seq = q4.tokenizer.encode("The history of the printing press begins in the fifteenth century, when Johannes Gutenberg", true, false).unwrap();
    let logits = |lm: &LoadedModel| {
        let mut ctx = ForwardCtx::new(&pool);
        let mut kv = KvCache::new(lm.model.config(), 128, 64);
        let mut out = Vec::new();
        lm.model.forward(&mut ctx, &seq, 0, &mut kv, LogitsWanted::All, &mut out).unwrap();
        out
    };
    let (x, y) = (logits(&q4), logits(&f32));
    let nv = q4.model.config().n_vocab;
    let argmax = |r: &[f32]| r.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i).unwrap();
    let mut worst = 0.0f32;
    for p in 0..seq.len() {
        let (a, b) = (&x[p * nv..(p + 1) * nv], &y[p * nv..(p + 1) * nv]);
        let d = a.iter().zip(b).map(|(u, v)| (u - v).abs()).fold(0.0f32, f32::max);
        worst = worst.max(d);
        let top = argmax(a);
        let second = a.iter().enumerate().filter(|(i, _)| *i != top).map(|(_, v)| *v).fold(f32::MIN, f32::max);
        eprintln!("position {p}: max |dlogit| {d:.4}, top-1 margin {:.4}", a[top] - second);
        if a[top] - second > 2.0 * d {
            assert_eq!(top, argmax(b), "position {p}: top token (margin {})", a[top] - second);
        }
    }
    eprintln!("{} positions, max |dlogit| Q4_K_M vs converted F32: {worst}", seq.len());
    // Same weights; the only difference is the engine's arithmetic: quantized weights are multiplied
    // with activations quantized to 8 bits per block (as llama.cpp does), F32 weights with F32
    // activations. That moves logits by up to ~1.5 here (their range is about 40), and the
    // distributions by a mean KL of ~0.005 (llama-perplexity --kl-divergence: 0.005334 for this pair).
    assert!(worst < 2.5, "max |dlogit| {worst} >= 2.5");
    let text = "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg combined \
movable metal type, oil-based ink and a wooden press adapted from those used to make wine. Before this, books were \
copied by hand, which made them rare and expensive. Within fifty years, printing shops had opened in more than two \
hundred European cities, and millions of books had been produced.";
    let tokens = f32.tokenizer.encode(text, true, false).unwrap();
    let r = quantize::kl_divergence(f32.model.as_ref(), q4.model.as_ref(), &pool, &tokens, 64, f32.tokenizer.bos_id(), &mut |_, _| {}).unwrap();
    eprintln!("KL(F32 || Q4_K_M) {:.6} over {} positions, top-1 {:.4}", r.kld_mean, r.scored_tokens, r.top1_agreement);
    assert!(r.scored_tokens >= 30 && r.kld_mean < 0.015 && r.top1_agreement >= 0.9, "{r:?}");
}
