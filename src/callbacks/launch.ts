/**
 * When and how a callback is launched (spec callbacks-and-ewt §2.1 customer-first, §2.2 CF
 * pacing, §2.3 agent-first; docs/callbacks.md "Hold until the quote", "Keeping the quote",
 * "Agent-first launch"): launch gates, scheduled slots, the pacing of customer dials, and the
 * start of an attempt — a dial effect (with its idempotency key recorded first) or the task
 * effect that puts the callback in front of an agent.
 *
 * Functions of the center state ({@link CenterState}); status changes go through
 * transitions.ts.
 */
import type { Command } from '../engine/commands.ts';
import { openingAt, type CallTarget } from './call-target.ts';
import {
  activeOf,
  before,
  callbackConferenceName,
  emitEvent,
  SLOT_AIM_MS,
  touch,
  type Attempt,
  type CallbackRequest,
  type CenterState,
} from './center-model.ts';
import { CallbackError } from './errors.ts';
import { ecbtRange } from './offer.ts';
import { leadSeconds, meanServiceSeconds, ringSeconds } from './position.ts';
import { finish, transition } from './transitions.ts';
import { isoInstant } from '../util/time.ts';

/**
 * Launch time of an ASAP callback (epoch ms): not before the minimum callback delay and, with
 * `holdUntilQuote`:
 * - customer-first: 35 % into the quoted range minus the usual launch → ring time (CF dials
 *   at launch), so the customer's phone rings inside the range they heard;
 * - agent-first: the start of the quoted range. The customer is dialed only once an agent
 *   accepted, so the ring comes at launch + the wait for an agent: launching at the low bound
 *   means the ring is never early and the whole range is left for that wait ([DECISION]
 *   "Agent-first launch", docs/callbacks.md).
 */
export function launchGate(s: CenterState, t: CallTarget, c: CallbackRequest): number {
  let gate = c.createdAt + t.minimumCallbackDelaySeconds * 1000;
  if (s.holdUntilQuote && c.ecbtSeconds !== null) {
    const r = ecbtRange(c.ecbtSeconds);
    if (c.strategy === 'agent_first') return Math.max(gate, c.createdAt + r.lowMinutes * 60_000);
    const aim = (r.lowMinutes + 0.35 * (r.highMinutes - r.lowMinutes)) * 60;
    gate = Math.max(gate, c.createdAt + (aim - ringSeconds(s, t)) * 1000);
  }
  return gate;
}

/**
 * Checks an appointment (epoch ms) for target `t` at `now`: an instant starting a slot of
 * `scheduling.slotMinutes`, at least the minimum callback delay ahead, within
 * `scheduling.daysOut`, inside the hours of operation, and under the slot capacity (not
 * counting callback `ignoreSid`). Throws CallbackError `InvalidParameters` or
 * `RequestRefusedDueToOperationMode` (slot full), field `AppointmentTime` (§1.5).
 */
export function checkSlot(s: CenterState, t: CallTarget, appointment: number, now: number, ignoreSid: string | null): void {
  const field = 'AppointmentTime';
  if (!Number.isFinite(appointment)) throw new CallbackError('InvalidParameters', `${field} must be an instant (epoch ms)`, field);
  const slotMs = t.scheduling.slotMinutes * 60_000;
  if (appointment % slotMs !== 0) throw new CallbackError('InvalidParameters', `${field} must start a ${t.scheduling.slotMinutes}-minute slot`, field);
  if (appointment < now + t.minimumCallbackDelaySeconds * 1000) throw new CallbackError('InvalidParameters', `${field} must be at least ${t.minimumCallbackDelaySeconds} s from now`, field);
  if (appointment > now + t.scheduling.daysOut * 86_400_000) throw new CallbackError('InvalidParameters', `${field} must be within ${t.scheduling.daysOut} days`, field);
  if (!openingAt(t, appointment).open) throw new CallbackError('InvalidParameters', `${field} falls outside the hours of operation`, field);
  if (t.scheduling.slotCapacity !== 'auto') {
    let used = 0;
    for (const c of activeOf(s, t.sid)) {
      if (c.type === 'scheduled' && c.window.start === appointment && c.sid !== ignoreSid) used += 1;
    }
    if (used >= t.scheduling.slotCapacity) throw new CallbackError('RequestRefusedDueToOperationMode', `the slot at ${isoInstant(appointment)} is full`, field);
  }
}

/**
 * When a scheduled callback joins the line and launches (epoch ms): 60 s into its slot minus the
 * usual launch → ring time, so the customer's phone rings just inside the slot (the spec joins
 * at slot start − lead time, at the very edge; docs/callbacks.md).
 */
export function slotLaunch(s: CenterState, t: CallTarget, c: CallbackRequest): number {
  return c.window.start + SLOT_AIM_MS - Math.round(ringSeconds(s, t) * 1000);
}

/** Books `c` into the slot starting at `appointment` (epoch ms): window, launch, reminder (§1.6) and expiry. */
export function placeInSlot(s: CenterState, t: CallTarget, c: CallbackRequest, appointment: number): void {
  c.window = { start: appointment, end: appointment + t.scheduling.slotMinutes * 60_000 };
  c.estimatedFor = appointment;
  c.ecbtSeconds = null;
  c.currentEcbtSeconds = null;
  c.scheduledFor = Math.max(s.now, slotLaunch(s, t, c));
  c.virtualStartTime = c.scheduledFor;
  const remindAt = appointment - t.scheduling.reminderMinutes * 60_000;
  c.reminderAt = t.scheduling.reminderMinutes > 0 && remindAt > s.now ? remindAt : null;
  c.expiresAt = appointment + t.asapExpiryHours * 3_600_000;
}

/** Launches what every target allows now (see {@link launch}). */
export function launchAll(s: CenterState): void {
  for (const t of s.targets.values()) launch(s, t);
}

/**
 * Launches the callbacks of `t` that are due (registered or waiting to retry, launch time
 * passed), in line order, while the target processes callbacks and is open: agent-first ones
 * all (their task waits for an agent), customer-first ones as CF pacing allows, plus those whose
 * quote runs out when a busy slot can be claimed. Closed with `onClose: expire`: expires the
 * waiting ASAP callbacks instead (§1.4).
 */
export function launch(s: CenterState, t: CallTarget): void {
  if (!t.processCallbacks) return;
  const now = s.now;
  const hours = openingAt(t, now);
  if (!hours.open && t.onClose === 'expire') {
    // §1.4 onClose "expire": ASAP callbacks still waiting when the target closes expire.
    for (const c of [...activeOf(s, t.sid)]) {
      if (c.type === 'asap' && (c.status === 'registered' || c.status === 'retry_wait')) finish(s, c, 'expired', 'closed');
    }
    return;
  }
  if (!hours.open) return;
  const ready: CallbackRequest[] = [];
  let inFlight = 0;
  for (const c of activeOf(s, t.sid)) {
    if ((c.status === 'registered' || c.status === 'retry_wait') && c.scheduledFor <= now) ready.push(c);
    else if (c.strategy === 'customer_first' && (c.status === 'dialing' || c.status === 'customer_answered')) inFlight += 1;
  }
  if (ready.length === 0) return;
  ready.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  // Each callback keeps the strategy it was registered with (§1.2), even if the target changed.
  let k = Number.NaN;
  let claimable = Number.NaN;
  for (const c of ready) {
    if (c.strategy === 'agent_first') {
      startAgentFirst(s, t, c);
      continue;
    }
    if (Number.isNaN(k)) k = pacing(s, t) - inFlight;
    if (k > 0) {
      dialCustomer(s, t, c, 'dialing');
      k -= 1;
      continue;
    }
    // Pacing says no agent will be free within the lead time. A callback whose quoted range
    // is about to run out is dialed anyway if a busy slot of the pool is left to claim: its
    // return task outranks the live callers (returnPriority), so it takes the next member who
    // frees up ([DECISION] "Keeping the quote", docs/callbacks.md).
    const due = promiseDue(s, c);
    if (due === null || due > now) continue;
    if (Number.isNaN(claimable)) claimable = claimableSlots(s, t) - inFlight;
    if (claimable <= 0) continue;
    dialCustomer(s, t, c, 'dialing');
    claimable -= 1;
    inFlight += 1;
  }
}

/**
 * The last instant (epoch ms) a waiting customer-first callback can be dialed and still ring
 * inside its quoted range: createdAt + high minutes of the range (§3.3), for the first attempt
 * of an ASAP callback with `holdUntilQuote` on. Null when no quote binds (scheduled, AF,
 * retries — a retry's delay is the customer's —, holdUntilQuote off).
 */
export function promiseDue(s: CenterState, c: CallbackRequest): number | null {
  if (!s.holdUntilQuote || c.type !== 'asap' || c.strategy !== 'customer_first' || c.ecbtSeconds === null || c.attempts.length > 0) return null;
  return c.createdAt + ecbtRange(c.ecbtSeconds).highMinutes * 60_000;
}

/** Return tasks (and AF tasks) of the target's callbacks among its waiting tasks. */
function callbackTasksWaiting(s: CenterState, t: CallTarget): number {
  const view = s.views.get(t.sid);
  let n = 0;
  if (view !== undefined) for (const w of view.waiting) if (s.byTask.has(w.taskSid)) n += 1;
  return n;
}

/**
 * Busy slots of the pool that no return task or CF dial has claimed yet: how many due
 * callbacks may be dialed without a free agent in sight. Each one waits for the next member
 * who frees up. Only members who will take another task count (`busyAvailableServers`): a
 * pool whose last agents are finishing calls before going offline claims nothing, so nobody
 * is dialed into an empty center.
 */
function claimableSlots(s: CenterState, t: CallTarget): number {
  const view = s.views.get(t.sid);
  if (view === undefined) return 0;
  return Math.min(t.maxConcurrentOutbound, view.busyAvailableServers ?? view.busyServers) - callbackTasksWaiting(s, t);
}

/**
 * CF pacing (§2.2): min(maxConcurrentOutbound, idle + expected frees within the lead time)
 * − return tasks waiting. Expected frees = busy × (1 − e^{−lead/AHT}) (exponential services),
 * rounded to the nearest whole slot. Without a queue view only the outbound cap applies.
 */
function pacing(s: CenterState, t: CallTarget): number {
  const view = s.views.get(t.sid);
  if (view === undefined) return t.maxConcurrentOutbound;
  const aht = meanServiceSeconds(s, t.sid);
  const lead = leadSeconds(s, t.sid);
  const frees = aht > 0 ? view.busyServers * (1 - Math.exp(-lead / aht)) : 0;
  return Math.min(t.maxConcurrentOutbound, Math.round(view.idleServers + frees)) - callbackTasksWaiting(s, t);
}

function newAttempt(s: CenterState, c: CallbackRequest, leg: Attempt['leg']): Attempt {
  touch(s, c);
  const a: Attempt = { n: c.attempts.length + 1, leg, startedAt: s.now, endedAt: null, result: null, dialKey: null, dialedAt: null, callSid: null };
  c.attempts.push(a);
  return a;
}

/**
 * Dials the customer: a new attempt (`dialing`, CF) or the AF attempt whose agent accepted
 * (`dialing_customer`). The idempotency key `<callback sid>:<attempt>` is recorded before the
 * dial effect is handed out, so a restarted driver never dials it again; a dial deadline (ring
 * timeout + grace) turns a lost outcome into a telephony failure.
 */
export function dialCustomer(s: CenterState, t: CallTarget, c: CallbackRequest, status: 'dialing' | 'dialing_customer'): void {
  touch(s, c);
  const a = status === 'dialing' ? newAttempt(s, c, 'customer') : (c.attempts[c.attempts.length - 1] as Attempt);
  if (status === 'dialing_customer') a.leg = 'customer';
  const key = `${c.sid}:${a.n}`;
  // Recorded before the effect leaves: a restart sees the key and never dials it again.
  a.dialKey = key;
  a.dialedAt = s.now;
  s.byKey.set(key, c.sid);
  if (a.n === 1) learnPunctuality(s, t, c, a);
  c.dialDeadline = s.now + t.ringTimeoutSeconds * 1000 + s.dialGraceMs;
  transition(s, c, status, null, { attempt: a.n, dial_key: key });
  if (status === 'dialing' && a.n === t.retry.maxRetries + 1 && a.n > 1) emitEvent(s, c, 'callback.final_attempt', { attempt: a.n });
  s.effects.push({ kind: 'dial', callbackSid: c.sid, key, attempt: a.n, to: c.phoneNumber, from: t.callerId, ringTimeoutSeconds: t.ringTimeoutSeconds });
}

/** AF launch (§2.3 step 1): a new attempt looking for an agent, and its agent-first task. */
function startAgentFirst(s: CenterState, t: CallTarget, c: CallbackRequest): void {
  const a = newAttempt(s, c, 'agent');
  transition(s, c, 'dialing', null, { attempt: a.n });
  if (a.n === t.retry.maxRetries + 1 && a.n > 1) emitEvent(s, c, 'callback.final_attempt', { attempt: a.n });
  createTask(s, t, c, 'callback_agent_first');
}

/**
 * Hands out the create-task effect of the current attempt: the CF return task or the AF task,
 * at the callback's priority and virtual start (§2.1 step 4, §2.3 step 1), bridged in the
 * conference of that attempt. The driver reports the task's SID back (taskCreated).
 */
export function createTask(s: CenterState, t: CallTarget, c: CallbackRequest, type: 'callback_return' | 'callback_agent_first'): void {
  touch(s, c);
  c.taskRequested = true;
  const command: Command = {
    type: 'createTask',
    at: s.now,
    // conference_name: where the customer of this attempt is (CF) or will be (AF) bridged.
    attributes: JSON.stringify({ type, callback_sid: c.sid, from: c.phoneNumber, to: t.callerId, call_target_sid: t.sid, context: c.context, conference_name: callbackConferenceName(`${c.sid}:${c.attempts.length}`) }),
    priority: c.priority,
    virtualStartTime: Math.min(c.virtualStartTime, s.now),
    taskChannel: t.taskChannel,
    timeoutS: Math.max(1, Math.min(1_209_600, Math.ceil((c.expiresAt - s.now) / 1000))),
    ...(t.workflowSid !== null ? { workflowSid: t.workflowSid } : { taskQueueSid: t.taskQueueSid }),
  };
  s.effects.push({ kind: 'engine', callbackSid: c.sid, purpose: 'create_task', command });
}

/**
 * At the first ring of a first attempt: the launch → ring sample (when to launch) and the
 * ECBT factor sample (§3.3): actual ÷ quoted, EWMA 0.05, clamped to 0.5–2. With
 * `holdUntilQuote` a ring inside the quoted range counts as ratio 1, so the factor grows only
 * with lateness and relaxes back otherwise. Retries are left out: their delay is the
 * customer's, not the line's (Mindful's punctuality also uses the first attempt, §1.6).
 */
function learnPunctuality(s: CenterState, t: CallTarget, c: CallbackRequest, a: Attempt): void {
  const st = s.stats.get(t.sid);
  if (st === undefined || a.dialedAt === null) return;
  st.ringSamples.push((a.dialedAt - a.startedAt) / 1000);
  if (st.ringSamples.length > 21) st.ringSamples.shift();
  if (c.ecbtSeconds === null || c.ecbtSeconds <= 0 || c.type !== 'asap') return;
  const actual = (a.dialedAt - c.createdAt) / 1000;
  const range = ecbtRange(c.ecbtSeconds);
  const ratio = s.holdUntilQuote && actual <= range.highMinutes * 60 ? 1 : actual / c.ecbtSeconds;
  st.factor = Math.min(2, Math.max(0.5, 0.95 * st.factor + 0.05 * ratio));
}
