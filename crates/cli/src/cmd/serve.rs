//! `agora serve [MODEL]`: the OpenAI-compatible API over the continuous-batching scheduler.

use std::sync::Arc;

use anyhow::{bail, Context, Result};
use engine::batch::{Scheduler, SchedulerConfig};
use server::{AppState, ServerConfig};

use crate::args::ServeArgs;
use crate::settings;

pub fn run(a: &ServeArgs) -> Result<()> {
    if a.parallel == 0 || a.ctx < 16 || a.step_tokens == 0 {
        bail!("--parallel and --step-tokens must be at least 1 and --ctx at least 16");
    }
    let path = settings::resolve_model(a.model.as_deref(), true)?;
    super::acceptance::ensure(&path, a.accept_license)?;
    let lm = Arc::new(super::open_model_ctx(&path, a.ctx)?);
    let model_id = a.model_id.clone().unwrap_or_else(|| default_id(a.model.as_deref(), &path));
    let mut api_keys = a.api_keys.clone();
    if let Some(f) = &a.api_key_file {
        let text = std::fs::read_to_string(f).with_context(|| format!("reading the API key file {}", f.display()))?;
        api_keys.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    let sched_cfg = SchedulerConfig { n_ctx: a.ctx, slots: a.parallel, max_queue: a.queue, step_tokens: a.step_tokens, threads: settings::threads(a.threads) };
    let scheduler = Scheduler::start(lm.clone(), sched_cfg);
    let config = ServerConfig { model_id: model_id.clone(), api_keys, cors_origins: a.cors_origins.clone(), max_body_bytes: a.max_body };
    let state = Arc::new(AppState::new(config, lm, scheduler)?);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async move {
        let addr = format!("{}:{}", a.host, a.port);
        let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("listening on {addr} (is the port in use? pick another with --port)"))?;
        let local = listener.local_addr()?;
        eprintln!("agora: serving {model_id} at http://{local}/v1 (parallel {}, ctx {}); Ctrl-C stops", a.parallel, a.ctx);
        server::serve(listener, state, shutdown_signal()).await?;
        eprintln!("agora: stopped");
        Ok(())
    })
}

/// The store name when the model came from the store, else the file or folder name.
fn default_id(spec: Option<&str>, path: &std::path::Path) -> String {
    match spec {
        Some(s) if !s.contains('/') && !s.ends_with(".gguf") => s.to_string(),
        None => store::DEFAULT_MODEL.to_string(),
        _ => path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into()),
    }
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
