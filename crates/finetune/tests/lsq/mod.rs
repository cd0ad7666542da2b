//! A real (small) objective for testing the loop: linear least squares. Each target token t names a
//! data point (x_t, y_t); the prediction is A x_t + B[0] z_t with A, B the one LoRA module's
//! matrices (r = 1, rows = 1). With `dropout`, training masks features with a mask drawn from
//! the seed, as the model's LoRA dropout does.
#![allow(dead_code)]

use finetune::batch::IGNORE;
use finetune::data::{splitmix64, Dataset, Example};
use finetune::{Batch, FinetuneError, LoraConfig, LoraModule, LoraParams, Objective, Target};

pub const D: usize = 6;

pub struct LeastSquares {
    pub xs: Vec<[f32; D]>,
    pub zs: Vec<f32>,
    pub ys: Vec<f32>,
    pub dropout: f32,
}

fn unit(state: &mut u64) -> f32 {
    (splitmix64(state) >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
}

impl LeastSquares {
    pub fn new(n: usize, dropout: f32) -> Self {
        let mut s = 42u64;
        let w: Vec<f32> = (0..D).map(|_| unit(&mut s) * 2.0).collect();
        let (mut xs, mut zs, mut ys) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let x: [f32; D] = std::array::from_fn(|_| unit(&mut s));
            let z = unit(&mut s);
            let y = x.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + 0.7 * z + 0.01 * unit(&mut s);
            xs.push(x);
            zs.push(z);
            ys.push(y);
        }
        LeastSquares { xs, zs, ys, dropout }
    }

    fn run(&self, batch: &Batch, p: &LoraParams, grads: Option<&mut LoraParams>, seed: Option<u64>) -> (f64, usize) {
        let m = &p.modules[0];
        let mut g = grads;
        let (mut sum, mut n) = (0.0f64, 0usize);
        let mut state = seed.unwrap_or(0);
        let keep = 1.0 - self.dropout;
        for &t in batch.targets.iter().filter(|&&t| t != IGNORE) {
            let i = t as usize;
            let mut x = self.xs[i];
            if seed.is_some() && self.dropout > 0.0 {
                for v in &mut x {
                    let u = (unit(&mut state) + 1.0) / 2.0;
                    *v = if u < self.dropout { 0.0 } else { *v / keep };
                }
            }
            let pred: f32 = x.iter().zip(&m.a).map(|(a, b)| a * b).sum::<f32>() + m.b[0] * self.zs[i];
            let r = pred - self.ys[i];
            sum += 0.5 * (r as f64) * (r as f64);
            n += 1;
            if let Some(g) = g.as_deref_mut() {
                let gm = &mut g.modules[0];
                for (ga, xa) in gm.a.iter_mut().zip(&x) {
                    *ga += r * xa;
                }
                gm.b[0] += r * self.zs[i];
            }
        }
        (sum, n)
    }
}

impl Objective for LeastSquares {
    fn loss_and_grad(&mut self, batch: &Batch, params: &LoraParams, grads: &mut LoraParams, train: bool, seed: u64) -> Result<(f64, usize), FinetuneError> {
        Ok(self.run(batch, params, Some(grads), train.then_some(seed)))
    }

    fn loss(&mut self, batch: &Batch, params: &LoraParams) -> Result<(f64, usize), FinetuneError> {
        Ok(self.run(batch, params, None, None))
    }
}

pub fn params() -> LoraParams {
    let config = LoraConfig { r: 1, alpha: 1.0, dropout: 0.0, targets: vec![Target::Q] };
    let m = LoraModule { layer: 0, target: Target::Q, rows: 1, cols: D, r: 1, a: vec![0.0; D], b: vec![0.0] };
    LoraParams { config, modules: vec![m] }
}

/// `n_docs` documents of `len` tokens; document k's tokens name data points k*len.. (each a target
/// except the first, which nothing predicts).
pub fn dataset(n_docs: usize, len: usize, first_point: usize) -> Dataset {
    let examples = (0..n_docs)
        .map(|k| {
            let tokens: Vec<u32> = (0..len).map(|j| (first_point + k * len + j) as u32).collect();
            (k + 1, Example { mask: vec![true; len], tokens })
        })
        .collect();
    Dataset::from_examples(examples, 1 << 20).0
}
