//! Splitting a Markdown card into YAML front matter and body, and writing it back atomically.

use std::path::Path;

use crate::error::{io, CardError, Result};

/// (front matter YAML, body). A card without `---` front matter has empty YAML.
pub fn split(text: &str) -> (&str, &str) {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t.strip_prefix("---\n").or_else(|| t.strip_prefix("---\r\n")) else {
        return ("", t);
    };
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        let l = line.trim_end();
        if l == "---" || l == "..." {
            return (&rest[..pos], &rest[pos + line.len()..]);
        }
        pos += line.len();
    }
    ("", t)
}

/// Joins front matter and body into a card.
pub fn join(yaml: &str, body: &str) -> String {
    let mut s = String::from("---\n");
    s += yaml.trim_end();
    s += "\n---\n";
    if !body.starts_with('\n') {
        s.push('\n');
    }
    s += body;
    s
}

/// Writes `text` to `path` via a temp file in the same folder and a rename.
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CardError::Io { path: path.display().to_string(), source: e }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_joins() {
        let (y, b) = split("---\nlicense: mit\n---\n# T\nbody\n");
        assert_eq!(y, "license: mit\n");
        assert_eq!(b, "# T\nbody\n");
        assert_eq!(split("# no front\n"), ("", "# no front\n"));
        assert_eq!(join("license: mit\n", "# T\n"), "---\nlicense: mit\n---\n\n# T\n");
    }
}
