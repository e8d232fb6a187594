/**
 * Saving a workspace engine as a {@link WorkspaceSnapshot} (snapshot.ts defines the format) and
 * rebuilding one from it. A restored engine, given the same SID generator state, emits the same
 * events for the same commands as the engine the snapshot was taken from.
 */
import { forgetTransfers, indexTransfer } from './transfer-index.ts';
import { assert } from '../util/assert.ts';
import type { SidGenerator } from '../util/sid.ts';
import { LIMITS } from './limits.ts';
import {
  isOpen,
  isTerminal,
  isWaiting,
  WorkerChannelRecord,
  WorkerRecord,
  type ActivityRecord,
  type ReservationRecord,
  type TaskChannelRecord,
  type TaskRecord,
} from './model.ts';
import { hasOpenSlot, list, refreshWorker, updateMembership } from './matching.ts';
import { settle } from './offers.ts';
import { QueueIndex } from './queue-index.ts';
import { clonePlain, saveTask, SNAPSHOT_VERSION, type WorkspaceSnapshot } from './snapshot.ts';
import { newEngineState, type EngineState } from './state.ts';
import { StatisticsRecorder } from './statistics.ts';
import { setStatusTimer, ttlAt } from './task-records.ts';
import { compilePlan, compileTargetWorkers } from './validation.ts';
import { planOf, restrictionFor } from './workflow-routing.ts';
import { attachWorker } from './worker-records.ts';

/** The whole workspace as plain data, deep-copied: later changes to the engine do not reach it. */
export function saveWorkspace(state: EngineState): WorkspaceSnapshot {
  return clonePlain({
    version: SNAPSHOT_VERSION,
    now: state.now,
    workspace: state.workspace,
    activities: [...state.activities.values()],
    channels: state.channelList,
    queues: [...state.queues.values()].map((q) => q.record),
    workflows: [...state.workflows.values()].map(({ plan: _plan, ...wf }) => wf),
    workers: [...state.workers.values()].map((w) => ({
      sid: w.sid,
      friendlyName: w.friendlyName,
      attributesJson: w.attributesJson,
      activitySid: w.activitySid,
      dateStatusChanged: w.dateStatusChanged,
      dateCreated: w.dateCreated,
      dateUpdated: w.dateUpdated,
      version: w.version,
      channels: w.channels.map((c) => ({
        sid: c.sid,
        taskChannelSid: c.taskChannelSid,
        channelIndex: c.channelIndex,
        configuredCapacity: c.configuredCapacity,
        available: c.available,
        dateCreated: c.dateCreated,
        dateUpdated: c.dateUpdated,
        lastReservedAt: c.lastReservedAt,
      })),
    })),
    tasks: [...state.tasks.values()].map(saveTask),
    reservations: [...state.reservations.values()].map(({ timer: _timer, worker: _worker, workerChannel: _workerChannel, task: _task, ...r }) => r),
    transfers: [...state.transfers.bySid.values()],
    statistics: state.statistics.save(),
  });
}

/**
 * Rebuilds an engine state from a snapshot (deep-copied first: the snapshot stays the caller's).
 * With the same SID generator state it behaves exactly as the engine the snapshot was taken
 * from. Throws if the snapshot is of another version, and (assert) if it is inconsistent.
 */
export function restoreWorkspace(snapshot: WorkspaceSnapshot, newSid: SidGenerator): EngineState {
  if (snapshot.version !== SNAPSHOT_VERSION) throw new Error(`snapshot version ${String(snapshot.version)} is not supported`);
  const s = clonePlain(snapshot);
  const state = newEngineState(s.workspace, newSid, StatisticsRecorder.load(s.statistics));
  restoreState(state, s);
  return state;
}

/**
 * Fills a new state (workspace record, SID generator and statistics already set) with a
 * snapshot's records (`s`, already a private copy) and rebuilds what a snapshot leaves out:
 * queue membership and indexes, compiled workflow plans, worker channel counts, step
 * restrictions and timers. Then settles routing, which must emit nothing: a snapshot is taken
 * between commands, when routing has settled. Throws (assert) on an inconsistent snapshot.
 */
function restoreState(state: EngineState, s: WorkspaceSnapshot): void {
  state.now = s.now;
  for (const a of s.activities) state.activities.set(a.sid, a);
  for (const c of s.channels) {
    state.channels.set(c.sid, c);
    state.channelList[c.index] = c;
  }
  for (const record of s.queues) {
    const expression = compileTargetWorkers(record.targetWorkers);
    const q = new QueueIndex(record, expression, state.channelList.length);
    state.queues.set(record.sid, q);
    if (expression?.dependsOn.workerActivity) state.activityQueues.add(q);
  }
  for (const wf of s.workflows) state.workflows.set(wf.sid, { ...wf, plan: compilePlan(state, wf.configuration) });
  for (const ws of s.workers) {
    const activity = state.activities.get(ws.activitySid) as ActivityRecord;
    const w = new WorkerRecord({
      ...ws,
      attributes: JSON.parse(ws.attributesJson) as Record<string, unknown>,
      activityName: activity.friendlyName,
      activityAvailable: activity.available,
      channels: ws.channels.map((c) => new WorkerChannelRecord(c)),
    });
    attachWorker(state, w);
    for (const q of state.queues.values()) updateMembership(state, w, q);
  }
  for (const saved of s.reservations) {
    // `task` is set below, once the tasks are rebuilt (every reservation is in its task's list).
    const worker = state.workers.get(saved.workerSid) ?? null;
    const workerChannel = worker === null ? null : (worker.channels[(state.channels.get(saved.taskChannelSid) as TaskChannelRecord).index] ?? null);
    const r: ReservationRecord = { ...saved, timer: null, worker, workerChannel, task: null as unknown as TaskRecord };
    state.reservations.set(r.sid, r);
    // In creation order, as the live engine added them: RejectPendingReservations and
    // worker deletion walk this set, and their events must come out in the same order.
    if (isOpen(r.reservationStatus)) worker?.openReservations.add(r.sid);
  }
  for (const ts of s.tasks) {
    const task: TaskRecord = {
      ...ts,
      attributes: JSON.parse(ts.attributesJson) as Record<string, unknown>,
      lastReservation: ts.reservationSids.length === 0 ? null : (state.reservations.get(ts.reservationSids[ts.reservationSids.length - 1] as string) ?? null),
      pendingReservations: 0,
      stamp: 0,
      restriction: null,
      listedIn: null,
      listedChannel: (state.channels.get(ts.taskChannelSid) as TaskChannelRecord).index,
      queueList: null,
      queuePrev: null,
      queueNext: null,
      statusTimer: null,
    };
    state.tasks.set(task.sid, task);
    for (const rsid of task.reservationSids) {
      const r = state.reservations.get(rsid);
      if (r !== undefined) r.task = task;
      if (r === undefined || !isOpen(r.reservationStatus)) continue;
      if (r.reservationStatus === 'pending') task.pendingReservations += 1;
      if (r.worker === null) continue;
      const ch = r.workerChannel as WorkerChannelRecord;
      ch.activeTasks += 1;
      if (r.reservationStatus !== 'pending') ch.assignedTasks += 1;
      if (r.reservationStatus === 'pending') r.timer = state.timers.schedule(r.timeoutAt, 'reservationTimeout', r.sid, r);
    }
    const status = task.assignmentStatus;
    if (!isTerminal(status) && task.taskQueueSid !== null) state.queues.get(task.taskQueueSid)?.tasks.add(task);
    if (isWaiting(status)) {
      setStatusTimer(state, task, ttlAt(task), 'taskTtl');
      const f = task.routing.filterIndex;
      const plan = planOf(state, task);
      const step = plan !== null && f !== null && f >= 0 ? plan.filters[f]?.steps[task.routing.stepIndex] : undefined;
      if (step !== undefined) task.restriction = restrictionFor(step, task);
      if (task.routing.stepDeadlineAt !== null && !task.routing.stepExpired) state.timers.schedule(task.routing.stepDeadlineAt, 'stepTimeout', task.sid, task);
    } else if (status === 'assigned' || status === 'wrapping') {
      setStatusTimer(state, task, task.statusChangedAt + LIMITS.assignedRetentionMs, 'assignedLimit');
    } else {
      setStatusTimer(state, task, task.statusChangedAt + LIMITS.terminalRetentionMs, 'purge');
    }
  }
  for (const t of s.transfers ?? []) indexTransfer(state.transfers, t);
  // A snapshot from before transfers were forgotten with their tasks may hold some whose tasks are gone.
  for (const t of s.transfers ?? []) if (!state.tasks.has(t.taskSid)) forgetTransfers(state.transfers, state.tasks, t.taskSid);
  for (const r of state.reservations.values()) assert(r.task !== null, `reservation ${r.sid} belongs to no task of the snapshot`);
  for (const w of state.workers.values()) refreshWorker(state, w);
  for (const t of state.tasks.values()) if (hasOpenSlot(state, t)) list(state, t);
  settle(state);
  assert(state.events.length === 0, 'a restored snapshot was not settled');
}
