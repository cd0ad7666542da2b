//! RMSNorm: y = x / rms(x) * w (Gemma's 1 + w is already folded into w), over rows of `dim`.

/// 1/sqrt(mean(x^2)+eps) with the sum in f64, exactly as inference computes it.
pub fn inv_rms(x: &[f32], eps: f32) -> f32 {
    let ss: f64 = x.iter().map(|&v| (v as f64) * (v as f64)).sum();
    let mean = (ss / x.len() as f64) as f32;
    1.0 / (mean + eps).sqrt()
}

/// out = norm(x) row by row; `inv[row]` keeps each row's 1/rms for the backward pass.
pub fn forward(x: &[f32], w: &[f32], eps: f32, out: &mut [f32], inv: &mut [f32]) {
    let d = w.len();
    for ((xr, or), iv) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).zip(inv.iter_mut()) {
        let s = inv_rms(xr, eps);
        *iv = s;
        for ((o, &xv), &wv) in or.iter_mut().zip(xr).zip(w) {
            *o = xv * s * wv;
        }
    }
}

/// `forward` with inference's in-place order, x * (s * w) (per-head q/k norms, Gemma's post norms).
pub fn forward_fused(x: &[f32], w: &[f32], eps: f32, out: &mut [f32], inv: &mut [f32]) {
    let d = w.len();
    for ((xr, or), iv) in x.chunks_exact(d).zip(out.chunks_exact_mut(d)).zip(inv.iter_mut()) {
        let s = inv_rms(xr, eps);
        *iv = s;
        for ((o, &xv), &wv) in or.iter_mut().zip(xr).zip(w) {
            *o = xv * (s * wv);
        }
    }
}

/// dx (+)= d norm(x)/dx^T dy: with g = w*dy and s = 1/rms, dx = s g - x s^3 mean(g x).
/// `accumulate` adds into dx instead of overwriting it.
pub fn backward(x: &[f32], w: &[f32], inv: &[f32], dy: &[f32], dx: &mut [f32], accumulate: bool) {
    let d = w.len();
    for (((xr, dyr), dxr), &s) in x.chunks_exact(d).zip(dy.chunks_exact(d)).zip(dx.chunks_exact_mut(d)).zip(inv) {
        let gx: f64 = xr.iter().zip(dyr).zip(w).map(|((&xv, &g), &wv)| (xv * wv * g) as f64).sum();
        let c = (gx / d as f64) as f32 * s * s * s;
        for (((o, &xv), &g), &wv) in dxr.iter_mut().zip(xr).zip(dyr).zip(w) {
            let v = s * wv * g - xv * c;
            if accumulate {
                *o += v;
            } else {
                *o = v;
            }
        }
    }
}
