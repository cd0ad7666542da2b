//! `agora chat [MODEL]`: an interactive conversation rendered with the model's chat template.
//! The session keeps its KV cache between turns, so only the new turn is computed.

use std::io::{BufRead, Write};

use anyhow::Result;
use engine::Session;
use kernels::pool::ThreadPool;
use tokenize::chat::{ChatMessage, ChatTemplate};

use crate::args::ChatArgs;
use crate::settings;

pub fn run(a: &ChatArgs) -> Result<()> {
    let path = settings::resolve_model(a.model.as_deref(), true)?;
    super::acceptance::ensure(&path, a.accept_license)?;
    let lm = super::open_model_lora(&path, Some(a.opts.ctx), a.opts.lora.as_deref())?;
    let template = ChatTemplate::from_source_or_default(lm.tokenizer.chat_template(), &lm.model.config().arch)?;
    let tok = &lm.tokenizer;
    let text_of = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
    let (bos, eos) = (text_of(tok.bos_id()), text_of(tok.eos_id()));
    let pool = ThreadPool::new(settings::threads(a.opts.threads));
    let params = settings::sampling(&a.sampling, a.n_predict);
    let mut session = Session::with_kv_types(lm.model.as_ref(), &pool, a.opts.ctx, a.opts.kv.types())?;
    let mut messages: Vec<ChatMessage> = Vec::new();
    if let Some(sys) = &a.system {
        messages.push(ChatMessage::new("system", sys));
    }
    eprintln!("chatting with {} (/reset clears the history, /exit or Ctrl-D quits)", path.display());
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    loop {
        eprint!("> ");
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end_matches(['\n', '\r']);
        match line.trim() {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                messages.retain(|m| m.role == "system");
                continue;
            }
            _ => {}
        }
        messages.push(ChatMessage::new("user", line));
        let prompt = template.render(&messages, true, &bos, &eos)?;
        let ids = tok.encode_chat_prompt(&prompt)?;
        let g = match session.generate(&lm.tokenizer, &ids, &params, &mut |s| {
            print!("{s}");
            let _ = stdout.flush();
            true
        }) {
            Ok(g) => g,
            Err(e @ engine::EngineError::PromptTooLong { .. }) => {
                eprintln!("\nerror: {e}; use /reset to start over");
                messages.pop();
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        println!();
        messages.push(ChatMessage::new("assistant", g.text.trim()));
    }
    Ok(())
}
