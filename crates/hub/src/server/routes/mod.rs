//! One file per group of routes; `run` is the only `match` on the route.

mod account;
mod commit;
mod gated;
mod info;
mod repos;
mod resolve;
mod tree;
mod upload;
mod web;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;

use super::route::{RepoRef, Route};
use super::Ctx;
use crate::error::Result;
use crate::meta::Repo;
use crate::Hub;

pub(crate) async fn run(ctx: Ctx, route: Route, body: Body) -> Result<Response> {
    match route {
        Route::Whoami => account::whoami(ctx).await,
        Route::CreateRepo => repos::create(ctx, body).await,
        Route::DeleteRepo => repos::delete(ctx, body).await,
        Route::Settings(r) => repos::settings(ctx, r, body).await,
        Route::ValidateYaml => repos::validate_yaml(body).await,
        Route::Branch(r, name) => repos::branch(ctx, r, name, body).await,
        Route::Tag(r, name) => repos::tag(ctx, r, name, body).await,
        Route::List(t) => info::list(ctx, t).await,
        Route::Info(r, rev) => info::info(ctx, r, rev).await,
        Route::Tree { repo, rev, path } => tree::tree(ctx, repo, rev, path).await,
        Route::Refs(r) => tree::refs(ctx, r).await,
        Route::Commits(r, rev) => tree::commits(ctx, r, rev).await,
        Route::Preupload(r, rev) => upload::preupload(ctx, r, rev, body).await,
        Route::LfsBatch(r) => upload::batch(ctx, r, body).await,
        Route::LfsUpload(r, oid) => upload::put(ctx, r, oid, body).await,
        Route::LfsVerify(r) => upload::verify(ctx, r, body).await,
        Route::Commit(r, rev) => commit::commit(ctx, r, rev, body).await,
        Route::Resolve { repo, rev, path } => resolve::resolve(ctx, repo, rev, path).await,
        Route::AskAccess(r) => gated::ask(ctx, r, body).await,
        Route::AccessList(r, status) => gated::list(ctx, r, status).await,
        Route::AccessHandle(r) => gated::handle(ctx, r, body).await,
        Route::AccessGrant(r) => gated::grant(ctx, r, body).await,
        Route::Home => web::home(ctx).await,
        Route::Page(r) => web::repo(ctx, r).await,
    }
}

pub(crate) fn json(v: Value) -> Response {
    Json(v).into_response()
}

/// The repo as the caller may see it (404 otherwise).
pub(crate) fn find(hub: &Hub, ctx_caller: &crate::Caller, r: &RepoRef) -> Result<Repo> {
    hub.find_repo(ctx_caller, r.rtype, &r.namespace, &r.name)
}

/// `datasets/` for datasets, nothing for models: the prefix of non-API URLs.
pub(crate) fn url_prefix(t: crate::ids::RepoType) -> &'static str {
    match t {
        crate::ids::RepoType::Model => "",
        crate::ids::RepoType::Dataset => "datasets/",
    }
}
