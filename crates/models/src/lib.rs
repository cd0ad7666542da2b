//! Model architectures composed from shared layers.
//! `registry` is the only place that matches on the architecture name.

pub mod error;
pub mod source;
pub mod kv;
pub mod layers;
pub mod arch;
pub mod registry;
pub mod model;
pub mod decoder;
pub mod observe;
pub mod lora;
pub mod train_view;

pub use error::ModelError;
pub use kernels::attn::KvType;
pub use kv::{KvAccess, KvBuf, LayerKvMut, SeqRows};
pub use model::{ForwardCtx, LoadOptions, LogitsWanted, Model, ModelConfig, SeqInput};
pub use registry::{load_model, load_model_with};
pub use source::WeightSource;
pub use train_view::{BlockParts, TrainView};
