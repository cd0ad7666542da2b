//! Model weights on disk: GGUF (read + write), safetensors, and Hugging Face folders.
//! Files are mmapped; tensors are zero-copy views. Names are typed (`MetaKey`, `TensorName`, `tn`);
//! the HF <-> GGUF name map lives only in `hf`.

pub mod error;
pub mod gguf;
pub mod hf;
pub mod names;
pub mod safetensors;
pub mod safetensors_write;
pub mod tensor;

pub use error::WeightsError;
pub use gguf::{GgufFile, GgufWriter, MetaArray, MetaValue, Metadata, TensorInfo, ValueType};
pub use hf::{HfConfig, HfModel};
pub use kernels::GgmlType;
pub use names::{parse_tn, tn, tn_bias, MetaKey, TensorName};
pub use safetensors::SafetensorsFile;
pub use safetensors_write::write_atomic;
pub use tensor::Tensor;
