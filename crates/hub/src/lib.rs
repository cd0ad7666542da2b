//! A self-hostable model and dataset hub that speaks the Hugging Face Hub protocol (the subset the
//! `huggingface_hub` client uses), so `HF_ENDPOINT=http://host:port` points every HF tool at it.
//!
//! Layout: `meta` (users, tokens, orgs, repos, commits: SQLite or Postgres), `blob` (content-addressed
//! files: a folder or S3),
//! `hub` (the rules over both), `server` (HTTP routes), `client` (push/pull against any
//! HF-compatible endpoint). Xet is never advertised.

pub mod blob;
pub mod card;
pub mod client;
pub mod error;
pub mod hash;
pub mod hub;
pub mod ids;
pub mod meta;
pub mod server;
pub mod time;

pub use error::{HubError, Result};
pub use hub::{Backends, Caller, Hub, Limits};
