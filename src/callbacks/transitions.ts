/**
 * Status changes of callback requests (spec callbacks-and-ewt §1.3), all through one function,
 * {@link transition}, that checks each change against {@link ALLOWED_TRANSITIONS} and emits its
 * `callback.<status>` event (§1.6). A change outside the table is a bug in the center, never bad
 * input: it throws AssertionError (src/util/assert.ts) before anything changes.
 *
 * Beside the table: the endings every strategy shares — ending an attempt, retrying or failing
 * after the retry policy (§1.4 `retry`), moving to a terminal status (hanging up and canceling
 * what is left on the line) and taking the callback's task back out of the engine.
 */
import type { EventValue } from '../engine/events.ts';
import { AssertionError } from '../util/assert.ts';
import type { CallTarget } from './call-target.ts';
import {
  emitEvent,
  engineEffect,
  isTerminalStatus,
  removeActive,
  touch,
  type CallbackRequest,
  type CallbackStatus,
  type CenterState,
} from './center-model.ts';

/** The statuses a callback is registered in: `registered` (ASAP) or `scheduled` (an appointment), §1.3. */
export const INITIAL_STATUSES: readonly CallbackStatus[] = ['registered', 'scheduled'];

/**
 * Every status change the center makes: status → the statuses it may move to (spec §1.3, as
 * docs/callbacks.md "Statuses" lists them; a test checks the two agree). Besides the table of
 * §1.3 it holds:
 * - `completed` from a dialing state: the voicemail policies `complete` and
 *   `leave_message_then_complete` (§1.4);
 * - `failed` and `expired` from every state that can hold a task or wait for one: the task was
 *   canceled or deleted from outside the center (TTL, an admin; `expired` when past the
 *   callback's expiry, else `failed(telephony_error)`), or the engine refused to create it.
 *   `scheduled`, `registered` and `retry_wait` hold a task only when a return task created for an
 *   attempt that already ended was reported after it (a driver that carries effects out
 *   asynchronously);
 * - `canceled` from every non-terminal state but `agent_connected` (cancel refuses a bridged
 *   callback) and the three states that only last inside one operation: `agent_reserved` (the
 *   customer is dialed at once), `customer_answered` (the readiness prompt's answer is
 *   reported with the outcome) and `rescheduled` (booked into its new slot at once).
 * Terminal statuses lead nowhere.
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<CallbackStatus, readonly CallbackStatus[]>> = {
  scheduled: ['registered', 'rescheduled', 'canceled', 'expired', 'failed'],
  registered: ['dialing', 'rescheduled', 'canceled', 'expired', 'failed'],
  dialing: ['customer_answered', 'agent_reserved', 'retry_wait', 'completed', 'failed', 'canceled', 'expired'],
  agent_reserved: ['dialing_customer'],
  customer_answered: ['customer_waiting', 'retry_wait', 'failed', 'rescheduled'],
  customer_waiting: ['agent_connected', 'retry_wait', 'failed', 'canceled', 'expired'],
  dialing_customer: ['agent_connected', 'retry_wait', 'completed', 'failed', 'canceled', 'expired'],
  agent_connected: ['completed', 'failed', 'expired'],
  retry_wait: ['dialing', 'rescheduled', 'canceled', 'expired', 'failed'],
  rescheduled: ['scheduled'],
  completed: [],
  failed: [],
  expired: [],
  canceled: [],
};

/** True when the table allows `from` → `to`. */
export function isAllowedTransition(from: CallbackStatus, to: CallbackStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** Throws AssertionError unless the table allows `c` to move from its status to `status` (a bug in the center). */
export function assertTransition(c: CallbackRequest, status: CallbackStatus): void {
  if (!isAllowedTransition(c.status, status)) throw new AssertionError(`callback ${c.sid}: ${c.status} → ${status} is not an allowed transition`);
}

/**
 * Announces a callback just registered in `c.status` (`callback.registered` or
 * `callback.scheduled`). Throws AssertionError when that is not an initial status.
 */
export function enter(s: CenterState, c: CallbackRequest): void {
  if (!INITIAL_STATUSES.includes(c.status)) throw new AssertionError(`callback ${c.sid} registered in status ${c.status}`);
  emitEvent(s, c, `callback.${c.status}`, {});
}

/**
 * Moves `c` to `status` with `reason` now and emits `callback.<status>` with `extra` data.
 * A terminal status takes the callback out of the non-terminal indexes and queues it for
 * pruning. Throws AssertionError (nothing changed) when {@link ALLOWED_TRANSITIONS} does not
 * allow the change: a bug in the center.
 */
export function transition(s: CenterState, c: CallbackRequest, status: CallbackStatus, reason: string | null, extra: Record<string, EventValue>): void {
  assertTransition(c, status);
  touch(s, c);
  c.status = status;
  c.statusReason = reason;
  c.updatedAt = s.now;
  if (isTerminalStatus(status)) {
    removeActive(s, c);
    s.ended.push(c);
  }
  emitEvent(s, c, `callback.${status}`, extra);
}

/** Ends the current attempt now with `result`, unless it already ended (a result already set is kept). */
export function endAttempt(s: CenterState, c: CallbackRequest, result: string): void {
  touch(s, c);
  const a = c.attempts[c.attempts.length - 1];
  if (a !== undefined && a.endedAt === null) {
    a.endedAt = s.now;
    a.result ??= result;
  }
}

/**
 * After a failed attempt: `retry_wait` until now + `delaySeconds`, or `failed(max_attempts)` when
 * the target's `retry.maxRetries + 1` attempts are used up (§1.4, §9.3). Clears the task,
 * reservation and timers of the attempt. AssertionError (nothing changed) when the table does
 * not allow the change.
 */
export function retryOrFail(s: CenterState, c: CallbackRequest, t: CallTarget, delaySeconds: number, reason: string): void {
  const retry = c.attempts.length < t.retry.maxRetries + 1;
  assertTransition(c, retry ? 'retry_wait' : 'failed');
  touch(s, c);
  c.taskSid = null;
  c.reservationSid = null;
  c.workerSid = null;
  c.ackDeadline = null;
  c.dialDeadline = null;
  if (!retry) {
    finish(s, c, 'failed', 'max_attempts', { last_result: reason });
    return;
  }
  c.scheduledFor = s.now + delaySeconds * 1000;
  transition(s, c, 'retry_wait', reason, { retry_at: Math.floor(c.scheduledFor / 1000), attempts: c.attempts.length });
}

/**
 * Moves to a terminal status (AssertionError first, nothing changed, when the table does not allow it): cancels a waiting task; hangs up a live dial, and a customer-first
 * customer holding for an agent (`customer_waiting`: canceled, expired, or the return task
 * canceled from outside) unless that customer already hung up.
 */
export function finish(s: CenterState, c: CallbackRequest, status: 'completed' | 'failed' | 'expired' | 'canceled', reason: string | null, extra: Record<string, EventValue> = {}): void {
  assertTransition(c, status);
  if (status !== 'completed') {
    const holding = c.status === 'customer_waiting';
    if (c.taskSid !== null) cancelTask(s, c, `callback ${status}${reason === null ? '' : `: ${reason}`}`);
    const a = c.attempts[c.attempts.length - 1];
    const onLine = c.dialDeadline !== null || (holding && a?.result !== 'customer_hung_up');
    if (onLine && a?.dialKey !== null && a !== undefined) s.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey });
  }
  c.dialDeadline = null;
  c.ackDeadline = null;
  transition(s, c, status, reason, extra);
}

/** Cancels the callback's task if it is still waiting, completes it if an agent holds it. */
export function cancelTask(s: CenterState, c: CallbackRequest, reason: string): void {
  if (c.taskSid === null) return;
  // Waiting (pending, or reserved but not accepted): cancel. Accepted by an agent: complete.
  if (c.status === 'customer_waiting' || c.status === 'dialing') {
    engineEffect(s, c, 'cancel_task', { type: 'updateTask', at: s.now, taskSid: c.taskSid, assignmentStatus: 'canceled', reason });
  } else {
    finishTask(s, c, reason);
  }
  c.taskSid = null;
}

/** AF: the agent's task ends with a wrap-up reason (`callback_no_answer`, §2.3 step 4). */
export function finishTask(s: CenterState, c: CallbackRequest, reason: string): void {
  if (c.taskSid === null) return;
  engineEffect(s, c, 'complete_task', { type: 'updateTask', at: s.now, taskSid: c.taskSid, assignmentStatus: 'completed', reason });
  c.taskSid = null;
}
