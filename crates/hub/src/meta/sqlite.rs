//! The embedded metadata store: one SQLite file (WAL, synchronous=FULL) behind a mutex.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::*;
use crate::error::{HubError, Result};

const SCHEMA_VERSION: i64 = 1;

pub struct SqliteMeta {
    conn: Mutex<Connection>,
}

impl SqliteMeta {
    pub fn open(path: &Path) -> Result<SqliteMeta> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn in_memory() -> Result<SqliteMeta> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<SqliteMeta> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(HubError::Db(format!("the metadata database has schema version {version}, newer than this agora ({SCHEMA_VERSION}); upgrade agora")));
        }
        conn.execute_batch(include_str!("schema.sql"))?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(SqliteMeta { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half-applied (it rolls back on drop).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

fn row_user(r: &Row) -> rusqlite::Result<User> {
    Ok(User { name: r.get(0)?, fullname: r.get(1)?, email: r.get(2)?, created_ms: r.get(3)? })
}

fn row_token(r: &Row) -> rusqlite::Result<Token> {
    let scope: String = r.get(3)?;
    let revoked: Option<i64> = r.get(5)?;
    Ok(Token { id: r.get(0)?, user: r.get(1)?, name: r.get(2)?, scope: Scope::parse(&scope).unwrap_or(Scope::Read), created_ms: r.get(4)?, revoked: revoked.is_some() })
}

const REPO_COLS: &str = "id, type, namespace, name, private, gated, created_ms, updated_ms";

fn row_repo(r: &Row) -> rusqlite::Result<Repo> {
    let t: String = r.get(1)?;
    let g: String = r.get(5)?;
    Ok(Repo {
        id: r.get(0)?,
        rtype: if t == "dataset" { RepoType::Dataset } else { RepoType::Model },
        namespace: r.get(2)?,
        name: r.get(3)?,
        private: r.get(4)?,
        gated: Gated::parse(&g).unwrap_or(Gated::Off),
        created_ms: r.get(6)?,
        updated_ms: r.get(7)?,
    })
}

const COMMIT_COLS: &str = "id, parent, author, title, message, time_ms, card";

fn row_commit(r: &Row) -> rusqlite::Result<Commit> {
    Ok(Commit { id: r.get(0)?, parent: r.get(1)?, author: r.get(2)?, title: r.get(3)?, message: r.get(4)?, time_ms: r.get(5)?, card: r.get(6)? })
}

fn row_file(r: &Row) -> rusqlite::Result<FileEntry> {
    Ok(FileEntry { path: r.get(0)?, sha256: r.get(1)?, size: r.get::<_, i64>(2)? as u64, git_oid: r.get(3)?, lfs: r.get(4)? })
}

fn row_access(r: &Row) -> rusqlite::Result<AccessRequest> {
    let s: String = r.get(1)?;
    Ok(AccessRequest { user: r.get(0)?, status: AccessStatus::parse(&s).unwrap_or(AccessStatus::Pending), time_ms: r.get(2)?, license: r.get(3)?, fields: r.get(4)? })
}

fn files_of(conn: &Connection, repo: i64, commit: &str) -> Result<Vec<FileEntry>> {
    let mut st = conn.prepare_cached("SELECT path, sha256, size, git_oid, lfs FROM files WHERE repo = ?1 AND commit_id = ?2 ORDER BY path")?;
    let rows = st.query_map(params![repo, commit], row_file)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Writes a commit on top of the branch's head inside an open transaction.
fn write_commit(tx: &rusqlite::Transaction, repo: i64, c: &NewCommit, head: Option<&str>) -> Result<Commit> {
    let (mut tree, parent_card): (BTreeMap<String, FileEntry>, Option<String>) = match head {
        Some(h) => {
            let files = files_of(tx, repo, h)?;
            let card: Option<String> = tx.query_row("SELECT card FROM commits WHERE repo = ?1 AND id = ?2", params![repo, h], |r| r.get(0))?;
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
        "INSERT INTO commits (repo, id, parent, author, title, message, time_ms, card) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![repo, id, head, c.author, c.title, c.message, c.time_ms, card],
    )
    .map_err(|e| if unique_violation(&e) { HubError::Conflict("an identical commit already exists; retry".into()) } else { e.into() })?;
    {
        let mut st = tx.prepare_cached("INSERT INTO files (repo, commit_id, path, sha256, size, git_oid, lfs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?;
        for f in &files {
            st.execute(params![repo, id, f.path, f.sha256, f.size as i64, f.git_oid, f.lfs])?;
        }
    }
    tx.execute(
        "INSERT INTO refs (repo, kind, name, target) VALUES (?1, 'branch', ?2, ?3) ON CONFLICT (repo, kind, name) DO UPDATE SET target = excluded.target",
        params![repo, c.branch, id],
    )?;
    if c.branch == "main" {
        tx.execute("UPDATE repos SET updated_ms = ?2 WHERE id = ?1", params![repo, c.time_ms])?;
        match &c.card {
            CardChange::Keep => {}
            CardChange::Set { tags, .. } => {
                tx.execute("DELETE FROM repo_tags WHERE repo = ?1", params![repo])?;
                for t in tags {
                    tx.execute("INSERT OR IGNORE INTO repo_tags (repo, tag) VALUES (?1, ?2)", params![repo, t])?;
                }
            }
            CardChange::Clear => {
                tx.execute("DELETE FROM repo_tags WHERE repo = ?1", params![repo])?;
            }
        }
    }
    Ok(Commit { id, parent: head.map(String::from), author: c.author.clone(), title: c.title.clone(), message: c.message.clone(), time_ms: c.time_ms, card })
}

impl MetaStore for SqliteMeta {
    fn create_user(&self, name: &str, fullname: &str, email: Option<&str>) -> Result<User> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM orgs WHERE name = ?1)", [name], |r| r.get(0))?;
        if taken {
            return Err(HubError::Conflict(format!("'{name}' is already an organization")));
        }
        let now = crate::time::now_ms();
        tx.execute("INSERT INTO users (name, fullname, email, created_ms) VALUES (?1, ?2, ?3, ?4)", params![name, fullname, email, now])
            .map_err(|e| if unique_violation(&e) { HubError::Conflict(format!("user '{name}' already exists")) } else { e.into() })?;
        tx.commit()?;
        Ok(User { name: name.into(), fullname: fullname.into(), email: email.map(String::from), created_ms: now })
    }

    fn user(&self, name: &str) -> Result<Option<User>> {
        Ok(self.conn().query_row("SELECT name, fullname, email, created_ms FROM users WHERE name = ?1", [name], row_user).optional()?)
    }

    fn users(&self) -> Result<Vec<User>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT name, fullname, email, created_ms FROM users ORDER BY name")?;
        let rows = st.query_map([], row_user)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn namespace_kind(&self, name: &str) -> Result<Option<NamespaceKind>> {
        let conn = self.conn();
        let user: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)", [name], |r| r.get(0))?;
        if user {
            return Ok(Some(NamespaceKind::User));
        }
        let org: bool = conn.query_row("SELECT EXISTS (SELECT 1 FROM orgs WHERE name = ?1)", [name], |r| r.get(0))?;
        Ok(org.then_some(NamespaceKind::Org))
    }

    fn create_org(&self, name: &str, fullname: &str, admin: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)", [name], |r| r.get(0))?;
        if taken {
            return Err(HubError::Conflict(format!("'{name}' is already a user")));
        }
        let admin_exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM users WHERE name = ?1)", [admin], |r| r.get(0))?;
        if !admin_exists {
            return Err(HubError::NotFound(format!("user '{admin}' does not exist")));
        }
        tx.execute("INSERT INTO orgs (name, fullname, created_ms) VALUES (?1, ?2, ?3)", params![name, fullname, crate::time::now_ms()])
            .map_err(|e| if unique_violation(&e) { HubError::Conflict(format!("organization '{name}' already exists")) } else { e.into() })?;
        tx.execute("INSERT INTO members (org, user, role) VALUES (?1, ?2, 'admin')", params![name, admin])?;
        tx.commit()?;
        Ok(())
    }

    fn set_member(&self, org: &str, user: &str, role: Option<Role>) -> Result<()> {
        let conn = self.conn();
        match role {
            Some(r) => {
                conn.execute(
                    "INSERT INTO members (org, user, role) VALUES (?1, ?2, ?3) ON CONFLICT (org, user) DO UPDATE SET role = excluded.role",
                    params![org, user, r.as_str()],
                )
                .map_err(|e| match &e {
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => HubError::NotFound(format!("organization '{org}' or user '{user}' does not exist")),
                    _ => e.into(),
                })?;
            }
            None => {
                conn.execute("DELETE FROM members WHERE org = ?1 AND user = ?2", params![org, user])?;
            }
        }
        Ok(())
    }

    fn role_in(&self, org: &str, user: &str) -> Result<Option<Role>> {
        let r: Option<String> = self.conn().query_row("SELECT role FROM members WHERE org = ?1 AND user = ?2", params![org, user], |r| r.get(0)).optional()?;
        Ok(r.and_then(|s| Role::parse(&s)))
    }

    fn orgs_of(&self, user: &str) -> Result<Vec<(String, Role)>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT org, role FROM members WHERE user = ?1 ORDER BY org")?;
        let rows = st.query_map([user], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = Vec::new();
        for row in rows {
            let (o, r) = row?;
            out.push((o, Role::parse(&r).unwrap_or(Role::Read)));
        }
        Ok(out)
    }

    fn create_token(&self, user: &str, name: &str, scope: Scope, hash: &str) -> Result<Token> {
        let conn = self.conn();
        let now = crate::time::now_ms();
        let stored: Option<String> = conn.query_row("SELECT name FROM users WHERE name = ?1", [user], |r| r.get(0)).optional()?;
        let Some(user) = stored else {
            return Err(HubError::NotFound(format!("user '{user}' does not exist; create it with `agora hub user add {user}`")));
        };
        conn.execute("INSERT INTO tokens (user, name, hash, scope, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)", params![user, name, hash, scope.as_str(), now])?;
        Ok(Token { id: conn.last_insert_rowid(), user, name: name.into(), scope, created_ms: now, revoked: false })
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<Token>> {
        Ok(self
            .conn()
            .query_row("SELECT id, user, name, scope, created_ms, revoked_ms FROM tokens WHERE hash = ?1 AND revoked_ms IS NULL", [hash], row_token)
            .optional()?)
    }

    fn tokens(&self, user: &str) -> Result<Vec<Token>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT id, user, name, scope, created_ms, revoked_ms FROM tokens WHERE user = ?1 ORDER BY id")?;
        let rows = st.query_map([user], row_token)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn revoke_token(&self, user: &str, id: i64) -> Result<bool> {
        let n = self.conn().execute("UPDATE tokens SET revoked_ms = ?3 WHERE id = ?1 AND user = ?2 AND revoked_ms IS NULL", params![id, user, crate::time::now_ms()])?;
        Ok(n == 1)
    }

    fn create_repo(&self, rtype: RepoType, namespace: &str, name: &str, private: bool, first: &NewCommit) -> Result<(Repo, Commit)> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let now = first.time_ms;
        tx.execute(
            "INSERT INTO repos (type, namespace, name, private, gated, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, 'off', ?5, ?5)",
            params![rtype.as_str(), namespace, name, private, now],
        )
        .map_err(|e| if unique_violation(&e) { HubError::Conflict(format!("You already created this {} repo: {namespace}/{name}", rtype.as_str())) } else { e.into() })?;
        let id = tx.last_insert_rowid();
        let commit = write_commit(&tx, id, first, None)?;
        let repo = tx.query_row(&format!("SELECT {REPO_COLS} FROM repos WHERE id = ?1"), [id], row_repo)?;
        tx.commit()?;
        Ok((repo, commit))
    }

    fn repo(&self, rtype: RepoType, namespace: &str, name: &str) -> Result<Option<Repo>> {
        Ok(self
            .conn()
            .query_row(&format!("SELECT {REPO_COLS} FROM repos WHERE type = ?1 AND namespace = ?2 AND name = ?3"), params![rtype.as_str(), namespace, name], row_repo)
            .optional()?)
    }

    fn delete_repo(&self, id: i64) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        // files refer to commits, which refer to the repo: cascade does it, but explicit order keeps it cheap.
        tx.execute("DELETE FROM files WHERE repo = ?1", [id])?;
        tx.execute("DELETE FROM repos WHERE id = ?1", [id])?;
        tx.commit()?;
        Ok(())
    }

    fn update_repo(&self, id: i64, private: Option<bool>, gated: Option<Gated>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if let Some(p) = private {
            tx.execute("UPDATE repos SET private = ?2 WHERE id = ?1", params![id, p])?;
        }
        if let Some(g) = gated {
            tx.execute("UPDATE repos SET gated = ?2 WHERE id = ?1", params![id, g.as_str()])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn list_repos(&self, q: &RepoQuery) -> Result<Vec<Repo>> {
        let mut sql = format!("SELECT {REPO_COLS} FROM repos r WHERE type = ?1");
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = vec![Box::new(q.rtype.as_str())];
        match &q.viewer {
            Some(v) => {
                args.push(Box::new(v.clone()));
                let n = args.len();
                sql += &format!(" AND (private = 0 OR namespace = ?{n} OR namespace IN (SELECT org FROM members WHERE user = ?{n}))");
            }
            None => sql += " AND private = 0",
        }
        if let Some(s) = &q.search {
            let pat = format!("%{}%", s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            args.push(Box::new(pat));
            sql += &format!(" AND (namespace || '/' || name) LIKE ?{} ESCAPE '\\'", args.len());
        }
        if let Some(a) = &q.author {
            args.push(Box::new(a.clone()));
            sql += &format!(" AND namespace = ?{}", args.len());
        }
        for t in &q.tags {
            args.push(Box::new(t.clone()));
            sql += &format!(" AND EXISTS (SELECT 1 FROM repo_tags t WHERE t.repo = r.id AND t.tag = ?{})", args.len());
        }
        let dir = if q.descending { "DESC" } else { "ASC" };
        sql += &match q.sort {
            Sort::LastModified => format!(" ORDER BY updated_ms {dir}, id {dir}"),
            Sort::CreatedAt => format!(" ORDER BY created_ms {dir}, id {dir}"),
            Sort::Id => format!(" ORDER BY namespace {dir}, name {dir}"),
        };
        sql += &format!(" LIMIT {} OFFSET {}", q.limit, q.offset);
        let conn = self.conn();
        let mut st = conn.prepare(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(args.iter().map(|b| b.as_ref())), row_repo)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn repo_tags(&self, id: i64) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached("SELECT tag FROM repo_tags WHERE repo = ?1 ORDER BY tag")?;
        let rows = st.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn refs(&self, repo: i64) -> Result<Vec<RefInfo>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT kind, name, target FROM refs WHERE repo = ?1 ORDER BY kind, name")?;
        let rows = st.query_map([repo], |r| {
            let k: String = r.get(0)?;
            Ok(RefInfo { kind: if k == "tag" { RefKind::Tag } else { RefKind::Branch }, name: r.get(1)?, target: r.get(2)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn resolve(&self, repo: i64, rev: &str) -> Result<Option<String>> {
        let conn = self.conn();
        // Branches win over tags, as in git; then a full commit id of this repo.
        let r: Option<String> = conn
            .query_row("SELECT target FROM refs WHERE repo = ?1 AND name = ?2 ORDER BY kind = 'tag' LIMIT 1", params![repo, rev], |r| r.get(0))
            .optional()?;
        if r.is_some() {
            return Ok(r);
        }
        if crate::hash::is_commit_hex(rev) {
            return Ok(conn.query_row("SELECT id FROM commits WHERE repo = ?1 AND id = ?2", params![repo, rev], |r| r.get(0)).optional()?);
        }
        Ok(None)
    }

    fn commit(&self, repo: i64, id: &str) -> Result<Option<Commit>> {
        Ok(self.conn().query_row(&format!("SELECT {COMMIT_COLS} FROM commits WHERE repo = ?1 AND id = ?2"), params![repo, id], row_commit).optional()?)
    }

    fn files(&self, repo: i64, commit: &str) -> Result<Vec<FileEntry>> {
        files_of(&self.conn(), repo, commit)
    }

    fn file(&self, repo: i64, commit: &str, path: &str) -> Result<Option<FileEntry>> {
        Ok(self
            .conn()
            .query_row("SELECT path, sha256, size, git_oid, lfs FROM files WHERE repo = ?1 AND commit_id = ?2 AND path = ?3", params![repo, commit, path], row_file)
            .optional()?)
    }

    fn apply_commit(&self, repo: i64, c: &NewCommit) -> Result<Commit> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let head: Option<String> = tx
            .query_row("SELECT target FROM refs WHERE repo = ?1 AND kind = 'branch' AND name = ?2", params![repo, c.branch], |r| r.get(0))
            .optional()?;
        let Some(head) = head else {
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
        let commit = write_commit(&tx, repo, c, Some(&head))?;
        tx.commit()?;
        Ok(commit)
    }

    fn set_ref(&self, repo: i64, kind: RefKind, name: &str, target: Option<&str>) -> Result<()> {
        let k = if kind == RefKind::Tag { "tag" } else { "branch" };
        let conn = self.conn();
        match target {
            Some(t) => {
                let n = conn.execute("INSERT OR IGNORE INTO refs (repo, kind, name, target) VALUES (?1, ?2, ?3, ?4)", params![repo, k, name, t])?;
                if n == 0 {
                    return Err(HubError::Conflict(format!("{k} '{name}' already exists")));
                }
            }
            None => {
                if conn.execute("DELETE FROM refs WHERE repo = ?1 AND kind = ?2 AND name = ?3", params![repo, k, name])? == 0 {
                    return Err(HubError::RevisionNotFound(format!("{k} '{name}' does not exist")));
                }
            }
        }
        Ok(())
    }

    fn access(&self, repo: i64, user: &str) -> Result<Option<AccessRequest>> {
        Ok(self
            .conn()
            .query_row("SELECT user, status, time_ms, license, fields FROM access WHERE repo = ?1 AND user = ?2", params![repo, user], row_access)
            .optional()?)
    }

    fn set_access(&self, repo: i64, req: &AccessRequest) -> Result<()> {
        self.conn().execute(
            "INSERT INTO access (repo, user, status, time_ms, license, fields) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (repo, user) DO UPDATE SET status = excluded.status, time_ms = excluded.time_ms,
             license = COALESCE(excluded.license, access.license), fields = COALESCE(excluded.fields, access.fields)",
            params![repo, req.user, req.status.as_str(), req.time_ms, req.license, req.fields],
        )?;
        Ok(())
    }

    fn access_requests(&self, repo: i64, status: AccessStatus) -> Result<Vec<AccessRequest>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT user, status, time_ms, license, fields FROM access WHERE repo = ?1 AND status = ?2 ORDER BY time_ms")?;
        let rows = st.query_map(params![repo, status.as_str()], row_access)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn referenced_blobs(&self) -> Result<Vec<(String, u64)>> {
        let conn = self.conn();
        let mut st = conn.prepare("SELECT DISTINCT sha256, size FROM files ORDER BY sha256")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn self_check(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut st = conn.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
        let mut problems: Vec<String> = rows.into_iter().filter(|r| r != "ok").collect();
        let mut st = conn.prepare("PRAGMA foreign_key_check")?;
        let fk: Vec<String> = st.query_map([], |r| Ok(format!("foreign key broken in table {}", r.get::<_, String>(0)?)))?.collect::<rusqlite::Result<_>>()?;
        problems.extend(fk);
        let dangling: i64 = conn.query_row("SELECT COUNT(*) FROM refs f WHERE NOT EXISTS (SELECT 1 FROM commits c WHERE c.repo = f.repo AND c.id = f.target)", [], |r| r.get(0))?;
        if dangling > 0 {
            problems.push(format!("{dangling} branch or tag(s) point at commits that do not exist"));
        }
        Ok(problems)
    }
}
