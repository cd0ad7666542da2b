//! A Hugging Face folder's tokenizer as GGUF metadata (`tokenizer.ggml.*`, `tokenizer.chat_template`),
//! with the keys and values llama.cpp's converter writes, so a converted file tokenizes the same
//! everywhere:
//! - SentencePiece models (Gemma, Phi-3, Llama 2 with `tokenizer.model`): model "llama", the pieces,
//!   scores and types of `tokenizer.model`, added tokens from tokenizer_config.json on top;
//! - byte-level BPE (Llama 3, Qwen, Falcon...): model "gpt2", vocabulary and merges of tokenizer.json,
//!   `pre` named by the pre-tokenizer regex the file uses;
//! - special token ids, add-BOS/EOS/SEP flags (from the post-processor, then tokenizer_config.json),
//!   and the chat template.

mod sp_model;

use std::path::Path;

use serde_json::Value;
use weights::{MetaArray, MetaValue};

use crate::error::{Result, TokenizeError};
use crate::vocab::token_type as tt;

pub use sp_model::Piece;

/// Ordered `(key, value)` pairs to write into a GGUF.
pub type Entries = Vec<(String, MetaValue)>;

/// Families whose llama.cpp converter reads `tokenizer.model` (SentencePiece) when it is there.
fn uses_sentencepiece(arch: &str) -> bool {
    matches!(arch, "llama" | "gemma" | "gemma2" | "gemma3" | "phi3")
}

/// The tokenizer of the folder `dir` as GGUF metadata, for a model of `n_vocab` embedding rows.
pub fn hf_tokenizer_metadata(dir: &Path, arch: &str, n_vocab: usize) -> Result<Entries> {
    let tok_json = read_json(&dir.join("tokenizer.json"))?;
    let cfg = read_json(&dir.join("tokenizer_config.json"))?.unwrap_or(Value::Null);
    let sp_path = dir.join("tokenizer.model");
    let gpt2_class = cfg.get("tokenizer_class").and_then(Value::as_str) == Some("GPT2Tokenizer");
    let mut out = Entries::new();
    let spm = uses_sentencepiece(arch) && sp_path.is_file() && !gpt2_class;
    if spm {
        let bytes = std::fs::read(&sp_path).map_err(|e| file_err(&sp_path, e.to_string()))?;
        let (tokens, scores, types) = spm_vocab(&sp_model::parse(&bytes)?, n_vocab, arch, &cfg, tok_json.as_ref());
        out.push(("tokenizer.ggml.model".into(), "llama".into()));
        out.push(("tokenizer.ggml.pre".into(), "default".into()));
        out.push(("tokenizer.ggml.tokens".into(), MetaValue::Array(MetaArray::String(tokens))));
        out.push(("tokenizer.ggml.scores".into(), scores.into()));
        out.push(("tokenizer.ggml.token_type".into(), types.into()));
    } else {
        if matches!(arch, "gemma" | "gemma2" | "gemma3") {
            return Err(file_err(&sp_path, "Gemma models need their SentencePiece tokenizer.model; copy it from the original model".into()));
        }
        let json = tok_json.as_ref().ok_or_else(|| file_err(&dir.join("tokenizer.json"), "missing; the folder needs the model's tokenizer.json".into()))?;
        let (tokens, types) = bpe_vocab(json, n_vocab)?;
        out.push(("tokenizer.ggml.model".into(), "gpt2".into()));
        out.push(("tokenizer.ggml.pre".into(), pre_name(json)?.into()));
        out.push(("tokenizer.ggml.tokens".into(), MetaValue::Array(MetaArray::String(tokens))));
        out.push(("tokenizer.ggml.token_type".into(), types.into()));
        out.push(("tokenizer.ggml.merges".into(), MetaValue::Array(MetaArray::String(merges(json)?))));
    }
    let config = read_json(&dir.join("config.json"))?.unwrap_or(Value::Null);
    special_tokens(&mut out, tok_json.as_ref(), &cfg, &config, n_vocab);
    if let Some(t) = chat_template(dir, &cfg)? {
        out.push(("tokenizer.chat_template".into(), t.into()));
    }
    // llama.cpp writes "no dummy prefix" for Gemma only; a SentencePiece tokenizer.json that adds
    // none (no Prepend normalizer, no prefixing Metaspace) gets it too, so the file tokenizes as
    // transformers does (llama.cpp's loader would otherwise prefix a space).
    let gemma = matches!(arch, "gemma" | "gemma2" | "gemma3");
    if spm && (gemma || tok_json.as_ref().is_some_and(|j| !adds_dummy_prefix(j))) {
        out.push(("tokenizer.ggml.add_space_prefix".into(), false.into()));
    }
    Ok(out)
}

/// Whether tokenizer.json puts U+2581 before the text: a Prepend normalizer, or a Metaspace
/// pre-tokenizer with prepend_scheme other than "never" (or the legacy add_prefix_space).
fn adds_dummy_prefix(json: &Value) -> bool {
    fn any(v: &Value, f: &dyn Fn(&Value) -> bool) -> bool {
        f(v) || ["normalizers", "pretokenizers"].iter().any(|k| v.get(*k).and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| any(x, f))))
    }
    let prepend = |v: &Value| v.get("type").and_then(Value::as_str) == Some("Prepend");
    let metaspace = |v: &Value| {
        v.get("type").and_then(Value::as_str) == Some("Metaspace")
            && match v.get("prepend_scheme").and_then(Value::as_str) {
                Some(s) => s != "never",
                None => v.get("add_prefix_space").and_then(Value::as_bool).unwrap_or(true),
            }
    };
    json.get("normalizer").is_some_and(|n| any(n, &prepend)) || json.get("pre_tokenizer").is_some_and(|p| any(p, &metaspace))
}

fn file_err(path: &Path, msg: String) -> TokenizeError {
    TokenizeError::TokenizerFile { path: path.to_path_buf(), msg }
}

/// A JSON file, or None when it does not exist.
fn read_json(path: &Path) -> Result<Option<Value>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e.to_string()))?;
    serde_json::from_str(&text).map(Some).map_err(|e| file_err(path, format!("invalid JSON: {e}")))
}

/// llama.cpp treats these added tokens as control tokens even when not marked special.
fn looks_special(t: &str) -> bool {
    matches!(t, "<pad>" | "<mask>" | "<2mass>" | "[@BOS@]")
        || (t.starts_with("<unused") && t.ends_with('>'))
        || (t.starts_with("<|") && t.ends_with("|>") && t.len() > 4)
        || (t.starts_with("<\u{ff5c}") && t.ends_with("\u{ff5c}>"))
}

fn added_tokens(json: Option<&Value>) -> Vec<&Value> {
    json.and_then(|j| j.get("added_tokens")).and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default()
}

fn spm_vocab(pieces: &[Piece], n_vocab: usize, arch: &str, cfg: &Value, json: Option<&Value>) -> (Vec<String>, Vec<f32>, Vec<i32>) {
    let n = n_vocab.max(1);
    let mut tokens: Vec<String> = (0..n).map(|i| format!("[PAD{i}]")).collect();
    let mut scores = vec![-10000.0f32; n];
    let mut types = vec![tt::UNUSED; n];
    for (i, p) in pieces.iter().enumerate().take(n) {
        tokens[i] = p.text.clone();
        scores[i] = p.score;
        types[i] = p.kind;
    }
    let mut set = |id: usize, text: &str, special: bool, always_special: bool| {
        if id >= n {
            return;
        }
        let control = special || (always_special && looks_special(text));
        tokens[id] = if control { text.to_string() } else { text.replace('\u{2581}', " ") };
        scores[id] = -1000.0;
        types[id] = if control { tt::CONTROL } else { tt::USER_DEFINED };
    };
    if let Some(dec) = cfg.get("added_tokens_decoder").and_then(Value::as_object) {
        for (id, t) in dec {
            if let (Ok(id), Some(text)) = (id.parse::<usize>(), t.get("content").and_then(Value::as_str)) {
                let special = t.get("special").and_then(Value::as_bool).unwrap_or(false);
                set(id, text, special, true);
            }
        }
    }
    // Phi-3's converter also takes tokenizer.json's added tokens.
    if arch == "phi3" {
        for t in added_tokens(json) {
            if let (Some(id), Some(text)) = (t.get("id").and_then(Value::as_u64), t.get("content").and_then(Value::as_str)) {
                let special = t.get("special").and_then(Value::as_bool).unwrap_or(false);
                set(id as usize, text, special, false);
            }
        }
    }
    (tokens, scores, types)
}

fn bpe_vocab(json: &Value, n_vocab: usize) -> Result<(Vec<String>, Vec<i32>)> {
    let model = json.get("model").ok_or_else(|| TokenizeError::BadVocab("tokenizer.json has no \"model\"".into()))?;
    let kind = model.get("type").and_then(Value::as_str).unwrap_or("BPE");
    if kind != "BPE" {
        return Err(TokenizeError::BadVocab(format!("tokenizer.json holds a {kind} model; only BPE tokenizers (or SentencePiece with tokenizer.model) convert")));
    }
    let vocab = model.get("vocab").and_then(Value::as_object).ok_or_else(|| TokenizeError::BadVocab("tokenizer.json has no model.vocab".into()))?;
    let mut by_id: Vec<Option<(String, i32)>> = Vec::new();
    let mut put = |id: usize, text: &str, ty: i32| {
        if by_id.len() <= id {
            by_id.resize(id + 1, None);
        }
        by_id[id] = Some((text.to_string(), ty));
    };
    for (text, id) in vocab {
        if let Some(id) = id.as_u64() {
            put(id as usize, text, tt::NORMAL);
        }
    }
    for t in added_tokens(Some(json)) {
        if let (Some(id), Some(text)) = (t.get("id").and_then(Value::as_u64), t.get("content").and_then(Value::as_str)) {
            let special = t.get("special").and_then(Value::as_bool).unwrap_or(false);
            if special || looks_special(text) {
                put(id as usize, text, tt::CONTROL);
            } else {
                put(id as usize, &text.replace('\u{2581}', " "), tt::USER_DEFINED);
            }
        }
    }
    if by_id.len() > n_vocab {
        return Err(TokenizeError::BadVocab(format!(
            "tokenizer.json has token id {} but the model's vocabulary (vocab_size) has {n_vocab} rows",
            by_id.len() - 1
        )));
    }
    by_id.resize(n_vocab, None);
    Ok(by_id
        .into_iter()
        .enumerate()
        .map(|(i, t)| t.unwrap_or_else(|| (format!("[PAD{i}]"), tt::UNUSED)))
        .unzip())
}

/// Merges as "left right"; the list-of-pairs form (transformers >= 4.45) has spaces inside a part
/// written as U+0120 + 256, as llama.cpp does.
fn merges(json: &Value) -> Result<Vec<String>> {
    let list = json.pointer("/model/merges").and_then(Value::as_array).cloned().unwrap_or_default();
    list.iter()
        .map(|m| match m {
            Value::String(s) => Ok(s.clone()),
            Value::Array(pair) if pair.len() == 2 => {
                let part = |v: &Value| v.as_str().map(|s| s.chars().map(|c| if c == ' ' { '\u{0120}' } else { c }).collect::<String>());
                match (part(&pair[0]), part(&pair[1])) {
                    (Some(a), Some(b)) => Ok(format!("{a} {b}")),
                    _ => Err(TokenizeError::BadVocab("a merge in tokenizer.json is not a pair of strings".into())),
                }
            }
            _ => Err(TokenizeError::BadVocab("unknown merges format in tokenizer.json".into())),
        })
        .collect()
}

/// `tokenizer.ggml.pre` from the pre-tokenizer's split regex (llama.cpp hashes a sample
/// tokenization instead; the regex identifies the same families).
fn pre_name(json: &Value) -> Result<&'static str> {
    let mut regexes = Vec::new();
    let mut byte_level_regex = false;
    fn visit<'a>(v: &'a Value, regexes: &mut Vec<&'a str>, bl: &mut bool) {
        match v.get("type").and_then(Value::as_str) {
            Some("Sequence") => {
                for p in v.get("pretokenizers").and_then(Value::as_array).into_iter().flatten() {
                    visit(p, regexes, bl);
                }
            }
            Some("Split") => {
                if let Some(r) = v.pointer("/pattern/Regex").and_then(Value::as_str) {
                    regexes.push(r);
                }
            }
            Some("ByteLevel") => *bl |= v.get("use_regex").and_then(Value::as_bool).unwrap_or(true),
            _ => {}
        }
    }
    if let Some(p) = json.get("pre_tokenizer") {
        visit(p, &mut regexes, &mut byte_level_regex);
    }
    match regexes.as_slice() {
        [] if byte_level_regex => Ok("gpt-2"),
        [r] => crate::pretokenize::name_of_regex(r).ok_or_else(|| {
            TokenizeError::BadVocab(format!("the pre-tokenizer regex {r:?} in tokenizer.json is not one this converter knows; known families: Llama 3, Qwen 2, GPT-2"))
        }),
        _ => Err(TokenizeError::BadVocab("tokenizer.json's pre-tokenizer is not one this converter knows (expected one Split regex or ByteLevel)".into())),
    }
}

const SPECIAL_TYPES: &[(&str, &str)] = &[
    ("bos", "bos_token_id"),
    ("eos", "eos_token_id"),
    ("unk", "unknown_token_id"),
    ("sep", "seperator_token_id"), // sic: the GGUF key is spelled this way
    ("pad", "padding_token_id"),
    ("cls", "cls_token_id"),
    ("mask", "mask_token_id"),
];

fn config_token(cfg: &Value, key: &str) -> Option<String> {
    match cfg.get(key)? {
        Value::String(s) => Some(s.clone()),
        v => v.get("content").and_then(Value::as_str).map(str::to_string),
    }
}

/// Special token ids (tokenizer_config.json names, looked up among tokenizer.json's added tokens,
/// else config.json's `*_token_id`) and the add-BOS/SEP/EOS flags.
fn special_tokens(out: &mut Entries, json: Option<&Value>, cfg: &Value, config: &Value, n_vocab: usize) {
    let added = added_tokens(json);
    let id_of = |text: &str| added.iter().find(|t| t.get("content").and_then(Value::as_str) == Some(text)).and_then(|t| t.get("id")?.as_u64());
    for (typ, key) in SPECIAL_TYPES {
        let from_cfg = config_token(cfg, &format!("{typ}_token")).and_then(|t| id_of(&t));
        let from_config = config.get(format!("{typ}_token_id")).and_then(Value::as_u64);
        if let Some(id) = from_cfg.or(from_config).filter(|&id| (id as usize) < n_vocab) {
            out.push((format!("tokenizer.ggml.{key}"), (id as u32).into()));
        }
    }
    let (mut add_bos, mut add_sep, mut add_eos) = (None, None, None);
    if let Some(pp) = json.and_then(|j| j.get("post_processor")).filter(|v| !v.is_null()) {
        let bos = config_token(cfg, "bos_token");
        let eos = config_token(cfg, "eos_token");
        let procs: Vec<&Value> = pp.get("processors").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_else(|| vec![pp]);
        for p in procs {
            match p.get("type").and_then(Value::as_str) {
                Some("ByteLevel") => {
                    add_bos.get_or_insert(false);
                    add_eos.get_or_insert(false);
                }
                Some("TemplateProcessing") => {
                    let special = |v: &Value| v.pointer("/SpecialToken/id").and_then(Value::as_str).map(str::to_string);
                    let single = p.get("single").and_then(Value::as_array).cloned().unwrap_or_default();
                    let first = single.first().and_then(special).filter(|_| single.len() > 1);
                    let last = single.last().and_then(special).filter(|_| single.len() > 1);
                    if let Some(f) = &first {
                        add_bos = Some(Some(f) == bos.as_ref());
                    }
                    if let Some(l) = &last {
                        add_eos = Some(Some(l) == eos.as_ref());
                    }
                    // A pair template "A <sep> B" (after the leading/trailing specials) adds a separator.
                    let pair = p.get("pair").and_then(Value::as_array).cloned().unwrap_or_default();
                    let start = usize::from(first.is_some() && pair.first().and_then(special) == first);
                    let stop = pair.len() - usize::from(last.is_some() && pair.last().and_then(special) == last);
                    if stop > start + 2 {
                        let mid = &pair[start + 1..stop - 1];
                        let sep = config_token(cfg, "sep_token");
                        let is_sep = |v: &Value| special(v).is_some_and(|s| Some(&s) == sep.as_ref() || Some(&s) == eos.as_ref());
                        add_sep = Some((is_sep(&mid[0]) && last.is_none()) || (mid.len() == 2 && is_sep(&mid[1])));
                    }
                }
                _ => {}
            }
        }
    }
    for (typ, slot) in [("bos", &mut add_bos), ("sep", &mut add_sep), ("eos", &mut add_eos)] {
        if slot.is_none() {
            *slot = cfg.get(format!("add_{typ}_token")).and_then(Value::as_bool);
        }
    }
    for (typ, v) in [("bos", add_bos), ("sep", add_sep), ("eos", add_eos)] {
        if let Some(b) = v {
            out.push((format!("tokenizer.ggml.add_{typ}_token"), b.into()));
        }
    }
}

/// tokenizer_config.json's `chat_template` (a string, or named templates: "default"), else
/// chat_template.jinja, else chat_template.json.
fn chat_template(dir: &Path, cfg: &Value) -> Result<Option<String>> {
    match cfg.get("chat_template") {
        Some(Value::String(s)) => return Ok(Some(s.clone())),
        Some(Value::Array(list)) => {
            let t = list.iter().find(|t| t.get("name").and_then(Value::as_str) == Some("default"));
            return Ok(t.and_then(|t| t.get("template")?.as_str().map(str::to_string)));
        }
        _ => {}
    }
    let jinja = dir.join("chat_template.jinja");
    if jinja.is_file() {
        return std::fs::read_to_string(&jinja).map(Some).map_err(|e| file_err(&jinja, e.to_string()));
    }
    Ok(read_json(&dir.join("chat_template.json"))?.and_then(|v| v.get("chat_template")?.as_str().map(str::to_string)))
}
