//! What every handler shares: the server settings and the models it runs, each with its own
//! scheduler. Requests pick a model by the `model` field.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use engine::batch::Scheduler;
use engine::LoadedModel;
use tokenize::chat::ChatTemplate;

use crate::error::ApiError;
use crate::meta::ModelMeta;

#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Accepted bearer tokens; empty = no authentication.
    pub api_keys: Vec<String>,
    /// Origins allowed by CORS; empty = no CORS headers, `*` = any.
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
}

/// One served model: its weights, scheduler, chat template and what `/v1/models` says about it.
pub struct ModelState {
    /// The id clients name in `model` (and `/v1/models` lists).
    pub id: String,
    pub meta: ModelMeta,
    pub model: Arc<LoadedModel>,
    /// Shared by a base model and its adapters, so their requests batch together.
    pub scheduler: Arc<Scheduler>,
    /// The LoRA adapter requests naming this id run with (`LoadedModel::adapters`); 0 = the base.
    pub adapter: usize,
    /// For an adapter: the id of the base model it runs on.
    pub parent: Option<String>,
    /// Requests accepted for this id (`/metrics`, label `adapter`).
    pub requests: AtomicU64,
    pub template: Arc<ChatTemplate>,
    /// Special-token texts the chat template may use.
    pub bos: String,
    pub eos: String,
    pub created: u64,
    /// `agora serve --guard`: checks on prompts and answers.
    pub guard: Option<Arc<safety::Guard>>,
}

pub struct AppState {
    pub config: ServerConfig,
    /// In the order given on the command line; the first answers routes without a `model` field.
    pub models: Vec<Arc<ModelState>>,
}

pub type Shared = Arc<AppState>;

impl ModelState {
    pub fn new(id: String, meta: ModelMeta, model: Arc<LoadedModel>, scheduler: Scheduler) -> Result<Self, tokenize::TokenizeError> {
        let tok = &model.tokenizer;
        let template = ChatTemplate::from_source_or_default(tok.chat_template(), &model.model.config().arch)?;
        let text_of = |id: Option<u32>| id.and_then(|i| tok.token_text(i)).unwrap_or("").to_string();
        let (bos, eos) = (text_of(tok.bos_id()), text_of(tok.eos_id()));
        Ok(Self { id, meta, model, scheduler: Arc::new(scheduler), adapter: 0, parent: None, requests: AtomicU64::new(0), template: Arc::new(template), bos, eos, created: now(), guard: None })
    }

    /// The entry for the base's adapter `adapter` (`LoadedModel::adapters[adapter - 1]`), served
    /// under its name on the base's scheduler; `meta` is the base's with the base as `base_model`.
    pub fn adapter(base: &ModelState, adapter: usize) -> Self {
        let id = base.model.adapters[adapter - 1].clone();
        let meta = ModelMeta { base_model: vec![base.id.clone()], adapters: Vec::new(), ..base.meta.clone() };
        Self {
            id,
            meta,
            model: base.model.clone(),
            scheduler: base.scheduler.clone(),
            adapter,
            parent: Some(base.id.clone()),
            requests: AtomicU64::new(0),
            template: base.template.clone(),
            bos: base.bos.clone(),
            eos: base.eos.clone(),
            created: base.created,
            guard: base.guard.clone(),
        }
    }

    pub fn count_request(&self) {
        self.requests.fetch_add(1, Relaxed);
    }

    pub fn n_ctx(&self) -> usize {
        self.scheduler.config().n_ctx
    }
}

impl AppState {
    /// Fails on no models or two with one id: routing by id must be unambiguous.
    pub fn new(config: ServerConfig, models: Vec<Arc<ModelState>>) -> Result<Self, String> {
        if models.is_empty() {
            return Err("a server needs at least one model".into());
        }
        for (i, m) in models.iter().enumerate() {
            if models[..i].iter().any(|o| o.id == m.id) {
                return Err(format!("two models have the id '{}'; give each a distinct id", m.id));
            }
        }
        Ok(Self { config, models })
    }

    /// The model a request names; unknown ids are a 404 listing the ones served.
    pub fn model(&self, id: &str) -> Result<Arc<ModelState>, ApiError> {
        self.models.iter().find(|m| m.id == id).cloned().ok_or_else(|| ApiError::UnknownModel { asked: id.to_string(), available: self.ids() })
    }

    /// `model(id)` when given, else the first model (routes where OpenAI has no `model` field).
    pub fn model_or_first(&self, id: Option<&str>) -> Result<Arc<ModelState>, ApiError> {
        match id {
            Some(id) => self.model(id),
            None => Ok(self.models[0].clone()),
        }
    }

    pub fn ids(&self) -> Vec<String> {
        self.models.iter().map(|m| m.id.clone()).collect()
    }
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::batch::SchedulerConfig;

    fn served(lm: &Arc<LoadedModel>, id: &str) -> Arc<ModelState> {
        let cfg = SchedulerConfig { n_ctx: 64, slots: 1, max_queue: 1, step_tokens: 16, threads: 1, kv: Default::default() };
        Arc::new(ModelState::new(id.into(), ModelMeta::default(), lm.clone(), Scheduler::start(lm.clone(), cfg)).unwrap())
    }

    fn config() -> ServerConfig {
        ServerConfig { api_keys: vec![], cors_origins: vec![], max_body_bytes: 1 << 20 }
    }

    #[test]
    fn requests_route_by_id_and_unknown_ids_name_the_served_ones() {
        let lm = Arc::new(LoadedModel::open(&store::test_model_path()).unwrap());
        let app = AppState::new(config(), vec![served(&lm, "base"), served(&lm, "tuned")]).unwrap();
        assert_eq!(app.model("tuned").unwrap().id, "tuned");
        assert_eq!(app.model("base").unwrap().id, "base");
        assert_eq!(app.model_or_first(None).unwrap().id, "base");
        let err = app.model("gpt-4").err().unwrap();
        assert_eq!(err.status(), axum::http::StatusCode::NOT_FOUND);
        let body = err.body();
        assert_eq!(body["error"]["code"], "model_not_found");
        assert_eq!(body["error"]["param"], "model");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains("'gpt-4'") && msg.contains("base, tuned"), "{msg}");
        // Two models under one id could not be told apart: refused at start.
        let dup = AppState::new(config(), vec![served(&lm, "same"), served(&lm, "same")]).err().unwrap();
        assert!(dup.contains("'same'"), "{dup}");
        assert!(AppState::new(config(), vec![]).is_err());
        for m in app.models.iter() {
            m.scheduler.shutdown();
        }
    }
}
