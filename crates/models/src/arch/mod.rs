//! One file per architecture: configuration and the layer composition, nothing else.

pub mod gemma3;
pub mod llama;
