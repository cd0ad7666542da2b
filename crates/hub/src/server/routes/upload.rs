//! Uploads: `POST .../preupload/{rev}` (regular or LFS per file), the LFS batch API (basic transfer
//! only; Xet is never offered), the signed `PUT` that receives the bytes, and `verify`.
//! Bytes are hashed while they stream to a temporary; only a verified blob becomes visible.

use std::io::Read;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{find, json};
use crate::blob::Expect;
use crate::error::{HubError, Result};
use crate::hash::is_sha256_hex;
use crate::hub::upload_mode;
use crate::server::io::body_reader;
use crate::server::route::RepoRef;
use crate::server::{blocking, enc, parse_json, query_get, query_pairs, read_small, sign, Ctx};

const MAX_JSON: usize = 32 << 20;
/// How long a signed upload URL stays valid.
const UPLOAD_TTL_SECS: i64 = 3600;

#[derive(Deserialize)]
struct PreFile {
    path: String,
    sample: Option<String>,
    size: u64,
}

#[derive(Deserialize)]
struct PreBody {
    files: Vec<PreFile>,
}

pub async fn preupload(ctx: Ctx, r: RepoRef, rev: String, body: Body) -> Result<Response> {
    let b: PreBody = parse_json(&read_small(body, MAX_JSON).await?)?;
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let v = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.require_write(&caller, &repo.namespace)?;
        let commit = hub.resolve_rev(&repo, &rev)?;
        let mut out = Vec::with_capacity(b.files.len());
        for f in b.files {
            crate::ids::check_repo_path(&f.path)?;
            if f.size > hub.limits.max_file_size {
                return Err(HubError::TooLarge(format!("'{}' is {} bytes; this hub accepts files up to {} bytes", f.path, f.size, hub.limits.max_file_size)));
            }
            let sample = match &f.sample {
                Some(s) => base64::engine::general_purpose::STANDARD.decode(s).map_err(|_| HubError::BadRequest(format!("'{}': sample is not base64", f.path)))?,
                None => Vec::new(),
            };
            let mode = upload_mode(&f.path, f.size, &sample, &hub.limits);
            // The client skips files whose oid matches what it would send: sha256 for LFS, git id otherwise.
            let oid = hub.meta.file(repo.id, &commit, &f.path)?.and_then(|e| match (mode, e.lfs) {
                ("lfs", true) => Some(e.sha256),
                ("regular", false) => Some(e.git_oid),
                _ => None,
            });
            out.push(json!({ "path": f.path, "uploadMode": mode, "shouldIgnore": false, "oid": oid }));
        }
        Ok(json!({ "files": out, "commit": commit }))
    })
    .await?;
    Ok(json(v))
}

#[derive(Deserialize)]
struct BatchObject {
    oid: String,
    size: u64,
}

#[derive(Deserialize)]
struct BatchBody {
    operation: String,
    objects: Vec<BatchObject>,
    transfers: Option<Vec<String>>,
}

fn upload_message(r: &RepoRef, oid: &str, size: u64, user: &str, exp: i64) -> String {
    format!("lfs-upload\n{}\n{}/{}\n{oid}\n{size}\n{user}\n{exp}", r.rtype.plural(), r.namespace, r.name)
}

pub async fn batch(ctx: Ctx, r: RepoRef, body: Body) -> Result<Response> {
    let b: BatchBody = parse_json(&read_small(body, MAX_JSON).await?)?;
    if b.operation != "upload" {
        return Err(HubError::BadRequest(format!("LFS operation '{}' is not supported: downloads go through /resolve", b.operation)));
    }
    if let Some(t) = &b.transfers {
        if !t.iter().any(|x| x == "basic") {
            return Err(HubError::BadRequest("this hub offers only the 'basic' LFS transfer".into()));
        }
    }
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let rr = r.clone();
    let (user, existing) = blocking(move || {
        let repo = find(&hub, &caller, &rr)?;
        let user = hub.require_write(&caller, &repo.namespace)?;
        let mut existing = Vec::new();
        for o in &b.objects {
            existing.push(if is_sha256_hex(&o.oid) { hub.blobs.size(&o.oid)? } else { None });
        }
        Ok((user, existing.into_iter().zip(b.objects).collect::<Vec<_>>()))
    })
    .await?;
    let exp = crate::time::now_ms() / 1000 + UPLOAD_TTL_SECS;
    let max = ctx.st.hub.limits.max_file_size;
    let objects: Vec<Value> = existing
        .into_iter()
        .map(|(stored, o)| {
            if !is_sha256_hex(&o.oid) {
                return json!({ "oid": o.oid, "size": o.size, "error": { "code": 422, "message": "oid must be a sha256 (64 lowercase hex digits)" } });
            }
            if o.size > max {
                return json!({ "oid": o.oid, "size": o.size, "error": { "code": 422, "message": format!("the object is larger than this hub's limit of {max} bytes") } });
            }
            if stored == Some(o.size) {
                return json!({ "oid": o.oid, "size": o.size }); // already here: nothing to send
            }
            let sig = sign::sign(&ctx.st.secret, &upload_message(&r, &o.oid, o.size, &user, exp));
            let href = format!(
                "{}/api/lfs-upload/{}/{}/{}/{}?size={}&user={}&exp={exp}&sig={sig}",
                ctx.base, r.rtype.plural(), r.namespace, r.name, o.oid, o.size, enc(&user)
            );
            let verify = format!("{}/api/lfs-verify/{}/{}/{}", ctx.base, r.rtype.plural(), r.namespace, r.name);
            json!({
                "oid": o.oid, "size": o.size, "authenticated": true,
                "actions": { "upload": { "href": href, "expires_in": UPLOAD_TTL_SECS }, "verify": { "href": verify } },
            })
        })
        .collect();
    let mut resp = json(json!({ "transfer": "basic", "objects": objects, "hash_algo": "sha256" }));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.git-lfs+json"));
    Ok(resp)
}

/// The signed PUT: streams the body into the blob store, refusing oversized or mis-hashed data.
pub async fn put(ctx: Ctx, r: RepoRef, oid: String, body: Body) -> Result<Response> {
    let q = query_pairs(&ctx.query);
    let field = |k: &str| query_get(&q, k).ok_or_else(|| HubError::Forbidden(format!("the upload URL lacks '{k}'; ask the batch API for a new one")));
    let size: u64 = field("size")?.parse().map_err(|_| HubError::BadRequest("bad size".into()))?;
    let exp: i64 = field("exp")?.parse().map_err(|_| HubError::BadRequest("bad exp".into()))?;
    let user = field("user")?;
    if !sign::verify(&ctx.st.secret, &upload_message(&r, &oid, size, &user, exp), &field("sig")?) {
        return Err(HubError::Forbidden("the upload URL's signature does not match; ask the batch API for a new one".into()));
    }
    if exp < crate::time::now_ms() / 1000 {
        return Err(HubError::Forbidden("the upload URL has expired; ask the batch API for a new one".into()));
    }
    if let Some(len) = ctx.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()) {
        if len > size {
            return Err(HubError::TooLarge(format!("the body is {len} bytes but the object was announced as {size}")));
        }
    }
    let hub = ctx.hub();
    let (mut reader, pump) = body_reader(body);
    let work = blocking(move || {
        let mut w = hub.blobs.writer(size)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf).map_err(|e| HubError::BadRequest(format!("the upload was interrupted: {e}")))?;
            if n == 0 {
                break;
            }
            w.write(&buf[..n])?;
        }
        w.finish(Some(Expect { sha256: &oid, size }))
    });
    let (res, ()) = tokio::join!(work, pump);
    res?;
    Ok(StatusCode::OK.into_response())
}

pub async fn verify(ctx: Ctx, r: RepoRef, body: Body) -> Result<Response> {
    let o: BatchObject = parse_json(&read_small(body, MAX_JSON).await?)?;
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.require_write(&caller, &repo.namespace)?;
        if !is_sha256_hex(&o.oid) {
            return Err(HubError::BadRequest("oid must be a sha256".into()));
        }
        match hub.blobs.size(&o.oid)? {
            Some(s) if s == o.size => Ok(()),
            Some(s) => Err(HubError::BadRequest(format!("object {} has {s} bytes, not {}", o.oid, o.size))),
            None => Err(HubError::NotFound(format!("object {} was not uploaded", o.oid))),
        }
    })
    .await?;
    Ok(json(json!({ "message": "ok" })))
}
