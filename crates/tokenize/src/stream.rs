//! Streaming detokenizer: text as tokens arrive, never splitting a UTF-8 character.
//!
//! An emoji or CJK character outside the vocabulary arrives as several byte tokens (`<0xF0>`,
//! `<0x9F>`, ...). Bytes that may still become a character are held back until it is complete;
//! bytes that can never be valid are emitted as U+FFFD at once, exactly as `decode` would, so the
//! concatenated chunks always equal `Tokenizer::decode` of all ids.

use crate::tokenizer::Tokenizer;

pub struct StreamDecoder<'a> {
    tok: &'a Tokenizer,
    skip_special: bool,
    pending: Vec<u8>, // bytes not yet emitted: an incomplete character at the end
    at_start: bool,   // nothing emitted yet (for the SentencePiece leading-space rule)
}

impl<'a> StreamDecoder<'a> {
    pub fn new(tok: &'a Tokenizer, skip_special: bool) -> Self {
        Self {
            tok,
            skip_special,
            pending: Vec::new(),
            at_start: true,
        }
    }

    /// Adds one token; returns the text that is now complete (often empty while a character is
    /// still arriving byte by byte).
    pub fn push(&mut self, id: u32) -> String {
        self.tok
            .append_piece(id, self.skip_special, &mut self.at_start, &mut self.pending);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // valid_up_to guarantees this prefix is UTF-8.
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        // Can never become valid: replace it now, as from_utf8_lossy does.
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &after[bad..];
                        }
                        // A character cut short at the end: wait for its other bytes.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        self.pending.drain(..self.pending.len() - keep);
        out
    }

    /// Ends the stream: whatever is still held back, U+FFFD for an unfinished character.
    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}
