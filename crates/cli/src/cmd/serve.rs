//! `agora serve [MODEL ...]`: the OpenAI-compatible API over continuous-batching schedulers,
//! one per model, and the playground page at `/`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use engine::batch::{Scheduler, SchedulerConfig};
use engine::LoadedModel;
use models::WeightSource;
use server::meta::{file_type_name, Card};
use server::{AppState, License, ModelMeta, ModelState, ServerConfig};

use crate::args::ServeArgs;
use crate::settings;

pub fn run(a: &ServeArgs) -> Result<()> {
    if a.parallel == 0 || a.ctx < 16 || a.step_tokens == 0 {
        bail!("--parallel and --step-tokens must be at least 1 and --ctx at least 16");
    }
    // The policy first: a mistake in it should not wait for a model load.
    let guard = super::guard::build(a.guard.as_deref(), a.guard_log.as_deref(), settings::threads(a.threads))?;
    let specs: Vec<Option<&str>> = if a.models.is_empty() { vec![None] } else { a.models.iter().map(|m| Some(m.as_str())).collect() };
    if !a.model_ids.is_empty() && a.model_ids.len() != specs.len() {
        bail!("{} --model-id given for {} models: give one per model, in the same order, or none", a.model_ids.len(), specs.len());
    }
    let loras = parse_loras(&a.loras)?;
    if !loras.is_empty() && specs.len() != 1 {
        bail!("--lora serves adapters of one base model, but {} models were given: serve the adapters' base alone", specs.len());
    }
    let mut api_keys = a.api_keys.clone();
    if let Some(f) = &a.api_key_file {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading the API key file {}", f.display()))?;
        api_keys.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    let mut models = Vec::with_capacity(specs.len());
    for (i, spec) in specs.iter().enumerate() {
        let path = settings::resolve_model(*spec, true)?;
        super::acceptance::ensure(&path, a.accept_license)?;
        let mut lm = super::open_model_ctx(&path, a.ctx)?;
        a.kv.types().check(lm.model.config()).with_context(|| format!("model {}", path.display()))?;
        for (name, dir) in &loras {
            lm.attach_adapter(name, dir).with_context(|| format!("loading the LoRA adapter '{name}' from {}", dir.display()))?;
        }
        let lm = Arc::new(lm);
        let id = match a.model_ids.get(i) {
            Some(id) => id.clone(),
            None => unique_id(default_id(*spec, &path), &models.iter().map(|m: &Arc<ModelState>| m.id.clone()).collect::<Vec<_>>()),
        };
        let mut meta = model_meta(&lm);
        meta.adapters = lm.adapters.clone();
        let sched_cfg = SchedulerConfig { n_ctx: a.ctx, slots: a.parallel, max_queue: a.queue, step_tokens: a.step_tokens, threads: settings::threads(a.threads), kv: a.kv.types() };
        let scheduler = Scheduler::start(lm.clone(), sched_cfg);
        let mut m = ModelState::new(id, meta, lm, scheduler)?;
        m.guard = guard.clone();
        let base = Arc::new(m);
        models.push(base.clone());
        // Each adapter is a model id of its own, on the base's scheduler.
        models.extend((1..=lm_adapters(&base)).map(|i| Arc::new(ModelState::adapter(&base, i))));
    }
    let config = ServerConfig { api_keys, cors_origins: a.cors_origins.clone(), max_body_bytes: a.max_body };
    let state = Arc::new(AppState::new(config, models).map_err(|e| anyhow!("{e} (--model-id)"))?);
    let ids = state.ids().join(", ");
    if let Some(g) = &guard {
        eprintln!("agora: content guard '{}' on; audit log {}", g.policy.name, g.audit_path().display());
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let addr = format!("{}:{}", a.host, a.port);
        let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("listening on {addr} (is the port in use? pick another with --port)"))?;
        let local = listener.local_addr()?;
        eprintln!("agora: serving {ids} at http://{local}/v1 (parallel {}, ctx {}); playground at http://{local}/ ; Ctrl-C stops", a.parallel, a.ctx);
        server::serve(listener, state, shutdown_signal()).await?;
        eprintln!("agora: stopped");
        Ok(())
    })
}

fn lm_adapters(m: &ModelState) -> usize {
    m.model.adapters.len()
}

/// `--lora NAME=DIR` values, checked before any model loads: names non-empty and distinct, the
/// folder present.
fn parse_loras(values: &[String]) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut out: Vec<(String, std::path::PathBuf)> = Vec::new();
    for v in values {
        let Some((name, dir)) = v.split_once('=').filter(|(n, d)| !n.trim().is_empty() && !d.is_empty()) else {
            bail!("--lora '{v}': give NAME=DIR, the name requests use in \"model\" and a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)");
        };
        let (name, dir) = (name.trim().to_string(), std::path::PathBuf::from(dir));
        if out.iter().any(|(n, _)| *n == name) {
            bail!("--lora: the name '{name}' is given twice; give each adapter a distinct name");
        }
        if !dir.is_dir() {
            bail!("--lora {name}={}: no such folder (a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors)", dir.display());
        }
        out.push((name, dir));
    }
    Ok(out)
}

/// The store name when the model came from the store, else the file or folder name.
fn default_id(spec: Option<&str>, path: &Path) -> String {
    match spec {
        Some(s) if !s.contains('/') && !s.ends_with(".gguf") => s.to_string(),
        None => store::DEFAULT_MODEL.to_string(),
        _ => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into()),
    }
}

/// `base`, or `base-2`, `base-3`... when an earlier model has that id.
fn unique_id(base: String, taken: &[String]) -> String {
    let free = |id: &str| !taken.iter().any(|t| t == id);
    if free(&base) {
        return base;
    }
    (2..).map(|n| format!("{base}-{n}")).find(|id| free(id)).expect("an unused suffix exists")
}

/// License, lineage and summary from the GGUF metadata, completed by the model card (`README.md`
/// of a store entry or a Hugging Face folder). Attribution stays empty until the license
/// knowledge base fills it.
fn model_meta(lm: &LoadedModel) -> ModelMeta {
    let cfg = lm.model.config();
    let mut meta = ModelMeta { context_length: cfg.n_ctx_train, architecture: cfg.arch.clone(), ..Default::default() };
    if let WeightSource::Gguf(g) = &lm.source {
        let md = g.metadata();
        let s = |k: &str| md.opt_str(k).map(str::to_string);
        meta.license = License { id: s("general.license"), name: s("general.license.name"), link: s("general.license.link") };
        meta.summary = s("general.description");
        meta.quantization = md.opt_u32("general.file_type").and_then(file_type_name).map(String::from);
        let n = md.opt_u32("general.base_model.count").unwrap_or(0);
        meta.base_model = (0..n).filter_map(|i| s(&format!("general.base_model.{i}.repo_url")).or_else(|| s(&format!("general.base_model.{i}.name")))).collect();
    }
    let dir = if lm.path.is_dir() { Some(lm.path.as_path()) } else { lm.path.parent().filter(|d| d.join("manifest.json").is_file()) };
    if let Some(text) = dir.and_then(|d| std::fs::read_to_string(d.join("README.md")).ok()) {
        let card = Card::parse(&text);
        meta.license.id = meta.license.id.or_else(|| card.values("license").into_iter().next());
        meta.license.name = meta.license.name.or_else(|| card.values("license_name").into_iter().next());
        meta.license.link = meta.license.link.or_else(|| card.values("license_link").into_iter().next());
        if meta.base_model.is_empty() {
            meta.base_model = card.values("base_model");
        }
        meta.summary = meta.summary.or_else(|| card.summary(400));
    }
    // What the license requires users to be shown (notices, use policies), from the knowledge base.
    meta.attribution = card::attribution_of(&lm.path);
    meta
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    eprintln!("agora: shutting down; finishing running requests");
}

#[cfg(test)]
mod tests {
    use super::{default_id, unique_id};
    use std::path::Path;

    #[test]
    fn default_ids_come_from_the_store_name_or_the_file_stem() {
        assert_eq!(default_id(Some("gemma3-270m"), Path::new("/s/gemma3-270m/x.gguf")), "gemma3-270m");
        assert_eq!(default_id(Some("/m/gemma-q8_0.gguf"), Path::new("/m/gemma-q8_0.gguf")), "gemma-q8_0");
        assert_eq!(default_id(None, Path::new("/s/x.gguf")), store::DEFAULT_MODEL);
    }

    #[test]
    fn the_same_file_twice_gets_distinct_ids() {
        let taken = vec!["g".to_string(), "g-2".to_string()];
        assert_eq!(unique_id("g".into(), &taken[..1]), "g-2");
        assert_eq!(unique_id("g".into(), &taken), "g-3");
        assert_eq!(unique_id("h".into(), &taken), "h");
    }
}
