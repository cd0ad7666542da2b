//! The GGUF-vocabulary tokenizer: special-token split, then SentencePiece or byte-level BPE.

use crate::bpe::Bpe;
use crate::error::Result;
use crate::special::{attr, Fragment, SpecialTokens};
use crate::spm::{self, SpmVocab};
use crate::table::{Packed, TokenTable};
use crate::vocab::{Arrays, Vocab, VocabKind};

const SPACE_MARK: char = '\u{2581}'; // '▁', SentencePiece's visible space

#[derive(Debug)]
pub(crate) struct Native {
    scores: Vec<f32>, // [n_vocab] or empty
    specials: SpecialTokens,
    add_space_prefix: bool,
    unk: Option<u32>,
    algo: Algo,
}

#[derive(Debug)]
enum Algo {
    Spm { byte_ids: [Option<u32>; 256] },
    Bpe(Bpe),
}

/// The view of a [`Native`] the SentencePiece algorithm needs.
struct SpmView<'a> {
    native: &'a Native,
    texts: &'a TokenTable,
    byte_ids: &'a [Option<u32>; 256],
}

impl SpmVocab for SpmView<'_> {
    fn lookup(&self, text: &str) -> Option<u32> {
        self.texts.lookup(text)
    }
    fn score(&self, id: u32) -> f32 {
        self.native.scores.get(id as usize).copied().unwrap_or(0.0)
    }
    fn byte_token(&self, byte: u8) -> Option<u32> {
        self.byte_ids[byte as usize].or(self.native.unk)
    }
}

impl Native {
    /// `attrs` must already carry the end-of-generation CONTROL marks (they change which tokens
    /// `parse_special = false` leaves as text).
    pub fn new(vocab: &Vocab, arrays: &Arrays, texts: &TokenTable, attrs: &[u8]) -> Result<Self> {
        let lookup = |s: &str| texts.lookup(s);
        let algo = match vocab.kind {
            VocabKind::Spm => {
                let mut byte_ids = [None; 256];
                for b in 0..=255u8 {
                    byte_ids[b as usize] = lookup(&format!("<0x{b:02X}>")).or_else(|| {
                        // Some vocabularies have a plain one-byte token instead.
                        (b < 0x80)
                            .then(|| lookup(char::from(b).encode_utf8(&mut [0; 4])))
                            .flatten()
                    });
                }
                Algo::Spm { byte_ids }
            }
            VocabKind::Bpe => Algo::Bpe(Bpe::new(lookup, arrays.merges, vocab.pre.as_deref())?),
        };
        Ok(Self {
            specials: SpecialTokens::new(texts, attrs),
            scores: arrays.scores.to_vec(),
            add_space_prefix: vocab.add_space_prefix && vocab.kind == VocabKind::Spm,
            unk: vocab.unk,
            algo,
        })
    }

    /// Token ids of `text`, without BOS/EOS.
    pub fn encode(
        &self,
        text: &str,
        texts: &TokenTable,
        attrs: &[u8],
        parse_special: bool,
        out: &mut Vec<u32>,
    ) {
        let fragments = self.specials.partition(text, texts, attrs, parse_special);
        match &self.algo {
            Algo::Spm { byte_ids } => {
                let view = SpmView {
                    native: self,
                    texts,
                    byte_ids,
                };
                let mut prev_special = true; // the dummy prefix goes at the start and after specials
                let mut escaped = String::new();
                for f in fragments {
                    match f {
                        Fragment::Text(t) => {
                            escaped.clear();
                            if self.add_space_prefix && prev_special {
                                escaped.push(SPACE_MARK);
                            }
                            escaped
                                .extend(t.chars().map(|c| if c == ' ' { SPACE_MARK } else { c }));
                            spm::tokenize(&view, &escaped, out);
                            prev_special = false;
                        }
                        Fragment::Token(id) => {
                            out.push(id);
                            prev_special = true;
                        }
                    }
                }
            }
            Algo::Bpe(bpe) => {
                for f in fragments {
                    match f {
                        Fragment::Text(t) => bpe.tokenize(|s| texts.lookup(s), self.unk, t, out),
                        Fragment::Token(id) => out.push(id),
                    }
                }
            }
        }
    }
}

/// The bytes each token stands for (llama.cpp's `token_to_piece` with `special = true`).
pub(crate) fn pieces(kind: VocabKind, texts: &TokenTable, attrs: &[u8]) -> Packed {
    let mut out = Packed::with_capacity(texts.len(), texts.len() * 8);
    for (id, text) in texts.iter() {
        let a = attrs[id as usize];
        out.push_with(|buf| {
            if a & (attr::SPECIAL | attr::USER_DEFINED) != 0 {
                buf.extend_from_slice(text.as_bytes());
            } else if a & attr::NORMAL != 0 {
                match kind {
                    VocabKind::Spm => push_unescaped(buf, text),
                    VocabKind::Bpe => crate::byte_level::decode_into(text, buf),
                }
            } else if a & attr::BYTE != 0 {
                buf.extend(parse_byte_token(text));
            }
            // unused / undefined tokens print nothing
        });
    }
    out
}

/// Appends `text` with SentencePiece's U+2581 turned back into spaces.
pub(crate) fn push_unescaped(buf: &mut Vec<u8>, text: &str) {
    let mut rest = text;
    while let Some(pos) = rest.find(SPACE_MARK) {
        buf.extend_from_slice(&rest.as_bytes()[..pos]);
        buf.push(b' ');
        rest = &rest[pos + SPACE_MARK.len_utf8()..];
    }
    buf.extend_from_slice(rest.as_bytes());
}

/// `<0xAB>` -> 0xAB.
pub(crate) fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}
