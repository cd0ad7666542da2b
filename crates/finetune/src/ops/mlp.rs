//! The gated activation a = act(g) * u and its backward. The forward uses the same kernels as
//! inference; the derivatives are written out here.

use kernels::ops::{gelu_tanh, gelu_tanh_mul, silu_mul};
use models::layers::Activation;

use crate::FinetuneError;

/// a = act(g) * u
pub fn forward(act: Activation, g: &[f32], u: &[f32]) -> Result<Vec<f32>, FinetuneError> {
    let mut a = g.to_vec();
    match act {
        Activation::GeluTanh => gelu_tanh_mul(&mut a, u),
        Activation::Silu => silu_mul(&mut a, u),
        Activation::Gelu => return Err(FinetuneError::Config("fine-tuning supports GELU-tanh and SiLU gated MLPs, not exact GELU".into())),
    }
    Ok(a)
}

/// (act(x), act'(x))
pub fn act_and_grad(act: Activation, x: f32) -> (f32, f32) {
    match act {
        Activation::Silu => {
            let sig = 1.0 / (1.0 + (-x).exp());
            (x * sig, sig * (1.0 + x * (1.0 - sig)))
        }
        _ => {
            const K: f32 = 0.797_884_6; // sqrt(2/pi)
            let z = K * x * (1.0 + 0.044715 * x * x);
            let t = z.tanh();
            let dz = K * (1.0 + 3.0 * 0.044715 * x * x);
            (gelu_tanh(x), 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dz)
        }
    }
}

/// From da: dg = da * u * act'(g), du = da * act(g). act(g) comes from the kernels' vectorized
/// activation; both activations are x * sigma(...), so sigma = act(x) / x gives the derivative
/// without another transcendental per element (a series near 0, where the division is unstable).
pub fn backward(act: Activation, g: &[f32], u: &[f32], da: &[f32], dg: &mut [f32], du: &mut [f32]) {
    let ones = vec![1.0f32; g.len()];
    du.copy_from_slice(g);
    match act {
        Activation::Silu => silu_mul(du, &ones),
        _ => gelu_tanh_mul(du, &ones),
    }
    const K: f32 = 0.797_884_6; // sqrt(2/pi)
    const C: f32 = 0.044715;
    for i in 0..g.len() {
        let (x, f) = (g[i], du[i]);
        let small = x.abs() < 1e-3;
        let d = match act {
            Activation::Silu => {
                let sig = if small { 0.5 + 0.25 * x } else { f / x };
                sig * (1.0 + x * (1.0 - sig))
            }
            _ => {
                // gelu_tanh(x) = x * sigma(2z), z = K x (1 + C x^2)
                let sig = if small { 0.5 + 0.5 * K * x } else { f / x };
                sig + 2.0 * x * sig * (1.0 - sig) * K * (1.0 + 3.0 * C * x * x)
            }
        };
        dg[i] = da[i] * u[i] * d;
        du[i] = da[i] * f;
    }
}
