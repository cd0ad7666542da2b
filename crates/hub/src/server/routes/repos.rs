//! Repo lifecycle: `POST /api/repos/create`, `DELETE /api/repos/delete`, `PUT .../settings`,
//! branches and tags, and `POST /api/validate-yaml` (the client checks README metadata with it).

use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{find, json, url_prefix};
use crate::card;
use crate::error::{HubError, Result};
use crate::ids::RepoType;
use crate::meta::{Gated, RefKind};
use crate::server::route::RepoRef;
use crate::server::{blocking, parse_json, read_small, Ctx};

const MAX_JSON: usize = 16 << 20;

#[derive(Deserialize)]
struct CreateBody {
    name: String,
    organization: Option<String>,
    #[serde(rename = "type")]
    rtype: Option<String>,
    visibility: Option<String>,
    private: Option<bool>,
}

fn private_of(visibility: Option<&str>, private: Option<bool>) -> Result<Option<bool>> {
    match (visibility, private) {
        (Some("private"), _) => Ok(Some(true)),
        (Some("public"), _) => Ok(Some(false)),
        (Some(v), _) => Err(HubError::BadRequest(format!("visibility '{v}' is not supported: use 'public' or 'private'"))),
        (None, p) => Ok(p),
    }
}

pub async fn create(ctx: Ctx, body: Body) -> Result<Response> {
    let b: CreateBody = parse_json(&read_small(body, MAX_JSON).await?)?;
    let rtype = RepoType::parse(b.rtype.as_deref().unwrap_or("model"))?;
    let private = private_of(b.visibility.as_deref(), b.private)?.unwrap_or(false);
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let ns = match b.organization.clone() {
        Some(o) => o,
        None => caller.user.clone().ok_or_else(|| HubError::Unauthorized("creating a repo needs a write token".into()))?,
    };
    let id = format!("{ns}/{}", b.name);
    let url = format!("{}/{}{id}", ctx.base, url_prefix(rtype));
    match blocking(move || hub.create_repo(&caller, rtype, &ns, &b.name, private)).await {
        Ok(repo) => Ok(json(json!({ "url": url, "name": repo.full_id(), "id": repo.full_id() }))),
        // The client reads "url" even from a 409 when it was told `exist_ok=True`.
        Err(e @ HubError::Conflict(_)) => {
            let mut resp = crate::server::error_response(&e);
            *resp.body_mut() = Body::from(json!({ "error": e.to_string(), "url": url }).to_string());
            resp.headers_mut().remove(axum::http::header::CONTENT_LENGTH);
            Ok(resp)
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct DeleteBody {
    name: String,
    organization: Option<String>,
    #[serde(rename = "type")]
    rtype: Option<String>,
}

pub async fn delete(ctx: Ctx, body: Body) -> Result<Response> {
    let b: DeleteBody = parse_json(&read_small(body, MAX_JSON).await?)?;
    let rtype = RepoType::parse(b.rtype.as_deref().unwrap_or("model"))?;
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    blocking(move || {
        let ns = match b.organization {
            Some(o) => o,
            None => caller.user.clone().ok_or_else(|| HubError::Unauthorized("deleting a repo needs a write token".into()))?,
        };
        let repo = hub.find_repo(&caller, rtype, &ns, &b.name)?;
        hub.require_write(&caller, &repo.namespace)?;
        // Blobs stay: other repos may hold the same content; fsck counts orphans.
        hub.meta.delete_repo(repo.id)
    })
    .await?;
    Ok(StatusCode::OK.into_response())
}

pub async fn settings(ctx: Ctx, r: RepoRef, body: Body) -> Result<Response> {
    let v: Value = parse_json(&read_small(body, MAX_JSON).await?)?;
    let gated = match v.get("gated") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(false)) => Some(Gated::Off),
        Some(Value::String(s)) if s == "auto" => Some(Gated::Auto),
        Some(Value::String(s)) if s == "manual" => Some(Gated::Manual),
        Some(other) => return Err(HubError::BadRequest(format!("gated must be false, \"auto\" or \"manual\", not {other}"))),
    };
    let private = private_of(v.get("visibility").and_then(Value::as_str), v.get("private").and_then(Value::as_bool))?;
    if gated.is_none() && private.is_none() {
        return Err(HubError::BadRequest("nothing to change: send gated and/or visibility".into()));
    }
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.require_write(&caller, &repo.namespace)?;
        hub.meta.update_repo(repo.id, private, gated)
    })
    .await?;
    Ok(json(json!({})))
}

pub async fn validate_yaml(body: Body) -> Result<Response> {
    let v: Value = parse_json(&read_small(body, MAX_JSON).await?)?;
    let content = v.get("content").and_then(Value::as_str).unwrap_or("");
    Ok(match card::parse(content) {
        Ok(_) => json(json!({ "errors": [], "warnings": [] })),
        Err(e) => (StatusCode::BAD_REQUEST, axum::Json(json!({ "errors": [{ "message": e.to_string() }], "warnings": [] }))).into_response(),
    })
}

pub async fn branch(ctx: Ctx, r: RepoRef, name: String, body: Body) -> Result<Response> {
    let v: Value = match ctx.method {
        Method::POST => {
            let b = read_small(body, MAX_JSON).await?;
            if b.is_empty() { json!({}) } else { parse_json(&b)? }
        }
        _ => json!({}),
    };
    let start = v.get("startingPoint").and_then(Value::as_str).unwrap_or("main").to_string();
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let delete = ctx.method == Method::DELETE;
    blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.require_write(&caller, &repo.namespace)?;
        if delete {
            if name == "main" {
                return Err(HubError::Forbidden("the main branch cannot be deleted".into()));
            }
            return hub.meta.set_ref(repo.id, RefKind::Branch, &name, None);
        }
        let target = hub.resolve_rev(&repo, &start)?;
        hub.meta.set_ref(repo.id, RefKind::Branch, &name, Some(&target))
    })
    .await?;
    Ok(json(json!({})))
}

/// `POST .../tag/{revision}` with `{"tag": name}` creates; `DELETE .../tag/{tag}` removes.
pub async fn tag(ctx: Ctx, r: RepoRef, seg: String, body: Body) -> Result<Response> {
    let delete = ctx.method == Method::DELETE;
    let v: Value = if delete { json!({}) } else { parse_json(&read_small(body, MAX_JSON).await?)? };
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.require_write(&caller, &repo.namespace)?;
        if delete {
            return hub.meta.set_ref(repo.id, RefKind::Tag, &seg, None);
        }
        let tag = v.get("tag").and_then(Value::as_str).ok_or_else(|| HubError::BadRequest("the body needs \"tag\"".into()))?;
        crate::ids::check_ref_name(tag)?;
        let target = hub.resolve_rev(&repo, &seg)?;
        hub.meta.set_ref(repo.id, RefKind::Tag, tag, Some(&target))
    })
    .await?;
    Ok(json(json!({})))
}
