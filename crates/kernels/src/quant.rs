//! Reference (scalar) quantization of f32 rows into GGUF block formats.
//!
//! Each format reproduces ggml's `quantize_row_*_ref` bit for bit under C semantics without
//! floating-point contraction (every `a*b + c` rounded twice, as written). Rounding follows ggml,
//! not numpy: `roundf` (half away from zero) for Q8_0/Q8_1, truncation of `x + 0.5` for Q4/Q5, and
//! ggml's `nearest_int` (round half to even via the 1.5*2^23 trick) for the K-quants. The K-quants
//! use ggml's iterative scale searches (`make_qkx2_quants`, `make_qx_quants`, `make_q3_quants`)
//! without importance weights, i.e. what `llama-quantize` does when no imatrix is given.

use half::{bf16, f16};

pub use crate::dequant::FormatError;
use crate::dequant::{check_row, get_scale_min_k4, q3k_scale, rd_f16};
use crate::types::{GgmlType, QK_K};

/// Quantizes one row: `src.len()` elements (a whole number of blocks) into exactly
/// `ty.row_bytes(src.len())` bytes of `dst`.
pub fn quantize_row(ty: GgmlType, src: &[f32], dst: &mut [u8]) -> Result<(), FormatError> {
    check_row(ty, src.len(), dst.len())?;
    let block: fn(&[f32], &mut [u8]) = match ty {
        GgmlType::F32 => |x, y| y.copy_from_slice(&x[0].to_le_bytes()),
        GgmlType::F16 => |x, y| y.copy_from_slice(&f32_to_f16(x[0]).to_le_bytes()),
        GgmlType::BF16 => |x, y| y.copy_from_slice(&f32_to_bf16(x[0]).to_le_bytes()),
        GgmlType::Q4_0 => block_q4_0,
        GgmlType::Q4_1 => block_q4_1,
        GgmlType::Q5_0 => block_q5_0,
        GgmlType::Q5_1 => block_q5_1,
        GgmlType::Q8_0 => block_q8_0,
        GgmlType::Q8_1 => block_q8_1,
        GgmlType::Q2K => block_q2_k,
        GgmlType::Q3K => block_q3_k,
        GgmlType::Q4K => block_q4_k,
        GgmlType::Q5K => block_q5_k,
        GgmlType::Q6K => block_q6_k,
        GgmlType::Q8K => block_q8_k,
    };
    for (x, y) in src
        .chunks_exact(ty.block_size())
        .zip(dst.chunks_exact_mut(ty.type_size()))
    {
        block(x, y);
    }
    Ok(())
}

/// f32 to IEEE half bits, round to nearest even (as F16C `vcvtps2ph` and numpy do).
#[inline]
pub fn f32_to_f16(x: f32) -> u16 {
    f16::from_f32(x).to_bits()
}

/// f32 to bfloat16 bits as ggml does it: round to nearest even, NaNs forced quiet.
#[inline]
pub fn f32_to_bf16(x: f32) -> u16 {
    let u = x.to_bits();
    if u & 0x7fff_ffff > 0x7f80_0000 {
        return ((u >> 16) | 64) as u16;
    }
    // Same as bf16::from_f32 for non-NaN; spelled out so the NaN rule above stays ggml's.
    let r = (u as u64 + 0x7fff + ((u as u64 >> 16) & 1)) >> 16;
    debug_assert_eq!(r as u16, bf16::from_f32(x).to_bits());
    r as u16
}

#[inline]
pub(crate) fn put_f16(y: &mut [u8], off: usize, v: f32) {
    y[off..off + 2].copy_from_slice(&f32_to_f16(v).to_le_bytes());
}

/// Stores sub-block `j`'s 6-bit scale `ls` and min `lm` in the 12 packed scale bytes
/// of a Q4_K / Q5_K block (the layout `decode::scale_min_k4` reads). `j` runs 0..8 in order: the
/// upper sub-blocks OR their high bits into bytes the lower ones wrote first.
pub(crate) fn pack_scale_min_k4(sb: &mut [u8], j: usize, ls: u8, lm: u8) {
    if j < 4 {
        sb[j] = ls;
        sb[j + 4] = lm;
    } else {
        sb[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
        sb[j - 4] |= (ls >> 4) << 6;
        sb[j] |= (lm >> 4) << 6;
    }
}

/// ggml's `nearest_int`: round half to even, valid for |x| <= 2^22 (larger inputs give garbage
/// exactly like ggml's, never a panic).
#[inline]
pub fn nearest_int(x: f32) -> i32 {
    let v = x + 12_582_912.0;
    (v.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
}

/// The element of largest magnitude, first one on ties (ggml's `amax < |v|` scan). 0.0 if none.
pub(crate) fn signed_absmax(x: &[f32]) -> (f32, f32) {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if amax < v.abs() {
            amax = v.abs();
            max = v;
        }
    }
    (amax, max)
}

fn min_max(x: &[f32]) -> (f32, f32) {
    let (mut min, mut max) = (f32::MAX, -f32::MAX);
    for &v in x {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    (min, max)
}

// ---------------------------------------------------------------- 32-element blocks

// Q4_0: d = max/-8 so the largest-magnitude element maps to -8; q = trunc(x/d + 8.5) clamped to 15.
fn block_q4_0(x: &[f32], y: &mut [u8]) {
    let (_, max) = signed_absmax(x);
    let d = max / -8.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    for j in 0..16 {
        let q0 = ((x[j] * id + 8.5) as i8).min(15) as u8;
        let q1 = ((x[j + 16] * id + 8.5) as i8).min(15) as u8;
        y[2 + j] = q0 | (q1 << 4);
    }
}

fn block_q4_1(x: &[f32], y: &mut [u8]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 15.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    put_f16(y, 2, min);
    for j in 0..16 {
        let q0 = (((x[j] - min) * id + 0.5) as i8).min(15) as u8;
        let q1 = (((x[j + 16] - min) * id + 0.5) as i8).min(15) as u8;
        y[4 + j] = q0 | (q1 << 4);
    }
}

/// Packs 32 five-bit values: low nibbles into `qs[16]` (j | j+16 << 4), 5th bits into u32 `qh`.
pub(crate) fn pack_q5(q: impl Fn(usize) -> u8, qh_out: &mut [u8], qs: &mut [u8]) {
    let mut qh = 0u32;
    for (j, out) in qs.iter_mut().enumerate() {
        let (q0, q1) = (q(j), q(j + 16));
        *out = (q0 & 0xF) | ((q1 & 0xF) << 4);
        qh |= ((q0 as u32 & 0x10) >> 4) << j;
        qh |= ((q1 as u32 & 0x10) >> 4) << (j + 16);
    }
    qh_out.copy_from_slice(&qh.to_le_bytes());
}

fn block_q5_0(x: &[f32], y: &mut [u8]) {
    let (_, max) = signed_absmax(x);
    let d = max / -16.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    let (head, qs) = y.split_at_mut(6);
    pack_q5(
        |j| ((x[j] * id + 16.5) as i8).min(31) as u8,
        &mut head[2..6],
        qs,
    );
}

fn block_q5_1(x: &[f32], y: &mut [u8]) {
    let (min, max) = min_max(x);
    let d = (max - min) / 31.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    put_f16(y, 0, d);
    put_f16(y, 2, min);
    let (head, qs) = y.split_at_mut(8);
    // ggml has no clamp here; (max-min)*id + 0.5 < 32 always, the min() only guards NaN/inf input.
    pack_q5(
        |j| (((x[j] - min) * id + 0.5) as u8).min(31),
        &mut head[4..8],
        qs,
    );
}

/// Symmetric 8-bit: returns d = amax/127 and writes round-half-away(x/d) into `qs`.
fn q8_symmetric(x: &[f32], qs: &mut [u8]) -> f32 {
    let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (q, &v) in qs.iter_mut().zip(x) {
        *q = round_half_away(v * id) as i8 as u8;
    }
    d
}

/// `f32::round` (C `roundf`) without the libm call baseline x86-64 makes for it: for |x| < 2^23 the
/// fraction x - trunc(x) is exact, so comparing it with 0.5 rounds exactly as roundf does.
#[inline]
fn round_half_away(x: f32) -> f32 {
    if x.is_nan() || x.abs() >= 8_388_608.0 {
        return x; // already an integer, or NaN/infinity
    }
    let i = x as i32;
    let f = x - i as f32;
    let r = if f >= 0.5 {
        i + 1
    } else if f <= -0.5 {
        i - 1
    } else {
        i
    };
    // Keep the sign of zero, as roundf(-0.3) is -0.0.
    (r as f32).copysign(x)
}

fn block_q8_0(x: &[f32], y: &mut [u8]) {
    let d = q8_symmetric(x, &mut y[2..34]);
    put_f16(y, 0, d);
}

// Q8_1 additionally stores s = d * sum(q) (with the f32 d, before f16 rounding, as ggml does).
fn block_q8_1(x: &[f32], y: &mut [u8]) {
    let d = q8_symmetric(x, &mut y[4..36]);
    let sum: i32 = y[4..36].iter().map(|&q| q as i8 as i32).sum();
    put_f16(y, 0, d);
    put_f16(y, 2, sum as f32 * d);
}

// ---------------------------------------------------------------- K-quants (256-element blocks)

/// Q8_K: d f32 = max/-127, qs = nearest_int(x/d) capped at 127, bsums = sums of 16 qs.
fn block_q8_k(x: &[f32], y: &mut [u8]) {
    let (amax, max) = signed_absmax(x);
    if amax == 0.0 {
        y.fill(0);
        return;
    }
    let iscale = -127.0 / max;
    for (q, &v) in y[4..4 + QK_K].iter_mut().zip(x) {
        *q = nearest_int(iscale * v).min(127) as i8 as u8;
    }
    for j in 0..QK_K / 16 {
        let s: i32 = y[4 + 16 * j..4 + 16 * j + 16]
            .iter()
            .map(|&q| q as i8 as i32)
            .sum();
        let off = 4 + QK_K + 2 * j;
        y[off..off + 2].copy_from_slice(&(s as i16).to_le_bytes());
    }
    y[0..4].copy_from_slice(&(1.0 / iscale).to_le_bytes());
}

/// ggml's threshold below which a group counts as all zeros.
pub(crate) const GROUP_MAX_EPS: f32 = 1e-15;

/// Asymmetric search (ggml `make_qkx2_quants`): fits `x ~ scale*L - the_min` with L in 0..=nmax,
/// trying `nstep+1` candidate inverse scales around nmax/(max-min) and keeping the one with the
/// least weighted error (squared, or absolute when `use_mad`). Returns (scale, the_min >= 0).
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_qkx2_quants(
    nmax: i32,
    x: &[f32],
    weights: &[f32],
    l_out: &mut [u8],
    l_aux: &mut [u8],
    rmin: f32,
    rdelta: f32,
    nstep: i32,
    use_mad: bool,
) -> (f32, f32) {
    let n = x.len();
    // Equal-length views let the compiler drop the per-index bounds checks in the loops below.
    let (weights, l_out, l_aux) = (&weights[..n], &mut l_out[..n], &mut l_aux[..n]);
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        if x[i] < min {
            min = x[i];
        }
        if x[i] > max {
            max = x[i];
        }
        let w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        l_out.fill(0);
        return (0.0, -min);
    }
    let err = |diff: f32| if use_mad { diff.abs() } else { diff * diff };
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..n {
        let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
        l_out[i] = l as u8;
        best_error += weights[i] * err(scale * l as f32 + min - x[i]);
    }
    if nstep < 1 {
        return (scale, -min);
    }
    for is in 0..=nstep {
        iscale = (rmin + rdelta * is as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            l_aux[i] = l as u8;
            let (w, lf) = (weights[i], l as f32);
            sum_l += w * lf;
            sum_l2 += w * lf * lf;
            sum_xl += w * lf * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0.0f32;
            for i in 0..n {
                cur_error += weights[i] * err(this_scale * l_aux[i] as f32 + this_min - x[i]);
            }
            if cur_error < best_error {
                l_out.copy_from_slice(l_aux);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}

/// Symmetric search (ggml `make_qx_quants` with rmse_type 1): L in 0..2*nmax stores l + nmax for l
/// in -nmax..nmax; tries 18 inverse scales around -nmax/max and keeps the one maximising
/// (sum w x l)^2 / (sum w l^2), with w = the importance weights `qw` when given, else x^2. Returns the scale.
pub(crate) fn make_qx_quants(nmax: i32, x: &[f32], l_out: &mut [i8], qw: Option<&[f32]>) -> f32 {
    let (amax, max) = signed_absmax(x);
    if amax < GROUP_MAX_EPS {
        l_out.fill(0);
        return 0.0;
    }
    let quant = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-nmax, nmax - 1);
    let sums = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for (i, &v) in x.iter().enumerate() {
            let l = quant(iscale, v) as f32;
            let w = qw.map_or(v * v, |q| q[i]);
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        (sumlx, suml2)
    };
    let mut iscale = -(nmax as f32) / max;
    for (o, &v) in l_out.iter_mut().zip(x) {
        *o = (quant(iscale, v) + nmax) as i8;
    }
    let (sumlx, suml2) = sums(iscale);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for is in -9..=9 {
        if is == 0 {
            continue;
        }
        iscale = -(nmax as f32 + 0.1 * is as f32) / max;
        let (sumlx, suml2) = sums(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            for (o, &v) in l_out.iter_mut().zip(x) {
                *o = (quant(iscale, v) + nmax) as i8;
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// ggml `make_q3_quants` with do_rmse: start from -nmax/max, then up to 5 passes of coordinate
/// descent on (sum w x l)^2 / (sum w l^2), w = x^2. L stores l + nmax. Returns the scale.
fn make_q3_quants(nmax: i32, x: &[f32], l_out: &mut [i8]) -> f32 {
    let (amax, max) = signed_absmax(x);
    if amax < GROUP_MAX_EPS {
        l_out.fill(0);
        return 0.0;
    }
    let iscale = -(nmax as f32) / max;
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for (o, &v) in l_out.iter_mut().zip(x) {
        let l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
        *o = l as i8;
        let (w, lf) = (v * v, l as f32);
        sumlx += w * v * lf;
        suml2 += w * lf * lf;
    }
    for _ in 0..5 {
        let mut changed = false;
        for (o, &v) in l_out.iter_mut().zip(x) {
            let w = v * v;
            let cur = *o as f32;
            let mut slx = sumlx - w * v * cur;
            if slx > 0.0 {
                let mut sl2 = suml2 - w * cur * cur;
                let new_l = nearest_int(v * sl2 / slx).clamp(-nmax, nmax - 1);
                if new_l != *o as i32 {
                    let nl = new_l as f32;
                    slx += w * v * nl;
                    sl2 += w * nl * nl;
                    if sl2 > 0.0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        *o = new_l as i8;
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
    for o in l_out.iter_mut() {
        *o += nmax as i8;
    }
    if suml2 > 0.0 {
        sumlx / suml2
    } else {
        0.0
    }
}

/// Packs 256 two-bit values as Q2_K/Q3_K do: byte 32*h + l holds L[128h + l + 32k] at bits 2k.
pub(crate) fn pack_2bit(l: &[u8; QK_K], qs: &mut [u8]) {
    for h in 0..2 {
        for i in 0..32 {
            let b = 128 * h + i;
            qs[32 * h + i] = l[b] | (l[b + 32] << 2) | (l[b + 64] << 4) | (l[b + 96] << 6);
        }
    }
}

// Q2_K: scales[16] | qs[64] | d f16 | dmin f16.
fn block_q2_k(x: &[f32], y: &mut [u8]) {
    const Q4SCALE: f32 = 15.0;
    let mut l = [0u8; QK_K];
    let mut l_aux = [0u8; 16];
    let mut weights = [0f32; 16];
    let mut scales = [0f32; QK_K / 16];
    let mut mins = [0f32; QK_K / 16];
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for j in 0..QK_K / 16 {
        let xs = &x[16 * j..16 * j + 16];
        for (w, &v) in weights.iter_mut().zip(xs) {
            *w = v.abs();
        }
        let lj = &mut l[16 * j..16 * j + 16];
        (scales[j], mins[j]) =
            make_qkx2_quants(3, xs, &weights, lj, &mut l_aux, -0.5, 0.1, 15, true);
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }
    let (sc, rest) = y.split_at_mut(16);
    let (qs, dd) = rest.split_at_mut(64);
    if max_scale > 0.0 {
        let iscale = Q4SCALE / max_scale;
        for j in 0..16 {
            sc[j] = nearest_int(iscale * scales[j]) as u8;
        }
        put_f16(dd, 0, max_scale / Q4SCALE);
    } else {
        sc.fill(0);
        put_f16(dd, 0, 0.0);
    }
    if max_min > 0.0 {
        let iscale = Q4SCALE / max_min;
        for j in 0..16 {
            sc[j] |= (nearest_int(iscale * mins[j]) << 4) as u8;
        }
        put_f16(dd, 2, max_min / Q4SCALE);
    } else {
        put_f16(dd, 2, 0.0);
    }
    let (dq, dmq) = (rd_f16(dd, 0), rd_f16(dd, 2));
    for (j, &s) in sc.iter().enumerate() {
        let d = dq * (s & 0xF) as f32;
        if d == 0.0 {
            continue;
        }
        let dm = dmq * (s >> 4) as f32;
        for i in 16 * j..16 * j + 16 {
            l[i] = nearest_int((x[i] + dm) / d).clamp(0, 3) as u8;
        }
    }
    pack_2bit(&l, qs);
}

// Q3_K: hmask[32] | qs[64] | scales[12] | d f16.
fn block_q3_k(x: &[f32], y: &mut [u8]) {
    let mut l = [0i8; QK_K];
    let mut scales = [0f32; QK_K / 16];
    let (mut amax, mut max_scale) = (0.0f32, 0.0f32);
    for j in 0..QK_K / 16 {
        scales[j] = make_q3_quants(4, &x[16 * j..16 * j + 16], &mut l[16 * j..16 * j + 16]);
        if scales[j].abs() > amax {
            amax = scales[j].abs();
            max_scale = scales[j];
        }
    }
    let (sb, dd) = y[96..].split_at_mut(12);
    sb.fill(0);
    if max_scale != 0.0 {
        let iscale = -32.0 / max_scale;
        for j in 0..16 {
            // ggml narrows to int8_t before clamping; `as i8` wraps the same way.
            let v = (nearest_int(iscale * scales[j]) as i8).clamp(-32, 31) + 32;
            if j < 8 {
                sb[j] = v as u8 & 0xF;
            } else {
                sb[j - 8] |= (v as u8 & 0xF) << 4;
            }
            sb[8 + j % 4] |= ((v >> 4) as u8) << (2 * (j / 4));
        }
        put_f16(dd, 0, 1.0 / iscale);
    } else {
        put_f16(dd, 0, 0.0);
    }
    q3_k_finish(x, y, &mut l);
}

/// Q3_K after its scales and d are stored: levels from the rounded scales, then hmask and qs.
pub(crate) fn q3_k_finish(x: &[f32], y: &mut [u8], l: &mut [i8; QK_K]) {
    let (hmask, rest) = y.split_at_mut(32);
    let (qs, rest) = rest.split_at_mut(64);
    let (sb, dd) = rest.split_at_mut(12);
    let d_all = rd_f16(dd, 0);
    for j in 0..16 {
        let d = d_all * q3k_scale(j, sb) as f32;
        if d == 0.0 {
            continue;
        }
        for i in 16 * j..16 * j + 16 {
            l[i] = (nearest_int(x[i] / d).clamp(-4, 3) + 4) as i8;
        }
    }
    // High bit of element e goes to bit e/32 of hmask[e%32]; the low 2 bits stay in L.
    hmask.fill(0);
    let mut low = [0u8; QK_K];
    for (e, (&v, lo)) in l.iter().zip(low.iter_mut()).enumerate() {
        let mut v = v as u8;
        if v > 3 {
            hmask[e % 32] |= 1 << (e / 32);
            v -= 4;
        }
        *lo = v;
    }
    pack_2bit(&low, qs);
}

/// Shared body of Q4_K/Q5_K: per 32-element sub-block an asymmetric fit with weights
/// av_x + |x| (av_x = RMS of the sub-block), 6-bit scales/mins relative to the block maxima, then the
/// final levels re-derived from the rounded scales. Writes d, dmin, scales[12]; fills `l` (0..=nmax).
fn k4_scales_and_levels(
    x: &[f32],
    y: &mut [u8],
    l: &mut [u8; QK_K],
    nmax: i32,
    rmin: f32,
    nstep: i32,
) {
    let mut l_aux = [0u8; 32];
    let mut weights = [0f32; 32];
    let mut scales = [0f32; QK_K / 32];
    let mut mins = [0f32; QK_K / 32];
    let (mut max_scale, mut max_min) = (0.0f32, 0.0f32);
    for j in 0..QK_K / 32 {
        let xs = &x[32 * j..32 * j + 32];
        let mut sum_x2 = 0.0f32;
        for &v in xs {
            sum_x2 += v * v;
        }
        let av_x = (sum_x2 / 32.0).sqrt();
        for (w, &v) in weights.iter_mut().zip(xs) {
            *w = av_x + v.abs();
        }
        let lj = &mut l[32 * j..32 * j + 32];
        (scales[j], mins[j]) =
            make_qkx2_quants(nmax, xs, &weights, lj, &mut l_aux, rmin, 0.1, nstep, false);
        if scales[j] > max_scale {
            max_scale = scales[j];
        }
        if mins[j] > max_min {
            max_min = mins[j];
        }
    }
    let inv_scale = if max_scale > 0.0 {
        63.0 / max_scale
    } else {
        0.0
    };
    let inv_min = if max_min > 0.0 { 63.0 / max_min } else { 0.0 };
    let sb = &mut y[4..16];
    for j in 0..QK_K / 32 {
        // ggml narrows to uint8_t before capping at 63.
        let ls = (nearest_int(inv_scale * scales[j]) as u8).min(63);
        let lm = (nearest_int(inv_min * mins[j]) as u8).min(63);
        pack_scale_min_k4(sb, j, ls, lm);
    }
    put_f16(y, 0, max_scale / 63.0);
    put_f16(y, 2, max_min / 63.0);
    k4_levels(x, y, l, nmax);
}

/// Q4_K/Q5_K after d, dmin and the packed scales are stored: each level re-derived from the rounded scales.
pub(crate) fn k4_levels(x: &[f32], y: &[u8], l: &mut [u8; QK_K], nmax: i32) {
    let (dq, dmq) = (rd_f16(y, 0), rd_f16(y, 2));
    for j in 0..QK_K / 32 {
        let (sc, m) = get_scale_min_k4(j, &y[4..16]);
        let d = dq * sc as f32;
        if d == 0.0 {
            continue;
        }
        let dm = dmq * m as f32;
        for i in 32 * j..32 * j + 32 {
            l[i] = nearest_int((x[i] + dm) / d).clamp(0, nmax) as u8;
        }
    }
}

// Q4_K: d f16 | dmin f16 | scales[12] | qs[128] (per 64 elements: low nibble first 32, high next 32).
fn block_q4_k(x: &[f32], y: &mut [u8]) {
    let mut l = [0u8; QK_K];
    k4_scales_and_levels(x, y, &mut l, 15, -1.0, 20);
    pack_q4_k(&l, y);
}

pub(crate) fn pack_q4_k(l: &[u8; QK_K], y: &mut [u8]) {
    for k in 0..4 {
        for i in 0..32 {
            y[16 + 32 * k + i] = l[64 * k + i] | (l[64 * k + i + 32] << 4);
        }
    }
}

// Q5_K: d f16 | dmin f16 | scales[12] | qh[32] | qs[128]; the 5th bits of chunk k go to qh bits 2k, 2k+1.
fn block_q5_k(x: &[f32], y: &mut [u8]) {
    let mut l = [0u8; QK_K];
    k4_scales_and_levels(x, y, &mut l, 31, -0.5, 15);
    pack_q5_k(&l, y);
}

pub(crate) fn pack_q5_k(l: &[u8; QK_K], y: &mut [u8]) {
    let (qh, qs) = y[16..].split_at_mut(32);
    qh.fill(0);
    for k in 0..4 {
        for i in 0..32 {
            let (l1, l2) = (l[64 * k + i], l[64 * k + i + 32]);
            qh[i] |= ((l1 >> 4) << (2 * k)) | ((l2 >> 4) << (2 * k + 1));
            qs[32 * k + i] = (l1 & 0xF) | ((l2 & 0xF) << 4);
        }
    }
}

// Q6_K: ql[128] | qh[64] | scales i8[16] | d f16.
fn block_q6_k(x: &[f32], y: &mut [u8]) {
    block_q6_k_weighted(x, y, None);
}

/// Q6_K; with importance weights `qw` (one per element) the sub-block fits weigh by them, as ggml's
/// `quantize_row_q6_K_impl` does.
pub(crate) fn block_q6_k_weighted(x: &[f32], y: &mut [u8], qw: Option<&[f32]>) {
    let mut l = [0i8; QK_K];
    let mut scales = [0f32; QK_K / 16];
    let (mut max_scale, mut max_abs_scale) = (0.0f32, 0.0f32);
    for ib in 0..QK_K / 16 {
        let w = qw.map(|q| &q[16 * ib..16 * ib + 16]);
        let s = make_qx_quants(32, &x[16 * ib..16 * ib + 16], &mut l[16 * ib..16 * ib + 16], w);
        scales[ib] = s;
        if s.abs() > max_abs_scale {
            max_abs_scale = s.abs();
            max_scale = s;
        }
    }
    if max_abs_scale < GROUP_MAX_EPS {
        y.fill(0);
        return;
    }
    let iscale = -128.0 / max_scale;
    put_f16(y, 208, 1.0 / iscale);
    for ib in 0..QK_K / 16 {
        y[192 + ib] = nearest_int(iscale * scales[ib]).min(127) as i8 as u8;
    }
    let dq = rd_f16(y, 208);
    for j in 0..QK_K / 16 {
        let d = dq * y[192 + j] as i8 as f32;
        if d == 0.0 {
            continue;
        }
        for i in 16 * j..16 * j + 16 {
            l[i] = (nearest_int(x[i] / d).clamp(-32, 31) + 32) as i8;
        }
    }
    let (ql, rest) = y.split_at_mut(128);
    let qh = &mut rest[..64];
    for h in 0..2 {
        for i in 0..32 {
            let b = 128 * h + i;
            let [q1, q2, q3, q4] = [l[b], l[b + 32], l[b + 64], l[b + 96]].map(|v| v as u8);
            ql[64 * h + i] = (q1 & 0xF) | ((q3 & 0xF) << 4);
            ql[64 * h + i + 32] = (q2 & 0xF) | ((q4 & 0xF) << 4);
            qh[32 * h + i] = (q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_away_is_roundf() {
        let edges = [
            0.0f32, -0.0, 0.3, -0.3, 0.5, -0.5, 0.49999997, -0.49999997, 1.5, 2.5, -2.5, 126.5, -127.49999,
            8_388_607.5, 8_388_608.0, -8_388_609.0, 1e30, f32::INFINITY, f32::NEG_INFINITY, f32::MIN_POSITIVE,
        ];
        let mut v = 0x9e37_79b9u32;
        let randoms = (0..200_000).map(|_| {
            v ^= v << 13;
            v ^= v >> 17;
            v ^= v << 5;
            (v as i32 as f32) / 8_388_608.0 * 300.0
        });
        for x in edges.into_iter().chain(randoms) {
            assert_eq!(round_half_away(x).to_bits(), x.round().to_bits(), "{x:e}");
        }
        assert!(round_half_away(f32::NAN).is_nan());
    }

    #[test]
    fn nearest_int_rounds_half_to_even() {
        let cases = [
            (0.5, 0),
            (1.5, 2),
            (2.5, 2),
            (-0.5, 0),
            (-1.5, -2),
            (3.49, 3),
            (-7.51, -8),
        ];
        for (x, want) in cases {
            assert_eq!(nearest_int(x), want, "nearest_int({x})");
        }
    }

    #[test]
    fn bf16_rounding_and_nan() {
        assert_eq!(f32_to_bf16(1.0), 0x3f80);
        // 1 + 2^-8 is a tie between 0x3f80 and 0x3f81: goes to even.
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f80_8000)), 0x3f80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3f81_8000)), 0x3f82);
        // A signalling NaN becomes quiet instead of rounding into infinity.
        assert_eq!(f32_to_bf16(f32::from_bits(0x7f80_0001)), 0x7fc0);
    }

    #[test]
    fn rejects_bad_lengths() {
        let mut y = [0u8; 34];
        let err = quantize_row(GgmlType::Q8_0, &[0.0; 31], &mut y).unwrap_err();
        assert!(
            matches!(
                err,
                FormatError::PartialBlock {
                    n: 31,
                    block: 32,
                    ..
                }
            ),
            "{err}"
        );
        let err = quantize_row(GgmlType::Q8_0, &[0.0; 64], &mut y).unwrap_err();
        assert_eq!(
            err,
            FormatError::ByteLength {
                ty: "Q8_0",
                n: 64,
                expected: 68,
                got: 34
            }
        );
    }

    #[test]
    fn zero_rows_quantize_to_zero_blocks() {
        for ty in GgmlType::ALL {
            let n = ty.block_size().max(32);
            let mut y = vec![0xAAu8; ty.row_bytes(n).unwrap()];
            quantize_row(ty, &vec![0.0; n], &mut y).unwrap();
            let mut back = vec![1.0f32; n];
            crate::dequant::dequantize_row(ty, &y, &mut back).unwrap();
            assert!(back.iter().all(|&v| v == 0.0), "{}", ty.name());
        }
    }
}
