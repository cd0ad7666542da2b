//! The model's view of a KV cache. Storage and allocation policy belong to the engine;
//! the model only reads and writes slots through this view.

use kernels::attn::{AttnOps, BlockQ8_0, KvRow, KvType, QK8_0};

/// One layer's keys or values, `[cap, kv_dim]` values in the cache's storage type.
pub enum KvBuf<'a> {
    F32(&'a mut [f32]),
    F16(&'a mut [u16]),
    /// `kv_dim / 32` blocks per slot; head_dim must be a multiple of 32 so heads start on a block.
    Q8_0(&'a mut [BlockQ8_0]),
}

impl KvBuf<'_> {
    pub fn kv_type(&self) -> KvType {
        match self {
            KvBuf::F32(_) => KvType::F32,
            KvBuf::F16(_) => KvType::F16,
            KvBuf::Q8_0(_) => KvType::Q8_0,
        }
    }

    /// Stores `src` (one slot's `kv_dim` values) into `slot`, converting to the storage type.
    pub fn store(&mut self, ops: AttnOps, slot: usize, src: &[f32]) {
        let n = src.len();
        match self {
            KvBuf::F32(b) => b[slot * n..(slot + 1) * n].copy_from_slice(src),
            KvBuf::F16(b) => ops.f32_to_f16(src, &mut b[slot * n..(slot + 1) * n]),
            KvBuf::Q8_0(b) => ops.f32_to_q8_0(src, &mut b[slot * n / QK8_0..(slot + 1) * n / QK8_0]),
        }
    }

    /// Values `off..off + len` of `slot` (slots are `kv_dim` values long).
    #[inline]
    pub fn row(&self, slot: usize, kv_dim: usize, off: usize, len: usize) -> KvRow<'_> {
        let a = slot * kv_dim + off;
        match self {
            KvBuf::F32(b) => KvRow::F32(&b[a..a + len]),
            KvBuf::F16(b) => KvRow::F16(&b[a..a + len]),
            KvBuf::Q8_0(b) => KvRow::Q8_0(&b[a / QK8_0..(a + len) / QK8_0]),
        }
    }
}

/// One layer's keys and values. Position `p` lives in slot `p % cap`, so a sliding-window layer
/// can keep a ring of `window + chunk` slots instead of the whole context.
pub struct LayerKvMut<'a> {
    pub k: KvBuf<'a>, // [cap, kv_dim]
    pub v: KvBuf<'a>, // [cap, kv_dim]
    pub cap: usize,
}

pub trait KvAccess {
    fn layer(&mut self, il: usize) -> LayerKvMut<'_>;
    /// Context size this cache was allocated for (positions must stay below it).
    fn n_ctx(&self) -> usize;
}

/// One sequence's share of a batched layer call: activation rows `start..start + len` sit at
/// positions `pos0..pos0 + len` of that sequence, whose keys/values live in `kv`.
pub struct SeqRows<'a> {
    pub start: usize,
    pub len: usize,
    pub pos0: usize,
    pub kv: LayerKvMut<'a>,
}
