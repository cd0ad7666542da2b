//! Importance matrices: collecting them (`agora imatrix`), llama.cpp's file layouts, and checking one
//! against the model it is meant to quantize.

pub mod collect;
pub mod file;

pub use collect::{collect, CollectOptions, CollectReport};
pub use file::{Entry, Format, Imatrix};

use crate::error::{QuantizeError, Result};

/// How an importance matrix covers the tensors that will be quantized.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Coverage {
    /// Quantized tensors with weights from the matrix.
    pub used: usize,
    /// Quantized per-layer tensors the matrix has no entry for (quantized without weights, as llama.cpp does).
    pub missing: Vec<String>,
}

/// Checks `m` against the tensors to be quantized, `(name, shape in ggml order)`: every entry must
/// name a tensor of the model with `cols * experts` values, or the matrix was made from another model.
/// Token embeddings and the output head are never in a matrix (llama-imatrix skips them) and are not
/// reported missing.
pub fn check(m: &Imatrix, all: &[(String, Vec<usize>)], quantized: &[&str]) -> Result<Coverage> {
    let shape_of = |name: &str| all.iter().find(|(n, _)| n == name).map(|(_, s)| s);
    for (name, e) in &m.entries {
        let Some(shape) = shape_of(name) else {
            return Err(QuantizeError::Imatrix(format!(
                "the importance matrix has an entry for '{name}', which this model does not have; it was made from another model"
            )));
        };
        let want = shape[0] * shape.get(2).copied().unwrap_or(1);
        if e.sums.len() != want {
            return Err(QuantizeError::Imatrix(format!(
                "the importance matrix holds {} values for '{name}' but the tensor (shape {shape:?}) needs {want}; it was made from another model",
                e.sums.len()
            )));
        }
    }
    let mut cov = Coverage::default();
    for &name in quantized {
        if m.entries.contains_key(name) {
            cov.used += 1;
        } else if name.starts_with("blk.") {
            cov.missing.push(name.to_string());
        }
    }
    if cov.used == 0 {
        return Err(QuantizeError::Imatrix(
            "the importance matrix covers none of the tensors being quantized; it was made from another model".into(),
        ));
    }
    Ok(cov)
}
