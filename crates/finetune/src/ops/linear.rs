//! A frozen base linear y = x W^T (+b) and its input gradient dX = dY W. The gradient runs through
//! `kernels::matmul` over a transposed copy of W built once: Q8_0 when the base is quantized (int8
//! dot products, ~1.06 bytes per weight), F32 when it is float (so small-model gradients are exact).

use kernels::matmul::{matmul, QMatrix};
use kernels::pool::ThreadPool;
use kernels::GgmlType;
use models::layers::Linear;

use crate::FinetuneError;

/// W^T for rows `r0..r1` of a weight: a [cols, r1 - r0] matrix in `ty`.
pub struct Transposed {
    pub ty: GgmlType,
    pub data: Vec<u8>,
    pub rows: usize, // = cols of W
    pub cols: usize, // = r1 - r0
}

impl Transposed {
    pub fn build(w: &QMatrix<'_>, r0: usize, r1: usize) -> Result<Self, FinetuneError> {
        let (cols, k) = (w.cols, r1 - r0);
        let float_base = matches!(w.ty, GgmlType::F32 | GgmlType::F16 | GgmlType::BF16);
        let ty = if !float_base && k % GgmlType::Q8_0.block_size() == 0 { GgmlType::Q8_0 } else { GgmlType::F32 };
        let bad = |e: String| FinetuneError::Config(format!("transposing a {} weight: {e}", w.ty.name()));
        let mut dense = vec![0.0f32; k * cols];
        for (i, row) in dense.chunks_exact_mut(cols).enumerate() {
            let bytes = w.row(r0 + i).ok_or_else(|| bad(format!("row {} out of range", r0 + i)))?;
            kernels::dequant::dequantize_row(w.ty, bytes, row).map_err(|e| bad(e.to_string()))?;
        }
        let rb = ty.row_bytes(k).ok_or_else(|| bad("ragged row".into()))?;
        let mut data = vec![0u8; rb * cols];
        let mut col = vec![0.0f32; k];
        for (j, out) in data.chunks_exact_mut(rb).enumerate() {
            for (i, c) in col.iter_mut().enumerate() {
                *c = dense[i * cols + j];
            }
            match ty {
                GgmlType::F32 => out.copy_from_slice(super::f32_bytes(&col)),
                _ => kernels::quant::quantize_row(ty, &col, out).map_err(|e| bad(e.to_string()))?,
            }
        }
        Ok(Self { ty, data, rows: cols, cols: k })
    }

    pub fn matrix(&self) -> QMatrix<'_> {
        QMatrix { ty: self.ty, data: &self.data, rows: self.rows, cols: self.cols }
    }
}

/// A base linear with its transposed copy.
pub struct Frozen<'a> {
    pub lin: &'a Linear,
    wt: Transposed,
}

impl<'a> Frozen<'a> {
    pub fn new(lin: &'a Linear) -> Result<Self, FinetuneError> {
        if lin.has_lora() {
            return Err(FinetuneError::Config(format!(
                "'{}' already carries a LoRA adapter; load the base model without --lora to fine-tune it",
                lin.tensor().name
            )));
        }
        let t = lin.tensor();
        let w = QMatrix { ty: t.ty, data: t.data(), rows: lin.rows, cols: lin.cols };
        Ok(Self { lin, wt: Transposed::build(&w, 0, lin.rows)? })
    }

    /// x: [m, cols] -> y: [m, rows] (inference's own forward).
    pub fn forward(&self, pool: &ThreadPool, x: &[f32], m: usize, y: &mut [f32]) {
        self.lin.forward(pool, x, m, y);
    }

    /// dx: [m, cols] = dy [m, rows] W
    pub fn backward(&self, pool: &ThreadPool, dy: &[f32], m: usize, dx: &mut [f32]) {
        matmul(pool, &self.wt.matrix(), &dy[..m * self.lin.rows], m, &mut dx[..m * self.lin.cols]);
    }

    /// Bytes held by the transposed copy.
    pub fn extra_bytes(&self) -> usize {
        self.wt.data.len()
    }
}
