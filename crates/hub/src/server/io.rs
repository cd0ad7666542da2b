//! Bridges between async bodies and the synchronous stores: request bodies become a blocking
//! `Read`, blob reads become a streamed response body. Memory stays bounded by the channel size.

use std::io::Read;

use axum::body::Body;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

/// A blocking reader over chunks sent from the async side.
pub struct ChannelReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}

/// Returns a reader for the blocking side and a future that feeds it the request body.
pub fn body_reader(body: Body) -> (ChannelReader, impl std::future::Future<Output = ()>) {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(16);
    let pump = async move {
        let mut s = body.into_data_stream();
        while let Some(chunk) = s.next().await {
            let item = chunk.map_err(|e| std::io::Error::other(format!("reading the request body: {e}")));
            let stop = item.is_err();
            if tx.send(item).await.is_err() || stop {
                break;
            }
        }
    };
    (ChannelReader { rx, cur: Bytes::new() }, pump)
}

/// Streams `len` bytes from a blocking reader as a response body.
pub fn stream_body(mut r: Box<dyn Read + Send>, len: u64) -> Body {
    let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let mut left = len;
        let mut buf = vec![0u8; 256 << 10];
        while left > 0 {
            let want = buf.len().min(left as usize);
            match r.read(&mut buf[..want]) {
                Ok(0) => {
                    let _ = tx.blocking_send(Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "blob shorter than recorded")));
                    return;
                }
                Ok(n) => {
                    left -= n as u64;
                    if tx.blocking_send(Ok(Bytes::copy_from_slice(&buf[..n]))).is_err() {
                        return; // client went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}
