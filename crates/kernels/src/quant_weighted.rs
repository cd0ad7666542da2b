//! Importance-weighted quantization: what `llama-quantize --imatrix` does. `qw` holds one weight per
//! column of the row (the mean squared input activation of that column, from an importance matrix);
//! errors in columns that see large activations cost more, so the scale searches favour them.
//!
//! Reproduces ggml's `quantize_row_*_impl` bit for bit under the same rules as `quant.rs` (C float
//! semantics, no contraction). Per block, the weights are `qw[j] * sqrt(sigma2 + x[j]^2)` with sigma2
//! the mean square of the row (Q4_0..Q5_1) or twice that of the 256-element super-block (Q3_K..Q5_K;
//! once for Q2_K); Q6_K uses `qw` as is. Q8_0 and the float types ignore the weights, as in ggml.

use crate::dequant::{check_row, FormatError};
use crate::quant::{
    k4_levels, make_qkx2_quants, make_qx_quants, nearest_int, pack_2bit, pack_q4_k, pack_q5, pack_q5_k, pack_scale_min_k4, put_f16,
    q3_k_finish, quantize_row, block_q6_k_weighted, GROUP_MAX_EPS,
};
use crate::dequant::rd_f16;
use crate::types::{GgmlType, QK_K};

/// Quantizes one row with importance weights `qw` (`qw.len() == src.len()`) into exactly
/// `ty.row_bytes(src.len())` bytes of `dst`.
pub fn quantize_row_weighted(ty: GgmlType, src: &[f32], dst: &mut [u8], qw: &[f32]) -> Result<(), FormatError> {
    check_row(ty, src.len(), dst.len())?;
    if qw.len() != src.len() {
        return Err(FormatError::WeightsLength { ty: ty.name(), n: src.len(), got: qw.len() });
    }
    let per_block: fn(&[f32], &mut [u8], &[f32], f32) = match ty {
        GgmlType::Q4_0 => block_q4_0,
        GgmlType::Q4_1 => block_q4_1,
        GgmlType::Q5_0 => block_q5_0,
        GgmlType::Q5_1 => block_q5_1,
        GgmlType::Q2K => block_q2_k,
        GgmlType::Q3K => block_q3_k,
        GgmlType::Q4K => block_q4_k,
        GgmlType::Q5K => block_q5_k,
        GgmlType::Q6K => |x, y, w, _| block_q6_k_weighted(x, y, Some(w)),
        _ => return quantize_row(ty, src, dst),
    };
    // The 32-element formats take sigma2 over the whole row; the K-quants per super-block.
    let row_sigma2 = match ty {
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 => sum_sq(src) / src.len() as f32,
        _ => 0.0,
    };
    let (bs, ts) = (ty.block_size(), ty.type_size());
    for ((x, y), w) in src.chunks_exact(bs).zip(dst.chunks_exact_mut(ts)).zip(qw.chunks_exact(bs)) {
        per_block(x, y, w, row_sigma2);
    }
    Ok(())
}

fn sum_sq(x: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for &v in x {
        s += v * v;
    }
    s
}

/// weight[j] = qw[j] * sqrt(sigma2 + x[j]^2)
fn block_weights<const N: usize>(x: &[f32], qw: &[f32], sigma2: f32) -> [f32; N] {
    let mut w = [0f32; N];
    for j in 0..N {
        w[j] = qw[j] * (sigma2 + x[j] * x[j]).sqrt();
    }
    w
}

// ---------------------------------------------------------------- 32-element blocks

fn block_q4_0(x: &[f32], y: &mut [u8], qw: &[f32], sigma2: f32) {
    let w = block_weights::<32>(x, qw, sigma2);
    let mut l = [0i8; 32];
    let d = make_qx_quants(8, x, &mut l, Some(&w));
    put_f16(y, 0, d);
    for j in 0..16 {
        y[2 + j] = l[j] as u8 | ((l[j + 16] as u8) << 4);
    }
}

fn block_q4_1(x: &[f32], y: &mut [u8], qw: &[f32], sigma2: f32) {
    let w = block_weights::<32>(x, qw, sigma2);
    let (mut l, mut aux) = ([0u8; 32], [0u8; 32]);
    let (d, the_min) = make_qkx2_quants(15, x, &w, &mut l, &mut aux, -0.9, 0.05, 36, false);
    put_f16(y, 0, d);
    put_f16(y, 2, -the_min);
    for j in 0..16 {
        y[4 + j] = l[j] | (l[j + 16] << 4);
    }
}

fn block_q5_0(x: &[f32], y: &mut [u8], qw: &[f32], sigma2: f32) {
    let w = block_weights::<32>(x, qw, sigma2);
    let mut l = [0i8; 32];
    let d = make_qx_quants(16, x, &mut l, Some(&w));
    put_f16(y, 0, d);
    let (head, qs) = y.split_at_mut(6);
    pack_q5(|j| l[j] as u8, &mut head[2..6], qs);
}

fn block_q5_1(x: &[f32], y: &mut [u8], qw: &[f32], sigma2: f32) {
    let w = block_weights::<32>(x, qw, sigma2);
    let (mut l, mut aux) = ([0u8; 32], [0u8; 32]);
    let (d, the_min) = make_qkx2_quants(31, x, &w, &mut l, &mut aux, -0.9, 0.05, 36, false);
    put_f16(y, 0, d);
    put_f16(y, 2, -the_min);
    let (head, qs) = y.split_at_mut(8);
    pack_q5(|j| l[j], &mut head[4..8], qs);
}

// ---------------------------------------------------------------- K-quants

/// ggml `make_qp_quants`: unsigned levels 0..=nmax for non-negative `x` (sub-block scales or mins)
/// under weights `qw`: 9 candidate scales, then up to 5 passes of coordinate descent. Levels are
/// stored in bytes exactly as ggml stores them (a negative level wraps). Returns the scale.
fn make_qp_quants(nmax: i32, x: &[f32], l: &mut [u8], qw: &[f32]) -> f32 {
    let n = x.len();
    let mut max = 0.0f32;
    for &v in x {
        max = if max > v { max } else { v };
    }
    if max < GROUP_MAX_EPS {
        l[..n].fill(0);
        return 0.0;
    }
    let mut iscale = nmax as f32 / max;
    for i in 0..n {
        l[i] = nearest_int(iscale * x[i]) as u8;
    }
    let scale = 1.0 / iscale;
    let mut best_mse = 0.0f32;
    for i in 0..n {
        let diff = x[i] - scale * l[i] as f32;
        best_mse += qw[i] * diff * diff;
    }
    for is in -4..=4 {
        if is == 0 {
            continue;
        }
        let iscale_is = (0.1 * is as f32 + nmax as f32) / max;
        let scale_is = 1.0 / iscale_is;
        let mut mse = 0.0f32;
        for i in 0..n {
            let q = nearest_int(iscale_is * x[i]).min(nmax);
            let diff = x[i] - scale_is * q as f32;
            mse += qw[i] * diff * diff;
        }
        if mse < best_mse {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for i in 0..n {
        let q = nearest_int(iscale * x[i]).min(nmax);
        l[i] = q as u8;
        let (w, lf) = (qw[i], l[i] as f32);
        sumlx += w * x[i] * lf;
        suml2 += w * lf * lf;
    }
    for _ in 0..5 {
        let mut changed = false;
        for i in 0..n {
            let (w, cur) = (qw[i], l[i] as f32);
            let mut slx = sumlx - w * x[i] * cur;
            let mut sl2 = suml2 - w * cur * cur;
            if slx > 0.0 && sl2 > 0.0 {
                let new_l = nearest_int(x[i] * sl2 / slx).min(nmax);
                if new_l != l[i] as i32 {
                    let nl = new_l as f32;
                    slx += w * x[i] * nl;
                    sl2 += w * nl * nl;
                    if slx * slx * suml2 > sumlx * sumlx * sl2 {
                        l[i] = new_l as u8;
                        sumlx = slx;
                        suml2 = sl2;
                        changed = true;
                    }
                }
            }
        }
        if !changed {
            break;
        }
    }
    if suml2 > 0.0 {
        sumlx / suml2
    } else {
        0.0
    }
}

// Q2_K: scales[16] | qs[64] | d f16 | dmin f16.
fn block_q2_k(x: &[f32], y: &mut [u8], qw: &[f32], _: f32) {
    let sigma2 = sum_sq(x) / QK_K as f32;
    let mut l = [0u8; QK_K];
    let mut aux = [0u8; 16];
    let (mut scales, mut mins, mut sw) = ([0f32; 16], [0f32; 16], [0f32; 16]);
    for j in 0..16 {
        let xs = &x[16 * j..16 * j + 16];
        let w = block_weights::<16>(xs, &qw[16 * j..16 * j + 16], sigma2);
        for &v in &w {
            sw[j] += v;
        }
        (scales[j], mins[j]) =
            make_qkx2_quants(3, xs, &w, &mut l[16 * j..16 * j + 16], &mut aux, -0.9, 0.05, 36, false);
    }
    let (mut ls, mut lm) = ([0u8; 16], [0u8; 16]);
    let dm = make_qp_quants(15, &scales, &mut ls, &sw);
    let mm = make_qp_quants(15, &mins, &mut lm, &sw);
    let (sc, rest) = y.split_at_mut(16);
    let (qs, dd) = rest.split_at_mut(64);
    put_f16(dd, 0, dm);
    put_f16(dd, 2, mm);
    let (dm, mm) = (rd_f16(dd, 0), rd_f16(dd, 2));
    for (s, (&a, &b)) in sc.iter_mut().zip(ls.iter().zip(&lm)) {
        *s = a | (b << 4);
    }
    for j in 0..16 {
        let d = dm * (sc[j] & 0xF) as f32;
        if d == 0.0 {
            continue;
        }
        let m = mm * (sc[j] >> 4) as f32;
        for i in 16 * j..16 * j + 16 {
            l[i] = nearest_int((x[i] + m) / d).clamp(0, 3) as u8;
        }
    }
    pack_2bit(&l, qs);
}

// Q3_K: hmask[32] | qs[64] | scales[12] | d f16.
fn block_q3_k(x: &[f32], y: &mut [u8], qw: &[f32], _: f32) {
    let sigma2 = 2.0 * sum_sq(x) / QK_K as f32;
    let mut l = [0i8; QK_K];
    let (mut scales, mut sw) = ([0f32; 16], [0f32; 16]);
    for j in 0..16 {
        let xs = &x[16 * j..16 * j + 16];
        let w = block_weights::<16>(xs, &qw[16 * j..16 * j + 16], sigma2);
        let mut sumw = 0.0f32;
        for &v in &w {
            sumw += v;
        }
        sw[j] = sumw;
        scales[j] = make_qx_quants(4, xs, &mut l[16 * j..16 * j + 16], Some(&w));
    }
    let mut ls = [0i8; 16];
    let d_block = make_qx_quants(32, &scales, &mut ls, Some(&sw));
    let (sb, dd) = y[96..].split_at_mut(12);
    sb.fill(0);
    for j in 0..16 {
        let v = ls[j] as u8; // 0..=63
        if j < 8 {
            sb[j] = v & 0xF;
        } else {
            sb[j - 8] |= (v & 0xF) << 4;
        }
        sb[8 + j % 4] |= (v >> 4) << (2 * (j / 4));
    }
    put_f16(dd, 0, d_block);
    q3_k_finish(x, y, &mut l);
}

/// Q4_K/Q5_K: weighted asymmetric fits per 32 elements, then the 6-bit scales and mins fitted with
/// `make_qp_quants` (instead of being scaled to the block maximum as without weights).
fn k4_weighted(x: &[f32], y: &mut [u8], qw: &[f32], l: &mut [u8; QK_K], nmax: i32) {
    let sigma2 = 2.0 * sum_sq(x) / QK_K as f32;
    let mut aux = [0u8; 32];
    let (mut scales, mut mins, mut sw) = ([0f32; 8], [0f32; 8], [0f32; 8]);
    for j in 0..8 {
        let xs = &x[32 * j..32 * j + 32];
        let w = block_weights::<32>(xs, &qw[32 * j..32 * j + 32], sigma2);
        let mut sumw = 0.0f32;
        for &v in &w {
            sumw += v;
        }
        sw[j] = sumw;
        (scales[j], mins[j]) =
            make_qkx2_quants(nmax, xs, &w, &mut l[32 * j..32 * j + 32], &mut aux, -0.9, 0.05, 36, false);
    }
    let (mut ls, mut lm) = ([0u8; 8], [0u8; 8]);
    let d_block = make_qp_quants(63, &scales, &mut ls, &sw);
    let m_block = make_qp_quants(63, &mins, &mut lm, &sw);
    let sb = &mut y[4..16];
    for j in 0..8 {
        // ggml caps at 63 for Q5_K only; Q4_K's levels are already <= 63 unless a level wrapped.
        let (ls, lm) = if nmax == 31 { (ls[j].min(63), lm[j].min(63)) } else { (ls[j], lm[j]) };
        pack_scale_min_k4(sb, j, ls, lm);
    }
    put_f16(y, 0, d_block);
    put_f16(y, 2, m_block);
    k4_levels(x, y, l, nmax);
}

fn block_q4_k(x: &[f32], y: &mut [u8], qw: &[f32], _: f32) {
    let mut l = [0u8; QK_K];
    k4_weighted(x, y, qw, &mut l, 15);
    pack_q4_k(&l, y);
}

fn block_q5_k(x: &[f32], y: &mut [u8], qw: &[f32], _: f32) {
    let mut l = [0u8; QK_K];
    k4_weighted(x, y, qw, &mut l, 31);
    pack_q5_k(&l, y);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 2.0
            })
            .collect()
    }

    #[test]
    fn weights_of_wrong_length_are_an_error() {
        let x = row(256, 1);
        let mut y = vec![0u8; GgmlType::Q4K.row_bytes(256).unwrap()];
        let e = quantize_row_weighted(GgmlType::Q4K, &x, &mut y, &[1.0; 255]).unwrap_err();
        assert!(e.to_string().contains("255"), "{e}");
    }

    #[test]
    fn weighted_error_is_lower_where_weights_are_high() {
        // Every 4 of 16 columns weigh 1000x more: their reconstruction error must drop versus uniform weights.
        let x = row(4096, 7);
        let mut heavy = vec![1.0f32; 4096];
        for (i, w) in heavy.iter_mut().enumerate() {
            if i % 16 < 4 {
                *w = 1000.0;
            }
        }
        let uniform = vec![1.0f32; 4096];
        for ty in [GgmlType::Q2K, GgmlType::Q3K, GgmlType::Q4K, GgmlType::Q5K, GgmlType::Q6K, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1] {
            let err = |qw: &[f32]| {
                let mut y = vec![0u8; ty.row_bytes(4096).unwrap()];
                quantize_row_weighted(ty, &x, &mut y, qw).unwrap();
                let mut back = vec![0f32; 4096];
                crate::dequant::dequantize_row(ty, &y, &mut back).unwrap();
                (0..4096).filter(|i| i % 16 < 4).map(|i| (x[i] - back[i]).powi(2)).sum::<f32>()
            };
            let (e_heavy, e_uniform) = (err(&heavy), err(&uniform));
            assert!(e_heavy < e_uniform, "{}: weighted error {e_heavy} not below uniform {e_uniform}", ty.name());
        }
    }

    #[test]
    fn q8_0_ignores_weights() {
        let x = row(64, 3);
        let (mut a, mut b) = (vec![0u8; 68], vec![0u8; 68]);
        quantize_row_weighted(GgmlType::Q8_0, &x, &mut a, &[5.0; 64]).unwrap();
        quantize_row(GgmlType::Q8_0, &x, &mut b).unwrap();
        assert_eq!(a, b);
    }
}
