//! Blob store: file contents addressed by sha256, stored once however many repos or revisions hold them.
//! A blob becomes visible only after its hash is verified (write to a temporary, check, then rename),
//! so a crash mid-upload never leaves a half-written blob under a real address.
//!
//! The trait is synchronous: the server calls it from blocking threads. An object-store backend
//! (S3 via `object_store`) implements it by blocking on its runtime there.

mod fs;
mod s3;

pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Location};

use std::io::Read;

use crate::error::Result;

/// What `finish` checks before the blob becomes visible.
pub struct Expect<'a> {
    pub sha256: &'a str,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Check {
    Ok,
    Missing,
    /// The bytes stored no longer hash to the address (disk corruption, tampering).
    Corrupt { actual: String, size: u64 },
}

pub trait BlobStore: Send + Sync {
    /// Starts a new blob of at most `max_size` bytes.
    fn writer(&self, max_size: u64) -> Result<Box<dyn BlobWriter>>;
    /// The size of a stored blob, or None.
    fn size(&self, sha256: &str) -> Result<Option<u64>>;
    /// Reads a blob from `offset` on.
    fn open(&self, sha256: &str, offset: u64) -> Result<Box<dyn Read + Send>>;
    /// Re-hashes a stored blob (for fsck).
    fn check(&self, sha256: &str) -> Result<Check>;
    /// Every stored blob (for fsck's orphan count).
    fn list(&self) -> Result<Vec<BlobInfo>>;
    /// Removes temporaries left by interrupted uploads; returns how many.
    fn clean_temporaries(&self) -> Result<usize>;
}

pub trait BlobWriter: Send {
    fn write(&mut self, data: &[u8]) -> Result<()>;
    fn written(&self) -> u64;
    /// Verifies the hash (and `expect`, when given), then publishes the blob under its sha256.
    fn finish(self: Box<Self>, expect: Option<Expect<'_>>) -> Result<BlobInfo>;
}

/// Stores a whole in-memory buffer.
pub fn put_bytes(store: &dyn BlobStore, data: &[u8]) -> Result<BlobInfo> {
    let mut w = store.writer(data.len() as u64)?;
    w.write(data)?;
    w.finish(None)
}
