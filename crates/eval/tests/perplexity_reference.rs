//! `llama-perplexity -c 512` on GPL-3 + Apache-2.0 gives PPL 13.2312 for the reference model;
//! ours must land within 0.5% of it.

use engine::LoadedModel;
use kernels::pool::ThreadPool;


#[test]
fn perplexity_on_licenses_matches_llama_cpp() {
    let mut text = String::new();
    for f in ["/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0"] {
        text += &std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f} is needed (Debian base-files): {e}"));
    }
    let lm = LoadedModel::open(&store::test_model_path()).expect("load model");
    let tokens = lm.tokenizer.encode(&text, true, false).expect("tokenize");
    assert_eq!(tokens.len(), 1 + 9883, "token count (BOS + 9,883 text tokens) differs from llama.cpp's");
    let pool = ThreadPool::new(2);
    let r = eval::perplexity::perplexity(lm.model.as_ref(), &pool, &tokens, 512, lm.tokenizer.bos_id(), &mut |_, _| {})
        .expect("perplexity");
    let want = 13.2312;
    eprintln!("PPL = {:.4} +/- {:.4} (llama.cpp {want})", r.ppl, r.stderr);
    assert_eq!(r.n_chunks, 19);
    assert!((r.ppl - want).abs() / want <= 0.005, "PPL {:.4} is not within 0.5% of {want}", r.ppl);
}

/// The same perplexity at every other dispatch level this CPU has except scalar (10k tokens there take
/// about ten minutes; the scalar kernels meet llama.cpp's logits in engine's gemma3_reference tests).
#[test]
fn perplexity_matches_llama_cpp_at_every_dispatch_level() {
    let levels: Vec<_> = kernels::rerun::other_levels().into_iter().filter(|l| *l != kernels::cpu::CpuLevel::Scalar).collect();
    for &level in &levels {
        kernels::rerun::rerun_at(level, &["perplexity_on_licenses_matches_llama_cpp"]);
    }
    eprintln!("also ran at: {levels:?}");
}
