/**
 * Delivers the webhook outbox (DESIGN.md rule 3: at-least-once, from rows committed with the
 * command). Nothing here runs inside the command path: the runtime only wakes the dispatcher
 * after a commit, and a slow, failing or hanging receiver holds up at most its own lane.
 *
 * - Event callbacks (spec §9.1): one FIFO lane per workspace, rows in commit order, sent with HTTP/1.1
 *   pipelining on the lane's own connection (up to `eventPipelining` on the wire at once, written
 *   in order; see `runLane` for what a failure inside that window does); 15 s timeout per
 *   callback, counted from when it heads the window; up to 3 retries with exponential backoff and
 *   jitter (OUR CHOICE), tunable per URL with Twilio's connection-override fragment
 *   `#ct=…&rt=…&tt=…&rc=…&rp=…` (stripped before sending).
 * - Assignment callbacks (spec §8): concurrent, in lanes per workspace and destination (the URL's
 *   origin), each lane and each workspace with its own bound on requests in flight, so a workspace
 *   whose receivers hang cannot take the slots of another (issue #10 item 9; see
 *   `startAssignments`); 5 s timeout; on timeout, connection error or non-2xx the fallback URL is
 *   called once. A 200 JSON reply with `accept`/`reject` becomes an
 *   `updateReservation` command through `runtime.execute`; `dequeue`/`call`/`redirect`/`conference`
 *   are checked (runtime/instructions.ts) and, where TaskRouter would, accept the reservation with the
 *   instruction recorded on its events (no call is placed); bad replies raise alerts.
 *
 * - Other outbox kinds (a port's effects: the callback core's `dial` and `hangup`): delivered by the
 *   {@link OutboxDeliverer} the composition root gives for the kind (`deliverers`), so this folder
 *   never imports a core or its port. Lanes per workspace and destination (the deliverer's
 *   `destination`: the telephony port), each bounded, rows of one order key (a dial's key) one after
 *   another in outbox order; an at-most-once kind (dials) is taken durably before it is delivered
 *   (`Store.takeOutbox`); a deliverer that rejects (a port that threw before placing the call) is
 *   retried with the same backoff and jitter as event callbacks (see `startDeliveries`).
 *
 * Every request is form-encoded, signed with `X-Twilio-Signature` (spec §11) and carries an
 * `I-Twilio-Idempotency-Token` that stays the same across retries and restarts.
 *
 * Single writer: the dispatcher delivers every workspace's rows of its runtime's store, and its
 * full pumps look at every workspace of the database (Store.dueLanes). With several nodes on one
 * PostgreSQL database each must deliver only the workspaces it holds the lease of (a later issue).
 *
 * Time comes from an injected {@link Scheduler} (clock, timeouts, retry timers, the poll), and every
 * request in flight — and every outbox read or write it awaits (the store may answer over a socket)
 * — is passed to its `track`, so a test can run delivery in virtual time.
 */
import type { Runtime } from '../runtime/runtime.ts';
import { systemScheduler } from '../runtime/scheduler.ts';
import type { OutboxLane, OutboxRow } from '../store/store.ts';
import type { Scheduler, Timer } from '../util/scheduler.ts';
import { checkInstruction, checkReject, isInstructionError, isTelephonyInstruction, reservationContext, type TelephonyInstruction } from '../runtime/instructions.ts';
import type { EventOrigin, OutboxDeliverer, OutboxDelivery, WebhookPayload } from '../runtime/outbox.ts';
import { MAX_REPLY_BYTES, PipelinedClients, PostClient, type PostReply } from './http-post.ts';
import { stripFragment, twilioSignature } from '../runtime/signature.ts';

export interface WebhookAlert {
  /** Twilio error code: 11200 (HTTP retrieval failure: timeout, connection error, non-2xx), 40000 (not JSON content type), 40001 (unparsable body), 40005 (no instruction), 55555 (unsupported instruction), 40100 (instruction failed). */
  code: number;
  workspaceSid: string;
  message: string;
  url: string;
}

/** A telephony instruction taken from an assignment callback reply (recorded; no call is placed). */
export interface RecordedInstruction {
  workspaceSid: string;
  reservationSid: string;
  instruction: TelephonyInstruction;
  /** Checked parameters with defaults applied, snake_case → string. */
  parameters: Record<string, string>;
  /** Whether the reservation was accepted by it (dequeue/conference always; call/redirect with accept=true). */
  accepted: boolean;
}

/** Alert when a telephony instruction arrives for a reservation that is no longer pending (the last code of each range; redirect's is 40123). */
const NOT_PENDING_ALERT: Record<TelephonyInstruction, number> = { call: 40114, redirect: 40123, dequeue: 40135, conference: 40145 };

/** A delivery of an outbox kind with a deliverer (`deliverers`) that failed (the deliverer rejected, or the take could not be written). */
export interface DeliveryFailure {
  workspaceSid: string;
  kind: string;
  /** The outbox row's id. */
  rowId: number;
  /** Attempts made so far, this one included. */
  attempts: number;
  /** True when no retry follows (out of retries): the row is done (an at-most-once row stays taken, never delivered). */
  final: boolean;
  error: unknown;
}

/** How a {@link WebhookDispatcher} delivers; every field is optional. Times in milliseconds. */
export interface DispatcherOptions {
  /**
   * Clock, timeouts and retry timers (default: the wall clock, `systemScheduler`). Every request in
   * flight goes through its `track`, so a `VirtualScheduler` waits for deliveries before it skips
   * time (and never skips past a request that does not answer: give such tests a scheduler that
   * gives up waiting on hung work, as test/webhooks/helpers.ts does).
   */
  scheduler?: Scheduler;
  /** Event callback timeout (default 15 s, spec §9.1). */
  eventTimeoutMs?: number;
  /** Assignment callback timeout (default 5 s, spec §8). */
  assignmentTimeoutMs?: number;
  /** Event callback retries after the first attempt (default 3). */
  eventRetries?: number;
  /**
   * Delay before the first retry; doubles with each retry, and each delay is lengthened by a random
   * 0–50 % (jitter, so the retries of many rows that failed together do not arrive together).
   * Default 1 s: retries after 1–1.5 s, 2–3 s, 4–6 s.
   */
  backoffMs?: number;
  /** The jitter's random draw, uniform in [0, 1) (default `Math.random`; tests inject a seeded one). */
  random?: () => number;
  /**
   * How often the outbox is looked at besides the wake-ups (default 250 ms; 0: never). Commits wake
   * the dispatcher at once and each retry arms a timer for its due time, so the poll only finds rows
   * written without a commit notification (the callbacks service's own outbox rows). Pass 0 with a
   * virtual scheduler that skips hours, or each skipped poll costs a turn.
   */
  pollMs?: number;
  /** Assignment callbacks in flight at most, over every workspace (default 512). */
  maxConcurrentAssignments?: number;
  /**
   * Assignment callbacks one workspace has in flight at most (default 64): the bound on what one
   * workspace can hold, whatever its receivers do.
   */
  maxAssignmentsPerWorkspace?: number;
  /**
   * Assignment callbacks in flight at most to one destination (a URL origin, fallback URLs
   * included) of one workspace (default 32): a hung receiver of a workspace leaves room for its
   * other destinations.
   */
  maxAssignmentsPerDestination?: number;
  /**
   * Event callbacks of one workspace on the wire at once, pipelined in order on the lane's one
   * connection (default 32; 1 sends them strictly one after another).
   */
  eventPipelining?: number;
  /**
   * How outbox kinds other than `event` and `assignment` are delivered: kind → deliverer (the
   * composition root builds them, e.g. `runtime.callbacks.deliverers()` for `dial` and `hangup`).
   * Rows of a kind without a deliverer stay in the outbox. Default: none.
   */
  deliverers?: Readonly<Record<string, OutboxDeliverer>>;
  /** Deliveries of `deliverers` kinds in flight at most in one lane (one workspace, one destination), unless the kind's deliverer sets its own `maxInFlight`; default 32. */
  maxDeliveriesPerDestination?: number;
  /** Deliveries of `deliverers` kinds in flight at most over every lane; default 512. */
  maxConcurrentDeliveries?: number;
  /** Retries of a `deliverers` row whose deliverer rejected, after the first attempt (default 3; backoff as `backoffMs`), unless its deliverer has a policy of its own (`OutboxDeliverer.isFinal`, `maxBackoffMs`). */
  deliveryRetries?: number;
  /** Every failed delivery of a `deliverers` kind. Default: one line on stderr. */
  onDeliveryFailure?: (failure: DeliveryFailure) => void;
  /** Delivered (or abandoned) rows are deleted after this long (default 24 h). */
  keepDoneMs?: number;
  /** Alerts (spec §8 codes) and delivery failures. Default: one line on stderr. */
  onAlert?: (alert: WebhookAlert) => void;
  /**
   * Every dequeue/call/redirect/conference instruction taken from a reply (also the ones that do
   * not accept). The accepting ones are also recorded on the reservation's events. Default: none.
   */
  onInstruction?: (recorded: RecordedInstruction) => void;
}

/** Twilio's connection overrides, read from a URL fragment. */
interface Overrides {
  timeoutMs?: number;
  retries?: number;
  /** Which failures to retry: `4xx`, `5xx`, `ct` (connect), `rt` (read/timeout), `all`. */
  retryOn?: Set<string>;
}

/** Parses `#ct=1000&rt=2000&tt=5000&rc=2&rp=5xx,ct` (unknown keys are ignored). */
export function connectionOverrides(url: string): Overrides {
  const hash = url.indexOf('#');
  if (hash === -1) return {};
  const fragment = new URLSearchParams(url.slice(hash + 1));
  const num = (key: string, max: number): number | undefined => {
    const v = Number(fragment.get(key));
    return fragment.has(key) && Number.isInteger(v) && v >= 0 ? Math.min(v, max) : undefined;
  };
  const o: Overrides = {};
  const ct = num('ct', 10_000);
  const rt = num('rt', 15_000);
  const tt = num('tt', 15_000);
  const timeouts = [ct !== undefined && rt !== undefined ? ct + rt : undefined, tt].filter((t): t is number => t !== undefined && t > 0);
  if (timeouts.length > 0) o.timeoutMs = Math.min(...timeouts);
  else if (rt !== undefined && rt > 0) o.timeoutMs = rt;
  const rc = num('rc', 5);
  if (rc !== undefined) o.retries = rc;
  const rp = fragment.get('rp');
  if (rp !== null) o.retryOn = new Set(rp.split(',').map((s) => s.trim()));
  return o;
}

type Result =
  | { ok: true; status: number; contentType: string; body: string; truncated: boolean }
  | { ok: false; failure: 'ct' | 'rt' | '4xx' | '5xx'; detail: string };

const DEFAULT_RETRY_ON = new Set(['5xx', 'ct', 'rt', '429']);

/** An event callback of a lane's window: written to the connection, its result not yet handled. */
interface Sent {
  row: OutboxRow;
  payload: WebhookPayload;
  overrides: Overrides;
  /** The URL's origin: a window holds rows of one origin (one connection). */
  origin: string;
  timeoutMs: number;
  controller: AbortController;
  timer: Timer | null;
  timedOut: boolean;
  result: Promise<Result>;
}

/** An assignment row waiting in its lane for a slot, with the URL of its next attempt. */
interface QueuedAssignment {
  row: OutboxRow;
  payload: WebhookPayload;
  /** 0: the assignment callback URL; 1: the fallback URL. */
  attempt: 0 | 1;
  url: string;
}

/** The assignment callbacks of one workspace to one destination (URL origin). */
interface AssignmentLane {
  origin: string;
  queue: QueuedAssignment[];
  inFlight: number;
}

/** One workspace's assignment callbacks: its lanes, and what it has read, queued and in flight. */
interface WorkspaceAssignments {
  workspaceSid: string;
  /** The outbox is read after this row id (rows up to it are queued, in flight or done). */
  lastReadId: number;
  queued: number;
  inFlight: number;
  lanes: Map<string, AssignmentLane>;
}

/** A row of a `deliverers` kind waiting in its lane: due at `dueAt` (epoch ms; later after a failure). */
interface QueuedDelivery {
  row: OutboxRow;
  deliverer: OutboxDeliverer;
  orderKey: string | null;
  dueAt: number;
}

/** The rows of one workspace to one destination of `deliverers` kinds, in id order. */
interface DeliveryLane {
  workspaceSid: string;
  destination: string;
  /** The kinds delivered to this destination (read together, merged in id order). */
  kinds: readonly string[];
  /** The outbox is read after this row id (rows up to it are queued, in flight or done). */
  lastReadId: number;
  queue: QueuedDelivery[];
  inFlight: number;
  /** Deliveries in flight at most: `maxDeliveriesPerDestination`, or the kinds' own `maxInFlight`. */
  bound: number;
  /** The last read stopped at the read-ahead limit: the outbox may hold more rows of the lane. */
  more: boolean;
  /** Order keys with a delivery in flight: later rows with the same key wait. */
  busyKeys: Set<string>;
}

/** Rows of `deliverers` kinds a lane holds queued in memory at most; more are read as these go out. */
const DELIVERY_READ_AHEAD = 256;

/** The origin of a URL, or the URL itself when it does not parse (it then fails on sending). */
function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

/** Outbox rows a lane reads at once (it sends them as its window has room). */
const READ_AHEAD = 64;

/**
 * Assignment rows a workspace holds queued in memory at most (waiting for a slot); more are read
 * from the outbox as these go out.
 */
const ASSIGNMENT_READ_AHEAD = 256;

/** How long a lane's connection is kept without use (milliseconds). */
const LANE_IDLE_MS = 60_000;

/**
 * Delivers the webhook outbox of one runtime (see the module comment): event callbacks in FIFO
 * lanes per workspace, assignment callbacks in bounded lanes per workspace and destination.
 * Construct it, then {@link WebhookDispatcher.start}; {@link WebhookDispatcher.stop} before closing
 * the runtime.
 */
export class WebhookDispatcher {
  private readonly runtime: Runtime;
  private readonly scheduler: Scheduler;
  private readonly eventTimeoutMs: number;
  private readonly assignmentTimeoutMs: number;
  private readonly eventRetries: number;
  private readonly backoffMs: number;
  private readonly random: () => number;
  private readonly pollMs: number;
  private readonly maxAssignments: number;
  private readonly maxPerWorkspace: number;
  private readonly maxPerDestination: number;
  private readonly eventPipelining: number;
  /**
   * Event lanes whose last callback failed: they send one callback at a time until one succeeds
   * (a failing receiver is not sent a window per retry; see `runLane`).
   */
  private readonly singleFile = new Set<string>();
  private lastIdleClose = 0;
  /** Running lanes: a call tops up the lane's window with rows committed since (see pump). */
  private readonly laneFill = new Map<string, () => void>();
  private readonly pipelined: PipelinedClients;
  private readonly keepDoneMs: number;
  private lastPrune = 0;
  private readonly onAlert: (alert: WebhookAlert) => void;
  private readonly onInstruction: (recorded: RecordedInstruction) => void;
  private readonly lanes = new Set<string>();
  /** Per workspace; kept once seen (its read position must outlive its queue: see readAssignments). */
  private readonly assignments = new Map<string, WorkspaceAssignments>();
  private assignmentsInFlight = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly client: PostClient;
  private pollTimer: Timer | null = null;
  /** Instants (epoch ms, ascending, distinct) at which a retry comes due; one timer for the first. */
  private readonly retryTimes: number[] = [];
  private retryTimer: { at: number; timer: Timer } | null = null;
  private unsubscribe: (() => void) | null = null;
  private running = false;
  private pumpScheduled = false;
  /** The pump in progress (its outbox reads are awaited), or null; a wake-up meanwhile runs it once more. */
  private pumping: Promise<void> | null = null;
  private pumpAgain = false;
  /** The next pump looks at the whole outbox (start, poll, retry timer, a commit that did not say which lanes). */
  private fullPump = true;
  /** Lanes commits queued rows in since the last pump (`kind workspaceSid` → lane): a pump that is not full reads only these. */
  private readonly woken = new Map<string, OutboxLane>();
  private readonly deliverers: Readonly<Record<string, OutboxDeliverer>>;
  /** Destination → the kinds delivered to it. */
  private readonly destinations = new Map<string, string[]>();
  /** `destination workspaceSid` → its lane; kept once seen (its read position must outlive its queue). */
  private readonly deliveryLanes = new Map<string, DeliveryLane>();
  private deliveriesInFlight = 0;
  private readonly maxDeliveriesPerDestination: number;
  private readonly maxConcurrentDeliveries: number;
  private readonly deliveryRetries: number;
  private readonly onDeliveryFailure: (failure: DeliveryFailure) => void;

  /**
   * @throws RangeError when `eventPipelining` or one of the assignment or delivery bounds is not an
   * integer ≥ 1, or when `deliverers` names `event` or `assignment`.
   */
  constructor(runtime: Runtime, options: DispatcherOptions = {}) {
    this.runtime = runtime;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.eventTimeoutMs = options.eventTimeoutMs ?? 15_000;
    this.assignmentTimeoutMs = options.assignmentTimeoutMs ?? 5_000;
    this.eventRetries = options.eventRetries ?? 3;
    this.backoffMs = options.backoffMs ?? 1_000;
    this.random = options.random ?? Math.random;
    this.pollMs = options.pollMs ?? 250;
    const positive = (name: string, value: number): number => {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer ≥ 1, got ${String(value)}`);
      return value;
    };
    this.maxAssignments = positive('maxConcurrentAssignments', options.maxConcurrentAssignments ?? 512);
    this.maxPerWorkspace = positive('maxAssignmentsPerWorkspace', options.maxAssignmentsPerWorkspace ?? 64);
    this.maxPerDestination = positive('maxAssignmentsPerDestination', options.maxAssignmentsPerDestination ?? 32);
    this.eventPipelining = positive('eventPipelining', options.eventPipelining ?? 32);
    this.pipelined = new PipelinedClients(this.eventPipelining);
    this.client = new PostClient(this.scheduler, this.maxAssignments);
    this.keepDoneMs = options.keepDoneMs ?? 86_400_000;
    this.deliverers = options.deliverers ?? {};
    for (const [kind, d] of Object.entries(this.deliverers)) {
      if (kind === 'event' || kind === 'assignment') throw new RangeError(`deliverers: ${kind} rows are webhooks, delivered over HTTP`);
      const kinds = this.destinations.get(d.destination) ?? [];
      kinds.push(kind);
      this.destinations.set(d.destination, kinds);
    }
    this.maxDeliveriesPerDestination = positive('maxDeliveriesPerDestination', options.maxDeliveriesPerDestination ?? 32);
    this.maxConcurrentDeliveries = positive('maxConcurrentDeliveries', options.maxConcurrentDeliveries ?? 512);
    this.deliveryRetries = options.deliveryRetries ?? 3;
    this.onDeliveryFailure =
      options.onDeliveryFailure ??
      ((f) => process.stderr.write(`switchboard outbox: ${f.kind} row ${f.rowId} of ${f.workspaceSid} failed (attempt ${f.attempts}${f.final ? ', no retry left' : ''}): ${(f.error as Error)?.message ?? String(f.error)}\n`));
    this.onInstruction = options.onInstruction ?? (() => undefined);
    this.onAlert =
      options.onAlert ?? ((a) => process.stderr.write(`switchboard webhook alert ${a.code} (${a.workspaceSid}, ${a.url}): ${a.message}\n`));
  }

  /** Starts delivering: rows left from before (a restart) and every row committed from now on. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.runtime.onCommit((lanes) => this.wake(lanes));
    this.armPoll();
    void this.hold(this.scheduler.track(this.armLeftRetries()));
    this.wake();
  }

  /**
   * Stops: aborts requests in flight and waits for them to settle. Rows not marked delivered stay
   * in the outbox and are sent again after the next start (at-least-once).
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.pollTimer?.cancel();
    this.retryTimer?.timer.cancel();
    this.retryTimer = null;
    this.abort.abort();
    await this.pumping;
    await Promise.allSettled([...this.inFlight]);
    this.assignments.clear();
    this.deliveryLanes.clear();
    this.client.destroy();
    await this.pipelined.destroy();
  }

  /** Resolves once no row is due now or in flight (tests). */
  async idle(): Promise<void> {
    for (;;) {
      this.pump();
      await this.pumping;
      if (this.inFlight.size === 0) return;
      await Promise.allSettled([...this.inFlight]);
    }
  }

  /**
   * Pumps on the next turn: for the given lanes only (a commit said where it queued rows), or over
   * the whole outbox (`null`).
   */
  private wake(lanes: readonly OutboxLane[] | null = null): void {
    if (!this.running) return;
    if (lanes === null) this.fullPump = true;
    else for (const lane of lanes) this.woken.set(`${lane.kind} ${lane.workspaceSid}`, lane);
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump(false);
    });
  }

  private armPoll(): void {
    if (this.pollMs <= 0 || !this.running) return;
    this.pollTimer = this.scheduler.setTimer(() => {
      this.wake(null);
      this.armPoll();
    }, this.pollMs);
  }

  /** Wakes the dispatcher at `at` (epoch ms), when a retry comes due. */
  private wakeAt(at: number): void {
    let i = 0;
    while (i < this.retryTimes.length && (this.retryTimes[i] as number) < at) i += 1;
    if (this.retryTimes[i] !== at) this.retryTimes.splice(i, 0, at);
    this.armRetryTimer();
  }

  private armRetryTimer(): void {
    const next = this.retryTimes[0];
    if (next === undefined || !this.running) return;
    if (this.retryTimer !== null) {
      if (this.retryTimer.at <= next) return;
      this.retryTimer.timer.cancel();
    }
    const timer = this.scheduler.setTimer(() => {
      this.retryTimer = null;
      const now = this.scheduler.now();
      while (this.retryTimes[0] !== undefined && this.retryTimes[0] <= now) this.retryTimes.shift();
      this.armRetryTimer(); // the next one, or this one again if the clock is behind the timer
      this.pump();
    }, next - this.scheduler.now());
    this.retryTimer = { at: next, timer };
  }

  /** At start: a timer for each event lane whose head waits for a retry left by a previous run. */
  private async armLeftRetries(): Promise<void> {
    const store = this.runtime.store;
    for (const ws of await store.dueLanes('event', Number.MAX_SAFE_INTEGER)) {
      const head = (await store.outboxLane(ws, 'event', 1))[0];
      if (head !== undefined && head.nextAttemptAt > this.scheduler.now() && this.running) this.wakeAt(head.nextAttemptAt);
    }
  }

  /** Keeps `work` for {@link stop} and {@link idle}; logs its failure. */
  private hold(work: Promise<void>): Promise<void> {
    const p = work.catch((error: unknown) => {
      if (this.running) process.stderr.write(`switchboard webhook dispatcher: ${(error as Error).stack ?? String(error)}\n`);
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /**
   * Looks at the outbox: starts the event lanes that have due rows (or tops up running ones) and
   * reads due assignment rows into their lanes. The outbox reads are awaited (the store may answer
   * over a socket), so one pump runs at a time; a wake-up while it runs makes it run once more.
   */
  private pump(full = true): void {
    if (!this.running) return;
    if (full) this.fullPump = true;
    if (this.pumping !== null) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.scheduler.track(this.pumpLoop());
  }

  private async pumpLoop(): Promise<void> {
    try {
      do {
        this.pumpAgain = false;
        await this.pumpOnce();
      } while (this.pumpAgain && this.running);
    } catch (error) {
      if (this.running) process.stderr.write(`switchboard webhook dispatcher: cannot read the outbox: ${(error as Error).message}\n`);
    } finally {
      this.pumping = null;
    }
  }

  private async pumpOnce(): Promise<void> {
    const store = this.runtime.store;
    const now = this.scheduler.now();
    const full = this.fullPump;
    this.fullPump = false;
    const woken = [...this.woken.values()];
    this.woken.clear();
    if (now - this.lastPrune >= 600_000) {
      this.lastPrune = now;
      store.pruneOutbox(now - this.keepDoneMs).catch((error: unknown) => process.stderr.write(`switchboard webhook dispatcher: cannot prune the outbox: ${(error as Error).message}\n`));
    }
    if (now - this.lastIdleClose >= LANE_IDLE_MS) {
      this.lastIdleClose = now;
      this.pipelined.closeIdle(now - LANE_IDLE_MS);
    }
    if (!full) {
      // Only the lanes the commits named: no query over every workspace's lanes (on PostgreSQL
      // those were two round trips per commit, on the database's CPU the commits need too).
      const read = new Set<string>();
      for (const lane of woken) {
        if (!this.running) return;
        if (lane.kind === 'event') this.serveEventLane(lane.workspaceSid);
        else if (lane.kind === 'assignment') await this.readAssignments(lane.workspaceSid, now);
        else await this.readDeliveriesOf(lane.workspaceSid, lane.kind, now, read);
      }
      this.startAssignments();
      this.startDeliveries();
      return;
    }
    for (const ws of await store.dueLanes('event', now)) {
      if (!this.running) return;
      this.serveEventLane(ws);
    }
    for (const ws of await store.dueLanes('assignment', now)) {
      if (!this.running) return;
      await this.readAssignments(ws, now);
    }
    this.startAssignments();
    // Deliveries are not FIFO: a lane is read whenever it holds any undelivered row (a head waiting
    // for its retry holds nothing up).
    const read = new Set<string>();
    for (const kind of Object.keys(this.deliverers)) {
      for (const ws of await store.dueLanes(kind, Number.MAX_SAFE_INTEGER)) {
        if (!this.running) return;
        await this.readDeliveriesOf(ws, kind, now, read);
      }
    }
    this.startDeliveries();
  }

  /** Reads a workspace's lane of the destination `kind` goes to, once per pump (`read`); nothing for a kind without a deliverer. */
  private async readDeliveriesOf(workspaceSid: string, kind: string, now: number, read: Set<string>): Promise<void> {
    const deliverer = this.deliverers[kind];
    if (deliverer === undefined) return;
    const key = `${deliverer.destination} ${workspaceSid}`;
    if (read.has(key)) return;
    read.add(key);
    let lane = this.deliveryLanes.get(key);
    if (lane === undefined) {
      const kinds = this.destinations.get(deliverer.destination) ?? [kind];
      const bound = Math.max(...kinds.map((k) => this.deliverers[k]?.maxInFlight ?? this.maxDeliveriesPerDestination));
      lane = { workspaceSid, destination: deliverer.destination, kinds, lastReadId: -1, queue: [], inFlight: 0, bound, more: false, busyKeys: new Set() };
      this.deliveryLanes.set(key, lane);
    }
    while (lane.queue.length < DELIVERY_READ_AHEAD) {
      // Only the pump calls this, one pump at a time: no two reads of a lane overlap. The kinds of a
      // destination are read in one query, so a hang-up is never read before the dial it follows.
      const rows = await this.scheduler.track(this.runtime.store.outboxLane(workspaceSid, lane.kinds, DELIVERY_READ_AHEAD, lane.lastReadId));
      for (const row of rows) {
        lane.lastReadId = row.id;
        const d = this.deliverers[row.kind] as OutboxDeliverer;
        let orderKey: string | null;
        try {
          orderKey = d.orderKey(deliveryOf(row));
        } catch {
          orderKey = null;
        }
        lane.queue.push({ row, deliverer: d, orderKey, dueAt: row.nextAttemptAt });
        if (row.nextAttemptAt > now) this.wakeAt(row.nextAttemptAt); // a retry left by a previous run
      }
      lane.more = rows.length === DELIVERY_READ_AHEAD;
      if (!lane.more) return;
    }
  }

  /**
   * Starts the due deliveries of every lane, in id order within a lane, while there is room:
   * `maxDeliveriesPerDestination` per lane (or its kinds' `maxInFlight`), `maxConcurrentDeliveries` in all. A row waits while an
   * earlier row of its lane with the same order key is in flight, queued or waiting for a retry, so
   * the rows of one key (a dial, then its hang-up) go out one after another in outbox order.
   */
  private startDeliveries(): void {
    if (!this.running) return;
    const now = this.scheduler.now();
    for (const lane of this.deliveryLanes.values()) {
      if (lane.queue.length === 0) continue;
      const blocked = new Set(lane.busyKeys);
      let i = 0;
      while (i < lane.queue.length && lane.inFlight < lane.bound && this.deliveriesInFlight < this.maxConcurrentDeliveries) {
        const item = lane.queue[i] as QueuedDelivery;
        if ((item.orderKey !== null && blocked.has(item.orderKey)) || item.dueAt > now) {
          if (item.orderKey !== null) blocked.add(item.orderKey);
          i += 1;
          continue;
        }
        lane.queue.splice(i, 1);
        if (item.orderKey !== null) {
          blocked.add(item.orderKey);
          lane.busyKeys.add(item.orderKey);
        }
        this.startDelivery(lane, item);
      }
    }
  }

  private startDelivery(lane: DeliveryLane, item: QueuedDelivery): void {
    lane.inFlight += 1;
    this.deliveriesInFlight += 1;
    const delivery = this.deliver(lane, item).finally(() => {
      lane.inFlight -= 1;
      this.deliveriesInFlight -= 1;
      if (item.orderKey !== null) lane.busyKeys.delete(item.orderKey);
      // A backlog longer than the read-ahead: read on once half of it went out, not at the next poll.
      if (lane.more && lane.queue.length < DELIVERY_READ_AHEAD / 2) {
        lane.more = false;
        this.wake([{ workspaceSid: lane.workspaceSid, kind: lane.kinds[0] as string }]);
      }
      this.startDeliveries();
    });
    void this.hold(this.scheduler.track(delivery));
  }

  /**
   * One attempt of a `deliverers` row. At-most-once: the row is taken durably first
   * (`Store.takeOutbox`), and not delivered unless this take succeeded. At-least-once: marked done
   * once the deliverer resolved. A deliverer that rejects did not deliver: the row is rescheduled
   * (a taken row becomes undelivered again) after the backoff with jitter, and queued again behind
   * nothing of its key; after `deliveryRetries` retries it stays done (taken) and is reported as final.
   */
  private async deliver(lane: DeliveryLane, item: QueuedDelivery): Promise<void> {
    const { row, deliverer } = item;
    const store = this.runtime.store;
    const attempts = row.attempts + 1;
    if (deliverer.guarantee === 'at-most-once') {
      let taken: boolean;
      try {
        taken = await this.scheduler.track(store.takeOutbox(row.id, attempts, this.scheduler.now()));
      } catch (error) {
        // Not taken (the write failed): try the take again later, with the same attempt count.
        this.onDeliveryFailure({ workspaceSid: lane.workspaceSid, kind: row.kind, rowId: row.id, attempts, final: false, error });
        this.requeue(lane, { ...item, dueAt: this.scheduler.now() + this.retryDelay(attempts) });
        return;
      }
      if (!taken) return; // done before (a previous run, or a take that crossed this one)
    }
    let failure: { error: unknown } | null = null;
    try {
      await this.scheduler.track(deliverer.deliver(deliveryOf(row), this.scheduler.now(), this.abort.signal));
    } catch (error) {
      failure = { error };
    }
    const now = this.scheduler.now();
    if (failure === null) {
      if (deliverer.guarantee === 'at-least-once') store.markOutboxDone(row.id, attempts, now);
      return;
    }
    const final = deliverer.isFinal === undefined ? attempts > this.deliveryRetries : deliverer.isFinal(deliveryOf(row), attempts, now);
    this.onDeliveryFailure({ workspaceSid: lane.workspaceSid, kind: row.kind, rowId: row.id, attempts, final, error: failure.error });
    if (final) {
      if (deliverer.guarantee === 'at-least-once') store.markOutboxDone(row.id, attempts, now);
      return;
    }
    const due = now + this.retryDelay(attempts, deliverer.maxBackoffMs);
    await this.scheduler.track(store.rescheduleOutbox(row.id, attempts, due));
    this.requeue(lane, { ...item, row: { ...row, attempts, nextAttemptAt: due }, dueAt: due });
  }

  /** Puts a delivery back in its lane, in id order, and wakes the dispatcher when it is due. */
  private requeue(lane: DeliveryLane, item: QueuedDelivery): void {
    if (!this.running) return;
    let i = 0;
    while (i < lane.queue.length && (lane.queue[i] as QueuedDelivery).row.id < item.row.id) i += 1;
    lane.queue.splice(i, 0, item);
    this.wakeAt(item.dueAt);
  }

  /** Tops up a workspace's running event lane with the rows committed since, or starts the lane (it ends at once if its head waits for a retry). */
  private serveEventLane(ws: string): void {
    if (this.lanes.has(ws)) {
      this.laneFill.get(ws)?.();
      return;
    }
    this.lanes.add(ws);
    this.hold(this.runLane(ws).finally(() => this.lanes.delete(ws)));
  }

  /**
   * One workspace's event callbacks, in commit order (spec §9.1), with up to `eventPipelining` of
   * them written on the lane's connection before their replies arrive. Replies are handled in
   * order. The timeout of a callback starts when it heads the window (connect included for the
   * first), so one waiting behind a slow reply is not charged for it.
   *
   * A failure at the head of the window costs every callback at most one delivery per attempt
   * (issue 11 item 5: before, each retry of a pipelined lane sent again everything behind it, and
   * 33 events to a receiver answering 500 made 523 deliveries):
   * - the callbacks written behind the failed head each count that send as an attempt: one the
   *   receiver answered 2xx is done (it is not sent again), any other is sent again later, in
   *   order, behind the head; after a timeout or a broken connection their replies cannot be
   *   trusted, so they are cancelled and count as tried;
   * - the head is retried after its backoff (or dropped with alert 11200 when it has no retry
   *   left or is not retryable), and until a callback of the lane succeeds again the lane sends
   *   ONE callback at a time, so a failing receiver is never sent a window of them per retry;
   * - a callback whose attempts are used up is dropped (alert 11200) without being sent again.
   * So a receiver gets each event at most `1 + retries` times, and, for events A before B, B is
   * never sent before A except inside the window in flight when A failed.
   */
  private async runLane(workspaceSid: string): Promise<void> {
    const window: Sent[] = [];
    // Rows read ahead and not sent yet (ids > the last sent), and whether the outbox may hold rows
    // after them: set by a commit waking the lane, or by a read that filled its limit. Reading
    // only then spares one outbox query per reply.
    let ahead: OutboxRow[] = [];
    let lastReadId = -1;
    let stale = true;
    // One fill at a time (its read is awaited); a call while one runs makes it run once more.
    let filling: Promise<void> | null = null;
    let fillAgain = false;
    // Set when the lane stops for a retry: nothing more goes on the wire while the retry is written.
    let stopped = false;
    const arm = (sent: Sent): void => {
      if (sent.timer !== null) return;
      sent.timer = this.scheduler.setTimer(() => {
        sent.timedOut = true;
        sent.controller.abort(new Error(`no reply within ${sent.timeoutMs} ms`));
      }, sent.timeoutMs);
    };
    const fillOnce = async (): Promise<void> => {
      while (this.running && !stopped && window.length < (this.singleFile.has(workspaceSid) ? 1 : this.eventPipelining)) {
        if (ahead.length === 0) {
          if (!stale) return;
          // Cleared before the read: a commit that wakes the lane while the read is out sets it
          // again, and the rows it wrote are read next time (the read may have missed them).
          stale = false;
          ahead = await this.scheduler.track(this.runtime.store.outboxLane(workspaceSid, 'event', READ_AHEAD, lastReadId));
          if (ahead.length === READ_AHEAD) stale = true;
          const last = ahead.at(-1);
          if (last === undefined) return;
          lastReadId = last.id;
          if (!this.running || stopped) return;
        }
        const now = this.scheduler.now();
        const row = ahead[0] as OutboxRow;
        if (row.nextAttemptAt > now) return; // a head waiting for its retry (the lane ends and resumes when it is due)
        const payload = JSON.parse(row.payload) as WebhookPayload;
        const origin = urlOrigin(stripFragment(payload.url));
        const last = window.at(-1);
        if (last !== undefined && last.origin !== origin) return; // a new URL: after this window drains
        ahead.shift();
        const overrides = connectionOverrides(payload.url);
        if (row.attempts > (overrides.retries ?? this.eventRetries)) {
          // Its attempts went on sends behind failed callbacks: dropped without another send.
          this.runtime.store.markOutboxDone(row.id, row.attempts, now, { workspaceSid, kind: 'event' });
          this.dropped(workspaceSid, payload, row.attempts, 'no attempt left');
          continue;
        }
        const controller = new AbortController();
        const sent: Sent = {
          row,
          payload,
          overrides,
          origin,
          timeoutMs: overrides.timeoutMs ?? this.eventTimeoutMs,
          controller,
          timer: null,
          timedOut: false,
          result: this.scheduler.track(this.postEvent(workspaceSid, payload, controller.signal, now)),
        };
        window.push(sent);
        if (window.length === 1) arm(sent);
      }
    };
    const fill = (): Promise<void> => {
      if (filling !== null) {
        fillAgain = true;
        return filling;
      }
      filling = (async () => {
        try {
          do {
            fillAgain = false;
            await fillOnce();
          } while (fillAgain && this.running);
        } finally {
          filling = null;
        }
      })();
      return filling;
    };
    const fillLogged = (): void => {
      void fill().catch((error: unknown) => process.stderr.write(`switchboard webhook dispatcher: cannot read the outbox: ${(error as Error).message}\n`));
    };
    // After a reply: with replies still to wait for, the window is topped up beside them (an outbox
    // read over a socket must not hold up the next reply); an empty window waits for the read, which
    // tells whether the lane goes on.
    const topUp = async (): Promise<void> => {
      if (window.length === 0) await fill();
      else fillLogged();
    };
    const onStop = (): void => {
      for (const sent of window) sent.controller.abort(new Error('the dispatcher stopped'));
    };
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    const laneFill = (): void => {
      stale = true;
      fillLogged();
    };
    this.laneFill.set(workspaceSid, laneFill);
    try {
      await fill();
      while (window.length > 0) {
        const head = window[0] as Sent;
        const result = await head.result;
        head.timer?.cancel();
        window.shift();
        if (!this.running) return;
        if (window[0] !== undefined) arm(window[0]);
        const attempts = head.row.attempts + 1;
        if (result.ok) {
          this.singleFile.delete(workspaceSid);
          this.runtime.store.markOutboxDone(head.row.id, attempts, this.scheduler.now(), { workspaceSid, kind: 'event' });
          await topUp();
          continue;
        }
        // The head failed: nothing more goes on the wire, the callbacks behind it are settled
        // (see the method's comment), and the lane runs again when its head is due.
        stopped = true;
        this.laneFill.delete(workspaceSid);
        this.singleFile.add(workspaceSid);
        const behind = window.splice(0);
        const untrusted = result.failure === 'rt' || result.failure === 'ct';
        if (untrusted) for (const sent of behind) sent.controller.abort(new Error('cancelled behind a failed callback'));
        const replies = await Promise.all(behind.map((sent) => sent.result));
        const now = this.scheduler.now();
        for (const [i, sent] of behind.entries()) {
          sent.timer?.cancel();
          const reply = replies[i] as Result;
          // Out of lane order: marked without the lane (the lane's head is still pending).
          if (reply.ok && !untrusted) this.runtime.store.markOutboxDone(sent.row.id, sent.row.attempts + 1, now);
          else await this.scheduler.track(this.runtime.store.rescheduleOutbox(sent.row.id, sent.row.attempts + 1, now));
        }
        const retryOn = head.overrides.retryOn ?? DEFAULT_RETRY_ON;
        const retryable = retryOn.has('all') || retryOn.has(result.failure) || (result.detail === 'HTTP 429' && retryOn.has('429'));
        const retries = head.overrides.retries ?? this.eventRetries;
        if (retryable && attempts <= retries) {
          const due = now + this.retryDelay(attempts);
          // Written before the lane ends: a lane started after it must see the row wait for its retry.
          await this.scheduler.track(this.runtime.store.rescheduleOutbox(head.row.id, attempts, due));
          this.wakeAt(due);
          return; // the lane resumes when the retry is due; the callbacks behind wait for it
        }
        this.runtime.store.markOutboxDone(head.row.id, attempts, now, { workspaceSid, kind: 'event' });
        this.dropped(workspaceSid, head.payload, attempts, result.detail);
        // Dropped: the lane goes on from the row after it (the rows behind it were written again
        // with their new attempt counts), one callback at a time.
        ahead = [];
        lastReadId = head.row.id;
        stale = true;
        stopped = false;
        this.laneFill.set(workspaceSid, laneFill);
        await fill();
      }
    } finally {
      this.laneFill.delete(workspaceSid);
      this.abort.signal.removeEventListener('abort', onStop);
      // Rows still in the window are not done: cancel them and let them settle, so none of them
      // can reach the receiver after the lane's next run has started.
      for (const sent of window) sent.controller.abort(new Error('cancelled behind a failed callback'));
      await Promise.allSettled(window.map((sent) => sent.result));
      for (const sent of window) sent.timer?.cancel();
    }
  }

  /** Alert 11200 for an event callback given up on after `attempts` attempts. */
  private dropped(workspaceSid: string, payload: WebhookPayload, attempts: number, detail: string): void {
    this.onAlert({
      code: 11200,
      workspaceSid,
      url: stripFragment(payload.url),
      message: `event callback ${payload.params['EventType'] ?? ''} dropped after ${attempts} attempt(s): ${detail}`,
    });
  }

  /**
   * The wait before retry number `attempt` (1 = the first retry), in ms: `backoffMs` doubled for
   * each earlier retry, lengthened by a random 0–50 % (jitter) drawn from the injected `random`.
   */
  private retryDelay(attempt: number, maxBackoffMs = Infinity): number {
    const base = Math.min(this.backoffMs * 2 ** (attempt - 1), maxBackoffMs);
    return Math.round(base * (1 + this.random() / 2));
  }

  /**
   * Reads the assignment rows a workspace committed since the last read into its lanes (one per
   * destination: the origin of the URL the row calls next), while it holds fewer than
   * ASSIGNMENT_READ_AHEAD queued. The read position only moves forward: a row marked done is not
   * written to disk at once (the store batches the marks), so it must never be read again.
   */
  private async readAssignments(workspaceSid: string, now: number): Promise<void> {
    let w = this.assignments.get(workspaceSid);
    if (w === undefined) {
      w = { workspaceSid, lastReadId: -1, queued: 0, inFlight: 0, lanes: new Map() };
      this.assignments.set(workspaceSid, w);
    }
    while (w.queued < ASSIGNMENT_READ_AHEAD) {
      // Only the pump calls this, one pump at a time: no two reads of a workspace overlap.
      const rows = await this.scheduler.track(this.runtime.store.outboxLane(workspaceSid, 'assignment', ASSIGNMENT_READ_AHEAD, w.lastReadId));
      for (const row of rows) {
        w.lastReadId = row.id;
        let payload: WebhookPayload;
        try {
          payload = JSON.parse(row.payload) as WebhookPayload;
        } catch {
          // Not written by outboxRows (it writes JSON): nothing can be sent; never crash the pump.
          process.stderr.write(`switchboard webhook dispatcher: outbox row ${row.id} has an unreadable payload; dropped\n`);
          this.runtime.store.markOutboxDone(row.id, row.attempts, now);
          continue;
        }
        // attempts 0: the assignment URL next; 1: the fallback URL (if any); done after that.
        const url = row.attempts === 0 ? payload.url : row.attempts === 1 ? payload.fallbackUrl : undefined;
        if (url === undefined) this.runtime.store.markOutboxDone(row.id, row.attempts, now);
        else this.queueAssignment(w, { row, payload, attempt: row.attempts === 0 ? 0 : 1, url }, false);
      }
      if (rows.length < ASSIGNMENT_READ_AHEAD) return;
    }
  }

  /** Puts an assignment in the lane of its URL's origin: at the back, or at the front (`first`: a fallback, older than what waits). */
  private queueAssignment(w: WorkspaceAssignments, item: QueuedAssignment, first: boolean): void {
    const origin = urlOrigin(stripFragment(item.url));
    let lane = w.lanes.get(origin);
    if (lane === undefined) {
      lane = { origin, queue: [], inFlight: 0 };
      w.lanes.set(origin, lane);
    }
    if (first) lane.queue.unshift(item);
    else lane.queue.push(item);
    w.queued += 1;
  }

  /**
   * Starts queued assignment callbacks while there is room, one per workspace per round (and, within
   * a workspace, one per lane per round), so that when the global bound is reached the slots freed
   * go to every workspace in turn. Three bounds hold: `maxAssignmentsPerDestination` per lane,
   * `maxAssignmentsPerWorkspace` per workspace, `maxConcurrentAssignments` in all. A workspace whose
   * receivers hang fills its own slots and no one else's.
   */
  private startAssignments(): void {
    if (!this.running) return;
    const served: WorkspaceAssignments[] = [];
    let progress = true;
    while (progress && this.assignmentsInFlight < this.maxAssignments) {
      progress = false;
      for (const w of this.assignments.values()) {
        if (this.assignmentsInFlight >= this.maxAssignments) break;
        if (w.queued === 0 || w.inFlight >= this.maxPerWorkspace) continue;
        for (const lane of w.lanes.values()) {
          if (lane.queue.length === 0 || lane.inFlight >= this.maxPerDestination) continue;
          this.startAssignment(w, lane, lane.queue.shift() as QueuedAssignment);
          // The lane served goes to the back of its workspace's order, the workspace to the back of ours.
          w.lanes.delete(lane.origin);
          w.lanes.set(lane.origin, lane);
          served.push(w);
          progress = true;
          break;
        }
      }
    }
    for (const w of served) {
      this.assignments.delete(w.workspaceSid);
      this.assignments.set(w.workspaceSid, w);
    }
  }

  private startAssignment(w: WorkspaceAssignments, lane: AssignmentLane, item: QueuedAssignment): void {
    w.queued -= 1;
    w.inFlight += 1;
    lane.inFlight += 1;
    this.assignmentsInFlight += 1;
    const delivery = this.deliverAssignment(w, item).finally(() => {
      w.inFlight -= 1;
      lane.inFlight -= 1;
      this.assignmentsInFlight -= 1;
      this.startAssignments();
    });
    void this.hold(this.scheduler.track(delivery));
  }

  /**
   * One attempt of an assignment callback (spec §8): the assignment URL, or after its failure the
   * fallback URL, which goes back to the lanes (it may be another destination) to be called once.
   * A row for a reservation that is no longer pending is marked done unsent.
   */
  private async deliverAssignment(w: WorkspaceAssignments, item: QueuedAssignment): Promise<void> {
    const { row, payload, attempt, url } = item;
    const workspaceSid = w.workspaceSid;
    // Sent late (a backlog, a restart) for a reservation that is no longer pending: nothing to decide.
    const engine = this.runtime.workspace(payload.accountSid, workspaceSid);
    const reservation = engine?.reservations.get(payload.params['ReservationSid'] ?? '');
    if (reservation === undefined || reservation.reservationStatus !== 'pending') {
      this.runtime.store.markOutboxDone(row.id, attempt, this.scheduler.now());
      return;
    }
    const result = await this.post(payload, url, connectionOverrides(url).timeoutMs ?? this.assignmentTimeoutMs);
    if (!this.running) return;
    const attempts = attempt + 1;
    if (result.ok) {
      this.runtime.store.markOutboxDone(row.id, attempts, this.scheduler.now());
      await this.handleReply(workspaceSid, payload, url, result);
      return;
    }
    this.onAlert({ code: 11200, workspaceSid, url: stripFragment(url), message: `assignment callback failed: ${result.detail}` });
    if (attempt === 0 && payload.fallbackUrl !== undefined) {
      // Recorded, so that after a restart the fallback is called, not the assignment URL again.
      await this.scheduler.track(this.runtime.store.rescheduleOutbox(row.id, attempts, this.scheduler.now()));
      this.queueAssignment(w, { row: { ...row, attempts }, payload, attempt: 1, url: payload.fallbackUrl }, true);
      return;
    }
    this.runtime.store.markOutboxDone(row.id, attempts, this.scheduler.now());
  }

  private async handleReply(workspaceSid: string, payload: WebhookPayload, url: string, reply: Extract<Result, { ok: true }>): Promise<void> {
    const alert = (code: number, message: string): void => this.onAlert({ code, workspaceSid, url: stripFragment(url), message });
    if (reply.truncated) {
      // Read no further than the bound: like a reply that does not parse (issue 11 item 1).
      alert(40001, `the reply body is larger than ${MAX_REPLY_BYTES} bytes; it was cut off and its instruction is ignored`);
      return;
    }
    const body = reply.body.trim();
    if (body === '') return;
    if (!/^application\/(.+\+)?json\b/i.test(reply.contentType)) {
      alert(40000, `the reply is not JSON (Content-Type ${reply.contentType || 'missing'}); its instruction is ignored`);
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      alert(40001, 'the reply body could not be parsed as JSON');
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      alert(40001, 'the reply body is not a JSON object');
      return;
    }
    const reply_ = parsed as Record<string, unknown>;
    if (Object.keys(reply_).length === 0) return;
    const instruction = reply_['instruction'];
    if (instruction === undefined) {
      alert(40005, 'the reply has no instruction');
      return;
    }
    const reservationSid = payload.params['ReservationSid'] ?? '';
    // The instruction comes from the workflow's assignment callback: the workflow is the actor.
    const origin: EventOrigin = { actor: { sid: payload.params['WorkflowSid'] ?? '', type: 'workflow' } };
    let command: Parameters<Runtime['execute']>[1];
    if (instruction === 'accept') {
      command = { type: 'updateReservation', reservationSid, reservationStatus: 'accepted' };
    } else if (instruction === 'reject') {
      // No reply may drive a reserve/reject loop: checkReject refuses (alert 40100) a reject that
      // leaves the worker eligible for the same task; the reservation then stays pending.
      const engine = this.runtime.workspace(payload.accountSid, workspaceSid);
      const reservation = engine?.reservations.get(reservationSid);
      const checked = engine === undefined || reservation === undefined ? { activitySid: undefined } : checkReject(reply_, reservationContext(engine, reservation));
      if (isInstructionError(checked)) return alert(checked.alert, `${checked.message}; the reservation stays pending`);
      command = { type: 'updateReservation', reservationSid, reservationStatus: 'rejected' };
      if (checked.activitySid !== undefined) command.workerActivitySid = checked.activitySid;
    } else if (isTelephonyInstruction(instruction)) {
      const name = instruction;
      const engine = this.runtime.workspace(payload.accountSid, workspaceSid);
      const reservation = engine?.reservations.get(reservationSid);
      if (engine === undefined || reservation === undefined || reservation.reservationStatus !== 'pending') {
        alert(NOT_PENDING_ALERT[name], `${name}: the reservation ${reservationSid} is no longer pending`);
        return;
      }
      const checked = checkInstruction(name, reply_, reservationContext(engine, reservation));
      if (isInstructionError(checked)) {
        alert(checked.alert, `${checked.message}; the reservation stays pending`);
        return;
      }
      const recorded = { instruction: checked.instruction, parameters: checked.parameters };
      if (this.runtime.voice.port !== null) {
        // A telephone network is attached: the voice core places the worker's leg and accepts on
        // the bridge (src/callflows/bridges.ts).
        this.onInstruction({ workspaceSid, reservationSid, accepted: false, ...recorded });
        try {
          const refused = await this.runtime.voice.instruct(payload.accountSid, workspaceSid, reservationSid, checked, origin.actor);
          if (refused !== null) alert(refused.alert, `${refused.message}; the reservation stays pending`);
        } catch (error) {
          alert(NOT_PENDING_ALERT[name], `${name} could not be applied: ${(error as Error).message}`);
        }
        return;
      }
      if (!checked.accepts) {
        // call/redirect without accept=true: TaskRouter leaves the reservation pending for the app.
        this.onInstruction({ workspaceSid, reservationSid, accepted: false, ...recorded });
        return;
      }
      origin.instruction = recorded;
      command = { type: 'updateReservation', reservationSid, reservationStatus: 'accepted' };
      this.onInstruction({ workspaceSid, reservationSid, accepted: true, ...recorded });
    } else {
      alert(55555, `instruction ${JSON.stringify(instruction)} is not a TaskRouter instruction; the reservation stays pending`);
      return;
    }
    try {
      const outcome = await this.runtime.execute(workspaceSid, command, origin);
      if (outcome.rejection !== null) alert(40100, `instruction ${String(instruction)} could not be applied: ${JSON.stringify(outcome.rejection)}`);
    } catch (error) {
      alert(40100, `instruction ${String(instruction)} could not be applied: ${(error as Error).message}`);
    }
  }

  /** Signed headers of a callback (spec §11), or a failure if the account has no token. */
  private signed(payload: WebhookPayload, url: string): { headers: Record<string, string> } | { failure: Result } {
    let token: string;
    try {
      token = this.runtime.authToken(payload.accountSid);
    } catch (error) {
      return { failure: { ok: false, failure: '4xx', detail: (error as Error).message } };
    }
    return { headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-twilio-signature': twilioSignature(token, url, payload.params),
      'i-twilio-idempotency-token': payload.idempotencyToken,
      'user-agent': 'Switchboard-Webhooks/1.0',
    } };
  }

  /** An event callback on the lane's pipelined connection; never rejects. `signal` times it out or cancels it. */
  private async postEvent(workspaceSid: string, payload: WebhookPayload, signal: AbortSignal, now: number): Promise<Result> {
    const url = stripFragment(payload.url);
    const signed = this.signed(payload, url);
    if ('failure' in signed) return signed.failure;
    try {
      const res = await this.pipelined.post(workspaceSid, url, new URLSearchParams(payload.params).toString(), { headers: signed.headers, signal, now });
      return replyResult(res);
    } catch (error) {
      if (signal.aborted) return { ok: false, failure: 'rt', detail: (signal.reason as Error).message };
      const e = error as Error & { code?: string };
      return { ok: false, failure: 'ct', detail: e.code !== undefined ? `${e.code}: ${e.message}` : e.message };
    }
  }

  private async post(payload: WebhookPayload, rawUrl: string, timeoutMs: number): Promise<Result> {
    const url = stripFragment(rawUrl);
    const signed = this.signed(payload, url);
    if ('failure' in signed) return signed.failure;
    try {
      // Assignment callbacks: node:http with keep-alive (see http-post.ts).
      const res = await this.client.post(url, new URLSearchParams(payload.params).toString(), {
        headers: signed.headers,
        timeoutMs,
        signal: this.abort.signal,
      });
      return replyResult(res);
    } catch (error) {
      const e = error as Error;
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      return { ok: false, failure: timedOut ? 'rt' : 'ct', detail: timedOut ? `no reply within ${timeoutMs} ms` : (e.cause as Error | undefined)?.message ?? e.message };
    }
  }
}

/** The row as handed to its deliverer. */
function deliveryOf(row: OutboxRow): OutboxDelivery {
  return { id: row.id, workspaceSid: row.workspaceSid, kind: row.kind, payload: row.payload, attempts: row.attempts };
}

/** A reply as a delivery result: 2xx is delivered; anything else (3xx included: no redirects) failed. */
function replyResult(res: PostReply): Result {
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, contentType: res.contentType, body: res.body, truncated: res.truncated };
  return { ok: false, failure: res.status >= 500 ? '5xx' : '4xx', detail: `HTTP ${res.status}` };
}
