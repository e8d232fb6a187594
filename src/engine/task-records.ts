/**
 * Bookkeeping on task records shared by the task and reservation lifecycles, workflow routing
 * and restore: the version bump of every change, the one status timer a task holds, leaving
 * its queue's task list, and its open reservations. Instants are epoch ms.
 */
import { isOpen, type ReservationRecord, type TaskRecord } from './model.ts';
import type { EngineState } from './state.ts';

/** Bumps the task's version (ETag, If-Match; spec §1.5) and sets dateUpdated to now. */
export function touchTask(state: EngineState, task: TaskRecord): void {
  task.version += 1;
  task.dateUpdated = state.now;
}

/** When the task's TTL runs out (spec §5.1 Timeout, seconds from creation), epoch ms. */
export function ttlAt(task: TaskRecord): number {
  return task.dateCreated + task.timeoutS * 1000;
}

/**
 * Schedules the timer of the task's (new) status at `at` (epoch ms) and cancels the previous
 * one, which can no longer fire: a task never returns to a status it left. Lazy cancellation
 * would keep the one-day TTL and assignment limit of every task, almost never due, queued for a
 * compaction.
 */
export function setStatusTimer(state: EngineState, task: TaskRecord, at: number, kind: 'taskTtl' | 'assignedLimit' | 'purge'): void {
  task.statusTimer = task.statusTimer === null ? state.timers.schedule(at, kind, task.sid, task) : state.timers.reschedule(task.statusTimer, at, kind);
}

/** Takes the task out of its queue's task list, if it is in one. */
export function leaveQueue(task: TaskRecord): void {
  // The list it is in is that of its queue (taskQueueSid): no look-up of the queue by SID.
  task.queueList?.delete(task);
}

/** The task's pending, accepted and wrapping reservations, oldest first (a copy of the SIDs is walked, so ending one is safe). */
export function* openReservationsOf(state: EngineState, task: TaskRecord): Generator<ReservationRecord> {
  for (const rsid of [...task.reservationSids]) {
    const r = state.reservations.get(rsid);
    if (r !== undefined && isOpen(r.reservationStatus)) yield r;
  }
}
