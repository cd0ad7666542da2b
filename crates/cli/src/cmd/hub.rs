//! `agora hub serve|user|org|token|fsck`: the self-hostable model and dataset hub (crates/hub).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use hub::meta::{Role, Scope};
use hub::server::{sign, AppState};
use hub::{Backends, Hub, Limits};

use crate::hub_args::*;

fn data_dir(a: &HubArgs) -> Result<PathBuf> {
    match &a.data {
        Some(d) => Ok(d.clone()),
        None => match std::env::var_os("AGORA_HUB_DATA") {
            Some(d) if !d.is_empty() => Ok(PathBuf::from(d)),
            _ => bail!("no data directory: pass --data DIR or set AGORA_HUB_DATA"),
        },
    }
}

fn env_or(flag: &Option<String>, var: &str) -> Option<String> {
    flag.clone().or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
}

fn backends(a: &HubArgs) -> Backends {
    Backends { db: env_or(&a.db, "AGORA_HUB_DB"), blobs: env_or(&a.blobs, "AGORA_HUB_BLOBS"), s3_endpoint: env_or(&a.s3_endpoint, "AGORA_HUB_S3_ENDPOINT") }
}

fn open(b: &Backends, dir: &std::path::Path, limits: Limits) -> Result<Hub> {
    if b.embedded() {
        return Hub::open(dir, limits).with_context(|| format!("opening the hub data directory {}", dir.display()));
    }
    Hub::open_backends(dir, b, limits).with_context(|| {
        format!("opening the hub (metadata: {}, blobs: {})", b.db.as_deref().unwrap_or("SQLite in the data directory"), b.blobs.as_deref().unwrap_or("folder in the data directory"))
    })
}

pub fn run(a: &HubArgs) -> Result<()> {
    let dir = data_dir(a)?;
    let b = backends(a);
    match &a.command {
        HubCommand::Serve(s) => serve(&b, &dir, s),
        HubCommand::User(HubUserCommand::Add { name, fullname, email }) => {
            let h = open(&b, &dir, Limits::default())?;
            h.add_user(name, fullname.as_deref(), email.as_deref())?;
            println!("created user {name}; make a token with: agora hub token new {name} --write");
            Ok(())
        }
        HubCommand::User(HubUserCommand::List { json }) => {
            let h = open(&b, &dir, Limits::default())?;
            let users = h.meta.users()?;
            if *json {
                let v: Vec<_> = users.iter().map(|u| serde_json::json!({ "name": u.name, "fullname": u.fullname, "email": u.email, "created": hub::time::iso(u.created_ms) })).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for u in users {
                    println!("{}\t{}", u.name, u.email.unwrap_or_default());
                }
            }
            Ok(())
        }
        HubCommand::Org(HubOrgCommand::Add { name, admin }) => {
            open(&b, &dir, Limits::default())?.add_org(name, admin)?;
            println!("created organization {name} with admin {admin}");
            Ok(())
        }
        HubCommand::Org(HubOrgCommand::Member { org, user, role, remove }) => {
            let h = open(&b, &dir, Limits::default())?;
            let role = if *remove { None } else { Some(Role::parse(role).with_context(|| format!("role '{role}' is not read, write or admin"))?) };
            h.meta.set_member(org, user, role)?;
            Ok(())
        }
        HubCommand::Token(HubTokenCommand::New { user, write, name }) => {
            let h = open(&b, &dir, Limits::default())?;
            let (secret, t) = h.new_token(user, name, if *write { Scope::Write } else { Scope::Read })?;
            eprintln!("token {} ({}) for {user}; it is shown only now:", t.id, t.scope.as_str());
            println!("{secret}");
            Ok(())
        }
        HubCommand::Token(HubTokenCommand::List { user, json }) => {
            let h = open(&b, &dir, Limits::default())?;
            let tokens = h.meta.tokens(user)?;
            if *json {
                let v: Vec<_> = tokens.iter().map(|t| serde_json::json!({ "id": t.id, "name": t.name, "scope": t.scope, "created": hub::time::iso(t.created_ms), "revoked": t.revoked })).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                for t in tokens {
                    println!("{}\t{}\t{}\t{}", t.id, t.name, t.scope.as_str(), if t.revoked { "revoked" } else { "active" });
                }
            }
            Ok(())
        }
        HubCommand::Token(HubTokenCommand::Revoke { user, id }) => {
            if !open(&b, &dir, Limits::default())?.meta.revoke_token(user, *id)? {
                bail!("user {user} has no active token {id} (see: agora hub token list {user})");
            }
            println!("revoked token {id}");
            Ok(())
        }
        HubCommand::Fsck(f) => fsck(&b, &dir, f),
    }
}

fn serve(b: &Backends, dir: &std::path::Path, s: &HubServeArgs) -> Result<()> {
    if s.tree_page == 0 {
        bail!("--tree-page must be at least 1");
    }
    let limits = Limits { max_file_size: s.max_file_size, tree_page: s.tree_page, ..Limits::default() };
    let hub = Arc::new(open(b, dir, limits)?);
    let secret = sign::load_or_create_secret(dir)?;
    let state = Arc::new(AppState { hub, secret, public_url: s.public_url.clone() });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&s.addr).await.with_context(|| format!("listening on {} (is the port in use? pick another with --addr)", s.addr))?;
        let local = listener.local_addr()?;
        eprintln!("agora hub: serving {} at http://{local} (set HF_ENDPOINT=http://{local} and HF_HUB_DISABLE_XET=1 in clients); Ctrl-C stops", dir.display());
        hub::server::serve(listener, state, super::serve::shutdown_signal()).await?;
        eprintln!("agora hub: stopped");
        Ok(())
    })
}

fn fsck(b: &Backends, dir: &std::path::Path, f: &HubFsckArgs) -> Result<()> {
    if b.db.is_none() && !dir.join("meta.sqlite").exists() {
        bail!("{} holds no hub (no meta.sqlite)", dir.display());
    }
    let h = open(b, dir, Limits::default())?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(indicatif::ProgressStyle::with_template("fsck {bar:30} {pos}/{len} blobs").unwrap());
    let r = h.fsck(!f.quick, &mut |i, n| {
        bar.set_length(n as u64);
        bar.set_position(i as u64 + 1);
    })?;
    bar.finish_and_clear();
    if f.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "ok": r.ok(), "referenced": r.referenced, "stored": r.stored, "missing": r.missing, "corrupt": r.corrupt,
                "wrong_size": r.wrong_size, "orphans": r.orphans, "temporaries_removed": r.temporaries_removed, "metadata_problems": r.metadata_problems,
            }))?
        );
    } else {
        println!("{} blobs referenced, {} stored, {} orphaned; removed {} temporaries of interrupted uploads", r.referenced, r.stored, r.orphans, r.temporaries_removed);
        for m in &r.missing {
            println!("MISSING  {m}");
        }
        for c in &r.corrupt {
            println!("CORRUPT  {c}");
        }
        for w in &r.wrong_size {
            println!("SIZE     {w}");
        }
        for p in &r.metadata_problems {
            println!("METADATA {p}");
        }
    }
    if !r.ok() {
        bail!("the hub at {} is damaged (see above)", dir.display());
    }
    if !f.json {
        println!("ok");
    }
    Ok(())
}
