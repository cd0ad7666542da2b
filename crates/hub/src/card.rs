//! Model and dataset cards: the YAML front matter of README.md, parsed and checked on every commit.
//! Invalid metadata is refused with a message naming the field.

use serde_json::Value;

use crate::error::{HubError, Result};

/// License identifiers the Hub knows (`license:` in a card); `other` needs `license_name`.
const LICENSES: &[&str] = &[
    "apache-2.0", "mit", "openrail", "openrail++", "bigscience-openrail-m", "creativeml-openrail-m", "bigscience-bloom-rail-1.0",
    "bigcode-openrail-m", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear", "c-uda",
    "cc", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0", "cc-by-nc-2.0",
    "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0",
    "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0",
    "eupl-1.1", "eupl-1.2", "agpl-3.0", "gfdl", "gpl", "gpl-2.0", "gpl-3.0", "lgpl", "lgpl-2.1", "lgpl-3.0", "isc", "lppl-1.3c",
    "ms-pl", "mpl-2.0", "odc-by", "odbl", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl", "lgpl-lr",
    "deepfloyd-if-license", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3", "llama4", "gemma", "unknown", "other",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// The front matter as JSON (served as `cardData`).
    pub data: Value,
    /// Tags the card gives the repo (for `filter=` in listings).
    pub tags: Vec<String>,
}

/// The YAML text between the leading `---` lines, if any.
fn front_matter(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n"))?;
    let mut pos = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some(&rest[..pos]);
        }
        pos += line.len();
    }
    None
}

/// Parses and checks a README. `Ok(None)`: no metadata block.
pub fn parse(readme: &str) -> Result<Option<Card>> {
    let Some(yaml) = front_matter(readme) else {
        return Ok(None);
    };
    let bad = |m: String| HubError::BadRequest(format!("Invalid metadata in README.md: {m}"));
    let value: serde_yaml::Value = serde_yaml::from_str(yaml).map_err(|e| bad(format!("the YAML does not parse: {e}")))?;
    let data: Value = match value {
        serde_yaml::Value::Null => return Ok(None),
        v @ serde_yaml::Value::Mapping(_) => serde_json::to_value(v).map_err(|e| bad(format!("cannot be represented as JSON: {e}")))?,
        _ => return Err(bad("the front matter must be a mapping of keys to values".into())),
    };
    let mut tags = Vec::new();
    if let Some(l) = data.get("license") {
        let ids: Vec<&Value> = match l {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        for id in ids {
            let Some(s) = id.as_str() else {
                return Err(bad("\"license\" must be a license identifier such as apache-2.0".into()));
            };
            if !LICENSES.contains(&s) {
                return Err(bad(format!("\"license\" '{s}' is not a known license identifier; use one of the Hub's ids (e.g. apache-2.0, mit) or 'other' with license_name")));
            }
            if s == "other" && data.get("license_name").and_then(Value::as_str).is_none() {
                return Err(bad("\"license\" is 'other' but \"license_name\" is missing".into()));
            }
            tags.push(format!("license:{s}"));
        }
    }
    if let Some(b) = data.get("base_model") {
        let ids: Vec<&Value> = match b {
            Value::Array(a) => a.iter().collect(),
            v => vec![v],
        };
        for id in ids {
            match id.as_str() {
                Some(s) if well_formed_repo_id(s) => tags.push(format!("base_model:{s}")),
                _ => return Err(bad(format!("\"base_model\" {id} is not a repo id like 'org/model'"))),
            }
        }
    }
    for key in ["tags", "datasets", "language"] {
        match data.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => tags.push(prefixed(key, s)),
            Some(Value::Array(a)) => {
                for t in a {
                    let Some(s) = t.as_str() else {
                        return Err(bad(format!("\"{key}\" must be a list of strings")));
                    };
                    tags.push(prefixed(key, s));
                }
            }
            Some(_) => return Err(bad(format!("\"{key}\" must be a string or a list of strings"))),
        }
    }
    for key in ["library_name", "pipeline_tag"] {
        match data.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => tags.push(s.clone()),
            Some(_) => return Err(bad(format!("\"{key}\" must be a string"))),
        }
    }
    tags.sort();
    tags.dedup();
    Ok(Some(Card { data, tags }))
}

fn prefixed(key: &str, s: &str) -> String {
    match key {
        "datasets" => format!("dataset:{s}"),
        _ => s.to_string(),
    }
}

/// `name` or `namespace/name`, each part as the hub accepts names.
fn well_formed_repo_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    let part_ok = |p: &str| !p.is_empty() && p.len() <= 96 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) && !p.contains("..") && !p.starts_with(['.', '-']);
    (parts.len() == 1 || parts.len() == 2) && parts.iter().all(|p| part_ok(p))
}

/// The card's license identifier (first one), for recording which terms a user accepted.
pub fn license(card_json: Option<&str>) -> Option<String> {
    let v: Value = serde_json::from_str(card_json?).ok()?;
    match v.get("license")? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => a.first()?.as_str().map(String::from),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_front_matter() {
        let c = parse("---\nlicense: apache-2.0\nbase_model: google/gemma-3-270m\ntags: [text-generation, gguf]\n---\n# Hello\n").unwrap().unwrap();
        assert_eq!(c.data["license"], "apache-2.0");
        assert!(c.tags.contains(&"license:apache-2.0".to_string()));
        assert!(c.tags.contains(&"base_model:google/gemma-3-270m".to_string()));
        assert!(c.tags.contains(&"gguf".to_string()));
        assert_eq!(parse("# no metadata\n").unwrap(), None);
        assert_eq!(parse("---\n---\ntext").unwrap(), None);
    }

    #[test]
    fn refuses_bad_fields_by_name() {
        let e = parse("---\nlicense: not-a-license\n---\n").unwrap_err().to_string();
        assert!(e.contains("\"license\"") && e.contains("not-a-license"), "{e}");
        let e = parse("---\nbase_model: ../../etc\n---\n").unwrap_err().to_string();
        assert!(e.contains("\"base_model\""), "{e}");
        let e = parse("---\nlicense: other\n---\n").unwrap_err().to_string();
        assert!(e.contains("license_name"), "{e}");
        let e = parse("---\nlicense: [unclosed\n---\n").unwrap_err().to_string();
        assert!(e.contains("YAML"), "{e}");
        let e = parse("---\n- a list\n---\n").unwrap_err().to_string();
        assert!(e.contains("mapping"), "{e}");
    }
}
