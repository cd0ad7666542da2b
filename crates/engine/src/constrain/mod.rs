//! Output constraints for structured generation (`response_format` in the HTTP API).

pub mod json;
pub mod schema;

pub use json::JsonConstraint;
pub use schema::{Schema, SchemaError};
