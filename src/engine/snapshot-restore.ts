/**
 * Saving a workspace engine as a {@link WorkspaceSnapshot} (snapshot.ts defines the format) and
 * rebuilding one from it. A restored engine, given the same SID generator state, emits the same
 * events for the same commands as the engine the snapshot was taken from.
 */
import { assert } from '../util/assert.ts';
import type { WorkspaceEngine } from './engine.ts';
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
import { QueueIndex } from './queue-index.ts';
import { clonePlain, saveTask, SNAPSHOT_VERSION, type WorkspaceSnapshot } from './snapshot.ts';
import { compilePlan, compileTargetWorkers } from './validation.ts';
import { attachWorker } from './worker-commands.ts';
import { hasOpenSlot, list, refreshWorker, settle, updateMembership } from './matching.ts';
import { planOf, restrictionFor } from './workflow-routing.ts';

/** The whole workspace as plain data, deep-copied: later changes to the engine do not reach it. */
export function saveWorkspace(engine: WorkspaceEngine): WorkspaceSnapshot {
  return clonePlain({
    version: SNAPSHOT_VERSION,
    now: engine.now,
    workspace: engine.workspace,
    activities: [...engine.activities.values()],
    channels: engine.channelList,
    queues: [...engine.queues.values()].map((q) => q.record),
    workflows: [...engine.workflows.values()].map(({ plan: _plan, ...wf }) => wf),
    workers: [...engine.workers.values()].map((w) => ({
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
    tasks: [...engine.tasks.values()].map(saveTask),
    reservations: [...engine.reservations.values()].map(({ timer: _timer, worker: _worker, workerChannel: _workerChannel, task: _task, ...r }) => r),
    statistics: engine.statistics.save(),
  });
}

/**
 * Fills a new engine (workspace record, SID generator and statistics already set) with a
 * snapshot's records (`s`, already a private copy) and rebuilds what a snapshot leaves out:
 * queue membership and indexes, compiled workflow plans, worker channel counts, step
 * restrictions and timers. Then settles routing, which must emit nothing: a snapshot is taken
 * between commands, when routing has settled. Throws (assert) on an inconsistent snapshot.
 */
export function restoreState(engine: WorkspaceEngine, s: WorkspaceSnapshot): void {
  engine.now = s.now;
  for (const a of s.activities) engine.activities.set(a.sid, a);
  for (const c of s.channels) {
    engine.channels.set(c.sid, c);
    engine.channelList[c.index] = c;
  }
  for (const record of s.queues) {
    const expression = compileTargetWorkers(record.targetWorkers);
    const q = new QueueIndex(record, expression, engine.channelList.length);
    engine.queues.set(record.sid, q);
    if (expression?.dependsOn.workerActivity) engine.activityQueues.add(q);
  }
  for (const wf of s.workflows) engine.workflows.set(wf.sid, { ...wf, plan: compilePlan(engine, wf.configuration) });
  for (const ws of s.workers) {
    const activity = engine.activities.get(ws.activitySid) as ActivityRecord;
    const w = new WorkerRecord({
      ...ws,
      attributes: JSON.parse(ws.attributesJson) as Record<string, unknown>,
      activityName: activity.friendlyName,
      activityAvailable: activity.available,
      channels: ws.channels.map((c) => new WorkerChannelRecord(c)),
    });
    attachWorker(engine, w);
    for (const q of engine.queues.values()) updateMembership(engine, w, q);
  }
  for (const saved of s.reservations) {
    // `task` is set below, once the tasks are rebuilt (every reservation is in its task's list).
    const worker = engine.workers.get(saved.workerSid) ?? null;
    const workerChannel = worker === null ? null : (worker.channels[(engine.channels.get(saved.taskChannelSid) as TaskChannelRecord).index] ?? null);
    const r: ReservationRecord = { ...saved, timer: null, worker, workerChannel, task: null as unknown as TaskRecord };
    engine.reservations.set(r.sid, r);
    // In creation order, as the live engine added them: RejectPendingReservations and
    // worker deletion walk this set, and their events must come out in the same order.
    if (isOpen(r.reservationStatus)) worker?.openReservations.add(r.sid);
  }
  for (const ts of s.tasks) {
    const task: TaskRecord = {
      ...ts,
      attributes: JSON.parse(ts.attributesJson) as Record<string, unknown>,
      lastReservation: ts.reservationSids.length === 0 ? null : (engine.reservations.get(ts.reservationSids[ts.reservationSids.length - 1] as string) ?? null),
      pendingReservations: 0,
      stamp: 0,
      restriction: null,
      listedIn: null,
      listedChannel: (engine.channels.get(ts.taskChannelSid) as TaskChannelRecord).index,
      queueList: null,
      queuePrev: null,
      queueNext: null,
      statusTimer: null,
    };
    engine.tasks.set(task.sid, task);
    for (const rsid of task.reservationSids) {
      const r = engine.reservations.get(rsid);
      if (r !== undefined) r.task = task;
      if (r === undefined || !isOpen(r.reservationStatus)) continue;
      if (r.reservationStatus === 'pending') task.pendingReservations += 1;
      if (r.worker === null) continue;
      const ch = r.workerChannel as WorkerChannelRecord;
      ch.activeTasks += 1;
      if (r.reservationStatus !== 'pending') ch.assignedTasks += 1;
      if (r.reservationStatus === 'pending') r.timer = engine.timers.schedule(r.timeoutAt, 'reservationTimeout', r.sid, r);
    }
    const status = task.assignmentStatus;
    if (!isTerminal(status) && task.taskQueueSid !== null) engine.queues.get(task.taskQueueSid)?.tasks.add(task);
    if (isWaiting(status)) {
      engine.setStatusTimer(task, engine.ttlAt(task), 'taskTtl');
      const f = task.routing.filterIndex;
      const plan = planOf(engine, task);
      const step = plan !== null && f !== null && f >= 0 ? plan.filters[f]?.steps[task.routing.stepIndex] : undefined;
      if (step !== undefined) task.restriction = restrictionFor(step, task);
      if (task.routing.stepDeadlineAt !== null && !task.routing.stepExpired) engine.timers.schedule(task.routing.stepDeadlineAt, 'stepTimeout', task.sid, task);
    } else if (status === 'assigned' || status === 'wrapping') {
      engine.setStatusTimer(task, task.statusChangedAt + LIMITS.assignedRetentionMs, 'assignedLimit');
    } else {
      engine.setStatusTimer(task, task.statusChangedAt + LIMITS.terminalRetentionMs, 'purge');
    }
  }
  for (const r of engine.reservations.values()) assert(r.task !== null, `reservation ${r.sid} belongs to no task of the snapshot`);
  for (const w of engine.workers.values()) refreshWorker(engine, w);
  for (const t of engine.tasks.values()) if (hasOpenSlot(engine, t)) list(engine, t);
  settle(engine);
  assert(engine.events.length === 0, 'a restored snapshot was not settled');
}
