//! Hugging Face `tokenizer.json` support: encoding by the `tokenizers` crate, decoding by pieces
//! derived from the file's model and decoder settings.

use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use crate::byte_level;
use crate::eog;
use crate::error::{Result, TokenizeError};
use crate::native::parse_byte_token;
use crate::special::attr;
use crate::table::{Packed, TokenTable};
use crate::tokenizer::{Engine, Tokenizer};

pub(crate) struct HfEngine {
    tok: tokenizers::Tokenizer,
    /// A copy that spells special tokens out (`parse_special = false`), made on first use.
    literal: OnceLock<tokenizers::Tokenizer>,
}

impl std::fmt::Debug for HfEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HfEngine(vocab {})", self.tok.get_vocab_size(true))
    }
}

impl HfEngine {
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        let tok = if parse_special {
            &self.tok
        } else {
            self.literal.get_or_init(|| {
                let mut t = self.tok.clone();
                t.set_encode_special_tokens(true);
                t
            })
        };
        let enc = tok
            .encode(text, add_special)
            .map_err(|e| TokenizeError::Encode(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.tok.token_to_id(text)
    }
}

/// How the file's decoder turns token strings into text.
#[derive(Default)]
struct DecoderStyle {
    byte_level: bool,
    /// "▁" -> " " (Metaspace, or a Replace step).
    metaspace: bool,
    byte_fallback: bool,
    strip_first_space: bool,
}

fn decoder_style(json: &Value) -> DecoderStyle {
    let mut style = DecoderStyle {
        byte_fallback: json
            .pointer("/model/byte_fallback")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        ..DecoderStyle::default()
    };
    fn visit(d: &Value, s: &mut DecoderStyle) {
        match d.get("type").and_then(Value::as_str) {
            Some("Sequence") => {
                for sub in d
                    .get("decoders")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    visit(sub, s);
                }
            }
            Some("ByteLevel") => s.byte_level = true,
            Some("ByteFallback") => s.byte_fallback = true,
            Some("Metaspace") => {
                s.metaspace = true;
                let prepend = d
                    .get("prepend_scheme")
                    .and_then(Value::as_str)
                    .map(|p| p != "never");
                let legacy = d.get("add_prefix_space").and_then(Value::as_bool);
                s.strip_first_space |= prepend.or(legacy).unwrap_or(true);
            }
            Some("Replace") => {
                let pat = d.pointer("/pattern/String").and_then(Value::as_str);
                let content = d.get("content").and_then(Value::as_str);
                if pat == Some("\u{2581}") && content == Some(" ") {
                    s.metaspace = true;
                }
            }
            Some("Strip") => {
                let content = d.get("content").and_then(Value::as_str);
                let start = d.get("start").and_then(Value::as_u64).unwrap_or(0);
                if content == Some(" ") && start > 0 {
                    s.strip_first_space = true;
                }
            }
            _ => {}
        }
    }
    if let Some(d) = json.get("decoder") {
        visit(d, &mut style);
    }
    style
}

/// `"<s>"` or `{"content": "<s>", ...}` in tokenizer_config.json.
fn config_token(cfg: &Value, key: &str) -> Option<String> {
    match cfg.get(key)? {
        Value::String(s) => Some(s.clone()),
        v => v.get("content").and_then(Value::as_str).map(str::to_string),
    }
}

fn config_chat_template(cfg: &Value) -> Option<String> {
    match cfg.get("chat_template")? {
        Value::String(s) => Some(s.clone()),
        // A list of named templates: take "default".
        Value::Array(list) => list
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str) == Some("default"))
            .and_then(|t| t.get("template")?.as_str().map(str::to_string)),
        _ => None,
    }
}

const BOS_TEXTS: &[&str] = &["<bos>", "<s>", "<|begin_of_text|>", "<|startoftext|>"];
const EOS_TEXTS: &[&str] = &[
    "<eos>",
    "</s>",
    "<|end_of_text|>",
    "<|endoftext|>",
    "<|im_end|>",
];

pub(crate) fn load(path: &Path) -> Result<Tokenizer> {
    let file_err = |msg: String| TokenizeError::TokenizerFile {
        path: path.to_path_buf(),
        msg,
    };
    let raw = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
    let json: Value = serde_json::from_str(&raw).map_err(|e| file_err(e.to_string()))?;
    let tok: tokenizers::Tokenizer = raw
        .parse()
        .map_err(|e: tokenizers::Error| file_err(e.to_string()))?;
    let cfg: Option<Value> = path
        .parent()
        .map(|dir| dir.join("tokenizer_config.json"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| serde_json::from_str(&s).ok());

    let vocab = tok.get_vocab(true);
    let n = vocab.values().max().map_or(0, |&m| m as usize + 1);
    if n == 0 {
        return Err(file_err("the vocabulary is empty".into()));
    }
    let mut by_id = vec![String::new(); n];
    for (text, id) in vocab {
        by_id[id as usize] = text;
    }
    let texts = TokenTable::new(by_id.iter().map(String::as_str));

    let style = decoder_style(&json);
    let mut attrs = vec![attr::NORMAL; n];
    for (id, t) in texts.iter() {
        if style.byte_fallback && parse_byte_token(t).is_some() {
            attrs[id as usize] = attr::BYTE;
        }
    }
    for (id, added) in tok.get_added_tokens_decoder() {
        if let Some(a) = attrs.get_mut(id as usize) {
            *a = if added.special {
                attr::CONTROL
            } else {
                attr::USER_DEFINED
            };
        }
    }

    let lookup = |t: &str| tok.token_to_id(t);
    let find = |key: &str, fallback: &[&str]| {
        cfg.as_ref()
            .and_then(|c| config_token(c, key))
            .and_then(|t| lookup(&t))
            .or_else(|| fallback.iter().find_map(|t| lookup(t)))
    };
    let bos = find("bos_token", BOS_TEXTS);
    let eos = find("eos_token", EOS_TEXTS);
    let ids = eog::detect(&texts, &mut attrs, eos, None, None);

    let mut pieces = Packed::with_capacity(n, n * 8);
    for (id, t) in texts.iter() {
        let a = attrs[id as usize];
        pieces.push_with(|buf| {
            if a & (attr::SPECIAL | attr::USER_DEFINED) != 0 {
                buf.extend_from_slice(t.as_bytes());
            } else if a & attr::BYTE != 0 {
                buf.extend(parse_byte_token(t));
            } else if style.byte_level {
                byte_level::decode_into(t, buf);
            } else if style.metaspace {
                crate::native::push_unescaped(buf, t);
            } else {
                buf.extend_from_slice(t.as_bytes());
            }
        });
    }

    // What the post-processor really adds decides add_bos / add_eos.
    let engine = HfEngine {
        tok,
        literal: OnceLock::new(),
    };
    let probe = engine.encode("", true, true)?;
    let add_bos = bos.is_some() && probe.first().copied() == bos;
    let add_eos = eos.is_some() && probe.last().copied() == eos && (probe.len() > 1 || !add_bos);

    Ok(Tokenizer {
        texts,
        attrs,
        pieces,
        bos,
        eos,
        eot: ids.eot,
        eog: ids.eog,
        add_bos,
        add_eos,
        strip_first_space: style.strip_first_space,
        chat_template: cfg.as_ref().and_then(config_chat_template),
        engine: Engine::Hf(engine),
    })
}
