//! Model cards (YAML front matter), the license knowledge base and its obligations, and signed
//! lineage records. Depends on `weights` only (GGUF metadata); no engine, server or hub.

pub mod check;
pub mod error;
pub mod kb;

pub use check::{attribution_for, check, Conflict, Question, Report, Required, Terms};
pub use error::{CardError, Result};
pub use kb::{License, Relation, Use};
pub mod card;
pub mod front;
pub mod writer;

pub use card::{check_for_push, Card, CardKind, Problem};
pub use writer::{model_card, set_model_index, ModelCardSpec, Recipe, Sections};
pub mod canonical;
pub mod inspect;
pub mod keys;
pub mod lineage;

pub use inspect::{attribution_of, inspect, Artifact};
pub use lineage::{verify, Lineage};
pub mod acceptance;
