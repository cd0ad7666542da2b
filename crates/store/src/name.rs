//! Model names are folder names under `models/`: keep them portable and unable to escape it.

use crate::error::{Result, StoreError};

const MAX_LEN: usize = 100;

// Names Windows refuses as file names, whatever the extension.
const RESERVED: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// Accepts `[A-Za-z0-9][A-Za-z0-9._-]*`, at most 100 characters, no `..`.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(StoreError::InvalidName {
            name: name.to_string(),
            reason: format!(
                "{reason}; use letters, digits, '.', '_' and '-', starting with a letter or digit"
            ),
        })
    };
    if name.is_empty() {
        return bad("the name is empty");
    }
    if name.len() > MAX_LEN {
        return bad(&format!("it is longer than {MAX_LEN} characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return bad("it must start with a letter or digit");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return bad(&format!("it contains {c:?}"));
    }
    if name.contains("..") {
        return bad("it contains '..'");
    }
    if name.ends_with('.') {
        return bad("it ends with '.'");
    }
    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
    if RESERVED.contains(&stem.as_str()) {
        return bad("it is a reserved device name on Windows");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_name;

    #[test]
    fn accepts_ordinary_names() {
        for n in [
            "gemma3-270m",
            "Llama-3.2-1B",
            "a",
            "x_y.z-1",
            "gemma-3-270m-q4_k_m",
        ] {
            assert!(validate_name(n).is_ok(), "{n}");
        }
    }

    #[test]
    fn rejects_escapes_and_odd_characters() {
        let long = "a".repeat(101);
        for n in [
            "", "..", "../x", "a/b", "a\\b", ".hidden", "-flag", "a..b", "a b", "a:b", "é", "x.",
            "con", "NUL.txt", &long,
        ] {
            assert!(validate_name(n).is_err(), "{n:?} should be rejected");
        }
    }

    #[test]
    fn message_names_the_problem() {
        let e = validate_name("a/b").unwrap_err().to_string();
        assert!(e.contains("'a/b'") && e.contains("'/'"), "{e}");
    }
}
