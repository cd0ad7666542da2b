//! `y = x · Wᵀ` for a quantized (or float) weight matrix: GEMV for decode (m = 1), tiled GEMM for prefill.
//!
//! The input rows are quantized once into the weight type's activation format (a per-thread scratch
//! buffer that only grows), then threads take chunks of weight rows from a shared counter (dynamic
//! scheduling survives a busy core) and multiply each chunk against all input rows in NR x NC
//! micro-tiles (`dot::tile`): each weight block is decoded once per NC input rows.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cpu::{self, CpuLevel};
use crate::dot::panel::PanelPlan;
use crate::dot::tile::{Tile, TileFn, MAX_NC, MAX_PANEL_NR};
use crate::dot::{self, ActFormat, BlockQ8, BlockQ8K};
use crate::pool::ThreadPool;
use crate::types::GgmlType;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MatmulError {
    #[error("{} weights cannot be used in a matmul (supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K); requantize the model to a supported type", .0.name())]
    UnsupportedType(GgmlType),
    #[error("a row of {cols} values is not a whole number of {} blocks ({} values each); the tensor shape does not fit its type", ty.name(), ty.block_size())]
    RaggedRow { ty: GgmlType, cols: usize },
    #[error("a {} matrix of {rows} x {cols} needs {expected} bytes but has {actual}; the file is truncated or the shape is wrong", ty.name())]
    DataSize { ty: GgmlType, rows: usize, cols: usize, expected: usize, actual: usize },
    #[error("{what} has {actual} values, expected {expected}; check m and the matrix shape")]
    Shape { what: &'static str, expected: usize, actual: usize },
    #[error("{} weights multiply {expected:?} activations, got {got:?}", ty.name())]
    ActFormat { ty: GgmlType, expected: ActFormat, got: ActFormat },
}

/// A weight matrix borrowed from a GGUF tensor: `rows` output features of `cols` inputs each;
/// row i is `data[i * row_bytes .. (i + 1) * row_bytes]`.
#[derive(Clone, Copy, Debug)]
pub struct QMatrix<'a> {
    pub ty: GgmlType,
    pub data: &'a [u8],
    /// Output features.
    pub rows: usize,
    /// Input features (k).
    pub cols: usize,
}

impl<'a> QMatrix<'a> {
    /// Checks that `ty` can be multiplied, `cols` is a whole number of blocks and `data` holds exactly
    /// `rows` rows.
    pub fn new(ty: GgmlType, data: &'a [u8], rows: usize, cols: usize) -> Result<Self, MatmulError> {
        let m = QMatrix { ty, data, rows, cols };
        m.validate()?;
        Ok(m)
    }

    /// Bytes per row, after checking the matrix as `new` does (fields are public).
    fn validate(&self) -> Result<usize, MatmulError> {
        let ty = self.ty;
        ActFormat::for_weight(ty).ok_or(MatmulError::UnsupportedType(ty))?;
        let row_bytes = ty.row_bytes(self.cols).ok_or(MatmulError::RaggedRow { ty, cols: self.cols })?;
        let expected = row_bytes.saturating_mul(self.rows);
        if self.data.len() != expected {
            return Err(MatmulError::DataSize {
                ty,
                rows: self.rows,
                cols: self.cols,
                expected,
                actual: self.data.len(),
            });
        }
        Ok(row_bytes)
    }

    /// Bytes per row (valid for a matrix built by `new`).
    pub fn row_bytes(&self) -> usize {
        self.ty.row_bytes(self.cols).unwrap_or(0)
    }

    /// The bytes of row `i`, or None when out of range.
    pub fn row(&self, i: usize) -> Option<&'a [u8]> {
        let rb = self.row_bytes();
        self.data.get(i.checked_mul(rb)?..i.checked_add(1)?.checked_mul(rb)?)
    }
}

/// `y[j, i] = Σ_k x[j, k] · W[i, k]` for `x` of shape [m, cols] and `y` of shape [m, rows], row-major.
///
/// # Panics
/// When `x` or `y` do not have `m * cols` / `m * rows` values, or the matrix is invalid (a `QMatrix`
/// from `new` never is). Use `try_matmul` to get these as errors.
pub fn matmul(pool: &ThreadPool, w: &QMatrix<'_>, x: &[f32], m: usize, y: &mut [f32]) {
    if let Err(e) = try_matmul(pool, w, x, m, y) {
        panic!("matmul: {e}");
    }
}

/// `matmul` returning shape errors instead of panicking.
pub fn try_matmul(pool: &ThreadPool, w: &QMatrix<'_>, x: &[f32], m: usize, y: &mut [f32]) -> Result<(), MatmulError> {
    matmul_at(cpu::active(), pool, w, x, m, y)
}

/// `try_matmul` at an explicit CPU level (clamped to what the CPU supports): tests and benchmarks
/// compare levels with this.
pub fn matmul_at(
    level: CpuLevel,
    pool: &ThreadPool,
    w: &QMatrix<'_>,
    x: &[f32],
    m: usize,
    y: &mut [f32],
) -> Result<(), MatmulError> {
    let row_bytes = w.validate()?;
    let x_len = m.saturating_mul(w.cols);
    if x.len() != x_len {
        return Err(MatmulError::Shape { what: "x", expected: x_len, actual: x.len() });
    }
    let y_len = m.saturating_mul(w.rows);
    if y.len() != y_len {
        return Err(MatmulError::Shape { what: "y", expected: y_len, actual: y.len() });
    }
    if m == 0 || w.rows == 0 {
        return Ok(());
    }
    if w.cols == 0 {
        y.fill(0.0);
        return Ok(());
    }
    let level = level.clamp_supported();
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut s) => run(level, pool, w, row_bytes, x, m, y, &mut s),
        // Re-entered on this thread (a matmul inside a pool job): use a private buffer.
        Err(_) => run(level, pool, w, row_bytes, x, m, y, &mut Scratch::default()),
    });
    Ok(())
}

/// Quantized activations, reused across calls on the same thread (grows to the largest m x k seen).
#[derive(Default)]
struct Scratch {
    q8: Vec<BlockQ8>,
    q8k: Vec<BlockQ8K>,
    /// `q8[i].s` laid out contiguously, for panel kernels of types with a min.
    sums: Vec<f32>,
    /// Σ `q8[i].qs` as integers, for interleaved Q8_0 panels.
    int_sums: Vec<i32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A raw pointer shared with pool threads that each touch a disjoint part of the pointee.
struct SharedPtr<T>(*mut T);
impl<T> Clone for SharedPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for SharedPtr<T> {}
impl<T> SharedPtr<T> {
    /// Through a method, so closures capture the whole (Sync) wrapper, not the raw pointer field.
    fn get(self) -> *mut T {
        self.0
    }
}
// SAFETY: used only for disjoint per-thread regions inside one `ThreadPool::run` (see call sites).
unsafe impl<T> Send for SharedPtr<T> {}
unsafe impl<T> Sync for SharedPtr<T> {}

/// Below this many weight bytes x input rows, one thread is faster than waking the pool.
const SERIAL_BYTES: usize = 32 * 1024;
/// Bytes of weights prefetched ahead of a GEMV tile (to L2).
const GEMV_PREFETCH: usize = 8 * 1024;
/// Quantize input rows on all threads when there are at least this many values.
const PARALLEL_QUANT_VALUES: usize = 64 * 1024;

#[allow(clippy::too_many_arguments)]
fn run(
    level: CpuLevel,
    pool: &ThreadPool,
    w: &QMatrix<'_>,
    row_bytes: usize,
    x: &[f32],
    m: usize,
    y: &mut [f32],
    scratch: &mut Scratch,
) {
    let k = w.cols;
    let serial = w.data.len().saturating_mul(m) < SERIAL_BYTES;
    // Activation rows as (pointer, bytes per row, units per row).
    let (a_ptr, a_stride, units) = match ActFormat::for_weight(w.ty) {
        Some(ActFormat::Q8) => {
            let nb = k / 32;
            grow(&mut scratch.q8, m * nb, BlockQ8::ZERO);
            let q = &mut scratch.q8[..m * nb];
            quantize_rows(level, pool, serial, x, k, q, nb, dot::quantize_q8);
            (q.as_ptr() as *const u8, nb * std::mem::size_of::<BlockQ8>(), nb)
        }
        Some(ActFormat::Q8K) => {
            let nb = k / crate::QK_K;
            grow(&mut scratch.q8k, m * nb, BlockQ8K::ZERO);
            let q = &mut scratch.q8k[..m * nb];
            quantize_rows(level, pool, serial, x, k, q, nb, dot::quantize_q8k);
            (q.as_ptr() as *const u8, nb * std::mem::size_of::<BlockQ8K>(), nb)
        }
        _ => (x.as_ptr() as *const u8, k * 4, k),
    };

    let panel = PanelPlan::new(level, w.ty, units, m);
    let sums = match &panel {
        Some(p) if p.needs_sums() => {
            grow(&mut scratch.sums, m * units, 0.0);
            for (s, b) in scratch.sums.iter_mut().zip(&scratch.q8[..m * units]) {
                *s = b.s;
            }
            SharedPtr(scratch.sums.as_mut_ptr())
        }
        Some(p) if p.needs_int_sums() => {
            grow(&mut scratch.int_sums, m * units, 0);
            for (s, b) in scratch.int_sums.iter_mut().zip(&scratch.q8[..m * units]) {
                *s = b.qs.iter().map(|&q| q as i32).sum();
            }
            // The tiles read them through the f32 pointer as i32 (see `Tile::sums`).
            SharedPtr(scratch.int_sums.as_mut_ptr() as *mut f32)
        }
        _ => SharedPtr(std::ptr::null_mut()),
    };
    let (nr, nc) = match (&panel, m) {
        (Some(p), _) => (p.nr, p.nc),
        (None, 1) => dot::gemv_tile(level, w.ty),
        (None, _) => dot::gemm_tile(level, w.ty),
    };
    // Every (nr', nc') <= (nr, nc) the edges may need.
    let mut kernels: [[Option<TileFn>; MAX_NC]; MAX_PANEL_NR] = [[None; MAX_NC]; MAX_PANEL_NR];
    for (r, row) in kernels.iter_mut().enumerate().take(nr) {
        for (c, f) in row.iter_mut().enumerate().take(nc) {
            *f = match &panel {
                Some(p) => Some(p.tile_fn(r + 1, c + 1)),
                None => dot::tile_fn(level, w.ty, r + 1, c + 1),
            };
        }
    }

    let n_threads = if serial { 1 } else { pool.n_threads() };
    let chunk_bytes = panel.as_ref().map_or(row_bytes, |p| p.row_bytes);
    let chunk = chunk_rows(w.rows, chunk_bytes, m, nr, n_threads);
    let n_chunks = w.rows.div_ceil(chunk);
    let next = AtomicUsize::new(0);
    let out = SharedPtr(y.as_mut_ptr());
    let w_ptr = SharedPtr(w.data.as_ptr() as *mut u8);
    let a = SharedPtr(a_ptr as *mut u8);
    let rows = w.rows;

    // GEMV on several threads is bound by memory: prefetch this far ahead of the tile being computed
    // (bounded by the chunk), so more lines are in flight than the hardware prefetcher keeps.
    // `benches/decode_sweep.rs`, 2 threads: 10.3 -> 8.0 ms per token. One thread is bound by decoding
    // instead, and the extra instructions cost it ~5%, so it does not prefetch.
    let pf_dist = if m == 1 && n_threads > 1 { GEMV_PREFETCH } else { 0 };
    // All tiles of weight rows [r_begin, r_end) stored at `wp` (`ws` bytes apart) x every input row.
    let sweep = |wp: *const u8, ws: usize, r_begin: usize, r_end: usize| {
        let chunk_end = (r_end - r_begin) * ws;
        let mut pf = 0usize;
        let mut c0 = 0;
        while c0 < m {
            let tc = nc.min(m - c0);
            let mut r0 = r_begin;
            while r0 < r_end {
                let tr = nr.min(r_end - r0);
                if pf_dist > 0 {
                    let want = ((r0 - r_begin + tr) * ws + pf_dist).min(chunk_end);
                    while pf < want {
                        // SAFETY: pf < chunk_end, inside this chunk's rows.
                        dot::prefetch(unsafe { wp.add(pf) });
                        pf += 64;
                    }
                }
                let Some(f) = kernels[tr - 1][tc - 1] else {
                    debug_assert!(false, "no kernel for a {tr}x{tc} tile of {}", w.ty.name());
                    return;
                };
                let t = Tile {
                    // SAFETY (all offsets): r0 + tr <= r_end <= rows and c0 + tc <= m, so every weight
                    // (or panel) row, activation row and output element touched is in bounds.
                    w: unsafe { wp.add((r0 - r_begin) * ws) },
                    w_stride: ws,
                    a: unsafe { (a.get() as *const u8).add(c0 * a_stride) },
                    a_stride,
                    n: units,
                    out: unsafe { out.get().add(c0 * rows + r0) },
                    out_stride: rows,
                    sums: if sums.get().is_null() { std::ptr::null() } else { unsafe { sums.get().add(c0 * units) } },
                };
                // SAFETY: shapes as above; output columns [r_begin, r_end) belong to the one thread that
                // took this chunk; kernels are clamped to the CPU level.
                unsafe { f(&t) };
                r0 += tr;
            }
            c0 += tc;
        }
    };
    let work = |_: usize, _: usize| {
        loop {
            let ci = next.fetch_add(1, Ordering::Relaxed);
            if ci >= n_chunks {
                break;
            }
            let r_begin = ci * chunk;
            let r_end = (r_begin + chunk).min(rows);
            // SAFETY: rows [r_begin, r_end) are inside the validated weight buffer.
            let src = unsafe { (w_ptr.get() as *const u8).add(r_begin * row_bytes) };
            match &panel {
                // SAFETY: `src` holds r_end - r_begin rows of the plan's type; level checked by the plan.
                Some(p) => unsafe {
                    p.with_decoded(src, row_bytes, r_end - r_begin, units, |pp| sweep(pp, p.row_bytes, r_begin, r_end))
                },
                None => sweep(src, row_bytes, r_begin, r_end),
            }
        }
    };
    if n_threads == 1 {
        work(0, 1);
    } else {
        pool.run(&work);
    }
}

fn grow<T: Copy>(v: &mut Vec<T>, n: usize, zero: T) {
    if v.len() < n {
        v.resize(n, zero);
    }
}

/// Quantizes m rows of `x` (k values each) into `q` (nb blocks per row), on all threads when large.
#[allow(clippy::too_many_arguments)]
fn quantize_rows<B: Send + Sync>(
    level: CpuLevel,
    pool: &ThreadPool,
    serial: bool,
    x: &[f32],
    k: usize,
    q: &mut [B],
    nb: usize,
    quantize: fn(CpuLevel, &[f32], &mut [B]),
) {
    let m = x.len() / k;
    if serial || m < 2 || x.len() < PARALLEL_QUANT_VALUES || pool.n_threads() == 1 {
        quantize(level, x, q);
        return;
    }
    let qp = SharedPtr(q.as_mut_ptr());
    pool.run(&|i, n| {
        let (start, end) = (m * i / n, m * (i + 1) / n);
        if start == end {
            return;
        }
        // SAFETY: thread i writes only rows [start, end) of `q`, disjoint from every other thread's.
        let dst = unsafe { std::slice::from_raw_parts_mut(qp.get().add(start * nb), (end - start) * nb) };
        quantize(level, &x[start * k..end * k], dst);
    });
}

/// Weight rows per work item: a multiple of `nr`; for GEMV large enough to stream, small enough that
/// every thread gets several items; for GEMM a block (raw or decoded panel) of about 64 KiB that stays
/// in L2 while all input rows pass by, and at least four items per thread.
fn chunk_rows(rows: usize, row_bytes: usize, m: usize, nr: usize, n_threads: usize) -> usize {
    let target = if m == 1 {
        (rows / (8 * n_threads)).max(16)
    } else {
        let l2_rows = (64 * 1024 / row_bytes.max(1)).clamp(nr, 64);
        l2_rows.min(rows.div_ceil(4 * n_threads)).max(nr)
    };
    target.div_ceil(nr) * nr
}

/// Decodes one weight row of `ty` into `out` (embedding lookups). Errors when the sizes do not match.
pub fn dequantize_row_into(ty: GgmlType, row_bytes: &[u8], out: &mut [f32]) -> Result<(), MatmulError> {
    let expected = ty.row_bytes(out.len()).ok_or(MatmulError::RaggedRow { ty, cols: out.len() })?;
    if row_bytes.len() != expected {
        return Err(MatmulError::DataSize { ty, rows: 1, cols: out.len(), expected, actual: row_bytes.len() });
    }
    if dot::dequantize_row(ty, row_bytes, out) {
        Ok(())
    } else {
        Err(MatmulError::UnsupportedType(ty))
    }
}

