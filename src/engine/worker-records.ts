/**
 * Bookkeeping on worker records shared by the worker commands, the reservation lifecycle and
 * restore: a new channel slot, wiring a worker into the look-ups, the version bump of every
 * change, and moving a worker to another activity (which reservations also do, spec §6).
 * Instants are epoch ms.
 */
import { assert } from '../util/assert.ts';
import { WorkerChannelRecord, type TaskChannelRecord, type WorkerRecord } from './model.ts';
import { emitWorker } from './event-data.ts';
import { markDirty, refreshWorker, updateMembership } from './matching.ts';
import { findChannel, type EngineState } from './state.ts';

/** A worker's slot on a task channel: capacity 1, available (spec §2.3 defaults). */
export function newWorkerChannel(state: EngineState, ch: TaskChannelRecord): WorkerChannelRecord {
  return new WorkerChannelRecord({
    sid: state.newSid('WC'),
    taskChannelSid: ch.sid,
    channelIndex: ch.index,
    configuredCapacity: 1,
    available: true,
    dateCreated: state.now,
    dateUpdated: state.now,
    lastReservedAt: null,
  });
}

/** Wires a worker into the look-ups by SID and by name, and its channels by unique name (create and restore). */
export function attachWorker(state: EngineState, w: WorkerRecord): void {
  state.workers.set(w.sid, w);
  state.workersByName.set(w.friendlyName.toLowerCase(), w);
  w.channelByName = (uniqueName) => {
    const ch = findChannel(state, uniqueName);
    return ch === undefined ? undefined : w.channels[ch.index];
  };
}

/** Bumps the worker's version and dateUpdated (If-Match, spec §1.5). */
export function touchWorker(state: EngineState, w: WorkerRecord): void {
  w.version += 1;
  w.dateUpdated = state.now;
}

/**
 * Moves a worker to an activity and emits worker.activity.update (spec §9.2 worker group), then
 * brings queue membership and readiness up to date. No-op when the worker already holds it.
 * Throws (assert) for an activity that does not exist: callers check references first.
 */
export function setWorkerActivity(state: EngineState, w: WorkerRecord, activitySid: string): void {
  const activity = state.activities.get(activitySid);
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
  w.dateStatusChanged = state.now;
  touchWorker(state, w);
  const inPreviousMs = state.now - previous.since;
  emitWorker(state, 'worker.activity.update', w, {
    worker_previous_activity_sid: previous.sid,
    worker_previous_activity_name: previous.name,
    worker_time_in_previous_activity: Math.floor(inPreviousMs / 1000),
    worker_time_in_previous_activity_ms: inPreviousMs,
  });
  for (const q of state.activityQueues) updateMembership(state, w, q);
  refreshWorker(state, w);
  // Target expressions may read the activity: a matching pass runs on every change (spec §4.4).
  markDirty(state, w, -1);
}
