-- Hub metadata on Postgres, schema version 1 (table schema_version). Same tables as schema.sql (SQLite);
-- names compare case-insensitively through citext, as on the Hub. Every statement is idempotent, and
-- the whole file runs in one transaction under an advisory lock, so servers starting together agree.
CREATE EXTENSION IF NOT EXISTS citext;
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
  name CITEXT PRIMARY KEY,
  fullname TEXT NOT NULL,
  email TEXT,
  created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS orgs (
  name CITEXT PRIMARY KEY,
  fullname TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
  org CITEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE,
  username CITEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('read', 'write', 'admin')),
  PRIMARY KEY (org, username)
);
CREATE TABLE IF NOT EXISTS tokens (
  id BIGSERIAL PRIMARY KEY,
  username CITEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
  created_ms BIGINT NOT NULL,
  revoked_ms BIGINT
);
CREATE TABLE IF NOT EXISTS repos (
  id BIGSERIAL PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('model', 'dataset')),
  namespace CITEXT NOT NULL,
  name CITEXT NOT NULL,
  private BOOLEAN NOT NULL,
  gated TEXT NOT NULL CHECK (gated IN ('off', 'auto', 'manual')),
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  UNIQUE (type, namespace, name)
);
CREATE TABLE IF NOT EXISTS commits (
  repo BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  parent TEXT,
  author TEXT NOT NULL,
  title TEXT NOT NULL,
  message TEXT NOT NULL,
  time_ms BIGINT NOT NULL,
  card TEXT,
  PRIMARY KEY (repo, id)
);
CREATE TABLE IF NOT EXISTS refs (
  repo BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('branch', 'tag')),
  name TEXT NOT NULL,
  target TEXT NOT NULL,
  PRIMARY KEY (repo, kind, name)
);
CREATE TABLE IF NOT EXISTS files (
  repo BIGINT NOT NULL,
  commit_id TEXT NOT NULL,
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  git_oid TEXT NOT NULL,
  lfs BOOLEAN NOT NULL,
  PRIMARY KEY (repo, commit_id, path),
  FOREIGN KEY (repo, commit_id) REFERENCES commits(repo, id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS files_by_sha ON files(sha256);
CREATE TABLE IF NOT EXISTS repo_tags (
  repo BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (repo, tag)
);
CREATE TABLE IF NOT EXISTS access (
  repo BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,
  username CITEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected')),
  time_ms BIGINT NOT NULL,
  license TEXT,
  fields TEXT,
  PRIMARY KEY (repo, username)
);
