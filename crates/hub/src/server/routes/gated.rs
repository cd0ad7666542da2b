//! Gated repos: a user accepts the terms (`POST .../ask-access`, recorded with time, the card's
//! license and any form fields); the owner lists, accepts, rejects or grants
//! (`.../user-access-request/{status|handle|grant}`, as the client's access-request API calls them).

use axum::body::Body;
use axum::response::Response;
use serde_json::{json, Value};

use super::{find, json};
use crate::error::{HubError, Result};
use crate::meta::AccessStatus;
use crate::server::route::RepoRef;
use crate::server::{blocking, parse_json, read_small, Ctx};
use crate::time::iso;

const MAX_JSON: usize = 1 << 20;

pub async fn ask(ctx: Ctx, r: RepoRef, body: Body) -> Result<Response> {
    let b = read_small(body, MAX_JSON).await?;
    let fields: Option<String> = if b.is_empty() { None } else { Some(parse_json::<Value>(&b)?.to_string()) };
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let status = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.ask_access(&caller, &repo, fields)
    })
    .await?;
    Ok(json(json!({ "status": status.as_str() })))
}

pub async fn list(ctx: Ctx, r: RepoRef, status: String) -> Result<Response> {
    let st = AccessStatus::parse(&status).ok_or_else(|| HubError::BadRequest(format!("unknown status '{status}'")))?;
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let v = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        hub.require_write(&caller, &repo.namespace)?;
        let mut out = Vec::new();
        for a in hub.meta.access_requests(repo.id, st)? {
            let u = hub.meta.user(&a.user)?;
            let fields: Option<Value> = a.fields.as_deref().and_then(|f| serde_json::from_str(f).ok());
            out.push(json!({
                "user": { "user": a.user, "fullname": u.as_ref().map(|u| u.fullname.clone()), "email": u.and_then(|u| u.email) },
                "requestId": a.user,
                "status": a.status.as_str(),
                "timestamp": iso(a.time_ms),
                "license": a.license,
                "fields": fields,
            }));
        }
        Ok(Value::Array(out))
    })
    .await?;
    Ok(json(v))
}

pub async fn handle(ctx: Ctx, r: RepoRef, body: Body) -> Result<Response> {
    let v: Value = parse_json(&read_small(body, MAX_JSON).await?)?;
    let user = v.get("user").or_else(|| v.get("requestId")).and_then(Value::as_str).ok_or_else(|| HubError::BadRequest("the body needs \"user\" or \"requestId\"".into()))?.to_string();
    let status = v.get("status").and_then(Value::as_str).and_then(AccessStatus::parse).ok_or_else(|| HubError::BadRequest("status must be pending, accepted or rejected".into()))?;
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        if hub.meta.access(repo.id, &user)?.is_none() {
            return Err(HubError::NotFound(format!("user '{user}' has not requested access")));
        }
        hub.handle_access(&caller, &repo, &user, status)
    })
    .await?;
    Ok(json(json!({})))
}

pub async fn grant(ctx: Ctx, r: RepoRef, body: Body) -> Result<Response> {
    let v: Value = parse_json(&read_small(body, MAX_JSON).await?)?;
    let user = v.get("user").and_then(Value::as_str).ok_or_else(|| HubError::BadRequest("the body needs \"user\"".into()))?.to_string();
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        if hub.meta.access(repo.id, &user)?.is_some_and(|a| a.status == AccessStatus::Accepted) {
            return Err(HubError::BadRequest(format!("user '{user}' already has access")));
        }
        hub.handle_access(&caller, &repo, &user, AccessStatus::Accepted)
    })
    .await?;
    Ok(json(json!({ "message": "access granted" })))
}
