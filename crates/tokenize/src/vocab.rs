//! The tokenizer vocabulary as a GGUF file stores it (`tokenizer.ggml.*`), as a plain struct.
//!
//! Defaults for missing keys follow llama.cpp's loader, so a GGUF tokenizes here as it does there.

use crate::error::{Result, TokenizeError};

/// GGUF `tokenizer.ggml.token_type` values.
pub mod token_type {
    pub const NORMAL: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const CONTROL: i32 = 3;
    pub const USER_DEFINED: i32 = 4;
    pub const UNUSED: i32 = 5;
    pub const BYTE: i32 = 6;
}

/// Which tokenization algorithm the vocabulary is for (`tokenizer.ggml.model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VocabKind {
    /// "llama": SentencePiece BPE, merges chosen by token score, `<0xXX>` byte fallback.
    Spm,
    /// "gpt2": byte-level BPE with ranked merges and a regex pre-tokenizer.
    Bpe,
}

impl VocabKind {
    pub fn from_model_name(name: &str) -> Result<Self> {
        match name {
            "llama" => Ok(Self::Spm),
            "gpt2" => Ok(Self::Bpe),
            other => Err(TokenizeError::UnknownModel(other.to_string())),
        }
    }

    pub fn model_name(self) -> &'static str {
        match self {
            Self::Spm => "llama",
            Self::Bpe => "gpt2",
        }
    }
}

/// Everything needed to build a [`crate::Tokenizer`] without a GGUF file.
#[derive(Debug, Clone)]
pub struct Vocab {
    pub tokens: Vec<String>,   // [n_vocab]
    pub scores: Vec<f32>,      // [n_vocab], or empty (all 0)
    pub token_types: Vec<i32>, // [n_vocab], or empty (all NORMAL); see `token_type`
    pub merges: Vec<String>,   // [n_merges] "left right", BPE only, rank = index
    pub kind: VocabKind,
    /// `tokenizer.ggml.pre`: selects the BPE pre-tokenizer regexes; ignored for SPM.
    pub pre: Option<String>,
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    /// End of turn; when absent it is found by text (`<end_of_turn>`, `<|eot_id|>`, ...).
    pub eot: Option<u32>,
    /// End of message (Llama 3.1 tool calls); found by text when absent.
    pub eom: Option<u32>,
    pub pad: Option<u32>,
    pub unk: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
    /// SentencePiece's "dummy prefix": a space before the text and after each special token.
    pub add_space_prefix: bool,
}

impl Vocab {
    /// A SentencePiece vocabulary with llama.cpp's defaults for the "llama" model
    /// (BOS 1, EOS 2, UNK 0, add BOS, add space prefix); override fields as the file says.
    pub fn spm(tokens: Vec<String>, scores: Vec<f32>, token_types: Vec<i32>) -> Self {
        Self {
            tokens,
            scores,
            token_types,
            merges: Vec::new(),
            kind: VocabKind::Spm,
            pre: None,
            bos: Some(1),
            eos: Some(2),
            eot: None,
            eom: None,
            pad: None,
            unk: Some(0),
            add_bos: true,
            add_eos: false,
            add_space_prefix: true,
        }
    }

    /// A byte-level BPE vocabulary with llama.cpp's defaults for "gpt2" (no BOS/EOS ids, no space
    /// prefix); `add_bos` defaults to true for the Llama 3 pre-tokenizer family, as in llama.cpp.
    pub fn bpe(
        tokens: Vec<String>,
        token_types: Vec<i32>,
        merges: Vec<String>,
        pre: Option<String>,
    ) -> Self {
        let add_bos = pre
            .as_deref()
            .is_some_and(crate::pretokenize::is_llama3_family);
        Self {
            tokens,
            scores: Vec::new(),
            token_types,
            merges,
            kind: VocabKind::Bpe,
            pre,
            bos: None,
            eos: None,
            eot: None,
            eom: None,
            pad: None,
            unk: None,
            add_bos,
            add_eos: false,
            add_space_prefix: false,
        }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The type of token `id` (NORMAL when the file has no types).
    pub fn token_type(&self, id: usize) -> i32 {
        self.token_types
            .get(id)
            .copied()
            .unwrap_or(token_type::NORMAL)
    }

    /// A copy without the per-token arrays (the settings that go with them).
    pub(crate) fn clone_settings(&self) -> Self {
        Self {
            tokens: Vec::new(),
            scores: Vec::new(),
            token_types: Vec::new(),
            merges: Vec::new(),
            pre: self.pre.clone(),
            ..*self
        }
    }

    /// The arrays of this vocabulary, borrowed.
    pub(crate) fn arrays(&self) -> Arrays<'_> {
        Arrays {
            tokens: &self.tokens,
            scores: &self.scores,
            token_types: &self.token_types,
            merges: &self.merges,
        }
    }

    /// Checks the settings against the arrays; ids out of range are dropped (llama.cpp disables
    /// them too).
    pub(crate) fn check(&mut self, a: &Arrays) -> Result<()> {
        let n = a.tokens.len();
        if n == 0 {
            return Err(TokenizeError::NoTokenizer);
        }
        if n >= u32::MAX as usize {
            return Err(TokenizeError::BadVocab(format!(
                "{n} tokens do not fit in u32 ids"
            )));
        }
        if !a.scores.is_empty() && a.scores.len() < n {
            return Err(TokenizeError::BadVocab(format!(
                "tokenizer.ggml.scores has {} entries for {n} tokens",
                a.scores.len()
            )));
        }
        if !a.token_types.is_empty() && a.token_types.len() < n {
            return Err(TokenizeError::BadVocab(format!(
                "tokenizer.ggml.token_type has {} entries for {n} tokens",
                a.token_types.len()
            )));
        }
        if self.kind == VocabKind::Bpe && a.merges.is_empty() {
            return Err(TokenizeError::BadVocab(
                "a gpt2 (BPE) vocabulary needs tokenizer.ggml.merges".into(),
            ));
        }
        for id in [
            &mut self.bos,
            &mut self.eos,
            &mut self.eot,
            &mut self.eom,
            &mut self.pad,
            &mut self.unk,
        ] {
            if id.is_some_and(|i| i as usize >= n) {
                *id = None;
            }
        }
        Ok(())
    }
}

/// The per-token arrays of a vocabulary, borrowed from a [`Vocab`] or straight from GGUF metadata
/// (so loading a GGUF does not copy 262k strings twice).
#[derive(Clone, Copy)]
pub(crate) struct Arrays<'a> {
    pub tokens: &'a [String],   // [n_vocab]
    pub scores: &'a [f32],      // [n_vocab] or empty
    pub token_types: &'a [i32], // [n_vocab] or empty
    pub merges: &'a [String],   // [n_merges]
}

impl Arrays<'_> {
    pub fn token_type(&self, id: usize) -> i32 {
        self.token_types
            .get(id)
            .copied()
            .unwrap_or(token_type::NORMAL)
    }
}
