//! The few facts the store reads from a model card: the `license:` key of its YAML front matter.
//! (The full card model lives in the `card` crate; this avoids a YAML dependency for one key.)

/// The top-level `license:` value of a `---`-delimited front matter block, if any.
pub fn license_from_card(text: &str) -> Option<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    for line in lines {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            break;
        }
        // Top level only: indented lines belong to another key.
        let Some(rest) = line.strip_prefix("license:") else {
            continue;
        };
        let value = rest.split(" #").next().unwrap_or("").trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'').trim();
        if value.is_empty() || value.starts_with('[') || value.starts_with('|') {
            return None;
        }
        return Some(value.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::license_from_card;

    #[test]
    fn reads_front_matter_license() {
        let card =
            "---\nlicense: gemma\ntags:\n- gemma3\nbase_model: google/gemma-3-270m\n---\n# hi\n";
        assert_eq!(license_from_card(card).as_deref(), Some("gemma"));
        assert_eq!(
            license_from_card("---\ntags: [a]\nlicense: \"apache-2.0\" # spdx\n---\n").as_deref(),
            Some("apache-2.0")
        );
    }

    #[test]
    fn ignores_body_and_nested_keys() {
        assert_eq!(license_from_card("# no front matter\nlicense: mit\n"), None);
        assert_eq!(license_from_card("---\nmeta:\n  license: mit\n---\n"), None);
        assert_eq!(
            license_from_card("---\ntags: []\n---\nlicense: mit\n"),
            None
        );
    }
}
