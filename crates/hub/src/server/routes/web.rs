//! Server-rendered pages: `/` (repos with search) and `/[datasets/]{ns}/{name}` (the card rendered
//! safely, license and gate banners, files with sizes, recent commits). No scripts anywhere.

use std::io::Read;

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use super::{find, url_prefix};
use crate::error::Result;
use crate::ids::RepoType;
use crate::meta::{Gated, RepoQuery, Sort};
use crate::server::html::{card_body, esc, human_size, markdown, page, CSP};
use crate::server::route::RepoRef;
use crate::server::{blocking, enc, query_get, query_pairs, Ctx};
use crate::time::iso;

fn html(body: String) -> Response {
    let mut r = Html(body).into_response();
    r.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    r.headers_mut().insert("X-Content-Type-Options", HeaderValue::from_static("nosniff"));
    r
}

pub async fn home(ctx: Ctx) -> Result<Response> {
    let q = query_pairs(&ctx.query);
    let search = query_get(&q, "search").unwrap_or_default();
    let hub = ctx.hub();
    let viewer = ctx.caller.user.clone();
    let s2 = search.clone();
    let lists = blocking(move || {
        let mut out = Vec::new();
        for t in [RepoType::Model, RepoType::Dataset] {
            let q = RepoQuery { rtype: t, search: Some(s2.clone()).filter(|s| !s.is_empty()), author: None, tags: vec![], viewer: viewer.clone(), sort: Sort::LastModified, descending: true, offset: 0, limit: 200 };
            out.push((t, hub.meta.list_repos(&q)?));
        }
        Ok(out)
    })
    .await?;
    let mut b = format!("<h1>Repositories</h1><form method=\"get\" action=\"/\"><input name=\"search\" value=\"{}\" placeholder=\"Search\"> <button>Search</button></form>", esc(&search));
    for (t, repos) in lists {
        b += &format!("<h2>{}</h2>", if t == RepoType::Model { "Models" } else { "Datasets" });
        if repos.is_empty() {
            b += "<p class=\"muted\">none</p>";
            continue;
        }
        b += "<ul>";
        for r in repos {
            b += &format!(
                "<li><a href=\"/{}{}/{}\">{}</a> <span class=\"muted\">updated {}{}</span></li>",
                url_prefix(t),
                enc(&r.namespace),
                enc(&r.name),
                esc(&r.full_id()),
                &iso(r.updated_ms)[..10],
                if r.private { ", private" } else { "" }
            );
        }
        b += "</ul>";
    }
    Ok(html(page("Repositories", &b)))
}

pub async fn repo(ctx: Ctx, r: RepoRef) -> Result<Response> {
    let hub = ctx.hub();
    let caller = ctx.caller.clone();
    let body = blocking(move || {
        let repo = find(&hub, &caller, &r)?;
        let head = hub.resolve_rev(&repo, "main")?;
        let commit = hub.meta.commit(repo.id, &head)?.ok_or_else(|| crate::HubError::Internal("head commit missing".into()))?;
        let files = hub.meta.files(repo.id, &head)?;
        let card: Option<Value> = commit.card.as_deref().and_then(|c| serde_json::from_str(c).ok());
        let mut b = format!("<h1>{}</h1><p class=\"muted\">{} · {} · commit <code>{}</code></p>", esc(&repo.full_id()), repo.rtype.as_str(), if repo.private { "private" } else { "public" }, &head[..12]);
        let license = card.as_ref().and_then(|c| c.get("license")).map(|l| match l {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
        b += &match &license {
            Some(l) => format!("<div class=\"banner license\">License: <strong>{}</strong></div>", esc(l)),
            None => "<div class=\"banner license\">No license stated in the card</div>".into(),
        };
        if repo.gated != Gated::Off {
            let prompt = card.as_ref().and_then(|c| c.get("extra_gated_prompt")).and_then(Value::as_str).unwrap_or("You need to accept the conditions to access this repository's files.");
            b += &format!(
                "<div class=\"banner gated\"><strong>Gated repository</strong> ({}): {}<br>Accept with <code>POST /api/{}/{}/ask-access</code> and your token.</div>",
                if repo.gated == Gated::Auto { "access is granted on request" } else { "requests are reviewed by the owner" },
                esc(prompt),
                repo.rtype.plural(),
                esc(&repo.full_id())
            );
        }
        if let Some(readme) = files.iter().find(|f| f.path == "README.md" && f.size <= 4 << 20) {
            let mut text = String::new();
            if hub.blobs.open(&readme.sha256, 0)?.read_to_string(&mut text).is_ok() {
                if repo.rtype == crate::ids::RepoType::Model {
                    let warnings: Vec<String> = ::card::check_for_push(&text).into_iter().filter(|p| !p.error).map(|p| format!("<li>{}</li>", esc(&p.to_string()))).collect();
                    if !warnings.is_empty() {
                        b += &format!("<div class=\"banner gated\"><strong>Card warnings</strong><ul>{}</ul></div>", warnings.concat());
                    }
                }
                b += &format!("<section class=\"card\">{}</section>", markdown(card_body(&text)));
            }
        }
        b += "<h2>Files</h2><table><tr><th>Path</th><th>Size</th><th>Storage</th></tr>";
        let prefix = url_prefix(repo.rtype);
        for f in &files {
            let href = format!("/{prefix}{}/{}/resolve/{}/{}", enc(&repo.namespace), enc(&repo.name), head, f.path.split('/').map(enc).collect::<Vec<_>>().join("/"));
            b += &format!("<tr><td><a href=\"{href}\">{}</a></td><td>{}</td><td>{}</td></tr>", esc(&f.path), human_size(f.size), if f.lfs { "LFS" } else { "" });
        }
        b += "</table><h2>History</h2><table><tr><th>Commit</th><th>Title</th><th>Author</th><th>Date</th></tr>";
        let mut next = Some(head.clone());
        let mut n = 0;
        while let (Some(id), true) = (next, n < 20) {
            let Some(c) = hub.meta.commit(repo.id, &id)? else { break };
            b += &format!("<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>", &c.id[..12], esc(&c.title), esc(&c.author), &iso(c.time_ms)[..16]);
            next = c.parent;
            n += 1;
        }
        b += "</table>";
        Ok(page(&repo.full_id(), &b))
    })
    .await?;
    Ok(html(body))
}
