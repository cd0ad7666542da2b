//! `agora tokenize MODEL TEXT`.

use anyhow::Result;

use crate::args::TokenizeArgs;
use crate::settings;

pub fn run(a: &TokenizeArgs) -> Result<()> {
    let path = settings::resolve_model(Some(&a.model), false)?;
    let tok = super::open_tokenizer(&path)?;
    let ids = tok.encode(&a.text, !a.no_bos, true)?;
    if a.json {
        let pieces: Vec<String> = ids.iter().map(|&i| String::from_utf8_lossy(&tok.token_to_piece(i)).into_owned()).collect();
        println!("{}", serde_json::json!({"ids": ids, "pieces": pieces}));
    } else {
        for &i in &ids {
            println!("{i:>8} {:?}", String::from_utf8_lossy(&tok.token_to_piece(i)));
        }
    }
    Ok(())
}
