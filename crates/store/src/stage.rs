//! A model folder being assembled under `tmp/`: files go in, then `finalize` checks every
//! expected hash and writes the manifest. Nothing here touches `models/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::card::license_from_card;
use crate::copy::{hash_file, Hashed};
use crate::error::{IoContext, Result, StoreError};
use crate::layout::{detect, has_gguf_magic, list_files, rel_to_path};
use crate::manifest::{now_rfc3339, FileEntry, Manifest, MANIFEST_FILE, MANIFEST_SCHEMA};

pub(crate) const CARD_FILE: &str = "README.md";

/// What a file must hash to, and where that expectation came from.
#[derive(Debug, Clone)]
struct Expectation {
    file: String,
    sha256: String,
    size: Option<u64>,
}

pub(crate) struct Staging {
    pub dir: PathBuf,
    /// Hashes computed while writing, so big files are not read twice.
    known: HashMap<String, Hashed>,
    expected: Vec<Expectation>,
}

/// How a finished staging folder is described.
pub(crate) struct Finish<'a> {
    pub name: &'a str,
    pub source: String,
    /// Appended to hash-mismatch errors: what the user should do.
    pub hint: String,
    /// Checked against the primary file, whatever its name.
    pub primary_sha256: Option<&'a str>,
}

impl Staging {
    pub fn create(dir: PathBuf) -> Result<Staging> {
        std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        Ok(Staging {
            dir,
            known: HashMap::new(),
            expected: Vec::new(),
        })
    }

    pub fn path_of(&self, rel: &str) -> PathBuf {
        rel_to_path(&self.dir, rel)
    }

    pub fn record(&mut self, rel: &str, hashed: Hashed) {
        self.known.insert(rel.to_string(), hashed);
    }

    pub fn expect(&mut self, file: &str, sha256: &str, size: Option<u64>) {
        self.expected.push(Expectation {
            file: file.to_string(),
            sha256: sha256.to_ascii_lowercase(),
            size,
        });
    }

    /// Check the folder and write its manifest; any error leaves `models/` untouched.
    pub fn finalize(
        mut self,
        fin: Finish<'_>,
        bad: impl Fn(String) -> StoreError,
    ) -> Result<Manifest> {
        let files = list_files(&self.dir)?;
        let (format, primary) = detect(&files).map_err(&bad)?;
        if let Some(sha) = fin.primary_sha256 {
            self.expect(&primary, sha, None);
        }

        let mut entries = Vec::with_capacity(files.len());
        for rel in &files {
            let hashed = match self.known.remove(rel) {
                Some(h) => h,
                None => hash_file(&self.path_of(rel))?,
            };
            entries.push(FileEntry {
                path: rel.clone(),
                size: hashed.size,
                sha256: hashed.sha256,
            });
        }

        for exp in &self.expected {
            let Some(entry) = entries.iter().find(|e| e.path == exp.file) else {
                return Err(bad(format!("the expected file {} is missing", exp.file)));
            };
            if entry.sha256 != exp.sha256 {
                return Err(StoreError::Sha256Mismatch {
                    file: exp.file.clone(),
                    expected: exp.sha256.clone(),
                    actual: entry.sha256.clone(),
                    hint: fin.hint.clone(),
                });
            }
            if let Some(size) = exp.size.filter(|&s| s != entry.size) {
                return Err(StoreError::SizeMismatch {
                    file: exp.file.clone(),
                    expected: size,
                    actual: entry.size,
                    hint: fin.hint.clone(),
                });
            }
        }

        if format == crate::Format::Gguf && !has_gguf_magic(&self.path_of(&primary))? {
            return Err(bad(format!(
                "{primary} does not start with the GGUF magic bytes"
            )));
        }

        let card = files
            .iter()
            .any(|f| f == CARD_FILE)
            .then(|| CARD_FILE.to_string());
        let license = match &card {
            Some(c) => read_card(&self.path_of(c)).and_then(|t| license_from_card(&t)),
            None => None,
        };
        let manifest = Manifest {
            schema: MANIFEST_SCHEMA,
            name: fin.name.to_string(),
            source: fin.source,
            format,
            primary,
            total_size: entries.iter().map(|e| e.size).sum(),
            files: entries,
            license,
            card,
            created: now_rfc3339(),
        };
        manifest.write(&self.dir.join(MANIFEST_FILE))?;
        Ok(manifest)
    }
}

// A card that is not UTF-8 just yields no license: it is still kept as a file.
fn read_card(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}
