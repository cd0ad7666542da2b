//! The pieces of a SentencePiece `tokenizer.model` (a protobuf `ModelProto`): text, score and type of
//! every piece. Only field 1 (`pieces`) is read; the trainer and normalizer specs are skipped.

use crate::error::{Result, TokenizeError};

/// One `ModelProto.SentencePiece`: `piece` (1), `score` (2), `type` (3; NORMAL when absent).
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    pub text: String,
    pub score: f32,
    /// SentencePiece's type numbers, which GGUF's `token_type` uses too (1 normal .. 6 byte).
    pub kind: i32,
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn bad(msg: &str) -> TokenizeError {
    TokenizeError::BadVocab(format!("tokenizer.model is not a SentencePiece model: {msg}"))
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or_else(|| bad("truncated varint"))?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("varint too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len()).ok_or_else(|| bad("truncated field"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// (field number, wire type).
    fn key(&mut self) -> Result<(u64, u8)> {
        let k = self.varint()?;
        Ok((k >> 3, (k & 7) as u8))
    }

    /// The payload of a length-delimited field, or None after skipping any other wire type.
    fn value(&mut self, wire: u8) -> Result<Option<&'a [u8]>> {
        match wire {
            0 => self.varint().map(|_| None),
            1 => self.take(8).map(|_| None),
            2 => {
                let n = self.varint()? as usize;
                self.take(n).map(Some)
            }
            5 => self.take(4).map(|_| None),
            w => Err(bad(&format!("unsupported wire type {w}"))),
        }
    }
}

pub fn parse(bytes: &[u8]) -> Result<Vec<Piece>> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let mut pieces = Vec::new();
    while !r.done() {
        let (field, wire) = r.key()?;
        if field == 1 && wire == 2 {
            let body = r.value(wire)?.unwrap_or_default();
            pieces.push(piece(body)?);
        } else {
            r.value(wire)?;
        }
    }
    if pieces.is_empty() {
        return Err(bad("no pieces"));
    }
    Ok(pieces)
}

fn piece(body: &[u8]) -> Result<Piece> {
    let mut r = Reader { buf: body, pos: 0 };
    let mut p = Piece { text: String::new(), score: 0.0, kind: 1 };
    while !r.done() {
        let (field, wire) = r.key()?;
        match (field, wire) {
            (1, 2) => {
                let s = r.value(wire)?.unwrap_or_default();
                p.text = String::from_utf8(s.to_vec()).map_err(|_| bad("a piece is not UTF-8"))?;
            }
            (2, 5) => {
                let b = r.take(4)?;
                p.score = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            (3, 0) => p.kind = r.varint()? as i32,
            _ => {
                r.value(wire)?;
            }
        }
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pieces_and_skips_other_fields() {
        // piece "ab" score 1.5 type 3, then an unknown varint field, then field 2 (trainer spec) skipped.
        let mut p = vec![0x0a, 2, b'a', b'b', 0x15];
        p.extend(1.5f32.to_le_bytes());
        p.extend([0x18, 3, 0x20, 7]);
        let mut m = vec![0x0a, p.len() as u8];
        m.extend(&p);
        m.extend([0x12, 1, 0]);
        let got = parse(&m).unwrap();
        assert_eq!(got, vec![Piece { text: "ab".into(), score: 1.5, kind: 3 }]);
        assert!(parse(&[0x0a, 9, 1]).is_err());
        assert!(parse(&[]).is_err());
    }
}
