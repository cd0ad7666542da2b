//! Forward and backward passes of the operations a decoder block is made of. Forwards compute
//! exactly what inference computes (same kernels, same summation order where it matters);
//! backwards take the forward's saved values and return or accumulate input gradients.

pub mod attention;
pub mod gemm;
pub mod linear;
pub mod lora;
pub mod mlp;
pub mod norm;
pub mod rope;
pub mod xent;

/// A raw pointer that may cross threads; users guarantee disjoint writes.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(pub *mut f32);
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    /// # Safety
    /// `off..off+len` must be in bounds and written by no other thread at the same time.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn slice(&self, off: usize, len: usize) -> &mut [f32] {
        std::slice::from_raw_parts_mut(self.0.add(off), len)
    }
}

/// The bytes of an f32 slice, as an F32 `QMatrix` reads them (little-endian targets, like GGUF).
pub(crate) fn f32_bytes(v: &[f32]) -> &[u8] {
    // SAFETY: u8 has no alignment or validity requirements; the length covers the same memory.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

/// Splits `0..n` into `nt` contiguous ranges; range `i`.
pub(crate) fn split(n: usize, i: usize, nt: usize) -> std::ops::Range<usize> {
    let per = n.div_ceil(nt.max(1));
    (i * per).min(n)..((i + 1) * per).min(n)
}
