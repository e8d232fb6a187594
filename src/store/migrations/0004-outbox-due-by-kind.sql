-- The dispatcher asks, after every commit that queued webhooks, for the due rows of one kind
-- (assignment callbacks). Through outbox_due (next_attempt_at) that walked every undelivered row
-- of every kind — thousands while an event lane is behind. Keyed by kind first, it reads only
-- the rows it returns.
CREATE INDEX outbox_due_by_kind ON outbox (kind, next_attempt_at, id) WHERE delivered_at IS NULL;
