//! The trainable part of a LoRA fine-tune: for each adapted linear W [rows, cols] (GGUF row order),
//! A [r, cols] and B [rows, r], so that y = x W^T + scale * (dropout(x) A^T) B^T with scale = alpha / r.
//! The same type holds gradients and the optimizer's moments (same shapes, same order).

use serde::{Deserialize, Serialize};

/// A projection LoRA may adapt (PEFT's `target_modules` names: q_proj, k_proj, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl Target {
    pub const ALL: [Target; 7] = [Target::Q, Target::K, Target::V, Target::O, Target::Gate, Target::Up, Target::Down];

    /// The GGUF tensor base name (`blk.N.<base>.weight`).
    pub fn gguf_base(self) -> &'static str {
        match self {
            Target::Q => "attn_q",
            Target::K => "attn_k",
            Target::V => "attn_v",
            Target::O => "attn_output",
            Target::Gate => "ffn_gate",
            Target::Up => "ffn_up",
            Target::Down => "ffn_down",
        }
    }

    /// PEFT's module name (`q_proj`, ..., `down_proj`).
    pub fn peft_name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// Accepts `q`, `q_proj`, `attn_q`, ... (case-insensitive).
    pub fn parse(s: &str) -> Option<Target> {
        let s = s.trim().to_ascii_lowercase();
        Target::ALL.into_iter().find(|t| {
            let short = t.peft_name().trim_end_matches("_proj");
            s == short || s == t.peft_name() || s == t.gguf_base()
        })
    }
}

/// The adapter's shape and training-time regularization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoraConfig {
    pub r: usize,
    pub alpha: f32,
    /// Dropout on the adapter's input during training (PEFT's lora_dropout); 0 disables it.
    pub dropout: f32,
    pub targets: Vec<Target>,
}

impl LoraConfig {
    pub fn scale(&self) -> f32 {
        self.alpha / self.r as f32
    }
}

/// One adapted linear, e.g. layer 3's q projection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoraModule {
    pub layer: usize,
    pub target: Target,
    pub rows: usize,
    pub cols: usize,
    pub r: usize,
    /// [r, cols] row-major
    pub a: Vec<f32>,
    /// [rows, r] row-major; rows in the GGUF order of the base weight (Llama q/k rows are permuted in GGUF).
    pub b: Vec<f32>,
}

impl LoraModule {
    /// The base weight's GGUF name: `blk.{layer}.{base}.weight`.
    pub fn gguf_name(&self) -> String {
        format!("blk.{}.{}.weight", self.layer, self.target.gguf_base())
    }
}

/// All adapted linears, ordered by (layer, target).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoraParams {
    pub config: LoraConfig,
    pub modules: Vec<LoraModule>,
}

impl LoraParams {
    /// The same shapes filled with zeros (gradients, optimizer moments).
    pub fn zeros_like(&self) -> LoraParams {
        let modules = self
            .modules
            .iter()
            .map(|m| LoraModule { a: vec![0.0; m.a.len()], b: vec![0.0; m.b.len()], ..m.clone() })
            .collect();
        LoraParams { config: self.config.clone(), modules }
    }

    pub fn n_params(&self) -> usize {
        self.modules.iter().map(|m| m.a.len() + m.b.len()).sum()
    }

    /// Every trainable value, module by module (A then B): for optimizers and norms.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut [f32]> {
        self.modules.iter_mut().flat_map(|m| [m.a.as_mut_slice(), m.b.as_mut_slice()])
    }

    pub fn values(&self) -> impl Iterator<Item = &[f32]> {
        self.modules.iter().flat_map(|m| [m.a.as_slice(), m.b.as_slice()])
    }

    pub fn fill_zero(&mut self) {
        self.values_mut().for_each(|v| v.fill(0.0));
    }
}
