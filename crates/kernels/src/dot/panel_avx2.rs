//! Prefill GEMM on pre-decoded weight panels (AVX2).
//!
//! With many activation rows, decoding a weight block once per NC rows (the direct tiles) still costs
//! more than the multiply. Instead each thread decodes its chunk of weight rows once into a small
//! panel in L1/L2 (`decode_*`), in a layout the micro-kernels read with plain loads, and then sweeps
//! every activation row over it. Two panel formats cover all types:
//! - legacy rows (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), `legacy_row_bytes` each: all blocks' 32 quants, then
//!   all d (f32), then all m (f32); value = d * q + m. Q8_0 is signed (m = 0, sign trick in the
//!   kernel); the others stay unsigned, with m the min or -offset * d, so the inner loop has no sign
//!   work and the min term becomes one short dot product per output, Σ_b m_b * s_b, at the end.
//! - `KBlock` (Q4_K, Q5_K, Q6_K): 256 unsigned quants, per-32 i16 scale vectors ready for `madd`,
//!   per-16 min coefficients for the activation block sums, and the two float factors:
//!   dot = d·da·Σ sc·(q·a) − dmin·da·Σ mn·bsum (Q6_K: mn = 32·sc, dmin = d, folding its -32 offset).

// Register tiles are indexed by (row, column) on purpose: the loops mirror the tile shape.
#![allow(clippy::needless_range_loop)]

use std::arch::x86_64::*;

use super::act::{BlockQ8, BlockQ8K};
use super::decode::scale_min_k4;
use super::tile::{pick_tile, Tile, TileFn};
use super::x86::{bits_to_bytes_32, dpwssd, hsum_ps, load_f16, load_f16_tail, load_f16x2, nibbles_32};
use crate::types::{GgmlType, QK_K};

/// One decoded 256-value super-block (see the module docs).
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(crate) struct KBlock {
    pub q: [u8; QK_K],
    /// `sc[k]`: i16 lanes 0..8 = scale of values 32k..32k+16, lanes 8..16 = of 32k+16..32k+32.
    pub sc: [[i16; 16]; 8],
    /// Per 16 values: coefficient of the activation block sum.
    pub mn: [i16; 16],
    pub d: f32,
    pub dmin: f32,
}

impl KBlock {
    pub const ZERO: KBlock = KBlock { q: [0; QK_K], sc: [[0; 16]; 8], mn: [0; 16], d: 0.0, dmin: 0.0 };
}

/// Which panel format `ty` decodes to (the 8-row interleaved ones need VNNI).
pub(crate) fn panel_kind(ty: GgmlType, vnni: bool) -> Option<PanelKind> {
    match ty {
        GgmlType::Q8_0 if vnni => Some(PanelKind::Il8Signed),
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q4_1 | GgmlType::Q5_1 if vnni => Some(PanelKind::Il8Min),
        GgmlType::Q8_0 => Some(PanelKind::LegacySigned),
        GgmlType::Q4_0 | GgmlType::Q5_0 | GgmlType::Q4_1 | GgmlType::Q5_1 => Some(PanelKind::LegacyMin),
        GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K if vnni => Some(PanelKind::K8),
        GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => Some(PanelKind::K),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PanelKind {
    LegacySigned,
    LegacyMin,
    K,
    /// `panel_k8.rs` groups of 8 K-quant rows.
    K8,
    /// `panel_il8.rs` groups of Q8_0 rows (reads i32 activation sums).
    Il8Signed,
    /// `panel_il8.rs` groups of the types with a min (reads f32 activation sums).
    Il8Min,
}

/// Panel bytes of a legacy row of `nb` blocks.
pub(crate) const fn legacy_row_bytes(nb: usize) -> usize {
    nb * 40
}

/// The legacy-type block at `p` as 32 int8 lanes (signed for Q8_0, unsigned otherwise), its scale d and
/// its min m: value = d * q + m (m = -offset * d for Q4_0 / Q5_0, 0 for Q8_0).
///
/// # Safety
/// AVX2+FMA+F16C; `p` holds one block of `ty`.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn decode_legacy_block(ty: GgmlType, p: *const u8) -> (__m256i, f32, f32) {
    match ty {
        GgmlType::Q4_0 => {
            let d = load_f16(p);
            (nibbles_32(p.add(2)), d, -8.0 * d)
        }
        GgmlType::Q5_0 => {
            let hi = _mm256_and_si256(bits_to_bytes_32(p.add(2)), _mm256_set1_epi8(0x10));
            let d = load_f16(p);
            (_mm256_or_si256(nibbles_32(p.add(6)), hi), d, -16.0 * d)
        }
        GgmlType::Q4_1 => {
            let dm = load_f16x2(p);
            (nibbles_32(p.add(4)), _mm_cvtss_f32(dm), _mm_cvtss_f32(_mm_movehdup_ps(dm)))
        }
        GgmlType::Q5_1 => {
            let hi = _mm256_and_si256(bits_to_bytes_32(p.add(4)), _mm256_set1_epi8(0x10));
            let dm = load_f16x2(p);
            (_mm256_or_si256(nibbles_32(p.add(8)), hi), _mm_cvtss_f32(dm), _mm_cvtss_f32(_mm_movehdup_ps(dm)))
        }
        _ => (_mm256_loadu_si256(p.add(2) as *const __m256i), load_f16(p), 0.0),
    }
}

/// Decodes `nb` 32-blocks of a legacy-type row at `src` into the panel row at `dst`.
///
/// # Safety
/// AVX2+FMA+F16C; `src` holds `nb` blocks of `ty`; `dst` has `legacy_row_bytes(nb)` writable bytes,
/// 4-aligned.
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn decode_legacy_row(ty: GgmlType, src: *const u8, nb: usize, dst: *mut u8) {
    let ts = ty.type_size();
    let ds = dst.add(32 * nb) as *mut f32;
    let ms = ds.add(nb);
    for i in 0..nb {
        let (w, d, m) = decode_legacy_block(ty, src.add(i * ts));
        _mm256_storeu_si256(dst.add(32 * i) as *mut __m256i, w);
        *ds.add(i) = d;
        *ms.add(i) = m;
    }
}

/// Decodes `dst.len()` super-blocks of a K-quant row at `src` into `dst`.
///
/// # Safety
/// AVX2+FMA+F16C; `src` holds `dst.len()` blocks of `ty` (Q4_K, Q5_K or Q6_K).
#[target_feature(enable = "avx2,fma,f16c")]
pub(crate) unsafe fn decode_k_row(ty: GgmlType, src: *const u8, dst: &mut [KBlock]) {
    let ts = ty.type_size();
    let m4 = _mm256_set1_epi8(0x0F);
    for (i, out) in dst.iter_mut().enumerate() {
        let p = src.add(i * ts);
        let q = out.q.as_mut_ptr();
        if ty == GgmlType::Q6K {
            let m3 = _mm256_set1_epi8(3);
            for half in 0..2 {
                let qh = _mm256_loadu_si256(p.add(128 + 32 * half) as *const __m256i);
                let ql0 = _mm256_loadu_si256(p.add(64 * half) as *const __m256i);
                let ql1 = _mm256_loadu_si256(p.add(64 * half + 32) as *const __m256i);
                let lows = [
                    _mm256_and_si256(ql0, m4),
                    _mm256_and_si256(ql1, m4),
                    _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                    _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                ];
                let highs = [
                    _mm256_and_si256(qh, m3),
                    _mm256_and_si256(_mm256_srli_epi16(qh, 2), m3),
                    _mm256_and_si256(_mm256_srli_epi16(qh, 4), m3),
                    _mm256_and_si256(_mm256_srli_epi16(qh, 6), m3),
                ];
                for k in 0..4 {
                    let v = _mm256_or_si256(lows[k], _mm256_slli_epi16(highs[k], 4));
                    _mm256_storeu_si256(q.add(128 * half + 32 * k) as *mut __m256i, v);
                }
            }
            let sc = &*(p.add(192) as *const [i8; 16]);
            for k in 0..8 {
                for l in 0..8 {
                    out.sc[k][l] = sc[2 * k] as i16;
                    out.sc[k][8 + l] = sc[2 * k + 1] as i16;
                }
            }
            for g in 0..16 {
                out.mn[g] = 32 * sc[g] as i16;
            }
            out.d = load_f16_tail(p.add(208));
            out.dmin = out.d;
        } else {
            let five = ty == GgmlType::Q5K;
            let qs = p.add(if five { 48 } else { 16 });
            let qh = _mm256_loadu_si256(p.add(16) as *const __m256i);
            let one = _mm256_set1_epi8(1);
            for j in 0..4 {
                let b = _mm256_loadu_si256(qs.add(32 * j) as *const __m256i);
                let mut lo = _mm256_and_si256(b, m4);
                let mut hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
                if five {
                    let h = _mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j as i32));
                    lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
                    hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4));
                }
                _mm256_storeu_si256(q.add(64 * j) as *mut __m256i, lo);
                _mm256_storeu_si256(q.add(64 * j + 32) as *mut __m256i, hi);
            }
            let scales = &*(p.add(4) as *const [u8; 12]);
            for s in 0..8 {
                let (sc, mn) = scale_min_k4(s, scales);
                out.sc[s] = [sc as i16; 16];
                out.mn[2 * s] = mn as i16;
                out.mn[2 * s + 1] = mn as i16;
            }
            let dm = load_f16x2(p);
            out.d = _mm_cvtss_f32(dm);
            out.dmin = _mm_cvtss_f32(_mm_movehdup_ps(dm));
        }
    }
}

/// Σ a[i] * b[i] over `n` contiguous f32.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_f32(a: *const f32, b: *const f32, n: usize) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut i = 0;
    while i + 8 <= n {
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(a.add(i)), _mm256_loadu_ps(b.add(i)), acc);
        i += 8;
    }
    let mut s = hsum_ps(acc);
    while i < n {
        s = (*a.add(i)).mul_add(*b.add(i), s);
        i += 1;
    }
    s
}

/// Legacy panel tile: `t.w` points at panel rows (`t.w_stride` bytes apart), `t.a` at `BlockQ8`s,
/// `t.sums` (unsigned types) at the activation rows' block sums.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_legacy<const SIGNED: bool, const NR: usize, const NC: usize>(t: &Tile) {
    let nb = t.n;
    let mut acc = [[_mm256_setzero_ps(); NC]; NR];
    let ones = _mm256_set1_epi16(1);
    for b in 0..nb {
        let mut w = [_mm256_setzero_si256(); NR];
        let mut dw = [_mm256_setzero_ps(); NR];
        for r in 0..NR {
            let row = t.w.add(r * t.w_stride);
            let q = _mm256_loadu_si256(row.add(32 * b) as *const __m256i);
            w[r] = if SIGNED { _mm256_sign_epi8(q, q) } else { q };
            dw[r] = _mm256_broadcast_ss(&*(row.add(32 * nb) as *const f32).add(b));
        }
        for c in 0..NC {
            let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8).add(b);
            let a = _mm256_loadu_si256(ab.qs.as_ptr() as *const __m256i);
            let da = _mm256_broadcast_ss(&ab.d);
            for r in 0..NR {
                let p = if SIGNED {
                    let q = _mm256_loadu_si256(t.w.add(r * t.w_stride + 32 * b) as *const __m256i);
                    _mm256_maddubs_epi16(w[r], _mm256_sign_epi8(a, q))
                } else {
                    _mm256_maddubs_epi16(w[r], a)
                };
                let s = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones));
                acc[r][c] = _mm256_fmadd_ps(_mm256_mul_ps(s, dw[r]), da, acc[r][c]);
            }
        }
    }
    for r in 0..NR {
        let m = (t.w.add(r * t.w_stride + 36 * nb)) as *const f32;
        for c in 0..NC {
            let mut v = hsum_ps(acc[r][c]);
            if !SIGNED {
                v += dot_f32(m, t.sums.add(c * nb), nb);
            }
            *t.out.add(c * t.out_stride + r) = v;
        }
    }
}

/// Legacy panel tile for exactly 4 activation rows: the four int32 partial-sum vectors of a weight row
/// are folded into one with three `hadd`s ([c0 c1 c2 c3 | c0 c1 c2 c3]), so the convert, the scale
/// multiply and the accumulate run once per weight row and block instead of once per output.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_legacy_x4<const SIGNED: bool, const NR: usize, const NC: usize>(t: &Tile) {
    let nb = t.n;
    let mut acc = [_mm256_setzero_ps(); NR];
    let ones = _mm256_set1_epi16(1);
    for b in 0..nb {
        let mut a = [_mm256_setzero_si256(); 4];
        let mut da = [0.0f32; 4];
        for c in 0..4 {
            let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8).add(b);
            a[c] = _mm256_loadu_si256(ab.qs.as_ptr() as *const __m256i);
            da[c] = ab.d;
        }
        let da4 = _mm_loadu_ps(da.as_ptr());
        let da8 = _mm256_set_m128(da4, da4);
        for r in 0..NR {
            let row = t.w.add(r * t.w_stride);
            let q = _mm256_loadu_si256(row.add(32 * b) as *const __m256i);
            let wabs = if SIGNED { _mm256_sign_epi8(q, q) } else { q };
            let mut s = [_mm256_setzero_si256(); 4];
            for c in 0..4 {
                let ac = if SIGNED { _mm256_sign_epi8(a[c], q) } else { a[c] };
                s[c] = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, ac), ones);
            }
            let h = _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
            let dw = _mm256_broadcast_ss(&*(row.add(32 * nb) as *const f32).add(b));
            acc[r] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(h), dw), da8, acc[r]);
        }
    }
    for r in 0..NR {
        let m = (t.w.add(r * t.w_stride + 36 * nb)) as *const f32;
        let v = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
        let mut lanes = [0.0f32; 4];
        _mm_storeu_ps(lanes.as_mut_ptr(), v);
        for (c, lane) in lanes.iter().enumerate() {
            let mut v = *lane;
            if !SIGNED {
                v += dot_f32(m, t.sums.add(c * nb), nb);
            }
            *t.out.add(c * t.out_stride + r) = v;
        }
    }
}

/// K panel tile: `t.w` points at `KBlock`s, `t.a` at `BlockQ8K`s.
#[inline(always)]
unsafe fn tile_k_body<const VNNI: bool, const NR: usize, const NC: usize>(t: &Tile) {
    let mut acc = [[_mm256_setzero_ps(); NC]; NR];
    for b in 0..t.n {
        let mut sumi = [[_mm256_setzero_si256(); NC]; NR];
        for k in 0..QK_K / 32 {
            let mut q = [_mm256_setzero_si256(); NR];
            for r in 0..NR {
                let blk = &*(t.w.add(r * t.w_stride) as *const KBlock).add(b);
                q[r] = _mm256_load_si256(blk.q.as_ptr().add(32 * k) as *const __m256i);
            }
            for c in 0..NC {
                let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8K).add(b);
                let a = _mm256_loadu_si256(ab.qs.as_ptr().add(32 * k) as *const __m256i);
                for r in 0..NR {
                    let blk = &*(t.w.add(r * t.w_stride) as *const KBlock).add(b);
                    let sc = _mm256_load_si256(blk.sc[k].as_ptr() as *const __m256i);
                    sumi[r][c] = dpwssd::<VNNI>(sumi[r][c], _mm256_maddubs_epi16(q[r], a), sc);
                }
            }
        }
        for c in 0..NC {
            let ab = &*(t.a.add(c * t.a_stride) as *const BlockQ8K).add(b);
            let bs = _mm256_loadu_si256(ab.bsums.as_ptr() as *const __m256i);
            let da = _mm256_set1_ps(ab.d);
            for r in 0..NR {
                let blk = &*(t.w.add(r * t.w_stride) as *const KBlock).add(b);
                let mn = _mm256_madd_epi16(bs, _mm256_load_si256(blk.mn.as_ptr() as *const __m256i));
                let dd = _mm256_mul_ps(_mm256_set1_ps(blk.d), da);
                let dm = _mm256_mul_ps(_mm256_set1_ps(-blk.dmin), da);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][c]), dd, acc[r][c]);
                acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(mn), dm, acc[r][c]);
            }
        }
    }
    for r in 0..NR {
        for c in 0..NC {
            *t.out.add(c * t.out_stride + r) = hsum_ps(acc[r][c]);
        }
    }
}

#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn tile_k<const NR: usize, const NC: usize>(t: &Tile) {
    tile_k_body::<false, NR, NC>(t)
}

#[target_feature(enable = "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")]
unsafe fn tile_k_vnni<const NR: usize, const NC: usize>(t: &Tile) {
    tile_k_body::<true, NR, NC>(t)
}

/// The panel tile for `kind` and shape (nr, nc), both in 1..=4; the VNNI variant when `vnni` (the
/// caller has checked the CPU).
pub(crate) fn tile_fn(kind: PanelKind, nr: usize, nc: usize, vnni: bool) -> TileFn {
    match (kind, vnni) {
        (PanelKind::Il8Signed, _) => super::panel_il8::tile_fn(true, nr, nc),
        (PanelKind::Il8Min, _) => super::panel_il8::tile_fn(false, nr, nc),
        (PanelKind::K8, _) => super::panel_k8::tile_fn(nr, nc),
        // Legacy types run interleaved panels on VNNI (`panel_kind`).
        (PanelKind::LegacySigned, _) if nc == 4 => pick_tile!(tile_legacy_x4::<true>, nr, 4),
        (PanelKind::LegacyMin, _) if nc == 4 => pick_tile!(tile_legacy_x4::<false>, nr, 4),
        (PanelKind::LegacySigned, _) => pick_tile!(tile_legacy::<true>, nr, nc),
        (PanelKind::LegacyMin, _) => pick_tile!(tile_legacy::<false>, nr, nc),
        (PanelKind::K, false) => pick_tile!(tile_k, nr, nc),
        (PanelKind::K, true) => pick_tile!(tile_k_vnni, nr, nc),
    }
}
