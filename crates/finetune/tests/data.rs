//! Loading and packing with the real Gemma 3 tokenizer and chat template.

use std::path::PathBuf;
use std::sync::OnceLock;

use finetune::batch::IGNORE;
use finetune::data::{Dataset, Format};
use tokenize::{ChatTemplate, Tokenizer};
use weights::GgufFile;

fn tok() -> &'static (Tokenizer, ChatTemplate) {
    static T: OnceLock<(Tokenizer, ChatTemplate)> = OnceLock::new();
    T.get_or_init(|| {
        let file = GgufFile::open(&store::test_model_path()).expect("open the test model");
        let tok = Tokenizer::from_gguf(&file).expect("tokenizer");
        let tmpl = ChatTemplate::from_source_or_default(tok.chat_template(), "gemma3").expect("template");
        (tok, tmpl)
    })
}

fn write(dir: &tempfile::TempDir, lines: &[&str]) -> PathBuf {
    let p = dir.path().join("train.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

fn load(lines: &[&str], max_len: usize) -> Result<(Dataset, finetune::data::DataStats), String> {
    let dir = tempfile::tempdir().unwrap();
    let (t, tmpl) = tok();
    Dataset::load(&write(&dir, lines), t, Some(tmpl), max_len).map_err(|e| e.to_string())
}

/// The text of the tokens that carry a loss (in order).
fn learned(ds: &Dataset, i: usize) -> String {
    let ex = &ds.examples[i];
    let ids: Vec<u32> = ex.tokens.iter().zip(&ex.mask).skip(1).filter(|(_, &m)| m).map(|(&t, _)| t).collect();
    tok().0.decode(&ids, false)
}

#[test]
fn text_records_learn_every_token_and_end_with_eos() {
    let (ds, stats) = load(&[r#"{"text": "The cat sat on the mat."}"#], 512).unwrap();
    let (t, _) = tok();
    let ex = &ds.examples[0];
    assert_eq!(ds.format, Some(Format::Text));
    assert_eq!(ex.tokens[0], t.bos_id().unwrap());
    assert_eq!(*ex.tokens.last().unwrap(), t.eos_id().unwrap());
    assert_eq!(ex.tokens[1..ex.tokens.len() - 1], t.encode("The cat sat on the mat.", false, false).unwrap()[..]);
    assert_eq!(stats.target_tokens, ex.tokens.len() - 1);
    assert_eq!(stats.tokens, ex.tokens.len());
    assert!(learned(&ds, 0).starts_with("The cat sat on the mat."));
}

#[test]
fn prompt_completion_learns_only_the_completion_and_the_stop() {
    let (ds, stats) = load(&[r#"{"prompt": "Q: 2+2?\nA:", "completion": " 4"}"#], 512).unwrap();
    let eos = tok().0.token_text(tok().0.eos_id().unwrap()).unwrap().to_string();
    assert_eq!(learned(&ds, 0), format!(" 4{eos}"));
    assert_eq!(stats.target_tokens, tok().0.encode(" 4", false, false).unwrap().len() + 1);
}

#[test]
fn messages_learn_assistant_turns_through_end_of_turn() {
    let line = r#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "See you."}]}"#;
    let (ds, _) = load(&[line], 512).unwrap();
    assert_eq!(ds.format, Some(Format::Messages));
    assert_eq!(learned(&ds, 0), "Hello!<end_of_turn>\nSee you.<end_of_turn>\n");
    // The whole example is the template's rendering of the conversation.
    let (t, tmpl) = tok();
    let msgs: Vec<tokenize::ChatMessage> = serde_json::from_str::<serde_json::Value>(line).unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| tokenize::ChatMessage::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect();
    let full = tmpl.render(&msgs, false, "<bos>", "<eos>").unwrap();
    assert_eq!(t.decode(&ds.examples[0].tokens, false), full);
    assert_eq!(ds.examples[0].tokens[0], t.bos_id().unwrap());
}

#[test]
fn bad_lines_name_the_file_line_and_what_was_expected() {
    let e = load(&[r#"{"text": "ok"}"#, r#"{"txt": "typo"}"#], 64).unwrap_err();
    assert!(e.contains("train.jsonl") && e.contains("line 2") && e.contains("\"text\""), "{e}");
    let e = load(&[r#"{"text": "ok"}"#, "", r#"{"prompt": "a", "completion": "b"}"#], 64).unwrap_err();
    assert!(e.contains("line 3") && e.contains("one format per file"), "{e}");
    let e = load(&["{not json"], 64).unwrap_err();
    assert!(e.contains("line 1") && e.contains("not valid JSON"), "{e}");
    let e = load(&[r#"{"text": 5}"#], 64).unwrap_err();
    assert!(e.contains("\"text\" is a JSON number"), "{e}");
    let e = load(&[r#"{"messages": [{"role": "user", "content": "hi"}]}"#], 64).unwrap_err();
    assert!(e.contains("no assistant turn"), "{e}");
    let e = load(&[], 64).unwrap_err();
    assert!(e.contains("no records"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let chat = write(&dir, &[r#"{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}"#]);
    let e = Dataset::load(&chat, &tok().0, None, 64).unwrap_err().to_string();
    assert!(e.contains("line 1") && e.contains("chat template"), "{e}");
    // A byte-order mark and CRLF line ends are accepted.
    let p = dir.path().join("bom.jsonl");
    std::fs::write(&p, "\u{feff}{\"text\": \"a b\"}\r\n{\"text\": \"c\"}\r\n").unwrap();
    let (ds, _) = Dataset::load(&p, &tok().0, None, 64).unwrap();
    assert_eq!(ds.examples.len(), 2);
    let e = load(&[], 64).unwrap_err();
    assert!(e.contains("no records"), "{e}");
}

#[test]
fn long_examples_are_truncated_and_counted() {
    let long = format!(r#"{{"text": "{}"}}"#, "word ".repeat(100));
    let (ds, stats) = load(&[r#"{"text": "short"}"#, &long, r#"{"text": "x"}"#], 16).unwrap();
    assert_eq!(stats.truncated, 1);
    assert_eq!(stats.truncated_lines, vec![2]);
    assert_eq!(ds.examples[1].tokens.len(), 16);
    assert_eq!(stats.examples, 3);
    // A prompt that fills max_len leaves nothing to learn: dropped and counted.
    let p = format!(r#"{{"prompt": "{}", "completion": "y"}}"#, "word ".repeat(100));
    let (_, stats) = load(&[r#"{"prompt": "a", "completion": "b"}"#, &p], 16).unwrap();
    assert_eq!((stats.truncated, stats.dropped, stats.examples), (1, 1, 1));
}

#[test]
fn packing_respects_documents_masks_and_max_len() {
    let lines: Vec<String> = (0..20).map(|i| format!(r#"{{"prompt": "Question {i}?", "completion": " Answer {i}."}}"#)).collect();
    let refs: Vec<&str> = lines.iter().map(|s| s.as_str()).collect();
    let (ds, stats) = load(&refs, 40).unwrap();
    let batches = ds.epoch_batches(0, 7, 40);
    let mut n_docs = 0;
    let mut n_targets = 0;
    for b in &batches {
        assert!(b.tokens.len() <= 40);
        assert_eq!(b.tokens.len(), b.targets.len());
        assert_eq!(b.doc_starts[0], 0);
        for (s, len) in b.docs() {
            for i in s..s + len {
                let t = b.targets[i];
                if i + 1 == s + len {
                    assert_eq!(t, IGNORE, "no target across a document end");
                } else if t != IGNORE {
                    assert_eq!(t, b.tokens[i + 1]);
                }
            }
            assert_eq!(b.tokens[s], tok().0.bos_id().unwrap(), "each document starts with BOS");
        }
        n_docs += b.doc_starts.len();
        n_targets += b.n_targets();
    }
    assert_eq!(n_docs, 20);
    assert_eq!(n_targets, stats.target_tokens);
    assert!(batches.len() < 20, "several documents share a batch");
    // Deterministic per (seed, epoch); epochs differ.
    assert_eq!(batches, ds.epoch_batches(0, 7, 40));
    assert_ne!(batches, ds.epoch_batches(1, 7, 40));
    assert_ne!(batches, ds.epoch_batches(0, 8, 40));
}
