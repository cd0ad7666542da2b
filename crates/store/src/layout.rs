//! Recognising a model folder: one `.gguf`, or the HF layout (config.json + *.safetensors + tokenizer.json).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};
use crate::manifest::{Format, MANIFEST_FILE};

pub(crate) const GGUF_MAGIC: &[u8; 4] = b"GGUF";
// Symlinked folders are followed (HF cache snapshots are links); bound the depth against loops.
const MAX_DEPTH: usize = 8;

/// Which format a folder holds and its primary file, from its relative file list.
pub(crate) fn detect(files: &[String]) -> std::result::Result<(Format, String), String> {
    let top: Vec<&str> = files
        .iter()
        .map(String::as_str)
        .filter(|f| !f.contains('/'))
        .collect();
    let gguf: Vec<&str> = top
        .iter()
        .copied()
        .filter(|f| f.to_ascii_lowercase().ends_with(".gguf"))
        .collect();
    let safetensors: Vec<&str> = top
        .iter()
        .copied()
        .filter(|f| f.ends_with(".safetensors"))
        .collect();
    if top.contains(&"config.json") && !safetensors.is_empty() {
        if !top.contains(&"tokenizer.json") {
            return Err("it has config.json and .safetensors weights but no tokenizer.json".into());
        }
        let primary = if top.contains(&"model.safetensors") {
            "model.safetensors"
        } else if top.contains(&"model.safetensors.index.json") {
            "model.safetensors.index.json"
        } else if safetensors.len() == 1 {
            safetensors[0]
        } else {
            return Err(format!(
                "it has {} .safetensors files but no model.safetensors.index.json to tie them together",
                safetensors.len()
            ));
        };
        return Ok((Format::Safetensors, primary.to_string()));
    }
    match gguf.as_slice() {
        [one] => Ok((Format::Gguf, one.to_string())),
        [] => Err("no model found: expected one .gguf file, or config.json + *.safetensors + tokenizer.json".into()),
        many => Err(format!(
            "it holds several .gguf files ({}); pull the one you want by its path",
            many.join(", ")
        )),
    }
}

/// All regular files under `root` as sorted '/'-separated relative paths, skipping hidden entries
/// and a top-level manifest.json (the store writes its own).
pub(crate) fn list_files(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    walk(root, String::new(), 0, &mut out)?;
    out.retain(|f| f != MANIFEST_FILE);
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, prefix: String, depth: usize, out: &mut Vec<String>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).ctx(|| format!("reading folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry.ctx(|| format!("reading folder {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path).ctx(|| format!("reading {}", path.display()))?;
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if meta.is_dir() {
            walk(&path, rel, depth + 1, out)?;
        } else if meta.is_file() {
            out.push(rel);
        }
    }
    Ok(())
}

pub(crate) fn rel_to_path(root: &Path, rel: &str) -> PathBuf {
    rel.split('/')
        .fold(root.to_path_buf(), |p, part| p.join(part))
}

pub(crate) fn has_gguf_magic(path: &Path) -> Result<bool> {
    let mut f = std::fs::File::open(path).ctx(|| format!("opening {}", path.display()))?;
    let mut magic = [0u8; 4];
    match f.read_exact(&mut magic) {
        Ok(()) => Ok(&magic == GGUF_MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e).ctx(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn detects_layouts() {
        assert_eq!(
            detect(&v(&["README.md", "m.gguf"])).unwrap(),
            (Format::Gguf, "m.gguf".into())
        );
        assert_eq!(
            detect(&v(&["config.json", "model.safetensors", "tokenizer.json"])).unwrap(),
            (Format::Safetensors, "model.safetensors".into())
        );
        assert_eq!(
            detect(&v(&[
                "config.json",
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors",
                "model.safetensors.index.json",
                "tokenizer.json"
            ]))
            .unwrap()
            .1,
            "model.safetensors.index.json"
        );
    }

    #[test]
    fn explains_what_is_missing() {
        let e = detect(&v(&["config.json", "model.safetensors"])).unwrap_err();
        assert!(e.contains("tokenizer.json"), "{e}");
        let e = detect(&v(&["a.gguf", "b.gguf"])).unwrap_err();
        assert!(e.contains("a.gguf, b.gguf"), "{e}");
        assert!(detect(&v(&["sub/m.gguf"])).is_err());
    }
}
