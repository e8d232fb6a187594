/**
 * The reservation lifecycle (spec §6): a reservation is created pending for one worker, then
 * accepted (the task is assigned), or ends unaccepted — rejected, timeout, canceled or
 * rescinded. Accepted reservations wrap up and complete with their task (task-lifecycle.ts).
 * Each transition updates the worker channel's counts, moves the worker to the activity its
 * queue or the reservation asks for, emits its `reservation.*` event and refreshes the worker's
 * readiness; matching runs when routing settles (offers.ts). Instants are epoch ms.
 *
 * Where a task goes after a reservation ended unaccepted is workflow routing's business
 * (`resumeRouting` in workflow-routing.ts): the callers that continue routing call it.
 */
import { assert } from '../util/assert.ts';
import { LIMITS } from './limits.ts';
import type { ReservationRecord, ReservationStatus, TaskChannelRecord, TaskRecord, WorkerChannelRecord, WorkerRecord } from './model.ts';
import { emitReservation } from './event-data.ts';
import { hasOpenSlot, markDirty, refreshWorker, unlist } from './matching.ts';
import type { EngineState } from './state.ts';
import { openReservationsOf, setStatusTimer, touchTask } from './task-records.ts';
import { setWorkerActivity } from './worker-records.ts';

/**
 * Offers the task to worker `w`: a pending reservation timing out after the workflow's
 * TaskReservationTimeout (spec §4.3), the task `reserved` if it was pending, the worker moved to
 * its queue's ReservationActivity if it has one (spec §3.1). The task leaves the indexes once it
 * has no open slot left. The caller has checked that `w` may take it.
 */
export function createReservation(state: EngineState, task: TaskRecord, w: WorkerRecord): void {
  const channel = state.channels.get(task.taskChannelSid) as TaskChannelRecord;
  const ch = w.channels[channel.index] as WorkerChannelRecord;
  const workflow = task.workflowSid === null ? undefined : state.workflows.get(task.workflowSid);
  const timeoutS = workflow?.taskReservationTimeoutS ?? LIMITS.defaultReservationTimeoutS;
  const r: ReservationRecord = {
    sid: state.newSid('WR'),
    taskSid: task.sid,
    workerSid: w.sid,
    reservationStatus: 'pending',
    taskQueueSid: task.taskQueueSid,
    workflowSid: task.workflowSid,
    taskChannelSid: channel.sid,
    dateCreated: state.now,
    dateUpdated: state.now,
    timeoutAt: state.now + timeoutS * 1000,
    previousActivitySid: null,
    timer: null,
    worker: w,
    workerChannel: ch,
    task,
  };
  state.reservations.set(r.sid, r);
  // The first SID gets an array of its own size: a push onto the empty array would allocate
  // room for 16, kept for as long as the task (most tasks have one reservation).
  if (task.reservationSids.length === 0) task.reservationSids = [r.sid];
  else task.reservationSids.push(r.sid);
  task.lastReservation = r;
  task.pendingReservations += 1;
  if (task.assignmentStatus === 'pending') {
    task.assignmentStatus = 'reserved';
    task.reservationCycles += 1;
    touchTask(state, task);
  }
  w.openReservations.add(r.sid);
  ch.activeTasks += 1;
  ch.lastReservedAt = state.now;
  emitReservation(state, 'reservation.created', r, task, w);
  r.timer = state.timers.schedule(r.timeoutAt, 'reservationTimeout', r.sid, r);
  const q = task.taskQueueSid === null ? undefined : state.queues.get(task.taskQueueSid);
  const reservationActivity = q?.record.reservationActivitySid ?? null;
  if (reservationActivity !== null && reservationActivity !== w.activitySid) {
    r.previousActivitySid = w.activitySid;
    setWorkerActivity(state, w, reservationActivity);
  }
  refreshWorker(state, w, channel.index, channel.index);
  if (!hasOpenSlot(state, task)) unlist(state, task);
}

/**
 * Accepts a pending reservation (spec §6): the task becomes `assigned`, its other pending
 * reservations are rescinded, the worker moves to the queue's AssignmentActivity if it has one,
 * and the task's 24-hour assignment limit starts.
 */
export function acceptReservation(state: EngineState, r: ReservationRecord, task: TaskRecord): void {
  const w = r.worker as WorkerRecord;
  unlist(state, task);
  stopReservationTimer(state, r);
  r.reservationStatus = 'accepted';
  r.dateUpdated = state.now;
  task.pendingReservations -= 1;
  (r.workerChannel as WorkerChannelRecord).assignedTasks += 1;
  task.assignmentStatus = 'assigned';
  task.statusChangedAt = state.now;
  touchTask(state, task);
  emitReservation(state, 'reservation.accepted', r, task, w);
  if (state.channelReadingTasks > 0) markDirty(state, w, -1);
  if (task.pendingReservations > 0) {
    for (const other of openReservationsOf(state, task)) {
      if (other.reservationStatus === 'pending') endReservation(state, other, 'rescinded', null);
    }
  }
  const q = r.taskQueueSid === null ? undefined : state.queues.get(r.taskQueueSid);
  const assignmentActivity = q?.record.assignmentActivitySid ?? null;
  if (assignmentActivity !== null) setWorkerActivity(state, w, assignmentActivity);
  setStatusTimer(state, task, state.now + LIMITS.assignedRetentionMs, 'assignedLimit');
}

/**
 * Cancels the timeout of a reservation that stops being pending: it could never fire again
 * (a reservation does not return to pending), and most reservations are accepted long before
 * their timeout, which would otherwise stay queued until then.
 */
export function stopReservationTimer(state: EngineState, r: ReservationRecord): void {
  if (r.timer === null) return;
  state.timers.cancel(r.timer);
  r.timer = null;
}

/**
 * Ends a pending reservation unaccepted (spec §6): rejected, timeout, canceled or rescinded.
 * Moves the worker as the spec says: to the workspace's TimeoutActivity on a timeout, to
 * `activitySid` when one is given (a rejection's WorkerActivitySid), else back from the queue's
 * ReservationActivity to the activity it had before. The task stays where it is: a caller that
 * continues routing calls `resumeRouting` (workflow-routing.ts) afterwards (spec §4.4).
 * Throws (assert) if the reservation is not pending.
 */
export function endReservation(
  state: EngineState,
  r: ReservationRecord,
  status: Extract<ReservationStatus, 'rejected' | 'timeout' | 'canceled' | 'rescinded'>,
  activitySid: string | null,
): void {
  assert(r.reservationStatus === 'pending', `end ${r.reservationStatus} reservation`);
  const task = r.task;
  const w = r.worker as WorkerRecord;
  stopReservationTimer(state, r);
  r.reservationStatus = status;
  r.dateUpdated = state.now;
  task.pendingReservations -= 1;
  w.openReservations.delete(r.sid);
  (r.workerChannel as WorkerChannelRecord).activeTasks -= 1;
  emitReservation(state, `reservation.${status}`, r, task, w);
  if (status === 'timeout') {
    setWorkerActivity(state, w, state.workspace.timeoutActivitySid);
  } else if (activitySid !== null) {
    setWorkerActivity(state, w, activitySid);
  } else if (r.previousActivitySid !== null && state.activities.has(r.previousActivitySid)) {
    const q = r.taskQueueSid === null ? undefined : state.queues.get(r.taskQueueSid);
    if (q === undefined || w.activitySid === q.record.reservationActivitySid) setWorkerActivity(state, w, r.previousActivitySid);
  }
  refreshWorker(state, w);
}

/** Frees the worker capacity an open reservation holds (its status is set by the caller). */
export function releaseReservation(state: EngineState, r: ReservationRecord): void {
  const w = r.worker;
  if (w === null || !w.openReservations.delete(r.sid)) return;
  const ch = r.workerChannel as WorkerChannelRecord;
  ch.activeTasks -= 1;
  if (r.reservationStatus === 'accepted' || r.reservationStatus === 'wrapping') ch.assignedTasks -= 1;
  refreshWorker(state, w, -1, ch.channelIndex);
}
