//! Fresh adapters as PEFT initialises them: A ~ kaiming_uniform(a = sqrt(5)), which is
//! U(-1/sqrt(cols), 1/sqrt(cols)), and B = 0, so training starts from the base model's function.

use models::TrainView;

use crate::rng::Rng;
use crate::{FinetuneError, LoraConfig, LoraModule, LoraParams, Target};

/// One module per (layer, target), ordered by layer then target (`Target::ALL` order).
pub fn init_params(view: &TrainView<'_>, cfg: &LoraConfig, seed: u64) -> Result<LoraParams, FinetuneError> {
    if cfg.r == 0 {
        return Err(FinetuneError::Config("LoRA rank r must be at least 1".into()));
    }
    if cfg.targets.is_empty() {
        return Err(FinetuneError::Config("no LoRA targets given (choose from q, k, v, o, gate, up, down)".into()));
    }
    let mut modules = Vec::new();
    for (layer, b) in view.blocks.iter().enumerate() {
        for t in Target::ALL.into_iter().filter(|t| cfg.targets.contains(t)) {
            let lin = match t {
                Target::Q => &b.attn.wq,
                Target::K => &b.attn.wk,
                Target::V => &b.attn.wv,
                Target::O => &b.attn.wo,
                Target::Gate => &b.mlp.gate,
                Target::Up => &b.mlp.up,
                Target::Down => &b.mlp.down,
            };
            let (rows, cols) = (lin.rows, lin.cols);
            let bound = 1.0 / (cols as f32).sqrt();
            let mut rng = Rng::stream(seed, &[layer as u64, t as u64]);
            let a = (0..cfg.r * cols).map(|_| rng.uniform(-bound, bound)).collect();
            modules.push(LoraModule { layer, target: t, rows, cols, r: cfg.r, a, b: vec![0.0; rows * cfg.r] });
        }
    }
    Ok(LoraParams { config: cfg.clone(), modules })
}
