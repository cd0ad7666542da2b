//! Perplexity with f16 / q8_0 KV caches against the f32 cache on the same text (GPL-3, first
//! 4 chunks of 512): f16 within 0.5%, q8_0 within 2% (the bounds). Measured: f32 15.1436,
//! f16 15.1050 (-0.26%), q8_0 15.2185 (+0.50%).

use engine::{KvType, KvTypes, LoadedModel};
use kernels::pool::ThreadPool;

#[test]
fn quantized_kv_perplexity_stays_close_to_f32() {
    let text = std::fs::read_to_string("/usr/share/common-licenses/GPL-3").expect("/usr/share/common-licenses/GPL-3 (Debian base-files)");
    let lm = LoadedModel::open(&store::test_model_path()).expect("load model");
    let tokens = lm.tokenizer.encode(&text, true, false).expect("tokenize");
    let tokens = &tokens[..4 * 512];
    let pool = ThreadPool::new(2);
    let ppl = |ty: KvType| {
        let kv = KvTypes { k: ty, v: ty };
        let r = eval::perplexity::perplexity_with(lm.model.as_ref(), &pool, tokens, 512, kv, lm.tokenizer.bos_id(), &mut |_, _| {})
            .expect("perplexity");
        assert_eq!(r.n_chunks, 4);
        r.ppl
    };
    let base = ppl(KvType::F32);
    for (ty, bound) in [(KvType::F16, 0.005), (KvType::Q8_0, 0.02)] {
        let p = ppl(ty);
        let rel = (p - base).abs() / base;
        eprintln!("PPL f32 {base:.4}, {ty} {p:.4} ({:+.3}%)", 100.0 * (p - base) / base);
        assert!(rel <= bound, "{ty} KV: PPL {p:.4} is not within {:.1}% of f32's {base:.4}", bound * 100.0);
    }
}
