//! One linear type for dense (F32/F16/BF16) and block-quantized weights: y = x W^T (+ b).
//! A LoRA adapter rides along inside it (`set_lora`) rather than as a twin type.

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
        Ok(Self { weight, bias: None, rows, cols, lora: None })
    }

    /// Adds a bias vector (`[rows]`, any float type), checked against the output size.
    pub fn with_bias(mut self, bias: &Tensor) -> Result<Self, ModelError> {
        self.bias = Some(vector(bias, self.rows)?);
        Ok(self)
    }

    pub fn tensor(&self) -> &Tensor {
        &self.weight
    }

    /// Whether a LoRA adapter is attached (training refuses a base that already has one).
    pub fn has_lora(&self) -> bool {
        self.lora.is_some()
    }

    /// Adds a LoRA delta, checked against this weight's shape.
    pub fn set_lora(&mut self, d: crate::lora::LoraDelta) -> Result<(), ModelError> {
        if (d.rows, d.cols) != (self.rows, self.cols) {
            return Err(ModelError::Config(format!(
                "LoRA delta for '{}' is [{}, {}], the weight is [{}, {}]",
                self.weight.name, d.rows, d.cols, self.rows, self.cols
            )));
        }
        self.lora = Some(d);
        Ok(())
    }

    /// x: [m, cols] -> y: [m, rows]
    pub fn forward(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32]) {
        let w = QMatrix { ty: self.weight.ty, data: self.weight.data(), rows: self.rows, cols: self.cols };
        let y = &mut y[..m * self.rows];
        crate::observe::notify(&self.weight.name, &x[..m * self.cols], m, self.cols);
        matmul(pool, &w, &x[..m * self.cols], m, y);
        if let Some(l) = &self.lora {
            l.add_to(pool, x, m, y);
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
