//! The engine: sampling, KV cache, and the generation loop.

pub mod sampler;
pub mod stop;
pub mod kv;
pub mod generate;
pub mod load;
mod error;

pub use error::EngineError;
pub use generate::{Generation, Session, StopReason, Timings};
pub use kv::KvCache;
pub use load::LoadedModel;
