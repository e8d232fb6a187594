/**
 * Rebuilds a workspace's engine from the store after a restart (DESIGN.md rule 2): restore the
 * latest snapshot (or create the workspace again from its creation options and SID seed), then
 * re-execute every command logged after it. The engine is deterministic, so this gives back the
 * exact state — pending tasks, reservations, worker activities and timers with their due
 * times; the re-executed commands' events were stored when they first ran and are dropped here.
 */
import { WorkspaceEngine, type CreateWorkspaceOptions } from '../engine/index.ts';
import type { StoredWorkspace } from '../store/store.ts';
import { WorkspaceSids, type SidScheme } from './sids.ts';

export interface RebuiltWorkspace {
  engine: WorkspaceEngine;
  sids: WorkspaceSids;
  /** Sequence number of the last command applied. */
  seq: number;
}

/** The JSON-safe part of a workspace's creation options, as stored. */
export type StoredCreateOptions = Omit<CreateWorkspaceOptions, 'newSid'>;

/**
 * Rebuilds one workspace. Throws if a logged command is refused on re-execution, which would
 * mean the log and the engine disagree (a bug, or a log from an incompatible version).
 */
export function rebuildWorkspace(stored: StoredWorkspace): RebuiltWorkspace {
  const sids = new WorkspaceSids(stored.sidSeed, stored.sidScheme as SidScheme, stored.snapshotGenerator ?? undefined);
  const engine =
    stored.snapshot !== null
      ? WorkspaceEngine.restore(stored.snapshot, sids.next)
      : WorkspaceEngine.create({ ...(stored.createOptions as unknown as StoredCreateOptions), newSid: sids.next }).engine;
  if (engine.workspace.sid !== stored.sid) {
    throw new Error(`workspace ${stored.sid} rebuilt as ${engine.workspace.sid}: its SID seed or creation options do not match`);
  }
  let seq = stored.snapshotSeq;
  for (const { seq: s, command } of stored.commands) {
    const outcome = engine.execute(command);
    if (outcome.rejection !== null && outcome.events.length === 0) {
      throw new Error(`workspace ${stored.sid}: logged command ${s} (${command.type}) was refused on re-execution: ${outcome.rejection.message}`);
    }
    seq = s;
  }
  return { engine, sids, seq };
}
