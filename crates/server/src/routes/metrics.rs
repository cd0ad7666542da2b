//! `GET /metrics`: Prometheus text format. With several models every sample carries a
//! `model="<id>"` label; with one, the names stay unlabelled as before.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use engine::batch::{Stats, TTFT_BUCKETS};

use crate::state::Shared;

type Getter = fn(&Stats) -> f64;

const METRICS: &[(&str, &str, &str, Getter)] = &[
    ("requests_total", "counter", "Requests admitted to the scheduler.", |s| s.requests_total.load(Relaxed) as f64),
    ("requests_cancelled_total", "counter", "Requests dropped because the client went away.", |s| s.requests_cancelled.load(Relaxed) as f64),
    ("requests_failed_total", "counter", "Requests that ended with an error.", |s| s.requests_failed.load(Relaxed) as f64),
    ("queue_depth", "gauge", "Requests waiting for a slot.", |s| s.queued.load(Relaxed) as f64),
    ("requests_running", "gauge", "Sequences in the running batch.", |s| s.active.load(Relaxed) as f64),
    ("prompt_tokens_total", "counter", "Prompt tokens processed.", |s| s.prompt_tokens_total.load(Relaxed) as f64),
    ("generated_tokens_total", "counter", "Tokens generated.", |s| s.generated_tokens_total.load(Relaxed) as f64),
    ("busy_seconds_total", "counter", "Seconds spent in forward passes.", busy),
    ("tokens_per_second", "gauge", "Generated tokens per busy second since start.", |s| {
        let b = busy(s);
        if b > 0.0 { s.generated_tokens_total.load(Relaxed) as f64 / b } else { 0.0 }
    }),
    ("kv_cache_used_bytes", "gauge", "Key/value bytes holding live positions.", |s| s.kv_bytes_used.load(Relaxed) as f64),
    ("kv_cache_reserved_bytes", "gauge", "Key/value bytes the running sequences may grow to.", |s| s.kv_bytes_reserved.load(Relaxed) as f64),
];

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

fn busy(s: &Stats) -> f64 {
    s.busy_micros.load(Relaxed) as f64 / 1e6
}

pub async fn handle(State(app): State<Shared>) -> impl IntoResponse {
    // Adapters share their base's scheduler: its counters are listed once, under the base.
    let bases: Vec<_> = app.models.iter().filter(|m| m.adapter == 0).collect();
    let several = bases.len() > 1;
    // (label without braces, stats) per model.
    let models: Vec<(String, &Stats)> = bases.iter().map(|m| (if several { format!("model=\"{}\"", m.id.replace('\\', "\\\\").replace('"', "\\\"")) } else { String::new() }, m.scheduler.stats())).collect();
    let braces = |l: &str| if l.is_empty() { String::new() } else { format!("{{{l}}}") };
    let mut out = String::new();
    for (name, kind, help, get) in METRICS {
        let _ = writeln!(out, "# HELP agora_{name} {help}\n# TYPE agora_{name} {kind}");
        for (label, s) in &models {
            let _ = writeln!(out, "agora_{name}{} {}", braces(label), get(s));
        }
    }
    let _ = writeln!(out, "# HELP agora_time_to_first_token_seconds Time from queueing to the first token.\n# TYPE agora_time_to_first_token_seconds histogram");
    for (label, s) in &models {
        let sep = if label.is_empty() { "" } else { "," };
        for (b, le) in s.ttft_buckets.iter().zip(TTFT_BUCKETS) {
            let _ = writeln!(out, "agora_time_to_first_token_seconds_bucket{{{label}{sep}le=\"{le}\"}} {}", b.load(Relaxed));
        }
        let count = s.ttft_count.load(Relaxed);
        let _ = writeln!(out, "agora_time_to_first_token_seconds_bucket{{{label}{sep}le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "agora_time_to_first_token_seconds_sum{} {}", braces(label), s.ttft_sum_micros.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "agora_time_to_first_token_seconds_count{} {count}", braces(label));
    }
    if app.models.iter().any(|m| m.adapter != 0) {
        let _ = writeln!(out, "# HELP agora_adapter_requests_total Requests accepted per served id: a LoRA adapter, or the base (adapter=\"\").\n# TYPE agora_adapter_requests_total counter");
        for m in app.models.iter() {
            let base = m.parent.as_deref().unwrap_or(&m.id);
            let name = if m.adapter == 0 { "" } else { &m.id };
            let _ = writeln!(out, "agora_adapter_requests_total{{model=\"{}\",adapter=\"{}\"}} {}", esc(base), esc(name), m.requests.load(Relaxed));
        }
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
