/**
 * Worker commands (spec §2): create, update, delete a worker and update its channels, and the
 * move of a worker to another activity that reservations also trigger. Each command checks its
 * input before changing anything, then brings queue membership and readiness up to date
 * (matching runs when routing settles). Times are the engine's clock, epoch ms.
 */
import { assert } from '../util/assert.ts';
import { LIMITS } from './limits.ts';
import { isWaiting, WorkerChannelRecord, WorkerRecord, type ReservationRecord, type TaskChannelRecord, type TaskRecord } from './model.ts';
import { reject } from './rejections.ts';
import type { Command } from './commands.ts';
import type { EventValue } from './events.ts';
import type { WorkspaceEngine } from './engine.ts';
import { emitWorker } from './event-data.ts';
import { activityOrReject, checkFriendlyName, checkInteger, checkVersion, parseAttributes, workerOrReject } from './validation.ts';
import { markDirty, refreshWorker, updateMembership } from './matching.ts';

/** A worker's slot on a task channel: capacity 1, available (spec §2.3 defaults). */
export function newWorkerChannel(engine: WorkspaceEngine, ch: TaskChannelRecord): WorkerChannelRecord {
  return new WorkerChannelRecord({
    sid: engine.newSid('WC'),
    taskChannelSid: ch.sid,
    channelIndex: ch.index,
    configuredCapacity: 1,
    available: true,
    dateCreated: engine.now,
    dateUpdated: engine.now,
    lastReservedAt: null,
  });
}

/** createWorker: unique FriendlyName (case-insensitive), attributes JSON, activity (default: the workspace's). */
export function createWorker(engine: WorkspaceEngine, c: Extract<Command, { type: 'createWorker' }>): string {
  const name = checkFriendlyName(c.friendlyName);
  if (engine.findWorkerByName(name) !== undefined) {
    reject('duplicate', `Worker named ${name} already exists in workspace ${engine.workspace.sid}`, 'FriendlyName');
  }
  const attributesJson = c.attributes ?? '{}';
  const attributes = parseAttributes(attributesJson);
  const activity = activityOrReject(engine, c.activitySid ?? engine.workspace.defaultActivitySid, 'ActivitySid');
  if (engine.workers.size >= LIMITS.workers) reject('limit_exceeded', `A workspace holds at most ${LIMITS.workers} workers`);
  const w = new WorkerRecord({
    sid: engine.newSid('WK'),
    friendlyName: name,
    attributesJson,
    attributes,
    activitySid: activity.sid,
    activityName: activity.friendlyName,
    activityAvailable: activity.available,
    dateStatusChanged: engine.now,
    dateCreated: engine.now,
    dateUpdated: engine.now,
    version: 0,
    channels: engine.channelList.map((ch) => newWorkerChannel(engine, ch)),
  });
  attachWorker(engine, w);
  emitWorker(engine, 'worker.created', w);
  for (const q of engine.queues.values()) updateMembership(engine, w, q);
  refreshWorker(engine, w);
  return w.sid;
}

/** Wires a worker into the lookup maps (create and restore). */
export function attachWorker(engine: WorkspaceEngine, w: WorkerRecord): void {
  engine.workers.set(w.sid, w);
  engine.workersByName.set(w.friendlyName.toLowerCase(), w);
  w.channelByName = (uniqueName) => {
    const ch = engine.findChannel(uniqueName);
    return ch === undefined ? undefined : w.channels[ch.index];
  };
}

/** updateWorker: name, attributes and activity, each with its event; RejectPendingReservations needs an unavailable activity (spec §2.2). */
export function updateWorker(engine: WorkspaceEngine, c: Extract<Command, { type: 'updateWorker' }>): string {
  const w = workerOrReject(engine, c.workerSid, 'Sid');
  checkVersion(c.ifMatch, w.version, `Worker ${w.sid}`);
  if (c.friendlyName !== undefined) {
    const name = checkFriendlyName(c.friendlyName);
    const other = engine.findWorkerByName(name);
    if (other !== undefined && other !== w) reject('duplicate', `Worker named ${name} already exists in this workspace`, 'FriendlyName');
  }
  const attributes = c.attributes !== undefined ? parseAttributes(c.attributes) : null;
  const activity = c.activitySid !== undefined ? activityOrReject(engine, c.activitySid, 'ActivitySid') : null;
  if (c.rejectPendingReservations === true && (activity === null || activity.available)) {
    reject('invalid_parameter', 'RejectPendingReservations is allowed only with an ActivitySid of an unavailable activity', 'RejectPendingReservations');
  }

  if (c.friendlyName !== undefined && c.friendlyName !== w.friendlyName) {
    engine.workersByName.delete(w.friendlyName.toLowerCase());
    w.friendlyName = c.friendlyName;
    engine.workersByName.set(w.friendlyName.toLowerCase(), w);
    touchWorker(engine, w);
    emitWorker(engine, 'worker.updated', w);
    // TargetWorkers may read friendly_name (spec §3.1), known workers may be named by it.
    for (const q of engine.queues.values()) updateMembership(engine, w, q);
    markDirty(engine, w, -1);
  }
  if (attributes !== null && c.attributes !== undefined) {
    w.attributesJson = c.attributes;
    w.attributes = attributes;
    touchWorker(engine, w);
    emitWorker(engine, 'worker.attributes.update', w);
    for (const q of engine.queues.values()) updateMembership(engine, w, q);
    // Target expressions read attributes too: a matching pass runs on every change (spec §4.4).
    markDirty(engine, w, -1);
  }
  if (activity !== null) {
    setWorkerActivity(engine, w, activity.sid);
    if (c.rejectPendingReservations === true) {
      for (const rsid of [...w.openReservations]) {
        const r = engine.reservations.get(rsid) as ReservationRecord;
        // The worker's requested activity stands: no return to the pre-reservation one.
        if (r.reservationStatus === 'pending') engine.endReservation(r, 'rejected', activity.sid);
      }
    }
  }
  refreshWorker(engine, w);
  return w.sid;
}

/** Bumps the worker's version and dateUpdated (If-Match, spec §1.5). */
function touchWorker(engine: WorkspaceEngine, w: WorkerRecord): void {
  w.version += 1;
  w.dateUpdated = engine.now;
}

/** Moves a worker to an activity and emits worker.activity.update (spec §9.2 worker group). */
export function setWorkerActivity(engine: WorkspaceEngine, w: WorkerRecord, activitySid: string): void {
  const activity = engine.activities.get(activitySid);
  assert(activity !== undefined, `activity ${activitySid} exists`);
  if (activity.sid === w.activitySid) return;
  const previous = { sid: w.activitySid, name: w.activityName, since: w.dateStatusChanged };
  for (const q of w.queueIndexes) {
    q.countActivity(w.activitySid, w.activityAvailable, -1);
    q.countActivity(activity.sid, activity.available, 1);
  }
  w.activitySid = activity.sid;
  w.activityName = activity.friendlyName;
  w.activityAvailable = activity.available;
  w.dateStatusChanged = engine.now;
  touchWorker(engine, w);
  const inPreviousMs = engine.now - previous.since;
  emitWorker(engine, 'worker.activity.update', w, {
    worker_previous_activity_sid: previous.sid,
    worker_previous_activity_name: previous.name,
    worker_time_in_previous_activity: Math.floor(inPreviousMs / 1000),
    worker_time_in_previous_activity_ms: inPreviousMs,
  });
  for (const q of engine.activityQueues) updateMembership(engine, w, q);
  refreshWorker(engine, w);
  // Target expressions may read the activity: a matching pass runs on every change (spec §4.4).
  markDirty(engine, w, -1);
}

/** deleteWorker: refused while it holds an accepted or wrapping reservation; pending ones are canceled and their tasks routed again. */
export function deleteWorker(engine: WorkspaceEngine, c: Extract<Command, { type: 'deleteWorker' }>): string {
  const w = workerOrReject(engine, c.workerSid, 'Sid');
  checkVersion(c.ifMatch, w.version, `Worker ${w.sid}`);
  for (const rsid of w.openReservations) {
    const r = engine.reservations.get(rsid) as ReservationRecord;
    if (r.reservationStatus !== 'pending') {
      reject('in_use', `Worker ${w.friendlyName} has ${r.reservationStatus} reservation ${r.sid}; complete its task first`);
    }
  }
  // Cancel first and route the tasks again only once the worker is gone: routing them now
  // would offer them straight back to this still ready, still member worker.
  const affected: TaskRecord[] = [];
  for (const rsid of [...w.openReservations]) {
    const r = engine.reservations.get(rsid) as ReservationRecord;
    affected.push(r.task);
    engine.endReservation(r, 'canceled', null, false);
  }
  const direct = [...w.directTasks].map((tsid) => engine.tasks.get(tsid) as TaskRecord);
  for (const t of affected) if (t.taskQueueSid === null && t.routingTarget === w.sid) direct.push(t);
  // Oldest first: the set's order (when each task was last listed) is not kept by a restore.
  direct.sort((a, b) => a.dateCreated - b.dateCreated || (a.sid < b.sid ? -1 : 1));
  for (const t of direct) if (isWaiting(t.assignmentStatus)) engine.cancelTask(t, 'Worker deleted');
  for (const q of w.queueIndexes) q.removeMember(w);
  w.queues.clear();
  w.queueIndexes.length = 0;
  for (const ch of w.channels) {
    ch.ready = false;
    ch.stamp += 1;
  }
  engine.workers.delete(w.sid);
  w.deleted = true;
  engine.workersByName.delete(w.friendlyName.toLowerCase());
  emitWorker(engine, 'worker.deleted', w);
  for (const t of affected) engine.resumeRouting(t);
  return w.sid;
}

/** updateWorkerChannel (by worker channel SID or task channel SID/unique name): capacity and availability, each with its event. */
export function updateWorkerChannel(engine: WorkspaceEngine, c: Extract<Command, { type: 'updateWorkerChannel' }>): string {
  const w = workerOrReject(engine, c.workerSid);
  const ch =
    w.channels.find((x) => x.sid === c.workerChannel && !(engine.channelList[x.channelIndex] as TaskChannelRecord).deleted) ??
    (() => {
      const tc = engine.findChannel(c.workerChannel);
      return tc === undefined ? undefined : w.channels[tc.index];
    })() ??
    reject('not_found', `Worker channel ${c.workerChannel} was not found for worker ${w.sid}`, 'Sid');
  if (c.capacity !== undefined) checkInteger(c.capacity, 'Capacity', 0, LIMITS.channelCapacity);
  const tc = engine.channelList[ch.channelIndex] as TaskChannelRecord;
  const extra = (previousCapacity: number): Record<string, EventValue> => ({
    worker_channel_available: ch.available,
    worker_channel_available_capacity: Math.max(0, ch.configuredCapacity - ch.activeTasks),
    worker_channel_previous_capacity: previousCapacity,
    worker_channel_task_count: ch.activeTasks,
    task_channel_sid: tc.sid,
    task_channel_unique_name: tc.uniqueName,
  });
  if (c.capacity !== undefined && c.capacity !== ch.configuredCapacity) {
    const previous = ch.configuredCapacity;
    ch.configuredCapacity = c.capacity;
    ch.dateUpdated = engine.now;
    emitWorker(engine, 'worker.capacity.update', w, extra(previous));
  }
  if (c.available !== undefined && c.available !== ch.available) {
    ch.available = c.available;
    ch.dateUpdated = engine.now;
    emitWorker(engine, 
      'worker.channel.availability.update',
      w,
      extra(ch.configuredCapacity),
    );
  }
  refreshWorker(engine, w);
  return ch.sid;
}
