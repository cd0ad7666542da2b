//! Metadata store: users, tokens, organizations, repositories, commits, refs and file entries.
//! A commit is one transaction: either every file entry and the moved branch are visible, or nothing.
//!
//! The trait is synchronous and backend-neutral (SQLite here; a Postgres backend implements the same
//! calls). Commit ids are computed by `commit_id` so every backend produces the same ids.

mod pg;
mod sqlite;

pub use pg::PgMeta;
pub use sqlite::SqliteMeta;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{HubError, Result};
use crate::hash::sha1_hex;
use crate::ids::RepoType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Read,
    Write,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "read" => Some(Scope::Read),
            "write" => Some(Scope::Write),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Read,
    Write,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Write => "write",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "read" => Some(Role::Read),
            "write" => Some(Role::Write),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gated {
    Off,
    /// Requests are accepted as soon as they are made.
    Auto,
    /// The owner accepts or rejects each request.
    Manual,
}

impl Gated {
    pub fn as_str(self) -> &'static str {
        match self {
            Gated::Off => "off",
            Gated::Auto => "auto",
            Gated::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<Gated> {
        match s {
            "off" => Some(Gated::Off),
            "auto" => Some(Gated::Auto),
            "manual" => Some(Gated::Manual),
            _ => None,
        }
    }
    /// As the Hub's JSON writes it: `false`, `"auto"` or `"manual"`.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Gated::Off => serde_json::Value::Bool(false),
            g => serde_json::Value::String(g.as_str().into()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub fullname: String,
    pub email: Option<String>,
    pub created_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Token {
    pub id: i64,
    pub user: String,
    pub name: String,
    pub scope: Scope,
    pub created_ms: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceKind {
    User,
    Org,
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub id: i64,
    pub rtype: RepoType,
    pub namespace: String,
    pub name: String,
    pub private: bool,
    pub gated: Gated,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Repo {
    /// `namespace/name`, as the client spells a repo id.
    pub fn full_id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

#[derive(Debug, Clone)]
pub struct Commit {
    pub id: String,
    pub parent: Option<String>,
    pub author: String,
    pub title: String,
    pub message: String,
    pub time_ms: i64,
    /// The card metadata (README front matter) as JSON text, if the commit has a card.
    pub card: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// git's blob id: of the content for regular files, of the LFS pointer for LFS files.
    pub git_oid: String,
    pub lfs: bool,
}

#[derive(Debug, Clone)]
pub enum Op {
    Put(FileEntry),
    Delete(String),
    DeleteFolder(String),
}

#[derive(Debug, Clone)]
pub enum CardChange {
    Keep,
    /// JSON text of the new card metadata and the tags it gives the repo.
    Set { json: String, tags: Vec<String> },
    Clear,
}

#[derive(Debug, Clone)]
pub struct NewCommit {
    pub branch: String,
    /// When given, the commit is refused unless the branch still points here.
    pub expected_parent: Option<String>,
    pub author: String,
    pub title: String,
    pub message: String,
    pub time_ms: i64,
    pub ops: Vec<Op>,
    pub card: CardChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Branch,
    Tag,
}

#[derive(Debug, Clone)]
pub struct RefInfo {
    pub kind: RefKind,
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    LastModified,
    CreatedAt,
    Id,
}

#[derive(Debug, Clone)]
pub struct RepoQuery {
    pub rtype: RepoType,
    /// Substring of `namespace/name`, case-insensitive.
    pub search: Option<String>,
    pub author: Option<String>,
    /// Every tag must be present.
    pub tags: Vec<String>,
    /// Private repos this user can read are included.
    pub viewer: Option<String>,
    pub sort: Sort,
    pub descending: bool,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessStatus {
    Pending,
    Accepted,
    Rejected,
}

impl AccessStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessStatus::Pending => "pending",
            AccessStatus::Accepted => "accepted",
            AccessStatus::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<AccessStatus> {
        match s {
            "pending" => Some(AccessStatus::Pending),
            "accepted" => Some(AccessStatus::Accepted),
            "rejected" => Some(AccessStatus::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AccessRequest {
    pub user: String,
    pub status: AccessStatus,
    pub time_ms: i64,
    /// The card's license when the terms were accepted.
    pub license: Option<String>,
    /// The answers to the card's `extra_gated_fields`, as JSON text.
    pub fields: Option<String>,
}

pub trait MetaStore: Send + Sync {
    // accounts
    fn create_user(&self, name: &str, fullname: &str, email: Option<&str>) -> Result<User>;
    fn user(&self, name: &str) -> Result<Option<User>>;
    fn users(&self) -> Result<Vec<User>>;
    fn namespace_kind(&self, name: &str) -> Result<Option<NamespaceKind>>;
    fn create_org(&self, name: &str, fullname: &str, admin: &str) -> Result<()>;
    fn set_member(&self, org: &str, user: &str, role: Option<Role>) -> Result<()>;
    fn role_in(&self, org: &str, user: &str) -> Result<Option<Role>>;
    fn orgs_of(&self, user: &str) -> Result<Vec<(String, Role)>>;
    fn create_token(&self, user: &str, name: &str, scope: Scope, hash: &str) -> Result<Token>;
    /// The live (not revoked) token with this hash.
    fn token_by_hash(&self, hash: &str) -> Result<Option<Token>>;
    fn tokens(&self, user: &str) -> Result<Vec<Token>>;
    fn revoke_token(&self, user: &str, id: i64) -> Result<bool>;

    // repositories
    /// Creates the repo with its `main` branch at a first commit, in one transaction.
    fn create_repo(&self, rtype: RepoType, namespace: &str, name: &str, private: bool, first: &NewCommit) -> Result<(Repo, Commit)>;
    fn repo(&self, rtype: RepoType, namespace: &str, name: &str) -> Result<Option<Repo>>;
    fn delete_repo(&self, id: i64) -> Result<()>;
    fn update_repo(&self, id: i64, private: Option<bool>, gated: Option<Gated>) -> Result<()>;
    fn list_repos(&self, q: &RepoQuery) -> Result<Vec<Repo>>;
    fn repo_tags(&self, id: i64) -> Result<Vec<String>>;

    // history
    fn refs(&self, repo: i64) -> Result<Vec<RefInfo>>;
    /// A branch, a tag or a full commit id of this repo -> the commit id.
    fn resolve(&self, repo: i64, rev: &str) -> Result<Option<String>>;
    fn commit(&self, repo: i64, id: &str) -> Result<Option<Commit>>;
    fn files(&self, repo: i64, commit: &str) -> Result<Vec<FileEntry>>;
    fn file(&self, repo: i64, commit: &str, path: &str) -> Result<Option<FileEntry>>;
    /// One transaction: checks the parent, applies the operations, writes the commit, moves the branch.
    fn apply_commit(&self, repo: i64, c: &NewCommit) -> Result<Commit>;
    fn set_ref(&self, repo: i64, kind: RefKind, name: &str, target: Option<&str>) -> Result<()>;

    // gated access
    fn access(&self, repo: i64, user: &str) -> Result<Option<AccessRequest>>;
    fn set_access(&self, repo: i64, req: &AccessRequest) -> Result<()>;
    fn access_requests(&self, repo: i64, status: AccessStatus) -> Result<Vec<AccessRequest>>;

    // integrity
    /// Every (sha256, size) that some commit of some repo refers to.
    fn referenced_blobs(&self) -> Result<Vec<(String, u64)>>;
    /// Structural checks of the store itself (e.g. SQLite's integrity_check); empty when sound.
    fn self_check(&self) -> Result<Vec<String>>;
}

/// The id of a commit: SHA-1 over its tree (sorted paths with their sha256 and size), parent,
/// author, time and message, so equal histories give equal ids in every backend.
pub fn commit_id(files: &[FileEntry], parent: Option<&str>, author: &str, time_ms: i64, title: &str, message: &str) -> String {
    let mut sorted: Vec<&FileEntry> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut tree = String::new();
    for f in sorted {
        tree.push_str(&format!("{}\0{}\0{}\n", f.path, f.sha256, f.size));
    }
    let text = format!("tree {}\nparent {}\nauthor {author} {time_ms}\n\n{title}\n\n{message}", sha1_hex(tree.as_bytes()), parent.unwrap_or(""));
    sha1_hex(text.as_bytes())
}

/// Applies a commit's operations to the parent's tree (path -> entry); shared by every backend so
/// they refuse the same things with the same words.
pub fn apply_ops(tree: &mut BTreeMap<String, FileEntry>, ops: &[Op]) -> Result<()> {
    for op in ops {
        match op {
            Op::Put(f) => {
                // A file cannot also be a folder of another file.
                let as_dir = format!("{}/", f.path);
                if tree.keys().any(|p| p.starts_with(&as_dir)) {
                    return Err(HubError::BadRequest(format!("'{}' is a folder in this revision; it cannot also be a file", f.path)));
                }
                let mut prefix = f.path.as_str();
                while let Some(i) = prefix.rfind('/') {
                    prefix = &prefix[..i];
                    if tree.contains_key(prefix) {
                        return Err(HubError::BadRequest(format!("'{prefix}' is a file in this revision; it cannot hold '{}'", f.path)));
                    }
                }
                tree.insert(f.path.clone(), f.clone());
            }
            Op::Delete(p) => {
                if tree.remove(p).is_none() {
                    return Err(HubError::EntryNotFound(format!("cannot delete '{p}': a file with this name doesn't exist")));
                }
            }
            Op::DeleteFolder(p) => {
                let prefix = format!("{}/", p.trim_end_matches('/'));
                let before = tree.len();
                tree.retain(|k, _| !k.starts_with(&prefix));
                if tree.len() == before {
                    return Err(HubError::EntryNotFound(format!("cannot delete folder '{p}': no file lies under it")));
                }
            }
        }
    }
    Ok(())
}
