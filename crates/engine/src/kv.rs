//! The KV cache: owned here, preallocated per sequence, sliding-window aware.
//! Global layers keep every position; sliding-window layers keep a ring of `window + max_chunk`
//! slots, enough for the oldest query of a chunk to still see its whole window.

use models::{KvAccess, LayerKvMut, ModelConfig};

struct LayerCache {
    k: Vec<f32>, // [cap, kv_dim]
    v: Vec<f32>, // [cap, kv_dim]
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
    /// `max_chunk`: the most tokens one forward call will add.
    pub fn new(cfg: &ModelConfig, n_ctx: usize, max_chunk: usize) -> Self {
        let kv_dim = cfg.kv_dim();
        let layers = cfg
            .layer_window
            .iter()
            .map(|w| {
                let cap = w.map_or(n_ctx, |w| (w + max_chunk).min(n_ctx)).max(1);
                // calloc'd zeros: pages are committed only when first written.
                LayerCache { k: vec![0.0; cap * kv_dim], v: vec![0.0; cap * kv_dim], cap, window: *w }
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
        self.layers.iter().map(|l| (l.k.len() + l.v.len()) * 4).sum()
    }
}

impl KvAccess for KvCache {
    fn layer(&mut self, il: usize) -> LayerKvMut<'_> {
        let l = &mut self.layers[il];
        LayerKvMut { k: &mut l.k, v: &mut l.v, cap: l.cap }
    }

    fn n_ctx(&self) -> usize {
        self.n_ctx
    }
}
