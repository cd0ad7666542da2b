//! tokenize: text <-> token ids, chat templates, streaming detokenization.
//!
//! Reading order: [`vocab`] (what a GGUF stores) -> [`Tokenizer`] (special-token split, then the
//! SentencePiece or byte-level BPE algorithm) -> [`StreamDecoder`] -> [`chat`].
//!
//! GGUF vocabularies are tokenized by our own code and give llama.cpp's ids exactly; a Hugging
//! Face tokenizer.json is encoded by the `tokenizers` crate.

mod bpe;
mod byte_level;
pub mod chat;
mod eog;
mod error;
pub mod export;
mod gguf;
mod hf;
mod native;
mod pretokenize;
mod special;
mod spm;
mod stream;
mod table;
mod tokenizer;
pub mod vocab;

pub use chat::{ChatMessage, ChatTemplate};
pub use error::{Result, TokenizeError};
pub use stream::StreamDecoder;
pub use tokenizer::Tokenizer;
pub use vocab::{Vocab, VocabKind};
