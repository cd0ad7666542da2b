//! `GET /metrics`: Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use engine::batch::TTFT_BUCKETS;

use crate::state::Shared;

pub async fn handle(State(st): State<Shared>) -> impl IntoResponse {
    let s = st.scheduler.stats();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, v: f64| {
        let _ = writeln!(out, "# HELP agora_{name} {help}\n# TYPE agora_{name} {kind}\nagora_{name} {v}");
    };
    metric("requests_total", "counter", "Requests admitted to the scheduler.", s.requests_total.load(Relaxed) as f64);
    metric("requests_cancelled_total", "counter", "Requests dropped because the client went away.", s.requests_cancelled.load(Relaxed) as f64);
    metric("requests_failed_total", "counter", "Requests that ended with an error.", s.requests_failed.load(Relaxed) as f64);
    metric("queue_depth", "gauge", "Requests waiting for a slot.", s.queued.load(Relaxed) as f64);
    metric("requests_running", "gauge", "Sequences in the running batch.", s.active.load(Relaxed) as f64);
    metric("prompt_tokens_total", "counter", "Prompt tokens processed.", s.prompt_tokens_total.load(Relaxed) as f64);
    let generated = s.generated_tokens_total.load(Relaxed) as f64;
    metric("generated_tokens_total", "counter", "Tokens generated.", generated);
    let busy = s.busy_micros.load(Relaxed) as f64 / 1e6;
    metric("busy_seconds_total", "counter", "Seconds spent in forward passes.", busy);
    metric("tokens_per_second", "gauge", "Generated tokens per busy second since start.", if busy > 0.0 { generated / busy } else { 0.0 });
    metric("kv_cache_used_bytes", "gauge", "Key/value bytes holding live positions.", s.kv_bytes_used.load(Relaxed) as f64);
    metric("kv_cache_reserved_bytes", "gauge", "Key/value bytes the running sequences may grow to.", s.kv_bytes_reserved.load(Relaxed) as f64);
    let _ = writeln!(out, "# HELP agora_time_to_first_token_seconds Time from queueing to the first token.\n# TYPE agora_time_to_first_token_seconds histogram");
    for (b, le) in s.ttft_buckets.iter().zip(TTFT_BUCKETS) {
        let _ = writeln!(out, "agora_time_to_first_token_seconds_bucket{{le=\"{le}\"}} {}", b.load(Relaxed));
    }
    let count = s.ttft_count.load(Relaxed);
    let _ = writeln!(out, "agora_time_to_first_token_seconds_bucket{{le=\"+Inf\"}} {count}");
    let _ = writeln!(out, "agora_time_to_first_token_seconds_sum {}", s.ttft_sum_micros.load(Relaxed) as f64 / 1e6);
    let _ = writeln!(out, "agora_time_to_first_token_seconds_count {count}");
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
