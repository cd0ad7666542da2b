//! LoRA / QLoRA fine-tuning on a CPU: datasets -> token batches, trainable low-rank adapters over a
//! frozen base (in its own, possibly quantized, format), backward passes, the optimizer, checkpoints
//! and export in PEFT's format.
//!
//! The pieces meet at two types: [`LoraParams`] (the trainable matrices, also used for gradients and
//! optimizer moments) and [`Objective`] (anything that turns a [`Batch`] into a loss and gradients).

pub mod error;
pub mod params;
pub mod batch;
pub mod objective;
pub mod optim;
pub mod schedule;
pub mod data;
pub mod metrics;
pub mod svg;
pub mod checkpoint;
pub mod trainer;
pub mod export;

pub use batch::Batch;
pub use error::FinetuneError;
pub use objective::Objective;
pub use params::{LoraConfig, LoraModule, LoraParams, Target};

// The training model: op forwards/backwards, the LoRA model (an Objective), PEFT-style init and conversion.
pub mod ops;
pub mod rng;
pub mod model;
pub mod init;
pub mod peft;

pub use model::{LoraModel, TrainOptions};
