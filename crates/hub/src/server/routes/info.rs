//! `GET /api/{models|datasets}/{repo}[/revision/{rev}]` and the listing `GET /api/models`.

use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::Value;

use super::{find, json};
use crate::error::{HubError, Result};
use crate::ids::RepoType;
use crate::meta::{RepoQuery, Sort};
use crate::server::json::{repo_info, InfoOptions};
use crate::server::route::RepoRef;
use crate::server::{blocking, query_get, query_pairs, truthy, Ctx};

pub async fn info(ctx: Ctx, r: RepoRef, rev: Option<String>) -> Result<Response> {
    let q = query_pairs(&ctx.query);
    let blobs = truthy(query_get(&q, "blobs"));
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let v = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        let commit_id = hub.resolve_rev(&repo, rev.as_deref().unwrap_or("main"))?;
        let head = hub.meta.commit(repo.id, &commit_id)?.ok_or_else(|| HubError::Internal(format!("commit {commit_id} is referenced but missing")))?;
        let files = hub.meta.files(repo.id, &commit_id)?;
        let tags = hub.meta.repo_tags(repo.id)?;
        Ok(repo_info(&repo, &head, &files, &tags, &InfoOptions { siblings: true, blobs, card: true }))
    })
    .await?;
    Ok(json(v))
}

const MAX_LIMIT: usize = 1000;

pub async fn list(ctx: Ctx, rtype: RepoType) -> Result<Response> {
    let q = query_pairs(&ctx.query);
    let limit = match query_get(&q, "limit") {
        Some(l) => l.parse::<usize>().map_err(|_| HubError::BadRequest(format!("limit '{l}' is not a number")))?.clamp(1, MAX_LIMIT),
        None => MAX_LIMIT,
    };
    let offset = query_get(&q, "cursor").map(|c| c.parse::<usize>().map_err(|_| HubError::BadRequest("bad cursor".into()))).transpose()?.unwrap_or(0);
    let sort = match query_get(&q, "sort").as_deref() {
        None | Some("lastModified") | Some("last_modified") | Some("trendingScore") | Some("downloads") | Some("likes") => Sort::LastModified,
        Some("createdAt") | Some("created_at") => Sort::CreatedAt,
        Some("id") | Some("modelId") => Sort::Id,
        Some(other) => return Err(HubError::BadRequest(format!("sort '{other}' is not supported: use lastModified, createdAt or id"))),
    };
    // The Hub sorts descending by default; `direction=1` asks for ascending.
    let descending = query_get(&q, "direction").as_deref() != Some("1");
    let full = truthy(query_get(&q, "full"));
    let card = full || truthy(query_get(&q, "cardData"));
    let query = RepoQuery {
        rtype,
        search: query_get(&q, "search").filter(|s| !s.is_empty()),
        author: query_get(&q, "author").filter(|s| !s.is_empty()),
        tags: q.iter().filter(|(k, _)| k == "filter").flat_map(|(_, v)| v.split(',').map(String::from).collect::<Vec<_>>()).filter(|s| !s.is_empty()).collect(),
        viewer: ctx.caller.user.clone(),
        sort,
        descending,
        offset,
        limit: limit + 1, // one more tells whether a next page exists
    };
    let hub = ctx.hub();
    let (items, more) = blocking(move || {
        let mut repos = hub.meta.list_repos(&query)?;
        let more = repos.len() > limit;
        repos.truncate(limit);
        let mut out = Vec::with_capacity(repos.len());
        for repo in repos {
            let Some(head_id) = hub.meta.resolve(repo.id, "main")? else { continue };
            let Some(head) = hub.meta.commit(repo.id, &head_id)? else { continue };
            let files = if full { hub.meta.files(repo.id, &head_id)? } else { Vec::new() };
            let tags = hub.meta.repo_tags(repo.id)?;
            out.push(repo_info(&repo, &head, &files, &tags, &InfoOptions { siblings: full, blobs: false, card }));
        }
        Ok((out, more))
    })
    .await?;
    let mut resp = json(Value::Array(items));
    if more {
        let rest: Vec<String> = ctx.query.split('&').filter(|kv| !kv.starts_with("cursor=") && !kv.is_empty()).map(String::from).collect();
        let next = format!("{}/api/{}?{}{}cursor={}", ctx.base, rtype.plural(), rest.join("&"), if rest.is_empty() { "" } else { "&" }, offset + limit);
        if let Ok(h) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
            resp.headers_mut().insert("Link", h);
        }
    }
    Ok(resp)
}
