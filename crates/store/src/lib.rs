//! The local model store and `pull`.
//!
//! Models live in `$AGORA_HOME/models/<name>/` (default `~/.cache/agora`): the model file(s),
//! a `manifest.json` (hashes, sizes, format, license, source) and the upstream card `README.md`.
//! A pull assembles and verifies everything under `$AGORA_HOME/tmp/` and publishes it with a
//! single rename, under a per-name lock, so the store is never half-written.
//!
//! ```no_run
//! let store = store::Store::open_default()?;
//! let entry = store.ensure(store::DEFAULT_MODEL, &store::PullOptions::default())?;
//! println!("{}", entry.primary_path().display());
//! # Ok::<(), store::StoreError>(())
//! ```

mod alias;
mod card;
mod copy;
mod error;
mod layout;
mod local;
mod lock;
mod manifest;
mod name;
mod pip;
mod spec;
mod stage;
mod store;
mod wheel;
mod test_model;

pub use alias::{find_alias, Alias, ALIASES};
pub use card::license_from_card;
pub use copy::{hash_file, sha256_hex, Hashed};
pub use error::{Result, StoreError};
pub use lock::NameLock;
pub use manifest::{now_rfc3339, FileEntry, Format, Manifest, MANIFEST_FILE};
pub use name::validate_name;
pub use pip::python;
pub use spec::Spec;
pub use store::{ModelEntry, PullOptions, PullReport, ResolvedModel, Store};
pub use test_model::test_model_path;

/// The model `agora run` uses when none is named.
pub const DEFAULT_MODEL: &str = "gemma3-270m";
