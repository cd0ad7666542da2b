//! `POST /api/{type}s/{repo}/commit/{branch}`: NDJSON, one operation per line after a header.
//! Lines stream in; inline files are stored (hashed by us) as they arrive; then the whole commit is
//! checked and applied in one metadata transaction. A refused commit changes no ref.

use std::io::{BufRead, BufReader, Read};

use axum::body::Body;
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};

use super::{find, json, url_prefix};
use crate::blob::put_bytes;
use crate::error::{HubError, Result};
use crate::hash::git_blob_oid;
use crate::hub::IncomingOp;
use crate::server::io::body_reader;
use crate::server::route::RepoRef;
use crate::server::{blocking, query_get, query_pairs, truthy, Ctx};

fn str_field<'a>(v: &'a Value, key: &str, line: usize) -> Result<&'a str> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| HubError::BadRequest(format!("commit line {line}: missing \"{key}\"")))
}

pub async fn commit(ctx: Ctx, r: RepoRef, branch: String, body: Body) -> Result<Response> {
    let q = query_pairs(&ctx.query);
    if truthy(query_get(&q, "create_pr")) {
        return Err(HubError::BadRequest("pull requests are not supported by this hub; commit to a branch".into()));
    }
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let (reader, pump) = body_reader(body);
    let work = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.require_write(&caller, &repo.namespace)?;
        let max_line = (hub.limits.max_regular_size as usize) / 3 * 4 + (1 << 20);
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut header: Option<Value> = None;
        let mut ops = Vec::new();
        let mut n = 0usize;
        loop {
            let mut line = Vec::new();
            let got = (&mut reader).take(max_line as u64 + 1).read_until(b'\n', &mut line).map_err(|e| HubError::BadRequest(format!("reading the commit: {e}")))?;
            if got == 0 {
                break;
            }
            n += 1;
            if line.len() > max_line {
                return Err(HubError::TooLarge(format!("commit line {n} is longer than {max_line} bytes; send large files through LFS")));
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let v: Value = serde_json::from_slice(&line).map_err(|e| HubError::BadRequest(format!("commit line {n} is not JSON: {e}")))?;
            let key = str_field(&v, "key", n)?.to_string();
            let val = v.get("value").cloned().unwrap_or(Value::Null);
            if header.is_none() && key != "header" {
                return Err(HubError::BadRequest("the first commit line must be the header".into()));
            }
            match key.as_str() {
                "header" if header.is_none() => header = Some(val),
                "file" => {
                    let path = str_field(&val, "path", n)?.to_string();
                    crate::ids::check_repo_path(&path)?;
                    let content = str_field(&val, "content", n)?;
                    let bytes = match val.get("encoding").and_then(Value::as_str).unwrap_or("base64") {
                        "base64" => base64::engine::general_purpose::STANDARD.decode(content).map_err(|_| HubError::BadRequest(format!("commit line {n} ('{path}'): content is not base64")))?,
                        "utf-8" | "utf8" => content.as_bytes().to_vec(),
                        other => return Err(HubError::BadRequest(format!("commit line {n}: unknown encoding '{other}'"))),
                    };
                    let blob = put_bytes(hub.blobs.as_ref(), &bytes)?;
                    ops.push(IncomingOp::Regular { path, sha256: blob.sha256, size: blob.size, git_oid: git_blob_oid(&bytes) });
                }
                "lfsFile" => {
                    let path = str_field(&val, "path", n)?.to_string();
                    if let Some(a) = val.get("algo").and_then(Value::as_str) {
                        if a != "sha256" {
                            return Err(HubError::BadRequest(format!("commit line {n}: LFS algo '{a}' is not supported (sha256 only)")));
                        }
                    }
                    ops.push(IncomingOp::Lfs { path, oid: str_field(&val, "oid", n)?.to_string(), size: val.get("size").and_then(Value::as_u64) });
                }
                "deletedFile" => ops.push(IncomingOp::Delete { path: str_field(&val, "path", n)?.to_string() }),
                "deletedFolder" => ops.push(IncomingOp::DeleteFolder { path: str_field(&val, "path", n)?.to_string() }),
                other => return Err(HubError::BadRequest(format!("commit line {n}: operation '{other}' is not supported"))),
            }
        }
        let header = header.ok_or_else(|| HubError::BadRequest("the commit body is empty".into()))?;
        let title = header.get("summary").and_then(Value::as_str).unwrap_or("").to_string();
        let message = header.get("description").and_then(Value::as_str).unwrap_or("").to_string();
        let parent = header.get("parentCommit").and_then(Value::as_str).map(String::from);
        let c = hub.commit(&caller, &repo, &branch, &title, &message, parent.as_deref(), ops)?;
        Ok((repo, c))
    });
    let (res, ()) = tokio::join!(work, pump);
    let (repo, c) = res?;
    let url = format!("{}/{}{}/commit/{}", ctx.base, url_prefix(repo.rtype), repo.full_id(), c.id);
    Ok(json(json!({ "success": true, "commitOid": c.id, "commitUrl": url, "hookOutput": "", "pullRequestUrl": null })))
}
