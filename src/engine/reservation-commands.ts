/**
 * Reservation commands (spec §6): accept, reject, wrap up or complete a reservation
 * (updateReservation), and offer a task to a chosen worker (offerTask, the shadow-replay
 * extension). Each checks its input before it changes anything; the transitions themselves are
 * reservation-lifecycle.ts and task-lifecycle.ts.
 */
import type { Command } from './commands.ts';
import { isWaiting } from './model.ts';
import { hasPendingReservationFor, unlist } from './matching.ts';
import { reject } from './rejections.ts';
import { acceptReservation, createReservation, endReservation } from './reservation-lifecycle.ts';
import type { EngineState } from './state.ts';
import { completeTask, wrapTask } from './task-lifecycle.ts';
import { activityOrReject, checkVersion, taskOrReject, workerOrReject } from './validation.ts';
import { resumeRouting } from './workflow-routing.ts';

/**
 * updateReservation: ReservationStatus accepted or rejected (from pending; a rejection may move
 * the worker to WorkerActivitySid, and the task is routed on, spec §4.4), wrapping (from
 * accepted) or completed (from accepted or wrapping). Returns the reservation's SID.
 */
export function updateReservation(state: EngineState, c: Extract<Command, { type: 'updateReservation' }>): string {
  const r = state.reservations.get(c.reservationSid);
  if (r === undefined || (c.taskSid !== undefined && r.taskSid !== c.taskSid) || (c.workerSid !== undefined && r.workerSid !== c.workerSid)) {
    reject('not_found', `Reservation ${c.reservationSid} was not found`, 'ReservationSid');
  }
  const task = r.task;
  checkVersion(c.ifMatch, task.version, `Task ${task.sid}`);
  const status = r.reservationStatus;
  switch (c.reservationStatus) {
    case 'accepted':
    case 'rejected': {
      if (status !== 'pending') {
        reject('reservation_not_pending', `Reservation ${r.sid} is ${status}, not pending, so it can no longer be ${c.reservationStatus}`, 'ReservationStatus');
      }
      if (c.reservationStatus === 'accepted') {
        acceptReservation(state, r, task);
      } else {
        const activity = c.workerActivitySid !== undefined ? activityOrReject(state, c.workerActivitySid, 'WorkerActivitySid').sid : null;
        endReservation(state, r, 'rejected', activity);
        resumeRouting(state, task);
      }
      return r.sid;
    }
    case 'wrapping':
      if (status !== 'accepted') reject('invalid_state', `Reservation ${r.sid} is ${status}; only an accepted reservation can wrap up`, 'ReservationStatus');
      wrapTask(state, task);
      return r.sid;
    case 'completed':
      if (status !== 'accepted' && status !== 'wrapping') {
        reject('invalid_state', `Reservation ${r.sid} is ${status}; only an accepted or wrapping reservation can complete`, 'ReservationStatus');
      }
      completeTask(state, task, null);
      return r.sid;
    default:
      reject('invalid_parameter', `ReservationStatus must be accepted, rejected, wrapping or completed`, 'ReservationStatus');
  }
}

/**
 * timeoutReservation (extension): ends a pending reservation as `timeout`, exactly as its timer
 * would (worker to the TimeoutActivity, task routed on). Returns the reservation's SID; refused
 * (`reservation_not_pending`) unless the reservation is pending.
 */
export function timeoutReservation(state: EngineState, c: Extract<Command, { type: 'timeoutReservation' }>): string {
  const r = state.reservations.get(c.reservationSid);
  if (r === undefined) reject('not_found', `Reservation ${c.reservationSid} was not found`, 'ReservationSid');
  if (r.reservationStatus !== 'pending') {
    reject('reservation_not_pending', `Reservation ${r.sid} is ${r.reservationStatus}, not pending, so it cannot time out`, 'ReservationSid');
  }
  endReservation(state, r, 'timeout', null);
  resumeRouting(state, r.task);
  return r.sid;
}

/**
 * offerTask (extension, shadow replay): a pending reservation of a waiting task for the named
 * worker, regardless of activity and capacity. Returns the new reservation's SID.
 */
export function offerTask(state: EngineState, c: Extract<Command, { type: 'offerTask' }>): string {
  const task = taskOrReject(state, c.taskSid);
  const w = workerOrReject(state, c.workerSid);
  if (!isWaiting(task.assignmentStatus)) {
    reject('invalid_state', `Task ${task.sid} is ${task.assignmentStatus}; only a pending or reserved task can be offered`, 'TaskSid');
  }
  if (hasPendingReservationFor(state, task, w)) reject('invalid_state', `Worker ${w.friendlyName} already holds a pending reservation for task ${task.sid}`, 'WorkerSid');
  unlist(state, task);
  createReservation(state, task, w);
  return task.reservationSids[task.reservationSids.length - 1] as string;
}
