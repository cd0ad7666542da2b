//! Sharing a mutable buffer with pool workers that write disjoint parts of it.

/// A raw pointer that may cross threads. Users must guarantee disjoint writes.
#[derive(Clone, Copy)]
pub struct SyncPtr(pub *mut f32);
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
