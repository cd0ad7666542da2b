//! Names and paths that reach the store: every one is checked here, once, before any use.
//! Paths inside a repo never escape it (`..`, `.`, absolute, backslashes, control characters refused).

use crate::error::{HubError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoType {
    Model,
    Dataset,
}

impl RepoType {
    pub fn as_str(self) -> &'static str {
        match self {
            RepoType::Model => "model",
            RepoType::Dataset => "dataset",
        }
    }

    /// The URL segment: `/api/models/...`, `/api/datasets/...`.
    pub fn plural(self) -> &'static str {
        match self {
            RepoType::Model => "models",
            RepoType::Dataset => "datasets",
        }
    }

    pub fn parse(s: &str) -> Result<RepoType> {
        match s {
            "model" | "models" => Ok(RepoType::Model),
            "dataset" | "datasets" => Ok(RepoType::Dataset),
            "space" | "spaces" => Err(HubError::BadRequest("this hub serves models and datasets; Spaces are not supported".into())),
            other => Err(HubError::BadRequest(format!("unknown repo type '{other}': use 'model' or 'dataset'"))),
        }
    }
}

/// Names that would collide with the URL layout (`/api/...`, `/datasets/...`).
const RESERVED: &[&str] = &["api", "datasets", "models", "spaces", "settings", "login", "logout", "join", "new", "static", "docs", "organizations", "users"];

/// A user or organization name.
pub fn check_namespace(name: &str) -> Result<()> {
    check_simple(name, "user or organization name", 42)?;
    if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(HubError::BadRequest(format!("'{name}' is reserved by the hub's URL layout; pick another name")));
    }
    Ok(())
}

/// A repository name (the part after `namespace/`).
pub fn check_repo_name(name: &str) -> Result<()> {
    check_simple(name, "repository name", 96)?;
    if name.ends_with(".git") {
        return Err(HubError::BadRequest(format!("repository name '{name}' must not end with .git")));
    }
    Ok(())
}

fn check_simple(name: &str, what: &str, max: usize) -> Result<()> {
    let ok_chars = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    let first_ok = name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > max || !ok_chars || !first_ok || name.contains("..") || name.contains("--") {
        return Err(HubError::BadRequest(format!(
            "invalid {what} '{}': use 1-{max} letters, digits, '-', '_' or '.', starting with a letter or digit, without '..' or '--'",
            name.escape_default()
        )));
    }
    Ok(())
}

/// A file path inside a repository: relative, `/`-separated, no empty, `.` or `..` segments.
pub fn check_repo_path(path: &str) -> Result<()> {
    let bad = |why: &str| Err(HubError::BadRequest(format!("invalid path in repo '{}': {why}", path.escape_default())));
    if path.is_empty() {
        return bad("empty");
    }
    if path.len() > 1024 {
        return bad("longer than 1024 bytes");
    }
    if path.starts_with('/') {
        return bad("absolute paths are not allowed");
    }
    if path.contains('\\') {
        return bad("backslashes are not allowed");
    }
    if path.chars().any(|c| c.is_control()) {
        return bad("control characters are not allowed");
    }
    for seg in path.split('/') {
        match seg {
            "" => return bad("empty path segment"),
            "." | ".." => return bad("'.' and '..' segments are not allowed"),
            _ => {}
        }
    }
    if path == ".git" || path.starts_with(".git/") {
        return bad("the .git folder is reserved");
    }
    Ok(())
}

/// A branch or tag name (git refname rules, simplified).
pub fn check_ref_name(name: &str) -> Result<()> {
    let bad = |why: &str| Err(HubError::BadRequest(format!("invalid branch or tag name '{}': {why}", name.escape_default())));
    if name.is_empty() || name.len() > 255 {
        return bad("must be 1-255 characters");
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(c)) {
        return bad("spaces, control characters and ~^:?*[\\ are not allowed");
    }
    if name.starts_with('/') || name.ends_with('/') || name.ends_with('.') || name.ends_with(".lock") || name.contains("//") {
        return bad("must not start or end with '/', end with '.' or '.lock', or contain '//'");
    }
    if name.split('/').any(|s| s == "." || s == ".." || s.starts_with('.')) || name.contains("..") || name.contains("@{") {
        return bad("'..', '@{' and segments starting with '.' are not allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_paths_are_refused() {
        for p in ["../etc/passwd", "a/../../b", "/abs", "a//b", "./a", "a/.", "a\\..\\b", "a\0b", "", ".git/config", "x/.."] {
            assert!(check_repo_path(p).is_err(), "{p:?} accepted");
        }
        for p in ["README.md", "a/b/c.safetensors", ".gitattributes", "dir/.hidden", "a..b"] {
            assert!(check_repo_path(p).is_ok(), "{p:?} refused");
        }
    }

    #[test]
    fn names() {
        assert!(check_namespace("alice").is_ok());
        assert!(check_namespace("api").is_err());
        assert!(check_namespace("../x").is_err());
        assert!(check_repo_name("my-model.v2").is_ok());
        assert!(check_repo_name("x.git").is_err());
        assert!(check_repo_name("..").is_err());
        assert!(check_ref_name("main").is_ok());
        assert!(check_ref_name("feature/x").is_ok());
        assert!(check_ref_name("../main").is_err());
        assert!(check_ref_name("a..b").is_err());
    }
}
