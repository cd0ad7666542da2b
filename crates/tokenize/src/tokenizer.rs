//! The tokenizer the engine uses: text <-> token ids, from a GGUF vocabulary or a tokenizer.json.

use std::path::Path;

use crate::eog;
use crate::error::Result;
use crate::hf::HfEngine;
use crate::native::{self, Native};
use crate::special::attr;
use crate::table::{Packed, TokenTable};
use crate::vocab::{Arrays, Vocab, VocabKind};

#[derive(Debug)]
pub(crate) enum Engine {
    Native(Native),
    Hf(HfEngine),
}

/// Text to token ids and back.
///
/// Built from a GGUF vocabulary (our own SentencePiece / byte-level BPE, matching llama.cpp's ids)
/// or from a Hugging Face tokenizer.json (encoding delegated to the `tokenizers` crate). Decoding
/// is ours in both cases: every token has a byte string (its "piece"), and decoding concatenates
/// pieces, so streaming and whole-sequence decoding agree exactly.
pub struct Tokenizer {
    pub(crate) texts: TokenTable, // [n_vocab] token text as stored in the vocabulary, and its index
    pub(crate) attrs: Vec<u8>,    // [n_vocab] special::attr flags
    pub(crate) pieces: Packed,    // [n_vocab] bytes each token stands for
    pub(crate) bos: Option<u32>,
    pub(crate) eos: Option<u32>,
    pub(crate) eot: Option<u32>,
    pub(crate) eog: Vec<u32>, // sorted
    pub(crate) add_bos: bool,
    pub(crate) add_eos: bool,
    /// Decoding drops a leading space of the output (the SentencePiece dummy prefix).
    pub(crate) strip_first_space: bool,
    pub(crate) chat_template: Option<String>,
    pub(crate) engine: Engine,
}

impl std::fmt::Debug for Tokenizer {
    // A summary: the derived form would print all 262k tokens.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engine = match &self.engine {
            Engine::Native(_) => "gguf-vocab",
            Engine::Hf(_) => "tokenizer.json",
        };
        f.debug_struct("Tokenizer")
            .field("engine", &engine)
            .field("vocab_size", &self.vocab_size())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("eog", &self.eog)
            .field("add_bos", &self.add_bos)
            .finish()
    }
}

impl Tokenizer {
    /// Builds the tokenizer for a GGUF-style vocabulary.
    pub fn from_vocab(vocab: Vocab) -> Result<Self> {
        let mut settings = vocab.clone_settings();
        Self::build(&mut settings, vocab.arrays())
    }

    /// `settings` holds everything but the per-token arrays, which are borrowed separately.
    pub(crate) fn build(vocab: &mut Vocab, arrays: Arrays) -> Result<Self> {
        vocab.check(&arrays)?;
        let texts = TokenTable::new(arrays.tokens.iter().map(String::as_str));
        let mut attrs: Vec<u8> = (0..texts.len())
            .map(|i| attr::from_token_type(arrays.token_type(i)))
            .collect();
        let ids = eog::detect(&texts, &mut attrs, vocab.eos, vocab.eot, vocab.eom);
        let engine = Engine::Native(Native::new(vocab, &arrays, &texts, &attrs)?);
        let pieces = native::pieces(vocab.kind, &texts, &attrs);
        Ok(Self {
            pieces,
            bos: vocab.bos,
            eos: vocab.eos,
            eot: ids.eot,
            eog: ids.eog,
            add_bos: vocab.add_bos,
            add_eos: vocab.add_eos,
            strip_first_space: vocab.add_space_prefix && vocab.kind == VocabKind::Spm,
            chat_template: None,
            engine,
            attrs,
            texts,
        })
    }

    /// Loads a Hugging Face `tokenizer.json`. BOS/EOS and the chat template come from a
    /// `tokenizer_config.json` beside it when there is one, else from well-known token texts.
    pub fn from_tokenizer_json(path: impl AsRef<Path>) -> Result<Self> {
        crate::hf::load(path.as_ref())
    }

    /// Token ids for `text`.
    ///
    /// `add_special`: add BOS/EOS as the model asks (`add_bos()`); `parse_special`: turn control
    /// tokens written in the text (`<start_of_turn>`) into their ids instead of spelling them out.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        match &self.engine {
            Engine::Native(n) => {
                let mut out = Vec::with_capacity(text.len() / 3 + 2);
                if add_special && self.add_bos {
                    out.extend(self.bos);
                }
                n.encode(text, &self.texts, &self.attrs, parse_special, &mut out);
                if add_special && self.add_eos {
                    out.extend(self.eos);
                }
                Ok(out)
            }
            Engine::Hf(h) => h.encode(text, add_special, parse_special),
        }
    }

    /// Encodes a rendered chat prompt: special tokens are parsed, BOS is added when the model wants
    /// one and the template has not already written it, and EOS is never appended.
    pub fn encode_chat_prompt(&self, rendered: &str) -> Result<Vec<u32>> {
        let mut ids = self.encode(rendered, false, true)?;
        if let Some(bos) = self.bos.filter(|_| self.add_bos) {
            let written = self.token_text(bos).is_some_and(|t| rendered.starts_with(t));
            if !written {
                ids.insert(0, bos);
            }
        }
        Ok(ids)
    }

    /// The text of `ids`. With `skip_special`, control and unknown tokens are left out.
    ///
    /// Ids outside the vocabulary are skipped rather than reported: a decoder runs on model output
    /// mid-stream, where an error would lose the text around it. Invalid UTF-8 (a token sequence
    /// cut inside a character) becomes U+FFFD.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        let mut at_start = true;
        for &id in ids {
            self.append_piece(id, skip_special, &mut at_start, &mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Appends the bytes of `id` as decoding emits them; shared with the streaming decoder.
    pub(crate) fn append_piece(
        &self,
        id: u32,
        skip_special: bool,
        at_start: &mut bool,
        out: &mut Vec<u8>,
    ) {
        let Some(piece) = self.pieces.get(id as usize) else {
            return;
        };
        if skip_special && self.attrs[id as usize] & attr::SPECIAL != 0 {
            return;
        }
        let mut p = piece;
        if *at_start && self.strip_first_space && p.first() == Some(&b' ') {
            p = &p[1..];
        }
        if !p.is_empty() {
            *at_start = false;
        }
        out.extend_from_slice(p);
    }

    /// The raw bytes token `id` stands for, special tokens spelled out (`<start_of_turn>`), byte
    /// tokens as their byte (`<0x0A>` -> `\n`). Empty for ids outside the vocabulary.
    pub fn token_to_piece(&self, id: u32) -> Vec<u8> {
        self.pieces
            .get(id as usize)
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    /// The token's text as stored in the vocabulary (`▁Hello`, `<0x0A>`, `Ġworld`).
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.texts.text(id)
    }

    /// The id of a token by its exact vocabulary text.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        match &self.engine {
            Engine::Native(_) => self.texts.lookup(text),
            Engine::Hf(h) => h.token_id(text),
        }
    }

    pub fn vocab_size(&self) -> usize {
        self.texts.len()
    }

    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// End of turn (`<end_of_turn>`, `<|eot_id|>`), when the vocabulary has one.
    pub fn eot_id(&self) -> Option<u32> {
        self.eot
    }

    /// Every token that ends generation, sorted (EOS, EOT and turn-end tokens found by text).
    pub fn eog_ids(&self) -> &[u32] {
        &self.eog
    }

    pub fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// Control or unknown token: hidden by `decode(.., skip_special = true)`.
    pub fn is_special(&self, id: u32) -> bool {
        self.attrs
            .get(id as usize)
            .is_some_and(|a| a & attr::SPECIAL != 0)
    }

    /// Whether `encode(.., add_special = true, ..)` starts with BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos && self.bos.is_some()
    }

    /// The chat template that came with the tokenizer (tokenizer.chat_template or
    /// tokenizer_config.json), if any.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizer_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Tokenizer>();
    }

    #[test]
    fn debug_output_is_a_summary() {
        let v = Vocab::spm(
            vec!["<unk>".into(), "<s>".into(), "</s>".into()],
            vec![],
            vec![2, 3, 3],
        );
        let tok = Tokenizer::from_vocab(v).unwrap();
        let s = format!("{tok:?}");
        assert!(s.contains("vocab_size: 3") && s.len() < 200, "{s}");
    }
}
