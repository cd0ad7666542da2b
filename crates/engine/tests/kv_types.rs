//! f16 and q8_0 KV caches on the real model (Gemma 3 270M Q4_K_M) against the f32 cache:
//! teacher-forced log-probs of the next token, prompt prefilled in chunks then decoded token by token
//! (so both the blocked prefill and the split decode path read the quantized rows, and the
//! sliding-window layers wrap their rings). Tolerances measured first, then set with margin.

use engine::{KvCache, KvType, LoadedModel};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, LogitsWanted};

const CHUNK: usize = 64;

/// Log-softmax rows, [n, n_vocab], for `toks` run as chunks of `CHUNK` up to `prefill`, then one by one.
fn log_probs(lm: &LoadedModel, pool: &ThreadPool, toks: &[u32], prefill: usize, ty: KvType) -> Vec<Vec<f32>> {
    let mut ctx = ForwardCtx::new(pool);
    let mut kv = KvCache::with_types(lm.model.config(), 1024, CHUNK, ty, ty).expect("Gemma's head_dim 256 takes every type");
    let mut rows = Vec::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < toks.len() {
        let end = if pos < prefill { (pos + CHUNK).min(prefill) } else { pos + 1 };
        lm.model.forward(&mut ctx, &toks[pos..end], pos, &mut kv, LogitsWanted::All, &mut out).expect("forward");
        kv.set_len(end);
        let nv = out.len() / (end - pos);
        for r in out.chunks_exact(nv) {
            let m = r.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let lse = m + r.iter().map(|x| (x - m).exp()).sum::<f32>().ln();
            rows.push(r.iter().map(|x| x - lse).collect());
        }
        pos = end;
    }
    rows
}

fn argmax(r: &[f32]) -> usize {
    r.iter().enumerate().fold(0, |b, (i, &x)| if x > r[b] { i } else { b })
}

#[test]
fn f16_and_q8_0_caches_track_f32() {
    let text = std::fs::read_to_string("/usr/share/common-licenses/GPL-3").expect("/usr/share/common-licenses/GPL-3 (Debian base-files)");
    let lm = LoadedModel::open(&store::test_model_path()).expect("load model");
    let toks = lm.tokenizer.encode(&text, true, false).expect("tokenize");
    // 600 positions: past Gemma 3's 512-token sliding window, so ring slots are reused.
    let toks = &toks[..600];
    let pool = ThreadPool::new(2);
    let base = log_probs(&lm, &pool, toks, 560, KvType::F32);
    // (type, mean |dlogprob| bound, max bound, top-1 agreement bound). Measured (x86-64 AVX2):
    // f16 mean 0.088, max 1.00, top-1 0.948; q8_0 mean 0.090, max 0.69, top-1 0.957. This model is
    // that sensitive to any rounding of its keys/values: our f32 cache against llama.cpp's (f16 KV)
    // logits differs as much (gemma3_reference: mean 0.086, max 0.93), so the bounds are the ones
    // gemma3_reference uses against llama.cpp, with top-1 lowered for this longer, harder text.
    for (ty, mean_max, max_max, top1_min) in [(KvType::F16, 0.15, 1.5, 0.92), (KvType::Q8_0, 0.15, 1.5, 0.92)] {
        let got = log_probs(&lm, &pool, toks, 560, ty);
        let (mut sum, mut max, mut same) = (0.0f64, 0.0f64, 0);
        for (i, (g, b)) in got.iter().zip(&base).enumerate().take(toks.len() - 1) {
            let next = toks[i + 1] as usize;
            let d = (g[next] - b[next]).abs() as f64;
            sum += d;
            max = max.max(d);
            same += (argmax(g) == argmax(b)) as usize;
        }
        let n = (toks.len() - 1) as f64;
        let (mean, top1) = (sum / n, same as f64 / n);
        eprintln!("{ty} KV vs f32: mean |dlogprob(next)| {mean:.5}, max {max:.5}, top-1 agreement {top1:.4}");
        assert!(mean <= mean_max, "{ty}: mean |dlogprob| {mean:.5} > {mean_max}");
        assert!(max <= max_max, "{ty}: max |dlogprob| {max:.5} > {max_max}");
        assert!(top1 >= top1_min, "{ty}: top-1 agreement {top1:.4} < {top1_min}");
    }
}

#[test]
fn cache_bytes_follow_the_types_and_q8_0_needs_whole_blocks() {
    let mut cfg = models::ModelConfig {
        arch: "test".into(),
        n_vocab: 10,
        n_embd: 64,
        n_layer: 2,
        n_head: 4,
        n_kv_head: 2,
        head_dim: 64,
        n_ctx_train: 128,
        layer_window: vec![None, Some(16)],
    };
    // Layer 0 keeps 128 slots, layer 1 a ring of 16 + 8; kv_dim 128.
    let slots = 128 + 24;
    let f32_bytes = KvCache::new(&cfg, 128, 8).bytes();
    assert_eq!(f32_bytes, slots * 128 * 4 * 2);
    let f16 = KvCache::with_types(&cfg, 128, 8, KvType::F16, KvType::F16).unwrap().bytes();
    assert_eq!(f16, slots * 128 * 2 * 2);
    let q8 = KvCache::with_types(&cfg, 128, 8, KvType::Q8_0, KvType::F32).unwrap().bytes();
    assert_eq!(q8, slots * (128 / 32 * 34 + 128 * 4));
    cfg.head_dim = 48;
    let err = KvCache::with_types(&cfg, 128, 8, KvType::F32, KvType::Q8_0).err().expect("q8_0 with head_dim 48");
    assert!(err.to_string().contains("multiple of 32") && err.to_string().contains("48"), "{err}");
    assert!(KvCache::with_types(&cfg, 128, 8, KvType::F16, KvType::F16).is_ok());
}
