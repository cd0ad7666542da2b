//! The hub's rules over its two stores: who may read or write what, how a commit is assembled and
//! checked, gated access, and fsck. The HTTP layer only parses requests and calls these.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::blob::{put_bytes, BlobStore, Check, FsBlobStore, S3BlobStore, S3Location};
use crate::card;
use crate::error::{HubError, Result};
use crate::hash::{git_blob_oid, is_sha256_hex, lfs_pointer, token_hash};
use crate::ids::{check_namespace, check_ref_name, check_repo_name, check_repo_path, RepoType};
use crate::meta::*;

/// Sizes the server enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest single file (LFS upload or inline) in bytes.
    pub max_file_size: u64,
    /// Files up to this size that look like text are sent inline in the commit; larger ones go through LFS.
    pub max_regular_size: u64,
    /// Entries per page of a tree listing.
    pub tree_page: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_file_size: 50 << 30, max_regular_size: 10 << 20, tree_page: 1000 }
    }
}

/// Where metadata and blobs live; both None is the embedded layout.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    pub db: Option<String>,
    pub blobs: Option<String>,
    /// S3 endpoint for non-AWS object stores (SeaweedFS, MinIO), e.g. http://127.0.0.1:8333.
    pub s3_endpoint: Option<String>,
}

impl Backends {
    pub fn embedded(&self) -> bool {
        self.db.is_none() && self.blobs.is_none()
    }
}

/// Who is asking: a user with a token's scope, or nobody.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Option<String>,
    pub scope: Scope,
    pub token_name: Option<String>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller { user: None, scope: Scope::Read, token_name: None }
    }
}

/// File patterns stored through LFS in every new repo (written as its first `.gitattributes`).
pub const LFS_SUFFIXES: &[&str] = &[
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gguf", ".gz", ".h5", ".joblib", ".mlmodel", ".model", ".msgpack", ".npy",
    ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt", ".pth", ".rar", ".safetensors", ".tar", ".tflite", ".tgz",
    ".wasm", ".xz", ".zip", ".zst",
];

fn gitattributes() -> String {
    let mut s = String::new();
    for suf in LFS_SUFFIXES {
        s.push_str(&format!("*{suf} filter=lfs diff=lfs merge=lfs -text\n"));
    }
    s
}

/// How the client should send a file: inline in the commit ("regular") or through LFS.
pub fn upload_mode(path: &str, size: u64, sample: &[u8], limits: &Limits) -> &'static str {
    let lower = path.to_ascii_lowercase();
    if size > limits.max_regular_size || LFS_SUFFIXES.iter().any(|s| lower.ends_with(s)) || sample.contains(&0) {
        "lfs"
    } else {
        "regular"
    }
}

/// An operation of an incoming commit, after the server has stored any inline content.
#[derive(Debug, Clone)]
pub enum IncomingOp {
    /// Content already in the blob store (inline file); `git_oid` computed from the bytes.
    Regular { path: String, sha256: String, size: u64, git_oid: String },
    /// A file uploaded through LFS earlier; `size` absent when the client copies a file.
    Lfs { path: String, oid: String, size: Option<u64> },
    Delete { path: String },
    DeleteFolder { path: String },
}

pub struct Hub {
    pub meta: Box<dyn MetaStore>,
    pub blobs: Box<dyn BlobStore>,
    pub limits: Limits,
    pub data_dir: PathBuf,
}

#[derive(Debug, Default)]
pub struct FsckReport {
    pub referenced: usize,
    pub stored: usize,
    pub missing: Vec<String>,
    pub corrupt: Vec<String>,
    pub wrong_size: Vec<String>,
    pub orphans: usize,
    pub temporaries_removed: usize,
    pub metadata_problems: Vec<String>,
}

impl FsckReport {
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.corrupt.is_empty() && self.wrong_size.is_empty() && self.metadata_problems.is_empty()
    }
}

impl Hub {
    /// The embedded layout: `<dir>/meta.sqlite` and `<dir>/blobs/`.
    pub fn open(dir: &Path, limits: Limits) -> Result<Hub> {
        std::fs::create_dir_all(dir)?;
        let meta = SqliteMeta::open(&dir.join("meta.sqlite"))?;
        let blobs = FsBlobStore::open(dir.join("blobs"))?;
        Ok(Hub { meta: Box::new(meta), blobs: Box::new(blobs), limits, data_dir: dir.to_path_buf() })
    }

    /// Chosen backends: `b.db` a `postgres://` URL (else SQLite in `dir`), `b.blobs` an `s3://bucket/prefix`
    /// (else the folder `dir/blobs`). With both remote, several servers can serve one hub.
    pub fn open_backends(dir: &Path, b: &Backends, limits: Limits) -> Result<Hub> {
        std::fs::create_dir_all(dir)?;
        let meta: Box<dyn MetaStore> = match b.db.as_deref() {
            None => Box::new(SqliteMeta::open(&dir.join("meta.sqlite"))?),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Box::new(PgMeta::open(url)?),
            Some(url) => return Err(HubError::BadRequest(format!("--db '{url}' is not supported; give a postgres://USER@HOST:PORT/DB URL, or leave it out for SQLite in the data directory"))),
        };
        let blobs: Box<dyn BlobStore> = match b.blobs.as_deref() {
            None => Box::new(FsBlobStore::open(dir.join("blobs"))?),
            Some(url) if url.starts_with("s3://") => Box::new(S3BlobStore::open(&S3Location::parse(url, b.s3_endpoint.clone())?)?),
            Some(url) => return Err(HubError::BadRequest(format!("--blobs '{url}' is not supported; give s3://BUCKET[/PREFIX], or leave it out for the folder in the data directory"))),
        };
        Ok(Hub { meta, blobs, limits, data_dir: dir.to_path_buf() })
    }

    // ---- accounts ----

    pub fn add_user(&self, name: &str, fullname: Option<&str>, email: Option<&str>) -> Result<User> {
        check_namespace(name)?;
        self.meta.create_user(name, fullname.unwrap_or(name), email)
    }

    pub fn add_org(&self, name: &str, admin: &str) -> Result<()> {
        check_namespace(name)?;
        self.meta.create_org(name, name, admin)
    }

    /// Creates a token and returns it in clear, the only time it is ever seen.
    pub fn new_token(&self, user: &str, name: &str, scope: Scope) -> Result<(String, Token)> {
        let secret = crate::hash::new_token();
        let t = self.meta.create_token(user, name, scope, &token_hash(&secret))?;
        Ok((secret, t))
    }

    /// `Authorization: Bearer` -> caller. A token that is unknown or revoked is an error, not anonymity.
    pub fn authenticate(&self, bearer: Option<&str>) -> Result<Caller> {
        let Some(token) = bearer else {
            return Ok(Caller::anonymous());
        };
        match self.meta.token_by_hash(&token_hash(token))? {
            Some(t) => Ok(Caller { user: Some(t.user), scope: t.scope, token_name: Some(t.name) }),
            None => Err(HubError::Unauthorized("Invalid credentials in Authorization header".into())),
        }
    }

    /// Whether `user` belongs to the namespace (is it, or is a member of the organization).
    fn member_role(&self, user: &str, namespace: &str) -> Result<Option<Role>> {
        if user.eq_ignore_ascii_case(namespace) {
            return Ok(Some(Role::Admin));
        }
        self.meta.role_in(namespace, user)
    }

    pub fn can_read(&self, caller: &Caller, repo: &Repo) -> Result<bool> {
        if !repo.private {
            return Ok(true);
        }
        match &caller.user {
            Some(u) => Ok(self.member_role(u, &repo.namespace)?.is_some()),
            None => Ok(false),
        }
    }

    /// Write access to a namespace needs a write token of its user or of a member with write role.
    pub fn require_write(&self, caller: &Caller, namespace: &str) -> Result<String> {
        let Some(user) = &caller.user else {
            return Err(HubError::Unauthorized("this operation needs an access token with write scope (Authorization: Bearer)".into()));
        };
        if caller.scope != Scope::Write {
            return Err(HubError::Forbidden(format!(
                "the token '{}' has read scope; this operation needs a write token (agora hub token new {user} --write)",
                caller.token_name.as_deref().unwrap_or("?")
            )));
        }
        match self.member_role(user, namespace)? {
            Some(r) if r >= Role::Write => Ok(user.clone()),
            _ => Err(HubError::Forbidden(format!("user '{user}' has no write access to namespace '{namespace}'"))),
        }
    }

    /// The repo, if it exists and the caller may see it; private repos are 404 to others.
    pub fn find_repo(&self, caller: &Caller, rtype: RepoType, namespace: &str, name: &str) -> Result<Repo> {
        let not_found = || HubError::RepoNotFound(format!("{}/{namespace}/{name}", rtype.plural()));
        check_namespace(namespace).map_err(|_| not_found())?;
        check_repo_name(name).map_err(|_| not_found())?;
        match self.meta.repo(rtype, namespace, name)? {
            Some(r) if self.can_read(caller, &r)? => Ok(r),
            _ => Err(not_found()),
        }
    }

    pub fn resolve_rev(&self, repo: &Repo, rev: &str) -> Result<String> {
        self.meta.resolve(repo.id, rev)?.ok_or_else(|| HubError::RevisionNotFound(format!("{}: no branch, tag or commit '{}'", repo.full_id(), rev.escape_default())))
    }

    /// Gated repos serve files only to members and users whose request was accepted.
    /// The card and `.gitattributes` stay readable so the terms can be shown.
    pub fn check_gate(&self, caller: &Caller, repo: &Repo, path: &str) -> Result<()> {
        if repo.gated == Gated::Off || path == "README.md" || path == ".gitattributes" {
            return Ok(());
        }
        let Some(user) = &caller.user else {
            return Err(HubError::Gated(format!("{} is gated: log in and accept its terms to download files", repo.full_id())));
        };
        if self.member_role(user, &repo.namespace)?.is_some() {
            return Ok(());
        }
        match self.meta.access(repo.id, user)? {
            Some(a) if a.status == AccessStatus::Accepted => Ok(()),
            Some(a) if a.status == AccessStatus::Pending => Err(HubError::Gated(format!("your request to access {} is awaiting review by its owner", repo.full_id()))),
            _ => Err(HubError::Gated(format!("{} is gated: accept its terms first (POST /api/{}/{}/ask-access)", repo.full_id(), repo.rtype.plural(), repo.full_id()))),
        }
    }

    /// Records a user's acceptance of a gated repo's terms (with the time and the card's license).
    pub fn ask_access(&self, caller: &Caller, repo: &Repo, fields: Option<String>) -> Result<AccessStatus> {
        let Some(user) = &caller.user else {
            return Err(HubError::Unauthorized("log in (a token) to request access".into()));
        };
        if repo.gated == Gated::Off {
            return Err(HubError::BadRequest(format!("{} is not gated", repo.full_id())));
        }
        if let Some(prev) = self.meta.access(repo.id, user)? {
            if prev.status != AccessStatus::Pending {
                return Ok(prev.status);
            }
        }
        let head = self.resolve_rev(repo, "main")?;
        let license = self.meta.commit(repo.id, &head)?.and_then(|c| card::license(c.card.as_deref()));
        let status = if repo.gated == Gated::Auto { AccessStatus::Accepted } else { AccessStatus::Pending };
        self.meta.set_access(repo.id, &AccessRequest { user: user.clone(), status, time_ms: crate::time::now_ms(), license, fields })?;
        Ok(status)
    }

    /// The owner's decision on a request (or a grant without one).
    pub fn handle_access(&self, caller: &Caller, repo: &Repo, user: &str, status: AccessStatus) -> Result<()> {
        self.require_write(caller, &repo.namespace)?;
        if self.meta.user(user)?.is_none() {
            return Err(HubError::NotFound(format!("user '{user}' does not exist")));
        }
        let prev = self.meta.access(repo.id, user)?;
        self.meta.set_access(
            repo.id,
            &AccessRequest { user: user.into(), status, time_ms: crate::time::now_ms(), license: prev.as_ref().and_then(|p| p.license.clone()), fields: None },
        )
    }

    // ---- repositories ----

    pub fn create_repo(&self, caller: &Caller, rtype: RepoType, namespace: &str, name: &str, private: bool) -> Result<Repo> {
        check_namespace(namespace)?;
        check_repo_name(name)?;
        let author = self.require_write(caller, namespace)?;
        if self.meta.namespace_kind(namespace)?.is_none() {
            return Err(HubError::NotFound(format!("namespace '{namespace}' does not exist")));
        }
        let attrs = gitattributes();
        let blob = put_bytes(self.blobs.as_ref(), attrs.as_bytes())?;
        let entry = FileEntry { path: ".gitattributes".into(), sha256: blob.sha256, size: blob.size, git_oid: git_blob_oid(attrs.as_bytes()), lfs: false };
        let first = NewCommit {
            branch: "main".into(),
            expected_parent: None,
            author,
            title: "initial commit".into(),
            message: String::new(),
            time_ms: crate::time::now_ms(),
            ops: vec![Op::Put(entry)],
            card: CardChange::Clear,
        };
        Ok(self.meta.create_repo(rtype, namespace, name, private, &first)?.0)
    }

    /// Checks and applies an incoming commit in one metadata transaction. Every referenced blob
    /// must already be stored (and so verified).
    #[allow(clippy::too_many_arguments)]
    pub fn commit(&self, caller: &Caller, repo: &Repo, branch: &str, title: &str, message: &str, parent: Option<&str>, ops: Vec<IncomingOp>) -> Result<Commit> {
        let author = self.require_write(caller, &repo.namespace)?;
        check_ref_name(branch)?;
        if title.trim().is_empty() {
            return Err(HubError::BadRequest("the commit needs a summary (message)".into()));
        }
        if let Some(p) = parent {
            if !crate::hash::is_commit_hex(p) {
                return Err(HubError::BadRequest(format!("parentCommit '{}' is not a 40-digit commit id", p.escape_default())));
            }
        }
        let mut out = Vec::with_capacity(ops.len());
        let mut card = CardChange::Keep;
        for op in ops {
            let path = match &op {
                IncomingOp::Regular { path, .. } | IncomingOp::Lfs { path, .. } | IncomingOp::Delete { path } => path.clone(),
                IncomingOp::DeleteFolder { path } => path.trim_end_matches('/').to_string(),
            };
            check_repo_path(&path)?;
            let entry = match op {
                IncomingOp::Regular { path, sha256, size, git_oid } => FileEntry { path, sha256, size, git_oid, lfs: false },
                IncomingOp::Lfs { path, oid, size } => {
                    if !is_sha256_hex(&oid) {
                        return Err(HubError::BadRequest(format!("lfsFile '{path}': oid must be a sha256 (64 lowercase hex digits)")));
                    }
                    let stored = self.blobs.size(&oid)?;
                    let size = match (stored, size) {
                        (Some(s), None) => s,
                        (Some(s), Some(claimed)) if s == claimed => s,
                        (Some(s), Some(claimed)) => return Err(HubError::BadRequest(format!("lfsFile '{path}': size {claimed} does not match the uploaded object ({s} bytes)"))),
                        (None, _) => return Err(HubError::BadRequest(format!("lfsFile '{path}': object {oid} was never uploaded; upload it through the LFS batch API first"))),
                    };
                    let git_oid = git_blob_oid(lfs_pointer(&oid, size).as_bytes());
                    FileEntry { path, sha256: oid, size, git_oid, lfs: true }
                }
                IncomingOp::Delete { path } => {
                    if path == "README.md" {
                        card = CardChange::Clear;
                    }
                    out.push(Op::Delete(path));
                    continue;
                }
                IncomingOp::DeleteFolder { path } => {
                    out.push(Op::DeleteFolder(path.trim_end_matches('/').to_string()));
                    continue;
                }
            };
            if entry.path == "README.md" {
                card = self.card_of(&entry, repo.rtype)?;
            }
            out.push(Op::Put(entry));
        }
        if out.is_empty() {
            return Err(HubError::BadRequest("the commit has no operations".into()));
        }
        let c = NewCommit {
            branch: branch.into(),
            expected_parent: parent.map(String::from),
            author,
            title: title.into(),
            message: message.into(),
            time_ms: crate::time::now_ms(),
            ops: out,
            card,
        };
        self.meta.apply_commit(repo.id, &c)
    }

    fn card_of(&self, readme: &FileEntry, rtype: RepoType) -> Result<CardChange> {
        if readme.size > 4 << 20 {
            return Err(HubError::BadRequest("README.md is larger than 4 MiB".into()));
        }
        let mut text = String::new();
        self.blobs
            .open(&readme.sha256, 0)?
            .read_to_string(&mut text)
            .map_err(|_| HubError::BadRequest("README.md is not UTF-8 text".into()))?;
        if rtype == RepoType::Model {
            // The license knowledge base's checks: an invalid card or a license conflict refuses
            // the commit with every reason; warnings are shown on the repo page.
            let errors: Vec<String> = ::card::check_for_push(&text).into_iter().filter(|p| p.error).map(|p| p.to_string()).collect();
            if !errors.is_empty() {
                return Err(HubError::BadRequest(format!("Invalid model card (README.md): {}", errors.join("; "))));
            }
        }
        Ok(match card::parse(&text)? {
            Some(c) => CardChange::Set { json: c.data.to_string(), tags: c.tags },
            None => CardChange::Clear,
        })
    }

    // ---- integrity ----

    /// Checks every blob the metadata refers to (rehashing when `rehash`), counts orphans and
    /// removes temporaries of interrupted uploads. Run it with the server stopped.
    pub fn fsck(&self, rehash: bool, progress: &mut dyn FnMut(usize, usize)) -> Result<FsckReport> {
        let mut r = FsckReport { metadata_problems: self.meta.self_check()?, ..Default::default() };
        let referenced = self.meta.referenced_blobs()?;
        r.referenced = referenced.len();
        let stored = self.blobs.list()?;
        r.stored = stored.len();
        let stored_set: std::collections::HashSet<&str> = stored.iter().map(|b| b.sha256.as_str()).collect();
        let referenced_set: std::collections::HashSet<&str> = referenced.iter().map(|(s, _)| s.as_str()).collect();
        r.orphans = stored_set.difference(&referenced_set).count();
        for (i, (sha, size)) in referenced.iter().enumerate() {
            progress(i, referenced.len());
            match self.blobs.size(sha)? {
                None => r.missing.push(sha.clone()),
                Some(s) if s != *size => r.wrong_size.push(sha.clone()),
                Some(_) if rehash => match self.blobs.check(sha)? {
                    Check::Ok => {}
                    Check::Missing => r.missing.push(sha.clone()),
                    Check::Corrupt { .. } => r.corrupt.push(sha.clone()),
                },
                Some(_) => {}
            }
        }
        r.temporaries_removed = self.blobs.clean_temporaries()?;
        Ok(r)
    }
}
