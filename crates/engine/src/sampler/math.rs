//! Small numeric kernels for the sampler, written so the compiler can vectorise them and so
//! results do not depend on the platform's libm (the same seed gives the same tokens everywhere).

/// e^x for x <= 0 (shifted logits). Cephes-style: 2^n * p(r) with |r| <= ln2/2, relative error
/// about 1e-7. x below -87 (where e^x is under f32's normal range) gives 0; -inf gives 0.
#[inline(always)]
pub fn exp_nonpos(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let xc = if x < -87.0 { -87.0 } else { x }; // also maps -inf, keeps 2^n a normal number
                                                // Round to nearest by the 1.5 * 2^23 trick: pure float/int ops, so loops vectorise
                                                // (f32::round is a libm call without SSE4.1). The low bits of `t` hold n.
    const MAGIC: f32 = 12_582_912.0;
    let t = xc * LOG2E + MAGIC;
    let n = t - MAGIC;
    let ni = (t.to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
    let r = xc - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    let scale = f32::from_bits((ni.wrapping_add(127) as u32) << 23);
    if x < -87.0 {
        0.0
    } else {
        e * scale
    }
}

/// Calls `hit(i)` for the (few) indices where `pred` may hold, testing 8 values at a time
/// without branches so the scan over a 262k-entry row vectorises. `pred` must be cheap and pure.
#[inline(always)]
pub fn scan_hits(xs: &[f32], pred: impl Fn(f32) -> bool, mut hit: impl FnMut(usize)) {
    let chunks = xs.chunks_exact(8);
    let tail_start = xs.len() - chunks.remainder().len();
    for (ci, c) in chunks.enumerate() {
        let mut any = false;
        for &x in c {
            any |= pred(x);
        }
        if any {
            for j in 0..8 {
                hit(ci * 8 + j);
            }
        }
    }
    for i in tail_start..xs.len() {
        hit(i);
    }
}

/// Largest value (NaN ignored); -inf for an empty slice. Eight lanes so it vectorises.
pub fn max_f32(xs: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for c in chunks {
        for j in 0..8 {
            m[j] = if c[j] > m[j] { c[j] } else { m[j] };
        }
    }
    let mut best = f32::NEG_INFINITY;
    for &x in m.iter().chain(tail) {
        if x > best {
            best = x;
        }
    }
    best
}

/// Writes exp(l - max) for each logit into `out` and returns the sum (f64).
/// Handles the edge rows: all -inf -> uniform; any +inf -> mass shared by the +inf entries.
pub fn exp_shifted_into(logits: &[f32], max: f32, out: &mut Vec<f32>) -> f64 {
    out.clear();
    if max.is_finite() {
        out.extend(logits.iter().map(|&l| exp_nonpos(l - max)));
    } else {
        out.extend(logits.iter().map(|&l| if l == max { 1.0 } else { 0.0 }));
    }
    sum_f32(out)
}

/// Sum of exp(l - max) without storing it (through a small stack buffer, so the exp loop
/// vectorises the same way as in `exp_shifted_into`).
pub fn exp_shifted_sum(logits: &[f32], max: f32) -> f64 {
    if !max.is_finite() {
        return logits.iter().filter(|&&l| l == max).count() as f64;
    }
    let mut buf = [0.0f32; 1024];
    let mut total = 0.0f64;
    for block in logits.chunks(buf.len()) {
        let b = &mut buf[..block.len()];
        for (o, &l) in b.iter_mut().zip(block) {
            *o = exp_nonpos(l - max);
        }
        total += sum_f32(b);
    }
    total
}

/// exp(l - max) for one logit, with the same edge handling as the bulk versions.
#[inline]
pub fn exp_shifted(l: f32, max: f32) -> f32 {
    if max.is_finite() {
        exp_nonpos(l - max)
    } else if l == max {
        1.0
    } else {
        0.0
    }
}

/// Sum in eight f32 lanes per 4096-block, blocks added in f64.
pub fn sum_f32(xs: &[f32]) -> f64 {
    let mut total = 0.0f64;
    for block in xs.chunks(4096) {
        let mut acc = [0.0f32; 8];
        let chunks = block.chunks_exact(8);
        let tail = chunks.remainder();
        for c in chunks {
            for j in 0..8 {
                acc[j] += c[j];
            }
        }
        total += acc.iter().chain(tail).map(|&a| a as f64).sum::<f64>();
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_nonpos_matches_std_within_2e_7_relative() {
        let mut worst = 0.0f64;
        let mut x = 0.0f32;
        while x > -87.0 {
            let want = (x as f64).exp();
            let got = exp_nonpos(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x -= 0.000_731;
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert_eq!(exp_nonpos(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpos(-100.0), 0.0);
    }

    #[test]
    fn max_ignores_nan_and_handles_tails() {
        let mut v: Vec<f32> = (0..37).map(|i| i as f32 * 0.5 - 3.0).collect();
        v[5] = f32::NAN;
        assert_eq!(max_f32(&v), 15.0);
        assert_eq!(max_f32(&[]), f32::NEG_INFINITY);
        assert_eq!(max_f32(&[-2.0]), -2.0);
    }

    #[test]
    fn edge_rows() {
        let mut out = Vec::new();
        let all_neg_inf = [f32::NEG_INFINITY; 3];
        assert_eq!(
            exp_shifted_into(&all_neg_inf, f32::NEG_INFINITY, &mut out),
            3.0
        );
        let with_inf = [1.0, f32::INFINITY, 2.0, f32::INFINITY];
        assert_eq!(exp_shifted_into(&with_inf, f32::INFINITY, &mut out), 2.0);
        assert_eq!(out, [0.0, 1.0, 0.0, 1.0]);
        let v: Vec<f32> = (0..10_001).map(|i| -(i as f32) * 1e-3).collect();
        let want: f64 = v.iter().map(|&l| (l as f64).exp()).sum();
        assert!((exp_shifted_sum(&v, 0.0) - want).abs() / want < 1e-6);
        assert!((exp_shifted_into(&v, 0.0, &mut out) - want).abs() / want < 1e-6);
    }
}
