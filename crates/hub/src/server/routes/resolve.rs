//! `HEAD`/`GET /[datasets/]{repo}/resolve/{rev}/{path}`: the file, with the headers the client
//! trusts (`X-Repo-Commit`, `ETag`, `X-Linked-Etag`, `X-Linked-Size`) and single byte ranges.
//! Files are served directly (no redirect), so no authorization ever leaves the hub.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use super::find;
use crate::error::{HubError, Result};
use crate::server::io::stream_body;
use crate::server::route::RepoRef;
use crate::server::{blocking, error_response, Ctx};

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` -> inclusive range. None: no usable single range (serve all).
fn parse_range(h: &str, size: u64) -> Result<Option<(u64, u64)>> {
    let Some(spec) = h.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None); // several ranges: serve the whole file, which the standard allows
    }
    let Some((a, b)) = spec.split_once('-') else { return Ok(None) };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || HubError::RangeNotSatisfiable(format!("range '{h}' is outside the file ({size} bytes)"));
    let range = match (a.is_empty(), b.is_empty()) {
        (true, false) => {
            let n: u64 = match b.parse() { Ok(n) => n, Err(_) => return Ok(None) };
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, _) => {
            let start: u64 = match a.parse() { Ok(n) => n, Err(_) => return Ok(None) };
            let end: u64 = if b.is_empty() { size.saturating_sub(1) } else { match b.parse::<u64>() { Ok(n) => n.min(size.saturating_sub(1)), Err(_) => return Ok(None) } };
            if start >= size || start > end {
                return Err(unsatisfiable());
            }
            (start, end)
        }
        (true, true) => return Ok(None),
    };
    Ok(Some(range))
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

pub async fn resolve(ctx: Ctx, r: RepoRef, rev: String, path: String) -> Result<Response> {
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let looked = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        let commit = hub.resolve_rev(&repo, &rev)?;
        hub.check_gate(&caller, &repo, &path)?;
        let file = hub.meta.file(repo.id, &commit, &path)?;
        Ok((commit, file, path))
    })
    .await?;
    let (commit, file, path) = looked;
    let Some(f) = file else {
        // The client caches "this file does not exist at this commit", keyed by X-Repo-Commit.
        let mut resp = error_response(&HubError::EntryNotFound(format!("{path} does not exist at {commit}")));
        resp.headers_mut().insert("X-Repo-Commit", hv(&commit));
        return Ok(resp);
    };
    let etag = if f.lfs { f.sha256.clone() } else { f.git_oid.clone() };
    let range = match ctx.headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(h) => match parse_range(h, f.size) {
            Ok(r) => r,
            Err(e) => {
                let mut resp = error_response(&e);
                resp.headers_mut().insert(header::CONTENT_RANGE, hv(&format!("bytes */{}", f.size)));
                return Ok(resp);
            }
        },
        None => None,
    };
    let (status, start, len) = match range {
        Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        None => (StatusCode::OK, 0, f.size),
    };
    let body = if ctx.method == Method::HEAD || len == 0 {
        Body::empty()
    } else {
        let hub = ctx.hub();
        let sha = f.sha256.clone();
        let reader = blocking(move || hub.blobs.open(&sha, start)).await?;
        stream_body(reader, len)
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert("X-Repo-Commit", hv(&commit));
    h.insert(header::ETAG, hv(&format!("\"{etag}\"")));
    if f.lfs {
        h.insert("X-Linked-Etag", hv(&format!("\"{etag}\"")));
        h.insert("X-Linked-Size", hv(&f.size.to_string()));
    }
    h.insert(header::CONTENT_LENGTH, hv(&len.to_string()));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(header::CONTENT_RANGE, hv(&format!("bytes {start}-{}/{}", start + len - 1, f.size)));
    }
    let name = path.rsplit('/').next().unwrap_or(&path);
    h.insert(header::CONTENT_DISPOSITION, hv(&format!("attachment; filename*=UTF-8''{}", crate::server::enc(name))));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100).unwrap(), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100).unwrap(), Some((50, 99)));
        assert!(parse_range("bytes=100-", 100).is_err());
        assert!(parse_range("bytes=5-2", 100).is_err());
        assert_eq!(parse_range("bytes=0-1,5-6", 100).unwrap(), None);
        assert_eq!(parse_range("items=0-1", 100).unwrap(), None);
    }
}
