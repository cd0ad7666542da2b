//! The engine: requests and sampling, KV cache, generation loop.

pub mod sampler;
pub mod stop;
