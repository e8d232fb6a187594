/**
 * The indexes over a workspace's task transfers (transfers.ts), rebuilt from the list on restore,
 * and their upkeep: a transfer is added when it is made and forgotten once neither of its tasks
 * exists any more (both purged or deleted), so the records — and the snapshot — stay as large as
 * the live work, not the workspace's history. Nothing reads a transfer after that: TaskRouter has
 * no transfer resource, and its events carried everything (the analytics keep their own).
 * A module of its own so that task removal (task-lifecycle.ts) can forget transfers without an
 * import cycle with transfers.ts. Pure.
 */
import type { TaskRecord } from './model.ts';
import type { TransferRecord } from './transfers.ts';

/** Indexes over the transfers of a workspace, rebuilt from the list on restore. */
export interface TransferIndex {
  bySid: Map<string, TransferRecord>;
  /** By the task the transfer created (a task has at most one incoming transfer). */
  byTransferTask: Map<string, TransferRecord>;
  /** By the original task: its latest transfer. */
  byTask: Map<string, TransferRecord>;
  /** By the original task: all its transfers, oldest first. */
  allByTask: Map<string, TransferRecord[]>;
}

/** Empty indexes, for a new workspace (a restore fills them with {@link indexTransfer}). */
export function newTransferIndex(): TransferIndex {
  return { bySid: new Map(), byTransferTask: new Map(), byTask: new Map(), allByTask: new Map() };
}

/** Adds a transfer to the indexes (a new one, or one from a snapshot). */
export function indexTransfer(index: TransferIndex, t: TransferRecord): void {
  index.bySid.set(t.sid, t);
  index.byTransferTask.set(t.transferTaskSid, t);
  const all = index.allByTask.get(t.taskSid);
  if (all === undefined) index.allByTask.set(t.taskSid, [t]);
  else all.push(t);
  const latest = index.byTask.get(t.taskSid);
  if (latest === undefined || latest.dateCreated <= t.dateCreated) index.byTask.set(t.taskSid, t);
}

/**
 * Task `taskSid` is gone (`tasks` no longer holds it): forgets its transfers — as the original
 * task or as the transfer task — whose other task is gone too.
 */
export function forgetTransfers(index: TransferIndex, tasks: ReadonlyMap<string, TaskRecord>, taskSid: string): void {
  const incoming = index.byTransferTask.get(taskSid);
  const candidates = [...(index.allByTask.get(taskSid) ?? []), ...(incoming === undefined ? [] : [incoming])];
  for (const t of candidates) {
    if (tasks.has(t.taskSid) || tasks.has(t.transferTaskSid)) continue;
    index.bySid.delete(t.sid);
    index.byTransferTask.delete(t.transferTaskSid);
    if (index.byTask.get(t.taskSid) === t) index.byTask.delete(t.taskSid);
    const rest = (index.allByTask.get(t.taskSid) ?? []).filter((x) => x !== t);
    if (rest.length === 0) index.allByTask.delete(t.taskSid);
    else index.allByTask.set(t.taskSid, rest);
  }
}
