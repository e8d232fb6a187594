/**
 * The task lifecycle's endings (spec §5.2): a waiting task is canceled, an assigned one wraps up
 * and completes, and a task is removed from the state (deleted, or purged five minutes after it
 * ended, or 24 hours after it was assigned). Reservations are ended or released on the way
 * (reservation-lifecycle.ts). The commands that lead here are in task-commands.ts and
 * reservation-commands.ts, the timers in execute.ts. Instants are epoch ms.
 */
import { assert } from '../util/assert.ts';
import { LIMITS } from './limits.ts';
import { isOpen, isTerminal, isWaiting, type ReservationRecord, type TaskRecord, type WorkerRecord } from './model.ts';
import { emitReservation, emitTask } from './event-data.ts';
import { unlist } from './matching.ts';
import { endReservation, releaseReservation, stopReservationTimer } from './reservation-lifecycle.ts';
import type { EngineState } from './state.ts';
import { leaveQueue, openReservationsOf, setStatusTimer, touchTask } from './task-records.ts';
import { forgetTransfers } from './transfer-index.ts';

/**
 * Ends a waiting task as canceled with `reason` (spec §5.2): its open reservations are canceled
 * first, it leaves its queue, and its purge is scheduled. Throws (assert) unless it is pending
 * or reserved.
 */
export function cancelTask(state: EngineState, task: TaskRecord, reason: string | null): void {
  assert(isWaiting(task.assignmentStatus), `cancel from ${task.assignmentStatus}`);
  unlist(state, task);
  for (const r of openReservationsOf(state, task)) endReservation(state, r, 'canceled', null);
  task.assignmentStatus = 'canceled';
  task.reason = reason;
  task.statusChangedAt = state.now;
  touchTask(state, task);
  emitTask(state, 'task.canceled', task);
  leaveQueue(task);
  setStatusTimer(state, task, state.now + LIMITS.terminalRetentionMs, 'purge');
}

/** The task's accepted or wrapping reservation; throws if an assigned or wrapping task has none (a bug). */
function acceptedReservation(state: EngineState, task: TaskRecord): ReservationRecord {
  // The last reservation first, without a look-up: usually the only one.
  const last = task.lastReservation;
  if (last !== null && (last.reservationStatus === 'accepted' || last.reservationStatus === 'wrapping')) return last;
  for (let i = task.reservationSids.length - 2; i >= 0; i--) {
    const r = state.reservations.get(task.reservationSids[i] as string);
    if (r !== undefined && (r.reservationStatus === 'accepted' || r.reservationStatus === 'wrapping')) return r;
  }
  throw new Error(`task ${task.sid} is ${task.assignmentStatus} without an accepted reservation`);
}

/** Moves an assigned task and its accepted reservation to `wrapping` (spec §5.2). */
export function wrapTask(state: EngineState, task: TaskRecord): void {
  const r = acceptedReservation(state, task);
  task.assignmentStatus = 'wrapping';
  touchTask(state, task);
  r.reservationStatus = 'wrapping';
  r.dateUpdated = state.now;
  emitTask(state, 'task.wrapup', task);
  emitReservation(state, 'reservation.wrapup', r, task, r.worker as WorkerRecord);
}

/**
 * Completes an assigned or wrapping task with `reason` (spec §5.2): its reservation completes
 * and frees the worker's capacity, the task leaves its queue, and its purge is scheduled.
 */
export function completeTask(state: EngineState, task: TaskRecord, reason: string | null): void {
  const r = acceptedReservation(state, task);
  const w = r.worker as WorkerRecord;
  task.assignmentStatus = 'completed';
  task.reason = reason;
  task.statusChangedAt = state.now;
  touchTask(state, task);
  releaseReservation(state, r);
  r.reservationStatus = 'completed';
  r.dateUpdated = state.now;
  emitTask(state, 'task.completed', task);
  emitReservation(state, 'reservation.completed', r, task, w);
  leaveQueue(task);
  setStatusTimer(state, task, state.now + LIMITS.terminalRetentionMs, 'purge');
}

/** Drops a task and its reservations from the state (delete, purge); open reservations free their capacity. */
export function removeTask(state: EngineState, task: TaskRecord): void {
  unlist(state, task);
  // A terminal task left its queue when it ended (cancelTask, completeTask).
  if (!isTerminal(task.assignmentStatus)) leaveQueue(task);
  // A terminal task holds no open reservation (completing releases the accepted one, and only a
  // task without one can be canceled): its reservations need no look-up before they go.
  const terminal = isTerminal(task.assignmentStatus);
  for (const rsid of task.reservationSids) {
    const r = terminal ? undefined : state.reservations.get(rsid);
    if (r !== undefined && isOpen(r.reservationStatus)) {
      stopReservationTimer(state, r);
      releaseReservation(state, r);
    }
    state.reservations.delete(rsid);
  }
  if (task.statusTimer !== null) state.timers.cancel(task.statusTimer);
  task.statusTimer = null;
  state.tasks.delete(task.sid);
  forgetTransfers(state.transfers, state.tasks, task.sid);
}
