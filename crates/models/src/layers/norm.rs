//! RMS normalisation, as every supported architecture uses it.

use weights::Tensor;

use crate::ModelError;

pub struct RmsNorm {
    weight: Vec<f32>, // [dim]
    eps: f32,
}

impl RmsNorm {
    pub fn from_tensor(t: &Tensor, dim: usize, eps: f32) -> Result<Self, ModelError> {
        if t.shape != [dim] {
            return Err(ModelError::BadShape { name: t.name.clone(), got: t.shape.clone(), want: vec![dim] });
        }
        let mut weight = vec![0.0f32; dim];
        kernels::dequant::dequantize_row(t.ty, t.data(), &mut weight)
            .map_err(|e| ModelError::Config(format!("tensor '{}': {e}", t.name)))?;
        Ok(Self { weight, eps })
    }

    pub fn dim(&self) -> usize {
        self.weight.len()
    }

    /// The per-channel scale (Gemma's 1 + w already folded in).
    pub fn weight(&self) -> &[f32] {
        &self.weight
    }

    pub fn eps(&self) -> f32 {
        self.eps
    }

    /// Normalises each `dim`-sized row of `x` into `out`.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        let d = self.dim();
        for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let s = inv_rms(xr, self.eps);
            for ((o, &xv), &w) in or.iter_mut().zip(xr).zip(&self.weight) {
                *o = xv * s * w;
            }
        }
    }

    /// Normalises each `dim`-sized row of `x` in place (per-head q/k norms).
    pub fn forward_inplace(&self, x: &mut [f32]) {
        let d = self.dim();
        for xr in x.chunks_exact_mut(d) {
            let s = inv_rms(xr, self.eps);
            for (xv, &w) in xr.iter_mut().zip(&self.weight) {
                *xv *= s * w;
            }
        }
    }
}

/// 1/sqrt(mean(x^2)+eps); the sum is kept in f64 because Gemma's residual reaches ~34,000.
fn inv_rms(x: &[f32], eps: f32) -> f32 {
    let ss: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
    let mean = (ss / x.len() as f64) as f32;
    1.0 / (mean + eps).sqrt()
}

/// Classic LayerNorm with weight and bias (Falcon): (x - mean) / sqrt(var + eps) * w + b.
pub struct LayerNorm {
    weight: Vec<f32>, // [dim]
    bias: Vec<f32>,   // [dim]
    eps: f32,
}

impl LayerNorm {
    pub fn from_tensors(w: &Tensor, b: &Tensor, dim: usize, eps: f32) -> Result<Self, ModelError> {
        Ok(Self { weight: super::vector(w, dim)?, bias: super::vector(b, dim)?, eps })
    }

    pub fn dim(&self) -> usize {
        self.weight.len()
    }

    /// Normalises each `dim`-sized row of `x` into `out`.
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        let d = self.dim();
        for (xr, or) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)) {
            let mean = xr.iter().map(|&v| v as f64).sum::<f64>() / d as f64;
            let var = xr.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / d as f64;
            let inv = 1.0 / (var + self.eps as f64).sqrt();
            for (((o, &xv), &w), &b) in or.iter_mut().zip(xr).zip(&self.weight).zip(&self.bias) {
                *o = ((xv as f64 - mean) * inv) as f32 * w + b;
            }
        }
    }
}

/// The final norm of a decoder: RMSNorm for most architectures, LayerNorm for Falcon.
pub enum Norm {
    Rms(RmsNorm),
    Layer(LayerNorm),
}

impl Norm {
    pub fn forward(&self, x: &[f32], out: &mut [f32]) {
        match self {
            Norm::Rms(n) => n.forward(x, out),
            Norm::Layer(n) => n.forward(x, out),
        }
    }
}

impl From<RmsNorm> for Norm {
    fn from(n: RmsNorm) -> Self {
        Norm::Rms(n)
    }
}

impl From<LayerNorm> for Norm {
    fn from(n: LayerNorm) -> Self {
        Norm::Layer(n)
    }
}
