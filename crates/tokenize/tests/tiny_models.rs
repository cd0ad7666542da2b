//! The repository's tiny fixture models (testdata/tiny-gemma3, testdata/tiny-llama): their GGUF
//! vocabularies (written by llama.cpp's converter) and their tokenizer.json files must both give the
//! ids `transformers` recorded in golden.json, and the models' own chat templates must render the
//! recorded chat text.

mod common;

use std::path::PathBuf;

use serde_json::Value;
use tokenize::{ChatMessage, ChatTemplate, StreamDecoder, Tokenizer};

fn fixture(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name);
    assert!(
        dir.is_dir(),
        "fixture {} missing (made by scripts/make_tiny_models.py)",
        dir.display()
    );
    dir
}

fn routes(name: &str) -> [(&'static str, Tokenizer); 2] {
    let dir = fixture(name);
    let gguf = weights::GgufFile::open(&dir.join("model-f32.gguf")).expect("open fixture GGUF");
    [
        (
            "GGUF",
            Tokenizer::from_gguf(&gguf).expect("tokenizer from GGUF"),
        ),
        (
            "tokenizer.json",
            Tokenizer::from_tokenizer_json(dir.join("tokenizer.json")).expect("tokenizer.json"),
        ),
    ]
}

fn check(name: &str) {
    let golden = common::read_json(&fixture(name).join("golden.json"));
    let sp = &golden["special_tokens"];
    for (route, tok) in routes(name) {
        let ctx = format!("{name} via {route}");
        assert_eq!(
            tok.bos_id(),
            Some(sp["bos"].as_u64().unwrap() as u32),
            "{ctx}"
        );
        assert_eq!(
            tok.eos_id(),
            Some(sp["eos"].as_u64().unwrap() as u32),
            "{ctx}"
        );
        assert_eq!(
            tok.eog_ids(),
            common::ids(&sp["end_of_generation"]),
            "{ctx}"
        );
        assert!(tok.add_bos(), "{ctx}");

        for c in golden["tokenizer"].as_array().unwrap() {
            let text = c["text"].as_str().unwrap();
            let with = common::ids(&c["ids_add_special_true"]);
            let without = common::ids(&c["ids_add_special_false"]);
            assert_eq!(
                tok.encode(text, true, true).unwrap(),
                with,
                "{ctx}: {text:?}"
            );
            assert_eq!(
                tok.encode(text, false, true).unwrap(),
                without,
                "{ctx}: {text:?}"
            );
            let texts: Vec<&str> = without
                .iter()
                .map(|&id| tok.token_text(id).unwrap())
                .collect();
            let pieces: Vec<&str> = c["pieces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            assert_eq!(texts, pieces, "{ctx}: {text:?}");
            let decoded = c["decoded_skip_special"].as_str().unwrap();
            assert_eq!(tok.decode(&with, true), decoded, "{ctx}: {text:?}");
            let mut stream = StreamDecoder::new(&tok, true);
            let mut out: String = with.iter().map(|&id| stream.push(id)).collect();
            out.push_str(&stream.finish());
            assert_eq!(out, decoded, "{ctx}: streamed {text:?}");
        }

        let chat = &golden["chat"];
        let messages: Vec<ChatMessage> = serde_json::from_value(chat["messages"].clone()).unwrap();
        let source = tok
            .chat_template()
            .unwrap_or_else(|| panic!("{ctx}: the fixture has a chat template"));
        let tmpl = ChatTemplate::new(source).unwrap();
        let bos = tok.token_text(tok.bos_id().unwrap()).unwrap();
        let eos = tok.token_text(tok.eos_id().unwrap()).unwrap();
        let add_gen = chat["add_generation_prompt"].as_bool().unwrap();
        let rendered = tmpl.render(&messages, add_gen, bos, eos).unwrap();
        assert_eq!(rendered, chat["text"].as_str().unwrap(), "{ctx}: chat text");
        assert_eq!(
            tok.encode_chat_prompt(&rendered).unwrap(),
            common::ids(&chat["ids"]),
            "{ctx}: chat ids"
        );
    }
}

#[test]
fn tiny_gemma3_both_routes_match_transformers() {
    check("tiny-gemma3");
}

#[test]
fn tiny_llama_both_routes_match_transformers() {
    check("tiny-llama");
}

#[test]
fn builtin_gemma_template_matches_the_fixture_template() {
    let golden = common::read_json(&fixture("tiny-gemma3").join("golden.json"));
    let chat: &Value = &golden["chat"];
    let messages: Vec<ChatMessage> = serde_json::from_value(chat["messages"].clone()).unwrap();
    let builtin = ChatTemplate::builtin("gemma3").unwrap();
    let text = builtin.render(&messages, true, "<bos>", "<eos>").unwrap();
    assert_eq!(text, chat["text"].as_str().unwrap());
    let builtin = ChatTemplate::builtin("llama").unwrap();
    let golden = common::read_json(&fixture("tiny-llama").join("golden.json"));
    let text = builtin
        .render(&messages, true, "<|begin_of_text|>", "<|end_of_text|>")
        .unwrap();
    assert_eq!(text, golden["chat"]["text"].as_str().unwrap());
}
