//! One linear type for dense (F32/F16/BF16) and block-quantized weights: y = x W^T (+ b).
//! A LoRA adapter rides along inside it rather than as a twin type: one baked in for every row
//! (`set_lora`), and per-request adapters in numbered slots (`set_adapter`) applied only to the
//! rows of the sequences that chose them, so requests on different adapters share the base matmul.

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use weights::Tensor;

use crate::ModelError;

pub struct Linear {
    weight: Tensor, // [rows = out features, cols = in features] (GGUF shape [cols, rows])
    bias: Option<Vec<f32>>, // [rows] (Qwen2 q/k/v, Falcon, Phi)
    pub rows: usize,
    pub cols: usize,
    lora: Option<crate::lora::LoraDelta>,
    adapters: Vec<Option<crate::lora::LoraDelta>>, // slot i = adapter id i + 1
}

impl Linear {
    /// Checks the tensor holds `[out, in]` in a computable type.
    pub fn new(weight: Tensor, cols: usize, rows: usize) -> Result<Self, ModelError> {
        if !weight.ty.is_supported_weight() {
            return Err(ModelError::UnsupportedTensorType { name: weight.name.clone(), ty: weight.ty.name() });
        }
        if weight.shape != [cols, rows] {
            return Err(ModelError::BadShape { name: weight.name.clone(), got: weight.shape.clone(), want: vec![cols, rows] });
        }
        QMatrix::new(weight.ty, weight.data(), rows, cols)?;
        Ok(Self { weight, bias: None, rows, cols, lora: None, adapters: Vec::new() })
    }

    /// Adds a bias vector (`[rows]`, any float type), checked against the output size.
    pub fn with_bias(mut self, bias: &Tensor) -> Result<Self, ModelError> {
        self.bias = Some(vector(bias, self.rows)?);
        Ok(self)
    }

    pub fn tensor(&self) -> &Tensor {
        &self.weight
    }

    /// Whether a LoRA adapter is baked in (training refuses a base that already has one).
    pub fn has_lora(&self) -> bool {
        self.lora.is_some()
    }

    /// Whether `d` fits this weight's shape.
    pub fn check(&self, d: &crate::lora::LoraDelta) -> Result<(), ModelError> {
        if (d.rows, d.cols) != (self.rows, self.cols) {
            return Err(ModelError::Config(format!(
                "LoRA delta for '{}' is [{}, {}], the weight is [{}, {}]",
                self.weight.name, d.rows, d.cols, self.rows, self.cols
            )));
        }
        Ok(())
    }

    /// Adds a LoRA delta applied to every row, checked against this weight's shape.
    pub fn set_lora(&mut self, d: crate::lora::LoraDelta) -> Result<(), ModelError> {
        self.check(&d)?;
        self.lora = Some(d);
        Ok(())
    }

    /// Puts a LoRA delta in slot `id` (>= 1): applied to the rows `forward_rows` assigns to `id`.
    pub fn set_adapter(&mut self, id: usize, d: crate::lora::LoraDelta) -> Result<(), ModelError> {
        assert!(id >= 1, "adapter id 0 is the base model");
        self.check(&d)?;
        if self.adapters.len() < id {
            self.adapters.resize(id, None);
        }
        self.adapters[id - 1] = Some(d);
        Ok(())
    }

    /// Adapter slots in use (the highest id given to `set_adapter`).
    pub fn adapter_slots(&self) -> usize {
        self.adapters.len()
    }

    /// x: [m, cols] -> y: [m, rows]
    pub fn forward(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32]) {
        self.forward_rows(pool, x, m, y, &[]);
    }

    /// `forward`, plus each segment's adapter delta on that segment's rows only (ids without a
    /// delta in this linear leave their rows as the base computed them).
    pub fn forward_rows(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32], segs: &[crate::lora::AdapterRows]) {
        let w = QMatrix { ty: self.weight.ty, data: self.weight.data(), rows: self.rows, cols: self.cols };
        let y = &mut y[..m * self.rows];
        crate::observe::notify(&self.weight.name, &x[..m * self.cols], m, self.cols);
        matmul(pool, &w, &x[..m * self.cols], m, y);
        if let Some(l) = &self.lora {
            l.add_to(pool, x, m, y);
        }
        for seg in segs {
            if let Some(Some(d)) = self.adapters.get(seg.id - 1) {
                let (a, b) = (seg.start, seg.start + seg.len);
                d.add_to(pool, &x[a * self.cols..b * self.cols], seg.len, &mut y[a * self.rows..b * self.rows]);
            }
        }
        if let Some(b) = &self.bias {
            y.chunks_exact_mut(self.rows).for_each(|row| kernels::ops::add_assign(row, b));
        }
    }
}

/// A 1-D tensor of `len` values as f32 (norm weights, biases).
pub fn vector(t: &Tensor, len: usize) -> Result<Vec<f32>, ModelError> {
    if t.shape != [len] {
        return Err(ModelError::BadShape { name: t.name.clone(), got: t.shape.clone(), want: vec![len] });
    }
    let mut v = vec![0.0f32; len];
    kernels::dequant::dequantize_row(t.ty, t.data(), &mut v)
        .map_err(|e| ModelError::Config(format!("tensor '{}': {e}", t.name)))?;
    Ok(v)
}
