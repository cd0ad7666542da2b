-- Hub metadata, schema version 1 (PRAGMA user_version). Names compare case-insensitively, as on the Hub.
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY COLLATE NOCASE,
  fullname TEXT NOT NULL,
  email TEXT,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orgs (
  name TEXT PRIMARY KEY COLLATE NOCASE,
  fullname TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  org TEXT NOT NULL COLLATE NOCASE REFERENCES orgs(name) ON DELETE CASCADE,
  user TEXT NOT NULL COLLATE NOCASE REFERENCES users(name) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  PRIMARY KEY (org, user)
);
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY,
  user TEXT NOT NULL COLLATE NOCASE REFERENCES users(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER
);
CREATE TABLE IF NOT EXISTS repos (
  id INTEGER PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('model', 'dataset')),
  namespace TEXT NOT NULL COLLATE NOCASE,
  name TEXT NOT NULL COLLATE NOCASE,
  private INTEGER NOT NULL,
  gated TEXT NOT NULL CHECK (gated IN ('off', 'auto', 'manual')),
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  UNIQUE (type, namespace, name)
);
CREATE TABLE IF NOT EXISTS commits (
  repo INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  parent TEXT,
  author TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  card TEXT,
  PRIMARY KEY (repo, id)
);
CREATE TABLE IF NOT EXISTS refs (
  repo INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('branch', 'tag')),
  name TEXT NOT NULL,
  target TEXT NOT NULL,
  PRIMARY KEY (repo, kind, name)
);
CREATE TABLE IF NOT EXISTS files (
  repo INTEGER NOT NULL,
  commit_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  git_oid TEXT NOT NULL,
  lfs INTEGER NOT NULL,
  PRIMARY KEY (repo, commit_id, path),
  FOREIGN KEY (repo, commit_id) REFERENCES commits(repo, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS files_by_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS repo_tags (
  repo INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (repo, tag)
);
CREATE TABLE IF NOT EXISTS access (
  repo INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  user TEXT NOT NULL COLLATE NOCASE,
  status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
  time_ms INTEGER NOT NULL,
  license TEXT,
  fields TEXT,
  PRIMARY KEY (repo, user)
);
