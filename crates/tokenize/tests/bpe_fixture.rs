//! Byte-level BPE against Hugging Face `tokenizers` (fixtures made by scripts/make_bpe_fixture.py):
//! the GGUF-style vocabulary through our own BPE, and the tokenizer.json through the HF crate.

mod common;

use std::path::PathBuf;

use serde_json::Value;
use tokenize::{StreamDecoder, Tokenizer, Vocab};

const KINDS: [&str; 2] = ["gpt2", "llama-bpe"];

fn data(kind: &str, file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(kind)
        .join(file)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// The vocabulary as a GGUF would hold it, built from the plain struct.
fn gguf_style(kind: &str) -> Tokenizer {
    let v = common::read_json(&data(kind, "vocab.json"));
    assert_eq!(v["model"], "gpt2");
    let types: Vec<i32> = v["token_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap() as i32)
        .collect();
    let mut vocab = Vocab::bpe(
        strings(&v["tokens"]),
        types,
        strings(&v["merges"]),
        Some(v["pre"].as_str().unwrap().to_string()),
    );
    vocab.bos = Some(v["bos_token_id"].as_u64().unwrap() as u32);
    vocab.eos = Some(v["eos_token_id"].as_u64().unwrap() as u32);
    vocab.add_bos = v["add_bos_token"].as_bool().unwrap();
    Tokenizer::from_vocab(vocab).unwrap()
}

fn hf(kind: &str) -> Tokenizer {
    Tokenizer::from_tokenizer_json(data(kind, "tokenizer.json")).unwrap()
}

fn cases(kind: &str) -> Vec<Value> {
    let doc = common::read_json(&data(kind, "golden.json"));
    let cases = doc["cases"].as_array().unwrap().clone();
    assert!(cases.len() >= 20, "{kind}: {} cases", cases.len());
    cases
}

fn check_against_golden(kind: &str, which: &str, tok: &Tokenizer) {
    let mut failures = Vec::new();
    for c in cases(kind) {
        let text = c["text"].as_str().unwrap();
        let checks = [
            (
                "encode",
                tok.encode(text, false, true).unwrap(),
                common::ids(&c["ids"]),
            ),
            (
                "encode add_special",
                tok.encode(text, true, true).unwrap(),
                common::ids(&c["ids_with_special"]),
            ),
            (
                "encode literal",
                tok.encode(text, false, false).unwrap(),
                common::ids(&c["ids_literal"]),
            ),
        ];
        for (mode, got, want) in checks {
            if got != want {
                failures.push(format!(
                    "{text:?} ({mode}):\n   got  {got:?}\n   want {want:?}"
                ));
            }
        }
        let ids = common::ids(&c["ids"]);
        for (skip, key) in [(false, "decoded"), (true, "decoded_skip_special")] {
            let got = tok.decode(&ids, skip);
            if got != c[key].as_str().unwrap() {
                failures.push(format!(
                    "{text:?} (decode skip_special={skip}): got {got:?}, want {:?}",
                    c[key]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{kind} via {which}: {} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn gguf_style_bpe_gives_hf_ids() {
    for kind in KINDS {
        check_against_golden(kind, "GGUF-style vocab", &gguf_style(kind));
    }
}

#[test]
fn tokenizer_json_gives_hf_ids() {
    for kind in KINDS {
        check_against_golden(kind, "tokenizer.json", &hf(kind));
    }
}

#[test]
fn both_routes_agree_on_specials() {
    for kind in KINDS {
        let (g, h) = (gguf_style(kind), hf(kind));
        assert_eq!(g.vocab_size(), h.vocab_size(), "{kind}");
        assert_eq!(g.eog_ids(), h.eog_ids(), "{kind}");
        assert_eq!(g.add_bos(), h.add_bos(), "{kind}");
        if g.add_bos() {
            // (GPT-2 GGUFs name <|endoftext|> as BOS though it is never added; tokenizer.json has no BOS.)
            assert_eq!(g.bos_id(), h.bos_id(), "{kind}");
        }
        for id in 0..g.vocab_size() as u32 {
            assert_eq!(
                g.token_to_piece(id),
                h.token_to_piece(id),
                "{kind} piece {id}"
            );
            assert_eq!(g.is_special(id), h.is_special(id), "{kind} is_special {id}");
        }
    }
    let g = gguf_style("gpt2");
    let eot = g.token_id("<|endoftext|>").unwrap();
    let im_end = g.token_id("<|im_end|>").unwrap();
    assert_eq!(g.eog_ids(), [eot, im_end]);
    assert!(!g.add_bos());
    let l = gguf_style("llama-bpe");
    assert!(l.add_bos(), "Llama 3 style vocabularies add BOS");
    let tool = l.token_id("<tool>").unwrap();
    assert!(
        !l.is_special(tool),
        "a non-special added token is printed by decode(skip_special)"
    );
}

#[test]
fn stream_decoding_equals_decode_for_every_case() {
    for kind in KINDS {
        for tok in [gguf_style(kind), hf(kind)] {
            for c in cases(kind) {
                let ids = common::ids(&c["ids_with_special"]);
                for skip in [false, true] {
                    let mut dec = StreamDecoder::new(&tok, skip);
                    let mut out = String::new();
                    for &id in &ids {
                        out.push_str(&dec.push(id));
                    }
                    out.push_str(&dec.finish());
                    assert_eq!(out, tok.decode(&ids, skip), "{kind} {:?}", c["text"]);
                }
            }
        }
    }
}

#[test]
fn emoji_split_into_byte_tokens_stream_as_whole_characters() {
    let tok = gguf_style("gpt2");
    let text = "a👋🏽b日本c";
    let ids = tok.encode(text, false, false).unwrap();
    let mut dec = StreamDecoder::new(&tok, false);
    let mut chunks = Vec::new();
    for &id in &ids {
        chunks.push(dec.push(id));
    }
    chunks.push(dec.finish());
    assert!(
        ids.len() > 6,
        "the fixture vocabulary must split these characters: {ids:?}"
    );
    assert!(
        chunks.iter().any(String::is_empty),
        "partial characters must be held back"
    );
    assert!(chunks.iter().all(|c| !c.contains('\u{FFFD}')));
    assert_eq!(chunks.concat(), text);
}

#[test]
fn missing_tokenizer_json_names_the_file() {
    let err = Tokenizer::from_tokenizer_json("/nonexistent/tokenizer.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/tokenizer.json"), "{err}");
}

#[test]
fn tokenizer_config_beside_tokenizer_json_supplies_eos_and_chat_template() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        data("llama-bpe", "tokenizer.json"),
        dir.path().join("tokenizer.json"),
    )
    .unwrap();
    let config = r#"{"bos_token": "<|begin_of_text|>", "eos_token": {"content": "<|im_end|>", "special": true},
        "chat_template": "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"}"#;
    std::fs::write(dir.path().join("tokenizer_config.json"), config).unwrap();
    let tok = Tokenizer::from_tokenizer_json(dir.path().join("tokenizer.json")).unwrap();
    let im_end = tok.token_id("<|im_end|>").unwrap();
    assert_eq!(tok.eos_id(), Some(im_end));
    assert_eq!(tok.bos_id(), tok.token_id("<|begin_of_text|>"));
    assert!(tok.is_eog(im_end));
    let tmpl = tokenize::ChatTemplate::new(
        tok.chat_template()
            .expect("chat template from tokenizer_config.json"),
    )
    .unwrap();
    let bos = tok.token_text(tok.bos_id().unwrap()).unwrap();
    let text = tmpl
        .render(&[tokenize::ChatMessage::user("Hi")], false, bos, "")
        .unwrap();
    assert_eq!(text, "<|begin_of_text|><|im_start|>user\nHi<|im_end|>\n");
    let ids = tok.encode_chat_prompt(&text).unwrap();
    assert_eq!(
        ids.iter().filter(|&&id| Some(id) == tok.bos_id()).count(),
        1,
        "BOS not doubled: {ids:?}"
    );
}
