/**
 * The analytics projector (shared/specs/conversations-events-analytics.md part B, §B7–§B10): a
 * pure core that turns the engine's TaskRouter events ({@link EngineEvent}) into the logical
 * model of §B7 — conversations, queue engagements (QE), invitation engagements (IE), agent
 * engagements (AE), agent status intervals, customers and agents — and computes the KPIs of §B8
 * over them.
 *
 * Units: every instant going in or out is epoch **milliseconds**; every duration coming out is
 * **seconds** (fields end in `S`); ratios are shares 0–1 (or `null` when the denominator is 0).
 *
 * Delivery tolerance (§B10):
 * - idempotent: an event SID seen before (buffered or applied) is ignored, so at-least-once
 *   delivery changes nothing;
 * - out of order within a watermark: {@link AnalyticsProjector.observe} only buffers; events are
 *   applied in a canonical order — (`at`, causal type rank, SID) — once they are older than the
 *   watermark `now − latenessMs` ({@link AnalyticsProjector.advanceTo}) or on
 *   {@link AnalyticsProjector.flush}. The default lateness is 4 h: the producer's retry horizon
 *   (§B4, §B10), so anything Event Streams may still redeliver is still in the buffer. An event
 *   older than the watermark when it arrives is counted in `stats().late` and dropped (a later
 *   slice may re-open buckets instead, as §B10 suggests).
 *
 * Per event the work is O(1) amortized (maps by SID, a binary heap for the buffer); queries scan.
 * Pure: no clock, no I/O — time comes only from the events and from `advanceTo`.
 */
import type { EngineEvent, EventValue } from '../engine/events.ts';

/** How a queue engagement ended (§B7 table). */
export type QueueOutcome = 'Accepted' | 'Moved' | 'Deleted' | 'CustomerLeft' | 'Timeout' | 'Canceled' | 'Expired';
/** How an invitation engagement ended (§B7). */
export type InvitationOutcome = 'Accepted' | 'Rejected' | 'Missed' | 'Revoked' | 'Failed';

/** One conversation per task (§B7). Instants in epoch ms, duration in seconds. */
export interface Conversation {
  taskSid: string;
  customerId: string;
  channel: string | null;
  /** `task.created` instant, ms. */
  start: number;
  /**
   * When the call began, ms: the `task_virtual_start_time` of `task.created` (epoch seconds, whole
   * seconds: what the engine knows of when the caller entered the center — a replayed call's VRU
   * entry), else {@link start}. A replay counts a call on the UTC day of this instant.
   */
  virtualStart: number;
  /** `task.completed|canceled|deleted|system-deleted` instant, ms, or null while open. */
  end: number | null;
  /** The task event that ended it (`completed`, `canceled`, …). */
  endReason: string | null;
  durationS: number | null;
  /** `conversationSid` (or `conversation_sid`) from the task attributes, for messaging. */
  conversationSid: string | null;
  /** The task attributes as received (the JSON string; kept raw when invalid). */
  attributes: string;
  /**
   * The task this one was transferred from (spec voice-worker-sdk-console.md B5: a transfer is
   * routed as a new task), or null: the original task of the transfer that made this task.
   */
  transferredFrom: string | null;
  /** The `TT…` transfer that made this task, or null. */
  transferSid: string | null;
  /**
   * The first task of the customer's journey: this task's own SID, or (transferred) the journey
   * of {@link transferredFrom} — a chain of transfers A → B → C reads as one journey `A`.
   */
  journeyTaskSid: string;
}

/** Where a transfer is (`transfer_status` of the `task.transfer-*` events). */
export type TransferStatus = 'initiated' | 'completed' | 'failed' | 'canceled';

/**
 * One task transfer (`TT…`), from the `task.transfer-*` events of the original task (spec
 * conversations-events-analytics.md §B5/§B6 transfer fields; voice-worker-sdk-console.md B5: the
 * transfer is routed as a new task). Instants in epoch ms.
 */
export interface Transfer {
  transferSid: string;
  /** The task transferred (the events' `task_sid`). */
  taskSid: string;
  /**
   * The task the transfer routed to the target, once known: linked when the transfer completes
   * (the target's reservation of it is accepted at that instant) or fails or is canceled (it is
   * canceled at that instant); null before, or when no such task was seen.
   */
  transferTaskSid: string | null;
  initiatingReservationSid: string | null;
  initiatingWorkerSid: string | null;
  /** `WARM` or `COLD`. */
  mode: string | null;
  /** `WORKER` or `QUEUE`. */
  type: string | null;
  /** The target: a WK or WQ SID. */
  to: string | null;
  status: TransferStatus;
  /** `task.transfer-initiated`, ms (else `transfer_started`, whole seconds, × 1000). */
  started: number;
  /** The completing, failing or canceling event's instant, ms; null while initiated. */
  end: number | null;
  /** `task.transfer-attempt-failed` events seen (a target rejected or did not answer). */
  attemptsFailed: number;
  failedReason: string | null;
}

/** A queue engagement: one stay of a task in one queue (§B7). */
export interface QueueEngagement {
  id: string;
  taskSid: string;
  queueSid: string;
  queueName: string;
  channel: string | null;
  /** `task-queue.entered`, ms. */
  open: number;
  /** The closing event's instant, ms, or null while open. */
  close: number | null;
  outcome: QueueOutcome | null;
  /** Wait = close − open, seconds (§B7). */
  waitS: number | null;
}

/** An invitation (reservation) engagement (§B7). */
export interface InvitationEngagement {
  reservationSid: string;
  taskSid: string;
  agentSid: string;
  queueSid: string | null;
  channel: string | null;
  /** `reservation.created`, ms (null if only its end was seen). */
  open: number | null;
  close: number | null;
  outcome: InvitationOutcome | null;
  /** Invitation (ring) time = close − open, seconds (§B7). */
  invitationS: number | null;
}

/** An agent engagement: one accepted reservation, from accept to completion (§B7). */
export interface AgentEngagement {
  reservationSid: string;
  taskSid: string;
  agentSid: string;
  /** The agent's team as it was at accept time (SCD-2, §B7), or null. */
  agentTeam: string | null;
  queueSid: string | null;
  channel: string | null;
  /** `reservation.accepted`, ms. */
  accept: number;
  /** End of the engagement phase: the first of `reservation.wrapup` / `task.wrapup`, ms. */
  wrapup: number | null;
  /** The first of `reservation.completed` / `task.completed` (or the task's end), ms. */
  close: number | null;
  /** Wait = accept − last `task-queue.entered`, seconds (§B7). */
  waitS: number | null;
  /** Invitation = accept − its `reservation.created`, seconds (§B7). */
  invitationS: number | null;
  /** Engagement = wrapup − accept (close − accept without a wrap-up), seconds (§B7). */
  engagementS: number | null;
  /** Wrap-up = close − wrapup, 0 without a wrap-up event, seconds (§B7). */
  wrapupS: number | null;
  /** Handling = preparation (0, inbound) + engagement + wrap-up, seconds (§B7, §B8 AHT). */
  handlingS: number | null;
  /**
   * Ended in a transfer (§B8 transfer rate): its reservation initiated a transfer that completed
   * (`task.transfer-completed`, `transfer_initiating_reservation_sid`), or a later QE or AE came on
   * the same task.
   */
  transferred: boolean;
  /** The `TT…` transfer it initiated that completed, or null (not transferred, or by the later QE/AE rule). */
  transferSid: string | null;
}

/** Agent attributes of §B7 with their validity (SCD-2): valid in [validFrom, validTo), ms. */
export interface AgentVersion {
  validFrom: number;
  validTo: number | null;
  fullName: string | null;
  department: string | null;
  location: string | null;
  manager: string | null;
  team: string | null;
  roles: unknown;
  email: string | null;
  /** The whole `worker_attributes` (parsed object, or the raw string when not JSON). */
  raw: unknown;
}

/** An agent (one per worker, §B7) with its attribute versions, oldest first. */
export interface Agent {
  agentSid: string;
  name: string;
  versions: AgentVersion[];
}

/** A customer (contact, §B7): its id, which attribute gave it, when first seen (ms), its conversations. */
export interface Customer {
  customerId: string;
  /** Which attribute gave the id (§B7 precedence): `external_id`, `phone`, `email`, `from`, `to`, `task_sid`. */
  source: string;
  firstSeen: number;
  conversations: number;
}

/** Seconds an agent spent in one activity within one 15-minute bucket (§B7 status activity). */
export interface StatusRow {
  agentSid: string;
  /** Bucket start, ms (:00, :15, :30, :45 UTC). */
  bucket: number;
  activity: string;
  seconds: number;
}

/** Filters of {@link AnalyticsProjector.kpis}: a period [from, to) in ms and optional dimensions. */
export interface KpiQuery {
  from: number;
  to: number;
  queue?: string;
  agent?: string;
  channel?: string;
  /** Service-level threshold T, seconds (default 20, §B8). */
  thresholdS?: number;
  /** Short-abandon threshold T_short, seconds (default 5, §B8). */
  shortAbandonS?: number;
  /**
   * Open intervals (a status, an engagement not closed yet) count up to this instant, ms, when it
   * is after the watermark (a host passes its clock: time goes on between events). Default: the
   * watermark.
   */
  asOf?: number;
}

/** The five service-level formulas of §B8 (see docs/analytics.md for each). */
export type ServiceLevelVariant = 'answered-only' | 'abandons-count-against' | 'ignore-early-abandons' | 'early-abandons-succeed' | 'short-abandon-exclusion';

/** The KPIs of §B8 for one query; every row keeps its thresholds and attribution (§B10). */
export interface Kpis {
  from: number;
  to: number;
  thresholdS: number;
  shortAbandonS: number;
  /** QEs count in the bucket of their open time, AEs in the bucket of their close time (§B8). */
  attribution: 'qe-open/ae-close';
  /** `O`, `A`, `A_T`, `B`, `B_T`, `S`, `X` of §B8. */
  counts: { offered: number; accepted: number; acceptedWithinT: number; abandoned: number; abandonedWithinT: number; shortAbandoned: number; otherFailures: number };
  /** The default variant's value (short-abandon exclusion with X as failures) and all five (§B8). */
  serviceLevel: { variant: ServiceLevelVariant; value: number | null; variants: Record<ServiceLevelVariant, number | null> };
  /** Σ wait of Accepted QEs ÷ A, seconds (§B8). */
  asaS: number | null;
  /** Σ handling of closed AEs ÷ their count, seconds (§B8). */
  ahtS: number | null;
  handled: number;
  /** B ÷ O (§B8). */
  abandonmentRate: number | null;
  /** (B − S) ÷ (O − S) (§B8). */
  abandonmentRateExShort: number | null;
  /** busy ÷ (busy + available-idle), busy = ∪ invitation+engagement+wrap-up (§B8; ringing counted). */
  occupancy: number | null;
  /** The same with ringing (invitation time) excluded from busy (§B9 variant). */
  occupancyExRinging: number | null;
  /** (busy + available-idle) ÷ staffed, staffed = time in any non-Offline activity (§B8 [DECISION]). */
  utilization: number | null;
  busyS: number;
  availableIdleS: number;
  staffedS: number;
  /** AEs ending in a transfer ÷ handled AEs (§B8). */
  transferRate: number | null;
  /** Per-agent invitation figures (§B8 agent-level extras), sorted by agent SID. */
  agents: AgentKpis[];
}

/** One agent's invitation figures and occupancy over a query's period (§B8 agent-level extras); shares 0–1 or null. */
export interface AgentKpis {
  agentSid: string;
  invitations: number;
  accepted: number;
  missed: number;
  rejected: number;
  revoked: number;
  /** IE Accepted ÷ all IEs. */
  acceptanceRate: number | null;
  /** IE Rejected ÷ all IEs. */
  rejectRate: number | null;
  occupancy: number | null;
}

/** Options of {@link AnalyticsProjector}. */
export interface ProjectorOptions {
  /** How late an event may arrive and still be applied in order, ms (default 4 h, §B10). */
  latenessMs?: number;
  /**
   * Track which model rows each applied event changes, for {@link AnalyticsProjector.takeChangedRows}
   * (default false: the projector's hot path then pays one null check per change).
   */
  trackChanges?: boolean;
}

/**
 * One row of the projector's model as stored ({@link AnalyticsProjector.takeChangedRows},
 * {@link AnalyticsProjector.fromRows}): `key` names the record, `body` is its JSON, or null when
 * the row is gone. Keys (each record's size is bounded; nothing grows without limit in one row):
 * - `meta` — watermark, lateness, late and duplicate counts;
 * - `act:<WA>` — whether an activity is available;
 * - `agent:<WK>` — an agent's SID and name; `agentv:<WK>:<n>` — its n-th attribute version (SCD-2);
 * - `st:<WK>:<n>` — the agent's n-th closed status interval; `sto:<WK>` — its open one;
 * - `cust:<id>` — a customer; `conv:<WT>` — a conversation; `task:<WT>` — a task's open state;
 * - `qe:<WT>/<n>` — a queue engagement; `ie:<WR>` — an invitation; `ae:<WR>` — an agent engagement;
 * - `tt:<TT>` — a transfer.
 */
export interface ModelRow {
  key: string;
  body: string | null;
}

/** Everything the projector holds, as plain JSON-able data ({@link AnalyticsProjector.snapshot}). */
export interface ProjectorSnapshot {
  latenessMs: number;
  watermark: number;
  late: number;
  duplicates: number;
  buffer: EngineEvent[];
  seen: [string, number][];
  conversations: Conversation[];
  tasks: TaskState[];
  queueEngagements: QueueEngagement[];
  invitations: InvitationEngagement[];
  agentEngagements: AgentEngagement[];
  agents: Agent[];
  customers: Customer[];
  status: [string, StatusState][];
  activities: [string, boolean][];
  /** Absent in snapshots taken before transfers were projected. */
  transfers?: Transfer[];
}

interface TaskState {
  taskSid: string;
  /** Id of the open QE, or null. */
  openQe: string | null;
  qeCount: number;
  lastEntered: number | null;
  /** The QE closed by `task-queue.timeout` and its instant, for the 1 s rule (§B7). */
  timedOut: [string, number] | null;
  /** Reservation SIDs of this task's AEs, oldest first. */
  aes: string[];
}

interface StatusState {
  /** Closed intervals [start, end, activity name, available]. Offline is not stored. */
  intervals: [number, number, string, boolean][];
  open: [number, string, boolean] | null;
}

const BUCKET_MS = 15 * 60_000;
const OFFLINE = 'Offline';

/**
 * Causal rank of types emitted at the same instant (§B6 ordering key: timestamp, then a fixed
 * type rank). Ends of reservations come before new ones, accept before wrap-up before completion.
 */
const RANK: Record<string, number> = {
  'worker.created': 0,
  'worker.attributes.update': 1,
  'task.created': 2,
  'task.updated': 3,
  'workflow.entered': 4,
  'workflow.target-matched': 5,
  'task-queue.timeout': 6,
  'task-queue.moved': 7,
  'task-queue.entered': 8,
  'reservation.rejected': 9,
  'reservation.timeout': 9,
  'reservation.rescinded': 9,
  'reservation.failed': 9,
  'worker.activity.update': 10,
  'reservation.created': 11,
  'reservation.accepted': 12,
  'reservation.canceled': 13,
  'task.wrapup': 14,
  'reservation.wrapup': 15,
  'task.canceled': 16,
  'task.completed': 16,
  'task.deleted': 17,
  'task.system-deleted': 17,
  'reservation.completed': 18,
  // After everything else of their instant: a transfer's completion follows the target's accept
  // (and, COLD, the original's wrap-up); its failure or cancel follows the transfer task's cancel.
  'task.transfer-initiated': 20,
  'task.transfer-attempt-failed': 20,
  'task.transfer-completed': 21,
  'task.transfer-failed': 21,
  'task.transfer-canceled': 21,
};

function rank(e: EngineEvent): number {
  return RANK[e.eventType] ?? 19;
}

/** Canonical apply order: (at, type rank, SID). */
function before(a: EngineEvent, b: EngineEvent): boolean {
  if (a.at !== b.at) return a.at < b.at;
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb;
  return a.sid < b.sid;
}

function str(v: EventValue | undefined): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

function parseJson(s: string | null): unknown {
  if (s === null) return null;
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

function field(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>)[key] : undefined;
}

function nonEmpty(v: unknown): string | null {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return null;
}

/**
 * Contact id (§B7): the first non-empty of `customers.external_id`, `customers.phone`,
 * `customers.email`, `from` (inbound) / `to` (outbound, `direction` or `type` "outbound"), else
 * the task SID.
 */
export function customerOf(attributes: unknown, taskSid: string): { id: string; source: string } {
  const c = field(attributes, 'customers');
  for (const key of ['external_id', 'phone', 'email']) {
    const v = nonEmpty(field(c, key));
    if (v !== null) return { id: v, source: key };
  }
  const outbound = field(attributes, 'direction') === 'outbound' || field(attributes, 'type') === 'outbound';
  const key = outbound ? 'to' : 'from';
  const v = nonEmpty(field(attributes, key));
  if (v !== null) return { id: v, source: key };
  return { id: taskSid, source: 'task_sid' };
}

function agentVersion(raw: unknown, validFrom: number): AgentVersion {
  const s = (k: string): string | null => nonEmpty(field(raw, k));
  return {
    validFrom,
    validTo: null,
    fullName: s('full_name'),
    department: s('department'),
    location: s('location'),
    manager: s('manager'),
    team: s('team') ?? s('team_name'),
    roles: field(raw, 'roles') ?? null,
    email: s('email'),
    raw,
  };
}

const secs = (ms: number): number => ms / 1000;
const ratio = (n: number, d: number): number | null => (d === 0 ? null : n / d);

/** `<sid>:<n>` → [sid, n]. */
function splitIndex(id: string): [string, number] {
  const at = id.lastIndexOf(':');
  return [id.slice(0, at), Number(id.slice(at + 1))];
}

/** Merges intervals [start, end) (sorted by start) into a disjoint union. */
function union(intervals: [number, number][]): [number, number][] {
  intervals.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [s, e] of intervals) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else if (e > s) out.push([s, e]);
  }
  return out;
}

/** Length of the overlap of a disjoint union (sorted by start) with [s, e), ms; reads only the members that can reach it. */
function overlap(u: readonly [number, number][], s: number, e: number): number {
  // The first member ending after s (ends are sorted too: the members are disjoint).
  let lo = 0;
  let hi = u.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((u[mid] as [number, number])[1] <= s) lo = mid + 1;
    else hi = mid;
  }
  let total = 0;
  for (let i = lo; i < u.length; i++) {
    const [a, b] = u[i] as [number, number];
    if (a >= e) break;
    const lo2 = Math.max(a, s);
    const hi2 = Math.min(b, e);
    if (hi2 > lo2) total += hi2 - lo2;
  }
  return total;
}

/**
 * Spans [start, end) of one agent's engagements of one kind (invitations with an open instant, or
 * agent engagements), kept sorted by start (ms) as events apply, with the longest closed span's
 * length and the spans still open: a query over [from, to) reads only the spans that start in
 * [from − longest, to) plus the open ones (§B8 occupancy needs each agent's busy time; without this
 * index every query scanned every engagement of every agent). Adding is O(1) when spans come in
 * start order (they do: events apply in time order), O(n) otherwise.
 */
class SpanIndex<T> {
  private items: T[] = [];
  private longestMs = 0;
  private readonly open = new Set<T>();

  private readonly startOf: (x: T) => number;
  private readonly endOf: (x: T) => number | null;

  constructor(startOf: (x: T) => number, endOf: (x: T) => number | null) {
    this.startOf = startOf;
    this.endOf = endOf;
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds a span (its start must not change afterwards; call {@link closed} when its end is set). */
  add(x: T): void {
    const start = this.startOf(x);
    const items = this.items;
    let i = items.length;
    while (i > 0 && this.startOf(items[i - 1] as T) > start) i -= 1;
    if (i === items.length) items.push(x);
    else items.splice(i, 0, x);
    this.closed(x);
  }

  /** Takes a span's end into account (no-op while it is still open). */
  closed(x: T): void {
    const end = this.endOf(x);
    if (end === null) {
      this.open.add(x);
      return;
    }
    this.open.delete(x);
    const len = end - this.startOf(x);
    if (len > this.longestMs) this.longestMs = len;
  }

  /** Removes a span (by identity). */
  remove(x: T): void {
    const at = this.items.indexOf(x);
    if (at >= 0) this.items.splice(at, 1);
    this.open.delete(x);
  }

  /** Replaces the contents with `all` (sorted once: rebuilding after a restore). */
  reset(all: T[]): void {
    this.items = all.sort((a, b) => this.startOf(a) - this.startOf(b));
    this.longestMs = 0;
    this.open.clear();
    for (const x of all) this.closed(x);
  }

  /** Calls `f(start, end)` for every span with end > from and start < to, open spans ending at `now` (ms). */
  each(from: number, to: number, now: number, f: (start: number, end: number) => void): void {
    const items = this.items;
    const min = from - this.longestMs;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.startOf(items[mid] as T) < min) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < items.length; i++) {
      const x = items[i] as T;
      const s = this.startOf(x);
      if (s >= to) break;
      const e = this.endOf(x);
      if (e !== null && e > from) f(s, e);
    }
    for (const x of this.open) {
      const s = this.startOf(x);
      if (now > from && s < to) f(s, now);
    }
  }
}

/** One agent's busy-time index (§B8): its invitations with an open instant, and its agent engagements. */
interface BusyIndex {
  ringing: SpanIndex<InvitationEngagement>;
  engaged: SpanIndex<AgentEngagement>;
}

/** Sums of one KPI row being computed ({@link AnalyticsProjector.kpis}, {@link AnalyticsProjector.kpiSeries}); times in ms. */
interface KpiSums {
  from: number;
  to: number;
  O: number; A: number; AT: number; B: number; BT: number; S: number; X: number;
  waitA: number;
  handled: number; handling: number; transferred: number;
  busy: number; idle: number; staffed: number; busyNoRing: number; idleNoRing: number;
  perAgent: Map<string, AgentKpis>;
}

function kpiSums(from: number, to: number): KpiSums {
  return { from, to, O: 0, A: 0, AT: 0, B: 0, BT: 0, S: 0, X: 0, waitA: 0, handled: 0, handling: 0, transferred: 0, busy: 0, idle: 0, staffed: 0, busyNoRing: 0, idleNoRing: 0, perAgent: new Map() };
}

/** Counts a closed, not-Moved QE into a row (§B8's O, A, A_T, B, B_T, S, X and the ASA sum). */
function addQe(r: KpiSums, qe: QueueEngagement, T: number, TS: number): void {
  const w = qe.waitS ?? 0;
  r.O += 1;
  if (qe.outcome === 'Accepted') {
    r.A += 1;
    r.waitA += w;
    if (w <= T) r.AT += 1;
  } else if (qe.outcome === 'CustomerLeft') {
    r.B += 1;
    if (w <= T) r.BT += 1;
    if (w <= TS) r.S += 1;
  } else {
    r.X += 1;
  }
}

/** Counts a closed IE into its agent's figures of a row (§B8 agent-level extras). */
function addIe(r: KpiSums, ie: InvitationEngagement): void {
  let a = r.perAgent.get(ie.agentSid);
  if (a === undefined) {
    a = { agentSid: ie.agentSid, invitations: 0, accepted: 0, missed: 0, rejected: 0, revoked: 0, acceptanceRate: null, rejectRate: null, occupancy: null };
    r.perAgent.set(ie.agentSid, a);
  }
  a.invitations += 1;
  if (ie.outcome === 'Accepted') a.accepted += 1;
  else if (ie.outcome === 'Missed') a.missed += 1;
  else if (ie.outcome === 'Rejected') a.rejected += 1;
  else if (ie.outcome === 'Revoked') a.revoked += 1;
}

/** The {@link Kpis} of a row's sums (§B8 formulas). */
function finishKpis(r: KpiSums, T: number, TS: number): Kpis {
  const { O, A, AT, B, BT, S, X } = r;
  for (const a of r.perAgent.values()) {
    a.acceptanceRate = ratio(a.accepted, a.invitations);
    a.rejectRate = ratio(a.rejected, a.invitations);
  }
  const variants: Record<ServiceLevelVariant, number | null> = {
    'answered-only': ratio(AT, A),
    'abandons-count-against': ratio(AT, A + B),
    'ignore-early-abandons': ratio(AT, A + B - BT),
    'early-abandons-succeed': ratio(AT + BT, A + B),
    'short-abandon-exclusion': ratio(AT, A + B - S + X),
  };
  return {
    from: r.from,
    to: r.to,
    thresholdS: T,
    shortAbandonS: TS,
    attribution: 'qe-open/ae-close',
    counts: { offered: O, accepted: A, acceptedWithinT: AT, abandoned: B, abandonedWithinT: BT, shortAbandoned: S, otherFailures: X },
    serviceLevel: { variant: 'short-abandon-exclusion', value: variants['short-abandon-exclusion'], variants },
    asaS: ratio(r.waitA, A),
    ahtS: ratio(r.handling, r.handled),
    handled: r.handled,
    abandonmentRate: ratio(B, O),
    abandonmentRateExShort: ratio(B - S, O - S),
    occupancy: ratio(r.busy, r.busy + r.idle),
    occupancyExRinging: ratio(r.busyNoRing, r.busyNoRing + r.idleNoRing),
    utilization: ratio(r.busy + r.idle, r.staffed),
    busyS: secs(r.busy),
    availableIdleS: secs(r.idle),
    staffedS: secs(r.staffed),
    transferRate: ratio(r.transferred, r.handled),
    agents: [...r.perAgent.values()].sort((a, b) => (a.agentSid < b.agentSid ? -1 : 1)),
  };
}

/** The analytics projector of §B7–§B10 (see the module comment for units and ordering). */
export class AnalyticsProjector {
  private latenessMs: number;
  /** Everything before this instant has been applied (ms). */
  private watermark = Number.MIN_SAFE_INTEGER;
  private late = 0;
  private duplicates = 0;
  /** Min-heap of buffered events in canonical order. */
  private heap: EngineEvent[] = [];
  /** SID → at of every event buffered or applied at or after the watermark. */
  private seen = new Map<string, number>();
  /** Applied SIDs in apply order, to forget them once older than the watermark. */
  private appliedOrder: [string, number][] = [];
  private appliedHead = 0;
  private conversationsBySid = new Map<string, Conversation>();
  private tasks = new Map<string, TaskState>();
  private qes = new Map<string, QueueEngagement>();
  private ies = new Map<string, InvitationEngagement>();
  private aes = new Map<string, AgentEngagement>();
  private agentsBySid = new Map<string, Agent>();
  private customersById = new Map<string, Customer>();
  private status = new Map<string, StatusState>();
  /** Activity SID → available, from activity.* events. */
  private activities = new Map<string, boolean>();
  /** Agent SID → its busy-time index (derived from `ies` and `aes`; not stored, rebuilt on restore). */
  private busyIdx = new Map<string, BusyIndex>();
  /** Agents whose closed status intervals are not in start and end order (queries then read them all). */
  private statusUnsorted = new Set<string>();
  private transfersBySid = new Map<string, Transfer>();
  /**
   * The instant being applied and what happened at it that a transfer's end may name (transient,
   * not stored: a transfer ends in the same engine turn, so at the same instant, as the accept or
   * cancel of its task): AEs accepted and tasks canceled at {@link instant}, in apply order.
   */
  private instant = Number.NaN;
  private acceptedNow: AgentEngagement[] = [];
  private canceledNow: string[] = [];

  /** Keys of the model rows changed since the last {@link takeChangedRows}, or null when not tracked. */
  private dirty: Set<string> | null;

  constructor(options: ProjectorOptions = {}) {
    this.latenessMs = options.latenessMs ?? 4 * 3_600_000;
    this.dirty = options.trackChanges === true ? new Set() : null;
  }

  /** Records that the row `kind[:id[:n]]` changed (keys: {@link ModelRow}); the key is only built when tracking. */
  private mark(kind: string, id?: string, n?: number): void {
    if (this.dirty === null) return;
    this.dirty.add(id === undefined ? kind : n === undefined ? `${kind}:${id}` : `${kind}:${id}:${n}`);
  }

  /** Buffers one event (ignored when its SID was seen; counted as late when older than the watermark). */
  observe(e: EngineEvent): void {
    if (this.seen.has(e.sid)) {
      this.duplicates += 1;
      this.mark('meta');
      return;
    }
    if (e.at < this.watermark) {
      this.late += 1;
      this.mark('meta');
      return;
    }
    this.seen.set(e.sid, e.at);
    this.push(e);
  }

  /** Applies, in canonical order, every buffered event older than `now − latenessMs` (epoch ms). */
  advanceTo(now: number): void {
    this.applyUntil(now - this.latenessMs);
  }

  /** Applies every buffered event (end of a replay, or a test). The watermark becomes the newest event's instant. */
  flush(): void {
    this.applyUntil(Infinity);
  }

  /** Buffered, late and duplicate counts. */
  stats(): { buffered: number; late: number; duplicates: number; watermark: number } {
    return { buffered: this.heap.length, late: this.late, duplicates: this.duplicates, watermark: this.watermark };
  }

  private applyUntil(limit: number): void {
    let last = this.watermark;
    while (this.heap.length > 0 && (this.heap[0] as EngineEvent).at < limit) {
      const e = this.pop();
      this.apply(e);
      this.appliedOrder.push([e.sid, e.at]);
      last = e.at;
    }
    const w = limit === Infinity ? last : Math.max(this.watermark, limit);
    if (w > this.watermark) {
      this.watermark = w;
      this.mark('meta');
    }
    // Forget SIDs older than the watermark: such events are refused as late anyway.
    while (this.appliedHead < this.appliedOrder.length && (this.appliedOrder[this.appliedHead] as [string, number])[1] < this.watermark) {
      this.seen.delete((this.appliedOrder[this.appliedHead] as [string, number])[0]);
      this.appliedHead += 1;
    }
    if (this.appliedHead > 1024 && this.appliedHead * 2 > this.appliedOrder.length) {
      this.appliedOrder = this.appliedOrder.slice(this.appliedHead);
      this.appliedHead = 0;
    }
  }

  private push(e: EngineEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i] as EngineEvent, h[p] as EngineEvent)) break;
      [h[i], h[p]] = [h[p] as EngineEvent, h[i] as EngineEvent];
      i = p;
    }
  }

  private pop(): EngineEvent {
    const h = this.heap;
    const top = h[0] as EngineEvent;
    const last = h.pop() as EngineEvent;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as EngineEvent, h[m] as EngineEvent)) m = l;
        if (r < h.length && before(h[r] as EngineEvent, h[m] as EngineEvent)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as EngineEvent, h[i] as EngineEvent];
        i = m;
      }
    }
    return top;
  }

  // ---- applying one event (§B7) ----

  private apply(e: EngineEvent): void {
    const d = e.data;
    if (e.at !== this.instant) {
      this.instant = e.at;
      if (this.acceptedNow.length > 0) this.acceptedNow = [];
      if (this.canceledNow.length > 0) this.canceledNow = [];
    }
    switch (e.eventType) {
      case 'activity.created':
      case 'activity.updated':
        this.activities.set(e.resourceSid, d['activity_available'] === true);
        this.mark('act', e.resourceSid);
        return;
      case 'worker.created':
      case 'worker.attributes.update':
      case 'worker.updated':
        this.agentEvent(e);
        if (e.eventType === 'worker.created') this.openStatus(e.resourceSid, e.at, d);
        return;
      case 'worker.activity.update':
        this.agentEvent(e);
        this.activityUpdate(e);
        return;
      case 'worker.deleted':
        this.closeStatus(e.resourceSid, e.at);
        return;
      case 'task.created':
        this.taskCreated(e);
        return;
      case 'task-queue.entered':
        this.queueEntered(e);
        return;
      case 'task-queue.moved':
        this.closeQe(this.task(str(d['task_sid']) ?? e.resourceSid), e.at, 'Moved');
        return;
      case 'task-queue.timeout': {
        const t = this.task(str(d['task_sid']) ?? e.resourceSid);
        const id = t.openQe;
        if (id !== null) {
          this.closeQe(t, e.at, 'Timeout');
          t.timedOut = [id, e.at];
          this.mark('task', t.taskSid);
        }
        return;
      }
      case 'reservation.created':
        this.reservationCreated(e);
        return;
      case 'reservation.accepted':
        this.reservationAccepted(e);
        return;
      case 'reservation.rejected':
        this.closeIe(e, 'Rejected');
        return;
      case 'reservation.timeout':
      case 'reservation.canceled':
        this.closeIe(e, 'Missed');
        if (e.eventType === 'reservation.canceled') this.closeAe(e.resourceSid, e.at);
        return;
      case 'reservation.rescinded':
        this.closeIe(e, 'Revoked');
        return;
      case 'reservation.failed':
        this.closeIe(e, 'Failed');
        return;
      case 'reservation.wrapup':
        this.wrapAe(e.resourceSid, e.at);
        return;
      case 'reservation.completed':
        this.closeAe(e.resourceSid, e.at);
        return;
      case 'task.wrapup': {
        const t = this.tasks.get(e.resourceSid);
        const ae = t?.aes[t.aes.length - 1];
        if (ae !== undefined) this.wrapAe(ae, e.at);
        return;
      }
      case 'task.completed':
      case 'task.canceled':
      case 'task.deleted':
      case 'task.system-deleted':
        this.taskEnded(e);
        return;
      case 'task.transfer-initiated':
      case 'task.transfer-attempt-failed':
      case 'task.transfer-completed':
      case 'task.transfer-failed':
      case 'task.transfer-canceled':
        this.transferEvent(e);
        return;
      default:
        return;
    }
  }

  private task(taskSid: string): TaskState {
    let t = this.tasks.get(taskSid);
    if (t === undefined) {
      t = { taskSid, openQe: null, qeCount: 0, lastEntered: null, timedOut: null, aes: [] };
      this.tasks.set(taskSid, t);
      this.mark('task', taskSid);
    }
    return t;
  }

  private taskCreated(e: EngineEvent): void {
    if (this.conversationsBySid.has(e.resourceSid)) return;
    const raw = str(e.data['task_attributes']) ?? '{}';
    const attrs = parseJson(raw);
    const customer = customerOf(attrs, e.resourceSid);
    const conversationSid = nonEmpty(field(attrs, 'conversationSid')) ?? nonEmpty(field(attrs, 'conversation_sid'));
    const virtualStartS = e.data['task_virtual_start_time'];
    this.conversationsBySid.set(e.resourceSid, {
      taskSid: e.resourceSid,
      customerId: customer.id,
      channel: str(e.data['task_channel_unique_name']),
      start: e.at,
      virtualStart: typeof virtualStartS === 'number' && Number.isFinite(virtualStartS) ? virtualStartS * 1000 : e.at,
      end: null,
      endReason: null,
      durationS: null,
      conversationSid,
      attributes: raw,
      transferredFrom: null,
      transferSid: null,
      journeyTaskSid: e.resourceSid,
    });
    const c = this.customersById.get(customer.id);
    if (c === undefined) this.customersById.set(customer.id, { customerId: customer.id, source: customer.source, firstSeen: e.at, conversations: 1 });
    else c.conversations += 1;
    this.mark('conv', e.resourceSid);
    this.mark('cust', customer.id);
    this.task(e.resourceSid);
  }

  private queueEntered(e: EngineEvent): void {
    const taskSid = str(e.data['task_sid']) ?? e.resourceSid;
    const t = this.task(taskSid);
    // §B7: a task-queue.timeout followed within 1 s by task-queue.entered was a move.
    if (t.timedOut !== null) {
      const [id, at] = t.timedOut;
      const qe = this.qes.get(id);
      if (qe !== undefined && e.at - at <= 1000) {
        qe.outcome = 'Moved';
        this.mark('qe', id);
      }
      t.timedOut = null;
    }
    if (t.openQe !== null) this.closeQe(t, e.at, 'Moved');
    // A new QE after an agent engagement: that engagement ended in a transfer (§B8).
    const lastAe = t.aes[t.aes.length - 1];
    if (lastAe !== undefined) {
      const ae = this.aes.get(lastAe);
      if (ae !== undefined && !ae.transferred) {
        ae.transferred = true;
        this.mark('ae', lastAe);
      }
    }
    const id = `${taskSid}/${t.qeCount}`;
    t.qeCount += 1;
    t.openQe = id;
    t.lastEntered = e.at;
    this.mark('task', taskSid);
    this.mark('qe', id);
    this.qes.set(id, {
      id,
      taskSid,
      queueSid: str(e.data['task_queue_sid']) ?? '',
      queueName: str(e.data['task_queue_name']) ?? '',
      channel: str(e.data['task_channel_unique_name']),
      open: e.at,
      close: null,
      outcome: null,
      waitS: null,
    });
  }

  private closeQe(t: TaskState, at: number, outcome: QueueOutcome): void {
    if (t.openQe === null) return;
    const qe = this.qes.get(t.openQe);
    this.mark('task', t.taskSid);
    this.mark('qe', t.openQe);
    t.openQe = null;
    if (qe === undefined) return;
    qe.close = at;
    qe.outcome = outcome;
    qe.waitS = secs(at - qe.open);
  }

  private ie(e: EngineEvent): InvitationEngagement {
    let ie = this.ies.get(e.resourceSid);
    if (ie === undefined) {
      ie = {
        reservationSid: e.resourceSid,
        taskSid: str(e.data['task_sid']) ?? '',
        agentSid: str(e.data['worker_sid']) ?? '',
        queueSid: str(e.data['task_queue_sid']),
        channel: str(e.data['task_channel_unique_name']),
        open: null,
        close: null,
        outcome: null,
        invitationS: null,
      };
      this.ies.set(e.resourceSid, ie);
    }
    this.mark('ie', e.resourceSid);
    return ie;
  }

  private reservationCreated(e: EngineEvent): void {
    const ie = this.ie(e);
    const ringing = this.busyOf(ie.agentSid).ringing;
    if (ie.open !== null) ringing.remove(ie);
    ie.open = e.at;
    if (ie.close !== null) ie.invitationS = secs(ie.close - e.at);
    ringing.add(ie);
  }

  private closeIe(e: EngineEvent, outcome: InvitationOutcome): void {
    const ie = this.ie(e);
    if (ie.close !== null) return;
    ie.close = e.at;
    ie.outcome = outcome;
    if (ie.open !== null) {
      ie.invitationS = secs(e.at - ie.open);
      this.busyOf(ie.agentSid).ringing.closed(ie);
    }
  }

  /** An agent's busy-time index, made empty on first use. */
  private busyOf(agentSid: string): BusyIndex {
    let b = this.busyIdx.get(agentSid);
    if (b === undefined) {
      b = {
        ringing: new SpanIndex<InvitationEngagement>((x) => x.open as number, (x) => x.close),
        engaged: new SpanIndex<AgentEngagement>((x) => x.accept, (x) => x.close),
      };
      this.busyIdx.set(agentSid, b);
    }
    return b;
  }

  /** Rebuilds the derived indexes from the model (after a restore). */
  private reindex(): void {
    this.busyIdx.clear();
    const ringing = new Map<string, InvitationEngagement[]>();
    const engaged = new Map<string, AgentEngagement[]>();
    const push = <T>(m: Map<string, T[]>, sid: string, x: T): void => {
      const list = m.get(sid);
      if (list === undefined) m.set(sid, [x]);
      else list.push(x);
    };
    for (const ie of this.ies.values()) if (ie.open !== null) push(ringing, ie.agentSid, ie);
    for (const ae of this.aes.values()) push(engaged, ae.agentSid, ae);
    for (const [sid, list] of ringing) this.busyOf(sid).ringing.reset(list);
    for (const [sid, list] of engaged) this.busyOf(sid).engaged.reset(list);
    this.statusUnsorted.clear();
    for (const [sid, st] of this.status) {
      for (let i = 1; i < st.intervals.length; i++) {
        const [a, b] = [st.intervals[i - 1] as [number, number, string, boolean], st.intervals[i] as [number, number, string, boolean]];
        if (b[0] < a[0] || b[1] < a[1]) this.statusUnsorted.add(sid);
      }
    }
  }

  private reservationAccepted(e: EngineEvent): void {
    if (this.aes.has(e.resourceSid)) return;
    const ie = this.ie(e);
    this.closeIe(e, 'Accepted');
    const t = this.task(ie.taskSid);
    this.closeQe(t, e.at, 'Accepted');
    // A second AE on the same task: the previous one ended in a transfer (§B8).
    const prev = t.aes[t.aes.length - 1];
    if (prev !== undefined) {
      const p = this.aes.get(prev);
      if (p !== undefined && !p.transferred) {
        p.transferred = true;
        this.mark('ae', prev);
      }
    }
    t.aes.push(e.resourceSid);
    this.mark('task', t.taskSid);
    this.mark('ae', e.resourceSid);
    const agent = this.agentsBySid.get(ie.agentSid);
    const version = agent?.versions[agent.versions.length - 1];
    const ae: AgentEngagement = {
      reservationSid: e.resourceSid,
      taskSid: ie.taskSid,
      agentSid: ie.agentSid,
      agentTeam: version?.team ?? null,
      queueSid: ie.queueSid,
      channel: ie.channel,
      accept: e.at,
      wrapup: null,
      close: null,
      waitS: t.lastEntered === null ? null : secs(e.at - t.lastEntered),
      invitationS: ie.open === null ? null : secs(e.at - ie.open),
      engagementS: null,
      wrapupS: null,
      handlingS: null,
      transferred: false,
      transferSid: null,
    };
    this.aes.set(e.resourceSid, ae);
    this.acceptedNow.push(ae);
    this.busyOf(ae.agentSid).engaged.add(ae);
  }

  /** The engagement phase ends at the first of `reservation.wrapup` / `task.wrapup` (§B7). */
  private wrapAe(reservationSid: string, at: number): void {
    const ae = this.aes.get(reservationSid);
    if (ae === undefined || ae.wrapup !== null || ae.close !== null) return;
    this.mark('ae', reservationSid);
    ae.wrapup = at;
    ae.engagementS = secs(at - ae.accept);
  }

  /** The AE closes at the first of `reservation.completed` / `task.completed` / the task's end (§B7). */
  private closeAe(reservationSid: string, at: number): void {
    const ae = this.aes.get(reservationSid);
    if (ae === undefined || ae.close !== null) return;
    this.mark('ae', reservationSid);
    ae.close = at;
    if (ae.wrapup === null) {
      ae.engagementS = secs(at - ae.accept);
      ae.wrapupS = 0;
    } else {
      ae.wrapupS = secs(at - ae.wrapup);
    }
    ae.handlingS = (ae.engagementS ?? 0) + ae.wrapupS;
    this.busyOf(ae.agentSid).engaged.closed(ae);
  }

  private taskEnded(e: EngineEvent): void {
    const t = this.task(e.resourceSid);
    const reason = str(e.data['task_canceled_reason']) ?? str(e.data['reason']);
    let outcome: QueueOutcome;
    switch (e.eventType) {
      case 'task.deleted':
        outcome = 'Deleted';
        break;
      case 'task.system-deleted':
        outcome = 'Expired';
        break;
      case 'task.canceled':
        outcome = reason === 'hangup' ? 'CustomerLeft' : reason === 'Task canceled on Workflow timeout' ? 'Timeout' : 'Canceled';
        break;
      default:
        outcome = 'Canceled';
    }
    this.closeQe(t, e.at, outcome);
    for (const sid of t.aes) this.closeAe(sid, e.at);
    if (e.eventType === 'task.canceled') this.canceledNow.push(t.taskSid);
    const c = this.conversationsBySid.get(e.resourceSid);
    if (c !== undefined && c.end === null) {
      this.mark('conv', e.resourceSid);
      c.end = e.at;
      c.endReason = e.eventType.slice('task.'.length);
      c.durationS = secs(e.at - c.start);
    }
  }

  // ---- transfers (§B5, §B8 transfer rate; voice-worker-sdk-console.md B5) ----

  /**
   * A `task.transfer-*` event (on the original task, with `task_transfer_sid` and the `transfer_*`
   * fields): keeps the {@link Transfer}; on `completed` marks the initiating reservation's AE as
   * transferred and links the transfer's task; on `failed` / `canceled` links the transfer's task.
   */
  private transferEvent(e: EngineEvent): void {
    const d = e.data;
    const sid = str(d['task_transfer_sid']);
    if (sid === null) return;
    const startedS = d['transfer_started'];
    let tr = this.transfersBySid.get(sid);
    if (tr === undefined) {
      tr = {
        transferSid: sid,
        taskSid: str(d['task_sid']) ?? e.resourceSid,
        transferTaskSid: null,
        initiatingReservationSid: str(d['transfer_initiating_reservation_sid']),
        initiatingWorkerSid: str(d['transfer_initiating_worker_sid']),
        mode: str(d['transfer_mode']),
        type: str(d['transfer_type']),
        to: str(d['transfer_to']),
        status: 'initiated',
        started: e.eventType !== 'task.transfer-initiated' && typeof startedS === 'number' ? startedS * 1000 : e.at,
        end: null,
        attemptsFailed: 0,
        failedReason: null,
      };
      this.transfersBySid.set(sid, tr);
    }
    this.mark('tt', sid);
    const reason = str(d['transfer_failed_reason']);
    switch (e.eventType) {
      case 'task.transfer-attempt-failed':
        tr.attemptsFailed += 1;
        if (reason !== null) tr.failedReason = reason;
        return;
      case 'task.transfer-completed': {
        tr.status = 'completed';
        tr.end = e.at;
        const ae = tr.initiatingReservationSid === null ? undefined : this.aes.get(tr.initiatingReservationSid);
        if (ae !== undefined && ae.transferSid === null) {
          ae.transferred = true;
          ae.transferSid = sid;
          this.mark('ae', ae.reservationSid);
        }
        const startS = Math.floor(tr.started / 1000);
        const target = this.acceptedNow.find((x) => x.taskSid !== tr.taskSid && (tr.type === 'WORKER' ? x.agentSid === tr.to : tr.type === 'QUEUE' ? x.queueSid === tr.to : true) && this.tasks.get(x.taskSid)?.aes.length === 1 && this.linkable(x.taskSid, startS));
        if (target !== undefined) this.linkTransferTask(tr, target.taskSid);
        return;
      }
      case 'task.transfer-failed':
      case 'task.transfer-canceled': {
        tr.status = e.eventType === 'task.transfer-failed' ? 'failed' : 'canceled';
        tr.end = e.at;
        if (reason !== null) tr.failedReason = reason;
        const startS = Math.floor(tr.started / 1000);
        const target = this.canceledNow.find((x) => x !== tr.taskSid && this.tasks.get(x)?.aes.length === 0 && this.linkable(x, startS));
        if (target !== undefined) this.linkTransferTask(tr, target);
        return;
      }
      default:
        return;
    }
  }

  /** Whether task `taskSid` may be a transfer's task: created in the transfer's second (`transfer_started`, whole s) and not linked yet. */
  private linkable(taskSid: string, startS: number): boolean {
    const c = this.conversationsBySid.get(taskSid);
    return c !== undefined && c.transferSid === null && Math.floor(c.start / 1000) === startS;
  }

  /**
   * Links a transfer's task to the original: its conversation gets `transferredFrom`,
   * `transferSid` and the original's journey; the customer's conversation count does not grow
   * when it is the original's customer (one journey).
   */
  private linkTransferTask(tr: Transfer, taskSid: string): void {
    const c = this.conversationsBySid.get(taskSid);
    if (c === undefined) return;
    const original = this.conversationsBySid.get(tr.taskSid);
    c.transferredFrom = tr.taskSid;
    c.transferSid = tr.transferSid;
    c.journeyTaskSid = original?.journeyTaskSid ?? tr.taskSid;
    tr.transferTaskSid = taskSid;
    this.mark('conv', taskSid);
    if (original !== undefined && original.customerId === c.customerId) {
      const cust = this.customersById.get(c.customerId);
      if (cust !== undefined && cust.conversations > 1) {
        cust.conversations -= 1;
        this.mark('cust', c.customerId);
      }
    }
  }

  // ---- agents and status (§B7) ----

  private agentEvent(e: EngineEvent): void {
    const raw = str(e.data['worker_attributes']);
    const sid = e.resourceSid;
    let agent = this.agentsBySid.get(sid);
    if (agent === undefined) {
      agent = { agentSid: sid, name: str(e.data['worker_name']) ?? '', versions: [] };
      this.agentsBySid.set(sid, agent);
      this.mark('agent', sid);
    }
    const name = str(e.data['worker_name']);
    if (name !== null && name !== agent.name) {
      agent.name = name;
      this.mark('agent', sid);
    }
    if (raw === null) return;
    const parsed = parseJson(raw);
    const last = agent.versions[agent.versions.length - 1];
    if (last !== undefined && JSON.stringify(last.raw) === JSON.stringify(parsed)) return;
    if (last !== undefined) {
      last.validTo = e.at;
      this.mark('agentv', sid, agent.versions.length - 1);
    }
    agent.versions.push(agentVersion(parsed, e.at));
    this.mark('agentv', sid, agent.versions.length - 1);
  }

  private isAvailable(d: Record<string, EventValue>, sidKey: string, nameKey: string): boolean {
    const sid = str(d[sidKey]);
    const known = sid === null ? undefined : this.activities.get(sid);
    return known ?? str(d[nameKey]) === 'Available';
  }

  private statusOf(agentSid: string): StatusState {
    let s = this.status.get(agentSid);
    if (s === undefined) {
      s = { intervals: [], open: null };
      this.status.set(agentSid, s);
    }
    return s;
  }

  private openStatus(agentSid: string, at: number, d: Record<string, EventValue>): void {
    const s = this.statusOf(agentSid);
    const name = str(d['worker_activity_name']) ?? '';
    s.open = [at, name, this.isAvailable(d, 'worker_activity_sid', 'worker_activity_name')];
    this.mark('sto', agentSid);
  }

  private closeStatus(agentSid: string, at: number): void {
    const s = this.statusOf(agentSid);
    if (s.open !== null) {
      const [start, name, available] = s.open;
      if (name !== OFFLINE && at > start) this.pushInterval(agentSid, s, [start, at, name, available]);
    }
    s.open = null;
    this.mark('sto', agentSid);
  }

  private pushInterval(agentSid: string, s: StatusState, interval: [number, number, string, boolean]): void {
    const last = s.intervals[s.intervals.length - 1];
    if (last !== undefined && (interval[0] < last[0] || interval[1] < last[1])) this.statusUnsorted.add(agentSid);
    s.intervals.push(interval);
    this.mark('st', agentSid, s.intervals.length - 1);
  }

  /** The previous interval is [at − worker_time_in_previous_activity_ms, at) (§B7). */
  private activityUpdate(e: EngineEvent): void {
    const d = e.data;
    const s = this.statusOf(e.resourceSid);
    const prevMs = typeof d['worker_time_in_previous_activity_ms'] === 'number' ? d['worker_time_in_previous_activity_ms'] : null;
    const prevName = str(d['worker_previous_activity_name']);
    if (prevMs !== null && prevName !== null) {
      const start = e.at - prevMs;
      if (prevName !== OFFLINE && prevMs > 0) this.pushInterval(e.resourceSid, s, [start, e.at, prevName, this.isAvailable(d, 'worker_previous_activity_sid', 'worker_previous_activity_name')]);
      s.open = null;
    } else {
      this.closeStatus(e.resourceSid, e.at);
    }
    this.openStatus(e.resourceSid, e.at, d);
  }

  /**
   * An agent's status intervals that may overlap [from, to) (ms; a superset: callers clip), the open
   * one ending at `until`; Offline excluded. Reads only the closed intervals ending after `from` and
   * starting before `to` (binary search: they are in time order; when not, all of them).
   */
  private intervalsIn(agentSid: string, from: number, to: number, until: number): [number, number, string, boolean][] {
    const s = this.status.get(agentSid);
    if (s === undefined) return [];
    const list = s.intervals;
    const out: [number, number, string, boolean][] = [];
    if (this.statusUnsorted.has(agentSid)) {
      out.push(...list);
    } else {
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((list[mid] as [number, number, string, boolean])[1] <= from) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < list.length; i++) {
        const x = list[i] as [number, number, string, boolean];
        if (x[0] >= to) break;
        out.push(x);
      }
    }
    if (s.open !== null && s.open[1] !== OFFLINE && until > s.open[0]) out.push([s.open[0], until, s.open[1], s.open[2]]);
    return out;
  }

  /**
   * An agent's busy spans reaching into [from, to) (ms), from its index: ringing (invitations,
   * open ones up to `now`) and engaged (agent engagements); unsorted, not merged.
   */
  private busySpans(agentSid: string, from: number, to: number, now: number): { ringing: [number, number][]; engaged: [number, number][] } {
    const ringing: [number, number][] = [];
    const engaged: [number, number][] = [];
    const b = this.busyIdx.get(agentSid);
    if (b !== undefined) {
      b.ringing.each(from, to, now, (s, e) => ringing.push([s, e]));
      b.engaged.each(from, to, now, (s, e) => engaged.push([s, e]));
    }
    return { ringing, engaged };
  }

  /** The agents occupancy and utilization cover (§B8): those with status or an agent engagement, sorted; one when `agent` is given. */
  private occupancyAgents(agent: string | undefined): string[] {
    if (agent !== undefined) return this.status.has(agent) || (this.busyIdx.get(agent)?.engaged.size ?? 0) > 0 ? [agent] : [];
    const sids = new Set<string>(this.status.keys());
    for (const [sid, b] of this.busyIdx) if (b.engaged.size > 0) sids.add(sid);
    return [...sids].sort();
  }

  // ---- queries (plain data) ----

  /** The instant up to which open intervals count in queries: the watermark (newest applied event after flush) or `asOf` if later, ms. */
  private horizon(asOf?: number): number {
    return asOf === undefined ? this.watermark : Math.max(this.watermark, asOf);
  }

  conversations(): Conversation[] {
    return [...this.conversationsBySid.values()].map((c) => ({ ...c }));
  }

  /** One task's conversation (a copy), or undefined when its `task.created` was not applied. */
  conversation(taskSid: string): Conversation | undefined {
    const c = this.conversationsBySid.get(taskSid);
    return c === undefined ? undefined : { ...c };
  }

  /** A task's call start, `Conversation.virtualStart` (ms), without copying the conversation; undefined when unknown. */
  virtualStartOf(taskSid: string): number | undefined {
    return this.conversationsBySid.get(taskSid)?.virtualStart;
  }

  customers(): Customer[] {
    return [...this.customersById.values()].map((c) => ({ ...c }));
  }

  /** Every transfer seen (copies), in the order first seen. */
  transfers(): Transfer[] {
    return [...this.transfersBySid.values()].map((t) => ({ ...t }));
  }

  /** The tasks of one customer journey (the conversations whose `journeyTaskSid` is `journeyTaskSid`), oldest first (copies). */
  journey(journeyTaskSid: string): Conversation[] {
    return [...this.conversationsBySid.values()].filter((c) => c.journeyTaskSid === journeyTaskSid).sort((a, b) => a.start - b.start || (a.taskSid < b.taskSid ? -1 : 1)).map((c) => ({ ...c }));
  }

  agents(): Agent[] {
    return [...this.agentsBySid.values()].map((a) => ({ ...a, versions: a.versions.map((v) => ({ ...v })) }));
  }

  /**
   * Every engagement of the three kinds as the projector holds them — not copies: read-only, and
   * valid until the next event is applied (a replay's end-of-run read, without copying ~50,000
   * records). {@link engagements} gives copies.
   */
  engagementsView(): { queue: readonly Readonly<QueueEngagement>[]; invitation: readonly Readonly<InvitationEngagement>[]; agent: readonly Readonly<AgentEngagement>[] } {
    return { queue: [...this.qes.values()], invitation: [...this.ies.values()], agent: [...this.aes.values()] };
  }

  /** Engagements of the three kinds, optionally only those opened in [from, to) (ms) and of one task. */
  engagements(q: { from?: number; to?: number; taskSid?: string } = {}): { queue: QueueEngagement[]; invitation: InvitationEngagement[]; agent: AgentEngagement[] } {
    const inRange = (at: number | null): boolean => at === null || ((q.from === undefined || at >= q.from) && (q.to === undefined || at < q.to));
    const task = (sid: string): boolean => q.taskSid === undefined || sid === q.taskSid;
    return {
      queue: [...this.qes.values()].filter((x) => task(x.taskSid) && inRange(x.open)).map((x) => ({ ...x })),
      invitation: [...this.ies.values()].filter((x) => task(x.taskSid) && inRange(x.open)).map((x) => ({ ...x })),
      agent: [...this.aes.values()].filter((x) => task(x.taskSid) && inRange(x.accept)).map((x) => ({ ...x })),
    };
  }

  /**
   * Seconds per agent × activity × 15-minute bucket (§B7), for intervals overlapping [from, to)
   * (ms); Offline is not stored; the open interval counts up to the watermark.
   */
  statusIntervals(q: { from: number; to: number; agent?: string; asOf?: number }): StatusRow[] {
    const rows = new Map<string, StatusRow>();
    const now = this.horizon(q.asOf);
    for (const agentSid of [...this.status.keys()].sort()) {
      if (q.agent !== undefined && agentSid !== q.agent) continue;
      for (const [s0, e0, activity] of this.intervalsIn(agentSid, q.from, q.to, now)) {
        const s = Math.max(s0, q.from);
        const e = Math.min(e0, q.to);
        for (let b = Math.floor(s / BUCKET_MS) * BUCKET_MS; b < e; b += BUCKET_MS) {
          const ms = Math.min(e, b + BUCKET_MS) - Math.max(s, b);
          if (ms <= 0) continue;
          const key = `${agentSid}|${b}|${activity}`;
          const row = rows.get(key);
          if (row === undefined) rows.set(key, { agentSid, bucket: b, activity, seconds: secs(ms) });
          else row.seconds += secs(ms);
        }
      }
    }
    return [...rows.values()].sort((a, b) => a.agentSid.localeCompare(b.agentSid) || a.bucket - b.bucket || a.activity.localeCompare(b.activity));
  }

  /** Busy (the measure of `busyU`, a disjoint union), available-idle and staffed ms of one agent in [from, to) (§B8 occupancy, utilization). */
  private agentTime(agentSid: string, from: number, to: number, busyU: [number, number][], now: number): { busy: number; idle: number; staffed: number } {
    const busy = overlap(busyU, from, to);
    let available = 0;
    let staffed = 0;
    let availBusy = 0;
    for (const [s0, e0, , avail] of this.intervalsIn(agentSid, from, to, now)) {
      const s = Math.max(s0, from);
      const e = Math.min(e0, to);
      if (e <= s) continue;
      staffed += e - s;
      if (avail) {
        available += e - s;
        availBusy += overlap(busyU, s, e);
      }
    }
    return { busy, idle: available - availBusy, staffed };
  }

  /**
   * What a live wait-time estimate needs of the recent past of one queue (and channel) over
   * [from, to) (ms): the handled agent engagements closed in the period and their mean handling
   * time (§B7 handling; the service time μ̂ = 1 / mean of spec callbacks-and-ewt §3.3), the queue
   * engagements that ended with the caller leaving (`CustomerLeft`) and the seconds waited by every
   * queue engagement that closed in the period (θ̂ = abandonments ÷ time waited, §7.3). Reads every
   * closed QE and AE once.
   */
  waitStats(q: { from: number; to: number; queue?: string; channel?: string }): { handled: number; meanHandlingS: number | null; abandoned: number; waitedS: number } {
    const inP = (at: number | null): boolean => at !== null && at >= q.from && at < q.to;
    const scoped = (e: { queueSid: string | null; channel: string | null }): boolean =>
      (q.queue === undefined || e.queueSid === q.queue) && (q.channel === undefined || e.channel === q.channel);
    let abandoned = 0;
    let waitedS = 0;
    for (const qe of this.qes.values()) {
      if (!inP(qe.close) || !scoped(qe)) continue;
      waitedS += qe.waitS ?? 0;
      if (qe.outcome === 'CustomerLeft') abandoned += 1;
    }
    let handled = 0;
    let handling = 0;
    for (const ae of this.aes.values()) {
      if (!inP(ae.close) || ae.handlingS === null || !scoped(ae)) continue;
      handled += 1;
      handling += ae.handlingS;
    }
    return { handled, meanHandlingS: handled === 0 ? null : handling / handled, abandoned, waitedS };
  }

  /**
   * The KPIs of §B8 over [from, to) (ms), optionally for one queue, agent or channel. Counts read
   * every engagement once; occupancy and utilization read, per agent, only its engagements and
   * status intervals that reach into the period (the per-agent index).
   */
  kpis(q: KpiQuery): Kpis {
    const T = q.thresholdS ?? 20;
    const TS = q.shortAbandonS ?? 5;
    const now = this.horizon(q.asOf);
    const inP = (at: number): boolean => at >= q.from && at < q.to;
    const r = kpiSums(q.from, q.to);
    if (q.agent === undefined) {
      for (const qe of this.qes.values()) {
        if (!inP(qe.open) || qe.outcome === null || qe.outcome === 'Moved') continue;
        if (q.queue !== undefined && qe.queueSid !== q.queue) continue;
        if (q.channel !== undefined && qe.channel !== q.channel) continue;
        addQe(r, qe, T, TS);
      }
    }
    for (const ae of this.aes.values()) {
      if (q.agent !== undefined && ae.agentSid !== q.agent) continue;
      if (q.queue !== undefined && ae.queueSid !== q.queue) continue;
      if (q.channel !== undefined && ae.channel !== q.channel) continue;
      if (ae.close === null || !inP(ae.close) || ae.handlingS === null) continue;
      r.handled += 1;
      r.handling += ae.handlingS;
      if (ae.transferred) r.transferred += 1;
    }
    for (const ie of this.ies.values()) {
      if (ie.open === null || !inP(ie.open) || ie.outcome === null) continue;
      if (q.agent !== undefined && ie.agentSid !== q.agent) continue;
      if (q.queue !== undefined && ie.queueSid !== q.queue) continue;
      if (q.channel !== undefined && ie.channel !== q.channel) continue;
      addIe(r, ie);
    }
    // Occupancy and utilization (§B8): agents in scope are those with status or engagements.
    for (const sid of this.occupancyAgents(q.agent)) {
      const { ringing, engaged } = this.busySpans(sid, q.from, q.to, now);
      const t = this.agentTime(sid, q.from, q.to, union([...ringing, ...engaged]), now);
      const n = this.agentTime(sid, q.from, q.to, union(engaged), now);
      r.busy += t.busy;
      r.idle += t.idle;
      r.staffed += t.staffed;
      r.busyNoRing += n.busy;
      r.idleNoRing += n.idle;
      const a = r.perAgent.get(sid);
      if (a !== undefined) a.occupancy = ratio(t.busy, t.busy + t.idle);
    }
    return finishKpis(r, T, TS);
  }

  /**
   * The KPIs of §B8 per interval of [from, to) (ms): rows aligned to UTC multiples of `intervalMs`
   * (ms), the first and last clipped to the period, in time order — the very numbers of one
   * {@link kpis} call per row (same filters, thresholds and `asOf`), computed in one pass: every
   * QE, IE and AE is counted into the row of its instant, and each agent's busy spans and status
   * intervals in the period are split over the rows they touch. Cost: the engagements once, plus
   * per agent its spans in the period, plus agents × rows. Throws a RangeError when `intervalMs` is
   * not a positive whole number of ms or the period is empty.
   */
  kpiSeries(q: KpiQuery & { intervalMs: number }): Kpis[] {
    const len = q.intervalMs;
    if (!Number.isInteger(len) || len <= 0) throw new RangeError(`intervalMs must be a positive whole number of ms (got ${len})`);
    if (!(q.from < q.to)) throw new RangeError(`the period [${q.from}, ${q.to}) is empty`);
    const T = q.thresholdS ?? 20;
    const TS = q.shortAbandonS ?? 5;
    const now = this.horizon(q.asOf);
    const first = Math.floor(q.from / len) * len;
    const rows: KpiSums[] = [];
    for (let b = first; b < q.to; b += len) rows.push(kpiSums(Math.max(b, q.from), Math.min(b + len, q.to)));
    const n = rows.length;
    const rowAt = (at: number): KpiSums | undefined => (at >= q.from && at < q.to ? rows[Math.floor((at - first) / len)] : undefined);
    if (q.agent === undefined) {
      for (const qe of this.qes.values()) {
        if (qe.outcome === null || qe.outcome === 'Moved') continue;
        if (q.queue !== undefined && qe.queueSid !== q.queue) continue;
        if (q.channel !== undefined && qe.channel !== q.channel) continue;
        const r = rowAt(qe.open);
        if (r !== undefined) addQe(r, qe, T, TS);
      }
    }
    for (const ae of this.aes.values()) {
      if (q.agent !== undefined && ae.agentSid !== q.agent) continue;
      if (q.queue !== undefined && ae.queueSid !== q.queue) continue;
      if (q.channel !== undefined && ae.channel !== q.channel) continue;
      if (ae.close === null || ae.handlingS === null) continue;
      const r = rowAt(ae.close);
      if (r === undefined) continue;
      r.handled += 1;
      r.handling += ae.handlingS;
      if (ae.transferred) r.transferred += 1;
    }
    for (const ie of this.ies.values()) {
      if (ie.open === null || ie.outcome === null) continue;
      if (q.agent !== undefined && ie.agentSid !== q.agent) continue;
      if (q.queue !== undefined && ie.queueSid !== q.queue) continue;
      if (q.channel !== undefined && ie.channel !== q.channel) continue;
      const r = rowAt(ie.open);
      if (r !== undefined) addIe(r, ie);
    }
    // Occupancy and utilization per row (§B8), per agent: ms per row of busy (with and without
    // ringing), staffed, available, and available-and-busy (with and without ringing).
    const busy = new Float64Array(n);
    const busyN = new Float64Array(n);
    const staffed = new Float64Array(n);
    const available = new Float64Array(n);
    const availBusy = new Float64Array(n);
    const availBusyN = new Float64Array(n);
    /** Calls f(row index, start, end) for each piece of [s, e) (already inside the period) cut at the row boundaries. */
    const pieces = (s: number, e: number, f: (i: number, ps: number, pe: number) => void): void => {
      for (let i = Math.floor((s - first) / len); i < n; i++) {
        const r = rows[i] as KpiSums;
        if (r.from >= e) break;
        const ps = Math.max(s, r.from);
        const pe = Math.min(e, r.to);
        if (pe > ps) f(i, ps, pe);
      }
    };
    for (const sid of this.occupancyAgents(q.agent)) {
      for (const a of [busy, busyN, staffed, available, availBusy, availBusyN]) a.fill(0);
      const { ringing, engaged } = this.busySpans(sid, q.from, q.to, now);
      const all = union([...ringing, ...engaged]);
      const eng = union(engaged);
      for (const [u, out] of [[all, busy], [eng, busyN]] as const) {
        for (const [a, b] of u) {
          const s = Math.max(a, q.from);
          const e = Math.min(b, q.to);
          if (e > s) pieces(s, e, (i, ps, pe) => (out[i] = (out[i] as number) + (pe - ps)));
        }
      }
      for (const [s0, e0, , avail] of this.intervalsIn(sid, q.from, q.to, now)) {
        const s = Math.max(s0, q.from);
        const e = Math.min(e0, q.to);
        if (e <= s) continue;
        pieces(s, e, (i, ps, pe) => {
          staffed[i] = (staffed[i] as number) + (pe - ps);
          if (!avail) return;
          available[i] = (available[i] as number) + (pe - ps);
          availBusy[i] = (availBusy[i] as number) + overlap(all, ps, pe);
          availBusyN[i] = (availBusyN[i] as number) + overlap(eng, ps, pe);
        });
      }
      for (let i = 0; i < n; i++) {
        const r = rows[i] as KpiSums;
        const b = busy[i] as number;
        const idle = (available[i] as number) - (availBusy[i] as number);
        r.busy += b;
        r.idle += idle;
        r.staffed += staffed[i] as number;
        r.busyNoRing += busyN[i] as number;
        r.idleNoRing += (available[i] as number) - (availBusyN[i] as number);
        const a = r.perAgent.get(sid);
        if (a !== undefined) a.occupancy = ratio(b, b + idle);
      }
    }
    return rows.map((r) => finishKpis(r, T, TS));
  }

  // ---- model rows (storage) ----

  /**
   * Tells the projector whether an activity counts as available (§B8 available-idle) when its
   * `activity.created` event was never seen (a host that starts after the workspace was made).
   * Changes nothing already applied.
   */
  knowActivity(activitySid: string, available: boolean): void {
    if (this.activities.get(activitySid) === available) return;
    this.activities.set(activitySid, available);
    this.mark('act', activitySid);
  }

  /**
   * The model rows changed since the last call (see {@link ModelRow} for the keys), and clears the
   * list; [] when the projector was made without `trackChanges`. Events still in the buffer are
   * not rows: take rows after {@link flush} (or with lateness 0) to store everything applied.
   */
  takeChangedRows(): ModelRow[] {
    if (this.dirty === null || this.dirty.size === 0) return [];
    const out: ModelRow[] = [];
    for (const key of this.dirty) {
      const body = this.rowBody(key);
      out.push({ key, body: body === undefined ? null : JSON.stringify(body) });
    }
    this.dirty.clear();
    return out;
  }

  /** Every model row as it is now (what {@link fromRows} restores), in key order. */
  rows(): ModelRow[] {
    const keys: string[] = ['meta'];
    for (const sid of this.activities.keys()) keys.push(`act:${sid}`);
    for (const a of this.agentsBySid.values()) {
      keys.push(`agent:${a.agentSid}`);
      a.versions.forEach((_, i) => keys.push(`agentv:${a.agentSid}:${i}`));
    }
    for (const [sid, st] of this.status) {
      st.intervals.forEach((_, i) => keys.push(`st:${sid}:${i}`));
      keys.push(`sto:${sid}`);
    }
    for (const id of this.customersById.keys()) keys.push(`cust:${id}`);
    for (const sid of this.conversationsBySid.keys()) keys.push(`conv:${sid}`);
    for (const sid of this.tasks.keys()) keys.push(`task:${sid}`);
    for (const id of this.qes.keys()) keys.push(`qe:${id}`);
    for (const sid of this.ies.keys()) keys.push(`ie:${sid}`);
    for (const sid of this.aes.keys()) keys.push(`ae:${sid}`);
    for (const sid of this.transfersBySid.keys()) keys.push(`tt:${sid}`);
    return keys.map((key) => ({ key, body: JSON.stringify(this.rowBody(key) ?? null) }));
  }

  /** The record a row key names, as stored (undefined: none). */
  private rowBody(key: string): unknown {
    const colon = key.indexOf(':');
    const kind = colon < 0 ? key : key.slice(0, colon);
    const id = colon < 0 ? '' : key.slice(colon + 1);
    switch (kind) {
      case 'meta':
        return { latenessMs: this.latenessMs, watermark: this.watermark, late: this.late, duplicates: this.duplicates };
      case 'act':
        return this.activities.get(id);
      case 'agent': {
        const a = this.agentsBySid.get(id);
        return a === undefined ? undefined : { agentSid: a.agentSid, name: a.name };
      }
      case 'agentv': {
        const [sid, n] = splitIndex(id);
        return this.agentsBySid.get(sid)?.versions[n];
      }
      case 'st': {
        const [sid, n] = splitIndex(id);
        return this.status.get(sid)?.intervals[n];
      }
      case 'sto': {
        const st = this.status.get(id);
        return st === undefined ? undefined : { open: st.open };
      }
      case 'cust':
        return this.customersById.get(id);
      case 'conv':
        return this.conversationsBySid.get(id);
      case 'task':
        return this.tasks.get(id);
      case 'qe':
        return this.qes.get(id);
      case 'ie':
        return this.ies.get(id);
      case 'ae':
        return this.aes.get(id);
      case 'tt':
        return this.transfersBySid.get(id);
      default:
        return undefined;
    }
  }

  /**
   * A projector holding the model stored as rows (what {@link takeChangedRows} or {@link rows}
   * wrote; any order). The buffer and the SIDs seen are not rows: the restored projector starts
   * with an empty buffer at the stored watermark. Throws a SyntaxError for a body that is not JSON.
   */
  static fromRows(rows: Iterable<ModelRow>, options: ProjectorOptions = {}): AnalyticsProjector {
    const p = new AnalyticsProjector(options);
    const versions = new Map<string, [number, AgentVersion][]>();
    const intervals = new Map<string, [number, [number, number, string, boolean]][]>();
    for (const { key, body } of rows) {
      if (body === null) continue;
      const v = JSON.parse(body) as unknown;
      if (v === null) continue;
      const colon = key.indexOf(':');
      const kind = colon < 0 ? key : key.slice(0, colon);
      const id = colon < 0 ? '' : key.slice(colon + 1);
      switch (kind) {
        case 'meta': {
          const m = v as { latenessMs: number; watermark: number; late: number; duplicates: number };
          if (options.latenessMs === undefined) p.latenessMs = m.latenessMs;
          p.watermark = m.watermark;
          p.late = m.late;
          p.duplicates = m.duplicates;
          break;
        }
        case 'act':
          p.activities.set(id, v as boolean);
          break;
        case 'agent': {
          const a = v as { agentSid: string; name: string };
          const old = p.agentsBySid.get(a.agentSid);
          if (old === undefined) p.agentsBySid.set(a.agentSid, { agentSid: a.agentSid, name: a.name, versions: [] });
          else old.name = a.name;
          break;
        }
        case 'agentv': {
          const [sid, n] = splitIndex(id);
          let list = versions.get(sid);
          if (list === undefined) versions.set(sid, (list = []));
          list.push([n, v as AgentVersion]);
          break;
        }
        case 'st': {
          const [sid, n] = splitIndex(id);
          let list = intervals.get(sid);
          if (list === undefined) intervals.set(sid, (list = []));
          list.push([n, v as [number, number, string, boolean]]);
          break;
        }
        case 'sto':
          p.statusOf(id).open = (v as { open: StatusState['open'] }).open;
          break;
        case 'cust':
          p.customersById.set(id, v as Customer);
          break;
        case 'conv': {
          const c = v as Conversation;
          // Rows written before these fields existed.
          c.virtualStart ??= c.start;
          c.transferredFrom ??= null;
          c.transferSid ??= null;
          c.journeyTaskSid ??= c.taskSid;
          p.conversationsBySid.set(id, c);
          break;
        }
        case 'task':
          p.tasks.set(id, v as TaskState);
          break;
        case 'qe':
          p.qes.set(id, v as QueueEngagement);
          break;
        case 'ie':
          p.ies.set(id, v as InvitationEngagement);
          break;
        case 'ae': {
          const ae = v as AgentEngagement;
          ae.transferSid ??= null; // rows written before the field existed
          p.aes.set(id, ae);
          break;
        }
        case 'tt':
          p.transfersBySid.set(id, v as Transfer);
          break;
        default:
          break;
      }
    }
    for (const [sid, list] of versions) {
      let agent = p.agentsBySid.get(sid);
      if (agent === undefined) p.agentsBySid.set(sid, (agent = { agentSid: sid, name: '', versions: [] }));
      agent.versions = list.sort((a, b) => a[0] - b[0]).map(([, x]) => x);
    }
    for (const [sid, list] of intervals) p.statusOf(sid).intervals = list.sort((a, b) => a[0] - b[0]).map(([, x]) => x);
    p.reindex();
    p.dirty?.clear();
    return p;
  }

  // ---- snapshot / restore ----

  /** All state as plain JSON-able data (the buffer included). */
  snapshot(): ProjectorSnapshot {
    const clone = <T>(x: T): T => structuredClone(x);
    return clone({
      latenessMs: this.latenessMs,
      watermark: this.watermark,
      late: this.late,
      duplicates: this.duplicates,
      buffer: this.heap,
      seen: [...this.seen],
      conversations: [...this.conversationsBySid.values()],
      tasks: [...this.tasks.values()],
      queueEngagements: [...this.qes.values()],
      invitations: [...this.ies.values()],
      agentEngagements: [...this.aes.values()],
      agents: [...this.agentsBySid.values()],
      customers: [...this.customersById.values()],
      status: [...this.status],
      activities: [...this.activities],
      transfers: [...this.transfersBySid.values()],
    });
  }

  /** A projector holding exactly the state of a {@link snapshot}. */
  static restore(s: ProjectorSnapshot): AnalyticsProjector {
    const x = structuredClone(s);
    const p = new AnalyticsProjector({ latenessMs: x.latenessMs });
    p.watermark = x.watermark;
    p.late = x.late;
    p.duplicates = x.duplicates;
    p.heap = x.buffer;
    p.seen = new Map(x.seen);
    p.appliedOrder = x.seen.filter(([sid]) => !x.buffer.some((e) => e.sid === sid));
    p.appliedOrder.sort((a, b) => a[1] - b[1]);
    p.conversationsBySid = new Map(x.conversations.map((c) => [c.taskSid, { ...c, virtualStart: c.virtualStart ?? c.start, transferredFrom: c.transferredFrom ?? null, transferSid: c.transferSid ?? null, journeyTaskSid: c.journeyTaskSid ?? c.taskSid }]));
    p.tasks = new Map(x.tasks.map((t) => [t.taskSid, t]));
    p.qes = new Map(x.queueEngagements.map((e) => [e.id, e]));
    p.ies = new Map(x.invitations.map((e) => [e.reservationSid, e]));
    p.aes = new Map(x.agentEngagements.map((e) => [e.reservationSid, { ...e, transferSid: e.transferSid ?? null }]));
    p.transfersBySid = new Map((x.transfers ?? []).map((t) => [t.transferSid, t]));
    p.agentsBySid = new Map(x.agents.map((a) => [a.agentSid, a]));
    p.customersById = new Map(x.customers.map((c) => [c.customerId, c]));
    p.status = new Map(x.status);
    p.activities = new Map(x.activities);
    p.reindex();
    return p;
  }
}
