//! End-of-generation tokens.
//!
//! GGUF files store only EOS (and sometimes EOT); chat models also stop on turn-end tokens that
//! converters do not record. Like llama.cpp, this finds them by their text, marks them CONTROL
//! (so they are hidden when decoding without special tokens and not split out of plain text), and
//! adds EOS/EOT/EOM. That is why Gemma 3 stops on 1 `<eos>`, 106 `<end_of_turn>` and also 212
//! `</s>`: a user-defined token that is on the list of end-of-generation texts.

use crate::special::attr;
use crate::table::TokenTable;

/// Turn-end texts, used for EOT when the file names none.
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];

const EOM_TEXTS: &[&str] = &["<|eom_id|>"];

/// Fill-in-the-middle padding / repo / file-separator tokens also end generation.
const FIM_EOG_TEXTS: &[&[&str]] = &[
    &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
    &[
        "<|fim_repo|>",
        "<|repo_name|>",
        "<fim-repo>",
        "<REPO>",
        "<reponame>",
    ],
    &["<|file_sep|>"],
];

/// Every token with one of these texts ends generation.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

pub(crate) struct EogIds {
    pub eot: Option<u32>,
    /// Sorted, unique.
    pub eog: Vec<u32>,
}

/// Every listed text starts with one of these bytes; checking it first keeps the scans over
/// 262k tokens cheap.
fn could_be_listed(t: &str) -> bool {
    matches!(t.as_bytes().first(), Some(b'<' | b'[' | b'_'))
}

fn first_with_text(listed: &[(u32, &str)], candidates: &[&str]) -> Option<u32> {
    listed
        .iter()
        .find(|(_, t)| candidates.contains(t))
        .map(|&(id, _)| id)
}

/// Finds EOT/EOM/EOG ids and marks them CONTROL in `attrs`.
pub(crate) fn detect(
    texts: &TokenTable,
    attrs: &mut [u8],
    eos: Option<u32>,
    eot: Option<u32>,
    eom: Option<u32>,
) -> EogIds {
    let mark = |id: u32, attrs: &mut [u8]| attrs[id as usize] |= attr::CONTROL;
    // One pass over the vocabulary: the few tokens whose text is on any list, in id order.
    let listed: Vec<(u32, &str)> = texts
        .iter()
        .filter(|(_, t)| {
            could_be_listed(t)
                && (EOG_TEXTS.contains(t)
                    || EOT_TEXTS.contains(t)
                    || EOM_TEXTS.contains(t)
                    || FIM_EOG_TEXTS.iter().any(|g| g.contains(t)))
        })
        .collect();

    let eot = eot.or_else(|| first_with_text(&listed, EOT_TEXTS).inspect(|&id| mark(id, attrs)));
    let eom = eom.or_else(|| first_with_text(&listed, EOM_TEXTS).inspect(|&id| mark(id, attrs)));

    let mut eog: Vec<u32> = Vec::new();
    for group in FIM_EOG_TEXTS {
        if let Some(id) = first_with_text(&listed, group) {
            mark(id, attrs);
            eog.push(id);
        }
    }
    for &(id, t) in &listed {
        if EOG_TEXTS.contains(&t) {
            mark(id, attrs);
            eog.push(id);
        }
    }
    eog.extend([eos, eot, eom].into_iter().flatten());
    eog.sort_unstable();
    eog.dedup();

    let text_of = |id: u32| texts.text(id).unwrap_or_default();
    let has = |eog: &[u32], t: &str| eog.iter().any(|&id| text_of(id) == t);

    // gpt-oss / solar-open: "<|end|>" ends a message, not the generation.
    if (has(&eog, "<|return|>") && has(&eog, "<|call|>")
        || has(&eog, "<|calls|>") && has(&eog, "<|flush|>"))
        && has(&eog, "<|end|>")
    {
        eog.retain(|&id| {
            let keep = text_of(id) != "<|end|>";
            if !keep {
                attrs[id as usize] = attr::USER_DEFINED;
            }
            keep
        });
    }
    // Gemma 4 and PLaMo have an ordinary "</s>".
    if (has(&eog, "<|tool_response>") || has(&eog, "<|plamo:eos|>")) && has(&eog, "</s>") {
        eog.retain(|&id| {
            let keep = text_of(id) != "</s>";
            if !keep {
                attrs[id as usize] = attr::NORMAL;
            }
            keep
        });
    }
    EogIds { eot, eog }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemma_like_vocab_stops_on_eos_end_of_turn_and_close_s() {
        let texts = TokenTable::new(
            ["<pad>", "<eos>", "<bos>", "</s>", "<end_of_turn>", "hello"].into_iter(),
        );
        let mut attrs = vec![
            attr::CONTROL,
            attr::CONTROL,
            attr::CONTROL,
            attr::USER_DEFINED,
            attr::CONTROL,
            attr::NORMAL,
        ];
        let ids = detect(&texts, &mut attrs, Some(1), None, None);
        assert_eq!(ids.eog, [1, 3, 4]);
        assert_eq!(ids.eot, Some(4));
        assert_ne!(attrs[3] & attr::CONTROL, 0, "</s> becomes a control token");
        assert_eq!(attrs[5], attr::NORMAL);
    }

    #[test]
    fn harmony_end_is_not_end_of_generation() {
        let texts = TokenTable::new(["<|return|>", "<|call|>", "<|end|>"].into_iter());
        let mut attrs = vec![attr::CONTROL; 3];
        let ids = detect(&texts, &mut attrs, None, None, None);
        assert_eq!(ids.eog, [0, 1]);
    }
}
