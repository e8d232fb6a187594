/**
 * What customers and the API ask of the center (spec callbacks-and-ewt §1.5, §1.3, §2.4):
 * register a callback (ASAP or in a slot), cancel it, pick a new time. Every check runs before
 * anything changes; bad input throws CallbackError naming the field.
 *
 * Functions of the center state ({@link CenterState}); they leave their events and effects in it.
 */
import { isBlocked } from './call-target.ts';
import {
  activeOf,
  addActive,
  callbackOrThrow,
  isTerminalStatus,
  targetOf,
  targetOrThrow,
  tick,
  touch,
  type CallbackRequest,
  type CenterState,
  type RegisterRequest,
} from './center-model.ts';
import { CallbackError, normalizeNumber } from './errors.ts';
import { checkSlot, launch, launchGate, placeInSlot } from './launch.ts';
import { clampEcbt } from './offer.ts';
import { estimate } from './position.ts';
import { endAttempt, enter, finish, transition } from './transitions.ts';

/** Non-terminal callbacks of a target (what `maxRequestedCallbacks` counts). */
export function pendingCount(s: CenterState, targetSid: string): number {
  return activeOf(s, targetSid).size;
}

/**
 * Registers a callback at `now` (epoch ms) and launches what its target allows (see
 * CallbackCenter.register for the rules and the CallbackError codes). Returns the new callback.
 */
export function registerCallback(s: CenterState, req: RegisterRequest, now: number): CallbackRequest {
  const t = targetOrThrow(s, req.callTargetSid);
  const phone = normalizeNumber(req.phoneNumber, 'PhoneNumber');
  const ani = req.ani === undefined || req.ani === null ? null : normalizeNumber(req.ani, 'Ani');
  const context = checkContext(req.context);
  if (!t.registerCallbacks) throw new CallbackError('RequestRefusedDueToOperationMode', `call target ${t.sid} does not register callbacks now`);
  if (isBlocked(t, phone)) throw new CallbackError('InvalidContact', `PhoneNumber ${phone} is blocked`, 'PhoneNumber');
  for (const c of activeOf(s, t.sid)) {
    if (c.phoneNumber === phone) {
      throw new CallbackError('DuplicateRequest', `a callback for ${phone} is already pending on call target ${t.sid} (${c.sid})`, 'PhoneNumber');
    }
  }
  if (pendingCount(s, t.sid) >= t.maxRequestedCallbacks) {
    throw new CallbackError('RequestRefusedDueToOperationMode', `call target ${t.sid} has reached maxRequestedCallbacks (${t.maxRequestedCallbacks})`);
  }
  const at = Math.max(now, s.now);
  const appointment = req.appointmentTime ?? null;
  if (appointment !== null) checkSlot(s, t, appointment, at, null);
  if (req.originalTaskCreatedAt !== undefined && req.originalTaskCreatedAt !== null && (!Number.isFinite(req.originalTaskCreatedAt) || req.originalTaskCreatedAt > at)) {
    throw new CallbackError('InvalidParameters', 'OriginalTaskCreatedAt must be an instant not after now', 'OriginalTaskCreatedAt');
  }
  // Validation done: from here on the request is accepted.
  tick(s, now);
  const sid = s.newSid('CB');
  const expiresAfter = t.asapExpiryHours * 3_600_000;
  const c: CallbackRequest = {
    sid,
    callTargetSid: t.sid,
    phoneNumber: phone,
    rawNumber: req.phoneNumber,
    ani,
    type: appointment === null ? 'asap' : 'scheduled',
    strategy: t.strategy,
    status: appointment === null ? 'registered' : 'scheduled',
    statusReason: null,
    channel: req.channel ?? 'api',
    createdAt: at,
    updatedAt: at,
    window: { start: at, end: at + expiresAfter },
    expiresAt: at + expiresAfter,
    ecbtSeconds: null,
    currentEcbtSeconds: null,
    estimatedFor: at,
    scheduledFor: at,
    virtualStartTime: req.originalTaskCreatedAt ?? at,
    priority: t.returnPriority,
    originalTaskSid: req.originalTaskSid ?? null,
    context,
    attempts: [],
    taskSid: null,
    taskRequested: false,
    reservationSid: null,
    workerSid: null,
    ackDeadline: null,
    dialDeadline: null,
    connectedAt: null,
    reminderAt: null,
  };
  if (appointment === null) {
    const ecbt = Math.ceil(clampEcbt(t, estimate(s, t, c, at + t.minimumCallbackDelaySeconds * 1000)));
    c.ecbtSeconds = ecbt;
    c.currentEcbtSeconds = ecbt;
    c.estimatedFor = at + ecbt * 1000;
    c.scheduledFor = launchGate(s, t, c);
  } else {
    placeInSlot(s, t, c, appointment);
  }
  s.callbacks.set(sid, c);
  addActive(s, c);
  touch(s, c);
  enter(s, c);
  launch(s, t);
  return c;
}

/**
 * Cancels non-terminal callback `callbackSid` for `reason` at `now`: its waiting task is
 * canceled, a call in progress hung up. Throws CallbackError `NotFound`, or `InvalidRequest`
 * (field `Status`) when it is terminal or bridged to an agent.
 */
export function cancelCallback(s: CenterState, callbackSid: string, reason: string, now: number): void {
  const c = callbackOrThrow(s, callbackSid);
  if (isTerminalStatus(c.status)) throw new CallbackError('InvalidRequest', `callback ${c.sid} is already ${c.status}`, 'Status');
  if (c.status === 'agent_connected') throw new CallbackError('InvalidRequest', `callback ${c.sid} is connected to an agent`, 'Status');
  tick(s, now);
  endAttempt(s, c, 'canceled');
  finish(s, c, 'canceled', reason);
}

/**
 * Moves callback `callbackSid` to the slot at `appointmentTime` (epoch ms) at `now`:
 * `rescheduled`, then `scheduled` (§1.3). Throws CallbackError `NotFound`, `InvalidRequest`
 * (field `Status`: not scheduled, registered, retry_wait or customer_answered), or the slot
 * errors of register.
 */
export function rescheduleCallback(s: CenterState, callbackSid: string, appointmentTime: number, now: number): void {
  const c = callbackOrThrow(s, callbackSid);
  if (!['scheduled', 'registered', 'retry_wait', 'customer_answered'].includes(c.status)) {
    throw new CallbackError('InvalidRequest', `callback ${c.sid} is ${c.status} and cannot be rescheduled`, 'Status');
  }
  const t = targetOf(s, c);
  checkSlot(s, t, appointmentTime, Math.max(now, s.now), c.sid);
  tick(s, now);
  if (c.status === 'customer_answered') endAttempt(s, c, 'rescheduled');
  transition(s, c, 'rescheduled', null, { appointment_time: Math.floor(appointmentTime / 1000) });
  c.type = 'scheduled';
  placeInSlot(s, t, c, appointmentTime);
  transition(s, c, 'scheduled', null, {});
}

/** A registration's `Context`: at most 50 keys of strings up to 1,024 characters. Throws CallbackError `InvalidParameters`. */
function checkContext(ctx: unknown): Record<string, string> {
  if (ctx === undefined || ctx === null) return {};
  if (typeof ctx !== 'object' || Array.isArray(ctx)) throw new CallbackError('InvalidParameters', 'Context must be an object of string values', 'Context');
  const out: Record<string, string> = {};
  const entries = Object.entries(ctx as Record<string, unknown>);
  if (entries.length > 50) throw new CallbackError('InvalidParameters', 'Context holds at most 50 keys', 'Context');
  for (const [k, v] of entries) {
    if (typeof v !== 'string' || v.length > 1024) throw new CallbackError('InvalidParameters', `Context.${k} must be a string of at most 1024 characters`, `Context.${k}`);
    out[k] = v;
  }
  return out;
}
