/**
 * The callback core hosted by the runtime (DESIGN.md "Cores and the one runtime";
 * docs/callbacks.md "Driving the center"). One CallbackCenter, one Datastore and one wait-time
 * estimator per workspace that uses callbacks, driven in the runtime's turn:
 *
 * - every engine command the runtime executes hands its events to the workspace's center at once
 *   ({@link CallbackHosting.observe}), in the same batch — no polling, no second connection;
 * - what the center asks of the engine (create the return-call task, cancel or complete it) is
 *   executed in the same batch through the runtime ({@link CoreContext.execute}), logged like any
 *   other command, and its result told back to the center;
 * - the center's deadlines are part of the runtime's one timer ({@link CallbackHosting.nextDeadline});
 * - the center's state (one row per changed callback), its events and their webhook outbox rows
 *   are written in the batch's transaction ({@link CallbackHosting.takeWrites});
 * - dials and hang-ups are outbox rows (kinds `dial` and `hangup`, src/runtime/outbox.ts) written
 *   in that same transaction, with the dial's idempotency key; the one outbox dispatcher delivers
 *   them to the telephony port through {@link CallbackHosting.deliverers}, a dial at most once
 *   (its row is taken durably before the port is called). A crash between the commit and the
 *   delivery leaves the row pending: it is delivered after the restart with the SAME key. A crash
 *   after the take and before the call leaves a dial never placed: the center times it out and
 *   retries under a new key. A restart never dials a key twice: the port is handed the dials
 *   whose rows were taken (`TelephonyPort.resume`, {@link dialsInFlight}), not the pending ones.
 *
 * Times are epoch milliseconds unless a name says seconds or hours.
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { DEFAULT_PREDICTOR, WaitTimeEstimator } from '../analytics/ewt.ts';
import type { EngineEvent, WorkspaceEngine } from '../engine/index.ts';
import { CallbackCenter, type CallbackEffect, type CallbackEvent, type CallbackRequest, type CenterOptions, type CenterOutcome, type CenterSnapshot } from '../callbacks/center.ts';
import { Datastore, withStoredContext, type DatastoreSnapshot } from '../callbacks/datastore.ts';
import { queueViewOf } from '../callbacks/queue-view.ts';
import type { DialResult, ResumedDial, TelephonyPort } from '../callbacks/telephony-port.ts';
import type { CallbackStateRow, CallbackStateWrite, CoreWrites, Store } from '../store/store.ts';
import type { Scheduler, Timer } from '../util/scheduler.ts';
import type { UntimedCommand } from './runtime.ts';
import type { CoreContext, HostedCore, OutboxRowsOf } from './core.ts';
import type { DialPayload, HangupPayload, OutboxDeliverer, OutboxDelivery } from './outbox.ts';

/** Options of the callback core's hosting (`RuntimeOptions.callbacks`); times in ms unless a name says otherwise. */
export interface CallbackHostingOptions {
  /** Where dials go. Without one, a dial fails at once (reported to `onError`) and the center retries it as a telephony failure. */
  telephony?: TelephonyPort;
  /**
   * Auth token that signs the telephone provider's webhooks (Twilio's `X-Twilio-Signature`); when
   * set, the status and gather endpoints refuse unsigned requests. Default: not checked.
   */
  telephonyAuthToken?: string;
  /** Passed to every CallbackCenter (`holdUntilQuote`, `dialGraceSeconds`, `terminalRetentionSeconds`). */
  center?: Pick<CenterOptions, 'holdUntilQuote' | 'dialGraceSeconds' | 'terminalRetentionSeconds'>;
  /** Append one JSON line per dial handed to the port (`{key, to, at}`; after its row was taken) to this file (tests, audits). */
  dialLog?: string;
  /** Errors nobody waits for (a port that failed to dial or hang up). Default: ignored. */
  onError?: (error: unknown) => void;
  /**
   * How much engine-event history warms each workspace's wait-time estimator when the runtime
   * opens over saved state: the events of the last `hours` (default 24), at most the newest
   * `maxEvents` (default 100,000). `0` for either turns the warm-up off. Throws RangeError
   * (naming the field) on a negative or non-finite value.
   */
  ewtWarmup?: { hours?: number; maxEvents?: number };
}

/** Default warm-up window of the wait-time estimator after a restart (see `ewtWarmup`). */
export const EWT_WARMUP_DEFAULTS = { hours: 24, maxEvents: 100_000 } as const;

/** Throws RangeError naming the field for a bad option (a negative or non-finite `ewtWarmup` value). */
export function checkHostingOptions(options: CallbackHostingOptions): void {
  for (const field of ['hours', 'maxEvents'] as const) {
    const v = options.ewtWarmup?.[field];
    if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`ewtWarmup.${field} must be a finite number >= 0`);
  }
}

/** Rows written since the runtime opened (tests and metrics: persistence follows what changed). */
export interface CallbackWriteCounters {
  /** Batches that wrote callback state. */
  saves: number;
  /** `callback_state` rows written. */
  stateRows: number;
  /** `callback_requests` rows inserted or updated. */
  callbackRowsUpserted: number;
  /** `callback_requests` rows deleted. */
  callbackRowsDeleted: number;
}

/** One workspace's callback core: its center, datastore and wait-time estimator. */
export interface Host {
  workspaceSid: string;
  accountSid: string;
  center: CallbackCenter;
  datastore: Datastore;
  /**
   * The replay's wait-time estimator (src/analytics/ewt.ts), fed the workspace's engine events in
   * order, in the turn that made them. Not persisted: after a restart it is warmed from the events
   * table (`ewtWarmup`), so μ̂, θ̂, LES and the acceptance window continue where they were for the
   * events inside the window; the calibration cells of `qlm_calibrated` (the queue state at each
   * prediction, which events do not carry) start empty, and that predictor answers with QLm until a
   * cell has new real waits.
   */
  waits: WaitTimeEstimator;
  /** Engine events fed to {@link waits} by the warm-up when the runtime opened (0 for a new host). */
  warmedEvents: number;
  /** The default predictor's EWT (seconds) of each task still waiting, made as it entered its queue: the Status offer quotes it. */
  predictions: Map<string, number>;
}

interface HostState extends Host {
  /** The queue views may be stale: refresh before and after every operation. */
  viewsDirty: boolean;
  /** Changed since the last write (the state row is written with the batch). */
  dirty: boolean;
}

type Outbound = Extract<CallbackEffect, { kind: 'dial' } | { kind: 'hangup' }>;

/**
 * The dials a restored center still waits on, for `TelephonyPort.resume`: each callback's last
 * attempt with a dial key and no end — `dialing` while the callback is `dialing` /
 * `dialing_customer`; `ready` while the customer who pressed 1 waits (`customer_waiting`) or talks
 * to the agent (`agent_connected`, unless the attempt's result is `not_ready`). `callSid`: the
 * provider's call id saved on the attempt, or null.
 *
 * `pending`: the keys whose `dial` outbox row is still undelivered (not taken). Those were never
 * handed to the port and will be, by the dispatcher, with the same key: they are left out, since a
 * port told a key is in flight ignores its first real dial.
 */
export function dialsInFlight(center: CallbackCenter, pending: ReadonlySet<string> = new Set()): ResumedDial[] {
  const out: ResumedDial[] = [];
  for (const c of center.listCallbacks()) {
    const a = c.attempts[c.attempts.length - 1];
    if (a === undefined || a.dialKey === null || a.endedAt !== null || pending.has(a.dialKey)) continue;
    if (c.status === 'dialing' || c.status === 'dialing_customer') out.push({ key: a.dialKey, callSid: a.callSid ?? null, stage: 'dialing' });
    else if (c.status === 'customer_waiting' || (c.status === 'agent_connected' && a.result !== 'not_ready')) out.push({ key: a.dialKey, callSid: a.callSid ?? null, stage: 'ready' });
  }
  return out;
}

/**
 * The callback cores of every workspace, hosted by the runtime (see the module comment). The
 * runtime calls it as a {@link HostedCore}; the API submits operations through {@link run} (via the runtime's batch).
 */
export class CallbackHosting implements HostedCore {
  readonly telephony: TelephonyPort | null;
  readonly telephonyAuthToken: string | null;
  /** Cumulative row counts of the callback state written. */
  readonly counters: CallbackWriteCounters = { saves: 0, stateRows: 0, callbackRowsUpserted: 0, callbackRowsDeleted: 0 };
  private readonly hosts = new Map<string, HostState>();
  /** Dial key → workspace (outcomes come back by key). */
  private readonly keyOwner = new Map<string, string>();
  private readonly centerOptions: Pick<CenterOptions, 'holdUntilQuote' | 'dialGraceSeconds' | 'terminalRetentionSeconds'>;
  private readonly dialLog: string | null;
  private readonly onError: (error: unknown) => void;
  private readonly warmup: { hours: number; maxEvents: number };
  /** Callback events of the batch being built, in order. */
  private events: Array<{ workspaceSid: string; event: CallbackEvent }> = [];
  /** Dials and hang-ups of the batch being built: written as `dial` / `hangup` outbox rows by {@link takeWrites}. */
  private outbound: Array<{ workspaceSid: string; effect: Outbound }> = [];
  /** Hosts whose center the batch being built called into: only they can have state to write. */
  private readonly touched = new Set<HostState>();
  /** Per workspace: callbacks changed (SID → callback, or null when removed) since the last write. */
  private readonly unsaved = new Map<string, Map<string, CallbackRequest | null>>();
  private portTimer: Timer | null = null;
  private readonly scheduler: Scheduler;
  private readonly submit: (workspaceSid: string, op: (ctx: CoreContext) => void) => void;
  private readonly newSid: (prefix: string) => string;
  private readonly newToken: () => string;

  /**
   * @param submit queues an operation into the runtime's next batch (how telephone outcomes come in)
   * @param newSid the runtime's SID source (`prefix` + 32 hex digits)
   * @param newToken the runtime's source of secret tokens (data-set tokens, 64 hex digits)
   */
  constructor(
    options: CallbackHostingOptions,
    scheduler: Scheduler,
    submit: (workspaceSid: string, op: (ctx: CoreContext) => void) => void,
    newSid: (prefix: string) => string,
    newToken: () => string,
  ) {
    this.scheduler = scheduler;
    this.submit = submit;
    this.newSid = newSid;
    this.newToken = newToken;
    checkHostingOptions(options);
    this.telephony = options.telephony ?? null;
    this.telephonyAuthToken = options.telephonyAuthToken ?? null;
    this.centerOptions = options.center ?? {};
    this.dialLog = options.dialLog ?? null;
    this.onError = options.onError ?? (() => undefined);
    this.warmup = { hours: options.ewtWarmup?.hours ?? EWT_WARMUP_DEFAULTS.hours, maxEvents: options.ewtWarmup?.maxEvents ?? EWT_WARMUP_DEFAULTS.maxEvents };
    const port = this.telephony;
    if (port !== null) {
      port.onOutcome((r) => this.onDialResult(r));
      port.onCustomerHangup?.((h) => this.byKey(h.key, (host, ctx) => this.apply(host, host.center.customerHungUp(h.key.slice(0, h.key.lastIndexOf(':')), Math.max(ctx.now, host.center.now)), ctx)));
      port.onCallPlaced?.((p) =>
        this.byKey(p.key, (host) => {
          if (host.center.recordCallSid(p.key, p.callSid)) host.dirty = true;
        }),
      );
    }
  }

  /**
   * Restores every saved center and datastore, warms each workspace's estimator from its recent
   * engine events, and hands the telephony port the dials still in flight — the ones whose `dial`
   * row was taken, not those still pending in the outbox ({@link dialsInFlight}); a port error goes
   * to `onError` (the center then times those dials out).
   */
  async load(store: Store, engineOf: (workspaceSid: string) => WorkspaceEngine | undefined): Promise<void> {
    const pending = new Set<string>();
    for (const row of await store.loadCallbackStates()) {
      if (engineOf(row.workspaceSid) === undefined) continue;
      const host = this.restoreHost(row);
      await this.warmWaits(store, host);
      for (const key of await pendingDialKeys(store, row.workspaceSid)) pending.add(key);
    }
    if (this.telephony?.resume !== undefined) {
      const inFlight = [...this.hosts.values()].flatMap((h) => dialsInFlight(h.center, pending));
      try {
        this.telephony.resume(inFlight);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /**
   * After a failed commit: the workspace's callback core goes back to what is on disk (or away, if
   * nothing is). Dials of the failed batch were never released. The saved row is read first and
   * the host swapped after, in one go: until then the old host keeps its dial keys, so a telephone
   * outcome arriving meanwhile still finds its workspace (it waits in the runtime's queue, held
   * with the workspace's other work, and then meets the reloaded center).
   */
  async reload(store: Store, workspaceSid: string): Promise<void> {
    const row = (await store.loadCallbackStates()).find((r) => r.workspaceSid === workspaceSid);
    const old = this.hosts.get(workspaceSid);
    if (old !== undefined) for (const c of old.center.listCallbacks()) for (const a of c.attempts) if (a.dialKey !== null) this.keyOwner.delete(a.dialKey);
    this.hosts.delete(workspaceSid);
    this.unsaved.delete(workspaceSid);
    if (row === undefined) return;
    const host = this.restoreHost(row);
    // The estimator's state is not on disk: keep what it learned (a failed write changes no wait).
    if (old !== undefined) {
      host.waits = old.waits;
      host.warmedEvents = old.warmedEvents;
      host.predictions = old.predictions;
    }
  }

  /** Drops what a failed batch left in flight (its events and dials were never written). */
  discardBatch(): void {
    this.events = [];
    this.outbound = [];
    this.touched.clear();
  }

  /** A deleted workspace's core stops (its saved rows stay until removed with the workspace's data). */
  forget(workspaceSid: string): void {
    this.hosts.delete(workspaceSid);
    this.unsaved.delete(workspaceSid);
  }

  /** The workspace's core (created on first use when `create`), or undefined. */
  host(accountSid: string, workspaceSid: string, create: boolean): Host | undefined {
    let host = this.hosts.get(workspaceSid);
    if (host === undefined && create) {
      host = this.newHost(workspaceSid, accountSid, null);
      host.dirty = true;
      this.touched.add(host);
    }
    return host !== undefined && host.accountSid === accountSid ? host : undefined;
  }

  /** The account's hosts (workspaces that use callbacks). */
  hostsOf(accountSid: string): Host[] {
    return [...this.hosts.values()].filter((h) => h.accountSid === accountSid);
  }

  /** The host whose datastore issued `token`, or undefined. */
  hostForToken(token: string): Host | undefined {
    for (const h of this.hosts.values()) if (h.datastore.ownsToken(token)) return h;
    return undefined;
  }

  /**
   * Runs `op` on a workspace's center in the runtime's batch (`ctx.now`): fresh queue views first,
   * then the op, then its effects and what they cause. `op` may throw (CallbackError for bad
   * input): the center validates before it changes anything, so nothing changed then.
   */
  run<T extends object>(host: Host, ctx: CoreContext, op: (center: CallbackCenter, now: number, datastore: Datastore) => T): T {
    const h = host as HostState;
    this.touched.add(h);
    if (this.hosts.get(h.workspaceSid) !== h) this.hosts.set(h.workspaceSid, h);
    this.settleViews(h, ctx);
    const out = op(h.center, ctx.now, h.datastore);
    h.dirty = true;
    h.viewsDirty = true; // the op may have added or changed a call target
    const o = out as Partial<CenterOutcome>;
    this.apply(h, { events: o.events ?? [], effects: o.effects ?? [] }, ctx);
    this.settleViews(h, ctx);
    return out;
  }

  /** Engine events of one command, in the turn that made them: the estimator, then the center. */
  observe(workspaceSid: string, events: readonly EngineEvent[], ctx: CoreContext): void {
    const host = this.hosts.get(workspaceSid);
    if (host === undefined || events.length === 0) return;
    this.touched.add(host);
    for (const e of events) {
      this.observeWaits(host, e, ctx);
      host.viewsDirty = true;
      const out = host.center.observe(e);
      if (out.events.length > 0 || out.effects.length > 0) host.dirty = true;
      this.apply(host, out, ctx);
    }
    this.settleViews(host, ctx);
  }

  /** The workspace's earliest center deadline (its timers, or a terminal callback due for pruning), epoch ms, or null. */
  nextDeadline(workspaceSid: string): number | null {
    return this.hosts.get(workspaceSid)?.center.nextDeadline() ?? null;
  }

  /** Every workspace with callbacks (the runtime's timer looks at their deadlines). */
  workspaces(): string[] {
    return [...this.hosts.keys()];
  }

  /** Fires the workspace's center deadlines due at `ctx.now`, then refreshes its queue views. */
  advanceTo(workspaceSid: string, ctx: CoreContext): void {
    const host = this.hosts.get(workspaceSid);
    if (host === undefined) return;
    this.touched.add(host);
    const due = host.center.nextDeadline();
    if (due !== null && due <= ctx.now) {
      host.dirty = true;
      this.apply(host, host.center.advanceTo(ctx.now), ctx);
    }
    this.settleViews(host, ctx);
  }

  /**
   * What the batch writes for the callback cores: each changed workspace's center row, the
   * callbacks changed or pruned, the callback events and their event-callback outbox rows (filtered
   * like the engine's: the workspace's URL and EventsFilter). `outboxRowsOf` turns events into
   * outbox rows (the runtime's outbox rules).
   */
  takeWrites(
    now: number,
    engineOf: (workspaceSid: string) => WorkspaceEngine | undefined,
    outboxRowsOf: OutboxRowsOf,
  ): CoreWrites {
    const states: CallbackStateWrite[] = [];
    const touched = [...this.touched];
    this.touched.clear();
    for (const host of touched) {
      if (this.hosts.get(host.workspaceSid) !== host) continue; // forgotten or reloaded meanwhile
      const ch = host.center.takeChanges();
      if (ch.changed.length > 0 || ch.removed.length > 0) {
        let u = this.unsaved.get(host.workspaceSid);
        if (u === undefined) this.unsaved.set(host.workspaceSid, (u = new Map()));
        for (const c of ch.changed) u.set(c.sid, c);
        for (const c of ch.removed) {
          u.set(c.sid, null);
          for (const a of c.attempts) if (a.dialKey !== null) this.keyOwner.delete(a.dialKey);
        }
        host.dirty = true;
      }
      if (!host.dirty) continue;
      const changed: CallbackRequest[] = [];
      const removed: string[] = [];
      for (const [sid, c] of this.unsaved.get(host.workspaceSid) ?? []) if (c === null) removed.push(sid);
      else changed.push(c);
      states.push({ workspaceSid: host.workspaceSid, accountSid: host.accountSid, center: host.center.snapshot({ callbacks: false }), datastore: host.datastore.snapshot(), changed, removed, updatedAt: now });
      this.unsaved.delete(host.workspaceSid);
      host.dirty = false;
      this.counters.stateRows += 1;
      this.counters.callbackRowsUpserted += changed.length;
      this.counters.callbackRowsDeleted += removed.length;
    }
    if (states.length > 0) this.counters.saves += 1;
    const events = this.events;
    this.events = [];
    const outbox: Array<CoreWrites['outbox'][number]> = [];
    for (const { workspaceSid, event } of events) {
      const engine = engineOf(workspaceSid);
      if (engine === undefined) continue;
      const asEngineEvent = { ...event, data: { workspace_sid: workspaceSid, workspace_name: engine.workspace.friendlyName, ...event.data } } as unknown as EngineEvent;
      outbox.push(...outboxRowsOf(workspaceSid, [asEngineEvent]));
    }
    // Dials and hang-ups, in the order the centers asked for them (outbox ids keep that order).
    const outbound = this.outbound;
    this.outbound = [];
    for (const { workspaceSid, effect } of outbound) {
      if (effect.kind === 'dial') {
        const payload: DialPayload = { key: effect.key, callbackSid: effect.callbackSid, to: effect.to, from: effect.from, ringTimeoutSeconds: effect.ringTimeoutSeconds };
        outbox.push({ workspaceSid, kind: 'dial', payload: JSON.stringify(payload), dueAt: now });
      } else {
        const payload: HangupPayload = { key: effect.key, callbackSid: effect.callbackSid };
        outbox.push({ workspaceSid, kind: 'hangup', payload: JSON.stringify(payload), dueAt: now });
      }
    }
    return { events, outbox, callbackStates: states };
  }

  /**
   * How the outbox dispatcher delivers this core's rows, for the composition root to hand it
   * (`DispatcherOptions.deliverers`): `dial` at most once (the row is taken durably before the port
   * is called) and `hangup` at least once, both to the telephony port in one lane per workspace
   * (destination `telephony`), a hang-up never before the dial of its key.
   */
  deliverers(): { dial: OutboxDeliverer; hangup: OutboxDeliverer } {
    const orderKey = (d: OutboxDelivery): string | null => {
      try {
        return (JSON.parse(d.payload) as { key?: unknown }).key as string;
      } catch {
        return null;
      }
    };
    return {
      dial: { destination: 'telephony', guarantee: 'at-most-once', orderKey, deliver: (d) => this.deliverDial(d) },
      hangup: { destination: 'telephony', guarantee: 'at-least-once', orderKey, deliver: (d) => this.deliverHangup(d) },
    };
  }

  /**
   * Places a dial whose row the dispatcher took. Not placed (resolves) when the center no longer
   * waits on it — its callback gone, or its attempt ended or superseded (e.g. canceled while the
   * row waited): its outcome would be ignored. Rejects with the port's error when the port threw
   * or rejected (the dispatcher retries the row with the same key); with no port, reports to
   * `onError` and resolves (the center times the dial out).
   */
  private async deliverDial(delivery: OutboxDelivery): Promise<void> {
    const p = JSON.parse(delivery.payload) as DialPayload;
    const host = this.hosts.get(delivery.workspaceSid);
    const c = host?.center.getCallback(p.callbackSid);
    const a = c?.attempts[c.attempts.length - 1];
    if (c === undefined || a === undefined || a.dialKey !== p.key || a.endedAt !== null || (c.status !== 'dialing' && c.status !== 'dialing_customer')) return;
    const now = this.scheduler.now();
    this.keyOwner.set(p.key, delivery.workspaceSid);
    if (this.dialLog !== null) appendFileSync(this.dialLog, JSON.stringify({ key: p.key, to: p.to, at: now }) + '\n');
    if (this.telephony === null) {
      this.onError(new Error(`no telephony port: dial ${p.key} not placed`));
      return;
    }
    try {
      await this.telephony.dial({ key: p.key, callbackSid: p.callbackSid, to: p.to, from: p.from, ringTimeoutSeconds: p.ringTimeoutSeconds }, now);
    } finally {
      this.armPort();
    }
  }

  /** Hands a hang-up to the port (unknown or ended calls are the port's to ignore); rejects with the port's error. */
  private async deliverHangup(delivery: OutboxDelivery): Promise<void> {
    const p = JSON.parse(delivery.payload) as HangupPayload;
    if (this.telephony === null) return;
    try {
      await this.telephony.hangup(p.key, this.scheduler.now());
    } finally {
      this.armPort();
    }
  }

  /** Stops the port's timer. */
  close(): void {
    this.portTimer?.cancel();
    this.portTimer = null;
  }

  // ── internals ──

  private newHost(workspaceSid: string, accountSid: string, saved: { center: CenterSnapshot; datastore: DatastoreSnapshot } | null): HostState {
    const centerOptions = { ...this.centerOptions, newSid: this.newSid };
    const datastoreOptions = { newToken: this.newToken, newSid: () => this.newSid('DT'), hashToken: sha256Hex };
    const host: HostState = {
      workspaceSid,
      accountSid,
      center: saved === null ? new CallbackCenter({ ...centerOptions, now: this.scheduler.now() }) : CallbackCenter.restore(saved.center, centerOptions),
      datastore: saved === null ? new Datastore(datastoreOptions) : Datastore.restore(saved.datastore, datastoreOptions),
      waits: new WaitTimeEstimator(),
      warmedEvents: 0,
      predictions: new Map(),
      viewsDirty: true,
      dirty: false,
    };
    this.hosts.set(workspaceSid, host);
    return host;
  }

  private restoreHost(row: CallbackStateRow): HostState {
    const host = this.newHost(row.workspaceSid, row.accountSid, { center: row.center as unknown as CenterSnapshot, datastore: row.datastore as DatastoreSnapshot });
    for (const c of host.center.listCallbacks()) for (const a of c.attempts) if (a.dialKey !== null) this.keyOwner.set(a.dialKey, row.workspaceSid);
    return host;
  }

  /** Feeds a restored host's estimator the workspace's engine events of the warm-up window, oldest first (no predictions: that engine state is gone). */
  private async warmWaits(store: Store, host: HostState): Promise<void> {
    if (this.warmup.hours === 0 || this.warmup.maxEvents === 0) return;
    const since = this.scheduler.now() - this.warmup.hours * 3_600_000;
    for (const e of await store.recentEngineEvents(host.workspaceSid, since, Math.floor(this.warmup.maxEvents))) {
      host.waits.observe(e);
      host.warmedEvents += 1;
    }
  }

  /**
   * Feeds the estimator and predicts, with the default predictor, the wait of each task entering a
   * queue — from the engine at that very instant (the same turn as the command that queued it).
   */
  private observeWaits(host: HostState, e: EngineEvent, ctx: CoreContext): void {
    host.waits.observe(e);
    if (e.eventType === 'task-queue.entered') {
      const engine = ctx.engine(host.workspaceSid);
      const task = engine?.tasks.get(e.resourceSid);
      if (engine !== undefined && task !== undefined && task.assignmentStatus === 'pending') {
        host.predictions.set(task.sid, host.waits.predict(engine, task.sid)[DEFAULT_PREDICTOR]);
      }
    } else if (e.resourceType === 'task' && (e.eventType === 'task.canceled' || e.eventType === 'task.completed' || e.eventType === 'task.deleted' || e.eventType === 'task.system-deleted' || e.eventType === 'task.wrapup')) {
      host.predictions.delete(e.resourceSid);
    } else if (e.eventType === 'reservation.accepted') {
      host.predictions.delete(e.data['task_sid'] as string);
    }
  }

  /** Records the center's events and carries its effects out, in order (recursively for what they cause). */
  private apply(host: HostState, out: CenterOutcome, ctx: CoreContext): void {
    for (const event of out.events) {
      this.events.push({ workspaceSid: host.workspaceSid, event });
      if (event.eventType === 'callback.registered' && typeof event.data['ecbt_seconds'] === 'number') {
        const c = host.center.getCallback(event.resourceSid);
        if (c !== undefined) host.datastore.noteCallback(c.phoneNumber, event.data['ecbt_seconds'], event.at);
      }
    }
    for (const effect of out.effects) {
      if (effect.kind === 'dial' || effect.kind === 'hangup') {
        this.outbound.push({ workspaceSid: host.workspaceSid, effect });
        continue;
      }
      let command = effect.command;
      if (effect.purpose === 'create_task') command = withStoredContext(host.datastore, host.center, effect.callbackSid, command, ctx.now);
      const untimed = { ...command } as Record<string, unknown>;
      delete untimed['at'];
      ctx.execute(host.workspaceSid, untimed as UntimedCommand, (outcome) => {
        if (effect.purpose !== 'create_task') return;
        host.dirty = true;
        if (outcome.rejection !== null) this.apply(host, host.center.taskCreationFailed(effect.callbackSid, outcome.rejection.message, ctx.now), ctx);
        else this.apply(host, host.center.taskCreated(effect.callbackSid, outcome.sid as string, ctx.now), ctx);
      });
    }
  }

  /** Refreshes every call target's queue view from the engine, and applies what that causes, until nothing changes (bounded). */
  private settleViews(host: HostState, ctx: CoreContext): void {
    const engine = ctx.engine(host.workspaceSid);
    if (engine === undefined) return;
    for (let round = 0; round < 10 && host.viewsDirty; round++) {
      host.viewsDirty = false;
      for (const t of host.center.listCallTargets()) {
        const view = queueViewOf(engine, t.taskQueueSid, t.taskChannel);
        if (view === null) continue;
        const out = host.center.setQueueView(t.sid, view, Math.max(ctx.now, host.center.now));
        if (out.events.length === 0 && out.effects.length === 0) continue;
        host.dirty = true;
        host.viewsDirty = true;
        this.apply(host, out, ctx);
      }
    }
  }

  /**
   * A telephone outcome: an operation on the center that dialed the key, in the runtime's next
   * batch, at the batch's instant (the runtime's clock is the one authority on time: a port's own
   * `at` may come from another clock).
   */
  private onDialResult(r: DialResult): void {
    this.byKey(r.key, (host, ctx) => {
      host.dirty = true;
      this.apply(host, host.center.dialOutcome(r.key, r.outcome, Math.max(ctx.now, host.center.now)), ctx);
      host.viewsDirty = true;
      this.settleViews(host, ctx);
    });
  }

  /** Queues `op` for the host that dialed `key` (`<callback sid>:<attempt>`); unknown, pruned or gone keys are dropped. */
  private byKey(key: string, op: (host: HostState, ctx: CoreContext) => void): void {
    const ws = this.keyOwner.get(key);
    if (ws === undefined) return;
    this.submit(ws, (ctx) => {
      const host = this.hosts.get(ws);
      if (host === undefined) return;
      this.touched.add(host);
      op(host, ctx);
    });
  }

  /**
   * A port that keeps its own time (the simulated network: `nextDue`/`deliverUntil`) is driven by
   * the scheduler: one timer for its next outcome.
   */
  private armPort(): void {
    const port = this.telephony;
    if (port?.nextDue === undefined || port.deliverUntil === undefined) return;
    const due = port.nextDue();
    this.portTimer?.cancel();
    this.portTimer = null;
    if (due === null) return;
    this.portTimer = this.scheduler.setTimer(() => {
      this.portTimer = null;
      port.deliverUntil?.(this.scheduler.now());
      this.armPort();
    }, due - this.scheduler.now());
  }
}

/** The keys of a workspace's `dial` rows still undelivered in the outbox (not taken), read page by page. */
async function pendingDialKeys(store: Store, workspaceSid: string): Promise<string[]> {
  const keys: string[] = [];
  let after = -1;
  for (;;) {
    const rows = await store.outboxLane(workspaceSid, 'dial', 1000, after);
    for (const r of rows) {
      try {
        keys.push((JSON.parse(r.payload) as DialPayload).key);
      } catch {
        // Not written by takeWrites: the dispatcher reports it.
      }
    }
    const last = rows.at(-1);
    if (last === undefined || rows.length < 1000) return keys;
    after = last.id;
  }
}

/** SHA-256 of a data-set token, hex: what the datastore keeps instead of the token (issue 11 item 7). */
function sha256Hex(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
