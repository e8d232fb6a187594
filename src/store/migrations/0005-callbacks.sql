-- The callback service's durable state (src/callbacks/service.ts, docs/api-callbacks.md).
--
-- One row per workspace that uses callbacks: the CallbackCenter's snapshot (call targets,
-- callback requests with their attempts and dial idempotency keys, ECBT statistics) and the
-- datastore's snapshot (templates, tokens, data sets), both JSON. Written in one transaction
-- together with the cursor below and the callback events, so what the center consumed and
-- what it became are never out of step.
CREATE TABLE callback_state (
  workspace_sid TEXT PRIMARY KEY,
  account_sid TEXT NOT NULL,
  center TEXT NOT NULL,
  datastore TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;

-- The rowid of the last row of `events` the service has fed to its centers (one cursor for
-- all workspaces; id is always 1). After a restart the service replays the engine events
-- written after it.
CREATE TABLE callback_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  event_rowid INTEGER NOT NULL
) STRICT;
