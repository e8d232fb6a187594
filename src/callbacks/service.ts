/**
 * The callbacks service of the live server: the imperative shell around the pure CallbackCenter
 * (docs/callbacks.md "Driving the center", docs/api-callbacks.md "How the service runs").
 *
 * - One CallbackCenter and one Datastore per workspace that uses callbacks, created when its
 *   first call target or data set template is created.
 * - Driven by the wall clock through ONE unref'd timer armed for the earliest of: the centers'
 *   `nextDeadline()`, the simulated network's next outcome, and the next look at the events
 *   table (every `pollMs`, default 100 ms).
 * - Engine events reach the centers from the workspace's `events` table, in rowid order, after
 *   the runtime committed them; the rowid of the last one fed is the service's cursor.
 * - Effects are carried out in order: engine commands through `Runtime.execute` (durable before
 *   the SID of a created task is reported back), dials and hang-ups through the telephony port.
 * - Durable (DESIGN.md rule 2; spec callbacks-and-ewt "crash-restart: nothing lost, nothing
 *   dialed twice"): each changed workspace's center (without callbacks) and datastore, ONE row
 *   per callback the operation changed (upsert) or pruned (delete), the cursor and the new
 *   callback events with their outbox rows are written in ONE SQLite transaction
 *   (src/store/callbacks-store.ts) after every operation, and additionally BEFORE every dial (the state then holds the dial's idempotency
 *   key and its open attempt) and before every create-task command (the state records that a
 *   task was requested). After a restart the engine events written after the cursor are fed
 *   again; an in-flight dial is never re-dialed: the telephony port is handed the dials the
 *   centers still wait on ({@link dialsInFlight}, `TelephonyPort.resume`), so a provider that can
 *   still report on the call (Twilio's webhooks carry the key) delivers its outcome once; otherwise
 *   the center times it out after ring timeout + `dialGraceSeconds` and retries as a NEW attempt
 *   with a new key. A requested task whose SID was not recorded is found in the engine by its
 *   `callback_sid` attribute. Each workspace's wait-time estimator is warmed from its recent
 *   engine events before the first poll ({@link Host.waits}, option `ewtWarmup`).
 *
 * All operations run one at a time, in arrival order (a promise chain), so the center never
 * sees interleaved halves of two operations. Times are epoch milliseconds.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { DEFAULT_PREDICTOR, WaitTimeEstimator } from '../analytics/ewt.ts';
import type { EngineEvent } from '../engine/index.ts';
import type { Runtime, UntimedCommand } from '../runtime/runtime.ts';
import { CallbacksStore, type CallbacksStoreCounters } from '../store/callbacks-store.ts';
import { outboxRows } from '../webhooks/outbox.ts';
import { SimulatedNetwork } from '../voice/simulated-network.ts';
import type { DialResult, ResumedDial, TelephonyPort } from '../voice/telephony.ts';
import { CallbackCenter, type CallbackEvent, type CallbackRequest, type CenterOptions, type CenterOutcome, type CenterSnapshot } from './center.ts';
import { Datastore, withStoredContext, type DatastoreSnapshot } from './datastore.ts';
import { queueViewOf } from './driver.ts';

/** Options of {@link CallbackService.open}; times in ms unless a name says seconds or hours. */
export interface CallbackServiceOptions {
  runtime: Runtime;
  /** The server's database file (the runtime's); the service opens its own connection to it. */
  databasePath: string;
  /**
   * Where dials go. Default: a SimulatedNetwork in wall-clock time (outcomes delivered by the
   * service's timer). Pass a TwilioCalls adapter for real calls.
   */
  telephony?: TelephonyPort;
  /** Wall clock, epoch ms (tests inject the runtime's). Default Date.now. */
  clock?: () => number;
  /** Passed to every CallbackCenter (`holdUntilQuote`, `dialGraceSeconds`, `terminalRetentionSeconds`). */
  center?: Pick<CenterOptions, 'holdUntilQuote' | 'dialGraceSeconds' | 'terminalRetentionSeconds'>;
  /** How often the events table is read for new engine events, ms. Default 100. */
  pollMs?: number;
  /** Append one JSON line per dial handed to the port (`{key, to, at}`) to this file (tests, audits). */
  dialLog?: string;
  /**
   * Auth token that signs the telephone provider's webhooks (Twilio's `X-Twilio-Signature`); when
   * set, the status and gather endpoints refuse unsigned requests. Default: not checked.
   */
  telephonyAuthToken?: string;
  /** Errors the service could not hand to a caller (a failed persist, a port error). Default: ignored. */
  onError?: (error: unknown) => void;
  /**
   * How much of each workspace's engine-event history warms its wait-time estimator when the
   * service opens over saved state ({@link CallbackService.open}): the events of the last `hours`
   * (default 24; the clock's now minus that), at most the newest `maxEvents` of them (default
   * 100,000), up to the saved cursor. `hours: 0` or `maxEvents: 0` turns the warm-up off.
   * Throws RangeError (naming the field) on a negative or non-finite value.
   */
  ewtWarmup?: { hours?: number; maxEvents?: number };
}

/** Default warm-up window of the wait-time estimator after a restart (see `ewtWarmup`). */
export const EWT_WARMUP_DEFAULTS = { hours: 24, maxEvents: 100_000 } as const;

/** One workspace's callback state: its center and datastore. */
export interface Host {
  workspaceSid: string;
  accountSid: string;
  center: CallbackCenter;
  datastore: Datastore;
  /**
   * The replay's wait-time estimator (src/analytics/ewt.ts), fed the workspace's engine events
   * in order. Its state is not persisted: when the service opens over saved state it is warmed
   * from the events table (the window of `ewtWarmup`, up to the cursor) before the first tick,
   * so μ̂ (last 100 services), θ̂, LES and the 15-minute acceptance window continue where a
   * service that never stopped would be (for events inside the window). What it cannot rebuild:
   * the calibration cells of `qlm_calibrated` — a cell is the queue state at the instant a task
   * was predicted, which the events do not carry — so calibrated cells start empty again and
   * that predictor answers with QLm until a cell has `calibrationMinSamples` new real waits.
   */
  waits: WaitTimeEstimator;
  /** Engine events fed to {@link waits} by the warm-up when the service opened (0 for a new host). */
  warmedEvents: number;
  /**
   * The default predictor's EWT (seconds) of each task still waiting in a queue, made when it
   * entered the queue: the Status offer quotes it to that caller (`TaskSid`).
   */
  predictions: Map<string, number>;
}

/** A new SID: prefix + 32 hex digits from the OS's random source (the shell may draw randomness). */
export function newSid(prefix: string): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Mindful-style opaque token: 32 random bytes, hex. */
function newToken(): string {
  return randomBytes(32).toString('hex');
}

const EVENT_BATCH = 2_000;

/**
 * The dials a restored center still waits on, for `TelephonyPort.resume`: each callback's last
 * attempt with a dial key and no end (`endedAt` null), as
 * - `dialing` while the callback is `dialing` / `dialing_customer` (the center still accepts the
 *   dial's outcome: `CallbackCenter.dialOutcome`);
 * - `ready` while the customer who pressed 1 waits in the conference (`customer_waiting`) or talks
 *   to the agent (`agent_connected`, unless the attempt's result is `not_ready`): their hang-up
 *   (`CallbackCenter.customerHungUp`) and a repeated Gather still matter.
 * `callSid` is the provider's call id saved on the attempt (`Attempt.callSid`, from
 * `TelephonyPort.onCallPlaced`), or null when none was saved (the adapter learns it from the next
 * webhook).
 */
export function dialsInFlight(center: CallbackCenter): ResumedDial[] {
  const out: ResumedDial[] = [];
  for (const c of center.listCallbacks()) {
    const a = c.attempts[c.attempts.length - 1];
    if (a === undefined || a.dialKey === null || a.endedAt !== null) continue;
    if (c.status === 'dialing' || c.status === 'dialing_customer') out.push({ key: a.dialKey, callSid: a.callSid ?? null, stage: 'dialing' });
    else if (c.status === 'customer_waiting' || (c.status === 'agent_connected' && a.result !== 'not_ready')) out.push({ key: a.dialKey, callSid: a.callSid ?? null, stage: 'ready' });
  }
  return out;
}

/**
 * The live callbacks service (see the module comment): opened over the runtime's database with
 * {@link CallbackService.open}, it runs every center operation one at a time ({@link run}),
 * persists after each, and is stopped with {@link close}. Times are epoch ms.
 */
export class CallbackService {
  readonly runtime: Runtime;
  readonly telephony: TelephonyPort;
  readonly telephonyAuthToken: string | null;
  private readonly store: CallbacksStore;
  private readonly clock: () => number;
  private readonly centerOptions: Pick<CenterOptions, 'holdUntilQuote' | 'dialGraceSeconds' | 'terminalRetentionSeconds'>;
  /** Per workspace: callbacks changed (SID → callback, or null when removed) and not yet on disk. */
  private readonly unsaved = new Map<string, Map<string, CallbackRequest | null>>();
  private readonly pollMs: number;
  private readonly dialLog: string | null;
  private readonly onError: (error: unknown) => void;
  private readonly hosts = new Map<string, Host>();
  private readonly warmup: { hours: number; maxEvents: number };
  /** Dial key → workspace (outcomes come back by key). */
  private readonly keyOwner = new Map<string, string>();
  private cursor: number;
  private pendingEvents: Array<{ workspaceSid: string; event: CallbackEvent }> = [];
  private dirty = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(options: CallbackServiceOptions, store: CallbacksStore) {
    this.runtime = options.runtime;
    this.store = store;
    this.clock = options.clock ?? Date.now;
    this.centerOptions = options.center ?? {};
    this.pollMs = options.pollMs ?? 100;
    this.dialLog = options.dialLog ?? null;
    this.onError = options.onError ?? (() => undefined);
    this.telephony = options.telephony ?? new SimulatedNetwork();
    this.telephonyAuthToken = options.telephonyAuthToken ?? null;
    this.warmup = { hours: options.ewtWarmup?.hours ?? EWT_WARMUP_DEFAULTS.hours, maxEvents: options.ewtWarmup?.maxEvents ?? EWT_WARMUP_DEFAULTS.maxEvents };
    this.cursor = store.loadCursor();
    this.telephony.onOutcome((r) => this.onDialResult(r));
    this.telephony.onCustomerHangup?.((h) => this.onCustomerHangup(h.key, h.at));
    this.telephony.onCallPlaced?.((p) => this.onCallPlaced(p.key, p.callSid));
  }

  /**
   * Opens the service over the runtime's database: restores every saved center and datastore,
   * warms each workspace's wait-time estimator from its recent engine events ({@link Host.waits},
   * option `ewtWarmup`), hands the telephony port the dials still in flight ({@link dialsInFlight}; a port error is
   * reported to `onError` and the center falls back to timing those dials out), recovers task
   * SIDs lost in a crash, then starts the timer (the first tick replays the engine
   * events written since the saved cursor). Throws if the database lacks the callback tables.
   */
  static async open(options: CallbackServiceOptions): Promise<CallbackService> {
    for (const field of ['hours', 'maxEvents'] as const) {
      const v = options.ewtWarmup?.[field];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`ewtWarmup.${field} must be a finite number >= 0`);
    }
    const service = new CallbackService(options, new CallbacksStore(options.databasePath));
    for (const row of service.store.loadStates()) {
      const host = service.makeHost(row.workspaceSid, row.accountSid, row, service.clock());
      service.warmWaits(host);
      service.hosts.set(row.workspaceSid, host);
      for (const c of host.center.listCallbacks()) for (const a of c.attempts) if (a.dialKey !== null) service.keyOwner.set(a.dialKey, row.workspaceSid);
    }
    if (service.telephony.resume !== undefined) {
      const inFlight = [...service.hosts.values()].flatMap((h) => dialsInFlight(h.center));
      try {
        service.telephony.resume(inFlight);
      } catch (error) {
        service.onError(error);
      }
    }
    await service.enqueue(async () => {
      for (const host of service.hosts.values()) await service.recoverTasks(host);
    });
    await service.pump();
    return service;
  }

  /** A host over saved state (`center` and `datastore` snapshots), or a new empty one when they are null at `now` (epoch ms). */
  private makeHost(workspaceSid: string, accountSid: string, saved: { center: CenterSnapshot; datastore: DatastoreSnapshot } | null, now: number): Host {
    const centerOptions = { ...this.centerOptions, newSid };
    const datastoreOptions = { newToken, newSid: () => newSid('DT') };
    return {
      workspaceSid,
      accountSid,
      center: saved === null ? new CallbackCenter({ ...centerOptions, now }) : CallbackCenter.restore(saved.center, centerOptions),
      datastore: saved === null ? new Datastore(datastoreOptions) : Datastore.restore(saved.datastore, datastoreOptions),
      waits: new WaitTimeEstimator(),
      warmedEvents: 0,
      predictions: new Map(),
    };
  }

  /**
   * Feeds a restored host's estimator the workspace's engine events of the warm-up window
   * (`ewtWarmup`: at `at >= now − hours`, the newest `maxEvents`, rowid ≤ the cursor), oldest
   * first, as the running service fed them — those after the cursor follow in the first tick.
   * No predictions are made for them (the engine's state at those instants is gone): tasks
   * still waiting from before the restart have no entry in {@link Host.predictions}, and the
   * offer quotes them from the queue as it is.
   */
  private warmWaits(host: Host): void {
    if (this.warmup.hours === 0 || this.warmup.maxEvents === 0) return;
    const since = this.clock() - this.warmup.hours * 3_600_000;
    let from = this.store.recentWindowStart(host.workspaceSid, since, this.cursor, Math.floor(this.warmup.maxEvents));
    while (from !== null) {
      const rows = this.store.workspaceEngineEvents(host.workspaceSid, from, this.cursor, EVENT_BATCH);
      for (const row of rows) {
        host.waits.observe(JSON.parse(row.body) as EngineEvent);
        host.warmedEvents += 1;
      }
      from = rows.length < EVENT_BATCH ? null : (rows[rows.length - 1] as { rowid: number }).rowid + 1;
    }
  }

  /** The center and datastore of a workspace (created on first use), or undefined when the workspace is not this account's. */
  host(accountSid: string, workspaceSid: string, create: boolean): Host | undefined {
    if (this.runtime.workspace(accountSid, workspaceSid) === undefined) return undefined;
    let host = this.hosts.get(workspaceSid);
    if (host === undefined && create) {
      host = this.makeHost(workspaceSid, accountSid, null, this.clock());
      this.hosts.set(workspaceSid, host);
      this.dirty.add(workspaceSid);
    }
    return host;
  }

  /** The account's hosts (workspaces that use callbacks). */
  hostsOf(accountSid: string): Host[] {
    return [...this.hosts.values()].filter((h) => h.accountSid === accountSid && this.runtime.workspace(accountSid, h.workspaceSid) !== undefined);
  }

  /** The host whose datastore issued `token`, or undefined. */
  hostForToken(token: string): Host | undefined {
    for (const h of this.hosts.values()) if (h.datastore.ownsToken(token)) return h;
    return undefined;
  }

  /**
   * Runs `op` on a workspace's center, in turn with every other operation, at the current time;
   * carries its effects out and persists (the returned promise settles after the state is on
   * disk). `op` may throw (CallbackError for bad input): nothing changed then, and the promise
   * rejects with that error.
   */
  run<T extends object>(host: Host, op: (center: CallbackCenter, now: number, datastore: Datastore) => T): Promise<T> {
    return this.enqueue(async () => {
      const now = this.clock();
      await this.settleViews(host);
      const out = op(host.center, now, host.datastore);
      this.dirty.add(host.workspaceSid);
      const o = out as Partial<CenterOutcome>;
      await this.apply(host, { events: o.events ?? [], effects: o.effects ?? [] });
      await this.settleViews(host);
      this.persist();
      return out;
    });
  }

  /**
   * Deletes a call target that has no pending callback: the center is rebuilt from its snapshot
   * without the target, its statistics and its terminal callbacks (their events stay in the
   * event stream). Throws CallbackError `InvalidRequest` when a callback is still pending.
   */
  removeCallTarget(host: Host, targetSid: string): Promise<void> {
    return this.enqueue(() => {
      // Throws InvalidRequest (a callback in progress) or NotFound before anything changes.
      host.center.forgetCallTarget(targetSid);
      this.dirty.add(host.workspaceSid);
      this.persist();
    });
  }

  /** Rows the service's store has written since it opened (persistence is O(changed): tests, metrics). */
  get storeCounters(): Readonly<CallbacksStoreCounters> {
    return { ...this.store.counters };
  }

  /** Reads new engine events, delivers due telephone outcomes and fires due center deadlines, now. Tests await it after moving their clock. */
  pump(): Promise<void> {
    return this.enqueue(() => this.tick());
  }

  /** Stops the timer and closes the store connection once queued operations are done. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.chain.catch(() => undefined);
    this.store.close();
  }

  // ── internals ──

  private enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    try {
      // 1. Engine events committed since the cursor, in order.
      for (;;) {
        const rows = this.store.engineEventsAfter(this.cursor, EVENT_BATCH);
        // Pruning removed every event after the cursor, so rowids may be handed out again: rewind.
        if (rows.length === 0) this.cursor = Math.min(this.cursor, this.store.lastEventRowid());
        for (const row of rows) {
          this.cursor = row.rowid;
          const host = this.hosts.get(row.workspaceSid);
          if (host === undefined) continue;
          const e = JSON.parse(row.body) as EngineEvent;
          this.observeWaits(host, e);
          this.dirty.add(host.workspaceSid);
          await this.apply(host, host.center.observe(e));
        }
        if (rows.length < EVENT_BATCH) break;
      }
      const now = this.clock();
      // 2. Telephone outcomes due (simulated network in wall-clock time).
      if (this.telephony instanceof SimulatedNetwork) {
        this.telephony.deliverUntil(now);
        await this.drainInline();
      }
      // 3. Center deadlines, then fresh queue views (which may launch callbacks).
      for (const host of [...this.hosts.values()]) {
        // A deleted workspace's center stops (its saved state stays until the row is removed).
        if (this.runtime.workspace(host.accountSid, host.workspaceSid) === undefined) {
          this.hosts.delete(host.workspaceSid);
          continue;
        }
        const due = host.center.nextDeadline();
        if (due !== null && due <= now) {
          this.dirty.add(host.workspaceSid);
          await this.apply(host, host.center.advanceTo(now));
        }
        await this.settleViews(host);
      }
      this.persist();
    } catch (error) {
      this.onError(error);
    } finally {
      this.arm();
    }
  }

  /**
   * Feeds the wait-time estimator and predicts, with the default predictor, the wait of each task
   * entering a queue — from the engine as it is now, a moment after the commit that queued it
   * (the replay predicts at the very instant; the server reads the events once committed).
   */
  private observeWaits(host: Host, e: EngineEvent): void {
    host.waits.observe(e);
    if (e.eventType === 'task-queue.entered') {
      const engine = this.runtime.workspace(host.accountSid, host.workspaceSid);
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

  /** The host whose center dialed `key` (`<callback sid>:<attempt>`), or undefined (unknown, pruned, or workspace gone). */
  private hostOfKey(key: string): Host | undefined {
    const ws = this.keyOwner.get(key);
    return ws === undefined ? undefined : this.hosts.get(ws);
  }

  /** A telephone outcome: queued as an operation on the center that dialed the key. */
  private onDialResult(r: DialResult): void {
    const host = this.hostOfKey(r.key);
    if (host === undefined) return;
    const apply = async (): Promise<void> => {
      this.dirty.add(host.workspaceSid);
      await this.apply(host, host.center.dialOutcome(r.key, r.outcome, Math.max(r.at, host.center.now)));
      await this.settleViews(host);
    };
    // The simulated network delivers inside tick (already in the chain); other ports call in from outside.
    if (this.telephony instanceof SimulatedNetwork) this.inline.push(apply);
    else void this.enqueue(async () => {
      await apply();
      this.persist();
    }).catch((e: unknown) => this.onError(e));
  }

  /**
   * A customer who had confirmed readiness hung up (telephone port): `customerHungUp` on the
   * callback of the key (`<callback sid>:<attempt>`), queued as an operation and persisted. The
   * center ignores it unless the callback still waits for an agent (spec §2.1 step 6).
   */
  private onCustomerHangup(key: string, at: number): void {
    const host = this.hostOfKey(key);
    if (host === undefined) return;
    const callbackSid = key.slice(0, key.lastIndexOf(':'));
    void this.enqueue(async () => {
      this.dirty.add(host.workspaceSid);
      await this.apply(host, host.center.customerHungUp(callbackSid, Math.max(at, host.center.now)));
      await this.settleViews(host);
      this.persist();
    }).catch((e: unknown) => this.onError(e));
  }

  /**
   * The port learned the call id of a dial (Twilio: the create response): recorded on the
   * attempt (`CallbackCenter.recordCallSid`) and persisted, queued as an operation (it arrives
   * while the dial is being carried out, i.e. inside the running operation).
   */
  private onCallPlaced(key: string, callSid: string): void {
    const host = this.hostOfKey(key);
    if (host === undefined) return;
    void this.enqueue(() => {
      if (!host.center.recordCallSid(key, callSid)) return;
      this.dirty.add(host.workspaceSid);
      this.persist();
    }).catch((e: unknown) => this.onError(e));
  }

  /** Outcomes the simulated network delivered during the current tick, applied before it persists. */
  private inline: Array<() => Promise<void>> = [];

  private async drainInline(): Promise<void> {
    while (this.inline.length > 0) await (this.inline.shift() as () => Promise<void>)();
  }

  /** Records the events and carries the effects out, in order (and what they cause, recursively). */
  private async apply(host: Host, out: CenterOutcome): Promise<void> {
    for (const event of out.events) {
      this.pendingEvents.push({ workspaceSid: host.workspaceSid, event });
      if (event.eventType === 'callback.registered' && typeof event.data['ecbt_seconds'] === 'number') {
        const c = host.center.getCallback(event.resourceSid);
        if (c !== undefined) host.datastore.noteCallback(c.phoneNumber, event.data['ecbt_seconds'], event.at);
      }
    }
    for (const effect of out.effects) {
      const now = this.clock();
      if (effect.kind === 'dial') {
        // The key and its open attempt are on disk before the call can be placed.
        this.persist();
        this.keyOwner.set(effect.key, host.workspaceSid);
        if (this.dialLog !== null) appendFileSync(this.dialLog, JSON.stringify({ key: effect.key, to: effect.to, at: now }) + '\n');
        try {
          await this.telephony.dial({ key: effect.key, callbackSid: effect.callbackSid, to: effect.to, from: effect.from, ringTimeoutSeconds: effect.ringTimeoutSeconds }, now);
        } catch (error) {
          // The center times the dial out (telephony failure) and retries as a new attempt.
          this.onError(error);
        }
        continue;
      }
      if (effect.kind === 'hangup') {
        try {
          await this.telephony.hangup(effect.key, now);
        } catch (error) {
          this.onError(error);
        }
        continue;
      }
      let command = effect.command;
      if (effect.purpose === 'create_task') {
        command = withStoredContext(host.datastore, host.center, effect.callbackSid, command, this.clock());
        // "a task was requested" is on disk before the task can exist (see recoverTasks).
        this.persist();
      }
      const untimed = { ...command } as Record<string, unknown>;
      delete untimed['at'];
      let outcome;
      try {
        outcome = await this.runtime.execute(host.workspaceSid, untimed as UntimedCommand);
      } catch (error) {
        this.onError(error);
        if (effect.purpose === 'create_task') await this.apply(host, host.center.taskCreationFailed(effect.callbackSid, (error as Error).message, this.clock()));
        continue;
      }
      if (effect.purpose === 'create_task') {
        if (outcome.rejection !== null) await this.apply(host, host.center.taskCreationFailed(effect.callbackSid, outcome.rejection.message, this.clock()));
        else await this.apply(host, host.center.taskCreated(effect.callbackSid, outcome.sid as string, this.clock()));
      }
    }
    await this.drainInline();
  }

  /** Every call target's queue view from the engine (may launch callbacks): the outcome, not yet applied. */
  private refreshViews(host: Host, now: number): CenterOutcome {
    const engine = this.runtime.workspace(host.accountSid, host.workspaceSid);
    const all: CenterOutcome = { events: [], effects: [] };
    if (engine === undefined) return all;
    for (const t of host.center.listCallTargets()) {
      const view = queueViewOf(engine, t.taskQueueSid, t.taskChannel);
      if (view === null) continue;
      const out = host.center.setQueueView(t.sid, view, Math.max(now, host.center.now));
      all.events.push(...out.events);
      all.effects.push(...out.effects);
    }
    return all;
  }

  /** Refreshes the views and applies what they cause, until nothing more comes out (bounded). */
  private async settleViews(host: Host): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const out = this.refreshViews(host, this.clock());
      if (out.events.length === 0 && out.effects.length === 0) return;
      this.dirty.add(host.workspaceSid);
      await this.apply(host, out);
    }
  }

  /** After a crash between "task requested" and "task SID recorded": find the task by its `callback_sid` attribute. */
  private async recoverTasks(host: Host): Promise<void> {
    const engine = this.runtime.workspace(host.accountSid, host.workspaceSid);
    if (engine === undefined) return;
    const lost = host.center.listCallbacks().filter((c) => c.taskRequested && c.taskSid === null);
    // Live tasks by their callback_sid attribute, read once (the last one in task order wins).
    const live = new Map<unknown, string>();
    for (const t of engine.tasks.values()) {
      if (t.assignmentStatus === 'pending' || t.assignmentStatus === 'reserved' || t.assignmentStatus === 'assigned') live.set(t.attributes['callback_sid'], t.sid);
    }
    for (const c of lost) {
      const found = live.get(c.sid) ?? null;
      this.dirty.add(host.workspaceSid);
      const now = this.clock();
      await this.apply(host, found !== null ? host.center.taskCreated(c.sid, found, now) : host.center.taskCreationFailed(c.sid, 'the task was not created before a restart', now));
    }
    this.persist();
  }

  /**
   * Writes dirty states, the cursor and new callback events in one transaction. Nothing to write
   * when no center changed and no event is pending: a cursor that only moved past events of
   * workspaces without callbacks is saved with the next real change (replaying those is harmless).
   */
  private persist(): void {
    // Callbacks changed or pruned by the centers since the last save (kept until a save succeeds).
    for (const host of this.hosts.values()) {
      const ch = host.center.takeChanges();
      if (ch.changed.length === 0 && ch.removed.length === 0) continue;
      let u = this.unsaved.get(host.workspaceSid);
      if (u === undefined) this.unsaved.set(host.workspaceSid, (u = new Map()));
      for (const c of ch.changed) u.set(c.sid, c);
      for (const c of ch.removed) {
        u.set(c.sid, null);
        for (const a of c.attempts) if (a.dialKey !== null) this.keyOwner.delete(a.dialKey);
      }
      this.dirty.add(host.workspaceSid);
    }
    if (this.dirty.size === 0 && this.pendingEvents.length === 0) return;
    const states = [...this.dirty].map((ws) => this.hosts.get(ws)).filter((h): h is Host => h !== undefined);
    const events = this.pendingEvents;
    const now = this.clock();
    // Event callbacks of the callback events, filtered like the engine's (workspace URL and EventsFilter).
    const outbox: Array<{ workspaceSid: string; kind: string; payload: string; dueAt: number }> = [];
    for (const { workspaceSid, event } of events) {
      const host = this.hosts.get(workspaceSid);
      const engine = host === undefined ? undefined : this.runtime.workspace(host.accountSid, workspaceSid);
      if (host === undefined || engine === undefined) continue;
      const asEngineEvent = { ...event, data: { workspace_sid: workspaceSid, workspace_name: engine.workspace.friendlyName, ...event.data } } as unknown as EngineEvent;
      for (const row of outboxRows(engine, host.accountSid, [asEngineEvent], now)) outbox.push({ workspaceSid, ...row });
    }
    this.store.save(
      states.map((h) => {
        const u = this.unsaved.get(h.workspaceSid);
        const changed: CallbackRequest[] = [];
        const removed: string[] = [];
        if (u !== undefined) for (const [sid, c] of u) if (c === null) removed.push(sid); else changed.push(c);
        return { workspaceSid: h.workspaceSid, accountSid: h.accountSid, center: h.center.snapshot({ callbacks: false }), datastore: h.datastore.snapshot(), changed, removed };
      }),
      this.cursor,
      events,
      now,
      outbox,
    );
    this.pendingEvents = [];
    for (const h of states) this.unsaved.delete(h.workspaceSid);
    this.dirty.clear();
  }

  /** One timer: the earliest center deadline, the simulated network's next outcome, or the next poll. */
  private arm(): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const now = this.clock();
    let next = now + this.pollMs;
    for (const h of this.hosts.values()) next = Math.min(next, h.center.nextDeadline() ?? Infinity);
    if (this.telephony instanceof SimulatedNetwork) next = Math.min(next, this.telephony.nextDue() ?? Infinity);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump().catch((e: unknown) => this.onError(e));
    }, Math.max(0, next - now));
    this.timer.unref();
  }
}
