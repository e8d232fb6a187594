-- A generic row table for the cores the runtime hosts (src/runtime/core.ts): a core with state of
-- its own (voice call flows now, conversations next) keeps it as rows here, keyed by workspace,
-- core name and key, instead of a table of its own each. Written in the same transaction as the
-- batch that changed them (CoreWrites.coreRows, src/store/store.ts): an upsert per changed row, a
-- delete per removed one.
--
-- `body` is the core's own text (usually JSON); nothing queries inside it. rowid order is
-- insertion order (as in callback_requests: an upsert keeps the row's rowid, a row deleted and
-- written again gets a new one). The index serves the loads (every row of one core, by workspace
-- then rowid: an index of SQLite holds the rowid after its columns, in order).
CREATE TABLE core_rows (
  workspace_sid TEXT NOT NULL,
  core TEXT NOT NULL,
  key TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_sid, core, key)
) STRICT;

CREATE INDEX core_rows_in_order ON core_rows (core, workspace_sid);
