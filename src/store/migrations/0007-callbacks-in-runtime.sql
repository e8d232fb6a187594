-- The callback core is hosted by the runtime (issue 10): it sees engine events in the same turn
-- as the command that made them, and its state is written in the same transaction. The cursor
-- of the old callbacks service, which read committed engine events back from this table, is
-- gone with it.
DROP TABLE IF EXISTS callback_cursor;
