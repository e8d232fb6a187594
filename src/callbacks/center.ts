/**
 * CallbackCenter: callback requests as a pure, deterministic state machine (spec
 * callbacks-and-ewt §1.3 statuses, §2 strategies, §3.3 virtual queue and ECBT).
 *
 * It never reads a clock, draws a random number, calls the engine or places a call. Every
 * operation takes the instant (`now`, epoch MILLISECONDS) and returns
 * `{ events, effects }`:
 * - `events`: one `callback.<status>` event per transition (plus `callback.ecbt.changed`),
 *   shaped like the engine's events (sid, eventType, at, resourceType, resourceSid, snake_case data);
 * - `effects`: what the driver must carry out, in order — engine commands (create the return or
 *   agent-first task, cancel or complete it, accept or reject a reservation), dial requests
 *   (with an idempotency key `<callback sid>:<attempt>` recorded in the state BEFORE the effect
 *   is handed out, so a restarted driver never dials the same attempt twice) and hang-ups.
 *
 * The driver reports back: {@link CallbackCenter.taskCreated} (the task SID of a create effect),
 * {@link CallbackCenter.observe} (every engine event, in order: callback tasks' reservations and
 * completion, and the queue statistics behind ECBT), {@link CallbackCenter.dialOutcome},
 * {@link CallbackCenter.customerHungUp}, {@link CallbackCenter.agentAnswer}, and
 * {@link CallbackCenter.setQueueView} (the live queue: waiting tasks and worker slots), and calls
 * {@link CallbackCenter.advanceTo} at {@link CallbackCenter.nextDeadline}. docs/callbacks.md
 * ("Driving the center") walks through a loop.
 *
 * The state machine (§1.3; what moves each state on):
 *
 *     scheduled ──slot start + 60 s − launch→ring──▶ registered
 *     registered / retry_wait ──launch (gate passed, open, CF pacing)──▶ dialing
 *     registered (CF, first attempt) ──end of the quoted range, a busy slot to claim──▶ dialing
 *     CF  dialing ──ready──▶ customer_answered ──▶ customer_waiting ──reservation.accepted──▶ agent_connected
 *         dialing ──not_ready──▶ customer_answered ──▶ retry_wait | failed(max_attempts)
 *         dialing ──no_answer/busy/voicemail/failed──▶ retry_wait | failed | completed(voicemail policy)
 *         customer_waiting ──customer hang-up──▶ failed(customer_declined)
 *     AF  dialing (task waiting) ──reservation.accepted──▶ agent_reserved ──▶ dialing_customer
 *         dialing ──no acceptance within agentAckTimeoutSeconds of reservation.created──▶ reject, dialing
 *         dialing_customer ──ready──▶ agent_connected; ──other outcome──▶ retry_wait | failed
 *     agent_connected ──task.completed──▶ completed
 *     any non-terminal (before the bridge) ──expiresAt──▶ expired; ──cancel──▶ canceled
 *     scheduled / registered / retry_wait ──reschedule──▶ rescheduled ──▶ scheduled
 *
 * Every status change goes through `transition` (transitions.ts), which asserts it against
 * `ALLOWED_TRANSITIONS`. This module is the facade: the class below holds the center's state
 * (`CenterState`, center-model.ts) and ties together the modules that are functions of it —
 * requests.ts, reactions.ts, launch.ts, position.ts, deadlines.ts, retention.ts,
 * transitions.ts. It re-exports the public types, so importers keep using this module.
 */
import type { EngineEvent } from '../engine/events.ts';
import { resolveCallTarget, type CallTarget, type CallTargetInput } from './call-target.ts';
import {
  activeOf,
  emptyStats,
  isTerminalStatus,
  newCenterState,
  targetOf,
  targetOrThrow,
  tick,
  touch,
  type CallbackEffect,
  type CallbackRequest,
  type CallbackStatus,
  type CenterChanges,
  type CenterOptions,
  type CenterOutcome,
  type CenterSnapshot,
  type CenterState,
  type DialOutcome,
  type QueueView,
  type RegisterRequest,
  type TargetStats,
  DIAL_OUTCOMES,
} from './center-model.ts';
import { nextDue } from './deadlines.ts';
import { CallbackError, normalizeNumber } from './errors.ts';
import { launch, launchAll } from './launch.ts';
import { decideOffer, type OfferDecision } from './offer.ts';
import { ahead, estimate, leadSeconds, punctuality, recomputeEcbts, ringSeconds } from './position.ts';
import * as reactions from './reactions.ts';
import { cancelCallback, pendingCount, registerCallback, rescheduleCallback } from './requests.ts';
import { checkSnapshotVersion, forgetTarget, nextPrune, restoreInto, snapshotOf, take, takeChanges } from './retention.ts';

export {
  CALLBACK_EVENT_TYPES,
  CALLBACK_STATUSES,
  callbackConferenceName,
  DEFAULT_TERMINAL_RETENTION_SECONDS,
  DIAL_OUTCOMES,
  isTerminalStatus,
  TERMINAL_STATUSES,
  type Attempt,
  type CallbackEffect,
  type CallbackEvent,
  type CallbackRequest,
  type CallbackStatus,
  type CenterChanges,
  type CenterOptions,
  type CenterOutcome,
  type CenterSidGenerator,
  type CenterSnapshot,
  type DialOutcome,
  type QueueView,
  type RegisterRequest,
  type TargetStats,
} from './center-model.ts';

/**
 * One workspace's callbacks as a pure state machine (see the module comment): call targets,
 * callback requests, ECBT statistics and queue views. Every operation takes `now` (epoch ms;
 * earlier than the center's time counts as its time) and returns `{ events, effects }` for the
 * driver (src/callbacks/driver.ts in virtual time, src/callbacks/service.ts live). Bad input
 * throws CallbackError naming the field, with nothing changed. Snapshot/restore as plain data.
 * A status change outside `ALLOWED_TRANSITIONS` (transitions.ts) throws AssertionError: a bug
 * in the center, not in the input.
 */
export class CallbackCenter {
  private readonly s: CenterState;

  constructor(options: CenterOptions) {
    this.s = newCenterState(options);
  }

  /** The center's instant, epoch ms; never goes back. */
  get now(): number {
    return this.s.now;
  }

  set now(now: number) {
    this.s.now = now;
  }

  // ───────────────────────────── call targets ─────────────────────────────

  /**
   * Adds or replaces a call target (validated, defaults filled in; see resolveCallTarget).
   * Replacing keeps unset settings of the existing target. Throws CallbackError
   * `InvalidParameters` naming the field; nothing changes then.
   */
  putCallTarget(input: CallTargetInput): CallTarget {
    const s = this.s;
    const existing = s.targets.get(input.sid);
    const t = existing === undefined ? resolveCallTarget(input) : resolveCallTarget(input, existing);
    const other = s.targetByQueue.get(t.taskQueueSid);
    if (other !== undefined && other !== t.sid) {
      throw new CallbackError('InvalidParameters', `taskQueueSid ${t.taskQueueSid} is already bound to call target ${other}`, 'taskQueueSid');
    }
    if (existing !== undefined) s.targetByQueue.delete(existing.taskQueueSid);
    s.targets.set(t.sid, t);
    s.targetByQueue.set(t.taskQueueSid, t.sid);
    if (!s.stats.has(t.sid)) s.stats.set(t.sid, emptyStats());
    return t;
  }

  /** The call target with this SID (the stored object: do not mutate; use putCallTarget). */
  getCallTarget(sid: string): CallTarget | undefined {
    return this.s.targets.get(sid);
  }

  /** Every call target, in the order they were added. */
  listCallTargets(): CallTarget[] {
    return [...this.s.targets.values()];
  }

  /** The target bound to a task queue, if any. */
  targetForQueue(taskQueueSid: string): CallTarget | undefined {
    const sid = this.s.targetByQueue.get(taskQueueSid);
    return sid === undefined ? undefined : this.s.targets.get(sid);
  }

  /** The callback with this SID, terminal or not (the live object: read it, do not mutate it). */
  getCallback(sid: string): CallbackRequest | undefined {
    return this.s.callbacks.get(sid);
  }

  /** Callbacks in registration order, optionally of one target and/or in one status. */
  listCallbacks(filter: { callTargetSid?: string; status?: CallbackStatus } = {}): CallbackRequest[] {
    const out: CallbackRequest[] = [];
    for (const c of this.s.callbacks.values()) {
      if (filter.callTargetSid !== undefined && c.callTargetSid !== filter.callTargetSid) continue;
      if (filter.status !== undefined && c.status !== filter.status) continue;
      out.push(c);
    }
    return out;
  }

  /** The callback whose return/agent-first task this is. */
  callbackForTask(taskSid: string): CallbackRequest | undefined {
    const sid = this.s.byTask.get(taskSid);
    return sid === undefined ? undefined : this.s.callbacks.get(sid);
  }

  /** Non-terminal callbacks of a target (what `maxRequestedCallbacks` counts). */
  pendingCount(targetSid: string): number {
    return pendingCount(this.s, targetSid);
  }

  /** Statistics of a target (copy). */
  statsOf(targetSid: string): TargetStats {
    return structuredClone(this.s.stats.get(targetSid) ?? emptyStats());
  }

  // ───────────────────────────── offers and ECBT ─────────────────────────────

  /**
   * The offer for a caller about to queue or holding on the target (§4, §1.5). `ewtSeconds` is
   * the caller's EWT from the default predictor (null when unknown); the ECBT is computed here
   * for a callback registered now. Throws `NotFound` for an unknown target.
   */
  offer(targetSid: string, input: { ewtSeconds: number | null; channel?: 'voice' | 'api' }, now: number): OfferDecision {
    const s = this.s;
    const t = targetOrThrow(s, targetSid);
    tick(s, now);
    const view = s.views.get(t.sid);
    return decideOffer(t, {
      now: s.now,
      ewtSeconds: input.ewtSeconds,
      ecbtSeconds: estimate(s, t, { priority: t.returnPriority, virtualStartTime: s.now, sid: '\uffff' }, s.now + t.minimumCallbackDelaySeconds * 1000),
      pendingCallbacks: pendingCount(s, t.sid),
      staffedWorkers: view === undefined ? 1 : view.staffed,
      channel: input.channel ?? 'voice',
    });
  }

  /**
   * Virtual queue position of a callback (§3.3): entries ordered before it by (priority desc,
   * virtual start asc) among the target queue's waiting tasks and the other non-terminal ASAP
   * callbacks without a task yet. Null for terminal or scheduled callbacks.
   */
  position(callbackSid: string): { position: number; liveAhead: number } | null {
    const c = this.s.callbacks.get(callbackSid);
    if (c === undefined || isTerminalStatus(c.status) || c.status === 'scheduled') return null;
    return ahead(this.s, targetOf(this.s, c), c);
  }

  /** The current ECBT of a callback, seconds (null when terminal or scheduled). */
  ecbt(callbackSid: string): number | null {
    const c = this.s.callbacks.get(callbackSid);
    if (c === undefined || isTerminalStatus(c.status) || c.status === 'scheduled') return null;
    const t = targetOf(this.s, c);
    return estimate(this.s, t, c, c.createdAt + t.minimumCallbackDelaySeconds * 1000);
  }

  /** CF lead time of a target: median dial → ready over the last 21 samples, 35 s before any (§2.2). */
  leadSeconds(targetSid: string): number {
    return leadSeconds(this.s, targetSid);
  }

  /** Usual launch → customer ring of a target, s: median of recent first attempts; before any, 0 (CF dials at launch) or 30 s (AF). */
  ringSeconds(t: CallTarget): number {
    return ringSeconds(this.s, t);
  }

  // ───────────────────────────── requests ─────────────────────────────

  /**
   * Registers a callback (§1.5 POST …/Callbacks, §1.3). ASAP keeps its place in line: virtual
   * start = the original task's creation time (in-queue acceptance) or now. Scheduled callbacks
   * take a slot (`appointmentTime`, aligned to `scheduling.slotMinutes`, within
   * `scheduling.daysOut` and opening hours, under the slot capacity) and join the line 60 s
   * into the slot minus the usual launch → ring time. An ASAP callback is quoted its ECBT
   * (seconds, rounded up, clamped to the quote floor/ceiling) and launched no earlier than its
   * gate (see launchGate in launch.ts).
   * Throws CallbackError (nothing changes): `NotFound` (target), `RequestRefusedDueToOperationMode`
   * (registration off, max pending reached, slot full), `ContactRequired` / `InvalidContact`
   * (number missing, not E.164, blocked), `DuplicateRequest` (a non-terminal callback for the
   * same target and number), `InvalidParameters` (appointment time, context).
   */
  register(req: RegisterRequest, now: number): CenterOutcome & { callback: CallbackRequest } {
    const callback = registerCallback(this.s, req, now);
    return { ...take(this.s), callback };
  }

  /**
   * In-queue acceptance (§2.4): a caller holding as `task` opts for a callback. Returns the
   * engine command canceling the live task as NOT abandoned (reason "Opted to request a
   * callback", attributes gain `conversations.abandoned = "Follow-Up"` as Twilio's template
   * does) followed by the registration, whose virtual start is the task's creation time. The
   * cancel effect comes first in `effects`. Throws like {@link register}; nothing changes then.
   */
  acceptInQueue(
    task: { sid: string; dateCreated: number; attributesJson: string },
    req: Omit<RegisterRequest, 'originalTaskSid' | 'originalTaskCreatedAt'>,
    now: number,
  ): CenterOutcome & { callback: CallbackRequest } {
    let attrs: Record<string, unknown>;
    try {
      attrs = JSON.parse(task.attributesJson) as Record<string, unknown>;
    } catch {
      throw new CallbackError('InvalidParameters', 'task attributes are not JSON', 'Attributes');
    }
    const conversations = typeof attrs['conversations'] === 'object' && attrs['conversations'] !== null ? (attrs['conversations'] as Record<string, unknown>) : {};
    const out = this.register({ ...req, originalTaskSid: task.sid, originalTaskCreatedAt: task.dateCreated }, now);
    const cancel: CallbackEffect = {
      kind: 'engine',
      callbackSid: out.callback.sid,
      purpose: 'cancel_task',
      command: {
        type: 'updateTask',
        at: this.s.now,
        taskSid: task.sid,
        attributes: JSON.stringify({ ...attrs, callback_sid: out.callback.sid, conversations: { ...conversations, abandoned: 'Follow-Up' } }),
        assignmentStatus: 'canceled',
        reason: 'Opted to request a callback',
      },
    };
    return { ...out, effects: [cancel, ...out.effects] };
  }

  /**
   * Cancels a non-terminal callback (customer IVR/SMS/API, admin, dedup: `reason`). Cancels its
   * waiting task and hangs up a call in progress. Throws `NotFound`, or `InvalidRequest` when
   * the callback is terminal or already bridged to an agent.
   */
  cancel(callbackSid: string, reason: string, now: number): CenterOutcome {
    cancelCallback(this.s, callbackSid, reason, now);
    launchAll(this.s);
    return take(this.s);
  }

  /**
   * The caller picks a new time (§1.3 `rescheduled` → `scheduled`): allowed while scheduled,
   * registered, in retry_wait or at the readiness prompt (customer_answered). The slot rules of
   * {@link register} apply. Throws `NotFound`, `InvalidRequest` (status), `InvalidParameters` /
   * `RequestRefusedDueToOperationMode` (slot).
   */
  reschedule(callbackSid: string, appointmentTime: number, now: number): CenterOutcome {
    rescheduleCallback(this.s, callbackSid, appointmentTime, now);
    launchAll(this.s);
    return take(this.s);
  }

  // ───────────────────────────── reports from the driver ─────────────────────────────

  /** The driver executed a create-task effect: `taskSid` is the task it created. Unknown or stale callbacks are ignored. */
  taskCreated(callbackSid: string, taskSid: string, now: number): CenterOutcome {
    tick(this.s, now);
    reactions.taskCreated(this.s, callbackSid, taskSid);
    return take(this.s);
  }

  /** The engine refused a create-task effect (`message`): the attempt fails as a telephony error. */
  taskCreationFailed(callbackSid: string, message: string, now: number): CenterOutcome {
    tick(this.s, now);
    reactions.taskCreationFailed(this.s, callbackSid, message);
    return take(this.s);
  }

  /**
   * Feeds one engine event (in order). Updates the target statistics (services, abandonment,
   * agent answers) and moves callbacks whose task it concerns: reservation created / accepted /
   * rejected / timed out, task canceled / completed.
   */
  observe(e: EngineEvent): CenterOutcome {
    tick(this.s, e.at);
    reactions.observeEngineEvent(this.s, e);
    launchAll(this.s);
    return take(this.s);
  }

  /**
   * A dial effect's outcome (idempotency key). Outcomes for unknown keys, for attempts already
   * settled, or for callbacks no longer waiting on that dial are ignored (a re-delivered outcome
   * changes nothing).
   */
  dialOutcome(key: string, outcome: DialOutcome, now: number): CenterOutcome {
    if (!DIAL_OUTCOMES.includes(outcome)) throw new CallbackError('InvalidParameters', `outcome must be one of ${DIAL_OUTCOMES.join(', ')}`, 'outcome');
    tick(this.s, now);
    reactions.dialOutcome(this.s, key, outcome);
    launchAll(this.s);
    return take(this.s);
  }

  /**
   * The telephony port's call id for the dial of `key` (Twilio's `CallSid` from the Calls API's
   * create response or a webhook): recorded on that attempt so it is persisted and a restarted
   * service can hand it to `TelephonyPort.resume` (hang-ups of calls placed before a restart).
   * Returns true when it changed an attempt; an unknown key (or a pruned callback) or the same
   * call id again changes nothing. No events, no effects; time does not move. Throws CallbackError
   * `InvalidParameters` (field `callSid`) when `callSid` is not a non-empty string.
   */
  recordCallSid(key: string, callSid: string): boolean {
    if (typeof callSid !== 'string' || callSid === '') throw new CallbackError('InvalidParameters', 'callSid must be a non-empty string', 'callSid');
    const sid = this.s.byKey.get(key);
    const c = sid === undefined ? undefined : this.s.callbacks.get(sid);
    const a = c?.attempts.find((x) => x.dialKey === key);
    if (c === undefined || a === undefined || a.callSid === callSid) return false;
    touch(this.s, c);
    a.callSid = callSid;
    return true;
  }

  /** CF: the customer hung up while waiting for an agent (§2.1 step 6). Ignored in other states. */
  customerHungUp(callbackSid: string, now: number): CenterOutcome {
    tick(this.s, now);
    reactions.customerHungUp(this.s, callbackSid);
    launchAll(this.s);
    return take(this.s);
  }

  /**
   * Agent-answer feedback (§3.2): an agent picked up a callback for `phoneNumber`. For an AF
   * callback whose reservation is still pending this acknowledges it (an effect accepts the
   * reservation); only the newest such callback gets it. Returns the callback SID it applied to.
   */
  agentAnswer(phoneNumber: string, now: number): CenterOutcome & { callbackSid: string | null } {
    const phone = normalizeNumber(phoneNumber, 'ani');
    tick(this.s, now);
    const callbackSid = reactions.agentAnswer(this.s, phone);
    return { ...take(this.s), callbackSid };
  }

  /** The live queue of a target, as the driver reads it from the engine now. Recomputes ECBTs; may launch callbacks. */
  setQueueView(targetSid: string, view: QueueView, now: number): CenterOutcome {
    const s = this.s;
    const t = targetOrThrow(s, targetSid);
    tick(s, now);
    s.views.set(t.sid, {
      waiting: view.waiting.map((w) => ({ ...w })),
      idleServers: view.idleServers,
      busyServers: view.busyServers,
      staffed: view.staffed,
      ...(view.busyAvailableServers !== undefined ? { busyAvailableServers: view.busyAvailableServers } : {}),
    });
    recomputeEcbts(s, t);
    launch(s, t);
    return take(s);
  }

  // ───────────────────────────── time ─────────────────────────────

  /**
   * The earliest instant (epoch ms) at which {@link advanceTo} has work — a callback's timer, or a
   * terminal callback coming due for pruning (docs/callbacks.md "Retention") — or null.
   */
  nextDeadline(): number | null {
    const next = Math.min(nextDue(this.s)?.at ?? Infinity, nextPrune(this.s) ?? Infinity);
    return next === Infinity ? null : next;
  }

  /**
   * Fires every timer due up to `now` in time order (scheduled → registered at slot start − lead
   * time, retry_wait → dialing, AF acknowledgement timeouts, dial timeouts, expiry) and launches
   * what pacing allows. `now` before the center's time is treated as its time.
   */
  advanceTo(now: number): CenterOutcome {
    const s = this.s;
    for (;;) {
      const due = nextDue(s);
      if (due === null || due.at > now) break;
      tick(s, due.at);
      reactions.fire(s, due.c);
      launchAll(s);
    }
    tick(s, now);
    launchAll(s);
    return take(s);
  }

  // ───────────────────────────── snapshot ─────────────────────────────

  /**
   * The whole center as plain JSON data. With `{ callbacks: false }` the `callbacks` list is
   * empty: the small part a store writes on every operation while it keeps callbacks in rows of
   * their own ({@link takeChanges}); {@link restore} takes the two back together.
   */
  snapshot(options: { callbacks?: boolean } = {}): CenterSnapshot {
    return snapshotOf(this.s, options.callbacks !== false);
  }

  /**
   * A center that continues exactly where `snapshot` was taken (callbacks in the snapshot's
   * order, which becomes the registration order of {@link listCallbacks}). Throws on another
   * version. Terminal callbacks already past the retention are pruned by the next operation.
   */
  static restore(snapshot: CenterSnapshot, options: CenterOptions): CallbackCenter {
    checkSnapshotVersion(snapshot);
    const center = new CallbackCenter({ ...options, now: snapshot.now });
    restoreInto(center.s, snapshot);
    return center;
  }

  // ───────────────────────────── retention and changes ─────────────────────────────

  /**
   * Drains what changed since the last call: callbacks touched by operations (to upsert) and
   * callbacks pruned after the retention or forgotten with their target (to delete). Lets a
   * store write O(changed) rows per operation instead of the whole center. The objects are the
   * live ones: serialize them before the next operation.
   */
  takeChanges(): CenterChanges {
    return takeChanges(this.s);
  }

  /**
   * Removes a call target that has no non-terminal callback, with its statistics, queue view and
   * terminal callbacks (reported as removed by {@link takeChanges}; their events stay in the
   * event stream). Throws CallbackError `NotFound` (unknown target) or `InvalidRequest` (a
   * callback still in progress); nothing changes then.
   */
  forgetCallTarget(targetSid: string): void {
    const t = targetOrThrow(this.s, targetSid);
    if (activeOf(this.s, t.sid).size > 0) throw new CallbackError('InvalidRequest', `call target ${t.sid} still has callbacks in progress`, 'Sid');
    forgetTarget(this.s, t);
  }

  /** Number of callbacks held (non-terminal plus terminal within the retention). */
  get size(): number {
    return this.s.callbacks.size;
  }

  /**
   * Callback punctuality (§1.6, first attempt): when the customer's phone first rang against the
   * quote. `lateSeconds` = first ring − quoted instant (negative = early); `withinRange` = the
   * first ring fell inside [createdAt + low min, createdAt + high min] (scheduled: inside the
   * slot). `bridgeWithinRange` applies the same test to the bridge to an agent (false when never
   * bridged). Null until the customer was dialed.
   */
  static punctuality(c: CallbackRequest): { lateSeconds: number; withinRange: boolean; quoted: string | null; bridgeWithinRange: boolean } | null {
    return punctuality(c);
  }
}
