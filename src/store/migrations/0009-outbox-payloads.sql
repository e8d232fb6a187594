-- Outbox payloads get a table of their own. An Event Streams row holds up to 100 events (~190 kB,
-- many overflow pages), and SQLite writes a row whole: the done mark (`UPDATE outbox SET
-- delivered_at, attempts`) rewrote the payload's every page, about a quarter of a sink's CPU
-- (docs/event-streams.md "Throughput"). Now `outbox` keeps the small columns the marks, retries
-- and lane lookups touch, and `outbox_payloads` the text, written once in the same transaction as
-- its row (src/store/sqlite-store.ts), read by a join on `id`, and deleted with its row when
-- delivered rows are pruned (ON DELETE CASCADE; the store runs with foreign_keys = ON).
CREATE TABLE outbox_payloads (
  id INTEGER PRIMARY KEY REFERENCES outbox (id) ON DELETE CASCADE,
  payload TEXT NOT NULL
) STRICT;

-- Forward migration of existing data: every row's payload moves, delivered rows included (they
-- are pruned later like any other).
INSERT INTO outbox_payloads (id, payload) SELECT id, payload FROM outbox ORDER BY id;

ALTER TABLE outbox DROP COLUMN payload;
