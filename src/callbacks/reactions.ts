/**
 * What the driver reports to the center, and what each report moves (spec callbacks-and-ewt
 * §2.1–2.3, §3.2, §3.3): engine events (callback tasks' reservations and completion; every event
 * feeds the ECBT statistics), dial outcomes, the created task of a create effect, customer
 * hang-ups, agent answers, and the callbacks' own timers firing.
 *
 * Functions of the center state ({@link CenterState}); each leaves its events and effects in the
 * state for the facade to hand out. Status changes go through transitions.ts, launches through
 * launch.ts.
 */
import type { EngineEvent } from '../engine/events.ts';
import {
  ANSWER_WINDOW_MS,
  emitEvent,
  emptyStats,
  engineEffect,
  isTerminalStatus,
  targetOf,
  touch,
  type Attempt,
  type CallbackRequest,
  type CenterState,
  type DialOutcome,
} from './center-model.ts';
import { createTask, dialCustomer, slotLaunch } from './launch.ts';
import { cancelTask, endAttempt, finish, finishTask, retryOrFail, transition } from './transitions.ts';

/** The driver executed a create-task effect of `callbackSid`: `taskSid` is its task. Unknown or stale callbacks are ignored. */
export function taskCreated(s: CenterState, callbackSid: string, taskSid: string): void {
  const c = s.callbacks.get(callbackSid);
  if (c === undefined || !c.taskRequested) return;
  touch(s, c);
  c.taskRequested = false;
  s.byTask.set(taskSid, c.sid);
  s.tasksOf.set(c.sid, [...(s.tasksOf.get(c.sid) ?? []), taskSid]);
  if (isTerminalStatus(c.status)) {
    // Canceled while the effect was in flight: take the task back out.
    engineEffect(s, c, 'cancel_task', { type: 'updateTask', at: s.now, taskSid, assignmentStatus: 'canceled', reason: `callback ${c.status}` });
  } else {
    c.taskSid = taskSid;
  }
}

/** The engine refused a create-task effect (`message`): the attempt fails as a telephony error. */
export function taskCreationFailed(s: CenterState, callbackSid: string, message: string): void {
  const c = s.callbacks.get(callbackSid);
  if (c === undefined || !c.taskRequested || isTerminalStatus(c.status)) return;
  touch(s, c);
  c.taskRequested = false;
  endAttempt(s, c, 'failed');
  finish(s, c, 'failed', 'telephony_error', { message });
}

/**
 * One engine event, in order: the target statistics (service times from acceptance to
 * completion, abandonments and time waited by live callers, agent answers of the last 15 min;
 * §3.3) and the callback whose current task it concerns.
 */
export function observeEngineEvent(s: CenterState, e: EngineEvent): void {
  const d = e.data;
  const taskSid = typeof d['task_sid'] === 'string' ? d['task_sid'] : e.resourceType === 'task' ? e.resourceSid : null;
  if (taskSid === null) return;
  const queueSid = typeof d['task_queue_sid'] === 'string' ? d['task_queue_sid'] : null;
  const targetSid = queueSid === null ? undefined : s.targetByQueue.get(queueSid);
  const st = targetSid === undefined ? undefined : s.stats.get(targetSid);
  if (e.eventType === 'reservation.accepted' && st !== undefined && targetSid !== undefined) {
    s.inService.set(taskSid, { at: e.at, targetSid });
    st.answers.push(e.at);
    while (st.answers.length > 0 && (st.answers[0] as number) <= e.at - ANSWER_WINDOW_MS) st.answers.shift();
    st.waitedSeconds += typeof d['task_age'] === 'number' ? d['task_age'] : 0;
  } else if (e.eventType === 'task.completed') {
    const svc = s.inService.get(taskSid);
    if (svc !== undefined) {
      s.inService.delete(taskSid);
      const ts = s.stats.get(svc.targetSid);
      if (ts !== undefined) {
        ts.services.push((e.at - svc.at) / 1000);
        if (ts.services.length > 100) ts.services.shift();
      }
    }
  } else if (e.eventType === 'task.canceled' && st !== undefined && !s.byTask.has(taskSid) && !s.inService.delete(taskSid)) {
    const age = typeof d['task_age'] === 'number' ? d['task_age'] : 0;
    st.waitedSeconds += age;
    if (age > 0 && d['task_canceled_reason'] !== 'Opted to request a callback') st.abandonments += 1;
  } else if (e.eventType === 'task.deleted' || e.eventType === 'task.system-deleted') {
    s.inService.delete(taskSid);
  }
  const cbSid = s.byTask.get(taskSid);
  const c = cbSid === undefined ? undefined : s.callbacks.get(cbSid);
  if (c !== undefined && c.taskSid === taskSid && !isTerminalStatus(c.status)) onTaskEvent(s, c, e);
}

/** An engine event about the current task of `c` (non-terminal): reservations (AF acknowledgement, CF bridge), completion, removal. */
function onTaskEvent(s: CenterState, c: CallbackRequest, e: EngineEvent): void {
  touch(s, c);
  const t = targetOf(s, c);
  const d = e.data;
  switch (e.eventType) {
    case 'reservation.created':
      if (c.strategy === 'agent_first' && c.status === 'dialing') {
        c.reservationSid = e.resourceSid;
        c.workerSid = typeof d['worker_sid'] === 'string' ? d['worker_sid'] : null;
        c.ackDeadline = s.now + t.agentAckTimeoutSeconds * 1000;
      }
      return;
    case 'reservation.accepted':
      if (c.strategy === 'agent_first' && c.status === 'dialing') {
        c.reservationSid = e.resourceSid;
        c.workerSid = typeof d['worker_sid'] === 'string' ? d['worker_sid'] : null;
        c.ackDeadline = null;
        transition(s, c, 'agent_reserved', null, { reservation_sid: e.resourceSid, worker_sid: c.workerSid });
        dialCustomer(s, t, c, 'dialing_customer');
      } else if (c.status === 'customer_waiting') {
        c.reservationSid = e.resourceSid;
        c.workerSid = typeof d['worker_sid'] === 'string' ? d['worker_sid'] : null;
        c.connectedAt = s.now;
        transition(s, c, 'agent_connected', null, { reservation_sid: e.resourceSid, worker_sid: c.workerSid });
      }
      return;
    case 'reservation.rejected':
    case 'reservation.timeout':
    case 'reservation.canceled':
    case 'reservation.rescinded':
      if (c.reservationSid === e.resourceSid && c.status === 'dialing') {
        c.reservationSid = null;
        c.workerSid = null;
        c.ackDeadline = null;
      }
      return;
    case 'task.completed':
    case 'task.wrapup':
      if (c.status === 'agent_connected') {
        endAttempt(s, c, 'completed');
        finish(s, c, 'completed', null, { task_completed_reason: d['task_completed_reason'] ?? null });
      } else if (c.status === 'dialing_customer' || c.status === 'agent_reserved') {
        // AF: the agent left before the customer answered — the agent leg failed. Drop the
        // customer leg and try again after the agent-leg delay (§1.4 retry.delaySeconds.agentLeg).
        c.taskSid = null;
        const a = c.attempts[c.attempts.length - 1];
        if (a?.dialKey !== null && a !== undefined && a.endedAt === null) s.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey });
        endAttempt(s, c, 'agent_left');
        retryOrFail(s, c, t, t.retry.delaySeconds.agentLeg, 'agent_left');
      }
      return;
    case 'task.canceled':
    case 'task.deleted':
    case 'task.system-deleted':
      // The task left the queue without the center asking (TTL, an admin). A deletion after
      // completion is retention housekeeping: by then the callback no longer points at it.
      if (e.eventType !== 'task.canceled' && d['task_assignment_status'] === 'completed') return;
      c.taskSid = null;
      endAttempt(s, c, 'task_canceled');
      if (c.expiresAt <= s.now) finish(s, c, 'expired', 'asap_expiry');
      else finish(s, c, 'failed', 'telephony_error', { task_canceled_reason: d['task_canceled_reason'] ?? null });
      return;
    default:
      return;
  }
}

/**
 * A dial outcome for `key`. Applied only to the open attempt that dialed it while the callback
 * still waits on that dial (`dialing` or `dialing_customer`); anything else — an unknown key, a
 * settled attempt, a re-delivered outcome — changes nothing.
 */
export function dialOutcome(s: CenterState, key: string, outcome: DialOutcome): void {
  const sid = s.byKey.get(key);
  const c = sid === undefined ? undefined : s.callbacks.get(sid);
  const attempt = c?.attempts[c.attempts.length - 1];
  if (c === undefined || attempt === undefined || attempt.dialKey !== key || attempt.endedAt !== null || (c.status !== 'dialing' && c.status !== 'dialing_customer')) return;
  touch(s, c);
  c.dialDeadline = null;
  onDialOutcome(s, c, attempt, outcome);
}

/**
 * What a dial outcome moves: AF with the agent holding (§2.3 steps 3–4) — bridge, voicemail
 * policy, or the agent's task completed with `callback_no_answer` and a retry; CF (§2.1 steps
 * 2–4) — the readiness prompt (ready → return task; not ready, declined) or a retry per outcome.
 */
function onDialOutcome(s: CenterState, c: CallbackRequest, a: Attempt, outcome: DialOutcome): void {
  touch(s, c);
  const t = targetOf(s, c);
  const st = s.stats.get(t.sid) ?? emptyStats();
  const d = t.retry.delaySeconds;
  if (c.status === 'dialing_customer') {
    // AF: the agent is holding while the customer rings (§2.3 steps 3–4).
    if (outcome === 'ready' || outcome === 'not_ready') {
      a.result = outcome;
      c.connectedAt = s.now;
      transition(s, c, 'agent_connected', null, { attempt: a.n, worker_sid: c.workerSid });
      return;
    }
    if (outcome === 'voicemail' && t.voicemailPolicy !== 'retry') {
      a.result = outcome;
      finishTask(s, c, 'callback_voicemail');
      endAttempt(s, c, outcome);
      finish(s, c, 'completed', t.voicemailPolicy === 'complete' ? 'voicemail' : 'voicemail_message_left');
      return;
    }
    finishTask(s, c, 'callback_no_answer');
    endAttempt(s, c, outcome);
    if (outcome === 'invalid_number') return finish(s, c, 'failed', 'invalid_number');
    if (outcome === 'declined') return finish(s, c, 'failed', 'customer_declined');
    return retryOrFail(s, c, t, outcome === 'busy' ? d.busy : outcome === 'voicemail' ? d.voicemail : d.noAnswer, outcome);
  }
  // CF (§2.1 steps 2–4).
  switch (outcome) {
    case 'ready': {
      a.endedAt = null;
      st.leadSamples.push((s.now - a.startedAt) / 1000);
      if (st.leadSamples.length > 21) st.leadSamples.shift();
      transition(s, c, 'customer_answered', null, { attempt: a.n });
      transition(s, c, 'customer_waiting', null, { attempt: a.n });
      createTask(s, t, c, 'callback_return');
      return;
    }
    case 'not_ready':
      transition(s, c, 'customer_answered', null, { attempt: a.n });
      s.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey as string });
      endAttempt(s, c, outcome);
      return retryOrFail(s, c, t, d.notReady, 'not_ready');
    case 'declined':
      transition(s, c, 'customer_answered', null, { attempt: a.n });
      s.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey as string });
      endAttempt(s, c, outcome);
      return finish(s, c, 'failed', 'customer_declined');
    case 'voicemail':
      endAttempt(s, c, outcome);
      if (t.voicemailPolicy === 'retry') return retryOrFail(s, c, t, d.voicemail, 'voicemail');
      return finish(s, c, 'completed', t.voicemailPolicy === 'complete' ? 'voicemail' : 'voicemail_message_left');
    case 'invalid_number':
      endAttempt(s, c, outcome);
      return finish(s, c, 'failed', 'invalid_number');
    case 'busy':
      endAttempt(s, c, outcome);
      return retryOrFail(s, c, t, d.busy, 'busy');
    case 'no_answer':
      endAttempt(s, c, outcome);
      return retryOrFail(s, c, t, d.noAnswer, 'no_answer');
    case 'failed':
      endAttempt(s, c, outcome);
      return retryOrFail(s, c, t, d.busy, 'telephony_error');
  }
}

/**
 * CF: the customer of `callbackSid` hung up while waiting for an agent (§2.1 step 6): the return
 * task is canceled, then a retry (`retry.onReturnAbandon`) or `failed(customer_declined)`.
 * Ignored in any other status.
 */
export function customerHungUp(s: CenterState, callbackSid: string): void {
  const c = s.callbacks.get(callbackSid);
  if (c === undefined || c.status !== 'customer_waiting') return;
  const t = targetOf(s, c);
  // The customer is gone: nothing to hang up when the callback now ends (see finish).
  const a = c.attempts[c.attempts.length - 1];
  if (a !== undefined) a.result = 'customer_hung_up';
  cancelTask(s, c, 'customer_abandoned_return');
  endAttempt(s, c, 'customer_hung_up');
  if (t.retry.onReturnAbandon) retryOrFail(s, c, t, t.retry.delaySeconds.noAnswer, 'customer_abandoned_return');
  else finish(s, c, 'failed', 'customer_declined');
}

/**
 * Agent-answer feedback (§3.2) for the E.164 number `phone`: accepts the pending reservation of
 * the newest AF callback of that number that is still waiting for its agent's acknowledgement.
 * Returns that callback's SID, or null.
 */
export function agentAnswer(s: CenterState, phone: string): string | null {
  let best: CallbackRequest | null = null;
  for (const c of s.active) {
    if (c.phoneNumber !== phone || c.status !== 'dialing' || c.strategy !== 'agent_first' || c.reservationSid === null) continue;
    if (best === null || c.createdAt > best.createdAt) best = c;
  }
  if (best !== null && best.taskSid !== null && best.reservationSid !== null) {
    engineEffect(s, best, 'accept_reservation', { type: 'updateReservation', at: s.now, reservationSid: best.reservationSid, taskSid: best.taskSid, reservationStatus: 'accepted' });
  }
  return best?.sid ?? null;
}

/**
 * A timer of `c` that is due now (deadlines.ts decides which): in this order, a dial timeout
 * (a telephony failure, never re-dialed), an AF acknowledgement timeout (the reservation is
 * rejected, §2.3 step 2), a reminder (§1.6), the expiry, a scheduled callback's join (`registered`).
 * A launch time or an opening needs nothing here: the launch pass that follows decides.
 */
export function fire(s: CenterState, c: CallbackRequest): void {
  touch(s, c);
  const now = s.now;
  const t = targetOf(s, c);
  if (c.dialDeadline !== null && c.dialDeadline <= now) {
    // No outcome came back (a lost webhook, a restart): a telephony failure. Never re-dialed.
    c.dialDeadline = null;
    const attempt = c.attempts[c.attempts.length - 1] as Attempt;
    onDialOutcome(s, c, attempt, 'failed');
    return;
  }
  if (c.ackDeadline !== null && c.ackDeadline <= now) {
    // AF: the agent did not acknowledge in time — reject the reservation; the task goes back
    // to waiting with its priority and virtual start unchanged (§2.3 step 2).
    c.ackDeadline = null;
    if (c.reservationSid !== null && c.taskSid !== null) {
      engineEffect(s, c, 'reject_reservation', { type: 'updateReservation', at: now, reservationSid: c.reservationSid, taskSid: c.taskSid, reservationStatus: 'rejected' });
      emitEvent(s, c, 'callback.agent_ack_timeout', { reservation_sid: c.reservationSid, worker_sid: c.workerSid });
    }
    c.reservationSid = null;
    c.workerSid = null;
    return;
  }
  if (c.reminderAt !== null && c.reminderAt <= now) {
    // §1.6: reminder before the slot, after re-checking the callback is still pending.
    c.reminderAt = null;
    if (c.status === 'scheduled') emitEvent(s, c, 'callback.reminder.due', { slot_start: Math.floor(c.window.start / 1000) });
    return;
  }
  if (c.connectedAt === null && c.expiresAt <= now) {
    endAttempt(s, c, 'expired');
    finish(s, c, 'expired', c.type === 'scheduled' ? 'window_passed' : 'asap_expiry');
    return;
  }
  if (c.status === 'scheduled' && c.scheduledFor <= now) {
    c.scheduledFor = Math.max(now, slotLaunch(s, t, c));
    transition(s, c, 'registered', 'window_open', {});
    return;
  }
  // A launch time or an opening: nothing to do here, the launch pass that follows decides.
  if (c.scheduledFor <= now) c.scheduledFor = now;
}
