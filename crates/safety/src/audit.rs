//! The audit log: one JSON line per guard action, appended and synced, rotated by size
//! (`audit.jsonl` -> `audit.jsonl.1` -> ... `.keep`, oldest dropped). The matched text itself is
//! never written (it may be the very personal data the guard protects): its kind, position,
//! length and sha256 are.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Result, SafetyError};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: String,
    /// The response id the client sees (`chatcmpl-…`, `cmpl-…`).
    pub id: String,
    pub model: String,
    /// `input` or `output`.
    pub stage: &'static str,
    /// `blocked` or `redacted`.
    pub action: &'static str,
    /// `pii.email`, `injection.ignore_instructions`, `blocklist`, `judge`, ...
    pub rule: String,
    /// Which request field (`messages[1]`, `prompt`, `choices[0]`).
    pub field: String,
    /// sha256 of the matched text, and its length in bytes.
    pub match_sha256: String,
    pub match_len: usize,
}

pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

struct Open {
    file: File,
    size: u64,
}

pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    open: Mutex<Option<Open>>,
}

impl AuditLog {
    /// Creates the folder and opens (appends to) the log.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> Result<Self> {
        let log = Self { path: path.to_path_buf(), max_bytes: max_bytes.max(1), keep: keep.max(1), open: Mutex::new(None) };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| log.err(e))?;
        }
        *log.open.lock().unwrap_or_else(|p| p.into_inner()) = Some(log.reopen()?);
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: std::io::Error) -> SafetyError {
        SafetyError::Audit { path: self.path.display().to_string(), source }
    }

    fn reopen(&self) -> Result<Open> {
        let file = OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| self.err(e))?;
        let size = file.metadata().map_err(|e| self.err(e))?.len();
        Ok(Open { file, size })
    }

    fn rotated(&self, n: usize) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(format!(".{n}"));
        p.into()
    }

    fn rotate(&self) -> Result<()> {
        let _ = std::fs::remove_file(self.rotated(self.keep));
        for n in (1..self.keep).rev() {
            let from = self.rotated(n);
            if from.exists() {
                std::fs::rename(&from, self.rotated(n + 1)).map_err(|e| self.err(e))?;
            }
        }
        std::fs::rename(&self.path, self.rotated(1)).map_err(|e| self.err(e))
    }

    /// Appends one record as one write, synced to disk before returning.
    pub fn append(&self, rec: &AuditRecord) -> Result<()> {
        let mut line = serde_json::to_string(rec).expect("audit records serialize");
        line.push('\n');
        let mut guard = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let needs_rotation = guard.as_ref().is_some_and(|o| o.size > 0 && o.size + line.len() as u64 > self.max_bytes);
        if needs_rotation || guard.is_none() {
            *guard = None;
            if needs_rotation {
                self.rotate()?;
            }
            *guard = Some(self.reopen()?);
        }
        let o = guard.as_mut().expect("opened above");
        o.file.write_all(line.as_bytes()).map_err(|e| self.err(e))?;
        o.file.sync_data().map_err(|e| self.err(e))?;
        o.size += line.len() as u64;
        Ok(())
    }
}

/// RFC 3339 UTC, as the model store writes its manifests.
pub use store::{now_rfc3339, rfc3339_from_unix as rfc3339};

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: usize) -> AuditRecord {
        AuditRecord {
            time: rfc3339(0),
            id: format!("req-{i}"),
            model: "m".into(),
            stage: "input",
            action: "blocked",
            rule: "blocklist".into(),
            field: "prompt".into(),
            match_sha256: sha256_hex("x"),
            match_len: 1,
        }
    }

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_999_999), "2026-11-30T00:53:19Z");
    }

    #[test]
    fn rotates_by_size_and_keeps_every_recent_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/audit.jsonl");
        let line_len = serde_json::to_string(&rec(0)).unwrap().len() as u64 + 1;
        let log = AuditLog::open(&path, line_len * 3, 2).unwrap();
        for i in 0..10 {
            log.append(&rec(i)).unwrap();
        }
        let read = |p: PathBuf| std::fs::read_to_string(p).unwrap_or_default();
        let current = read(path.clone());
        let one = read(log.rotated(1));
        let two = read(log.rotated(2));
        assert!(!log.rotated(3).exists(), "keep=2 must drop older files");
        // 10 records, 3 per file: req-9 now; 6..8 in .1; 3..5 in .2; 0..2 dropped.
        let ids = |t: &str| t.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        assert_eq!(ids(&current), vec!["req-9"]);
        assert_eq!(ids(&one), vec!["req-6", "req-7", "req-8"]);
        assert_eq!(ids(&two), vec!["req-3", "req-4", "req-5"]);
        // Reopening appends; nothing is truncated.
        drop(log);
        let log = AuditLog::open(&path, 1 << 20, 2).unwrap();
        log.append(&rec(10)).unwrap();
        assert_eq!(ids(&read(path)), vec!["req-9", "req-10"]);
    }
}
