//! Regex pre-tokenizers for byte-level BPE, chosen by `tokenizer.ggml.pre`.
//!
//! The patterns are the ones in the models' own tokenizer.json files (Oniguruma syntax, the engine
//! Hugging Face `tokenizers` uses), so words split exactly as the reference tokenizer splits them.
//! When a family needs several patterns, they are applied one after another, each splitting the
//! pieces the previous one produced; text between matches is kept as its own piece.

use crate::error::{Result, TokenizeError};
use tokenizers::utils::SysRegex;

/// GPT-2's pattern, as in `tokenizers`' ByteLevel pre-tokenizer.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// GPT-2's pattern without the final `\s+` (llama.cpp's falcon/starcoder/default lists).
const GPT2_NO_WS: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
/// Llama 3 (tiktoken cl100k style): digits in groups of up to three.
const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen 2: as Llama 3 but one digit per piece.
const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The `tokenizer.ggml.pre` name llama.cpp gives a tokenizer.json whose single split regex is `re`.
pub fn name_of_regex(re: &str) -> Option<&'static str> {
    match re {
        LLAMA3 => Some("llama-bpe"),
        QWEN2 => Some("qwen2"),
        GPT2 => Some("gpt-2"),
        _ => None,
    }
}

/// The `tokenizer.ggml.pre` names this crate understands (for error messages).
pub const KNOWN_PRE: &[&str] = &[
    "default",
    "gpt-2",
    "gpt2",
    "phi-2",
    "mpt",
    "olmo",
    "jina-es",
    "jina-de",
    "jina-v1-en",
    "jina-v2-es",
    "jina-v2-de",
    "jina-v2-code",
    "roberta-bpe",
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "pixtral",
    "dbrx",
    "smaug-bpe",
    "qwen2",
    "deepseek-r1-qwen",
    "stablelm2",
    "falcon",
    "starcoder",
    "refact",
    "command-r",
    "smollm",
    "codeshell",
    "exaone",
];

const LLAMA3_FAMILY: &[&str] = &[
    "llama3",
    "llama-v3",
    "llama-bpe",
    "falcon3",
    "pixtral",
    "dbrx",
    "smaug-bpe",
];

/// Llama 3 style vocabularies: BOS added by default and whole words looked up before merging.
pub fn is_llama3_family(pre: &str) -> bool {
    LLAMA3_FAMILY.contains(&pre)
}

pub struct PreTokenizer {
    regexes: Vec<SysRegex>,
}

impl std::fmt::Debug for PreTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PreTokenizer({} patterns)", self.regexes.len())
    }
}

impl PreTokenizer {
    /// The pre-tokenizer for `tokenizer.ggml.pre`; a missing name means llama.cpp's "default".
    pub fn for_pre(pre: Option<&str>) -> Result<Self> {
        let patterns: &[&str] = match pre.unwrap_or("default") {
            "default" => &[
                r"[\p{P}\$\+<=>\^~\|]+",
                GPT2_NO_WS,
                r"\p{N}+",
                "[0-9][0-9][0-9]",
            ],
            "gpt-2" | "gpt2" | "phi-2" | "mpt" | "olmo" | "jina-es" | "jina-de" | "jina-v1-en"
            | "jina-v2-es" | "jina-v2-de" | "jina-v2-code" | "roberta-bpe" => &[GPT2],
            p if is_llama3_family(p) => &[LLAMA3],
            "qwen2" | "deepseek-r1-qwen" | "stablelm2" => &[QWEN2],
            "falcon" => &[r"[\p{P}\$\+<=>\^~\|`]+", GPT2_NO_WS, "[0-9][0-9][0-9]"],
            "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" => {
                &[r"\p{N}", GPT2_NO_WS]
            }
            other => return Err(TokenizeError::UnknownPreTokenizer(other.to_string())),
        };
        Self::from_patterns(patterns)
    }

    pub fn from_patterns(patterns: &[&str]) -> Result<Self> {
        let regexes = patterns
            .iter()
            .map(|p| {
                SysRegex::new(p)
                    .map_err(|e| TokenizeError::BadVocab(format!("pre-tokenizer regex {p:?}: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { regexes })
    }

    /// Splits `text` into pieces (byte ranges into `text`), covering it completely, in order.
    pub fn split(&self, text: &str) -> Vec<(usize, usize)> {
        let mut pieces = vec![(0, text.len())];
        for re in &self.regexes {
            let mut next = Vec::with_capacity(pieces.len() * 2);
            for &(start, end) in &pieces {
                let piece = &text[start..end];
                let mut prev = 0;
                for (s, e) in re.find_iter(piece) {
                    if s == e {
                        continue; // an empty match splits nothing
                    }
                    if s > prev {
                        next.push((start + prev, start + s));
                    }
                    next.push((start + s, start + e));
                    prev = e;
                }
                if prev < piece.len() {
                    next.push((start + prev, end));
                }
            }
            pieces = next;
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(pre: &str, text: &str) -> Vec<String> {
        let p = PreTokenizer::for_pre(Some(pre)).unwrap();
        p.split(text)
            .into_iter()
            .map(|(s, e)| text[s..e].to_string())
            .collect()
    }

    #[test]
    fn gpt2_splits_contractions_and_spaces() {
        assert_eq!(
            words("gpt2", "don't  stop 123"),
            ["don", "'t", " ", " stop", " 123"]
        );
    }

    #[test]
    fn llama3_groups_digits_by_three() {
        assert_eq!(words("llama-bpe", "12345 abc"), ["123", "45", " abc"]);
    }

    #[test]
    fn qwen2_splits_every_digit() {
        assert_eq!(words("qwen2", "x 123"), ["x", " ", "1", "2", "3"]);
    }

    #[test]
    fn unknown_pre_is_an_error_naming_it() {
        let err = PreTokenizer::for_pre(Some("klingon"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("klingon"), "{err}");
    }
}
