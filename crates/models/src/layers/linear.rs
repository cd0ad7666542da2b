//! One linear type for dense (F32/F16/BF16) and block-quantized weights: y = x W^T.
//! A LoRA adapter will wrap this type rather than add a twin.

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use weights::Tensor;

use crate::ModelError;

pub struct Linear {
    weight: Tensor, // [rows = out features, cols = in features] (GGUF shape [cols, rows])
    pub rows: usize,
    pub cols: usize,
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
        Ok(Self { weight, rows, cols })
    }

    pub fn tensor(&self) -> &Tensor {
        &self.weight
    }

    /// x: [m, cols] -> y: [m, rows]
    pub fn forward(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32]) {
        let w = QMatrix { ty: self.weight.ty, data: self.weight.data(), rows: self.rows, cols: self.cols };
        matmul(pool, &w, &x[..m * self.cols], m, &mut y[..m * self.rows]);
    }
}
