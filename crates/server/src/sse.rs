//! Server-sent events exactly as the OpenAI clients parse them: `data: <json>\n\n` per chunk,
//! then `data: [DONE]\n\n`. Each endpoint supplies a `Renderer` that turns engine events into
//! its chunk objects.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use engine::batch::Event;
use futures_util::stream;
use serde_json::Value;

use crate::error::ApiError;
use crate::run::Events;

pub trait Renderer: Send + 'static {
    /// Chunks sent before any token (e.g. the assistant role for every choice).
    fn start(&mut self) -> Vec<Value>;
    fn event(&mut self, index: usize, ev: Event) -> Vec<Value>;
    /// Chunks after every choice finished (e.g. the usage chunk).
    fn finish(&mut self) -> Vec<Value>;
}

struct State<R> {
    rx: Events,
    r: R,
    pending: VecDeque<String>,
    left: usize,
    ended: bool,
}

pub fn respond<R: Renderer>(rx: Events, n: usize, mut r: R) -> Response {
    let pending = r.start().iter().map(Value::to_string).collect();
    let st = State { rx, r, pending, left: n, ended: false };
    let s = stream::unfold(st, |mut st| async move {
        loop {
            if let Some(data) = st.pending.pop_front() {
                return Some((Ok::<_, Infallible>(SseEvent::default().data(data)), st));
            }
            if st.ended {
                return None;
            }
            if st.left == 0 {
                st.pending.extend(st.r.finish().iter().map(Value::to_string));
                st.pending.push_back("[DONE]".into());
                st.ended = true;
                continue;
            }
            match st.rx.recv().await {
                Some((i, Event::Failed(e))) => {
                    let _ = i;
                    st.pending.push_back(ApiError::Internal(e).body().to_string());
                    st.ended = true;
                }
                Some((i, ev)) => {
                    if matches!(ev, Event::Done(_)) {
                        st.left -= 1;
                    }
                    st.pending.extend(st.r.event(i, ev).iter().map(Value::to_string));
                }
                None => {
                    let e = ApiError::Internal("the scheduler ended the stream early".into());
                    st.pending.push_back(e.body().to_string());
                    st.ended = true;
                }
            }
        }
    });
    Sse::new(s).into_response()
}
