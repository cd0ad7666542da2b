//! What `agora pull SPEC` can name: an alias, a local path, or `pip:PACKAGE[==VERSION]`.

use std::path::{Path, PathBuf};

use crate::alias::{find_alias, Alias, ALIASES};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A `.gguf` file, or a folder (HF layout or one `.gguf`).
    Local(PathBuf),
    /// A Python package index distribution whose wheels carry the model.
    Pip {
        package: String,
        version: Option<String>,
    },
    Alias(&'static Alias),
}

impl Spec {
    pub fn parse(spec: &str) -> Result<Spec> {
        let invalid = |reason: String| StoreError::InvalidSpec {
            spec: spec.to_string(),
            reason,
        };
        let s = spec.trim();
        if s.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        if s.starts_with("hf:") || s.starts_with("hf://") || s.contains("huggingface.co") {
            return Err(StoreError::HubNotSupported {
                spec: s.to_string(),
            });
        }
        if let Some(req) = s.strip_prefix("pip:") {
            let (package, version) = parse_requirement(req).map_err(invalid)?;
            return Ok(Spec::Pip { package, version });
        }
        if s.starts_with("http://") || s.starts_with("https://") {
            return Err(invalid(
                "URLs are not supported; download the file and pull its local path".into(),
            ));
        }
        if looks_like_path(s) {
            return Ok(Spec::Local(PathBuf::from(s)));
        }
        if let Some(alias) = find_alias(s) {
            return Ok(Spec::Alias(alias));
        }
        if Path::new(s).exists() {
            return Ok(Spec::Local(PathBuf::from(s)));
        }
        let known: Vec<&str> = ALIASES.iter().map(|a| a.name).collect();
        Err(invalid(format!(
            "it is neither a known alias ({}) nor an existing file or folder; \
             use pip:PACKAGE for a Python package",
            known.join(", ")
        )))
    }

    /// The store name used when the caller gives none.
    pub fn default_name(&self) -> Result<String> {
        match self {
            Spec::Alias(a) => Ok(a.name.to_string()),
            Spec::Pip { package, .. } => Ok(normalize_dist_name(package)),
            Spec::Local(path) => {
                let named = if path.is_dir() {
                    // "." has no file name: ask the resolved path.
                    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
                    abs.file_name().map(|s| s.to_string_lossy().into_owned())
                } else {
                    path.file_stem().map(|s| s.to_string_lossy().into_owned())
                };
                named.ok_or_else(|| StoreError::InvalidName {
                    name: path.display().to_string(),
                    reason: "no name can be derived from this path; choose one with --name".into(),
                })
            }
        }
    }
}

/// A spec that can only mean a path (so a folder named like an alias is not taken by surprise).
pub fn looks_like_path(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    s.contains('/')
        || s.contains('\\')
        || s.starts_with('.')
        || s.starts_with('~')
        || lower.ends_with(".gguf")
        || lower.ends_with(".safetensors")
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_dist_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `NAME` or `NAME==VERSION`; anything else could be read by pip as an option or a URL.
fn parse_requirement(req: &str) -> std::result::Result<(String, Option<String>), String> {
    let (name, version) = match req.split_once("==") {
        Some((n, v)) => (n.trim(), Some(v.trim())),
        None => (req.trim(), None),
    };
    let name_ok = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Err(format!(
            "'{name}' is not a package name; write pip:NAME or pip:NAME==VERSION"
        ));
    }
    if let Some(v) = version {
        let ok = !v.is_empty()
            && v.starts_with(|c: char| c.is_ascii_alphanumeric())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '-' | '_'));
        if !ok {
            return Err(format!(
                "'{v}' is not a version; write pip:NAME==VERSION (only exact versions)"
            ));
        }
    }
    Ok((name.to_string(), version.map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert!(
            matches!(Spec::parse("gemma3-270m"), Ok(Spec::Alias(a)) if a.name == "gemma3-270m")
        );
        assert_eq!(
            Spec::parse("pip:Foo_Bar==1.2.3").unwrap(),
            Spec::Pip {
                package: "Foo_Bar".into(),
                version: Some("1.2.3".into())
            }
        );
        assert_eq!(
            Spec::parse("./m.gguf").unwrap(),
            Spec::Local(PathBuf::from("./m.gguf"))
        );
        assert_eq!(
            Spec::parse("m.GGUF").unwrap(),
            Spec::Local(PathBuf::from("m.GGUF"))
        );
    }

    #[test]
    fn rejects_hub_and_bad_requirements() {
        assert!(matches!(
            Spec::parse("hf:google/gemma-3-270m"),
            Err(StoreError::HubNotSupported { .. })
        ));
        for bad in [
            "pip:",
            "pip:-r",
            "pip:--index-url=x",
            "pip:a==",
            "pip:a>=1",
            "pip:a==1 ; x",
            "no-such-thing",
        ] {
            assert!(
                matches!(Spec::parse(bad), Err(StoreError::InvalidSpec { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn default_names() {
        assert_eq!(
            Spec::parse("pip:Foo_Bar.baz")
                .unwrap()
                .default_name()
                .unwrap(),
            "foo-bar-baz"
        );
        assert_eq!(
            Spec::parse("/x/y/model-q4.gguf")
                .unwrap()
                .default_name()
                .unwrap(),
            "model-q4"
        );
    }
}
