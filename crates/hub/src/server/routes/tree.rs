//! `GET .../tree/{rev}[/{path}]` (recursive or not, paginated with `Link`), `GET .../refs`,
//! `GET .../commits/{rev}` (paginated).

use std::collections::BTreeMap;

use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::{json, Value};

use super::{find, json};
use crate::error::{HubError, Result};
use crate::meta::{FileEntry, RefKind};
use crate::server::json::{commit as commit_json, tree_file, tree_folder};
use crate::server::route::RepoRef;
use crate::server::{blocking, enc, query_get, query_pairs, truthy, Ctx};

fn with_link(mut resp: Response, next: Option<String>) -> Response {
    if let Some(n) = next {
        if let Ok(h) = HeaderValue::from_str(&format!("<{n}>; rel=\"next\"")) {
            resp.headers_mut().insert("Link", h);
        }
    }
    resp
}

fn cursor(q: &[(String, String)]) -> Result<usize> {
    query_get(q, "cursor").map(|c| c.parse::<usize>().map_err(|_| HubError::BadRequest(format!("bad cursor '{c}'")))).transpose().map(|c| c.unwrap_or(0))
}

/// The entries under `dir` ("" = root): files and folders, all levels when `recursive`.
fn entries(files: &[FileEntry], dir: &str, recursive: bool) -> Vec<Value> {
    let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
    let mut folders: BTreeMap<String, Vec<&FileEntry>> = BTreeMap::new();
    let mut out_files: Vec<&FileEntry> = Vec::new();
    for f in files.iter().filter(|f| f.path.starts_with(&prefix)) {
        let rel = &f.path[prefix.len()..];
        let parts: Vec<&str> = rel.split('/').collect();
        // Every folder on the way to the file (only the first level unless recursive).
        let depth = if recursive { parts.len() - 1 } else { (parts.len() - 1).min(1) };
        for i in 1..=depth {
            folders.entry(format!("{prefix}{}", parts[..i].join("/"))).or_default().push(f);
        }
        if recursive || parts.len() == 1 {
            out_files.push(f);
        }
    }
    let mut all: Vec<(String, Value)> = folders.iter().map(|(p, under)| (p.clone(), tree_folder(p, under))).collect();
    all.extend(out_files.into_iter().map(|f| (f.path.clone(), tree_file(f))));
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all.into_iter().map(|(_, v)| v).collect()
}

pub async fn tree(ctx: Ctx, r: RepoRef, rev: String, path: String) -> Result<Response> {
    let q = query_pairs(&ctx.query);
    let recursive = truthy(query_get(&q, "recursive"));
    let expand = query_get(&q, "expand");
    let start = cursor(&q)?;
    let hub = ctx.hub();
    let page = hub.limits.tree_page.max(1);
    let caller = ctx.caller.clone();
    let (items, commit_id, total) = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        let commit_id = hub.resolve_rev(&repo, &rev)?;
        let files = hub.meta.files(repo.id, &commit_id)?;
        if !path.is_empty() && !files.iter().any(|f| f.path.starts_with(&format!("{path}/"))) {
            return Err(HubError::EntryNotFound(format!("{}: no folder '{path}' at {rev}", repo.full_id())));
        }
        let all = entries(&files, &path, recursive);
        let total = all.len();
        Ok((all.into_iter().skip(start).take(page).collect::<Vec<_>>(), commit_id, total))
    })
    .await?;
    // Later pages name the commit, not the branch, so a push between pages cannot mix two trees.
    let next = (start + page < total).then(|| next_tree_url(&ctx, &commit_id, recursive, expand.as_deref(), start + page));
    Ok(with_link(json(Value::Array(items)), next))
}

fn next_tree_url(ctx: &Ctx, commit: &str, recursive: bool, expand: Option<&str>, cursor: usize) -> String {
    // The request path with the revision segment replaced by the commit id.
    let path = ctx.path.as_str();
    let (head, tail) = match path.find("/tree/") {
        Some(i) => (&path[..i + 6], &path[i + 6..]),
        None => (path, ""),
    };
    let rest = tail.split_once('/').map(|(_, r)| format!("/{r}")).unwrap_or_default();
    let mut url = format!("{}{head}{}{rest}?recursive={}&cursor={cursor}", ctx.base, enc(commit), if recursive { "True" } else { "False" });
    if let Some(e) = expand {
        url.push_str(&format!("&expand={}", enc(e)));
    }
    url
}

pub async fn refs(ctx: Ctx, r: RepoRef) -> Result<Response> {
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let v = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        let refs = hub.meta.refs(repo.id)?;
        let list = |k: RefKind, prefix: &str| -> Vec<Value> {
            refs.iter().filter(|x| x.kind == k).map(|x| json!({ "name": x.name, "ref": format!("{prefix}{}", x.name), "targetCommit": x.target })).collect()
        };
        Ok(json!({ "branches": list(RefKind::Branch, "refs/heads/"), "tags": list(RefKind::Tag, "refs/tags/"), "converts": [], "pullRequests": [] }))
    })
    .await?;
    Ok(json(v))
}

const COMMITS_PAGE: usize = 50;

pub async fn commits(ctx: Ctx, r: RepoRef, rev: String) -> Result<Response> {
    let q = query_pairs(&ctx.query);
    let start = cursor(&q)?;
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let (items, more, head) = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        let head = hub.resolve_rev(&repo, &rev)?;
        let mut out = Vec::new();
        let mut next = Some(head.clone());
        let mut i = 0;
        while let Some(id) = next {
            let c = hub.meta.commit(repo.id, &id)?.ok_or_else(|| HubError::Internal(format!("commit {id} is referenced but missing")))?;
            if i >= start + COMMITS_PAGE {
                return Ok((out, true, head));
            }
            if i >= start {
                out.push(commit_json(&c));
            }
            i += 1;
            next = c.parent;
        }
        Ok((out, false, head))
    })
    .await?;
    let next = more.then(|| {
        let path = ctx.path.as_str();
        let i = path.find("/commits/").map(|i| i + 9).unwrap_or(path.len());
        format!("{}{}{}?cursor={}", ctx.base, &path[..i], enc(&head), start + COMMITS_PAGE)
    });
    Ok(with_link(json(Value::Array(items)), next))
}
