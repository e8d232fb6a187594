/**
 * Driving an engine state: {@link executeCommand} fires every timer due up to the command's
 * instant, applies the command, then settles routing (every ready worker that can take a waiting
 * task gets a reservation), and returns the events in emission order. A refused command comes
 * back as a rejection and changes nothing: every command checks its input before it changes
 * anything (DESIGN.md rule 4). Timers are data (timers.ts); firing one is a transition of the
 * task or reservation that owns it. Instants are epoch ms.
 */
import { assert } from '../util/assert.ts';
import type { Command } from './commands.ts';
import type { EngineEvent } from './events.ts';
import { emitTask } from './event-data.ts';
import { isWaiting, type ReservationRecord, type TaskRecord } from './model.ts';
import { unlist } from './matching.ts';
import { settle } from './offers.ts';
import { RejectionError, type Rejection } from './rejections.ts';
import { endReservation } from './reservation-lifecycle.ts';
import type { EngineState } from './state.ts';
import { cancelTask, removeTask } from './task-lifecycle.ts';
import type { Timer } from './timers.ts';
import {
  createActivity,
  createTaskChannel,
  createTaskQueue,
  createWorkflow,
  deleteActivity,
  deleteTaskChannel,
  deleteTaskQueue,
  deleteWorkflow,
  updateActivity,
  updateTaskChannel,
  updateTaskQueue,
  updateWorkflow,
  updateWorkspace,
} from './config-commands.ts';
import { offerTask, timeoutReservation, updateReservation } from './reservation-commands.ts';
import { createTask, deleteTask, updateTask } from './task-commands.ts';
import { followTransfers, transferTask, updateTransfer } from './transfers.ts';
import { advance, resumeRouting } from './workflow-routing.ts';
import { createWorker, deleteWorker, updateWorker, updateWorkerChannel } from './worker-commands.ts';

/** What one `execute` or `advanceTo` call produced. */
export interface Outcome {
  /** Events in emission order, timers' events first. */
  events: EngineEvent[];
  /** Set when the command was refused; the command then changed nothing. */
  rejection: Rejection | null;
  /** SID of the resource the command created or addressed, when it has one. */
  sid: string | null;
}

/**
 * Fires every timer due at or before `command.at` (epoch ms), then executes the command and
 * settles routing. Never throws for bad input: a refusal comes back as `outcome.rejection` and
 * changes nothing. Throws only on a bug (a failed assertion).
 */
export function executeCommand(state: EngineState, command: Command): Outcome {
  fireTimersUntil(state, command.at);
  let sid: string | null;
  const from = state.events.length;
  try {
    sid = apply(state, command);
    followTransfers(state, from);
  } catch (error) {
    if (error instanceof RejectionError) return { events: takeEvents(state), rejection: error.rejection, sid: null };
    throw error;
  }
  settle(state);
  return { events: takeEvents(state), rejection: null, sid };
}

/**
 * Runs a command that must succeed (seeding, templates) and settles routing; the events stay in
 * `state.events`. Returns the SID the command created; a rejection here is a bug and throws.
 */
export function runCommand(state: EngineState, command: Command): string {
  const sid = apply(state, command);
  settle(state);
  assert(sid !== null, `${command.type} returned no SID`);
  return sid;
}

/** The events emitted since they were last taken, in order; the state's list starts empty again. */
export function takeEvents(state: EngineState): EngineEvent[] {
  const out = state.events;
  state.events = [];
  return out;
}

/**
 * Fires the due timers in order of due time, settling routing after each, and moves the clock to
 * `at` (never back). Compacts the timer queue once it holds far more entries than could be live.
 */
function fireTimersUntil(state: EngineState, at: number): void {
  if (at > state.now) {
    let timer: Timer | undefined;
    while ((timer = state.timers.popDue(at)) !== undefined) {
      state.now = Math.max(state.now, timer.at);
      const from = state.events.length;
      fire(state, timer);
      followTransfers(state, from);
      settle(state);
    }
    state.now = at;
  }
  const liveBound = 3 * state.tasks.size + state.reservations.size;
  if (state.timers.size > 2 * liveBound + 1024) state.timers.compact((t) => isTimerLive(state, t));
}

/** Applies one command to the state; returns the SID it created or addressed. Throws a RejectionError when refused. */
function apply(state: EngineState, command: Command): string | null {
  switch (command.type) {
    case 'tick':
      return null;
    case 'updateWorkspace':
      return updateWorkspace(state, command);
    case 'createActivity':
      return createActivity(state, command);
    case 'updateActivity':
      return updateActivity(state, command);
    case 'deleteActivity':
      return deleteActivity(state, command);
    case 'createTaskChannel':
      return createTaskChannel(state, command);
    case 'updateTaskChannel':
      return updateTaskChannel(state, command);
    case 'deleteTaskChannel':
      return deleteTaskChannel(state, command);
    case 'createTaskQueue':
      return createTaskQueue(state, command);
    case 'updateTaskQueue':
      return updateTaskQueue(state, command);
    case 'deleteTaskQueue':
      return deleteTaskQueue(state, command);
    case 'createWorkflow':
      return createWorkflow(state, command);
    case 'updateWorkflow':
      return updateWorkflow(state, command);
    case 'deleteWorkflow':
      return deleteWorkflow(state, command);
    case 'createWorker':
      return createWorker(state, command);
    case 'updateWorker':
      return updateWorker(state, command);
    case 'deleteWorker':
      return deleteWorker(state, command);
    case 'updateWorkerChannel':
      return updateWorkerChannel(state, command);
    case 'createTask':
      return createTask(state, command);
    case 'updateTask':
      return updateTask(state, command);
    case 'deleteTask':
      return deleteTask(state, command);
    case 'updateReservation':
      return updateReservation(state, command);
    case 'offerTask':
      return offerTask(state, command);
    case 'timeoutReservation':
      return timeoutReservation(state, command);
    case 'transferTask':
      return transferTask(state, command);
    case 'updateTransfer':
      return updateTransfer(state, command);
  }
}

/**
 * Can this timer still act? A reservation's timeout and a task's status timer are live while
 * their record still holds them (they are dropped from the record when they stop mattering,
 * and when the record is removed); a step deadline while the task waits in that step.
 */
function isTimerLive(state: EngineState, t: Timer): boolean {
  switch (t.kind) {
    case 'reservationTimeout':
      return (t.owner as ReservationRecord).timer === t;
    case 'stepTimeout': {
      const task = t.owner as TaskRecord;
      return state.tasks.get(t.sid) === task && isWaiting(task.assignmentStatus) && task.routing.stepDeadlineAt === t.at && !task.routing.stepExpired;
    }
    case 'taskTtl':
    case 'assignedLimit':
    case 'purge':
      return (t.owner as TaskRecord).statusTimer === t;
  }
}

/** Acts on a due timer, if it is still live: reservation timeout, step timeout (spec §4.2), TTL (spec §5.1), assignment limit or purge. */
function fire(state: EngineState, t: Timer): void {
  if (!isTimerLive(state, t)) return;
  switch (t.kind) {
    case 'reservationTimeout': {
      const r = t.owner as ReservationRecord;
      endReservation(state, r, 'timeout', null);
      resumeRouting(state, r.task);
      return;
    }
    case 'stepTimeout': {
      const task = t.owner as TaskRecord;
      if (task.pendingReservations > 0) {
        // Acted on once the reservations end unaccepted (spec §5.2).
        task.routing.stepExpired = true;
        unlist(state, task);
      } else {
        advance(state, task, 'timeout');
      }
      return;
    }
    case 'taskTtl': {
      const task = t.owner as TaskRecord;
      cancelTask(state, task, 'Task TTL Exceeded');
      return;
    }
    case 'assignedLimit':
    case 'purge': {
      const task = t.owner as TaskRecord;
      emitTask(state, 'task.system-deleted', task);
      removeTask(state, task);
      return;
    }
  }
}
