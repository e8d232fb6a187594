/**
 * The callback center's model (spec callbacks-and-ewt §1.2 requests, §1.3 statuses, §1.6
 * events): the public record and message types, and {@link CenterState}, the whole center as one
 * plain state object that the other modules of the center are functions of:
 *
 * - `transitions.ts` — every status change, through the asserted table `ALLOWED_TRANSITIONS`;
 * - `position.ts` — virtual-queue position, ECBT and punctuality (§3.3);
 * - `launch.ts` — launch times, slots, CF pacing, attempts and dials (§2.1–2.3);
 * - `reactions.ts` — what the driver reports: engine events, dial outcomes, timers firing;
 * - `deadlines.ts` — the timers of the callbacks, in a heap;
 * - `requests.ts` — registration, cancel and reschedule (§1.5);
 * - `retention.ts` — snapshot, restore, pruning and the change feed;
 * - `center.ts` — the `CallbackCenter` facade, the only module that ties them together.
 *
 * This module imports none of them. Nothing here reads a clock, draws a random number or does
 * I/O: instants come in with each operation (epoch ms).
 */
import type { Command } from '../engine/commands.ts';
import type { EventValue } from '../engine/events.ts';
import { Heap } from '../engine/heap.ts';
import type { CallTarget } from './call-target.ts';
import { CallbackError } from './errors.ts';


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

/** The conference name a callback's task carries; part of the telephony port's contract (telephony-port.ts). */
export { callbackConferenceName } from './telephony-port.ts';

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

/** CF lead time before any dial → ready sample, s (§2.2). */
export const DEFAULT_LEAD_SECONDS = 35;
/** Default retention of terminal callbacks, s (48 h; see CenterOptions.terminalRetentionSeconds). */
export const DEFAULT_TERMINAL_RETENTION_SECONDS = 172_800;
/** Window of the agent-answer rate r̂ (§3.3 fallback), ms. */
export const ANSWER_WINDOW_MS = 15 * 60_000;
/** A pending ASAP callback's ECBT must move by more than this for `callback.ecbt.changed`, s (§3.3). */
export const ECBT_CHANGE_SECONDS = 60;
/** Version of {@link CenterSnapshot}. */
export const SNAPSHOT_VERSION = 1;
/** Scheduled callbacks aim to bridge this far into their slot, ms. */
export const SLOT_AIM_MS = 60_000;

/** Fresh statistics of a target: no samples, ECBT factor 1 (§3.3). */
export function emptyStats(): TargetStats {
  return { services: [], abandonments: 0, waitedSeconds: 0, answers: [], leadSamples: [], ringSamples: [], factor: 1 };
}

/** Median of a non-empty list (mean of the middle two for an even count). Does not reorder `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** An entry of the virtual queue (§3.3): a waiting task (its SID) or a callback. */
export interface LineKey {
  priority: number;
  virtualStartTime: number;
  sid: string;
}

/**
 * True when `a` is served before `b` in the virtual queue (§3.3): higher priority first, then the
 * earlier virtual start, then the smaller SID (so the order is strict and total).
 */
export function before(a: LineKey, b: LineKey): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.virtualStartTime !== b.virtualStartTime) return a.virtualStartTime < b.virtualStartTime;
  return a.sid < b.sid;
}

/** One entry of the deadline heap: `c` has work at `at` (epoch ms) — or later; see deadlines.ts. */
export interface DeadlineEntry {
  at: number;
  c: CallbackRequest;
}

/**
 * The whole center as one plain object. The modules of the center are functions of it; only
 * the facade (`CallbackCenter`) holds one. Callbacks are the stored `CallbackRequest` objects,
 * shared by the maps and sets below (the indexes), never copied.
 */
export interface CenterState {
  readonly newSid: CenterSidGenerator;
  readonly dialGraceMs: number;
  readonly holdUntilQuote: boolean;
  /** Retention of terminal callbacks, ms; null keeps them all. */
  readonly retentionMs: number | null;
  /** The center's instant, epoch ms; never goes back. */
  now: number;
  readonly targets: Map<string, CallTarget>;
  /** Every callback held, in registration order. */
  readonly callbacks: Map<string, CallbackRequest>;
  /** The non-terminal callbacks, in registration order (terminal ones stay only in `callbacks`). */
  readonly active: Set<CallbackRequest>;
  /** Target SID → its non-terminal callbacks, in registration order (what the per-target scans walk). */
  readonly activeByTarget: Map<string, Set<CallbackRequest>>;
  /** Task SID → the callback that created it. */
  readonly byTask: Map<string, string>;
  /** Callback SID → the task SIDs it created (to clear `byTask` when the callback is pruned). */
  readonly tasksOf: Map<string, string[]>;
  /** Dial key → callback SID. */
  readonly byKey: Map<string, string>;
  readonly stats: Map<string, TargetStats>;
  readonly views: Map<string, QueueView>;
  readonly targetByQueue: Map<string, string>;
  /** Task SID → when an agent accepted it and on which target (service-time samples). */
  readonly inService: Map<string, { at: number; targetSid: string }>;
  /** Events of the operation in progress. */
  events: CallbackEvent[];
  /** Effects of the operation in progress. */
  effects: CallbackEffect[];
  /** Terminal callbacks in the order they ended (updatedAt non-decreasing): the pruning queue. */
  ended: CallbackRequest[];
  endedHead: number;
  /** Callbacks touched since the last takeChanges (sid → callback). */
  touched: Map<string, CallbackRequest>;
  /** Callbacks pruned or forgotten since the last takeChanges. */
  removed: Map<string, CallbackRequest>;
  /** Deadlines of the non-terminal callbacks, min-heap by (instant, callback SID), lazily updated (deadlines.ts). */
  readonly deadlines: Heap<DeadlineEntry>;
  /** Callback → the instant of its newest heap entry (older entries are stale). */
  readonly deadlineOf: Map<CallbackRequest, number>;
  /** Callbacks changed since their deadline was last computed. */
  readonly dirty: Set<CallbackRequest>;
}

/**
 * A new, empty center state from the construction options. Throws CallbackError
 * `InvalidParameters` (field `terminalRetentionSeconds`) for a negative or non-finite retention.
 */
export function newCenterState(options: CenterOptions): CenterState {
  const keep = options.terminalRetentionSeconds === undefined ? DEFAULT_TERMINAL_RETENTION_SECONDS : options.terminalRetentionSeconds;
  if (keep !== null && (!Number.isFinite(keep) || keep < 0)) throw new CallbackError('InvalidParameters', 'terminalRetentionSeconds must be a number of seconds >= 0, or null', 'terminalRetentionSeconds');
  return {
    newSid: options.newSid,
    dialGraceMs: (options.dialGraceSeconds ?? 120) * 1000,
    holdUntilQuote: options.holdUntilQuote ?? true,
    retentionMs: keep === null ? null : keep * 1000,
    now: options.now ?? 0,
    targets: new Map(),
    callbacks: new Map(),
    active: new Set(),
    activeByTarget: new Map(),
    byTask: new Map(),
    tasksOf: new Map(),
    byKey: new Map(),
    stats: new Map(),
    views: new Map(),
    targetByQueue: new Map(),
    inService: new Map(),
    events: [],
    effects: [],
    ended: [],
    endedHead: 0,
    touched: new Map(),
    removed: new Map(),
    deadlines: new Heap<DeadlineEntry>({ major: (e) => e.at, minor: () => 0, tieBefore: (a, b) => a.c.sid < b.c.sid }),
    deadlineOf: new Map(),
    dirty: new Set(),
  };
}

/** Moves the center's clock to `now` when it is later (a non-finite or earlier `now` changes nothing). */
export function tick(s: CenterState, now: number): void {
  if (Number.isFinite(now) && now > s.now) s.now = now;
}

/**
 * Records that `c` changed in this operation: it goes to the change feed (takeChanges) and its
 * deadline is recomputed before the next deadline query. Every change to a callback calls it.
 */
export function touch(s: CenterState, c: CallbackRequest): void {
  if (!s.touched.has(c.sid)) s.touched.set(c.sid, c);
  s.dirty.add(c);
}

/** Adds a callback that has just been registered or restored to the non-terminal indexes. */
export function addActive(s: CenterState, c: CallbackRequest): void {
  s.active.add(c);
  let set = s.activeByTarget.get(c.callTargetSid);
  if (set === undefined) {
    set = new Set();
    s.activeByTarget.set(c.callTargetSid, set);
  }
  set.add(c);
  s.dirty.add(c);
}

/** Takes a callback that became terminal out of the non-terminal indexes. */
export function removeActive(s: CenterState, c: CallbackRequest): void {
  s.active.delete(c);
  s.activeByTarget.get(c.callTargetSid)?.delete(c);
}

/** The non-terminal callbacks of a target, in registration order (live set: do not modify). */
export function activeOf(s: CenterState, targetSid: string): ReadonlySet<CallbackRequest> {
  return s.activeByTarget.get(targetSid) ?? EMPTY;
}

const EMPTY: ReadonlySet<CallbackRequest> = new Set();

/** Emits `eventType` for `c` now (§1.6 shape: the callback's fields as snake_case data, plus `extra`). */
export function emitEvent(s: CenterState, c: CallbackRequest, eventType: string, extra: Record<string, EventValue>): void {
  touch(s, c);
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
  s.events.push({ sid: s.newSid('EV'), eventType, at: s.now, resourceType: 'callback', resourceSid: c.sid, data });
}

/** Hands out an engine command for callback `c`. */
export function engineEffect(s: CenterState, c: CallbackRequest, purpose: Extract<CallbackEffect, { kind: 'engine' }>['purpose'], command: Command): void {
  s.effects.push({ kind: 'engine', callbackSid: c.sid, purpose, command });
}

/** The call target `sid`. Throws CallbackError `NotFound` (field `CallTargetSid`). */
export function targetOrThrow(s: CenterState, sid: string): CallTarget {
  const t = s.targets.get(sid);
  if (t === undefined) throw new CallbackError('NotFound', `call target ${sid} does not exist`, 'CallTargetSid');
  return t;
}

/** The target of a callback (always held: a target with callbacks cannot be forgotten). */
export function targetOf(s: CenterState, c: CallbackRequest): CallTarget {
  return s.targets.get(c.callTargetSid) as CallTarget;
}

/** The callback `sid`, terminal or not. Throws CallbackError `NotFound` (field `CallbackSid`). */
export function callbackOrThrow(s: CenterState, sid: string): CallbackRequest {
  const c = s.callbacks.get(sid);
  if (c === undefined) throw new CallbackError('NotFound', `callback ${sid} does not exist`, 'CallbackSid');
  return c;
}
