//! Token attributes and the special-token split that runs before the tokenization algorithm.
//!
//! Control, user-defined and unknown tokens written literally in the text become their own ids
//! (llama.cpp's `tokenizer_st_partition`): the tokens are tried longest text first, and every
//! occurrence of each one splits the text fragments still unprocessed. With `parse_special` off,
//! control and unknown tokens are treated as plain text, but user-defined ones are still split out
//! (as Hugging Face `tokenizers` does with non-special added tokens).

use crate::table::TokenTable;

/// Bit flags per token, derived from the GGUF token type (llama.cpp's `llama_token_attr`).
pub(crate) mod attr {
    pub const NORMAL: u8 = 1;
    pub const UNKNOWN: u8 = 2;
    pub const CONTROL: u8 = 4;
    pub const USER_DEFINED: u8 = 8;
    pub const UNUSED: u8 = 16;
    pub const BYTE: u8 = 32;

    /// Hidden when decoding with `skip_special`, and not split out when `parse_special` is off.
    pub const SPECIAL: u8 = UNKNOWN | CONTROL;

    pub fn from_token_type(t: i32) -> u8 {
        use crate::vocab::token_type as tt;
        match t {
            tt::NORMAL => NORMAL,
            tt::UNKNOWN => UNKNOWN,
            tt::CONTROL => CONTROL,
            tt::USER_DEFINED => USER_DEFINED,
            tt::UNUSED => UNUSED,
            tt::BYTE => BYTE,
            _ => 0, // undefined: decodes to nothing, like llama.cpp
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment<'a> {
    Text(&'a str),
    Token(u32),
}

/// The tokens that are matched literally in input text, longest first.
#[derive(Debug, Default)]
pub(crate) struct SpecialTokens {
    order: Vec<u32>,
}

impl SpecialTokens {
    pub fn new(texts: &TokenTable, attrs: &[u8]) -> Self {
        let len = |id: u32| texts.text(id).map_or(0, str::len);
        let mut order: Vec<u32> = (0..texts.len() as u32)
            .filter(|&id| {
                attrs[id as usize] & (attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN) != 0
            })
            .collect();
        // Stable sort: equal lengths keep id order, so the split is deterministic.
        order.sort_by_key(|&id| std::cmp::Reverse(len(id)));
        Self { order }
    }

    pub fn partition<'a>(
        &self,
        text: &'a str,
        texts: &TokenTable,
        attrs: &[u8],
        parse_special: bool,
    ) -> Vec<Fragment<'a>> {
        if text.is_empty() {
            return Vec::new();
        }
        // Skip most of the thousands of special tokens cheaply: a token can only occur if its
        // first two bytes occur next to each other in the text.
        let bytes = text.as_bytes();
        let mut byte_seen = [false; 256];
        let mut pair_seen = vec![0u64; 1024]; // 65536 bits, one per byte pair
        for (i, &b) in bytes.iter().enumerate() {
            byte_seen[b as usize] = true;
            if let Some(&c) = bytes.get(i + 1) {
                let p = (b as usize) << 8 | c as usize;
                pair_seen[p >> 6] |= 1 << (p & 63);
            }
        }
        let could_occur = |needle: &[u8]| match needle {
            [] => false,
            [a] => byte_seen[*a as usize],
            [a, b, ..] => {
                let p = (*a as usize) << 8 | *b as usize;
                pair_seen[p >> 6] & (1 << (p & 63)) != 0
            }
        };

        let mut frags = vec![Fragment::Text(text)];
        for &id in &self.order {
            if !parse_special && attrs[id as usize] & attr::SPECIAL != 0 {
                continue;
            }
            let needle = texts.text(id).unwrap_or_default();
            if !could_occur(needle.as_bytes()) {
                continue;
            }
            if !frags
                .iter()
                .any(|f| matches!(f, Fragment::Text(t) if t.contains(needle)))
            {
                continue;
            }
            let mut next = Vec::with_capacity(frags.len() + 2);
            for f in frags {
                match f {
                    Fragment::Text(t) => {
                        let mut rest = t;
                        while let Some(pos) = rest.find(needle) {
                            if pos > 0 {
                                next.push(Fragment::Text(&rest[..pos]));
                            }
                            next.push(Fragment::Token(id));
                            rest = &rest[pos + needle.len()..];
                        }
                        if !rest.is_empty() {
                            next.push(Fragment::Text(rest));
                        }
                    }
                    tok => next.push(tok),
                }
            }
            frags = next;
        }
        frags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (TokenTable, Vec<u8>, SpecialTokens) {
        let texts = TokenTable::new(["a", "<s>", "<start>", "\n", "<st"].into_iter());
        let attrs = vec![
            attr::NORMAL,
            attr::CONTROL,
            attr::CONTROL,
            attr::USER_DEFINED,
            attr::CONTROL,
        ];
        let sp = SpecialTokens::new(&texts, &attrs);
        (texts, attrs, sp)
    }

    #[test]
    fn longest_special_token_wins() {
        let (texts, attrs, sp) = setup();
        let f = sp.partition("x<start>y<s>\n", &texts, &attrs, true);
        use Fragment::*;
        assert_eq!(f, [Text("x"), Token(2), Text("y"), Token(1), Token(3)]);
    }

    #[test]
    fn control_tokens_are_text_without_parse_special_but_user_defined_are_not() {
        let (texts, attrs, sp) = setup();
        let f = sp.partition("<s>\n", &texts, &attrs, false);
        assert_eq!(f, [Fragment::Text("<s>"), Fragment::Token(3)]);
    }
}
