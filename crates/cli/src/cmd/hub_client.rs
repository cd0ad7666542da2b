//! `agora push MODEL REPO` and `agora pull hf:REPO[@rev]`: the hub client side (crates/hub/client).
//! A pull first compares the remote commit's files with the stored model (nothing is downloaded
//! when they match), else downloads into `$AGORA_HOME/hub-cache/...` (each file verified) and
//! enters the store like any local folder.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use hub::client::{parse_repo_spec, Client, LocalFile};
use hub::ids::RepoType;
use store::{PullOptions, Store};

use crate::args::PullArgs;
use crate::hub_args::PushArgs;

fn endpoint(flag: Option<&str>) -> String {
    flag.map(String::from).or_else(|| std::env::var("HF_ENDPOINT").ok().filter(|s| !s.is_empty())).unwrap_or_else(|| "https://huggingface.co".into())
}

/// Where `agora login` keeps the token: `$AGORA_HOME/hub-token`.
fn token_file() -> Result<PathBuf> {
    Ok(Store::open_default()?.root().join("hub-token"))
}

/// --token, then $HF_TOKEN, then `agora login`'s token, then the token file `huggingface-cli login` writes.
fn token(flag: Option<&str>) -> Option<String> {
    if let Some(t) = flag {
        return Some(t.to_string());
    }
    if let Ok(t) = std::env::var("HF_TOKEN") {
        if !t.trim().is_empty() {
            return Some(t.trim().to_string());
        }
    }
    if let Some(t) = token_file().ok().and_then(|f| std::fs::read_to_string(f).ok()).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
        return Some(t);
    }
    let file = match std::env::var_os("HF_HOME") {
        Some(h) => PathBuf::from(h).join("token"),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".cache/huggingface/token"),
    };
    std::fs::read_to_string(file).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn bytes_bar(quiet: bool, msg: &str) -> indicatif::ProgressBar {
    if quiet {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(indicatif::ProgressStyle::with_template("{msg} {bytes} {binary_bytes_per_sec}").unwrap());
    bar.set_message(msg.to_string());
    bar
}

/// Every regular file under `dir` except hidden ones and the store's manifest, as repo paths.
fn folder_files(dir: &Path, prefix: &str, out: &mut Vec<LocalFile>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || (prefix.is_empty() && name == store::MANIFEST_FILE) {
            continue;
        }
        let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
        let p = e.path();
        if p.is_dir() {
            folder_files(&p, &rel, out)?;
        } else if p.is_file() {
            out.push(LocalFile { path: rel, source: p });
        }
    }
    Ok(())
}

pub fn push(a: &PushArgs) -> Result<()> {
    let (ns, name, rev) = parse_repo_spec(a.repo.trim_start_matches("hf:"))?;
    if rev.is_some() {
        bail!("push always commits to main; drop the @revision from '{}'", a.repo);
    }
    let mut files = Vec::new();
    let src = PathBuf::from(&a.model);
    if let Some(entry) = Store::open_default()?.get(&a.model).ok().flatten() {
        folder_files(&entry.dir, "", &mut files)?;
    } else if src.is_file() {
        let file_name = src.file_name().context("the file has no name")?.to_string_lossy().into_owned();
        files.push(LocalFile { path: file_name, source: src.clone() });
    } else if src.is_dir() {
        folder_files(&src, "", &mut files)?;
    } else {
        bail!("'{}' is neither a model in the store (see `agora list`) nor a file or folder", a.model);
    }
    if files.is_empty() {
        bail!("'{}' holds no files to push", a.model);
    }
    let token = token(a.token.as_deref()).context("pushing needs a write token: pass --token or set HF_TOKEN")?;
    let client = Client::new(&endpoint(a.endpoint.as_deref()), Some(token))?;
    let created = client.create_repo(RepoType::Model, &ns, &name, a.private)?;
    let bar = bytes_bar(a.quiet, "uploading");
    let report = client.push(RepoType::Model, &ns, &name, &files, &a.message, &mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    let repo_url = format!("{}/{ns}/{name}", client.endpoint());
    match report.commit {
        Some(c) => println!(
            "pushed {} changed file(s) ({:.1} MB), {} unchanged -> {repo_url} @ {c}{}",
            report.changed_files,
            report.uploaded_bytes as f64 / 1e6,
            report.unchanged_files,
            if created { " (new repo)" } else { "" }
        ),
        None => println!("{repo_url} is up to date ({} files unchanged)", report.unchanged_files),
    }
    Ok(())
}

fn sanitize(endpoint: &str) -> String {
    endpoint.split("://").nth(1).unwrap_or(endpoint).chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

pub fn pull(a: &PullArgs) -> Result<()> {
    let spec = a.source.strip_prefix("hf:").expect("called for hf: specs");
    let (ns, name, rev) = parse_repo_spec(spec.trim_start_matches('/'))?;
    let rev = rev.unwrap_or_else(|| "main".into());
    let client = Client::new(&endpoint(None), token(None))?;
    let snap = client.snapshot(RepoType::Model, &ns, &name, &rev)?;
    let store = Store::open_default()?;
    let store_name = a.name.clone().unwrap_or_else(|| name.clone());
    if !a.force {
        if let Some(entry) = store.get(&store_name).ok().flatten() {
            if stored_matches(&entry, &snap)? {
                println!("{store_name} is up to date with {ns}/{name}@{}; nothing to download ({})", snap.commit, entry.dir.display());
                return Ok(());
            }
        }
    }
    // Verified files land here first; an interrupted pull resumes from the files already complete.
    let cache = store.root().join("hub-cache").join(sanitize(client.endpoint())).join(&ns).join(&name).join(&snap.commit);
    let bar = bytes_bar(a.quiet, &format!("downloading {ns}/{name}@{}", &snap.commit[..12]));
    let report = client.download_snapshot(RepoType::Model, &ns, &name, &snap, &cache, &mut |n| bar.inc(n))?;
    bar.finish_and_clear();
    println!("downloaded {} file(s), {:.1} MB ({} already here)", report.downloaded_files, report.downloaded_bytes as f64 / 1e6, report.reused_files);
    let opts = PullOptions { name: Some(store_name), force: a.force, quiet: a.quiet, ..PullOptions::default() };
    let cache_str = cache.to_str().context("the cache path is not UTF-8")?;
    let entry = store.pull_report(cache_str, &opts)?.entry;
    // The store holds its own verified copy now.
    let _ = std::fs::remove_dir_all(&cache);
    println!("pulled {ns}/{name}@{} -> {} ({})", snap.commit, entry.name, entry.dir.display());
    Ok(())
}

/// Whether the stored model holds exactly the remote snapshot's files (hidden files aside):
/// LFS files by sha256, others by git blob id.
fn stored_matches(entry: &store::ModelEntry, snap: &hub::client::Snapshot) -> Result<bool> {
    let remote: Vec<_> = snap.files.iter().filter(|f| !f.path.split('/').any(|s| s.starts_with('.')) && f.path != store::MANIFEST_FILE).collect();
    if remote.len() != entry.manifest.files.len() {
        return Ok(false);
    }
    for f in remote {
        let Some(s) = entry.manifest.files.iter().find(|s| s.path == f.path) else { return Ok(false) };
        if s.size != f.size {
            return Ok(false);
        }
        let same = match (&f.lfs_sha256, &f.git_oid) {
            (Some(sha), _) => *sha == s.sha256,
            (None, Some(oid)) => *oid == hub::hash::git_blob_oid(&std::fs::read(entry.dir.join(&s.path))?),
            (None, None) => false,
        };
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

pub fn login(a: &crate::hub_args::LoginArgs) -> Result<()> {
    let tok = match &a.token {
        Some(t) => t.trim().to_string(),
        None => {
            eprintln!("paste an access token (from the hub's settings, or `agora hub token new USER`):");
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).context("reading the token from stdin")?;
            line.trim().to_string()
        }
    };
    if tok.is_empty() || tok.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("that is not an access token (empty, or it contains spaces)");
    }
    let ep = endpoint(a.endpoint.as_deref());
    let (name, _) = Client::new(&ep, Some(tok.clone()))?.whoami().with_context(|| format!("checking the token against {ep}; nothing was stored"))?;
    let file = token_file()?;
    let dir = file.parent().context("the token file has no folder")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Written private from the start, then renamed into place: never readable by others, never half-written.
    let mut tmp = tempfile::Builder::new().prefix(".hub-token-").permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600)).tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, format!("{tok}\n").as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&file).map_err(|e| e.error).with_context(|| format!("writing {}", file.display()))?;
    println!("logged in to {ep} as {name}; the token is in {}", file.display());
    Ok(())
}

pub fn logout() -> Result<()> {
    let file = token_file()?;
    match std::fs::remove_file(&file) {
        Ok(()) => println!("removed {}", file.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => println!("not logged in (no {})", file.display()),
        Err(e) => return Err(e).with_context(|| format!("removing {}", file.display())),
    }
    if std::env::var("HF_TOKEN").is_ok_and(|t| !t.trim().is_empty()) {
        eprintln!("note: HF_TOKEN is still set in the environment and is used before the stored token");
    }
    Ok(())
}

pub fn whoami(a: &crate::hub_args::WhoamiArgs) -> Result<()> {
    let ep = endpoint(a.endpoint.as_deref());
    let (name, v) = Client::new(&ep, token(a.token.as_deref()))?.whoami()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{name}");
    }
    Ok(())
}
