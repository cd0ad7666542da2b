//! The KV cache: owned here, preallocated per sequence, sliding-window aware.
//! Global layers keep every position; sliding-window layers keep a ring of `window + max_chunk`
//! slots, enough for the oldest query of a chunk to still see its whole window.

use kernels::attn::{BlockQ8_0, QK8_0};
use models::{KvAccess, KvBuf, KvType, LayerKvMut, ModelConfig};

/// An unusable KV cache type for this model.
#[derive(Debug, thiserror::Error)]
#[error("KV cache type q8_0 needs head_dim to be a multiple of 32, this model's is {head_dim}: use f16 or f32")]
pub struct KvTypeError {
    pub head_dim: usize,
}

/// `[cap, kv_dim]` values in one storage type. Zero-filled (calloc'd): pages are committed only when written.
enum Store {
    F32(Vec<f32>),
    F16(Vec<u16>),
    Q8_0(Vec<BlockQ8_0>),
}

impl Store {
    fn new(ty: KvType, n: usize) -> Store {
        match ty {
            KvType::F32 => Store::F32(vec![0.0; n]),
            KvType::F16 => Store::F16(vec![0; n]),
            KvType::Q8_0 => Store::Q8_0(vec![BlockQ8_0::default(); n / QK8_0]),
        }
    }

    fn buf(&mut self) -> KvBuf<'_> {
        match self {
            Store::F32(b) => KvBuf::F32(b),
            Store::F16(b) => KvBuf::F16(b),
            Store::Q8_0(b) => KvBuf::Q8_0(b),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Store::F32(b) => std::mem::size_of_val(&b[..]),
            Store::F16(b) => std::mem::size_of_val(&b[..]),
            Store::Q8_0(b) => std::mem::size_of_val(&b[..]),
        }
    }
}

/// Storage types of keys and values (f32 both by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KvTypes {
    pub k: KvType,
    pub v: KvType,
}

impl KvTypes {
    /// Whether a model can use these types (q8_0 needs head_dim % 32 == 0).
    pub fn check(self, cfg: &ModelConfig) -> Result<(), KvTypeError> {
        if (self.k == KvType::Q8_0 || self.v == KvType::Q8_0) && cfg.head_dim % QK8_0 != 0 {
            return Err(KvTypeError { head_dim: cfg.head_dim });
        }
        Ok(())
    }

    /// Bytes one position takes over all layers (keys and values).
    pub fn bytes_per_pos(self, cfg: &ModelConfig) -> usize {
        cfg.n_layer * (self.k.row_bytes(cfg.kv_dim()) + self.v.row_bytes(cfg.kv_dim()))
    }
}

struct LayerCache {
    k: Store,
    v: Store,
    cap: usize,
    window: Option<usize>,
}

pub struct KvCache {
    layers: Vec<LayerCache>,
    n_ctx: usize,
    max_chunk: usize,
    /// Positions 0..len hold valid keys/values for this sequence.
    len: usize,
}

impl KvCache {
    /// `max_chunk`: the most tokens one forward call will add. Keys and values in f32.
    pub fn new(cfg: &ModelConfig, n_ctx: usize, max_chunk: usize) -> Self {
        Self::build(cfg, n_ctx, max_chunk, KvType::F32, KvType::F32)
    }

    /// Like `new`, with keys stored as `k` and values as `v` (llama.cpp's `-ctk` / `-ctv`).
    pub fn with_types(cfg: &ModelConfig, n_ctx: usize, max_chunk: usize, k: KvType, v: KvType) -> Result<Self, KvTypeError> {
        KvTypes { k, v }.check(cfg)?;
        Ok(Self::build(cfg, n_ctx, max_chunk, k, v))
    }

    fn build(cfg: &ModelConfig, n_ctx: usize, max_chunk: usize, kt: KvType, vt: KvType) -> Self {
        let kv_dim = cfg.kv_dim();
        let layers = cfg
            .layer_window
            .iter()
            .map(|w| {
                let cap = w.map_or(n_ctx, |w| (w + max_chunk).min(n_ctx)).max(1);
                LayerCache { k: Store::new(kt, cap * kv_dim), v: Store::new(vt, cap * kv_dim), cap, window: *w }
            })
            .collect();
        Self { layers, n_ctx, max_chunk, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn max_chunk(&self) -> usize {
        self.max_chunk
    }

    /// Marks positions `0..len` as filled (after a forward call wrote them).
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.n_ctx);
    }

    /// Drops positions `from..` (llama.cpp `seq_rm`). Returns false when a ring layer has already
    /// overwritten what the kept prefix needs; the cache is then cleared and must be refilled.
    pub fn seq_rm(&mut self, from: usize) -> bool {
        if from >= self.len {
            return true;
        }
        let dropped = self.len - from;
        let ok = self.layers.iter().all(|l| match l.window {
            Some(w) if l.cap < self.n_ctx => dropped + w <= l.cap,
            _ => true,
        });
        self.len = if ok { from } else { 0 };
        ok
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Bytes held by keys and values.
    pub fn bytes(&self) -> usize {
        self.layers.iter().map(|l| l.k.bytes() + l.v.bytes()).sum()
    }
}

impl KvAccess for KvCache {
    fn layer(&mut self, il: usize) -> LayerKvMut<'_> {
        let l = &mut self.layers[il];
        LayerKvMut { k: l.k.buf(), v: l.v.buf(), cap: l.cap }
    }

    fn n_ctx(&self) -> usize {
        self.n_ctx
    }
}
