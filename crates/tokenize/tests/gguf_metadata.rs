//! Building tokenizers from in-memory GGUF metadata: defaults, SentencePiece details, and errors.

use tokenize::{ChatTemplate, TokenizeError, Tokenizer, Vocab};
use weights::Metadata;

/// A tiny Llama-2-style SentencePiece vocabulary (space prefix on, BOS 1, EOS 2, UNK 0).
fn tiny_spm() -> Metadata {
    let mut m = Metadata::new();
    m.insert("general.architecture", "llama");
    m.insert("tokenizer.ggml.model", "llama");
    // Every merge step needs its intermediate token: ▁H ▁He ll llo ▁Hello, or ld orld ▁w ▁world.
    let mut tokens = vec![
        "<unk>",
        "<s>",
        "</s>",
        "\u{2581}",
        "\u{2581}H",
        "\u{2581}He",
        "llo",
        "\u{2581}Hello",
        "\u{2581}w",
        "orld",
    ];
    tokens.extend([
        "ll",
        "or",
        "ld",
        "o",
        "r",
        "l",
        "d",
        "e",
        "H",
        "w",
        "\u{2581}world",
        "<0x0A>",
        "<0xC3>",
        "<0xA9>",
    ]);
    let n = tokens.len();
    let mut scores: Vec<f32> = (0..n).map(|i| -(i as f32)).collect();
    scores[0..3].fill(0.0);
    let mut types = vec![1i32; n];
    types[0] = 2; // UNKNOWN
    types[1] = 3; // CONTROL
    types[2] = 3;
    for t in &mut types[n - 3..] {
        *t = 6; // BYTE
    }
    m.insert("tokenizer.ggml.tokens", tokens);
    m.insert("tokenizer.ggml.scores", scores);
    m.insert("tokenizer.ggml.token_type", types);
    m
}

#[test]
fn spm_defaults_add_bos_and_a_space_prefix() {
    let tok = Tokenizer::from_gguf_metadata(&tiny_spm()).unwrap();
    assert_eq!(tok.bos_id(), Some(1));
    assert_eq!(tok.eos_id(), Some(2));
    assert!(tok.add_bos());
    let ids = tok.encode("Hello world", true, true).unwrap();
    let texts: Vec<&str> = ids.iter().map(|&id| tok.token_text(id).unwrap()).collect();
    assert_eq!(texts, ["<s>", "\u{2581}Hello", "\u{2581}world"]);
    // The dummy prefix is removed again when decoding, and BOS is hidden.
    assert_eq!(tok.decode(&ids, true), "Hello world");
    // A space prefix also follows a special token in the text.
    let ids = tok.encode("<s>Hello", false, true).unwrap();
    assert_eq!(ids, [1, 7]);
    // Characters outside the vocabulary fall back to bytes; newline has a byte token.
    let ids = tok.encode("\n\u{e9}", false, true).unwrap();
    let texts: Vec<&str> = ids.iter().map(|&id| tok.token_text(id).unwrap()).collect();
    assert_eq!(texts, ["\u{2581}", "<0x0A>", "<0xC3>", "<0xA9>"]);
    assert_eq!(tok.decode(&ids, true), "\n\u{e9}");
}

#[test]
fn metadata_keys_override_defaults() {
    let mut m = tiny_spm();
    m.insert("tokenizer.ggml.add_space_prefix", false);
    m.insert("tokenizer.ggml.add_bos_token", false);
    m.insert("tokenizer.ggml.eos_token_id", 1u32);
    m.insert("tokenizer.chat_template", "{{ messages[0].content }}!");
    let tok = Tokenizer::from_gguf_metadata(&m).unwrap();
    assert!(!tok.add_bos());
    assert_eq!(tok.eos_id(), Some(1));
    assert_eq!(
        tok.encode("Hello", true, true).unwrap(),
        [18, 17, 6],
        "no BOS, no prefix: H e llo"
    );
    assert_eq!(tok.chat_template(), Some("{{ messages[0].content }}!"));
    let t = ChatTemplate::from_gguf_or_default(&m).unwrap();
    assert_eq!(
        t.render(&[tokenize::ChatMessage::user("hey")], true, "", "")
            .unwrap(),
        "hey!"
    );
}

#[test]
fn vocab_copy_and_borrowed_build_agree() {
    let m = tiny_spm();
    let a = Tokenizer::from_gguf_metadata(&m).unwrap();
    let b = Tokenizer::from_vocab(Vocab::from_gguf_metadata(&m).unwrap()).unwrap();
    for text in ["Hello world", " He llo\n", "w\u{e9}"] {
        assert_eq!(
            a.encode(text, true, true).unwrap(),
            b.encode(text, true, true).unwrap(),
            "{text:?}"
        );
    }
}

#[test]
fn missing_tokenizer_says_to_supply_tokenizer_json() {
    let mut m = Metadata::new();
    m.insert("general.architecture", "gemma3");
    let err = Tokenizer::from_gguf_metadata(&m).unwrap_err();
    assert!(matches!(err, TokenizeError::NoTokenizer), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("tokenizer.ggml.tokens missing") && msg.contains("--tokenizer"),
        "{msg}"
    );
    m.insert("tokenizer.ggml.model", "no_vocab");
    assert!(matches!(
        Tokenizer::from_gguf_metadata(&m),
        Err(TokenizeError::NoTokenizer)
    ));
}

#[test]
fn unknown_model_kind_is_named() {
    let mut m = tiny_spm();
    m.insert("tokenizer.ggml.model", "bert");
    let err = Tokenizer::from_gguf_metadata(&m).unwrap_err();
    assert!(
        matches!(&err, TokenizeError::UnknownModel(k) if k == "bert"),
        "{err:?}"
    );
    assert!(err.to_string().contains("'bert'"));
}

#[test]
fn bpe_without_merges_or_with_an_unknown_pre_tokenizer_fails() {
    let mut m = Metadata::new();
    m.insert("tokenizer.ggml.model", "gpt2");
    m.insert("tokenizer.ggml.tokens", vec!["a", "b", "ab"]);
    let err = Tokenizer::from_gguf_metadata(&m).unwrap_err();
    assert!(err.to_string().contains("merges"), "{err}");
    m.insert("tokenizer.ggml.merges", vec!["a b"]);
    m.insert("tokenizer.ggml.pre", "klingon");
    let err = Tokenizer::from_gguf_metadata(&m).unwrap_err();
    assert!(
        matches!(&err, TokenizeError::UnknownPreTokenizer(p) if p == "klingon"),
        "{err:?}"
    );
}

#[test]
fn short_arrays_and_wrong_types_are_errors_not_panics() {
    let mut m = tiny_spm();
    m.insert("tokenizer.ggml.scores", vec![0.0f32; 3]);
    let err = Tokenizer::from_gguf_metadata(&m).unwrap_err();
    assert!(matches!(err, TokenizeError::BadVocab(_)), "{err:?}");

    let mut m = tiny_spm();
    m.insert("tokenizer.ggml.tokens", "not an array");
    let err = Tokenizer::from_gguf_metadata(&m).unwrap_err();
    assert!(matches!(err, TokenizeError::Metadata(_)), "{err:?}");

    // Special ids out of range are dropped, as llama.cpp does.
    let mut m = tiny_spm();
    m.insert("tokenizer.ggml.bos_token_id", 9999u32);
    let tok = Tokenizer::from_gguf_metadata(&m).unwrap();
    assert_eq!(tok.bos_id(), None);
    assert!(!tok.add_bos());
}
