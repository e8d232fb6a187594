/**
 * Matching (spec §7): which ready worker gets which waiting task, and the indexes that make it
 * fast. Matching only picks; offers.ts turns the picks into reservations. Two directions meet:
 *
 * - a task that can take (more) reservations is offered at once to the best ready workers of its
 *   queue (`routeNow` → {@link pickWorkers}, spec §7.2), and otherwise listed in its queue
 *   ({@link list});
 * - a worker whose readiness changed ({@link refreshWorker}, spec §7.2 rules 3–5) is marked dirty
 *   and, when routing settles (`settle`), given the best listed task of its queues
 *   ({@link pickTask}, spec §7.1 queue order) before its ready entries are published to the
 *   queues' heaps ({@link publishReady}).
 *
 * Worker ready entries and task entries carry stamps: an entry whose stamp no longer matches its
 * record is stale and skipped, so nothing is removed from a heap eagerly (see queue-index.ts).
 * Queue membership (TargetWorkers, spec §3.1) is kept here too, as it feeds the same indexes.
 */
import { compareWorkersByOrderBy } from '../expr/index.ts';
import { assert } from '../util/assert.ts';
import {
  isWaiting,
  removeItem,
  type QueueOrder,
  type ReservationRecord,
  type StepRestriction,
  type TaskChannelRecord,
  type TaskRecord,
  type WorkerChannelRecord,
  type WorkerRecord,
} from './model.ts';
import { fifoBefore, lifoBefore, readyBefore, readyEntryOf, type QueueIndex, type ReadyEntry, type WaitingEntry } from './queue-index.ts';
import { findWorkerByName, type EngineState } from './state.ts';

/** Read instead of a worker's directTasks while no task is listed as direct (not written to). */
const NO_TASK_SIDS: ReadonlySet<string> = new Set();

/** Re-evaluates one queue's TargetWorkers for one worker and updates the indexes. */
export function updateMembership(state: EngineState, w: WorkerRecord, q: QueueIndex): void {
  const member = q.expression !== null && q.expression.evaluate({ nowMs: state.now, worker: w });
  const was = q.members.has(w);
  if (member === was) return;
  if (member) {
    q.addMember(w);
    w.queues.add(q.record.sid);
    w.queueIndexes.push(q);
    if (q.indexed) {
      for (const ch of w.channels) {
        // Only an entry already published elsewhere; an unpublished one reaches every member
        // queue, this one included, when the worker has been served (publishReady).
        if (ch.ready && ch.publishedStamp === ch.stamp) {
          q.pushReady(readyEntryOf(w, ch));
        }
      }
    }
    markDirty(state, w, -1);
  } else {
    q.removeMember(w);
    w.queues.delete(q.record.sid);
    removeItem(w.queueIndexes, q);
    if (q.indexed) restampReady(w);
  }
}

/**
 * After a worker left an indexed queue: its published ready entries, shared by every member
 * queue's heap, go stale (new stamps) and fresh ones go to the queues it is still in. That way
 * an entry is live by its stamp alone (QueueIndex.isReadyEntryLive), without a membership
 * lookup for every entry a heap pops. The live entries of the other queues keep their keys,
 * so their order is unchanged.
 */
function restampReady(w: WorkerRecord): void {
  for (const ch of w.channels) {
    if (!ch.ready || ch.publishedStamp !== ch.stamp) continue;
    ch.stamp += 1;
    ch.publishedStamp = ch.stamp;
    const entry = readyEntryOf(w, ch);
    for (const q of w.queueIndexes) {
      if (q.indexed) q.pushReady(entry);
    }
  }
}

/**
 * Recomputes a worker's readiness per channel (spec §7.2 rules 3–5) and, where it is ready
 * with a new rank, publishes a ready entry to every indexed member queue. `repushChannel`
 * forces a new entry on that channel (after its entry was taken from a heap).
 *
 * `countsChangedOn` (≥ 0) says that only that channel's task counts and the worker's open
 * reservations changed since the worker was last refreshed. Another channel then depends on
 * the change only through the worker's total, that is with single-tasking or channel-optimized
 * routing; the others are skipped without being read (a cache miss each, for a worker served
 * long ago).
 */
export function refreshWorker(state: EngineState, w: WorkerRecord, repushChannel = -1, countsChangedOn = -1): void {
  const total = w.openReservations.size;
  const singleTasking = !state.workspace.multiTaskEnabled;
  const singleBusy = singleTasking && total > 0;
  const channels = w.channels;
  for (let i = 0; i < channels.length; i++) {
    const tc = state.channelList[i] as TaskChannelRecord;
    if (countsChangedOn >= 0 && i !== countsChangedOn && !singleTasking && !tc.channelOptimizedRouting) continue;
    const ch = channels[i] as WorkerChannelRecord;
    const ready = !tc.deleted && w.activityAvailable && ch.available && ch.activeTasks < ch.configuredCapacity && !singleBusy;
    if (!ready && !ch.ready) continue;
    const busy = tc.channelOptimizedRouting && total > 0 ? 1 : 0;
    const idleSince = ch.lastReservedAt ?? w.dateCreated;
    const repush = ch.channelIndex === repushChannel;
    if (ready && ch.ready && !repush && busy === ch.rankBusy && idleSince === ch.rankIdleSince) continue;
    ch.stamp += 1;
    ch.ready = ready;
    ch.rankBusy = busy;
    ch.rankIdleSince = idleSince;
    // Published to the queues' ready heaps once the worker has been served (publishReady):
    // a worker that takes a waiting task at once never enters a heap.
    if (ready) markDirty(state, w, ch.channelIndex);
  }
  // Waiting tasks whose target expression reads `worker.channel.*` may have become eligible on
  // any channel when this worker's counts changed.
  if ((state.directListed > 0 && w.directTasks.size > 0) || state.channelReadingTasks > 0) markDirty(state, w, -1);
}

/** Queues the worker for serving on a channel (-1: every channel) when routing settles. */
export function markDirty(state: EngineState, w: WorkerRecord, channel: number): void {
  w.dirtyChannels |= channel < 0 || channel > 30 ? -1 : 1 << channel;
  if (!w.queuedToServe) {
    w.queuedToServe = true;
    state.dirtyWorkers.push(w);
  }
}

/** A task can get (more) reservations: waiting, in a queue or aimed at a worker, step not expired. */
function isRoutable(task: TaskRecord): boolean {
  return (
    isWaiting(task.assignmentStatus) &&
    !task.routing.stepExpired &&
    (task.taskQueueSid !== null || task.routingTarget?.startsWith('WK') === true)
  );
}

/** How many reservations a task may hold at once: its queue's MaxReservedWorkers, 1 for a task aimed at a worker (spec §6). */
export function slotsOf(state: EngineState, task: TaskRecord): number {
  if (task.taskQueueSid === null) return 1;
  return (state.queues.get(task.taskQueueSid) as QueueIndex).record.maxReservedWorkers;
}

/** Can the task take another reservation now (routable, fewer pending reservations than slots)? */
export function hasOpenSlot(state: EngineState, task: TaskRecord): boolean {
  return isRoutable(task) && task.pendingReservations < slotsOf(state, task);
}

/** Does this worker already hold a pending reservation for the task? (A worker gets at most one per task.) */
export function hasPendingReservationFor(state: EngineState, task: TaskRecord, w: WorkerRecord): boolean {
  if (task.pendingReservations === 0) return false;
  for (const rsid of w.openReservations) {
    const r = state.reservations.get(rsid) as ReservationRecord;
    if (r.taskSid === task.sid && r.reservationStatus === 'pending') return true;
  }
  return false;
}

/** Does the step's restriction let this worker take the task (spec §7.2 rule 2)? */
function restrictionAllows(state: EngineState, task: TaskRecord, w: WorkerRecord): boolean {
  const r = task.restriction;
  if (r === null) return true;
  if (r.knownWorkerMissing) return false;
  if (r.knownWorker !== null) {
    const matches = r.byName ? w.friendlyName.toLowerCase() === r.knownWorker.toLowerCase() : w.sid === r.knownWorker;
    if (!matches) return false;
  }
  return r.expression === null || r.expression.evaluate({ nowMs: state.now, task: task.attributes, worker: w });
}

/**
 * The best ready workers for a task, best first, at most `slots` (spec §7.2): the picks only;
 * the caller makes the reservations (offers.ts). Entries passed over go back to the heap.
 */
export function pickWorkers(state: EngineState, task: TaskRecord, slots: number): WorkerRecord[] {
  const channel = (state.channels.get(task.taskChannelSid) as TaskChannelRecord).index;
  if (task.taskQueueSid === null) {
    const w = task.routingTarget === null ? undefined : state.workers.get(task.routingTarget);
    if (w === undefined || hasPendingReservationFor(state, task, w)) return [];
    const ready = (w.channels[channel] as WorkerChannelRecord).ready;
    return task.ignoreCapacity || ready ? [w] : [];
  }
  const q = state.queues.get(task.taskQueueSid) as QueueIndex;
  const r = task.restriction;
  if (r?.knownWorkerMissing) return [];
  if (r?.knownWorker) {
    const w = r.byName ? findWorkerByName(state, r.knownWorker) : state.workers.get(r.knownWorker);
    if (w === undefined || !q.members.has(w) || !(w.channels[channel] as WorkerChannelRecord).ready) return [];
    return restrictionAllows(state, task, w) && !hasPendingReservationFor(state, task, w) ? [w] : [];
  }
  q.ensureIndexed();
  const heap = q.readyWorkers[channel];
  if (heap === undefined) return [];
  if (r?.orderBy) {
    const seen = new Set<WorkerRecord>();
    const candidates: ReadyEntry[] = [];
    for (const e of heap.unordered()) {
      if (seen.has(e.worker) || !q.isReadyEntryLive(e)) continue;
      seen.add(e.worker);
      if (restrictionAllows(state, task, e.worker) && !hasPendingReservationFor(state, task, e.worker)) candidates.push(e);
    }
    const orderBy = r.orderBy;
    candidates.sort((a, b) => compareWorkersByOrderBy(orderBy, a.worker, b.worker) || (readyBefore(a, b) ? -1 : 1));
    return candidates.slice(0, slots).map((e) => e.worker);
  }
  const chosen: WorkerRecord[] = [];
  let skipped: ReadyEntry[] | null = null; // allocated only when an entry is passed over
  while (chosen.length < slots) {
    const e = heap.pop();
    if (e === undefined) break;
    if (!q.isReadyEntryLive(e)) continue;
    if (chosen.includes(e.worker) || !restrictionAllows(state, task, e.worker) || hasPendingReservationFor(state, task, e.worker)) {
      (skipped ??= []).push(e);
      continue;
    }
    chosen.push(e.worker);
  }
  if (skipped !== null) for (const e of skipped) heap.push(e);
  return chosen;
}

/** Lists a routable task with open slots where newly ready workers will find it. */
export function list(state: EngineState, task: TaskRecord): void {
  assert(task.listedIn === null, `task ${task.sid} listed twice`);
  const channel = (state.channels.get(task.taskChannelSid) as TaskChannelRecord).index;
  task.listedChannel = channel;
  if (task.taskQueueSid === null) {
    (state.workers.get(task.routingTarget as string) as WorkerRecord).directTasks.add(task.sid);
    task.listedIn = 'direct';
    state.directListed += 1;
    return;
  }
  const q = state.queues.get(task.taskQueueSid) as QueueIndex;
  const r = task.restriction;
  task.stamp += 1;
  if (r?.expression?.dependsOn.workerChannel && !r.knownWorkerMissing) state.channelReadingTasks += 1;
  if (r?.knownWorkerMissing) {
    task.listedIn = 'nowhere';
    return;
  }
  state.queueListed += 1;
  if (r?.knownWorker) {
    const key = knownWorkerKey(r);
    let set = q.knownWorkerTasks.get(key);
    if (set === undefined) q.knownWorkerTasks.set(key, (set = new Set()));
    set.add(task);
    task.listedIn = 'known';
  } else if (r?.expression) {
    q.pushRestricted(task, channel);
    task.listedIn = 'restricted';
  } else {
    q.pushWaiting(task, channel);
    task.listedIn = 'waiting';
  }
}

/** Takes a task off every index it is listed in (the entries go stale by stamp); no-op when not listed. */
export function unlist(state: EngineState, task: TaskRecord): void {
  const where = task.listedIn;
  if (where === null) return;
  task.listedIn = null;
  task.stamp += 1;
  if (where === 'direct') {
    state.directListed -= 1;
    state.workers.get(task.routingTarget as string)?.directTasks.delete(task.sid);
    return;
  }
  if (where !== 'nowhere') state.queueListed -= 1;
  const q = state.queues.get(task.taskQueueSid as string) as QueueIndex;
  const ch = task.listedChannel;
  if ((where === 'restricted' || where === 'known') && task.restriction?.expression?.dependsOn.workerChannel) state.channelReadingTasks -= 1;
  if (where === 'waiting') q.waitingCount[ch] = (q.waitingCount[ch] as number) - 1;
  else if (where === 'restricted') q.restrictedCount[ch] = (q.restrictedCount[ch] as number) - 1;
  else if (where === 'known') {
    const key = knownWorkerKey(task.restriction as StepRestriction);
    const set = q.knownWorkerTasks.get(key);
    set?.delete(task);
    if (set?.size === 0) q.knownWorkerTasks.delete(key);
  }
}

/**
 * The task a single-tasking worker should take, over all its channels, or null: the channels'
 * best tasks compete in queue order (spec §7.1) instead of the lowest channel index winning.
 */
export function pickTaskOnAnyChannel(state: EngineState, w: WorkerRecord): TaskRecord | null {
  const orderOf = (t: TaskRecord): QueueOrder => (t.taskQueueSid === null ? 'FIFO' : (state.queues.get(t.taskQueueSid) as QueueIndex).order);
  let best: TaskRecord | null = null;
  for (const ch of w.channels) {
    const t = pickTask(state, w, ch.channelIndex);
    if (t !== null && (best === null || taskBefore(state, t, orderOf(t), best, orderOf(best)))) best = t;
  }
  return best;
}

/**
 * Puts the worker's ready channels whose rank changed into its indexed queues' ready heaps.
 * `served` is the channel mask the worker was served for. Only channels in it, or marked dirty
 * while it was served, can need publishing: refreshWorker marks every channel whose stamp it
 * bumps while ready, and each serve ends here. The others are not read (cache misses, for a
 * worker last served long ago).
 */
export function publishReady(w: WorkerRecord, served: number): void {
  const mask = served | w.dirtyChannels;
  const channels = w.channels;
  for (let i = 0; i < channels.length; i++) {
    if (!inChannelMask(mask, i)) continue;
    const ch = channels[i] as WorkerChannelRecord;
    if (!ch.ready || ch.publishedStamp === ch.stamp) continue;
    ch.publishedStamp = ch.stamp;
    const entry = readyEntryOf(w, ch);
    for (const q of w.queueIndexes) {
      if (q.indexed) q.pushReady(entry);
    }
  }
}

/** Compares candidate tasks from different queues (spec §7.1, OUR CHOICE for cross-queue ties). */
function taskBefore(state: EngineState, a: TaskRecord, aOrder: QueueOrder, b: TaskRecord, bOrder: QueueOrder): boolean {
  if (aOrder !== bOrder) return aOrder === state.workspace.prioritizeQueueOrder;
  return aOrder === 'FIFO' ? fifoBefore(a, b) : lifoBefore(a, b);
}

/**
 * The waiting task a newly ready worker should take on a channel (index), or null: its direct
 * tasks, then the best listed task of its queues in queue order (spec §7.1, §7.2).
 */
export function pickTask(state: EngineState, w: WorkerRecord, channel: number): TaskRecord | null {
  let best: TaskRecord | null = null;
  let bestOrder: QueueOrder = 'FIFO';
  const direct = state.directListed > 0 ? w.directTasks : NO_TASK_SIDS;
  for (const tsid of direct) {
    const t = state.tasks.get(tsid) as TaskRecord;
    if (t.listedChannel !== channel || hasPendingReservationFor(state, t, w)) continue;
    if (!t.ignoreCapacity && !(w.channels[channel] as WorkerChannelRecord).ready) continue;
    if (best === null || taskBefore(state, t, 'FIFO', best, bestOrder)) {
      best = t;
      bestOrder = 'FIFO';
    }
  }
  if (!(w.channels[channel] as WorkerChannelRecord).ready || state.queueListed === 0) return best;
  for (const q of w.queueIndexes) {
    const order = q.order;
    if (q.waitingCount[channel] !== 0) {
      const head = waitingHeadFor(state, q, channel, w);
      if (head !== null && (best === null || taskBefore(state, head, order, best, bestOrder))) {
        best = head;
        bestOrder = order;
      }
    }
    if (q.restrictedCount[channel] !== 0) {
      for (const e of q.restricted[channel] as WaitingEntry[]) {
        if (e.task.stamp !== e.stamp) continue;
        if (best !== null && !taskBefore(state, e.task, order, best, bestOrder)) break;
        if (restrictionAllows(state, e.task, w) && !hasPendingReservationFor(state, e.task, w)) {
          best = e.task;
          bestOrder = order;
          break;
        }
      }
    }
    if (q.knownWorkerTasks.size !== 0) {
      for (const key of [w.sid, `~${w.friendlyName.toLowerCase()}`]) {
        for (const t of q.knownWorkerTasks.get(key) ?? []) {
          if (t.listedChannel !== channel || !restrictionAllows(state, t, w) || hasPendingReservationFor(state, t, w)) continue;
          if (best === null || taskBefore(state, t, order, best, bestOrder)) {
            best = t;
            bestOrder = order;
          }
        }
      }
    }
  }
  return best;
}

/** The first live waiting task of a queue that this worker holds no reservation for. */
function waitingHeadFor(state: EngineState, q: QueueIndex, channel: number, w: WorkerRecord): TaskRecord | null {
  const heap = q.waiting[channel];
  if (heap === undefined) return null;
  let skipped: WaitingEntry[] | null = null; // allocated only when an entry is passed over
  let found: TaskRecord | null = null;
  for (let e = heap.peek(); e !== undefined; e = heap.peek()) {
    if (e.task.stamp !== e.stamp) {
      heap.pop();
      continue;
    }
    if (hasPendingReservationFor(state, e.task, w)) {
      (skipped ??= []).push(heap.pop() as WaitingEntry);
      continue;
    }
    found = e.task;
    break;
  }
  if (skipped !== null) for (const e of skipped) heap.push(e);
  return found;
}

/** Is channel `index` in a channel mask of {@link markDirty} (-1: every channel)? */
export function inChannelMask(mask: number, index: number): boolean {
  return mask === -1 || (mask & (1 << Math.min(index, 31))) !== 0;
}

/** Where a known-worker task is filed: the worker's SID, or `~` + lower-case friendly name. */
function knownWorkerKey(r: StepRestriction): string {
  return r.byName ? `~${(r.knownWorker as string).toLowerCase()}` : (r.knownWorker as string);
}
