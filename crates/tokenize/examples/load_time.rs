//! Times opening a GGUF, building its tokenizer, and encoding a text:
//! `cargo run --release -p tokenize --example load_time -- model.gguf [text-file]`.

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: load_time <model.gguf>");
        return ExitCode::from(2);
    };
    let text_file = std::env::args_os().nth(2);
    match run(
        std::path::Path::new(&path),
        text_file.as_deref().map(std::path::Path::new),
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    path: &std::path::Path,
    text_file: Option<&std::path::Path>,
) -> Result<(), Box<dyn std::error::Error>> {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let file = weights::GgufFile::open(path)?;
    println!("GGUF open + metadata parse: {:.1} ms", ms(t));
    for _ in 0..3 {
        let t = Instant::now();
        let tok = tokenize::Tokenizer::from_gguf(&file)?;
        println!(
            "Tokenizer::from_gguf ({} tokens): {:.1} ms",
            tok.vocab_size(),
            ms(t)
        );
    }
    let t = Instant::now();
    let vocab = tokenize::Vocab::from_gguf_metadata(file.metadata())?;
    let tok = tokenize::Tokenizer::from_vocab(vocab)?;
    println!(
        "Vocab::from_gguf_metadata + Tokenizer::from_vocab: {:.1} ms",
        ms(t)
    );
    let text = match text_file {
        Some(p) => std::fs::read_to_string(p)?,
        None => "The quick brown fox jumps over the lazy dog. ".repeat(200),
    };
    let t = Instant::now();
    let ids = tok.encode(&text, true, true)?;
    println!(
        "encode {} bytes -> {} tokens: {:.2} ms",
        text.len(),
        ids.len(),
        ms(t)
    );
    Ok(())
}
