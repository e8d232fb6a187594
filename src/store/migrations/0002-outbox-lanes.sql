-- Webhook delivery (src/webhooks): the dispatcher looks up the oldest undelivered row of each
-- workspace's lane (per-workspace FIFO, spec §9.1) and prunes delivered rows.
CREATE INDEX outbox_lane ON outbox (workspace_sid, kind, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_done ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;
