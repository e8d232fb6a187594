-- Switchboard's PostgreSQL store, version 1: the same tables, columns and meaning as the SQLite
-- store (src/store/migrations/0001 to 0007, read their comments for the durability model), so the
-- runtime sees no difference between the two. PostgreSQL's numbering is its own: a later change
-- of the schema is a new file here AND a new file in ../migrations/, each with the next number of
-- its folder.
--
-- What differs, and why:
-- - Times (epoch ms), sequence numbers and ids are bigint (SQLite's INTEGER is 64-bit too).
-- - JSON documents (commands, events, snapshots, payloads, callbacks) stay text, byte for byte
--   what the runtime wrote: nothing queries inside them, and text costs no parsing on write.
-- - SQLite reads several tables in rowid order (creation order of workspaces, write order of
--   events, registration order of callbacks). PostgreSQL has no rowid, so those tables get an
--   explicit `rowid` identity column with the same meaning. Identity values are handed out in
--   the order rows are inserted; the store inserts through one writer at a time, so they follow
--   commit order (see "Single writer" in src/store/store.ts).
-- - SQLite's first outbox index, outbox_due (next_attempt_at), is not here: no query uses it since
--   outbox_due_by_kind (SQLite migration 0004), and every index costs each insert.
-- - There is no callback_cursor table: SQLite migration 0007 drops it (the callback core is hosted
--   by the runtime and no longer reads engine events back from the events table).

CREATE TABLE accounts (
  sid text PRIMARY KEY,
  friendly_name text NOT NULL,
  -- SHA-256 of the auth token (verification), and the token sealed with the server key.
  auth_token_hash text NOT NULL,
  auth_token_sealed text NOT NULL,
  date_created bigint NOT NULL
);

CREATE TABLE api_keys (
  sid text PRIMARY KEY,
  account_sid text NOT NULL REFERENCES accounts (sid),
  friendly_name text NOT NULL,
  secret_hash text NOT NULL,
  date_created bigint NOT NULL
);

CREATE TABLE workspaces (
  sid text PRIMARY KEY,
  -- Creation order.
  rowid bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  account_sid text NOT NULL REFERENCES accounts (sid),
  sid_seed bigint NOT NULL,
  -- How the workspace makes its SIDs (src/runtime/sids.ts); fixed at creation.
  sid_scheme integer NOT NULL DEFAULT 0,
  create_options text NOT NULL,
  -- Latest snapshot (JSON), the command sequence number it includes, and the SID generator's
  -- state at that point; last_seq as of the latest snapshot (the log's last seq is MAX(commands.seq)).
  snapshot text,
  snapshot_seq bigint NOT NULL DEFAULT 0,
  snapshot_generator text,
  last_seq bigint NOT NULL DEFAULT 0,
  deleted_at bigint
);

CREATE INDEX workspaces_by_account ON workspaces (account_sid);

CREATE TABLE commands (
  workspace_sid text NOT NULL REFERENCES workspaces (sid),
  seq bigint NOT NULL,
  command text NOT NULL,
  PRIMARY KEY (workspace_sid, seq)
);

CREATE TABLE events (
  sid text PRIMARY KEY,
  -- Write order (ties of `at` are read in it).
  rowid bigint GENERATED ALWAYS AS IDENTITY,
  workspace_sid text NOT NULL,
  seq bigint NOT NULL,
  event_type text NOT NULL,
  at bigint NOT NULL,
  resource_sid text NOT NULL,
  body text NOT NULL
);

CREATE INDEX events_by_time ON events (workspace_sid, at, rowid);

CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_sid text NOT NULL,
  kind text NOT NULL,
  payload text NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at bigint NOT NULL,
  delivered_at bigint
);

-- A lane's head and next rows (per-workspace FIFO, spec §9.1); due rows of one kind; pruning.
CREATE INDEX outbox_lane ON outbox (workspace_sid, kind, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_due_by_kind ON outbox (kind, next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_done ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

-- The callback core's state per workspace: the center without its callbacks and the datastore
-- (JSON), replaced on each write.
CREATE TABLE callback_state (
  workspace_sid text PRIMARY KEY,
  rowid bigint GENERATED ALWAYS AS IDENTITY,
  account_sid text NOT NULL,
  center text NOT NULL,
  datastore text NOT NULL,
  updated_at bigint NOT NULL
);

-- One row per callback request (`body`: the CallbackRequest as JSON); rowid order is registration
-- order (an upsert keeps the row's rowid).
CREATE TABLE callback_requests (
  workspace_sid text NOT NULL,
  sid text NOT NULL,
  rowid bigint GENERATED ALWAYS AS IDENTITY,
  call_target_sid text NOT NULL,
  status text NOT NULL,
  body text NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (workspace_sid, sid)
);

CREATE INDEX callback_requests_in_order ON callback_requests (workspace_sid, rowid);
