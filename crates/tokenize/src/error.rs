//! The one error type of this crate. Every message names the problem and, where there is one, the fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    #[error("model has no tokenizer (tokenizer.ggml.tokens missing); supply tokenizer.json with --tokenizer")]
    NoTokenizer,

    #[error(
        "unknown tokenizer model '{0}' (tokenizer.ggml.model); this engine reads 'llama' (SentencePiece) and 'gpt2' (byte-level BPE) vocabularies; supply tokenizer.json with --tokenizer"
    )]
    UnknownModel(String),

    #[error(
        "unknown pre-tokenizer '{0}' (tokenizer.ggml.pre); known: {known}; supply tokenizer.json with --tokenizer",
        known = crate::pretokenize::KNOWN_PRE.join(", ")
    )]
    UnknownPreTokenizer(String),

    #[error("bad tokenizer vocabulary: {0}; re-convert the model with a current converter")]
    BadVocab(String),

    #[error("cannot read tokenizer metadata: {0}")]
    Metadata(#[from] weights::WeightsError),

    #[error("cannot load tokenizer file {path}: {msg}; is it a Hugging Face tokenizer.json?")]
    TokenizerFile { path: PathBuf, msg: String },

    #[error("tokenizer failed on the input: {0}")]
    Encode(String),

    #[error("chat template error: {0}")]
    Template(String),

    #[error(
        "no chat template: the model has no tokenizer.chat_template and there is no built-in template for architecture '{0}'; pass a template file"
    )]
    NoChatTemplate(String),
}

pub type Result<T, E = TokenizeError> = std::result::Result<T, E>;
