//! What every handler shares: the model, its scheduler and the server settings.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use engine::batch::Scheduler;
use engine::LoadedModel;
use tokenize::chat::ChatTemplate;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The id clients name in `model` (and `/v1/models` lists).
    pub model_id: String,
    /// Accepted bearer tokens; empty = no authentication.
    pub api_keys: Vec<String>,
    /// Origins allowed by CORS; empty = no CORS headers, `*` = any.
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
}

pub struct AppState {
    pub config: ServerConfig,
    pub model: Arc<LoadedModel>,
    pub scheduler: Scheduler,
    pub template: ChatTemplate,
    /// Special-token texts the chat template may use.
    pub bos: String,
    pub eos: String,
    pub created: u64,
    /// `agora serve --guard`: checks on prompts and answers.
    pub guard: Option<Arc<safety::Guard>>,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn new(config: ServerConfig, model: Arc<LoadedModel>, scheduler: Scheduler) -> Result<Self, tokenize::TokenizeError> {
        let tok = &model.tokenizer;
        let template = ChatTemplate::from_source_or_default(tok.chat_template(), &model.model.config().arch)?;
        let text_of = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
        let (bos, eos) = (text_of(tok.bos_id()), text_of(tok.eos_id()));
        Ok(Self { config, model, scheduler, template, bos, eos, created: now(), guard: None })
    }

    pub fn n_ctx(&self) -> usize {
        self.scheduler.config().n_ctx
    }
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}
