//! Bridge from the scheduler's worker thread to async handlers: every choice of a request sends
//! its events, tagged with the choice index, into one channel. Dropping the receiver (the client
//! went away) makes the scheduler drop those sequences at its next step.

use engine::batch::{Collected, Event, Request, Sink};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::error::ApiError;
use crate::state::ModelState;

struct Tagged {
    index: usize,
    tx: UnboundedSender<(usize, Event)>,
}

impl Sink for Tagged {
    fn send(&self, ev: Event) -> bool {
        self.tx.send((self.index, ev)).is_ok()
    }
    fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

pub type Events = UnboundedReceiver<(usize, Event)>;

/// Queues an embedding per input (index `i` = `inputs[i]`).
pub fn submit_embeddings(st: &ModelState, inputs: Vec<Vec<u32>>) -> Result<Events, ApiError> {
    let (tx, rx) = unbounded_channel();
    let parts = inputs.into_iter().enumerate().map(|(index, ids)| (ids, Box::new(Tagged { index, tx: tx.clone() }) as Box<dyn Sink>)).collect();
    st.scheduler.submit_embeddings_with(parts, st.adapter)?;
    st.count_request();
    Ok(rx)
}

/// Queues every request (choice `i` = `requests[i]`, response `id`); all or nothing from the
/// caller's view. Each choice's events pass the guard's output filter when one is set.
pub fn submit_all(st: &ModelState, id: &str, requests: Vec<Request>) -> Result<Events, ApiError> {
    let (tx, rx) = unbounded_channel();
    let parts = requests
        .into_iter()
        .enumerate()
        .map(|(index, req)| {
            let sink = crate::guard::wrap(st, id, index, req.prompt.len(), Box::new(Tagged { index, tx: tx.clone() }));
            (req, sink)
        })
        .collect();
    st.scheduler.submit_group(parts)?;
    st.count_request();
    Ok(rx)
}

/// Waits for all `n` choices to finish.
pub async fn collect(mut rx: Events, n: usize) -> Result<Vec<Collected>, ApiError> {
    let mut out: Vec<Collected> = (0..n).map(|_| Collected::default()).collect();
    let mut left = n;
    while left > 0 {
        let Some((i, ev)) = rx.recv().await else {
            return Err(ApiError::Internal("the scheduler ended a request without a result".into()));
        };
        if out[i].push(ev).map_err(ApiError::Internal)? {
            left -= 1;
        }
    }
    Ok(out)
}

/// A token's text as clients see it (invalid UTF-8 of partial characters replaced).
pub fn piece(st: &ModelState, id: u32) -> (String, Vec<u8>) {
    let bytes = st.model.tokenizer.token_to_piece(id);
    (String::from_utf8_lossy(&bytes).into_owned(), bytes)
}

/// A response id unique within this process: `<prefix>-<time><counter>`.
pub fn new_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}-{:x}{:06x}", crate::state::now(), NEXT.fetch_add(1, Ordering::Relaxed))
}
