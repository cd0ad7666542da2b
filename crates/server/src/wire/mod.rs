//! OpenAI wire types: exactly what goes over HTTP, nothing engine-specific.

pub mod chat;
pub mod common;
pub mod completions;
pub mod embeddings;
