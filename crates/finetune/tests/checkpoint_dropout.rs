//! Activation checkpointing changes memory, not results; dropout masks come from the seed alone.

mod common;

use finetune::{peft, LoraModel, LoraParams, Objective, TrainOptions};

fn setup(fixture: &str) -> (Box<dyn models::Model>, LoraParams, finetune::Batch) {
    let root = common::root();
    let (model, _src) = models::load_model(&root.join("testdata").join(fixture).join("model-f32.gguf")).unwrap();
    let c = model.config().clone();
    let params = peft::from_peft_dir(&root.join("testdata/lora").join(fixture), &c.arch, c.n_head, c.n_kv_head).unwrap();
    let docs = vec![(3..30).collect::<Vec<u32>>(), (100..112).collect(), (7..20).rev().collect()];
    (model, params, common::pack(&docs, 2))
}

/// Equal losses and gradients, reported briefly when not.
fn same(a: &(f64, LoraParams), b: &(f64, LoraParams), what: &str) {
    let worst = a.1.values().zip(b.1.values()).flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs())).fold(0.0f32, f32::max);
    assert!(a.0 == b.0 && a.1.modules == b.1.modules, "{what}: losses {} vs {}, largest gradient difference {worst}", a.0, b.0);
}

fn grads(lm: &mut LoraModel, params: &LoraParams, batch: &finetune::Batch, train: bool, seed: u64) -> (f64, LoraParams) {
    let mut g = params.zeros_like();
    let (loss, _) = lm.loss_and_grad(batch, params, &mut g, train, seed).unwrap();
    (loss, g)
}

#[test]
fn checkpointing_gives_identical_gradients() {
    for fixture in ["tiny-gemma3", "tiny-llama"] {
        let (model, mut params, batch) = setup(fixture);
        params.config.dropout = 0.1;
        let mut on = LoraModel::new(&*model, TrainOptions { activation_checkpointing: true, vocab_chunk: 64, threads: 2 }).unwrap();
        let mut off = LoraModel::new(&*model, TrainOptions { activation_checkpointing: false, vocab_chunk: 64, threads: 2 }).unwrap();
        for train in [false, true] {
            let a = grads(&mut on, &params, &batch, train, 5);
            let b = grads(&mut off, &params, &batch, train, 5);
            same(&a, &b, &format!("{fixture}: checkpointing on/off (train {train})"));
        }
    }
}

#[test]
fn dropout_is_reproducible_per_seed_and_off_outside_training() {
    let (model, mut params, batch) = setup("tiny-gemma3");
    let mut lm = LoraModel::new(&*model, TrainOptions { threads: 2, ..TrainOptions::default() }).unwrap();
    params.config.dropout = 0.0;
    let r0 = grads(&mut lm, &params, &batch, true, 1);
    same(&grads(&mut lm, &params, &batch, true, 2), &r0, "dropout 0: the seed does not matter");
    params.config.dropout = 0.3;
    let r1 = grads(&mut lm, &params, &batch, true, 1);
    same(&grads(&mut lm, &params, &batch, true, 1), &r1, "same seed, same masks");
    let r2 = grads(&mut lm, &params, &batch, true, 2);
    assert_ne!(r1.0, r2.0, "another seed draws other masks");
    assert_ne!(r1.1.modules, r2.1.modules);
    assert_ne!(r1.0, r0.0, "dropout 0.3 changes the loss");
    // Not training: no dropout whatever the config says.
    same(&grads(&mut lm, &params, &batch, false, 7), &r0, "not training");
    assert_eq!(lm.loss(&batch, &params).unwrap().0, r0.0);
}

#[test]
fn bad_batches_and_params_are_refused_with_a_reason() {
    let (model, params, batch) = setup("tiny-llama");
    let mut lm = LoraModel::new(&*model, TrainOptions { threads: 1, ..TrainOptions::default() }).unwrap();
    let mut g = params.zeros_like();
    let mut b = batch.clone();
    b.targets.pop();
    let e = lm.loss_and_grad(&b, &params, &mut g, false, 0).unwrap_err().to_string();
    assert!(e.contains("targets"), "{e}");
    let mut b = batch.clone();
    b.tokens[0] = 100_000;
    let e = lm.loss_and_grad(&b, &params, &mut g, false, 0).unwrap_err().to_string();
    assert!(e.contains("vocabulary"), "{e}");
    let mut b = batch.clone();
    b.doc_starts = vec![1];
    assert!(lm.loss(&b, &params).unwrap_err().to_string().contains("doc_starts"));
    let mut p = params.clone();
    p.modules[0].a.pop();
    let e = lm.loss(&batch, &p).unwrap_err().to_string();
    assert!(e.contains("blk.0.attn_q.weight"), "{e}");
    let mut g2 = params.zeros_like();
    g2.modules.pop();
    assert!(lm.loss_and_grad(&batch, &params, &mut g2, false, 0).is_err());
}

#[test]
fn unsupported_architectures_are_named() {
    let (model, _src) = models::load_model(&common::root().join("testdata/tiny-falcon/model-bf16.gguf")).unwrap();
    let Err(e) = LoraModel::new(&*model, TrainOptions::default()) else { panic!("falcon must be refused") };
    let e = e.to_string();
    assert!(e.contains("falcon") && e.contains("fine-tuning supports gemma3 and llama-family dense models"), "{e}");
}
