//! Dot products of weight rows (any supported GGUF type) with activation rows, scalar and SIMD.
//!
//! Activations are quantized once per matmul into the weight type's partner format (`ActFormat`):
//! `BlockQ8` for the 32-value types, `BlockQ8K` for the K-quants, plain f32 for float weights.
//! Kernels compute micro-tiles of NR weight rows x NC activation rows so that each weight block is
//! decoded once and reused (`tile.rs`); `matmul.rs` drives them.

pub mod act;
pub(crate) mod decode;
mod legacy;
pub(crate) mod panel;
pub mod scalar;
pub(crate) mod tile;
#[cfg(test)]
mod tile_tests;

#[cfg(target_arch = "x86_64")]
mod act_avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(target_arch = "x86_64")]
mod float_avx2;
#[cfg(target_arch = "x86_64")]
mod kquant_avx2;
#[cfg(target_arch = "x86_64")]
mod legacy_avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod ops_avx2;
#[cfg(target_arch = "x86_64")]
mod panel_avx2;
#[cfg(target_arch = "x86_64")]
mod panel_il8;
#[cfg(target_arch = "x86_64")]
mod panel_k8;
#[cfg(target_arch = "x86_64")]
pub(crate) mod x86;

#[cfg(target_arch = "aarch64")]
mod act_neon;
#[cfg(target_arch = "aarch64")]
mod float_neon;
#[cfg(target_arch = "aarch64")]
mod kquant_neon;
#[cfg(target_arch = "aarch64")]
mod legacy_neon;
#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(target_arch = "aarch64")]
pub(crate) mod ops_neon;

pub use act::{quantize_block_q8, quantize_block_q8k, quantize_q8, quantize_q8k, ActFormat, BlockQ8, BlockQ8K};
pub use decode::{bf16_to_f32, f16_to_f32, scale_min_k4};

use crate::cpu::CpuLevel;
use crate::matmul::MatmulError;
use crate::types::GgmlType;
use tile::{pick_tile, Tile, TileFn};

/// Hints the CPU to pull the cache line at `p` into L2 (no-op where unsupported; never faults).
#[inline(always)]
pub(crate) fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it does not fault on any address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One activation row in the format a weight type expects.
#[derive(Clone, Copy, Debug)]
pub enum ActRow<'a> {
    Q8(&'a [BlockQ8]),
    Q8K(&'a [BlockQ8K]),
    F32(&'a [f32]),
}

impl ActRow<'_> {
    pub fn format(&self) -> ActFormat {
        match self {
            ActRow::Q8(_) => ActFormat::Q8,
            ActRow::Q8K(_) => ActFormat::Q8K,
            ActRow::F32(_) => ActFormat::F32,
        }
    }

    /// Number of values the row holds.
    pub fn len(&self) -> usize {
        match self {
            ActRow::Q8(b) => b.len() * 32,
            ActRow::Q8K(b) => b.len() * crate::QK_K,
            ActRow::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn ptr(&self) -> *const u8 {
        match self {
            ActRow::Q8(b) => b.as_ptr() as *const u8,
            ActRow::Q8K(b) => b.as_ptr() as *const u8,
            ActRow::F32(v) => v.as_ptr() as *const u8,
        }
    }

    /// Blocks (elements for f32).
    fn units(&self) -> usize {
        match self {
            ActRow::Q8(b) => b.len(),
            ActRow::Q8K(b) => b.len(),
            ActRow::F32(v) => v.len(),
        }
    }
}

/// `dot(weight row, activation row)` for one row of `ty` holding `act.len()` values, at `level`
/// (clamped to what the CPU supports).
pub fn vec_dot(level: CpuLevel, ty: GgmlType, w_row: &[u8], act: ActRow<'_>) -> Result<f32, MatmulError> {
    let fmt = ActFormat::for_weight(ty).ok_or(MatmulError::UnsupportedType(ty))?;
    if act.format() != fmt {
        return Err(MatmulError::ActFormat { ty, expected: fmt, got: act.format() });
    }
    let n = act.len();
    let expected = ty.row_bytes(n).ok_or(MatmulError::RaggedRow { ty, cols: n })?;
    if w_row.len() != expected {
        return Err(MatmulError::DataSize { ty, rows: 1, cols: n, expected, actual: w_row.len() });
    }
    let f = tile_fn(level, ty, 1, 1).ok_or(MatmulError::UnsupportedType(ty))?;
    let mut out = 0.0f32;
    let t = Tile {
        w: w_row.as_ptr(),
        w_stride: expected,
        a: act.ptr(),
        a_stride: 0,
        n: act.units(),
        out: &mut out,
        out_stride: 1,
        sums: std::ptr::null(),
    };
    // SAFETY: the row and activation lengths were checked against `n` above; the tile is 1 x 1 and
    // `tile_fn` only returns SIMD kernels the CPU supports.
    unsafe { f(&t) };
    Ok(out)
}

/// The kernel for `ty` at `level` computing an `nr` x `nc` tile (each 1..=4), or None for types
/// that cannot be matmul weights. SIMD kernels are returned only when the CPU supports them.
pub(crate) fn tile_fn(level: CpuLevel, ty: GgmlType, nr: usize, nc: usize) -> Option<TileFn> {
    ActFormat::for_weight(ty)?;
    let (nr, nc) = (nr.clamp(1, tile::MAX_NR), nc.clamp(1, tile::MAX_NC));
    let level = level.clamp_supported();
    #[cfg(target_arch = "x86_64")]
    if level == CpuLevel::Avx512 {
        if let Some(f) = avx512::tile_fn(ty, nr, nc) {
            return Some(f);
        }
    }
    #[cfg(target_arch = "x86_64")]
    if level.has_avx2() {
        return legacy_avx2::tile_fn(ty, nr, nc, level.has_vnni())
            .or_else(|| kquant_avx2::tile_fn(ty, nr, nc))
            .or_else(|| float_avx2::tile_fn(ty, nr, nc));
    }
    #[cfg(target_arch = "aarch64")]
    if level.has_neon() {
        return legacy_neon::tile_fn(ty, nr, nc, level.has_dotprod())
            .or_else(|| kquant_neon::tile_fn(ty, nr, nc, level.has_dotprod()))
            .or_else(|| float_neon::tile_fn(ty, nr, nc));
    }
    let _ = level;
    scalar_tile_fn(ty, nr, nc)
}

/// Preferred (NR, 1) for single-row products (decode), measured with `benches/matmul.rs`: four rows at
/// a time help the compute-bound unsigned 32-block types (+5%); the memory-bound Q8_0 output head and
/// the K-quants are fastest one row at a time (Q8_0 loses half its bandwidth with NR = 2).
pub(crate) fn gemv_tile(level: CpuLevel, ty: GgmlType) -> (usize, usize) {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 if level.clamp_supported().has_avx2() => (4, 1),
        _ => (1, 1),
    }
}

/// Preferred (NR, NC) for batched products of `ty` at `level` (measured with `benches/matmul.rs`).
pub(crate) fn gemm_tile(level: CpuLevel, ty: GgmlType) -> (usize, usize) {
    #[cfg(target_arch = "aarch64")]
    if level.clamp_supported().has_neon() {
        return neon_gemm_tile(ty);
    }
    if !level.clamp_supported().has_avx2() {
        return (1, 1);
    }
    match ty {
        GgmlType::Q4K | GgmlType::Q5K | GgmlType::Q6K => (1, 4),
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => (2, 4),
        _ => (1, 4),
    }
}

/// NEON batched tiles: one weight row against four activation rows reuses each decoded block four
/// times within the 32 vector registers; float weights afford two rows. (Not yet measured on hardware.)
#[cfg(target_arch = "aarch64")]
fn neon_gemm_tile(ty: GgmlType) -> (usize, usize) {
    match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => (2, 4),
        _ => (1, 4),
    }
}

const S_Q4_0: u8 = 0;
const S_Q4_1: u8 = 1;
const S_Q5_0: u8 = 2;
const S_Q5_1: u8 = 3;
const S_Q8_0: u8 = 4;
const S_Q4K: u8 = 5;
const S_Q5K: u8 = 6;
const S_Q6K: u8 = 7;
const S_F32: u8 = 8;
const S_F16: u8 = 9;
const S_BF16: u8 = 10;

const fn scalar_type(k: u8) -> GgmlType {
    match k {
        S_Q4_0 => GgmlType::Q4_0,
        S_Q4_1 => GgmlType::Q4_1,
        S_Q5_0 => GgmlType::Q5_0,
        S_Q5_1 => GgmlType::Q5_1,
        S_Q8_0 => GgmlType::Q8_0,
        S_Q4K => GgmlType::Q4K,
        S_Q5K => GgmlType::Q5K,
        S_Q6K => GgmlType::Q6K,
        S_F32 => GgmlType::F32,
        S_F16 => GgmlType::F16,
        _ => GgmlType::BF16,
    }
}

/// Scalar tile: NR x NC independent row dots.
unsafe fn scalar_tile<const K: u8, const NR: usize, const NC: usize>(t: &Tile) {
    let ty = scalar_type(K);
    let fmt = ActFormat::for_weight(ty).unwrap_or(ActFormat::F32);
    let elems = t.n * fmt.block_len();
    let row_bytes = elems / ty.block_size() * ty.type_size();
    for r in 0..NR {
        let w = std::slice::from_raw_parts(t.w.add(r * t.w_stride), row_bytes);
        for c in 0..NC {
            let a = t.a.add(c * t.a_stride);
            let v = match fmt {
                ActFormat::Q8 => scalar::dot_legacy(ty, w, std::slice::from_raw_parts(a as *const BlockQ8, t.n)),
                ActFormat::Q8K => {
                    let a = std::slice::from_raw_parts(a as *const BlockQ8K, t.n);
                    if ty == GgmlType::Q6K {
                        scalar::dot_q6k(w, a)
                    } else {
                        scalar::dot_k45(ty, w, a)
                    }
                }
                ActFormat::F32 => scalar::dot_float(ty, w, std::slice::from_raw_parts(a as *const f32, t.n)),
            };
            *t.out.add(c * t.out_stride + r) = v;
        }
    }
}

fn scalar_tile_fn(ty: GgmlType, nr: usize, nc: usize) -> Option<TileFn> {
    Some(match ty {
        GgmlType::Q4_0 => pick_tile!(scalar_tile::<S_Q4_0>, nr, nc),
        GgmlType::Q4_1 => pick_tile!(scalar_tile::<S_Q4_1>, nr, nc),
        GgmlType::Q5_0 => pick_tile!(scalar_tile::<S_Q5_0>, nr, nc),
        GgmlType::Q5_1 => pick_tile!(scalar_tile::<S_Q5_1>, nr, nc),
        GgmlType::Q8_0 => pick_tile!(scalar_tile::<S_Q8_0>, nr, nc),
        GgmlType::Q4K => pick_tile!(scalar_tile::<S_Q4K>, nr, nc),
        GgmlType::Q5K => pick_tile!(scalar_tile::<S_Q5K>, nr, nc),
        GgmlType::Q6K => pick_tile!(scalar_tile::<S_Q6K>, nr, nc),
        GgmlType::F32 => pick_tile!(scalar_tile::<S_F32>, nr, nc),
        GgmlType::F16 => pick_tile!(scalar_tile::<S_F16>, nr, nc),
        GgmlType::BF16 => pick_tile!(scalar_tile::<S_BF16>, nr, nc),
        _ => return None,
    })
}

/// Decodes one weight row of `ty` into `out` (scalar). False if `ty` is not decodable here or the
/// lengths do not match.
pub fn dequantize_row(ty: GgmlType, row: &[u8], out: &mut [f32]) -> bool {
    match ty.row_bytes(out.len()) {
        Some(n) if n == row.len() => decode::dequantize_row(ty, row, out),
        _ => false,
    }
}
