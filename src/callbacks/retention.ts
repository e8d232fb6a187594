/**
 * The center's state in and out (docs/callbacks.md "Retention", "Driving the center" step 6):
 * the plain-JSON snapshot and its restore, the change feed a store writes from (callbacks
 * touched, callbacks removed), the pruning of terminal callbacks after the retention, forgetting
 * a call target, and handing out an operation's events and effects.
 *
 * Functions of the center state ({@link CenterState}).
 */
import type { CallTarget } from './call-target.ts';
import {
  addActive,
  emptyStats,
  isTerminalStatus,
  SNAPSHOT_VERSION,
  type CallbackRequest,
  type CenterChanges,
  type CenterOutcome,
  type CenterSnapshot,
  type CenterState,
} from './center-model.ts';

/**
 * The whole center as plain JSON data (a deep copy). With `callbacks: false` the `callbacks`
 * list is empty: the small part a store writes on every operation while it keeps callbacks in
 * rows of their own (see {@link takeChanges}).
 */
export function snapshotOf(s: CenterState, withCallbacks: boolean): CenterSnapshot {
  return structuredClone({
    version: SNAPSHOT_VERSION,
    now: s.now,
    targets: [...s.targets.values()],
    callbacks: withCallbacks ? [...s.callbacks.values()] : [],
    stats: [...s.stats.entries()],
    views: [...s.views.entries()],
    inService: [...s.inService.entries()],
  });
}

/** Throws Error unless `snapshot` is of the version this center reads. */
export function checkSnapshotVersion(snapshot: CenterSnapshot): void {
  if (snapshot.version !== SNAPSHOT_VERSION) throw new Error(`callback center snapshot version ${String(snapshot.version)} is not supported`);
}

/**
 * Loads a snapshot into an empty state made with the snapshot's `now` (callbacks in the
 * snapshot's order, which becomes the registration order). Fills fields that older snapshots
 * lack (`reminderAt`, `callSid`: null). Throws Error on another snapshot version.
 */
export function restoreInto(s: CenterState, snapshot: CenterSnapshot): void {
  checkSnapshotVersion(snapshot);
  const copy = structuredClone(snapshot);
  for (const t of copy.targets) {
    s.targets.set(t.sid, t);
    s.targetByQueue.set(t.taskQueueSid, t.sid);
  }
  for (const c of copy.callbacks) {
    c.reminderAt ??= null;
    s.callbacks.set(c.sid, c);
    if (!isTerminalStatus(c.status)) addActive(s, c);
    else s.ended.push(c);
    if (c.taskSid !== null) {
      s.byTask.set(c.taskSid, c.sid);
      s.tasksOf.set(c.sid, [c.taskSid]);
    }
    for (const a of c.attempts) {
      a.callSid ??= null;
      if (a.dialKey !== null) s.byKey.set(a.dialKey, c.sid);
    }
  }
  for (const [k, v] of copy.stats) s.stats.set(k, { ...emptyStats(), ...v });
  for (const [k, v] of copy.views) s.views.set(k, v);
  for (const [k, v] of copy.inService) s.inService.set(k, v);
  // Pruning order: when they ended (stable, so equal instants keep registration order).
  s.ended.sort((a, b) => a.updatedAt - b.updatedAt);
}

/** Drains the change feed: callbacks touched (to upsert) and pruned or forgotten (to delete) since the last call. */
export function takeChanges(s: CenterState): CenterChanges {
  const out = { changed: [...s.touched.values()], removed: [...s.removed.values()] };
  s.touched = new Map();
  s.removed = new Map();
  return out;
}

/** Forgets a terminal callback everywhere: maps, indexes, deadline bookkeeping, pending changes (it is reported removed). */
function drop(s: CenterState, c: CallbackRequest): void {
  s.callbacks.delete(c.sid);
  for (const task of s.tasksOf.get(c.sid) ?? []) if (s.byTask.get(task) === c.sid) s.byTask.delete(task);
  s.tasksOf.delete(c.sid);
  for (const a of c.attempts) if (a.dialKey !== null) s.byKey.delete(a.dialKey);
  s.touched.delete(c.sid);
  s.removed.set(c.sid, c);
  // Its heap entries (if any) are stale from now on and go when they reach the top or a compaction.
  s.dirty.delete(c);
  s.deadlineOf.delete(c);
}

/**
 * When the oldest ended callback comes due for pruning (its end + the retention), epoch ms, or null
 * (nothing ended, or the retention is off). An entry already gone is consumed by the prune at that
 * instant, so the answer moves on.
 */
export function nextPrune(s: CenterState): number | null {
  if (s.retentionMs === null || s.endedHead >= s.ended.length) return null;
  return (s.ended[s.endedHead] as CallbackRequest).updatedAt + s.retentionMs;
}

/** Prunes terminal callbacks that ended more than the retention ago (the center's clock). O(pruned). */
export function prune(s: CenterState): void {
  if (s.retentionMs === null) return;
  const cutoff = s.now - s.retentionMs;
  while (s.endedHead < s.ended.length) {
    const c = s.ended[s.endedHead] as CallbackRequest;
    if (c.updatedAt > cutoff) break;
    s.endedHead += 1;
    if (s.callbacks.get(c.sid) === c && isTerminalStatus(c.status)) drop(s, c);
  }
  if (s.endedHead > 1024 && s.endedHead * 2 > s.ended.length) {
    s.ended = s.ended.slice(s.endedHead);
    s.endedHead = 0;
  }
}

/**
 * Removes target `t`, which has no non-terminal callback (the caller checked), with its
 * statistics, queue view and terminal callbacks (reported as removed).
 */
export function forgetTarget(s: CenterState, t: CallTarget): void {
  for (const c of [...s.callbacks.values()]) if (c.callTargetSid === t.sid) drop(s, c);
  s.ended = s.ended.slice(s.endedHead).filter((c) => c.callTargetSid !== t.sid);
  s.endedHead = 0;
  s.targets.delete(t.sid);
  s.targetByQueue.delete(t.taskQueueSid);
  s.stats.delete(t.sid);
  s.views.delete(t.sid);
  s.activeByTarget.delete(t.sid);
  for (const [k, v] of [...s.inService]) if (v.targetSid === t.sid) s.inService.delete(k);
}

/** Ends an operation: prunes, then hands out its events and effects (in order) and starts empty lists. */
export function take(s: CenterState): CenterOutcome {
  prune(s);
  const out = { events: s.events, effects: s.effects };
  s.events = [];
  s.effects = [];
  return out;
}
