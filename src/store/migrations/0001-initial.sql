-- Switchboard's embedded store, version 1.
--
-- Durability model: a workspace's state is its latest snapshot plus the commands executed after
-- it, in order. The engine is deterministic (time and SIDs come with the commands and from a
-- seeded generator), so re-executing the commands after the snapshot rebuilds the exact state,
-- timers included. Each batch of commands is written in one transaction together with the
-- events it produced and the outbox rows for webhooks; the API acknowledges only after commit.

CREATE TABLE accounts (
  sid TEXT PRIMARY KEY,
  friendly_name TEXT NOT NULL,
  -- SHA-256 of the auth token (verification), and the token sealed with the server key
  -- (webhook signing needs the token itself, spec §11).
  auth_token_hash TEXT NOT NULL,
  auth_token_sealed TEXT NOT NULL,
  date_created INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
  sid TEXT PRIMARY KEY,
  account_sid TEXT NOT NULL REFERENCES accounts (sid),
  friendly_name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  date_created INTEGER NOT NULL
) STRICT;

CREATE TABLE workspaces (
  sid TEXT PRIMARY KEY,
  account_sid TEXT NOT NULL REFERENCES accounts (sid),
  -- Seed of the workspace's SID generator.
  sid_seed INTEGER NOT NULL,
  -- The engine's options at creation (JSON): re-creating the workspace from them and then
  -- re-executing its commands gives back its state when there is no snapshot yet.
  create_options TEXT NOT NULL,
  -- Latest snapshot (JSON), the command sequence number it includes, and the SID generator's
  -- state at that point.
  snapshot TEXT,
  snapshot_seq INTEGER NOT NULL DEFAULT 0,
  snapshot_generator TEXT,
  last_seq INTEGER NOT NULL DEFAULT 0,
  deleted_at INTEGER
) STRICT;

CREATE INDEX workspaces_by_account ON workspaces (account_sid);

CREATE TABLE commands (
  workspace_sid TEXT NOT NULL REFERENCES workspaces (sid),
  seq INTEGER NOT NULL,
  command TEXT NOT NULL,
  PRIMARY KEY (workspace_sid, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE events (
  sid TEXT PRIMARY KEY,
  workspace_sid TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  at INTEGER NOT NULL,
  resource_sid TEXT NOT NULL,
  body TEXT NOT NULL
) STRICT;

CREATE INDEX events_by_time ON events (workspace_sid, at);

CREATE TABLE outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  workspace_sid TEXT NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  delivered_at INTEGER
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL;
