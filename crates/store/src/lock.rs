//! Per-name advisory locks (`locks/<name>.lock`): one pull or rm of a name at a time, across processes.
//! The OS drops the lock when the holder exits, so a crash never leaves a stale lock.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fs4::{FileExt, TryLockError};

use crate::error::{IoContext, Result, StoreError};

/// Held while a name is being written; released on drop.
#[derive(Debug)]
pub struct NameLock {
    _file: File,
    path: PathBuf,
}

impl NameLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open(path: &Path) -> Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx(|| format!("opening lock file {}", path.display()))
}

/// Take the lock or fail at once with [`StoreError::Busy`].
pub(crate) fn try_lock(name: &str, path: &Path) -> Result<NameLock> {
    let file = open(path)?;
    // Fully qualified: std's File::try_lock (Rust 1.89+) would shadow the trait method.
    match FileExt::try_lock(&file) {
        Ok(()) => Ok(NameLock {
            _file: file,
            path: path.to_path_buf(),
        }),
        Err(TryLockError::WouldBlock) => Err(StoreError::Busy {
            name: name.to_string(),
            lock: path.to_path_buf(),
        }),
        Err(TryLockError::Error(e)) => Err(e).ctx(|| format!("locking {}", path.display())),
    }
}

/// Wait for the lock.
pub(crate) fn lock(path: &Path) -> Result<NameLock> {
    let file = open(path)?;
    FileExt::lock(&file).ctx(|| format!("locking {}", path.display()))?;
    Ok(NameLock {
        _file: file,
        path: path.to_path_buf(),
    })
}
