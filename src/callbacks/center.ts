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
 */
import type { Command } from '../engine/commands.ts';
import type { EngineEvent, EventValue } from '../engine/events.ts';
import { isBlocked, openingAt, resolveCallTarget, type CallTarget, type CallTargetInput } from './call-target.ts';
import { CallbackError, normalizeNumber } from './errors.ts';
import { clampEcbt, computeEcbt, decideOffer, ecbtRange, rangePhrase, type OfferDecision } from './offer.ts';

/** Status of a callback request (spec §1.3). */
export type CallbackStatus =
  | 'scheduled'
  | 'registered'
  | 'dialing'
  | 'agent_reserved'
  | 'customer_answered'
  | 'customer_waiting'
  | 'dialing_customer'
  | 'agent_connected'
  | 'retry_wait'
  | 'rescheduled'
  | 'completed'
  | 'failed'
  | 'expired'
  | 'canceled';

/** Every status of §1.3, in the order of the table. */
export const CALLBACK_STATUSES: readonly CallbackStatus[] = [
  'scheduled',
  'registered',
  'dialing',
  'agent_reserved',
  'customer_answered',
  'customer_waiting',
  'dialing_customer',
  'agent_connected',
  'retry_wait',
  'rescheduled',
  'completed',
  'failed',
  'expired',
  'canceled',
];

/**
 * Every event type a CallbackCenter emits (spec §1.6): `callback.<status>` for each status, and
 * the notices `callback.ecbt.changed`, `callback.reminder.due`, `callback.final_attempt` and
 * `callback.agent_ack_timeout`. A workspace's `EventsFilter` may name them.
 */
export const CALLBACK_EVENT_TYPES: readonly string[] = [
  ...CALLBACK_STATUSES.map((s) => `callback.${s}`),
  'callback.ecbt.changed',
  'callback.reminder.due',
  'callback.final_attempt',
  'callback.agent_ack_timeout',
];

/**
 * The name of the conference that bridges the customer of dial `key` (`<callback sid>:<attempt>`)
 * to an agent: `callback-<callback sid>-<attempt>`. The callback's return (CF) or agent-first task
 * carries it as the `conference_name` attribute, and the Twilio adapter puts the confirmed
 * customer into `<Dial><Conference>` with this name (src/voice/twilio-calls.ts), so the agent's
 * leg — a desktop, or the reservation's `conference`/`dequeue` instruction — joins the same room.
 * Letters, digits and `-` only (safe in TwiML and URLs).
 */
export function callbackConferenceName(key: string): string {
  return `callback-${key.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

/** The terminal statuses of §1.3. */
export const TERMINAL_STATUSES: readonly CallbackStatus[] = ['completed', 'failed', 'expired', 'canceled'];

/** True for `completed`, `failed`, `expired` and `canceled` (§1.3 terminal statuses). */
export function isTerminalStatus(s: CallbackStatus): boolean {
  return s === 'completed' || s === 'failed' || s === 'expired' || s === 'canceled';
}

/**
 * What a dialed customer leg ended with. `ready`: a human answered and confirmed readiness (CF
 * "press 1"; for AF the customer simply answered). `not_ready`: answered but not ready or silent.
 * `declined`: answered and declined the callback. `voicemail`: an answering machine.
 * `failed`: a telephony error (SIP failure, the network gave up). `invalid_number`: the number
 * does not exist.
 */
export type DialOutcome = 'ready' | 'not_ready' | 'declined' | 'no_answer' | 'busy' | 'voicemail' | 'failed' | 'invalid_number';

/** Every dial outcome, for validation. */
export const DIAL_OUTCOMES: readonly DialOutcome[] = ['ready', 'not_ready', 'declined', 'no_answer', 'busy', 'voicemail', 'failed', 'invalid_number'];

/** One attempt (spec §1.2 `attempts[]`). Times epoch ms. */
export interface Attempt {
  n: number;
  /** `customer`: the customer was dialed (CF, or AF after the agent acknowledged); `agent`: an AF attempt still looking for an agent. */
  leg: 'customer' | 'agent';
  startedAt: number;
  endedAt: number | null;
  /** Dial outcome, or `agent_timeout` / `expired` / `canceled`. */
  result: string | null;
  /** Idempotency key of the customer dial, `<callback sid>:<n>`, once dialed. */
  dialKey: string | null;
  /** When the customer's phone was dialed in this attempt (epoch ms), or null. */
  dialedAt: number | null;
  /**
   * The provider's id of the customer call (`CA…` for Twilio) once the telephony port reported it
   * ({@link CallbackCenter.recordCallSid}), else null. Persisted with the attempt so that a
   * restarted service can still hang that call up (TelephonyPort.resume). Snapshots written
   * before the field existed load with null.
   */
  callSid: string | null;
}

/** A callback request (spec §1.2). Plain JSON data; times epoch ms; durations seconds. */
export interface CallbackRequest {
  sid: string;
  callTargetSid: string;
  /** E.164, the number dialed. */
  phoneNumber: string;
  /** As the caller entered it. */
  rawNumber: string;
  /** Detected caller number, when known. */
  ani: string | null;
  type: 'asap' | 'scheduled';
  strategy: CallTarget['strategy'];
  status: CallbackStatus;
  statusReason: string | null;
  channel: string;
  createdAt: number;
  updatedAt: number;
  /** Scheduled slot, or for ASAP `{start: createdAt, end: expiresAt}`. */
  window: { start: number; end: number };
  /** Past it a callback that has not reached an agent expires. */
  expiresAt: number;
  /** Quoted ECBT at registration, seconds (null for scheduled). */
  ecbtSeconds: number | null;
  /** Latest recomputed ECBT, seconds. */
  currentEcbtSeconds: number | null;
  /** The instant the quote maps to (createdAt + ECBT, or the slot start). */
  estimatedFor: number;
  /** Next instant something is due: launch (registered/retry_wait), join (scheduled). */
  scheduledFor: number;
  /** Ordering key of the return task (§3.3); ASAP keeps its place in line. */
  virtualStartTime: number;
  priority: number;
  originalTaskSid: string | null;
  context: Record<string, string>;
  attempts: Attempt[];
  /** The return (CF) or agent-first task of the current attempt. */
  taskSid: string | null;
  /** A create-task effect was handed out and its SID is not known yet. */
  taskRequested: boolean;
  reservationSid: string | null;
  workerSid: string | null;
  /** AF: the reservation must be accepted (acknowledged) by then, else it is rejected. */
  ackDeadline: number | null;
  /** A dial is in flight: if no outcome arrives by then it counts as a telephony failure. */
  dialDeadline: number | null;
  /** When the customer and an agent were bridged. */
  connectedAt: number | null;
  /** Scheduled: when `callback.reminder.due` fires (epoch ms), null when none is due. */
  reminderAt: number | null;
}

/** One callback event (spec §1.6): `callback.<status>` or `callback.ecbt.changed`. */
export interface CallbackEvent {
  sid: string;
  eventType: string;
  /** Epoch ms. */
  at: number;
  resourceType: 'callback';
  resourceSid: string;
  data: Record<string, EventValue>;
}

/** What the driver must do. Carry effects out in the order given. */
export type CallbackEffect =
  | {
      kind: 'engine';
      callbackSid: string;
      purpose: 'create_task' | 'cancel_task' | 'complete_task' | 'accept_reservation' | 'reject_reservation';
      command: Command;
    }
  | {
      kind: 'dial';
      callbackSid: string;
      /** Idempotency key `<callback sid>:<attempt>`: dial at most once per key. */
      key: string;
      attempt: number;
      to: string;
      from: string | null;
      ringTimeoutSeconds: number;
    }
  | { kind: 'hangup'; callbackSid: string; key: string };

/** What every center operation returns: the events of its transitions and the effects to carry out, both in order. */
export interface CenterOutcome {
  events: CallbackEvent[];
  effects: CallbackEffect[];
}

/**
 * The live state of a call target's queue, read by the driver from the engine: waiting tasks
 * (pending or reserved) and the pool's worker slots on the target's channel.
 */
export interface QueueView {
  waiting: Array<{ taskSid: string; priority: number; virtualStartTime: number }>;
  idleServers: number;
  busyServers: number;
  staffed: number;
  /**
   * Of `busyServers`, the slots of members in an available activity: they take another task
   * when they finish (one who went offline mid-call does not). Optional; `busyServers` when absent.
   */
  busyAvailableServers?: number;
}

/** Statistics per target feeding ECBT (§3.3). Plain data. */
export interface TargetStats {
  /** Last 100 service times, s. */
  services: number[];
  abandonments: number;
  waitedSeconds: number;
  /** Agent answers (reservation.accepted) in the last 15 min, epoch ms. */
  answers: number[];
  /** Last 21 dial → ready durations, s (CF lead time = their median, 35 s before any). */
  leadSamples: number[];
  /** Last 21 launch → customer-ring durations of first attempts, s (0 for CF; AF: the wait for an agent). */
  ringSamples: number[];
  /** clamp(0.5, 2, EWMA₀.₀₅(actual ÷ quoted)), starts at 1. */
  factor: number;
}

/** A registration (§1.5 POST …/Callbacks). `phoneNumber` as the caller entered it; times epoch ms. */
export interface RegisterRequest {
  callTargetSid: string;
  phoneNumber: string;
  ani?: string | null;
  /** Scheduled callbacks: slot start, epoch ms; absent for ASAP. */
  appointmentTime?: number | null;
  context?: Record<string, string>;
  channel?: string;
  /** In-queue acceptance (§2.4): the live task given up for the callback. */
  originalTaskSid?: string | null;
  /** …and its creation time (epoch ms): the callback keeps that place in line. */
  originalTaskCreatedAt?: number | null;
}

/** Center snapshot, plain JSON data (exact round trip through JSON.stringify/parse). */
export interface CenterSnapshot {
  version: 1;
  now: number;
  targets: CallTarget[];
  callbacks: CallbackRequest[];
  stats: Array<[string, TargetStats]>;
  views: Array<[string, QueueView]>;
  inService: Array<[string, { at: number; targetSid: string }]>;
}

/** Makes SIDs: `CB` for callbacks, `EV` for events. Must never repeat. */
export type CenterSidGenerator = (prefix: 'CB' | 'EV') => string;

/** Construction options of a CallbackCenter. */
export interface CenterOptions {
  newSid: CenterSidGenerator;
  /** Epoch ms the center starts at. */
  now?: number;
  /**
   * Grace after the ring timeout before an in-flight dial with no reported outcome counts as a
   * telephony failure, seconds. Default 120 (the readiness prompt is read twice within it).
   */
  dialGraceSeconds?: number;
  /**
   * Do not launch a callback before its quoted ECBT range starts (minus the CF lead time), so
   * callbacks are punctual rather than early; and dial a customer-first callback that pacing
   * still holds at the end of its range when a busy slot can be claimed, so it is not late.
   * Default true ([DECISION]s "Hold until the quote" and "Keeping the quote", docs/callbacks.md).
   */
  holdUntilQuote?: boolean;
  /**
   * How long a terminal callback (completed, failed, expired, canceled) stays in the center after
   * it ended, seconds; then it is pruned (gone from {@link CallbackCenter.getCallback},
   * {@link CallbackCenter.listCallbacks} and the snapshot; its events stay in the event stream).
   * Pruning runs on the center's own clock, at the end of every operation. Default 172 800
   * (48 h, the longest datastore retention of spec §5, so a callback's record lives at least as
   * long as its context can). `null` keeps every callback (the simulator's report reads them all).
   */
  terminalRetentionSeconds?: number | null;
}

/**
 * What changed in the center since the last {@link CallbackCenter.takeChanges}: the callbacks
 * touched by an operation (in first-touched order; new ones in registration order) and those
 * pruned or forgotten (to delete from a store). A callback appears in at most one list.
 */
export interface CenterChanges {
  changed: CallbackRequest[];
  removed: CallbackRequest[];
}

const DEFAULT_LEAD_SECONDS = 35;
/** Default retention of terminal callbacks, s (48 h; see CenterOptions.terminalRetentionSeconds). */
export const DEFAULT_TERMINAL_RETENTION_SECONDS = 172_800;
const ANSWER_WINDOW_MS = 15 * 60_000;
const ECBT_CHANGE_SECONDS = 60;
const SNAPSHOT_VERSION = 1;
/** Scheduled callbacks aim to bridge this far into their slot, ms. */
const SLOT_AIM_MS = 60_000;

function emptyStats(): TargetStats {
  return { services: [], abandonments: 0, waitedSeconds: 0, answers: [], leadSamples: [], ringSamples: [], factor: 1 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function before(a: { priority: number; virtualStartTime: number; sid: string }, b: { priority: number; virtualStartTime: number; sid: string }): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.virtualStartTime !== b.virtualStartTime) return a.virtualStartTime < b.virtualStartTime;
  return a.sid < b.sid;
}

/**
 * One workspace's callbacks as a pure state machine (see the module comment): call targets,
 * callback requests, ECBT statistics and queue views. Every operation takes `now` (epoch ms;
 * earlier than the center's time counts as its time) and returns `{ events, effects }` for the
 * driver (src/callbacks/driver.ts in virtual time, src/callbacks/service.ts live). Bad input
 * throws CallbackError naming the field, with nothing changed. Snapshot/restore as plain data.
 */
export class CallbackCenter {
  private readonly newSid: CenterSidGenerator;
  private readonly dialGraceMs: number;
  private readonly holdUntilQuote: boolean;
  private readonly retentionMs: number | null;
  /** The center's instant, epoch ms; never goes back. */
  now: number;
  private readonly targets = new Map<string, CallTarget>();
  private readonly callbacks = new Map<string, CallbackRequest>();
  /** The non-terminal callbacks (what every scan walks; terminal ones stay only in `callbacks`). */
  private readonly active = new Set<CallbackRequest>();
  private readonly byTask = new Map<string, string>();
  /** Callback SID → the task SIDs it created (to clear `byTask` when the callback is pruned). */
  private readonly tasksOf = new Map<string, string[]>();
  private readonly byKey = new Map<string, string>();
  private readonly stats = new Map<string, TargetStats>();
  private readonly views = new Map<string, QueueView>();
  private readonly targetByQueue = new Map<string, string>();
  private readonly inService = new Map<string, { at: number; targetSid: string }>();
  private events: CallbackEvent[] = [];
  private effects: CallbackEffect[] = [];
  /** Terminal callbacks in the order they ended (updatedAt non-decreasing): the pruning queue. */
  private ended: CallbackRequest[] = [];
  private endedHead = 0;
  /** Callbacks touched since the last takeChanges (sid → callback). */
  private touched = new Map<string, CallbackRequest>();
  /** Callbacks pruned or forgotten since the last takeChanges. */
  private removed = new Map<string, CallbackRequest>();

  constructor(options: CenterOptions) {
    this.newSid = options.newSid;
    this.now = options.now ?? 0;
    this.dialGraceMs = (options.dialGraceSeconds ?? 120) * 1000;
    this.holdUntilQuote = options.holdUntilQuote ?? true;
    const keep = options.terminalRetentionSeconds === undefined ? DEFAULT_TERMINAL_RETENTION_SECONDS : options.terminalRetentionSeconds;
    if (keep !== null && (!Number.isFinite(keep) || keep < 0)) throw new CallbackError('InvalidParameters', 'terminalRetentionSeconds must be a number of seconds >= 0, or null', 'terminalRetentionSeconds');
    this.retentionMs = keep === null ? null : keep * 1000;
  }

  // ───────────────────────────── call targets ─────────────────────────────

  /**
   * Adds or replaces a call target (validated, defaults filled in; see resolveCallTarget).
   * Replacing keeps unset settings of the existing target. Throws CallbackError
   * `InvalidParameters` naming the field; nothing changes then.
   */
  putCallTarget(input: CallTargetInput): CallTarget {
    const existing = this.targets.get(input.sid);
    const t = existing === undefined ? resolveCallTarget(input) : resolveCallTarget(input, existing);
    const other = this.targetByQueue.get(t.taskQueueSid);
    if (other !== undefined && other !== t.sid) {
      throw new CallbackError('InvalidParameters', `taskQueueSid ${t.taskQueueSid} is already bound to call target ${other}`, 'taskQueueSid');
    }
    if (existing !== undefined) this.targetByQueue.delete(existing.taskQueueSid);
    this.targets.set(t.sid, t);
    this.targetByQueue.set(t.taskQueueSid, t.sid);
    if (!this.stats.has(t.sid)) this.stats.set(t.sid, emptyStats());
    return t;
  }

  /** The call target with this SID (the stored object: do not mutate; use putCallTarget). */
  getCallTarget(sid: string): CallTarget | undefined {
    return this.targets.get(sid);
  }

  /** Every call target, in the order they were added. */
  listCallTargets(): CallTarget[] {
    return [...this.targets.values()];
  }

  /** The target bound to a task queue, if any. */
  targetForQueue(taskQueueSid: string): CallTarget | undefined {
    const sid = this.targetByQueue.get(taskQueueSid);
    return sid === undefined ? undefined : this.targets.get(sid);
  }

  /** The callback with this SID, terminal or not (the live object: read it, do not mutate it). */
  getCallback(sid: string): CallbackRequest | undefined {
    return this.callbacks.get(sid);
  }

  /** Callbacks in registration order, optionally of one target and/or in one status. */
  listCallbacks(filter: { callTargetSid?: string; status?: CallbackStatus } = {}): CallbackRequest[] {
    const out: CallbackRequest[] = [];
    for (const c of this.callbacks.values()) {
      if (filter.callTargetSid !== undefined && c.callTargetSid !== filter.callTargetSid) continue;
      if (filter.status !== undefined && c.status !== filter.status) continue;
      out.push(c);
    }
    return out;
  }

  /** The callback whose return/agent-first task this is. */
  callbackForTask(taskSid: string): CallbackRequest | undefined {
    const sid = this.byTask.get(taskSid);
    return sid === undefined ? undefined : this.callbacks.get(sid);
  }

  /** Non-terminal callbacks of a target (what `maxRequestedCallbacks` counts). */
  pendingCount(targetSid: string): number {
    let n = 0;
    for (const c of this.active) if (c.callTargetSid === targetSid) n += 1;
    return n;
  }

  /** Statistics of a target (copy). */
  statsOf(targetSid: string): TargetStats {
    return structuredClone(this.stats.get(targetSid) ?? emptyStats());
  }

  // ───────────────────────────── offers and ECBT ─────────────────────────────

  /**
   * The offer for a caller about to queue or holding on the target (§4, §1.5). `ewtSeconds` is
   * the caller's EWT from the default predictor (null when unknown); the ECBT is computed here
   * for a callback registered now. Throws `NotFound` for an unknown target.
   */
  offer(targetSid: string, input: { ewtSeconds: number | null; channel?: 'voice' | 'api' }, now: number): OfferDecision {
    const t = this.targetOrThrow(targetSid);
    this.tick(now);
    const view = this.views.get(t.sid);
    return decideOffer(t, {
      now: this.now,
      ewtSeconds: input.ewtSeconds,
      ecbtSeconds: this.estimate(t, { priority: t.returnPriority, virtualStartTime: this.now, sid: '\uffff' }, this.now + t.minimumCallbackDelaySeconds * 1000),
      pendingCallbacks: this.pendingCount(t.sid),
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
    const c = this.callbacks.get(callbackSid);
    if (c === undefined || isTerminalStatus(c.status) || c.status === 'scheduled') return null;
    const t = this.targets.get(c.callTargetSid) as CallTarget;
    return this.ahead(t, c);
  }

  /** The current ECBT of a callback, seconds (null when terminal or scheduled). */
  ecbt(callbackSid: string): number | null {
    const c = this.callbacks.get(callbackSid);
    if (c === undefined || isTerminalStatus(c.status) || c.status === 'scheduled') return null;
    const t = this.targets.get(c.callTargetSid) as CallTarget;
    return this.estimate(t, c, c.createdAt + t.minimumCallbackDelaySeconds * 1000);
  }

  private ahead(t: CallTarget, me: { priority: number; virtualStartTime: number; sid: string }): { position: number; liveAhead: number } {
    let position = 0;
    let liveAhead = 0;
    const view = this.views.get(t.sid);
    if (view !== undefined) {
      for (const w of view.waiting) {
        const cbSid = this.byTask.get(w.taskSid);
        if (cbSid === me.sid) continue;
        if (before({ priority: w.priority, virtualStartTime: w.virtualStartTime, sid: w.taskSid }, me)) {
          position += 1;
          if (cbSid === undefined) liveAhead += 1;
        }
      }
    }
    for (const c of this.active) {
      if (c.callTargetSid !== t.sid || c === me || c.type !== 'asap' || c.taskSid !== null || isTerminalStatus(c.status)) continue;
      if (c.status !== 'registered' && c.status !== 'retry_wait' && c.status !== 'dialing' && c.status !== 'customer_answered') continue;
      if (before(c, me)) position += 1;
    }
    return { position, liveAhead };
  }

  private estimate(t: CallTarget, me: { priority: number; virtualStartTime: number; sid: string }, delayUntil: number): number {
    const { position, liveAhead } = this.ahead(t, me);
    const view = this.views.get(t.sid);
    const st = this.stats.get(t.sid) ?? emptyStats();
    const ahtMean = st.services.length === 0 ? 0 : st.services.reduce((a, b) => a + b, 0) / st.services.length;
    const recent = st.answers.filter((a) => a > this.now - ANSWER_WINDOW_MS).length;
    return computeEcbt({
      position,
      liveAhead,
      busyServers: view?.busyServers ?? 0,
      idleServers: view?.idleServers ?? 0,
      staffed: view?.staffed ?? 1,
      muPerSecond: ahtMean > 0 ? 1 / ahtMean : 0,
      thetaPerSecond: st.waitedSeconds > 0 ? st.abandonments / st.waitedSeconds : 0,
      answerRatePerSecond: recent >= 5 ? recent / (ANSWER_WINDOW_MS / 1000) : 0,
      minimumDelaySeconds: Math.max(0, (delayUntil - this.now) / 1000),
      leadTimeSeconds: t.strategy === 'customer_first' ? this.leadSeconds(t.sid) : 0,
      factor: st.factor,
    }).seconds;
  }

  /** CF lead time of a target: median dial → ready over the last 21 samples, 35 s before any (§2.2). */
  leadSeconds(targetSid: string): number {
    const s = this.stats.get(targetSid);
    return s === undefined || s.leadSamples.length === 0 ? DEFAULT_LEAD_SECONDS : median(s.leadSamples);
  }

  // ───────────────────────────── requests ─────────────────────────────

  /**
   * Registers a callback (§1.5 POST …/Callbacks, §1.3). ASAP keeps its place in line: virtual
   * start = the original task's creation time (in-queue acceptance) or now. Scheduled callbacks
   * take a slot (`appointmentTime`, aligned to `scheduling.slotMinutes`, within
   * `scheduling.daysOut` and opening hours, under the slot capacity) and join the line 60 s
   * into the slot minus the usual launch → ring time. An ASAP callback is quoted its ECBT
   * (seconds, rounded up, clamped to the quote floor/ceiling) and launched no earlier than its
   * gate (see launchGate).
   * Throws CallbackError (nothing changes): `NotFound` (target), `RequestRefusedDueToOperationMode`
   * (registration off, max pending reached, slot full), `ContactRequired` / `InvalidContact`
   * (number missing, not E.164, blocked), `DuplicateRequest` (a non-terminal callback for the
   * same target and number), `InvalidParameters` (appointment time, context).
   */
  register(req: RegisterRequest, now: number): CenterOutcome & { callback: CallbackRequest } {
    const t = this.targetOrThrow(req.callTargetSid);
    const phone = normalizeNumber(req.phoneNumber, 'PhoneNumber');
    const ani = req.ani === undefined || req.ani === null ? null : normalizeNumber(req.ani, 'Ani');
    const context = checkContext(req.context);
    if (!t.registerCallbacks) throw new CallbackError('RequestRefusedDueToOperationMode', `call target ${t.sid} does not register callbacks now`);
    if (isBlocked(t, phone)) throw new CallbackError('InvalidContact', `PhoneNumber ${phone} is blocked`, 'PhoneNumber');
    for (const c of this.active) {
      if (c.callTargetSid === t.sid && c.phoneNumber === phone) {
        throw new CallbackError('DuplicateRequest', `a callback for ${phone} is already pending on call target ${t.sid} (${c.sid})`, 'PhoneNumber');
      }
    }
    if (this.pendingCount(t.sid) >= t.maxRequestedCallbacks) {
      throw new CallbackError('RequestRefusedDueToOperationMode', `call target ${t.sid} has reached maxRequestedCallbacks (${t.maxRequestedCallbacks})`);
    }
    const at = Math.max(now, this.now);
    const appointment = req.appointmentTime ?? null;
    if (appointment !== null) this.checkSlot(t, appointment, at, null);
    if (req.originalTaskCreatedAt !== undefined && req.originalTaskCreatedAt !== null && (!Number.isFinite(req.originalTaskCreatedAt) || req.originalTaskCreatedAt > at)) {
      throw new CallbackError('InvalidParameters', 'OriginalTaskCreatedAt must be an instant not after now', 'OriginalTaskCreatedAt');
    }
    // Validation done: from here on the request is accepted.
    this.tick(now);
    const sid = this.newSid('CB');
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
      const ecbt = Math.ceil(clampEcbt(t, this.estimate(t, c, at + t.minimumCallbackDelaySeconds * 1000)));
      c.ecbtSeconds = ecbt;
      c.currentEcbtSeconds = ecbt;
      c.estimatedFor = at + ecbt * 1000;
      c.scheduledFor = this.launchGate(t, c);
    } else {
      this.placeInSlot(t, c, appointment);
    }
    this.callbacks.set(sid, c);
    this.active.add(c);
    this.touch(c);
    this.emitFor(c, c.status, {});
    this.launch(t);
    return { ...this.take(), callback: c };
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
        at: this.now,
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
    const c = this.callbackOrThrow(callbackSid);
    if (isTerminalStatus(c.status)) throw new CallbackError('InvalidRequest', `callback ${c.sid} is already ${c.status}`, 'Status');
    if (c.status === 'agent_connected') throw new CallbackError('InvalidRequest', `callback ${c.sid} is connected to an agent`, 'Status');
    this.tick(now);
    this.endAttempt(c, 'canceled');
    this.finish(c, 'canceled', reason);
    this.launchAll();
    return this.take();
  }

  /**
   * The caller picks a new time (§1.3 `rescheduled` → `scheduled`): allowed while scheduled,
   * registered, in retry_wait or at the readiness prompt (customer_answered). The slot rules of
   * {@link register} apply. Throws `NotFound`, `InvalidRequest` (status), `InvalidParameters` /
   * `RequestRefusedDueToOperationMode` (slot).
   */
  reschedule(callbackSid: string, appointmentTime: number, now: number): CenterOutcome {
    const c = this.callbackOrThrow(callbackSid);
    if (!['scheduled', 'registered', 'retry_wait', 'customer_answered'].includes(c.status)) {
      throw new CallbackError('InvalidRequest', `callback ${c.sid} is ${c.status} and cannot be rescheduled`, 'Status');
    }
    const t = this.targets.get(c.callTargetSid) as CallTarget;
    this.checkSlot(t, appointmentTime, Math.max(now, this.now), c.sid);
    this.tick(now);
    if (c.status === 'customer_answered') this.endAttempt(c, 'rescheduled');
    this.transition(c, 'rescheduled', null, { appointment_time: Math.floor(appointmentTime / 1000) });
    c.type = 'scheduled';
    this.placeInSlot(t, c, appointmentTime);
    this.transition(c, 'scheduled', null, {});
    this.launchAll();
    return this.take();
  }

  // ───────────────────────────── reports from the driver ─────────────────────────────

  /** The driver executed a create-task effect: `taskSid` is the task it created. Unknown or stale callbacks are ignored. */
  taskCreated(callbackSid: string, taskSid: string, now: number): CenterOutcome {
    this.tick(now);
    const c = this.callbacks.get(callbackSid);
    if (c !== undefined && c.taskRequested) {
      this.touch(c);
      c.taskRequested = false;
      this.byTask.set(taskSid, c.sid);
      this.tasksOf.set(c.sid, [...(this.tasksOf.get(c.sid) ?? []), taskSid]);
      if (isTerminalStatus(c.status)) {
        // Canceled while the effect was in flight: take the task back out.
        this.effect(c, 'cancel_task', { type: 'updateTask', at: this.now, taskSid, assignmentStatus: 'canceled', reason: `callback ${c.status}` });
      } else {
        c.taskSid = taskSid;
      }
    }
    return this.take();
  }

  /** The engine refused a create-task effect (`message`): the attempt fails as a telephony error. */
  taskCreationFailed(callbackSid: string, message: string, now: number): CenterOutcome {
    this.tick(now);
    const c = this.callbacks.get(callbackSid);
    if (c !== undefined && c.taskRequested && !isTerminalStatus(c.status)) {
      this.touch(c);
      c.taskRequested = false;
      this.endAttempt(c, 'failed');
      this.finish(c, 'failed', 'telephony_error', { message });
    }
    return this.take();
  }

  /**
   * Feeds one engine event (in order). Updates the target statistics (services, abandonment,
   * agent answers) and moves callbacks whose task it concerns: reservation created / accepted /
   * rejected / timed out, task canceled / completed.
   */
  observe(e: EngineEvent): CenterOutcome {
    this.tick(e.at);
    const d = e.data;
    const taskSid = typeof d['task_sid'] === 'string' ? d['task_sid'] : e.resourceType === 'task' ? e.resourceSid : null;
    const queueSid = typeof d['task_queue_sid'] === 'string' ? d['task_queue_sid'] : null;
    const targetSid = queueSid === null ? undefined : this.targetByQueue.get(queueSid);
    const st = targetSid === undefined ? undefined : this.stats.get(targetSid);
    if (taskSid !== null) {
      if (e.eventType === 'reservation.accepted' && st !== undefined && targetSid !== undefined) {
        this.inService.set(taskSid, { at: e.at, targetSid });
        st.answers.push(e.at);
        while (st.answers.length > 0 && (st.answers[0] as number) <= e.at - ANSWER_WINDOW_MS) st.answers.shift();
        st.waitedSeconds += typeof d['task_age'] === 'number' ? d['task_age'] : 0;
      } else if (e.eventType === 'task.completed') {
        const s = this.inService.get(taskSid);
        if (s !== undefined) {
          this.inService.delete(taskSid);
          const ts = this.stats.get(s.targetSid);
          if (ts !== undefined) {
            ts.services.push((e.at - s.at) / 1000);
            if (ts.services.length > 100) ts.services.shift();
          }
        }
      } else if (e.eventType === 'task.canceled' && st !== undefined && !this.byTask.has(taskSid) && !this.inService.delete(taskSid)) {
        const age = typeof d['task_age'] === 'number' ? d['task_age'] : 0;
        st.waitedSeconds += age;
        if (age > 0 && d['task_canceled_reason'] !== 'Opted to request a callback') st.abandonments += 1;
      } else if (e.eventType === 'task.deleted' || e.eventType === 'task.system-deleted') {
        this.inService.delete(taskSid);
      }
      const cbSid = this.byTask.get(taskSid);
      const c = cbSid === undefined ? undefined : this.callbacks.get(cbSid);
      if (c !== undefined && c.taskSid === taskSid && !isTerminalStatus(c.status)) this.onTaskEvent(c, e);
    }
    this.launchAll();
    return this.take();
  }

  /**
   * A dial effect's outcome (idempotency key). Outcomes for unknown keys, for attempts already
   * settled, or for callbacks no longer waiting on that dial are ignored (a re-delivered outcome
   * changes nothing).
   */
  dialOutcome(key: string, outcome: DialOutcome, now: number): CenterOutcome {
    if (!DIAL_OUTCOMES.includes(outcome)) throw new CallbackError('InvalidParameters', `outcome must be one of ${DIAL_OUTCOMES.join(', ')}`, 'outcome');
    this.tick(now);
    const sid = this.byKey.get(key);
    const c = sid === undefined ? undefined : this.callbacks.get(sid);
    const attempt = c?.attempts[c.attempts.length - 1];
    if (c !== undefined && attempt !== undefined && attempt.dialKey === key && attempt.endedAt === null && (c.status === 'dialing' || c.status === 'dialing_customer')) {
      this.touch(c);
      c.dialDeadline = null;
      this.onDialOutcome(c, attempt, outcome);
    }
    this.launchAll();
    return this.take();
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
    const sid = this.byKey.get(key);
    const c = sid === undefined ? undefined : this.callbacks.get(sid);
    const a = c?.attempts.find((x) => x.dialKey === key);
    if (c === undefined || a === undefined || a.callSid === callSid) return false;
    this.touch(c);
    a.callSid = callSid;
    return true;
  }

  /** CF: the customer hung up while waiting for an agent (§2.1 step 6). Ignored in other states. */
  customerHungUp(callbackSid: string, now: number): CenterOutcome {
    this.tick(now);
    const c = this.callbacks.get(callbackSid);
    if (c !== undefined && c.status === 'customer_waiting') {
      const t = this.targets.get(c.callTargetSid) as CallTarget;
      // The customer is gone: nothing to hang up when the callback now ends (see finish).
      const a = c.attempts[c.attempts.length - 1];
      if (a !== undefined) a.result = 'customer_hung_up';
      this.cancelTask(c, 'customer_abandoned_return');
      this.endAttempt(c, 'customer_hung_up');
      if (t.retry.onReturnAbandon) this.retryOrFail(c, t, t.retry.delaySeconds.noAnswer, 'customer_abandoned_return');
      else this.finish(c, 'failed', 'customer_declined');
    }
    this.launchAll();
    return this.take();
  }

  /**
   * Agent-answer feedback (§3.2): an agent picked up a callback for `phoneNumber`. For an AF
   * callback whose reservation is still pending this acknowledges it (an effect accepts the
   * reservation); only the newest such callback gets it. Returns the callback SID it applied to.
   */
  agentAnswer(phoneNumber: string, now: number): CenterOutcome & { callbackSid: string | null } {
    const phone = normalizeNumber(phoneNumber, 'ani');
    this.tick(now);
    let best: CallbackRequest | null = null;
    for (const c of this.active) {
      if (c.phoneNumber !== phone || c.status !== 'dialing' || c.strategy !== 'agent_first' || c.reservationSid === null) continue;
      if (best === null || c.createdAt > best.createdAt) best = c;
    }
    if (best !== null && best.taskSid !== null && best.reservationSid !== null) {
      this.effect(best, 'accept_reservation', { type: 'updateReservation', at: this.now, reservationSid: best.reservationSid, taskSid: best.taskSid, reservationStatus: 'accepted' });
    }
    return { ...this.take(), callbackSid: best?.sid ?? null };
  }

  /** The live queue of a target, as the driver reads it from the engine now. Recomputes ECBTs; may launch callbacks. */
  setQueueView(targetSid: string, view: QueueView, now: number): CenterOutcome {
    const t = this.targetOrThrow(targetSid);
    this.tick(now);
    this.views.set(t.sid, {
      waiting: view.waiting.map((w) => ({ ...w })),
      idleServers: view.idleServers,
      busyServers: view.busyServers,
      staffed: view.staffed,
      ...(view.busyAvailableServers !== undefined ? { busyAvailableServers: view.busyAvailableServers } : {}),
    });
    for (const c of this.active) {
      if (c.callTargetSid !== t.sid || c.type !== 'asap' || (c.status !== 'registered' && c.status !== 'retry_wait')) continue;
      const e = Math.ceil(this.estimate(t, c, c.createdAt + t.minimumCallbackDelaySeconds * 1000));
      if (c.currentEcbtSeconds === null || Math.abs(e - c.currentEcbtSeconds) > ECBT_CHANGE_SECONDS) {
        this.emitEvent(c, 'callback.ecbt.changed', { previous_ecbt: c.currentEcbtSeconds, ecbt: e });
        c.currentEcbtSeconds = e;
        this.touch(c);
      }
    }
    this.launch(t);
    return this.take();
  }

  // ───────────────────────────── time ─────────────────────────────

  /** The earliest instant (epoch ms) at which {@link advanceTo} has work, or null. */
  nextDeadline(): number | null {
    let next = Infinity;
    for (const c of this.active) {
      const d = this.deadlineOf(c);
      if (d !== null && d < next) next = d;
    }
    return next === Infinity ? null : next;
  }

  /**
   * Fires every timer due up to `now` in time order (scheduled → registered at slot start − lead
   * time, retry_wait → dialing, AF acknowledgement timeouts, dial timeouts, expiry) and launches
   * what pacing allows. `now` before the center's time is treated as its time.
   */
  advanceTo(now: number): CenterOutcome {
    for (;;) {
      let due: CallbackRequest | null = null;
      let dueAt = Infinity;
      for (const c of this.active) {
        const d = this.deadlineOf(c);
        if (d !== null && d <= now && (d < dueAt || (d === dueAt && due !== null && c.sid < due.sid))) {
          due = c;
          dueAt = d;
        }
      }
      if (due === null) break;
      this.tick(dueAt);
      this.fire(due);
      this.launchAll();
    }
    this.tick(now);
    this.launchAll();
    return this.take();
  }

  private deadlineOf(c: CallbackRequest): number | null {
    if (isTerminalStatus(c.status)) return null;
    let d = Infinity;
    if (c.connectedAt === null) d = c.expiresAt;
    if (c.status === 'scheduled') d = Math.min(d, c.scheduledFor);
    if (c.reminderAt !== null) d = Math.min(d, c.reminderAt);
    if ((c.status === 'registered' || c.status === 'retry_wait') && c.scheduledFor > this.now) d = Math.min(d, c.scheduledFor);
    if (c.status === 'registered' || c.status === 'retry_wait') {
      const t = this.targets.get(c.callTargetSid) as CallTarget;
      // Wake up when a paced CF callback's quote is about to run out (see launch()).
      const due = this.promiseDue(c);
      if (due !== null && due > this.now) d = Math.min(d, due);
      if (t.hoursOfOperation !== null) {
        const h = openingAt(t, this.now);
        if (!h.open && h.opensAt !== null && c.scheduledFor <= this.now) d = Math.min(d, h.opensAt);
        if (h.open && t.onClose === 'expire' && c.type === 'asap' && h.closesAt !== null) d = Math.min(d, h.closesAt);
      }
    }
    if (c.ackDeadline !== null) d = Math.min(d, c.ackDeadline);
    if (c.dialDeadline !== null) d = Math.min(d, c.dialDeadline);
    return d === Infinity ? null : d;
  }

  private fire(c: CallbackRequest): void {
    this.touch(c);
    const now = this.now;
    const t = this.targets.get(c.callTargetSid) as CallTarget;
    if (c.dialDeadline !== null && c.dialDeadline <= now) {
      // No outcome came back (a lost webhook, a restart): a telephony failure. Never re-dialed.
      c.dialDeadline = null;
      const attempt = c.attempts[c.attempts.length - 1] as Attempt;
      this.onDialOutcome(c, attempt, 'failed');
      return;
    }
    if (c.ackDeadline !== null && c.ackDeadline <= now) {
      // AF: the agent did not acknowledge in time — reject the reservation; the task goes back
      // to waiting with its priority and virtual start unchanged (§2.3 step 2).
      c.ackDeadline = null;
      if (c.reservationSid !== null && c.taskSid !== null) {
        this.effect(c, 'reject_reservation', { type: 'updateReservation', at: now, reservationSid: c.reservationSid, taskSid: c.taskSid, reservationStatus: 'rejected' });
        this.emitEvent(c, 'callback.agent_ack_timeout', { reservation_sid: c.reservationSid, worker_sid: c.workerSid });
      }
      c.reservationSid = null;
      c.workerSid = null;
      return;
    }
    if (c.reminderAt !== null && c.reminderAt <= now) {
      // §1.6: reminder before the slot, after re-checking the callback is still pending.
      c.reminderAt = null;
      if (c.status === 'scheduled') this.emitEvent(c, 'callback.reminder.due', { slot_start: Math.floor(c.window.start / 1000) });
      return;
    }
    if (c.connectedAt === null && c.expiresAt <= now) {
      this.endAttempt(c, 'expired');
      this.finish(c, 'expired', c.type === 'scheduled' ? 'window_passed' : 'asap_expiry');
      return;
    }
    if (c.status === 'scheduled' && c.scheduledFor <= now) {
      c.scheduledFor = Math.max(now, this.slotLaunch(t, c));
      this.transition(c, 'registered', 'window_open', {});
      return;
    }
    // A launch time or an opening: nothing to do here, the launch pass that follows decides.
    if (c.scheduledFor <= now) c.scheduledFor = now;
  }

  // ───────────────────────────── launching (§2.1, §2.2, §2.3) ─────────────────────────────

  private launchAll(): void {
    for (const t of this.targets.values()) this.launch(t);
  }

  private launch(t: CallTarget): void {
    if (!t.processCallbacks) return;
    const now = this.now;
    const hours = openingAt(t, now);
    if (!hours.open && t.onClose === 'expire') {
      // §1.4 onClose "expire": ASAP callbacks still waiting when the target closes expire.
      for (const c of [...this.active]) {
        if (c.callTargetSid === t.sid && c.type === 'asap' && (c.status === 'registered' || c.status === 'retry_wait')) this.finish(c, 'expired', 'closed');
      }
      return;
    }
    if (!hours.open) return;
    const ready: CallbackRequest[] = [];
    let inFlight = 0;
    for (const c of this.active) {
      if (c.callTargetSid !== t.sid) continue;
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
        this.startAgentFirst(t, c);
        continue;
      }
      if (Number.isNaN(k)) k = this.pacing(t) - inFlight;
      if (k > 0) {
        this.dialCustomer(t, c, 'dialing');
        k -= 1;
        continue;
      }
      // Pacing says no agent will be free within the lead time. A callback whose quoted range
      // is about to run out is dialed anyway if a busy slot of the pool is left to claim: its
      // return task outranks the live callers (returnPriority), so it takes the next member who
      // frees up ([DECISION] "Keeping the quote", docs/callbacks.md).
      const due = this.promiseDue(c);
      if (due === null || due > now) continue;
      if (Number.isNaN(claimable)) claimable = this.claimableSlots(t) - inFlight;
      if (claimable <= 0) continue;
      this.dialCustomer(t, c, 'dialing');
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
  private promiseDue(c: CallbackRequest): number | null {
    if (!this.holdUntilQuote || c.type !== 'asap' || c.strategy !== 'customer_first' || c.ecbtSeconds === null || c.attempts.length > 0) return null;
    return c.createdAt + ecbtRange(c.ecbtSeconds).highMinutes * 60_000;
  }

  /**
   * Busy slots of the pool that no return task or CF dial has claimed yet: how many due
   * callbacks may be dialed without a free agent in sight. Each one waits for the next member
   * who frees up. Only members who will take another task count (`busyAvailableServers`): a
   * pool whose last agents are finishing calls before going offline claims nothing, so nobody
   * is dialed into an empty center.
   */
  private claimableSlots(t: CallTarget): number {
    const view = this.views.get(t.sid);
    if (view === undefined) return 0;
    let returnWaiting = 0;
    for (const w of view.waiting) if (this.byTask.has(w.taskSid)) returnWaiting += 1;
    return Math.min(t.maxConcurrentOutbound, view.busyAvailableServers ?? view.busyServers) - returnWaiting;
  }

  /**
   * CF pacing (§2.2): min(maxConcurrentOutbound, idle + expected frees within the lead time)
   * − return tasks waiting. Expected frees = busy × (1 − e^{−μ·lead}) (exponential services),
   * rounded to the nearest whole slot. Without a queue view only the outbound cap applies.
   */
  private pacing(t: CallTarget): number {
    const view = this.views.get(t.sid);
    if (view === undefined) return t.maxConcurrentOutbound;
    const st = this.stats.get(t.sid) ?? emptyStats();
    const aht = st.services.length === 0 ? 0 : st.services.reduce((a, b) => a + b, 0) / st.services.length;
    const lead = this.leadSeconds(t.sid);
    const frees = aht > 0 ? view.busyServers * (1 - Math.exp(-lead / aht)) : 0;
    let returnWaiting = 0;
    for (const w of view.waiting) if (this.byTask.has(w.taskSid)) returnWaiting += 1;
    return Math.min(t.maxConcurrentOutbound, Math.round(view.idleServers + frees)) - returnWaiting;
  }

  private newAttempt(c: CallbackRequest, leg: Attempt['leg']): Attempt {
    this.touch(c);
    const a: Attempt = { n: c.attempts.length + 1, leg, startedAt: this.now, endedAt: null, result: null, dialKey: null, dialedAt: null, callSid: null };
    c.attempts.push(a);
    return a;
  }

  private dialCustomer(t: CallTarget, c: CallbackRequest, status: 'dialing' | 'dialing_customer'): void {
    this.touch(c);
    const a = status === 'dialing' ? this.newAttempt(c, 'customer') : (c.attempts[c.attempts.length - 1] as Attempt);
    if (status === 'dialing_customer') a.leg = 'customer';
    const key = `${c.sid}:${a.n}`;
    // Recorded before the effect leaves: a restart sees the key and never dials it again.
    a.dialKey = key;
    a.dialedAt = this.now;
    this.byKey.set(key, c.sid);
    if (a.n === 1) this.learnPunctuality(t, c, a);
    c.dialDeadline = this.now + t.ringTimeoutSeconds * 1000 + this.dialGraceMs;
    this.transition(c, status, null, { attempt: a.n, dial_key: key });
    if (status === 'dialing' && a.n === t.retry.maxRetries + 1 && a.n > 1) this.emitEvent(c, 'callback.final_attempt', { attempt: a.n });
    this.effects.push({ kind: 'dial', callbackSid: c.sid, key, attempt: a.n, to: c.phoneNumber, from: t.callerId, ringTimeoutSeconds: t.ringTimeoutSeconds });
  }

  private startAgentFirst(t: CallTarget, c: CallbackRequest): void {
    const a = this.newAttempt(c, 'agent');
    this.transition(c, 'dialing', null, { attempt: a.n });
    if (a.n === t.retry.maxRetries + 1 && a.n > 1) this.emitEvent(c, 'callback.final_attempt', { attempt: a.n });
    this.createTask(t, c, 'callback_agent_first');
  }

  private createTask(t: CallTarget, c: CallbackRequest, type: 'callback_return' | 'callback_agent_first'): void {
    this.touch(c);
    c.taskRequested = true;
    const command: Command = {
      type: 'createTask',
      at: this.now,
      // conference_name: where the customer of this attempt is (CF) or will be (AF) bridged.
      attributes: JSON.stringify({ type, callback_sid: c.sid, from: c.phoneNumber, to: t.callerId, call_target_sid: t.sid, context: c.context, conference_name: callbackConferenceName(`${c.sid}:${c.attempts.length}`) }),
      priority: c.priority,
      virtualStartTime: Math.min(c.virtualStartTime, this.now),
      taskChannel: t.taskChannel,
      timeoutS: Math.max(1, Math.min(1_209_600, Math.ceil((c.expiresAt - this.now) / 1000))),
      ...(t.workflowSid !== null ? { workflowSid: t.workflowSid } : { taskQueueSid: t.taskQueueSid }),
    };
    this.effects.push({ kind: 'engine', callbackSid: c.sid, purpose: 'create_task', command });
  }

  // ───────────────────────────── transitions ─────────────────────────────

  private onDialOutcome(c: CallbackRequest, a: Attempt, outcome: DialOutcome): void {
    this.touch(c);
    const t = this.targets.get(c.callTargetSid) as CallTarget;
    const st = this.stats.get(t.sid) ?? emptyStats();
    const d = t.retry.delaySeconds;
    if (c.status === 'dialing_customer') {
      // AF: the agent is holding while the customer rings (§2.3 steps 3–4).
      if (outcome === 'ready' || outcome === 'not_ready') {
        a.result = outcome;
        c.connectedAt = this.now;
        this.transition(c, 'agent_connected', null, { attempt: a.n, worker_sid: c.workerSid });
        return;
      }
      if (outcome === 'voicemail' && t.voicemailPolicy !== 'retry') {
        a.result = outcome;
        this.finishTask(c, 'callback_voicemail');
        this.endAttempt(c, outcome);
        this.finish(c, 'completed', t.voicemailPolicy === 'complete' ? 'voicemail' : 'voicemail_message_left');
        return;
      }
      this.finishTask(c, 'callback_no_answer');
      this.endAttempt(c, outcome);
      if (outcome === 'invalid_number') return this.finish(c, 'failed', 'invalid_number');
      if (outcome === 'declined') return this.finish(c, 'failed', 'customer_declined');
      return this.retryOrFail(c, t, outcome === 'busy' ? d.busy : outcome === 'voicemail' ? d.voicemail : d.noAnswer, outcome);
    }
    // CF (§2.1 steps 2–4).
    switch (outcome) {
      case 'ready': {
        a.endedAt = null;
        st.leadSamples.push((this.now - a.startedAt) / 1000);
        if (st.leadSamples.length > 21) st.leadSamples.shift();
        this.transition(c, 'customer_answered', null, { attempt: a.n });
        this.transition(c, 'customer_waiting', null, { attempt: a.n });
        this.createTask(t, c, 'callback_return');
        return;
      }
      case 'not_ready':
        this.transition(c, 'customer_answered', null, { attempt: a.n });
        this.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey as string });
        this.endAttempt(c, outcome);
        return this.retryOrFail(c, t, d.notReady, 'not_ready');
      case 'declined':
        this.transition(c, 'customer_answered', null, { attempt: a.n });
        this.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey as string });
        this.endAttempt(c, outcome);
        return this.finish(c, 'failed', 'customer_declined');
      case 'voicemail':
        this.endAttempt(c, outcome);
        if (t.voicemailPolicy === 'retry') return this.retryOrFail(c, t, d.voicemail, 'voicemail');
        return this.finish(c, 'completed', t.voicemailPolicy === 'complete' ? 'voicemail' : 'voicemail_message_left');
      case 'invalid_number':
        this.endAttempt(c, outcome);
        return this.finish(c, 'failed', 'invalid_number');
      case 'busy':
        this.endAttempt(c, outcome);
        return this.retryOrFail(c, t, d.busy, 'busy');
      case 'no_answer':
        this.endAttempt(c, outcome);
        return this.retryOrFail(c, t, d.noAnswer, 'no_answer');
      case 'failed':
        this.endAttempt(c, outcome);
        return this.retryOrFail(c, t, d.busy, 'telephony_error');
    }
  }

  private onTaskEvent(c: CallbackRequest, e: EngineEvent): void {
    this.touch(c);
    const t = this.targets.get(c.callTargetSid) as CallTarget;
    const d = e.data;
    switch (e.eventType) {
      case 'reservation.created':
        if (c.strategy === 'agent_first' && c.status === 'dialing') {
          c.reservationSid = e.resourceSid;
          c.workerSid = typeof d['worker_sid'] === 'string' ? d['worker_sid'] : null;
          c.ackDeadline = this.now + t.agentAckTimeoutSeconds * 1000;
        }
        return;
      case 'reservation.accepted':
        if (c.strategy === 'agent_first' && c.status === 'dialing') {
          c.reservationSid = e.resourceSid;
          c.workerSid = typeof d['worker_sid'] === 'string' ? d['worker_sid'] : null;
          c.ackDeadline = null;
          this.transition(c, 'agent_reserved', null, { reservation_sid: e.resourceSid, worker_sid: c.workerSid });
          this.dialCustomer(t, c, 'dialing_customer');
        } else if (c.status === 'customer_waiting') {
          c.reservationSid = e.resourceSid;
          c.workerSid = typeof d['worker_sid'] === 'string' ? d['worker_sid'] : null;
          c.connectedAt = this.now;
          this.transition(c, 'agent_connected', null, { reservation_sid: e.resourceSid, worker_sid: c.workerSid });
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
          this.endAttempt(c, 'completed');
          this.finish(c, 'completed', null, { task_completed_reason: d['task_completed_reason'] ?? null });
        } else if (c.status === 'dialing_customer' || c.status === 'agent_reserved') {
          // AF: the agent left before the customer answered — the agent leg failed. Drop the
          // customer leg and try again after the agent-leg delay (§1.4 retry.delaySeconds.agentLeg).
          c.taskSid = null;
          const a = c.attempts[c.attempts.length - 1];
          if (a?.dialKey !== null && a !== undefined && a.endedAt === null) this.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey });
          this.endAttempt(c, 'agent_left');
          this.retryOrFail(c, t, t.retry.delaySeconds.agentLeg, 'agent_left');
        }
        return;
      case 'task.canceled':
      case 'task.deleted':
      case 'task.system-deleted':
        // The task left the queue without the center asking (TTL, an admin). A deletion after
        // completion is retention housekeeping: by then the callback no longer points at it.
        if (e.eventType !== 'task.canceled' && d['task_assignment_status'] === 'completed') return;
        c.taskSid = null;
        this.endAttempt(c, 'task_canceled');
        if (c.expiresAt <= this.now) this.finish(c, 'expired', 'asap_expiry');
        else this.finish(c, 'failed', 'telephony_error', { task_canceled_reason: d['task_canceled_reason'] ?? null });
        return;
      default:
        return;
    }
  }

  /**
   * At the first ring of a first attempt: the launch → ring sample (when to launch) and the
   * ECBT factor sample (§3.3): actual ÷ quoted, EWMA 0.05, clamped to 0.5–2. With
   * `holdUntilQuote` a ring inside the quoted range counts as ratio 1, so the factor grows only
   * with lateness and relaxes back otherwise. Retries are left out: their delay is the
   * customer's, not the line's (Mindful's punctuality also uses the first attempt, §1.6).
   */
  private learnPunctuality(t: CallTarget, c: CallbackRequest, a: Attempt): void {
    const st = this.stats.get(t.sid);
    if (st === undefined || a.dialedAt === null) return;
    st.ringSamples.push((a.dialedAt - a.startedAt) / 1000);
    if (st.ringSamples.length > 21) st.ringSamples.shift();
    if (c.ecbtSeconds === null || c.ecbtSeconds <= 0 || c.type !== 'asap') return;
    const actual = (a.dialedAt - c.createdAt) / 1000;
    const range = ecbtRange(c.ecbtSeconds);
    const ratio = this.holdUntilQuote && actual <= range.highMinutes * 60 ? 1 : actual / c.ecbtSeconds;
    st.factor = Math.min(2, Math.max(0.5, 0.95 * st.factor + 0.05 * ratio));
  }

  private retryOrFail(c: CallbackRequest, t: CallTarget, delaySeconds: number, reason: string): void {
    this.touch(c);
    c.taskSid = null;
    c.reservationSid = null;
    c.workerSid = null;
    c.ackDeadline = null;
    c.dialDeadline = null;
    if (c.attempts.length >= t.retry.maxRetries + 1) {
      this.finish(c, 'failed', 'max_attempts', { last_result: reason });
      return;
    }
    c.scheduledFor = this.now + delaySeconds * 1000;
    this.transition(c, 'retry_wait', reason, { retry_at: Math.floor(c.scheduledFor / 1000), attempts: c.attempts.length });
  }

  private endAttempt(c: CallbackRequest, result: string): void {
    this.touch(c);
    const a = c.attempts[c.attempts.length - 1];
    if (a !== undefined && a.endedAt === null) {
      a.endedAt = this.now;
      a.result ??= result;
    }
  }

  /**
   * Moves to a terminal status: cancels a waiting task; hangs up a live dial, and a customer-first
   * customer holding for an agent (`customer_waiting`: canceled, expired, or the return task
   * canceled from outside) unless that customer already hung up.
   */
  private finish(c: CallbackRequest, status: 'completed' | 'failed' | 'expired' | 'canceled', reason: string | null, extra: Record<string, EventValue> = {}): void {
    if (status !== 'completed') {
      const holding = c.status === 'customer_waiting';
      if (c.taskSid !== null) this.cancelTask(c, `callback ${status}${reason === null ? '' : `: ${reason}`}`);
      const a = c.attempts[c.attempts.length - 1];
      const onLine = c.dialDeadline !== null || (holding && a?.result !== 'customer_hung_up');
      if (onLine && a?.dialKey !== null && a !== undefined) this.effects.push({ kind: 'hangup', callbackSid: c.sid, key: a.dialKey });
    }
    c.dialDeadline = null;
    c.ackDeadline = null;
    this.transition(c, status, reason, extra);
  }

  /** Cancels the callback's task if it is still waiting, completes it if an agent holds it. */
  private cancelTask(c: CallbackRequest, reason: string): void {
    if (c.taskSid === null) return;
    // Waiting (pending, or reserved but not accepted): cancel. Accepted by an agent: complete.
    if (c.status === 'customer_waiting' || c.status === 'dialing') {
      this.effect(c, 'cancel_task', { type: 'updateTask', at: this.now, taskSid: c.taskSid, assignmentStatus: 'canceled', reason });
    } else {
      this.finishTask(c, reason);
    }
    c.taskSid = null;
  }

  /** AF: the agent's task ends with a wrap-up reason (`callback_no_answer`, §2.3 step 4). */
  private finishTask(c: CallbackRequest, reason: string): void {
    if (c.taskSid === null) return;
    this.effect(c, 'complete_task', { type: 'updateTask', at: this.now, taskSid: c.taskSid, assignmentStatus: 'completed', reason });
    c.taskSid = null;
  }

  private transition(c: CallbackRequest, status: CallbackStatus, reason: string | null, extra: Record<string, EventValue>): void {
    this.touch(c);
    c.status = status;
    c.statusReason = reason;
    c.updatedAt = this.now;
    if (isTerminalStatus(status)) {
      this.active.delete(c);
      this.ended.push(c);
    }
    this.emitFor(c, status, extra);
  }

  private emitFor(c: CallbackRequest, status: CallbackStatus, extra: Record<string, EventValue>): void {
    this.emitEvent(c, `callback.${status}`, extra);
  }

  private emitEvent(c: CallbackRequest, eventType: string, extra: Record<string, EventValue>): void {
    this.touch(c);
    const data: Record<string, EventValue> = {
      callback_sid: c.sid,
      call_target_sid: c.callTargetSid,
      phone_number: c.phoneNumber,
      type: c.type,
      strategy: c.strategy,
      status: c.status,
      status_reason: c.statusReason,
      attempts: c.attempts.length,
      task_sid: c.taskSid,
      ecbt: c.ecbtSeconds,
      estimated_for: Math.floor(c.estimatedFor / 1000),
      ...extra,
    };
    this.events.push({ sid: this.newSid('EV'), eventType, at: this.now, resourceType: 'callback', resourceSid: c.sid, data });
  }

  private effect(c: CallbackRequest, purpose: Extract<CallbackEffect, { kind: 'engine' }>['purpose'], command: Command): void {
    this.effects.push({ kind: 'engine', callbackSid: c.sid, purpose, command });
  }

  // ───────────────────────────── slots ─────────────────────────────

  /**
   * Launch time of an ASAP callback: not before the minimum callback delay and, with
   * `holdUntilQuote`:
   * - customer-first: 35 % into the quoted range minus the usual launch → ring time (CF dials
   *   at launch), so the customer's phone rings inside the range they heard;
   * - agent-first: the start of the quoted range. The customer is dialed only once an agent
   *   accepted, so the ring comes at launch + the wait for an agent: launching at the low bound
   *   means the ring is never early and the whole range is left for that wait ([DECISION]
   *   "Agent-first launch", docs/callbacks.md).
   */
  private launchGate(t: CallTarget, c: CallbackRequest): number {
    let gate = c.createdAt + t.minimumCallbackDelaySeconds * 1000;
    if (this.holdUntilQuote && c.ecbtSeconds !== null) {
      const r = ecbtRange(c.ecbtSeconds);
      if (c.strategy === 'agent_first') return Math.max(gate, c.createdAt + r.lowMinutes * 60_000);
      const aim = (r.lowMinutes + 0.35 * (r.highMinutes - r.lowMinutes)) * 60;
      gate = Math.max(gate, c.createdAt + (aim - this.ringSeconds(t)) * 1000);
    }
    return gate;
  }

  /** Usual launch → customer ring of a target, s: median of recent first attempts; before any, 0 (CF dials at launch) or 30 s (AF). */
  ringSeconds(t: CallTarget): number {
    const s = this.stats.get(t.sid);
    if (s !== undefined && s.ringSamples.length > 0) return median(s.ringSamples);
    return t.strategy === 'customer_first' ? 0 : 30;
  }

  private checkSlot(t: CallTarget, appointment: number, now: number, ignoreSid: string | null): void {
    const field = 'AppointmentTime';
    if (!Number.isFinite(appointment)) throw new CallbackError('InvalidParameters', `${field} must be an instant (epoch ms)`, field);
    const slotMs = t.scheduling.slotMinutes * 60_000;
    if (appointment % slotMs !== 0) throw new CallbackError('InvalidParameters', `${field} must start a ${t.scheduling.slotMinutes}-minute slot`, field);
    if (appointment < now + t.minimumCallbackDelaySeconds * 1000) throw new CallbackError('InvalidParameters', `${field} must be at least ${t.minimumCallbackDelaySeconds} s from now`, field);
    if (appointment > now + t.scheduling.daysOut * 86_400_000) throw new CallbackError('InvalidParameters', `${field} must be within ${t.scheduling.daysOut} days`, field);
    if (!openingAt(t, appointment).open) throw new CallbackError('InvalidParameters', `${field} falls outside the hours of operation`, field);
    if (t.scheduling.slotCapacity !== 'auto') {
      let used = 0;
      for (const c of this.active) {
        if (c.callTargetSid === t.sid && c.type === 'scheduled' && c.window.start === appointment && c.sid !== ignoreSid) used += 1;
      }
      if (used >= t.scheduling.slotCapacity) throw new CallbackError('RequestRefusedDueToOperationMode', `the slot at ${new Date(appointment).toISOString()} is full`, field);
    }
  }

  /**
   * When a scheduled callback joins the line and launches: 60 s into its slot minus the usual
   * launch → ring time, so the customer's phone rings just inside the slot (the spec joins at
   * slot start − lead time, at the very edge; docs/callbacks.md).
   */
  private slotLaunch(t: CallTarget, c: CallbackRequest): number {
    return c.window.start + SLOT_AIM_MS - Math.round(this.ringSeconds(t) * 1000);
  }

  private placeInSlot(t: CallTarget, c: CallbackRequest, appointment: number): void {
    c.window = { start: appointment, end: appointment + t.scheduling.slotMinutes * 60_000 };
    c.estimatedFor = appointment;
    c.ecbtSeconds = null;
    c.currentEcbtSeconds = null;
    c.scheduledFor = Math.max(this.now, this.slotLaunch(t, c));
    c.virtualStartTime = c.scheduledFor;
    const remindAt = appointment - t.scheduling.reminderMinutes * 60_000;
    c.reminderAt = t.scheduling.reminderMinutes > 0 && remindAt > this.now ? remindAt : null;
    c.expiresAt = appointment + t.asapExpiryHours * 3_600_000;
  }

  // ───────────────────────────── snapshot ─────────────────────────────

  /**
   * The whole center as plain JSON data. With `{ callbacks: false }` the `callbacks` list is
   * empty: the small part a store writes on every operation while it keeps callbacks in rows of
   * their own ({@link takeChanges}); {@link restore} takes the two back together.
   */
  snapshot(options: { callbacks?: boolean } = {}): CenterSnapshot {
    return structuredClone({
      version: SNAPSHOT_VERSION,
      now: this.now,
      targets: [...this.targets.values()],
      callbacks: options.callbacks === false ? [] : [...this.callbacks.values()],
      stats: [...this.stats.entries()],
      views: [...this.views.entries()],
      inService: [...this.inService.entries()],
    });
  }

  /**
   * A center that continues exactly where `snapshot` was taken (callbacks in the snapshot's
   * order, which becomes the registration order of {@link listCallbacks}). Throws on another
   * version. Terminal callbacks already past the retention are pruned by the next operation.
   */
  static restore(snapshot: CenterSnapshot, options: CenterOptions): CallbackCenter {
    if (snapshot.version !== SNAPSHOT_VERSION) throw new Error(`callback center snapshot version ${String(snapshot.version)} is not supported`);
    const s = structuredClone(snapshot);
    const center = new CallbackCenter({ ...options, now: s.now });
    for (const t of s.targets) {
      center.targets.set(t.sid, t);
      center.targetByQueue.set(t.taskQueueSid, t.sid);
    }
    for (const c of s.callbacks) {
      c.reminderAt ??= null;
      center.callbacks.set(c.sid, c);
      if (!isTerminalStatus(c.status)) center.active.add(c);
      else center.ended.push(c);
      if (c.taskSid !== null) {
        center.byTask.set(c.taskSid, c.sid);
        center.tasksOf.set(c.sid, [c.taskSid]);
      }
      for (const a of c.attempts) {
        a.callSid ??= null;
        if (a.dialKey !== null) center.byKey.set(a.dialKey, c.sid);
      }
    }
    for (const [k, v] of s.stats) center.stats.set(k, { ...emptyStats(), ...v });
    for (const [k, v] of s.views) center.views.set(k, v);
    for (const [k, v] of s.inService) center.inService.set(k, v);
    // Pruning order: when they ended (stable, so equal instants keep registration order).
    center.ended.sort((a, b) => a.updatedAt - b.updatedAt);
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
    const out = { changed: [...this.touched.values()], removed: [...this.removed.values()] };
    this.touched = new Map();
    this.removed = new Map();
    return out;
  }

  /**
   * Removes a call target that has no non-terminal callback, with its statistics, queue view and
   * terminal callbacks (reported as removed by {@link takeChanges}; their events stay in the
   * event stream). Throws CallbackError `NotFound` (unknown target) or `InvalidRequest` (a
   * callback still in progress); nothing changes then.
   */
  forgetCallTarget(targetSid: string): void {
    const t = this.targetOrThrow(targetSid);
    for (const c of this.active) {
      if (c.callTargetSid === t.sid) throw new CallbackError('InvalidRequest', `call target ${t.sid} still has callbacks in progress`, 'Sid');
    }
    for (const c of [...this.callbacks.values()]) if (c.callTargetSid === t.sid) this.drop(c);
    this.ended = this.ended.slice(this.endedHead).filter((c) => c.callTargetSid !== t.sid);
    this.endedHead = 0;
    this.targets.delete(t.sid);
    this.targetByQueue.delete(t.taskQueueSid);
    this.stats.delete(t.sid);
    this.views.delete(t.sid);
    for (const [k, v] of [...this.inService]) if (v.targetSid === t.sid) this.inService.delete(k);
  }

  /** Number of callbacks held (non-terminal plus terminal within the retention). */
  get size(): number {
    return this.callbacks.size;
  }

  private touch(c: CallbackRequest): void {
    if (!this.touched.has(c.sid)) this.touched.set(c.sid, c);
  }

  /** Forgets a callback everywhere (it is terminal): maps, indexes, pending changes. */
  private drop(c: CallbackRequest): void {
    this.callbacks.delete(c.sid);
    for (const task of this.tasksOf.get(c.sid) ?? []) if (this.byTask.get(task) === c.sid) this.byTask.delete(task);
    this.tasksOf.delete(c.sid);
    for (const a of c.attempts) if (a.dialKey !== null) this.byKey.delete(a.dialKey);
    this.touched.delete(c.sid);
    this.removed.set(c.sid, c);
  }

  /** Prunes terminal callbacks that ended more than the retention ago (the center's clock). O(pruned). */
  private prune(): void {
    if (this.retentionMs === null) return;
    const cutoff = this.now - this.retentionMs;
    while (this.endedHead < this.ended.length) {
      const c = this.ended[this.endedHead] as CallbackRequest;
      if (c.updatedAt > cutoff) break;
      this.endedHead += 1;
      if (this.callbacks.get(c.sid) === c && isTerminalStatus(c.status)) this.drop(c);
    }
    if (this.endedHead > 1024 && this.endedHead * 2 > this.ended.length) {
      this.ended = this.ended.slice(this.endedHead);
      this.endedHead = 0;
    }
  }

  /**
   * Callback punctuality (§1.6, first attempt): when the customer's phone first rang against the
   * quote. `lateSeconds` = first ring − quoted instant (negative = early); `withinRange` = the
   * first ring fell inside [createdAt + low min, createdAt + high min] (scheduled: inside the
   * slot). `bridgeWithinRange` applies the same test to the bridge to an agent (false when never
   * bridged). Null until the customer was dialed.
   */
  static punctuality(c: CallbackRequest): { lateSeconds: number; withinRange: boolean; quoted: string | null; bridgeWithinRange: boolean } | null {
    const ring = c.attempts.find((a) => a.dialedAt !== null)?.dialedAt ?? null;
    if (ring === null) return null;
    let lo: number;
    let hi: number;
    let quoted: string | null = null;
    if (c.type === 'scheduled' || c.ecbtSeconds === null) {
      lo = c.window.start;
      hi = c.window.end;
    } else {
      const r = ecbtRange(c.ecbtSeconds);
      lo = c.createdAt + r.lowMinutes * 60_000;
      hi = c.createdAt + r.highMinutes * 60_000;
      quoted = rangePhrase(c.ecbtSeconds);
    }
    const bridge = c.connectedAt;
    return { lateSeconds: (ring - c.estimatedFor) / 1000, withinRange: ring >= lo && ring <= hi, quoted, bridgeWithinRange: bridge !== null && bridge >= lo && bridge <= hi };
  }

  // ───────────────────────────── helpers ─────────────────────────────

  private tick(now: number): void {
    if (Number.isFinite(now) && now > this.now) this.now = now;
  }

  private take(): CenterOutcome {
    this.prune();
    const out = { events: this.events, effects: this.effects };
    this.events = [];
    this.effects = [];
    return out;
  }

  private targetOrThrow(sid: string): CallTarget {
    const t = this.targets.get(sid);
    if (t === undefined) throw new CallbackError('NotFound', `call target ${sid} does not exist`, 'CallTargetSid');
    return t;
  }

  private callbackOrThrow(sid: string): CallbackRequest {
    const c = this.callbacks.get(sid);
    if (c === undefined) throw new CallbackError('NotFound', `callback ${sid} does not exist`, 'CallbackSid');
    return c;
  }
}

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
