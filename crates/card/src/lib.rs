//! Model cards (YAML front matter), the license knowledge base and its obligations, and signed
//! lineage records. Depends on `weights` only (GGUF metadata); no engine, server or hub.

pub mod check;
pub mod error;
pub mod kb;

pub use check::{attribution_for, check, Conflict, Question, Report, Required, Terms};
pub use error::{CardError, Result};
pub use kb::{License, Relation, Use};
