//! AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization") over [`LoraParams`], and
//! global-norm gradient clipping. The moments are `LoraParams` of the same shapes, so they
//! checkpoint like the parameters.

use serde::{Deserialize, Serialize};

use crate::LoraParams;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    /// Decoupled: params -= lr * weight_decay * params, separate from the adaptive step.
    pub weight_decay: f32,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        // PyTorch's AdamW defaults except weight decay, which LoRA recipes usually leave at 0.
        AdamWConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
    }
}

/// Optimizer state: first and second moments and the number of steps taken.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamW {
    pub config: AdamWConfig,
    pub m: LoraParams,
    pub v: LoraParams,
    pub step: u64,
}

impl AdamW {
    pub fn new(config: AdamWConfig, params: &LoraParams) -> Self {
        AdamW { config, m: params.zeros_like(), v: params.zeros_like(), step: 0 }
    }

    /// One update of `params` with `grads` at learning rate `lr`.
    pub fn step(&mut self, params: &mut LoraParams, grads: &LoraParams, lr: f32) {
        self.step += 1;
        let AdamWConfig { beta1, beta2, eps, weight_decay } = self.config;
        // Bias correction in f64: beta^t underflows slowly and the factors matter early on.
        let bc1 = 1.0 - (beta1 as f64).powi(self.step as i32);
        let bc2 = 1.0 - (beta2 as f64).powi(self.step as i32);
        let step_size = (lr as f64 / bc1) as f32;
        let bc2_sqrt = bc2.sqrt() as f32;
        let decay = 1.0 - lr * weight_decay;
        let slices = params.values_mut().zip(grads.values()).zip(self.m.values_mut().zip(self.v.values_mut()));
        for ((p, g), (m, v)) in slices {
            for i in 0..p.len() {
                let gi = g[i];
                m[i] = beta1 * m[i] + (1.0 - beta1) * gi;
                v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi;
                let denom = v[i].sqrt() / bc2_sqrt + eps;
                p[i] = p[i] * decay - step_size * m[i] / denom;
            }
        }
    }
}

/// The L2 norm of all gradients together.
pub fn global_norm(grads: &LoraParams) -> f32 {
    let ss: f64 = grads.values().flat_map(|s| s.iter()).map(|&g| (g as f64) * (g as f64)).sum();
    ss.sqrt() as f32
}

/// Scales `grads` so their global norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut LoraParams, max_norm: f32) -> f32 {
    let norm = global_norm(grads);
    if norm.is_finite() && norm > max_norm && max_norm > 0.0 {
        let s = max_norm / (norm + 1e-6);
        grads.values_mut().for_each(|v| v.iter_mut().for_each(|g| *g *= s));
    }
    norm
}

/// Multiplies every gradient by `s` (normalising a summed loss by its target count).
pub fn scale(grads: &mut LoraParams, s: f32) {
    grads.values_mut().for_each(|v| v.iter_mut().for_each(|g| *g *= s));
}
