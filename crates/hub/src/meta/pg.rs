//! Shared metadata on Postgres, so several stateless hub servers can serve one hub.
//! Same semantics as the SQLite store: a commit is one transaction, and the branch row is locked
//! (`SELECT ... FOR UPDATE`) before its head is compared with the commit's parent, so of two servers
//! committing on one parent at once exactly one wins; the other sees the new head and is refused.
//!
//! The sync `postgres` client fits the sync `MetaStore` trait (the server calls it from blocking
//! threads); a few connections are kept in a small pool.

use std::collections::BTreeMap;
use std::sync::Mutex;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, GenericClient, NoTls, Row};

use super::*;
use crate::error::{HubError, Result};

const SCHEMA_VERSION: i32 = 1;
/// Advisory lock key for migrations (any constant; "agorahub" in ASCII).
const MIGRATE_LOCK: i64 = 0x61676f7261687562;
const POOL_MAX: usize = 8;

impl From<postgres::Error> for HubError {
    fn from(e: postgres::Error) -> Self {
        // The server's own message (e.g. a constraint) is in the source; Display alone says "db error".
        match e.as_db_error() {
            Some(d) => HubError::Db(format!("{}: {}", d.severity(), d.message())),
            None => HubError::Db(e.to_string()),
        }
    }
}

fn unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

fn fk_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION)
}

pub struct PgMeta {
    config: postgres::Config,
    idle: Mutex<Vec<Client>>,
}

/// A connection borrowed from the pool; goes back on drop unless it broke.
struct Conn<'a> {
    pool: &'a PgMeta,
    client: Option<Client>,
}

impl std::ops::Deref for Conn<'_> {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until drop")
    }
}

impl Drop for Conn<'_> {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            if !c.is_closed() {
                let mut idle = self.pool.idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < POOL_MAX {
                    idle.push(c);
                }
            }
        }
    }
}

impl Drop for PgMeta {
    fn drop(&mut self) {
        // Closing a sync client blocks on its own runtime, which panics when the hub is dropped
        // inside the server's runtime (at shutdown): close them on a plain thread.
        let idle = std::mem::take(&mut *self.idle.lock().unwrap_or_else(|p| p.into_inner()));
        if !idle.is_empty() {
            let _ = std::thread::spawn(move || drop(idle)).join();
        }
    }
}

impl PgMeta {
    /// Connects to `postgres://user[:password]@host[:port]/db` and brings the schema up to date.
    pub fn open(url: &str) -> Result<PgMeta> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| HubError::Db(format!("'{url}' is not a Postgres URL ({e}); write postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE")))?;
        let meta = PgMeta { config, idle: Mutex::new(Vec::new()) };
        meta.migrate()?;
        Ok(meta)
    }

    fn conn(&self) -> Result<Conn<'_>> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let client = match pooled {
            Some(c) => c,
            None => self.config.connect(NoTls).map_err(|e| HubError::Db(format!("cannot connect to Postgres: {e}")))?,
        };
        Ok(Conn { pool: self, client: Some(client) })
    }

    fn migrate(&self) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
        tx.batch_execute(include_str!("pg_schema.sql"))?;
        let v: Option<i32> = tx.query_opt("SELECT max(version) FROM schema_version", &[])?.and_then(|r| r.get(0));
        match v {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(HubError::Db(format!("the metadata database has schema version {v}, newer than this agora ({SCHEMA_VERSION}); upgrade agora")));
            }
            Some(_) => tx.execute("UPDATE schema_version SET version = $1", &[&SCHEMA_VERSION])?,
            None => tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&SCHEMA_VERSION])?,
        };
        tx.commit()?;
        Ok(())
    }
}

fn row_user(r: &Row) -> User {
    User { name: r.get(0), fullname: r.get(1), email: r.get(2), created_ms: r.get(3) }
}

fn row_token(r: &Row) -> Token {
    let scope: String = r.get(3);
    let revoked: Option<i64> = r.get(5);
    Token { id: r.get(0), user: r.get(1), name: r.get(2), scope: Scope::parse(&scope).unwrap_or(Scope::Read), created_ms: r.get(4), revoked: revoked.is_some() }
}

// citext columns are read as text.
const REPO_COLS: &str = "id, type, namespace::text, name::text, private, gated, created_ms, updated_ms";

fn row_repo(r: &Row) -> Repo {
    let t: String = r.get(1);
    let g: String = r.get(5);
    Repo {
        id: r.get(0),
        rtype: if t == "dataset" { RepoType::Dataset } else { RepoType::Model },
        namespace: r.get(2),
        name: r.get(3),
        private: r.get(4),
        gated: Gated::parse(&g).unwrap_or(Gated::Off),
        created_ms: r.get(6),
        updated_ms: r.get(7),
    }
}

const COMMIT_COLS: &str = "id, parent, author, title, message, time_ms, card";

fn row_commit(r: &Row) -> Commit {
    Commit { id: r.get(0), parent: r.get(1), author: r.get(2), title: r.get(3), message: r.get(4), time_ms: r.get(5), card: r.get(6) }
}

fn row_file(r: &Row) -> FileEntry {
    FileEntry { path: r.get(0), sha256: r.get(1), size: r.get::<_, i64>(2) as u64, git_oid: r.get(3), lfs: r.get(4) }
}

fn row_access(r: &Row) -> AccessRequest {
    let s: String = r.get(1);
    AccessRequest { user: r.get(0), status: AccessStatus::parse(&s).unwrap_or(AccessStatus::Pending), time_ms: r.get(2), license: r.get(3), fields: r.get(4) }
}

fn files_of(c: &mut impl GenericClient, repo: i64, commit: &str) -> Result<Vec<FileEntry>> {
    let rows = c.query("SELECT path, sha256, size, git_oid, lfs FROM files WHERE repo = $1 AND commit_id = $2 ORDER BY path", &[&repo, &commit])?;
    Ok(rows.iter().map(row_file).collect())
}

/// Writes a commit on top of the branch's head inside an open transaction (the branch row is locked).
fn write_commit(tx: &mut postgres::Transaction, repo: i64, c: &NewCommit, head: Option<&str>) -> Result<Commit> {
    let (mut tree, parent_card): (BTreeMap<String, FileEntry>, Option<String>) = match head {
        Some(h) => {
            let files = files_of(tx, repo, h)?;
            let card: Option<String> = tx.query_one("SELECT card FROM commits WHERE repo = $1 AND id = $2", &[&repo, &h])?.get(0);
            (files.into_iter().map(|f| (f.path.clone(), f)).collect(), card)
        }
        None => (BTreeMap::new(), None),
    };
    apply_ops(&mut tree, &c.ops)?;
    let files: Vec<FileEntry> = tree.into_values().collect();
    let card = match &c.card {
        CardChange::Keep => parent_card,
        CardChange::Set { json, .. } => Some(json.clone()),
        CardChange::Clear => None,
    };
    let id = commit_id(&files, head, &c.author, c.time_ms, &c.title, &c.message);
    tx.execute(
        "INSERT INTO commits (repo, id, parent, author, title, message, time_ms, card) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[&repo, &id, &head, &c.author, &c.title, &c.message, &c.time_ms, &card],
    )
    .map_err(|e| if unique_violation(&e) { HubError::Conflict("an identical commit already exists; retry".into()) } else { e.into() })?;
    if !files.is_empty() {
        // One statement for the whole tree: a model repo can hold thousands of files.
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let shas: Vec<&str> = files.iter().map(|f| f.sha256.as_str()).collect();
        let sizes: Vec<i64> = files.iter().map(|f| f.size as i64).collect();
        let oids: Vec<&str> = files.iter().map(|f| f.git_oid.as_str()).collect();
        let lfs: Vec<bool> = files.iter().map(|f| f.lfs).collect();
        tx.execute(
            "INSERT INTO files (repo, commit_id, path, sha256, size, git_oid, lfs)
             SELECT $1::bigint, $2::text, * FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[], $7::bool[])",
            &[&repo, &id, &paths, &shas, &sizes, &oids, &lfs],
        )?;
    }
    tx.execute(
        "INSERT INTO refs (repo, kind, name, target) VALUES ($1, 'branch', $2, $3) ON CONFLICT (repo, kind, name) DO UPDATE SET target = excluded.target",
        &[&repo, &c.branch, &id],
    )?;
    if c.branch == "main" {
        tx.execute("UPDATE repos SET updated_ms = $2 WHERE id = $1", &[&repo, &c.time_ms])?;
        match &c.card {
            CardChange::Keep => {}
            CardChange::Set { tags, .. } => {
                tx.execute("DELETE FROM repo_tags WHERE repo = $1", &[&repo])?;
                for t in tags {
                    tx.execute("INSERT INTO repo_tags (repo, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&repo, t])?;
                }
            }
            CardChange::Clear => {
                tx.execute("DELETE FROM repo_tags WHERE repo = $1", &[&repo])?;
            }
        }
    }
    Ok(Commit { id, parent: head.map(String::from), author: c.author.clone(), title: c.title.clone(), message: c.message.clone(), time_ms: c.time_ms, card })
}

/// Serialises account creation per name across servers (users and orgs share one namespace).
fn lock_name(tx: &mut postgres::Transaction, name: &str) -> Result<()> {
    tx.execute("SELECT pg_advisory_xact_lock(hashtext(lower($1)))", &[&name])?;
    Ok(())
}

impl MetaStore for PgMeta {
    fn create_user(&self, name: &str, fullname: &str, email: Option<&str>) -> Result<User> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        lock_name(&mut tx, name)?;
        if tx.query_opt("SELECT 1 FROM orgs WHERE name = $1::text::citext", &[&name])?.is_some() {
            return Err(HubError::Conflict(format!("'{name}' is already an organization")));
        }
        let now = crate::time::now_ms();
        tx.execute("INSERT INTO users (name, fullname, email, created_ms) VALUES ($1::text::citext, $2, $3, $4)", &[&name, &fullname, &email, &now])
            .map_err(|e| if unique_violation(&e) { HubError::Conflict(format!("user '{name}' already exists")) } else { e.into() })?;
        tx.commit()?;
        Ok(User { name: name.into(), fullname: fullname.into(), email: email.map(String::from), created_ms: now })
    }

    fn user(&self, name: &str) -> Result<Option<User>> {
        let r = self.conn()?.query_opt("SELECT name::text, fullname, email, created_ms FROM users WHERE name = $1::text::citext", &[&name])?;
        Ok(r.as_ref().map(row_user))
    }

    fn users(&self) -> Result<Vec<User>> {
        let rows = self.conn()?.query("SELECT name::text, fullname, email, created_ms FROM users ORDER BY name", &[])?;
        Ok(rows.iter().map(row_user).collect())
    }

    fn namespace_kind(&self, name: &str) -> Result<Option<NamespaceKind>> {
        let mut c = self.conn()?;
        if c.query_opt("SELECT 1 FROM users WHERE name = $1::text::citext", &[&name])?.is_some() {
            return Ok(Some(NamespaceKind::User));
        }
        Ok(c.query_opt("SELECT 1 FROM orgs WHERE name = $1::text::citext", &[&name])?.map(|_| NamespaceKind::Org))
    }

    fn create_org(&self, name: &str, fullname: &str, admin: &str) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        lock_name(&mut tx, name)?;
        if tx.query_opt("SELECT 1 FROM users WHERE name = $1::text::citext", &[&name])?.is_some() {
            return Err(HubError::Conflict(format!("'{name}' is already a user")));
        }
        if tx.query_opt("SELECT 1 FROM users WHERE name = $1::text::citext", &[&admin])?.is_none() {
            return Err(HubError::NotFound(format!("user '{admin}' does not exist")));
        }
        tx.execute("INSERT INTO orgs (name, fullname, created_ms) VALUES ($1::text::citext, $2, $3)", &[&name, &fullname, &crate::time::now_ms()])
            .map_err(|e| if unique_violation(&e) { HubError::Conflict(format!("organization '{name}' already exists")) } else { e.into() })?;
        tx.execute("INSERT INTO members (org, username, role) VALUES ($1::text::citext, $2::text::citext, 'admin')", &[&name, &admin])?;
        tx.commit()?;
        Ok(())
    }

    fn set_member(&self, org: &str, user: &str, role: Option<Role>) -> Result<()> {
        let mut c = self.conn()?;
        match role {
            Some(r) => {
                c.execute(
                    "INSERT INTO members (org, username, role) VALUES ($1::text::citext, $2::text::citext, $3) ON CONFLICT (org, username) DO UPDATE SET role = excluded.role",
                    &[&org, &user, &r.as_str()],
                )
                .map_err(|e| if fk_violation(&e) { HubError::NotFound(format!("organization '{org}' or user '{user}' does not exist")) } else { e.into() })?;
            }
            None => {
                c.execute("DELETE FROM members WHERE org = $1::text::citext AND username = $2::text::citext", &[&org, &user])?;
            }
        }
        Ok(())
    }

    fn role_in(&self, org: &str, user: &str) -> Result<Option<Role>> {
        let r = self.conn()?.query_opt("SELECT role FROM members WHERE org = $1::text::citext AND username = $2::text::citext", &[&org, &user])?;
        Ok(r.and_then(|r| Role::parse(r.get(0))))
    }

    fn orgs_of(&self, user: &str) -> Result<Vec<(String, Role)>> {
        let rows = self.conn()?.query("SELECT org::text, role FROM members WHERE username = $1::text::citext ORDER BY org", &[&user])?;
        Ok(rows.iter().map(|r| (r.get(0), Role::parse(r.get(1)).unwrap_or(Role::Read))).collect())
    }

    fn create_token(&self, user: &str, name: &str, scope: Scope, hash: &str) -> Result<Token> {
        let mut c = self.conn()?;
        let now = crate::time::now_ms();
        let Some(stored) = c.query_opt("SELECT name::text FROM users WHERE name = $1::text::citext", &[&user])? else {
            return Err(HubError::NotFound(format!("user '{user}' does not exist; create it with `agora hub user add {user}`")));
        };
        let user: String = stored.get(0);
        let id: i64 = c
            .query_one("INSERT INTO tokens (username, name, hash, scope, created_ms) VALUES ($1::text::citext, $2, $3, $4, $5) RETURNING id", &[&user, &name, &hash, &scope.as_str(), &now])?
            .get(0);
        Ok(Token { id, user, name: name.into(), scope, created_ms: now, revoked: false })
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<Token>> {
        let r = self.conn()?.query_opt("SELECT id, username::text, name, scope, created_ms, revoked_ms FROM tokens WHERE hash = $1 AND revoked_ms IS NULL", &[&hash])?;
        Ok(r.as_ref().map(row_token))
    }

    fn tokens(&self, user: &str) -> Result<Vec<Token>> {
        let rows = self.conn()?.query("SELECT id, username::text, name, scope, created_ms, revoked_ms FROM tokens WHERE username = $1::text::citext ORDER BY id", &[&user])?;
        Ok(rows.iter().map(row_token).collect())
    }

    fn revoke_token(&self, user: &str, id: i64) -> Result<bool> {
        let n = self
            .conn()?
            .execute("UPDATE tokens SET revoked_ms = $3 WHERE id = $1 AND username = $2::text::citext AND revoked_ms IS NULL", &[&id, &user, &crate::time::now_ms()])?;
        Ok(n == 1)
    }

    fn create_repo(&self, rtype: RepoType, namespace: &str, name: &str, private: bool, first: &NewCommit) -> Result<(Repo, Commit)> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        let now = first.time_ms;
        let id: i64 = tx
            .query_one(
                "INSERT INTO repos (type, namespace, name, private, gated, created_ms, updated_ms) VALUES ($1, $2::text::citext, $3::text::citext, $4, 'off', $5, $5) RETURNING id",
                &[&rtype.as_str(), &namespace, &name, &private, &now],
            )
            .map_err(|e| if unique_violation(&e) { HubError::Conflict(format!("You already created this {} repo: {namespace}/{name}", rtype.as_str())) } else { e.into() })?
            .get(0);
        let commit = write_commit(&mut tx, id, first, None)?;
        let repo = row_repo(&tx.query_one(&format!("SELECT {REPO_COLS} FROM repos WHERE id = $1"), &[&id])?);
        tx.commit()?;
        Ok((repo, commit))
    }

    fn repo(&self, rtype: RepoType, namespace: &str, name: &str) -> Result<Option<Repo>> {
        let r = self.conn()?.query_opt(
            &format!("SELECT {REPO_COLS} FROM repos WHERE type = $1 AND namespace = $2::text::citext AND name = $3::text::citext"),
            &[&rtype.as_str(), &namespace, &name],
        )?;
        Ok(r.as_ref().map(row_repo))
    }

    fn delete_repo(&self, id: i64) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        tx.execute("DELETE FROM files WHERE repo = $1", &[&id])?;
        tx.execute("DELETE FROM repos WHERE id = $1", &[&id])?;
        tx.commit()?;
        Ok(())
    }

    fn update_repo(&self, id: i64, private: Option<bool>, gated: Option<Gated>) -> Result<()> {
        let mut c = self.conn()?;
        let mut tx = c.transaction()?;
        if let Some(p) = private {
            tx.execute("UPDATE repos SET private = $2 WHERE id = $1", &[&id, &p])?;
        }
        if let Some(g) = gated {
            tx.execute("UPDATE repos SET gated = $2 WHERE id = $1", &[&id, &g.as_str()])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn list_repos(&self, q: &RepoQuery) -> Result<Vec<Repo>> {
        let mut sql = format!("SELECT {REPO_COLS} FROM repos r WHERE type = $1");
        let mut args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(q.rtype.as_str().to_string())];
        match &q.viewer {
            Some(v) => {
                args.push(Box::new(v.clone()));
                let n = args.len();
                sql += &format!(" AND (NOT private OR namespace = ${n}::text::citext OR namespace IN (SELECT org FROM members WHERE username = ${n}::text::citext))");
            }
            None => sql += " AND NOT private",
        }
        if let Some(s) = &q.search {
            let pat = format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            args.push(Box::new(pat));
            sql += &format!(" AND (namespace::text || '/' || name::text) ILIKE ${} ESCAPE '\\'", args.len());
        }
        if let Some(a) = &q.author {
            args.push(Box::new(a.clone()));
            sql += &format!(" AND namespace = ${}::text::citext", args.len());
        }
        for t in &q.tags {
            args.push(Box::new(t.clone()));
            sql += &format!(" AND EXISTS (SELECT 1 FROM repo_tags t WHERE t.repo = r.id AND t.tag = ${})", args.len());
        }
        let dir = if q.descending { "DESC" } else { "ASC" };
        sql += &match q.sort {
            Sort::LastModified => format!(" ORDER BY updated_ms {dir}, id {dir}"),
            Sort::CreatedAt => format!(" ORDER BY created_ms {dir}, id {dir}"),
            Sort::Id => format!(" ORDER BY namespace {dir}, name {dir}"),
        };
        sql += &format!(" LIMIT {} OFFSET {}", q.limit, q.offset);
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|b| b.as_ref()).collect();
        let rows = self.conn()?.query(&sql, &params)?;
        Ok(rows.iter().map(row_repo).collect())
    }

    fn repo_tags(&self, id: i64) -> Result<Vec<String>> {
        let rows = self.conn()?.query("SELECT tag FROM repo_tags WHERE repo = $1 ORDER BY tag", &[&id])?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn refs(&self, repo: i64) -> Result<Vec<RefInfo>> {
        let rows = self.conn()?.query("SELECT kind, name, target FROM refs WHERE repo = $1 ORDER BY kind, name", &[&repo])?;
        Ok(rows
            .iter()
            .map(|r| {
                let k: String = r.get(0);
                RefInfo { kind: if k == "tag" { RefKind::Tag } else { RefKind::Branch }, name: r.get(1), target: r.get(2) }
            })
            .collect())
    }

    fn resolve(&self, repo: i64, rev: &str) -> Result<Option<String>> {
        let mut c = self.conn()?;
        // Branches win over tags, as in git; then a full commit id of this repo.
        if let Some(r) = c.query_opt("SELECT target FROM refs WHERE repo = $1 AND name = $2 ORDER BY kind = 'tag' LIMIT 1", &[&repo, &rev])? {
            return Ok(Some(r.get(0)));
        }
        if crate::hash::is_commit_hex(rev) {
            return Ok(c.query_opt("SELECT id FROM commits WHERE repo = $1 AND id = $2", &[&repo, &rev])?.map(|r| r.get(0)));
        }
        Ok(None)
    }

    fn commit(&self, repo: i64, id: &str) -> Result<Option<Commit>> {
        let r = self.conn()?.query_opt(&format!("SELECT {COMMIT_COLS} FROM commits WHERE repo = $1 AND id = $2"), &[&repo, &id])?;
        Ok(r.as_ref().map(row_commit))
    }

    fn files(&self, repo: i64, commit: &str) -> Result<Vec<FileEntry>> {
        files_of(&mut *self.conn()?, repo, commit)
    }

    fn file(&self, repo: i64, commit: &str, path: &str) -> Result<Option<FileEntry>> {
        let r = self.conn()?.query_opt("SELECT path, sha256, size, git_oid, lfs FROM files WHERE repo = $1 AND commit_id = $2 AND path = $3", &[&repo, &commit, &path])?;
        Ok(r.as_ref().map(row_file))
    }

    fn apply_commit(&self, repo: i64, c: &NewCommit) -> Result<Commit> {
        let mut conn = self.conn()?;
        let mut tx = conn.transaction()?;
        // The row lock makes a second committer wait here, then read the head the first one wrote.
        let head = tx.query_opt("SELECT target FROM refs WHERE repo = $1 AND kind = 'branch' AND name = $2 FOR UPDATE", &[&repo, &c.branch])?;
        let Some(head) = head.map(|r| r.get::<_, String>(0)) else {
            return Err(HubError::RevisionNotFound(format!("branch '{}' does not exist", c.branch)));
        };
        if let Some(expected) = &c.expected_parent {
            if *expected != head {
                return Err(HubError::PreconditionFailed(format!(
                    "parentCommit {expected} is not the head of '{}' ({head}): a commit has happened since; refresh and try again",
                    c.branch
                )));
            }
        }
        let commit = write_commit(&mut tx, repo, c, Some(&head))?;
        tx.commit()?;
        Ok(commit)
    }

    fn set_ref(&self, repo: i64, kind: RefKind, name: &str, target: Option<&str>) -> Result<()> {
        let k = if kind == RefKind::Tag { "tag" } else { "branch" };
        let mut c = self.conn()?;
        match target {
            Some(t) => {
                let n = c.execute("INSERT INTO refs (repo, kind, name, target) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", &[&repo, &k, &name, &t])?;
                if n == 0 {
                    return Err(HubError::Conflict(format!("{k} '{name}' already exists")));
                }
            }
            None => {
                if c.execute("DELETE FROM refs WHERE repo = $1 AND kind = $2 AND name = $3", &[&repo, &k, &name])? == 0 {
                    return Err(HubError::RevisionNotFound(format!("{k} '{name}' does not exist")));
                }
            }
        }
        Ok(())
    }

    fn access(&self, repo: i64, user: &str) -> Result<Option<AccessRequest>> {
        let r = self
            .conn()?
            .query_opt("SELECT username::text, status, time_ms, license, fields FROM access WHERE repo = $1 AND username = $2::text::citext", &[&repo, &user])?;
        Ok(r.as_ref().map(row_access))
    }

    fn set_access(&self, repo: i64, req: &AccessRequest) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO access (repo, username, status, time_ms, license, fields) VALUES ($1, $2::text::citext, $3, $4, $5, $6)
             ON CONFLICT (repo, username) DO UPDATE SET status = excluded.status, time_ms = excluded.time_ms,
             license = COALESCE(excluded.license, access.license), fields = COALESCE(excluded.fields, access.fields)",
            &[&repo, &req.user, &req.status.as_str(), &req.time_ms, &req.license, &req.fields],
        )?;
        Ok(())
    }

    fn access_requests(&self, repo: i64, status: AccessStatus) -> Result<Vec<AccessRequest>> {
        let rows = self
            .conn()?
            .query("SELECT username::text, status, time_ms, license, fields FROM access WHERE repo = $1 AND status = $2 ORDER BY time_ms", &[&repo, &status.as_str()])?;
        Ok(rows.iter().map(row_access).collect())
    }

    fn referenced_blobs(&self) -> Result<Vec<(String, u64)>> {
        let rows = self.conn()?.query("SELECT DISTINCT sha256, size FROM files ORDER BY sha256", &[])?;
        Ok(rows.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1) as u64)).collect())
    }

    fn self_check(&self) -> Result<Vec<String>> {
        // Postgres keeps its own structures sound; what can still be wrong is ours.
        let mut c = self.conn()?;
        let mut problems = Vec::new();
        let dangling: i64 = c.query_one("SELECT COUNT(*) FROM refs f WHERE NOT EXISTS (SELECT 1 FROM commits c WHERE c.repo = f.repo AND c.id = f.target)", &[])?.get(0);
        if dangling > 0 {
            problems.push(format!("{dangling} branch or tag(s) point at commits that do not exist"));
        }
        let orphan_parents: i64 = c
            .query_one("SELECT COUNT(*) FROM commits c WHERE c.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM commits p WHERE p.repo = c.repo AND p.id = c.parent)", &[])?
            .get(0);
        if orphan_parents > 0 {
            problems.push(format!("{orphan_parents} commit(s) name a parent that does not exist"));
        }
        Ok(problems)
    }
}
