/**
 * Worker commands (spec §2): create, update, delete a worker and update its channels; what
 * they share with reservations and restore (moving a worker to an activity, new channel slots)
 * is worker-records.ts. Each command checks its input before changing anything, then brings
 * queue membership and readiness up to date (matching runs when routing settles). Times are the
 * engine's clock, epoch ms.
 */
import { LIMITS } from './limits.ts';
import { isWaiting, WorkerRecord, type ReservationRecord, type TaskChannelRecord, type TaskRecord } from './model.ts';
import { reject } from './rejections.ts';
import type { Command } from './commands.ts';
import type { EventValue } from './events.ts';
import { emitWorker } from './event-data.ts';
import { markDirty, refreshWorker, updateMembership } from './matching.ts';
import { endReservation } from './reservation-lifecycle.ts';
import { findChannel, findWorkerByName, type EngineState } from './state.ts';
import { cancelTask } from './task-lifecycle.ts';
import { activityOrReject, checkFriendlyName, checkInteger, checkVersion, parseAttributes, workerOrReject } from './validation.ts';
import { resumeRouting } from './workflow-routing.ts';
import { attachWorker, newWorkerChannel, setWorkerActivity, touchWorker } from './worker-records.ts';

/** createWorker: unique FriendlyName (case-insensitive), attributes JSON, activity (default: the workspace's). */
export function createWorker(state: EngineState, c: Extract<Command, { type: 'createWorker' }>): string {
  const name = checkFriendlyName(c.friendlyName);
  if (findWorkerByName(state, name) !== undefined) {
    reject('duplicate', `Worker named ${name} already exists in workspace ${state.workspace.sid}`, 'FriendlyName');
  }
  const attributesJson = c.attributes ?? '{}';
  const attributes = parseAttributes(attributesJson);
  const activity = activityOrReject(state, c.activitySid ?? state.workspace.defaultActivitySid, 'ActivitySid');
  if (state.workers.size >= LIMITS.workers) reject('limit_exceeded', `A workspace holds at most ${LIMITS.workers} workers`);
  const w = new WorkerRecord({
    sid: state.newSid('WK'),
    friendlyName: name,
    attributesJson,
    attributes,
    activitySid: activity.sid,
    activityName: activity.friendlyName,
    activityAvailable: activity.available,
    dateStatusChanged: state.now,
    dateCreated: state.now,
    dateUpdated: state.now,
    version: 0,
    channels: state.channelList.map((ch) => newWorkerChannel(state, ch)),
  });
  attachWorker(state, w);
  emitWorker(state, 'worker.created', w);
  for (const q of state.queues.values()) updateMembership(state, w, q);
  refreshWorker(state, w);
  return w.sid;
}

/** updateWorker: name, attributes and activity, each with its event; RejectPendingReservations needs an unavailable activity (spec §2.2). */
export function updateWorker(state: EngineState, c: Extract<Command, { type: 'updateWorker' }>): string {
  const w = workerOrReject(state, c.workerSid, 'Sid');
  checkVersion(c.ifMatch, w.version, `Worker ${w.sid}`);
  if (c.friendlyName !== undefined) {
    const name = checkFriendlyName(c.friendlyName);
    const other = findWorkerByName(state, name);
    if (other !== undefined && other !== w) reject('duplicate', `Worker named ${name} already exists in this workspace`, 'FriendlyName');
  }
  const attributes = c.attributes !== undefined ? parseAttributes(c.attributes) : null;
  const activity = c.activitySid !== undefined ? activityOrReject(state, c.activitySid, 'ActivitySid') : null;
  if (c.rejectPendingReservations === true && (activity === null || activity.available)) {
    reject('invalid_parameter', 'RejectPendingReservations is allowed only with an ActivitySid of an unavailable activity', 'RejectPendingReservations');
  }

  if (c.friendlyName !== undefined && c.friendlyName !== w.friendlyName) {
    state.workersByName.delete(w.friendlyName.toLowerCase());
    w.friendlyName = c.friendlyName;
    state.workersByName.set(w.friendlyName.toLowerCase(), w);
    touchWorker(state, w);
    emitWorker(state, 'worker.updated', w);
    // TargetWorkers may read friendly_name (spec §3.1), known workers may be named by it.
    for (const q of state.queues.values()) updateMembership(state, w, q);
    markDirty(state, w, -1);
  }
  if (attributes !== null && c.attributes !== undefined) {
    w.attributesJson = c.attributes;
    w.attributes = attributes;
    touchWorker(state, w);
    emitWorker(state, 'worker.attributes.update', w);
    for (const q of state.queues.values()) updateMembership(state, w, q);
    // Target expressions read attributes too: a matching pass runs on every change (spec §4.4).
    markDirty(state, w, -1);
  }
  if (activity !== null) {
    setWorkerActivity(state, w, activity.sid);
    if (c.rejectPendingReservations === true) {
      for (const rsid of [...w.openReservations]) {
        const r = state.reservations.get(rsid) as ReservationRecord;
        // The worker's requested activity stands: no return to the pre-reservation one.
        if (r.reservationStatus === 'pending') {
          endReservation(state, r, 'rejected', activity.sid);
          resumeRouting(state, r.task);
        }
      }
    }
  }
  refreshWorker(state, w);
  return w.sid;
}

/** deleteWorker: refused while it holds an accepted or wrapping reservation; pending ones are canceled and their tasks routed again. */
export function deleteWorker(state: EngineState, c: Extract<Command, { type: 'deleteWorker' }>): string {
  const w = workerOrReject(state, c.workerSid, 'Sid');
  checkVersion(c.ifMatch, w.version, `Worker ${w.sid}`);
  for (const rsid of w.openReservations) {
    const r = state.reservations.get(rsid) as ReservationRecord;
    if (r.reservationStatus !== 'pending') {
      reject('in_use', `Worker ${w.friendlyName} has ${r.reservationStatus} reservation ${r.sid}; complete its task first`);
    }
  }
  // Cancel first and route the tasks again only once the worker is gone: routing them now
  // would offer them straight back to this still ready, still member worker.
  const affected: TaskRecord[] = [];
  for (const rsid of [...w.openReservations]) {
    const r = state.reservations.get(rsid) as ReservationRecord;
    affected.push(r.task);
    endReservation(state, r, 'canceled', null);
  }
  const direct = [...w.directTasks].map((tsid) => state.tasks.get(tsid) as TaskRecord);
  for (const t of affected) if (t.taskQueueSid === null && t.routingTarget === w.sid) direct.push(t);
  // Oldest first: the set's order (when each task was last listed) is not kept by a restore.
  direct.sort((a, b) => a.dateCreated - b.dateCreated || (a.sid < b.sid ? -1 : 1));
  for (const t of direct) if (isWaiting(t.assignmentStatus)) cancelTask(state, t, 'Worker deleted');
  for (const q of w.queueIndexes) q.removeMember(w);
  w.queues.clear();
  w.queueIndexes.length = 0;
  for (const ch of w.channels) {
    ch.ready = false;
    ch.stamp += 1;
  }
  state.workers.delete(w.sid);
  w.deleted = true;
  state.workersByName.delete(w.friendlyName.toLowerCase());
  emitWorker(state, 'worker.deleted', w);
  for (const t of affected) resumeRouting(state, t);
  return w.sid;
}

/** updateWorkerChannel (by worker channel SID or task channel SID/unique name): capacity and availability, each with its event. */
export function updateWorkerChannel(state: EngineState, c: Extract<Command, { type: 'updateWorkerChannel' }>): string {
  const w = workerOrReject(state, c.workerSid);
  const ch =
    w.channels.find((x) => x.sid === c.workerChannel && !(state.channelList[x.channelIndex] as TaskChannelRecord).deleted) ??
    (() => {
      const tc = findChannel(state, c.workerChannel);
      return tc === undefined ? undefined : w.channels[tc.index];
    })() ??
    reject('not_found', `Worker channel ${c.workerChannel} was not found for worker ${w.sid}`, 'Sid');
  if (c.capacity !== undefined) checkInteger(c.capacity, 'Capacity', 0, LIMITS.channelCapacity);
  const tc = state.channelList[ch.channelIndex] as TaskChannelRecord;
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
    ch.dateUpdated = state.now;
    emitWorker(state, 'worker.capacity.update', w, extra(previous));
  }
  if (c.available !== undefined && c.available !== ch.available) {
    ch.available = c.available;
    ch.dateUpdated = state.now;
    emitWorker(state, 
      'worker.channel.availability.update',
      w,
      extra(ch.configuredCapacity),
    );
  }
  refreshWorker(state, w);
  return ch.sid;
}
