//! A record -> tokens plus a loss mask (`mask[i]`: token i is a training target, predicted from i - 1).

use tokenize::chat::{ChatMessage, ChatTemplate};
use tokenize::Tokenizer;

use super::record::Record;

/// One tokenized training example.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    pub tokens: Vec<u32>,
    pub mask: Vec<bool>,
}

impl Example {
    pub fn n_targets(&self) -> usize {
        // Token 0 has nothing before it to predict it from.
        self.mask.iter().skip(1).filter(|&&m| m).count()
    }

    fn push(&mut self, ids: &[u32], learn: bool) {
        self.tokens.extend_from_slice(ids);
        self.mask.extend(ids.iter().map(|_| learn));
    }
}

/// What encoding needs besides the record.
pub struct Encoder<'a> {
    pub tok: &'a Tokenizer,
    /// Required for `messages` files.
    pub template: Option<&'a ChatTemplate>,
}

impl Encoder<'_> {
    fn bos(&self) -> Vec<u32> {
        self.tok.bos_id().filter(|_| self.tok.add_bos()).into_iter().collect()
    }

    /// The token that tells the model a plain-text document or completion is over.
    fn eos(&self) -> Vec<u32> {
        self.tok.eos_id().into_iter().collect()
    }

    fn enc(&self, text: &str) -> Result<Vec<u32>, String> {
        self.tok.encode(text, false, false).map_err(|e| format!("cannot tokenize: {e}"))
    }

    pub fn encode(&self, rec: &Record) -> Result<Example, String> {
        let mut ex = Example { tokens: Vec::new(), mask: Vec::new() };
        match rec {
            Record::Text(t) => {
                ex.push(&self.bos(), false);
                ex.push(&self.enc(t)?, true);
                ex.push(&self.eos(), true);
            }
            Record::PromptCompletion { prompt, completion } => {
                ex.push(&self.bos(), false);
                ex.push(&self.enc(prompt)?, false);
                ex.push(&self.enc(completion)?, true);
                ex.push(&self.eos(), true);
            }
            Record::Messages(msgs) => self.encode_chat(msgs, &mut ex)?,
        }
        Ok(ex)
    }

    /// Renders the conversation prefix by prefix: the text up to each assistant turn's opening
    /// (`add_generation_prompt`) carries no loss; the assistant's turn through its end-of-turn marker
    /// does. Each piece is tokenized on its own, so the spans line up exactly with the mask.
    fn encode_chat(&self, msgs: &[ChatMessage], ex: &mut Example) -> Result<(), String> {
        let template = self
            .template
            .ok_or("a \"messages\" dataset needs the model's chat template, and none was given")?;
        let text_of = |id: Option<u32>| id.and_then(|i| self.tok.token_text(i)).unwrap_or("").to_string();
        let (bos, eos) = (text_of(self.tok.bos_id()), text_of(self.tok.eos_id()));
        let render = |n: usize, gen: bool| {
            template.render(&msgs[..n], gen, &bos, &eos).map_err(|e| format!("chat template: {e}"))
        };
        let mut done = String::new();
        let mut add = |text: String, learn: bool, ex: &mut Example| -> Result<(), String> {
            let piece = text.strip_prefix(done.as_str()).ok_or(
                "the chat template does not render the conversation incrementally (a longer conversation \
                 changes earlier text), so assistant turns cannot be located; use prompt/completion records",
            )?;
            let ids = if done.is_empty() {
                self.tok.encode_chat_prompt(piece)
            } else {
                self.tok.encode(piece, false, true)
            }
            .map_err(|e| format!("cannot tokenize: {e}"))?;
            ex.push(&ids, learn);
            done = text;
            Ok(())
        };
        for (k, m) in msgs.iter().enumerate() {
            if m.role == "assistant" {
                add(render(k, true)?, false, ex)?;
                add(render(k + 1, false)?, true, ex)?;
            }
        }
        // Anything after the last assistant turn (e.g. a trailing user message) is context only.
        add(render(msgs.len(), false)?, false, ex)
    }
}
