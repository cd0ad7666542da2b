//! Live counters the scheduler updates and `/metrics` reads (lock-free).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Upper bounds (seconds) of the time-to-first-token histogram buckets.
pub const TTFT_BUCKETS: [f64; 10] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
pub struct Stats {
    pub requests_total: AtomicU64,
    pub requests_cancelled: AtomicU64,
    pub requests_failed: AtomicU64,
    pub queued: AtomicUsize,
    pub active: AtomicUsize,
    pub prompt_tokens_total: AtomicU64,
    pub generated_tokens_total: AtomicU64,
    /// Seconds spent in forward passes, in microseconds.
    pub busy_micros: AtomicU64,
    /// Bytes of keys/values holding live positions, over all sequences.
    pub kv_bytes_used: AtomicUsize,
    /// Bytes of keys/values the running sequences could grow to.
    pub kv_bytes_reserved: AtomicUsize,
    pub ttft_buckets: [AtomicU64; TTFT_BUCKETS.len()],
    pub ttft_count: AtomicU64,
    pub ttft_sum_micros: AtomicU64,
}

impl Stats {
    pub fn observe_ttft(&self, seconds: f64) {
        for (b, &le) in self.ttft_buckets.iter().zip(&TTFT_BUCKETS) {
            if seconds <= le {
                b.fetch_add(1, Relaxed);
            }
        }
        self.ttft_count.fetch_add(1, Relaxed);
        self.ttft_sum_micros.fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    pub fn get(v: &AtomicU64) -> u64 {
        v.load(Relaxed)
    }
}
