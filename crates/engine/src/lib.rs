//! The engine: sampling, KV cache, and the generation loop.

pub mod sampler;
pub mod stop;
pub mod kv;
pub mod generate;
pub mod load;
pub mod logprob;
pub mod batch;
pub mod constrain;
mod error;

pub use error::EngineError;
pub use generate::{Generation, Session, StopReason, Timings};
pub use kv::{KvCache, KvTypeError, KvTypes};
pub use models::KvType;
pub use load::LoadedModel;
