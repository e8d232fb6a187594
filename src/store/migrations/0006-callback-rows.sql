-- Callback requests get one row each (issue 5): the service used to rewrite the whole center,
-- every callback ever, in `callback_state.center` on each operation. Now an operation upserts
-- only the callbacks it changed and deletes the ones pruned after the retention
-- (docs/callbacks.md "Retention"), in the same transaction as the center row, the cursor, the
-- callback events and their outbox rows (src/store/callbacks-store.ts).
--
-- `body` is the CallbackRequest as JSON (src/callbacks/center.ts); rowid order is registration
-- order (rows are inserted when a callback is registered and upserts keep their rowid).
CREATE TABLE callback_requests (
  workspace_sid TEXT NOT NULL,
  sid TEXT NOT NULL,
  call_target_sid TEXT NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workspace_sid, sid)
) STRICT;

-- Forward migration of existing data: the callbacks inside each saved center move to rows, in
-- the center's order, and the center keeps an empty list (the shape the service now writes).
INSERT INTO callback_requests (workspace_sid, sid, call_target_sid, status, body, updated_at)
  SELECT s.workspace_sid, json_extract(j.value, '$.sid'), json_extract(j.value, '$.callTargetSid'),
         json_extract(j.value, '$.status'), j.value, CAST(json_extract(j.value, '$.updatedAt') AS INTEGER)
  FROM callback_state AS s, json_each(s.center, '$.callbacks') AS j
  ORDER BY s.rowid, j.key;

UPDATE callback_state SET center = json_set(center, '$.callbacks', json('[]'))
  WHERE json_array_length(center, '$.callbacks') > 0;
