//! The training forward pass on the real quantized model (Gemma 3 270M Q4_K_M) computes
//! inference's function: the summed loss from `loss_and_grad` equals the cross-entropy computed from
//! `Model::forward` logits (each document run alone) within 1e-5 relative. Needs the test model
//! (`store::test_model_path()` fails loudly when it is missing).

mod common;

use finetune::batch::IGNORE;
use finetune::init::init_params;
use finetune::{LoraConfig, LoraModel, Objective, Target, TrainOptions};
use kernels::pool::ThreadPool;
use models::{ForwardCtx, KvAccess, KvBuf, LayerKvMut, LogitsWanted, Model};

/// A plain per-layer cache holding every position.
struct Kv {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    cap: usize,
}

impl Kv {
    fn new(m: &dyn Model, cap: usize) -> Self {
        let c = m.config();
        let n = cap * c.kv_dim();
        Kv { k: vec![vec![0.0; n]; c.n_layer], v: vec![vec![0.0; n]; c.n_layer], cap }
    }
}

impl KvAccess for Kv {
    fn layer(&mut self, il: usize) -> LayerKvMut<'_> {
        LayerKvMut { k: KvBuf::F32(&mut self.k[il]), v: KvBuf::F32(&mut self.v[il]), cap: self.cap }
    }
    fn n_ctx(&self) -> usize {
        self.cap
    }
}

/// Summed next-token cross-entropy of a batch from inference logits, document by document.
pub fn engine_loss(model: &dyn Model, batch: &finetune::Batch) -> (f64, usize) {
    let pool = ThreadPool::new(2);
    let nv = model.config().n_vocab;
    let (mut sum, mut count) = (0.0f64, 0);
    for (s, len) in batch.docs() {
        let mut ctx = ForwardCtx::new(&pool);
        let mut kv = Kv::new(model, len);
        let mut out = Vec::new();
        model.forward(&mut ctx, &batch.tokens[s..s + len], 0, &mut kv, LogitsWanted::All, &mut out).unwrap();
        for i in 0..len {
            let t = batch.targets[s + i];
            if t == IGNORE {
                continue;
            }
            let row = &out[i * nv..(i + 1) * nv];
            let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
            let lse = m + row.iter().map(|&z| (z as f64 - m).exp()).sum::<f64>().ln();
            sum += lse - row[t as usize] as f64;
            count += 1;
        }
    }
    (sum, count)
}

#[test]
fn gemma3_270m_training_loss_equals_inference_loss() {
    let path = store::test_model_path();
    let (model, src) = models::load_model(&path).expect("load the test model");
    let models::WeightSource::Gguf(g) = &src else { panic!("the test model is a GGUF file") };
    let tok = tokenize::Tokenizer::from_gguf(g).unwrap();
    let texts = [
        "The old lighthouse keeper climbed the spiral stairs every evening to light the lamp, even after the ships had stopped coming to the harbour.",
        "Water boils at a lower temperature on a mountain because the air pressure there is lower. Cooks at high altitude therefore need longer to make pasta, and bakers change their recipes, adding flour and water while using less yeast and sugar.",
    ];
    let mut docs: Vec<Vec<u32>> = texts.iter().map(|t| tok.encode(t, true, false).unwrap()).collect();
    // A 64-token batch: the second document is cut to fit.
    let first = docs[0].len();
    assert!(first < 50 && first + docs[1].len() >= 64, "document lengths {first} and {}", docs[1].len());
    docs[1].truncate(64 - first);
    let batch = common::pack(&docs, 1);
    assert_eq!(batch.tokens.len(), 64);
    let cfg = LoraConfig { r: 8, alpha: 16.0, dropout: 0.0, targets: Target::ALL.to_vec() };
    let mut lm = LoraModel::new(&*model, TrainOptions::default()).unwrap();
    let params = init_params(lm.view(), &cfg, 3).unwrap();
    assert_eq!(params.modules.len(), 18 * 7);
    let mut grads = params.zeros_like();
    let (loss, count) = lm.loss_and_grad(&batch, &params, &mut grads, true, 9).unwrap();
    let (want, want_count) = engine_loss(&*model, &batch);
    assert_eq!(count, want_count);
    assert!(loss.is_finite());
    let rel = ((loss - want) / want).abs();
    eprintln!("training loss {loss:.6}, inference loss {want:.6} over {count} targets: relative difference {rel:.2e}");
    assert!(rel < 1e-5, "training loss {loss} vs inference {want}");
    // B = 0 at init: every dB is nonzero, every dA zero (dA = du^T x with du = scale dY B = 0).
    for (m, g) in params.modules.iter().zip(&grads.modules) {
        assert!(g.b.iter().all(|v| v.is_finite()) && g.b.iter().any(|&v| v != 0.0), "{}: dB", m.gguf_name());
        assert!(g.a.iter().all(|&v| v == 0.0), "{}: dA should be 0 while B is 0", m.gguf_name());
    }
}
