//! Tokens per second of one LoRA training step (loss_and_grad) on a model file.
//!
//!     cargo run --release -p finetune --example lora_step_bench -- [MODEL.gguf] [--tokens 256] [--steps 3] [--threads N] [--no-ckpt]
//!
//! Defaults: the test model (Gemma 3 270M Q4_K_M), r = 8, alpha 16, all 7 targets, one 256-token
//! document per step, activation checkpointing on. Prints the build time, the transposed-weight
//! memory, seconds per step and tokens/s.

use std::time::Instant;

use finetune::batch::IGNORE;
use finetune::init::init_params;
use finetune::rng::Rng;
use finetune::{Batch, LoraConfig, LoraModel, Objective, Target, TrainOptions};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).map(|v| v.parse::<usize>().expect("a number"));
    let path = args.first().filter(|a| !a.starts_with("--")).map(std::path::PathBuf::from).unwrap_or_else(store::test_model_path);
    let n = opt("--tokens").unwrap_or(256);
    let steps = opt("--steps").unwrap_or(3);
    let mut o = TrainOptions { activation_checkpointing: !args.iter().any(|a| a == "--no-ckpt"), ..TrainOptions::default() };
    if let Some(t) = opt("--threads") {
        o.threads = t;
    }
    let (model, _src) = models::load_model(&path).expect("load model");
    let t0 = Instant::now();
    let threads = o.threads;
    let ckpt = o.activation_checkpointing;
    let mut lm = LoraModel::new(&*model, o).expect("training model");
    let build = t0.elapsed().as_secs_f64();
    let (blk, head) = lm.extra_bytes();
    let cfg = LoraConfig { r: 8, alpha: 16.0, dropout: 0.05, targets: Target::ALL.to_vec() };
    let params = init_params(lm.view(), &cfg, 1).expect("init");
    let nv = model.config().n_vocab as u64;
    let mut rng = Rng::new(42);
    let tokens: Vec<u32> = (0..n).map(|_| (rng.next_u64() % nv.min(50_000)) as u32).collect();
    let mut targets: Vec<u32> = tokens[1..].to_vec();
    targets.push(IGNORE);
    let batch = Batch { tokens, targets, doc_starts: vec![0] };
    let mut grads = params.zeros_like();
    lm.loss_and_grad(&batch, &params, &mut grads, true, 0).expect("warm-up step");
    let t1 = Instant::now();
    for s in 0..steps {
        grads.fill_zero();
        lm.loss_and_grad(&batch, &params, &mut grads, true, s as u64 + 1).expect("step");
    }
    let per = t1.elapsed().as_secs_f64() / steps as f64;
    println!(
        "model {} | threads {threads} | checkpointing {ckpt} | build {build:.2} s | transposed copies: blocks {:.1} MiB, head {:.1} MiB | {n} tokens/step: {per:.3} s/step, {:.1} tokens/s",
        path.display(),
        blk as f64 / 1048576.0,
        head as f64 / 1048576.0,
        n as f64 / per
    );
}
