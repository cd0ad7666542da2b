//! The model's view of a KV cache. Storage and allocation policy belong to the engine;
//! the model only reads and writes slots through this view.

/// One layer's keys and values. Position `p` lives in slot `p % cap`, so a sliding-window layer
/// can keep a ring of `window + chunk` slots instead of the whole context.
pub struct LayerKvMut<'a> {
    pub k: &'a mut [f32], // [cap, kv_dim]
    pub v: &'a mut [f32], // [cap, kv_dim]
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
