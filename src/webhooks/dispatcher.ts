/**
 * Delivers the webhook outbox (DESIGN.md rule 3: at-least-once, from rows committed with the
 * command). Nothing here runs inside the command path: the runtime only wakes the dispatcher
 * after a commit, and a slow, failing or hanging receiver holds up at most its own lane.
 *
 * - Event callbacks (spec §9.1): one FIFO lane per workspace, rows in commit order, sent with HTTP/1.1
 *   pipelining on the lane's own connection (up to `eventPipelining` on the wire at once, written
 *   in order; see `runLane` for what a failure inside that window does); 15 s timeout per
 *   callback, counted from when it heads the window; up to 3 retries with exponential backoff
 *   (OUR CHOICE), tunable per URL with Twilio's connection-override fragment
 *   `#ct=…&rt=…&tt=…&rc=…&rp=…` (stripped before sending).
 * - Assignment callbacks (spec §8): concurrent; 5 s timeout; on timeout, connection error or
 *   non-2xx the fallback URL is called once. A 200 JSON reply with `accept`/`reject` becomes an
 *   `updateReservation` command through `runtime.execute`; `dequeue`/`call`/`redirect`/`conference`
 *   are checked (instructions.ts) and, where TaskRouter would, accept the reservation with the
 *   instruction recorded on its events (no call is placed); bad replies raise alerts.
 *
 * Every request is form-encoded, signed with `X-Twilio-Signature` (spec §11) and carries an
 * `I-Twilio-Idempotency-Token` that stays the same across retries and restarts.
 */
import type { Runtime } from '../runtime/runtime.ts';
import type { OutboxRow } from '../store/sqlite-store.ts';
import { checkInstruction, checkReject, isInstructionError, isTelephonyInstruction, reservationContext, type TelephonyInstruction } from './instructions.ts';
import type { EventOrigin, WebhookPayload } from './outbox.ts';
import { PipelinedClients, PostClient, type PostReply } from './http-post.ts';
import { stripFragment, twilioSignature } from './signature.ts';

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

export interface DispatcherOptions {
  /** Epoch ms (default: Date.now). */
  clock?: () => number;
  /** Event callback timeout (default 15 s, spec §9.1). */
  eventTimeoutMs?: number;
  /** Assignment callback timeout (default 5 s, spec §8). */
  assignmentTimeoutMs?: number;
  /** Event callback retries after the first attempt (default 3). */
  eventRetries?: number;
  /** First retry delay; doubles each time (default 1 s). */
  backoffMs?: number;
  /** How often due retries are looked for (default 250 ms); commits wake the dispatcher at once. */
  pollMs?: number;
  /** Assignment callbacks in flight at most (default 64). */
  maxConcurrentAssignments?: number;
  /**
   * Event callbacks of one workspace on the wire at once, pipelined in order on the lane's one
   * connection (default 32; 1 sends them strictly one after another).
   */
  eventPipelining?: number;
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
  | { ok: true; status: number; contentType: string; body: string }
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
  timer: NodeJS.Timeout | null;
  timedOut: boolean;
  result: Promise<Result>;
}

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

/** How long a lane's connection is kept without use (milliseconds). */
const LANE_IDLE_MS = 60_000;

export class WebhookDispatcher {
  private readonly runtime: Runtime;
  private readonly clock: () => number;
  private readonly eventTimeoutMs: number;
  private readonly assignmentTimeoutMs: number;
  private readonly eventRetries: number;
  private readonly backoffMs: number;
  private readonly pollMs: number;
  private readonly maxAssignments: number;
  private readonly eventPipelining: number;
  private lastIdleClose = 0;
  /** Running lanes: a call tops up the lane's window with rows committed since (see pump). */
  private readonly laneFill = new Map<string, () => void>();
  private readonly pipelined: PipelinedClients;
  private readonly keepDoneMs: number;
  private lastPrune = 0;
  private readonly onAlert: (alert: WebhookAlert) => void;
  private readonly onInstruction: (recorded: RecordedInstruction) => void;
  private readonly lanes = new Set<string>();
  private readonly assignmentsInFlight = new Set<number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly client = new PostClient();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private running = false;
  private pumpScheduled = false;

  constructor(runtime: Runtime, options: DispatcherOptions = {}) {
    this.runtime = runtime;
    this.clock = options.clock ?? Date.now;
    this.eventTimeoutMs = options.eventTimeoutMs ?? 15_000;
    this.assignmentTimeoutMs = options.assignmentTimeoutMs ?? 5_000;
    this.eventRetries = options.eventRetries ?? 3;
    this.backoffMs = options.backoffMs ?? 1_000;
    this.pollMs = options.pollMs ?? 250;
    this.maxAssignments = options.maxConcurrentAssignments ?? 64;
    this.eventPipelining = options.eventPipelining ?? 32;
    if (!Number.isInteger(this.eventPipelining) || this.eventPipelining < 1) {
      throw new RangeError(`eventPipelining must be an integer ≥ 1, got ${String(options.eventPipelining)}`);
    }
    this.pipelined = new PipelinedClients(this.eventPipelining);
    this.keepDoneMs = options.keepDoneMs ?? 86_400_000;
    this.onInstruction = options.onInstruction ?? (() => undefined);
    this.onAlert =
      options.onAlert ?? ((a) => process.stderr.write(`switchboard webhook alert ${a.code} (${a.workspaceSid}, ${a.url}): ${a.message}\n`));
  }

  /** Starts delivering: rows left from before (a restart) and every row committed from now on. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.runtime.onCommit(() => this.wake());
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
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
    if (this.timer !== null) clearInterval(this.timer);
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    this.client.destroy();
    await this.pipelined.destroy();
  }

  /** Resolves once no row is due now or in flight (tests). */
  async idle(): Promise<void> {
    for (;;) {
      this.pump();
      if (this.inFlight.size === 0) return;
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private wake(): void {
    if (!this.running || this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private track(work: Promise<void>): void {
    const p = work.catch((error: unknown) => {
      if (this.running) process.stderr.write(`switchboard webhook dispatcher: ${(error as Error).stack ?? String(error)}\n`);
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private pump(): void {
    if (!this.running) return;
    const now = this.clock();
    if (now - this.lastPrune >= 600_000) {
      this.lastPrune = now;
      this.runtime.store.pruneOutbox(now - this.keepDoneMs);
    }
    if (now - this.lastIdleClose >= LANE_IDLE_MS) {
      this.lastIdleClose = now;
      this.pipelined.closeIdle(now - LANE_IDLE_MS);
    }
    for (const ws of this.runtime.store.dueLanes('event', now)) {
      if (this.lanes.has(ws)) {
        this.laneFill.get(ws)?.();
        continue;
      }
      this.lanes.add(ws);
      this.track(this.runLane(ws).finally(() => this.lanes.delete(ws)));
    }
    const room = this.maxAssignments - this.assignmentsInFlight.size;
    if (room <= 0) return;
    for (const row of this.runtime.store.dueOutbox('assignment', now, room + this.assignmentsInFlight.size)) {
      if (this.assignmentsInFlight.has(row.id) || this.assignmentsInFlight.size >= this.maxAssignments) continue;
      this.assignmentsInFlight.add(row.id);
      this.track(this.deliverAssignment(row).finally(() => this.assignmentsInFlight.delete(row.id)));
    }
  }

  /**
   * One workspace's event callbacks, in commit order (spec §9.1), with up to `eventPipelining` of
   * them written on the lane's connection before their replies arrive. Replies are handled in
   * order, so a row is marked done only after every row before it. The timeout of a callback
   * starts when it heads the window (connect included for the first), so one waiting behind a
   * slow reply is not charged for it.
   *
   * A failure inside the window: if the failed row is to be retried, it is rescheduled, the rows
   * written behind it are cancelled and NOT marked done whatever their replies (the receiver may
   * have got them), and the lane stops; when the retry is due it starts again from the failed row
   * and sends the later rows again, in order, behind it. If the failed row is dropped (no retry
   * left or not retryable), it is marked done with alert 11200 and the window goes on. So every
   * row is received at least once and, for rows A before B, the last time B is sent comes after A
   * is done; a receiver that de-duplicates on `I-Twilio-Idempotency-Token` sees them in order.
   */
  private async runLane(workspaceSid: string): Promise<void> {
    const window: Sent[] = [];
    // Rows read ahead and not sent yet (ids > the last sent), and whether the outbox may hold rows
    // after them: set by a commit waking the lane, or by a read that filled its limit. Reading
    // only then spares one outbox query per reply.
    let ahead: OutboxRow[] = [];
    let lastReadId = -1;
    let stale = true;
    const arm = (sent: Sent): void => {
      if (sent.timer !== null) return;
      sent.timer = setTimeout(() => {
        sent.timedOut = true;
        sent.controller.abort(new Error(`no reply within ${sent.timeoutMs} ms`));
      }, sent.timeoutMs);
    };
    const fill = (): void => {
      if (!this.running) return;
      const now = this.clock();
      while (window.length < this.eventPipelining) {
        if (ahead.length === 0) {
          if (!stale) return;
          ahead = this.runtime.store.outboxLane(workspaceSid, 'event', READ_AHEAD, lastReadId);
          stale = ahead.length === READ_AHEAD;
          const last = ahead.at(-1);
          if (last === undefined) return;
          lastReadId = last.id;
        }
        const row = ahead[0] as OutboxRow;
        if (row.nextAttemptAt > now) return; // a head waiting for its retry (the lane ends and resumes when it is due)
        const payload = JSON.parse(row.payload) as WebhookPayload;
        const origin = urlOrigin(stripFragment(payload.url));
        const last = window.at(-1);
        if (last !== undefined && last.origin !== origin) return; // a new URL: after this window drains
        ahead.shift();
        const overrides = connectionOverrides(payload.url);
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
          result: this.postEvent(workspaceSid, payload, controller.signal, now),
        };
        window.push(sent);
        if (window.length === 1) arm(sent);
      }
    };
    const onStop = (): void => {
      for (const sent of window) sent.controller.abort(new Error('the dispatcher stopped'));
    };
    this.abort.signal.addEventListener('abort', onStop, { once: true });
    this.laneFill.set(workspaceSid, () => {
      stale = true;
      fill();
    });
    try {
      fill();
      while (window.length > 0) {
        const head = window[0] as Sent;
        const result = await head.result;
        if (head.timer !== null) clearTimeout(head.timer);
        window.shift();
        if (!this.running) return;
        if (window[0] !== undefined) arm(window[0]);
        const attempts = head.row.attempts + 1;
        if (result.ok) {
          this.runtime.store.markOutboxDone(head.row.id, attempts, this.clock(), { workspaceSid, kind: 'event' });
          fill();
          continue;
        }
        const retryOn = head.overrides.retryOn ?? DEFAULT_RETRY_ON;
        const retryable = retryOn.has('all') || retryOn.has(result.failure) || (result.detail === 'HTTP 429' && retryOn.has('429'));
        const retries = head.overrides.retries ?? this.eventRetries;
        if (retryable && attempts <= retries) {
          this.runtime.store.rescheduleOutbox(head.row.id, attempts, this.clock() + this.backoffMs * 2 ** (attempts - 1));
          return; // the lane resumes when the retry is due; later events (cancelled below) wait behind it
        }
        this.runtime.store.markOutboxDone(head.row.id, attempts, this.clock(), { workspaceSid, kind: 'event' });
        this.onAlert({
          code: 11200,
          workspaceSid,
          url: stripFragment(head.payload.url),
          message: `event callback ${head.payload.params['EventType'] ?? ''} dropped after ${attempts} attempt(s): ${result.detail}`,
        });
        fill();
      }
    } finally {
      this.laneFill.delete(workspaceSid);
      this.abort.signal.removeEventListener('abort', onStop);
      // Rows still in the window are not done: cancel them and let them settle, so none of them
      // can reach the receiver after the lane's next run has started.
      for (const sent of window) sent.controller.abort(new Error('cancelled behind a failed callback'));
      await Promise.allSettled(window.map((sent) => sent.result));
      for (const sent of window) if (sent.timer !== null) clearTimeout(sent.timer);
    }
  }

  private async deliverAssignment(row: OutboxRow): Promise<void> {
    const payload = JSON.parse(row.payload) as WebhookPayload;
    // attempts 0: the assignment URL; 1: the fallback URL (if any). Done after that.
    let url = row.attempts === 0 ? payload.url : row.attempts === 1 ? payload.fallbackUrl : undefined;
    let attempts = row.attempts;
    // Sent late (a backlog, a restart) for a reservation that is no longer pending: nothing to decide.
    const engine = this.runtime.workspace(payload.accountSid, row.workspaceSid);
    const reservation = engine?.reservations.get(payload.params['ReservationSid'] ?? '');
    if (reservation === undefined || reservation.reservationStatus !== 'pending') url = undefined;
    while (url !== undefined && this.running) {
      const result = await this.post(payload, url, connectionOverrides(url).timeoutMs ?? this.assignmentTimeoutMs);
      if (!this.running) return;
      attempts += 1;
      if (result.ok) {
        this.runtime.store.markOutboxDone(row.id, attempts, this.clock());
        await this.handleReply(row.workspaceSid, payload, url, result);
        return;
      }
      this.runtime.store.rescheduleOutbox(row.id, attempts, this.clock());
      this.onAlert({ code: 11200, workspaceSid: row.workspaceSid, url: stripFragment(url), message: `assignment callback failed: ${result.detail}` });
      url = attempts === 1 ? payload.fallbackUrl : undefined;
    }
    if (this.running) this.runtime.store.markOutboxDone(row.id, attempts, this.clock());
  }

  private async handleReply(workspaceSid: string, payload: WebhookPayload, url: string, reply: Extract<Result, { ok: true }>): Promise<void> {
    const alert = (code: number, message: string): void => this.onAlert({ code, workspaceSid, url: stripFragment(url), message });
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

/** A reply as a delivery result: 2xx is delivered; anything else (3xx included: no redirects) failed. */
function replyResult(res: PostReply): Result {
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status, contentType: res.contentType, body: res.body };
  return { ok: false, failure: res.status >= 500 ? '5xx' : '4xx', detail: `HTTP ${res.status}` };
}
