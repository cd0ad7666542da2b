//! The two things the suites ask of a model: the log-likelihood of a whole sentence, and a
//! reply to a prompt. A model whose file carries a chat template (instruction-tuned ones do)
//! gets the prompt as a user turn through it; a base model without one gets a plain transcript,
//! `User: PROMPT\nAssistant:`, stopped at the next `\nUser:` (base models answer that frame
//! sensibly, while a chat template they were never trained on yields noise).

use engine::sampler::SamplingParams;
use engine::{LoadedModel, Session};
use kernels::pool::ThreadPool;
use tokenize::chat::{ChatMessage, ChatTemplate};

use crate::choice::loglikelihood;
use crate::EvalError;

/// A loaded model with what generation needs around it.
pub struct Lm<'a> {
    pub lm: &'a LoadedModel,
    pub pool: &'a ThreadPool,
    template: Option<ChatTemplate>,
}

/// One completion: the text and its token ids (the first one is the "top token" the
/// counterfactual suite compares between groups).
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub tokens: Vec<u32>,
}

impl<'a> Lm<'a> {
    /// `chat`: use the model's own chat template when its file has one (else the transcript).
    pub fn new(lm: &'a LoadedModel, pool: &'a ThreadPool, chat: bool) -> Result<Self, EvalError> {
        let template = match lm.tokenizer.chat_template() {
            Some(src) if chat => Some(ChatTemplate::new(src).map_err(|e| EvalError::Invalid(format!("the model's chat template: {e}")))?),
            _ => None,
        };
        Ok(Lm { lm, pool, template })
    }

    /// Sum of log-probs of `text`'s tokens after BOS (the first token is scored too; a model
    /// without BOS loses its first token as context).
    pub fn sentence_loglik(&self, text: &str) -> Result<f64, EvalError> {
        let tok = &self.lm.tokenizer;
        let ids = tok.encode(text, false, false)?;
        let (ctx, cont) = match tok.bos_id() {
            Some(b) => (vec![b], ids),
            None if ids.len() >= 2 => (ids[..1].to_vec(), ids[1..].to_vec()),
            None => return Err(EvalError::Invalid(format!("'{text}' is one token and the model has no BOS to score it after"))),
        };
        if cont.is_empty() {
            return Err(EvalError::Invalid("an empty sentence cannot be scored".into()));
        }
        Ok(loglikelihood(self.lm.model.as_ref(), self.pool, &ctx, &cont)?.0)
    }

    /// Completes `prompt` as a user turn; temperature 0 is greedy, otherwise seeded sampling.
    pub fn complete(&self, prompt: &str, max_tokens: usize, temperature: f32, seed: u64) -> Result<Completion, EvalError> {
        if self.template.is_some() {
            return self.generate(prompt, true, max_tokens, temperature, seed, &[]);
        }
        let mut c = self.generate(&format!("User: {prompt}\nAssistant:"), false, max_tokens, temperature, seed, &["\nUser:".to_string()])?;
        c.text = c.text.trim().to_string();
        Ok(c)
    }

    /// Whether replies go through a chat template (else the plain transcript).
    pub fn uses_chat_template(&self) -> bool {
        self.template.is_some()
    }

    /// Continues `prompt` as plain text (BOS + prompt, no chat template), greedy, until a stop string.
    pub fn continue_text(&self, prompt: &str, max_tokens: usize, stop: &[String]) -> Result<Completion, EvalError> {
        self.generate(prompt, false, max_tokens, 0.0, 0, stop)
    }

    fn generate(&self, prompt: &str, chat: bool, max_tokens: usize, temperature: f32, seed: u64, stop: &[String]) -> Result<Completion, EvalError> {
        let tok = &self.lm.tokenizer;
        let ids = match self.template.as_ref().filter(|_| chat) {
            Some(t) => {
                let text_of = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
                let rendered = t
                    .render(&[ChatMessage::user(prompt)], true, &text_of(tok.bos_id()), &text_of(tok.eos_id()))
                    .map_err(|e| EvalError::Invalid(format!("chat template: {e}")))?;
                tok.encode_chat_prompt(&rendered)?
            }
            None => tok.encode(prompt, true, false)?,
        };
        let params = SamplingParams { temperature, seed: Some(seed), max_tokens: Some(max_tokens), stop: stop.to_vec(), ..SamplingParams::default() };
        let n_ctx = ids.len() + max_tokens + 1;
        let mut s = Session::new(self.lm.model.as_ref(), self.pool, n_ctx);
        let g = s.generate(tok, &ids, &params, &mut |_| true)?;
        Ok(Completion { text: g.text, tokens: g.tokens })
    }
}
