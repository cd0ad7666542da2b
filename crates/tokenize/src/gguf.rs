//! Reading the tokenizer from GGUF metadata (`tokenizer.ggml.*`).

use std::borrow::Cow;

use weights::{GgufFile, Metadata};

use crate::chat::ChatTemplate;
use crate::error::{Result, TokenizeError};
use crate::tokenizer::Tokenizer;
use crate::vocab::{Arrays, Vocab, VocabKind};

const MODEL: &str = "tokenizer.ggml.model";
const TOKENS: &str = "tokenizer.ggml.tokens";
const SCORES: &str = "tokenizer.ggml.scores";
const TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
const MERGES: &str = "tokenizer.ggml.merges";
const CHAT_TEMPLATE: &str = "tokenizer.chat_template";

/// The metadata's arrays, borrowed where the file's types allow.
struct MetaArrays<'a> {
    tokens: &'a [String],
    scores: Cow<'a, [f32]>,
    token_types: Cow<'a, [i32]>,
    merges: &'a [String],
}

impl MetaArrays<'_> {
    fn arrays(&self) -> Arrays<'_> {
        Arrays {
            tokens: self.tokens,
            scores: &self.scores,
            token_types: &self.token_types,
            merges: self.merges,
        }
    }
}

/// Everything but the arrays, with llama.cpp's defaults where keys are missing.
fn settings(meta: &Metadata) -> Result<Vocab> {
    let model = match meta.get(MODEL) {
        None => return Err(TokenizeError::NoTokenizer),
        Some(_) => meta.get_str(MODEL)?,
    };
    if matches!(model, "no_vocab" | "none") || meta.get(TOKENS).is_none() {
        return Err(TokenizeError::NoTokenizer);
    }
    let mut v = match VocabKind::from_model_name(model)? {
        VocabKind::Spm => Vocab::spm(Vec::new(), Vec::new(), Vec::new()),
        VocabKind::Bpe => Vocab::bpe(
            Vec::new(),
            Vec::new(),
            Vec::new(),
            meta.opt_str("tokenizer.ggml.pre").map(str::to_string),
        ),
    };
    // Keys override the per-model defaults only when present, as in llama.cpp.
    let ids = [
        ("tokenizer.ggml.bos_token_id", &mut v.bos),
        ("tokenizer.ggml.eos_token_id", &mut v.eos),
        ("tokenizer.ggml.eot_token_id", &mut v.eot),
        ("tokenizer.ggml.eom_token_id", &mut v.eom),
        ("tokenizer.ggml.padding_token_id", &mut v.pad),
        ("tokenizer.ggml.unknown_token_id", &mut v.unk),
    ];
    for (key, slot) in ids {
        if let Some(id) = meta.opt_u32(key) {
            *slot = Some(id);
        }
    }
    let flags = [
        ("tokenizer.ggml.add_bos_token", &mut v.add_bos),
        ("tokenizer.ggml.add_eos_token", &mut v.add_eos),
        ("tokenizer.ggml.add_space_prefix", &mut v.add_space_prefix),
    ];
    for (key, slot) in flags {
        if let Some(b) = meta.opt_bool(key) {
            *slot = b;
        }
    }
    Ok(v)
}

fn arrays(meta: &Metadata) -> Result<MetaArrays<'_>> {
    // A key that is present must have the right type; a missing optional one is empty.
    let present = |key: &str| meta.get(key).is_some();
    Ok(MetaArrays {
        tokens: meta.get_str_array(TOKENS)?,
        scores: if present(SCORES) {
            meta.get_f32_array(SCORES)?
        } else {
            Cow::Borrowed(&[])
        },
        token_types: if present(TOKEN_TYPE) {
            meta.get_i32_array(TOKEN_TYPE)?
        } else {
            Cow::Borrowed(&[])
        },
        merges: if present(MERGES) {
            meta.get_str_array(MERGES)?
        } else {
            &[]
        },
    })
}

impl Vocab {
    /// The vocabulary stored in GGUF metadata (a copy; `Tokenizer::from_gguf` borrows instead).
    pub fn from_gguf_metadata(meta: &Metadata) -> Result<Self> {
        let mut v = settings(meta)?;
        let a = arrays(meta)?;
        v.tokens = a.tokens.to_vec();
        v.scores = a.scores.into_owned();
        v.token_types = a.token_types.into_owned();
        v.merges = a.merges.to_vec();
        Ok(v)
    }
}

impl Tokenizer {
    /// The tokenizer stored in a GGUF file; its chat template comes along when it has one.
    pub fn from_gguf(file: &GgufFile) -> Result<Self> {
        Self::from_gguf_metadata(file.metadata())
    }

    pub fn from_gguf_metadata(meta: &Metadata) -> Result<Self> {
        let mut v = settings(meta)?;
        let a = arrays(meta)?;
        let mut tok = Self::build(&mut v, a.arrays())?;
        tok.chat_template = meta.opt_str(CHAT_TEMPLATE).map(str::to_string);
        Ok(tok)
    }
}

impl ChatTemplate {
    /// `tokenizer.chat_template`, else the built-in template for `general.architecture`.
    pub fn from_gguf_or_default(meta: &Metadata) -> Result<Self> {
        let arch = meta.opt_str("general.architecture").unwrap_or("");
        Self::from_source_or_default(meta.opt_str(CHAT_TEMPLATE), arch)
    }
}
