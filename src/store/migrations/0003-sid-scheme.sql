-- How a workspace makes its SIDs (src/runtime/sids.ts). 0: every SID random-looking (every
-- workspace created before this version); 1: event SIDs count up per workspace, so new events
-- land at the end of the events primary key instead of on a random page of it. Fixed at
-- creation: re-executing a workspace's commands must give back the same SIDs.
ALTER TABLE workspaces ADD COLUMN sid_scheme INTEGER NOT NULL DEFAULT 0;
