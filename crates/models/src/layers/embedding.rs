//! Token embeddings looked up row by row from the (possibly quantized) table, never dequantized whole.

use weights::Tensor;

use crate::ModelError;

pub struct Embedding {
    table: Tensor, // [n_vocab, n_embd] (GGUF shape [n_embd, n_vocab])
    pub n_vocab: usize,
    pub n_embd: usize,
    row_bytes: usize,
}

impl Embedding {
    pub fn new(table: Tensor) -> Result<Self, ModelError> {
        if table.shape.len() != 2 {
            return Err(ModelError::BadShape { name: table.name.clone(), got: table.shape.clone(), want: vec![0, 0] });
        }
        let (n_embd, n_vocab) = (table.shape[0], table.shape[1]);
        let row_bytes = table.ty.row_bytes(n_embd).ok_or_else(|| {
            ModelError::Config(format!("'{}': row of {n_embd} is not whole {} blocks", table.name, table.ty.name()))
        })?;
        Ok(Self { table, n_vocab, n_embd, row_bytes })
    }

    pub fn tensor(&self) -> &Tensor {
        &self.table
    }

    /// Writes `scale * table[tok]` for each token into `out`: [tokens.len(), n_embd].
    pub fn lookup(&self, tokens: &[u32], scale: f32, out: &mut [f32]) -> Result<(), ModelError> {
        for (&tok, row) in tokens.iter().zip(out.chunks_exact_mut(self.n_embd)) {
            let t = tok as usize;
            if t >= self.n_vocab {
                return Err(ModelError::TokenOutOfRange { id: tok, n_vocab: self.n_vocab });
            }
            let bytes = &self.table.data()[t * self.row_bytes..(t + 1) * self.row_bytes];
            kernels::dequant::dequantize_row(self.table.ty, bytes, row)
                .map_err(|e| ModelError::Config(format!("'{}': {e}", self.table.name)))?;
            if scale != 1.0 {
                row.iter_mut().for_each(|v| *v *= scale);
            }
        }
        Ok(())
    }
}
