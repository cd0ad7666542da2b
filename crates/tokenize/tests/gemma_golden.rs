//! The real Gemma 3 270M vocabulary against llama.cpp's tokenization (shared/reference/.../tokenize.json).

mod common;

use std::sync::OnceLock;
use std::time::Instant;

use tokenize::{ChatMessage, ChatTemplate, StreamDecoder, Tokenizer};
use weights::GgufFile;

struct Model {
    file: GgufFile,
    tok: Tokenizer,
}

fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let t0 = Instant::now();
        let file = GgufFile::open(&common::model_path()).expect("open the GGUF");
        let t1 = Instant::now();
        let tok = Tokenizer::from_gguf(&file).expect("tokenizer from GGUF");
        let t2 = Instant::now();
        eprintln!(
            "GGUF open (metadata parse) {:.1} ms, tokenizer build {:.1} ms",
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3
        );
        Model { file, tok }
    })
}

fn cases() -> Vec<serde_json::Value> {
    let doc = common::read_json(&common::reference_path("tokenize.json"));
    let cases = doc["cases"]
        .as_array()
        .expect("tokenize.json has a `cases` array")
        .clone();
    assert_eq!(cases.len(), 28, "tokenize.json should hold 28 strings");
    cases
}

#[test]
fn vocabulary_facts_match_llama_cpp() {
    let doc = common::read_json(&common::reference_path("tokenize.json"));
    let tok = &model().tok;
    assert_eq!(tok.vocab_size() as u64, doc["n_vocab"].as_u64().unwrap());
    let sp = &doc["special_tokens"];
    assert_eq!(tok.bos_id(), Some(sp["bos"].as_u64().unwrap() as u32));
    assert_eq!(tok.eos_id(), Some(sp["eos"].as_u64().unwrap() as u32));
    assert_eq!(tok.eot_id(), Some(sp["eot"].as_u64().unwrap() as u32));
    for name in [
        "<start_of_turn>",
        "<end_of_turn>",
        "<unk>",
        "<mask>",
        "<pad>",
        "<eos>",
        "<bos>",
    ] {
        assert_eq!(
            tok.token_id(name),
            Some(sp[name].as_u64().unwrap() as u32),
            "{name}"
        );
    }
    assert_eq!(
        tok.eog_ids(),
        [1, 106, 212],
        "EOG: <eos>, <end_of_turn>, </s>"
    );
    assert!(tok.add_bos());
    assert!(tok.is_special(2) && tok.is_special(106) && tok.is_special(212));
    assert!(!tok.is_special(107), "\\n is user-defined, not special");
    assert!(!tok.is_special(9259));
}

#[test]
fn ids_match_llama_cpp_exactly() {
    let tok = &model().tok;
    let mut failures = Vec::new();
    for c in cases() {
        let text = c["text"].as_str().unwrap();
        let with_bos = common::ids(&c["ids_with_bos"]);
        let without = common::ids(&c["ids_without_bos"]);
        // Present only when it differs from ids_without_bos.
        let literal = c
            .get("ids_without_bos_parse_special_false")
            .map(common::ids)
            .unwrap_or_else(|| without.clone());
        let got = [
            (
                "add_special, parse_special",
                tok.encode(text, true, true).unwrap(),
                with_bos,
            ),
            (
                "parse_special",
                tok.encode(text, false, true).unwrap(),
                without,
            ),
            (
                "no specials",
                tok.encode(text, false, false).unwrap(),
                literal,
            ),
        ];
        for (mode, got, want) in got {
            if got != want {
                failures.push(format!(
                    "{text:?} ({mode}):\n   got  {got:?}\n   want {want:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn pieces_match_llama_cpp_bytes() {
    let tok = &model().tok;
    let mut n = 0;
    for c in cases() {
        for key in ["pieces", "pieces_parse_special_false"] {
            for p in c.get(key).and_then(|v| v.as_array()).into_iter().flatten() {
                let id = p["id"].as_u64().unwrap() as u32;
                let want = common::hex_to_bytes(p["bytes_hex"].as_str().unwrap());
                assert_eq!(
                    tok.token_to_piece(id),
                    want,
                    "piece of {id} ({:?})",
                    p["piece"]
                );
                n += 1;
            }
        }
    }
    assert!(n > 200, "only {n} pieces checked");
    // Byte-fallback tokens stand for their byte.
    let nl = tok.token_id("<0x0A>").expect("<0x0A> in vocab");
    assert_eq!(tok.token_to_piece(nl), b"\n");
}

#[test]
fn decode_matches_reference_and_round_trips() {
    let tok = &model().tok;
    for c in cases() {
        let text = c["text"].as_str().unwrap();
        let detok = c["detokenized"].as_str().unwrap();
        let with_bos = common::ids(&c["ids_with_bos"]);
        let without = common::ids(&c["ids_without_bos"]);
        assert_eq!(
            tok.decode(&without, true),
            detok,
            "decode(skip_special) of {text:?}"
        );
        assert_eq!(
            tok.decode(&with_bos, true),
            detok,
            "BOS is hidden with skip_special for {text:?}"
        );
        assert_eq!(tok.decode(&without, false), text, "round trip of {text:?}");
    }
}

#[test]
fn decode_skips_ids_outside_the_vocabulary() {
    let tok = &model().tok;
    assert_eq!(tok.decode(&[9259, 999_999_999, 1902], false), "Hello world");
    assert!(tok.token_to_piece(u32::MAX).is_empty());
}

#[test]
fn streaming_decoder_holds_back_partial_characters() {
    let tok = &model().tok;
    // Characters rare enough to fall back to byte tokens, mixed with ordinary text.
    let text = "Hi 𓀀𓁿 and 𝟘 \u{10FFFD} 日本語 👋🏽 done";
    let ids = tok.encode(text, false, false).unwrap();
    let byte_tokens = ids
        .iter()
        .filter(|&&id| tok.token_text(id).is_some_and(|t| t.starts_with("<0x")))
        .count();
    assert!(
        byte_tokens >= 4,
        "the test text should exercise byte fallback, got {ids:?}"
    );

    let mut dec = StreamDecoder::new(tok, true);
    let mut streamed = String::new();
    let mut chunks_while_pending = 0;
    for &id in &ids {
        let chunk = dec.push(id);
        if chunk.is_empty() {
            chunks_while_pending += 1;
        }
        assert!(
            !chunk.contains('\u{FFFD}'),
            "no replacement characters for valid input: {chunk:?}"
        );
        streamed.push_str(&chunk);
    }
    streamed.push_str(&dec.finish());
    assert!(
        chunks_while_pending > 0,
        "some byte tokens must be held back"
    );
    assert_eq!(streamed, tok.decode(&ids, true));
    assert_eq!(streamed, text);
}

#[test]
fn streaming_decoder_flushes_a_cut_character_like_decode() {
    let tok = &model().tok;
    let b = |x: u8| tok.token_id(&format!("<0x{x:02X}>")).unwrap();
    // "€" is E2 82 AC; stop after two bytes, then an invalid lone continuation byte in the middle.
    let ids = [
        9259,
        b(0xE2),
        b(0x82),
        b(0x41),
        b(0x80),
        1902,
        b(0xE2),
        b(0x82),
    ];
    let mut dec = StreamDecoder::new(tok, true);
    let mut streamed: String = ids.iter().map(|&id| dec.push(id)).collect();
    streamed.push_str(&dec.finish());
    assert_eq!(streamed, tok.decode(&ids, true));
    assert_eq!(streamed, "Hello\u{FFFD}A\u{FFFD} world\u{FFFD}");
}

#[test]
fn chat_template_renders_gemma_turns_and_bos_is_not_doubled() {
    let m = model();
    let meta = m.file.metadata();
    assert!(
        meta.get("tokenizer.chat_template").is_none(),
        "this GGUF carries no template: the built-in one is used"
    );
    let tmpl = ChatTemplate::from_gguf_or_default(meta).unwrap();
    let tok = &m.tok;
    let bos = tok.token_text(tok.bos_id().unwrap()).unwrap();
    let eos = tok.token_text(tok.eos_id().unwrap()).unwrap();
    let rendered = tmpl
        .render(&[ChatMessage::user("Hi")], true, bos, eos)
        .unwrap();
    assert_eq!(
        rendered,
        "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    );

    let ids = tok.encode_chat_prompt(&rendered).unwrap();
    assert_eq!(
        ids.iter().filter(|&&id| id == 2).count(),
        1,
        "exactly one BOS: {ids:?}"
    );
    assert_eq!(&ids[..2], [2, 105]);
    let body = rendered.strip_prefix("<bos>").unwrap();
    assert_eq!(ids, tok.encode(body, true, true).unwrap());
    // The reference's own chat-shaped case agrees.
    assert_eq!(
        tok.encode(
            "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
            false,
            true
        )
        .unwrap(),
        [105, 2364, 107, 9259, 106, 107, 105, 4368, 107]
    );
}

#[test]
fn load_time_is_well_under_half_a_second() {
    // Build twice more from the already-open file; the first build (in `model()`) is printed.
    let file = &model().file;
    let t = Instant::now();
    let tok = Tokenizer::from_gguf(file).unwrap();
    let dt = t.elapsed();
    eprintln!(
        "tokenizer build from parsed metadata: {:.1} ms",
        dt.as_secs_f64() * 1e3
    );
    assert_eq!(tok.vocab_size(), 262_144);
    // A generous bound (the target is far lower) so a busy machine does not fail it.
    assert!(
        dt.as_secs_f64() < 2.0,
        "building the 262k vocabulary took {dt:?}"
    );
}
