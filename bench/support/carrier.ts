/**
 * A simulated carrier for the voice load benchmark (bench/voice.bench.ts): Twilio's two parts as far
 * as the seed flow needs them, in real time and concurrently (test/support/fake-twilio.ts is the
 * exact, one-step-at-a-time reference; this one is built for load).
 *
 * - **The network towards our webhooks.** {@link Carrier.placeCall} starts one caller: the signed
 *   incoming-call webhook with Twilio's parameters, then the TwiML answer is followed — `<Say>` and
 *   `<Play>` take a short simulated time, `<Gather>` is answered with the caller's key (or with
 *   silence: the action without `Digits` after the gather's timeout), `<Enqueue>` puts the caller
 *   into the Twilio queue it names and requests its `waitUrl` at once and again whenever the hold
 *   TwiML has "played" (`<Play>` lasts `holdRefetchMs`). A caller whose patience runs out while
 *   holding hangs up: the `<Enqueue action>` with `QueueResult=hangup`, then their final status
 *   callback (`completed`).
 * - **The Calls API** (`POST /2010-04-01/Accounts/{AC}/Calls.json`, `…/Calls/{CA}.json`), what the
 *   official `twilio` client in the server talks to (Basic auth checked). A created leg (an agent's
 *   phone) posts `initiated` and `ringing` status callbacks, rings for `ringMs`, answers
 *   (`in-progress`) and runs its TwiML: `<Dial><Queue url>NAME` takes the caller waiting in queue
 *   NAME — the `<Queue url>` request for the caller (`DequeingCallSid` = the agent's leg) is the
 *   bridge — or waits for one, like Twilio's `<Queue>` on an empty queue. After `talkMs` the agent
 *   hangs up: the agent leg's `completed` status callback, the caller's `<Enqueue action>` with
 *   `QueueResult=bridged` (answered `<Hangup/>`), the caller's `completed` status callback.
 *   `Status=canceled|completed` ends a ringing leg (`canceled`) or an answered one (`completed`).
 *
 * Every webhook is signed (`X-Twilio-Signature`, src/runtime/signature.ts) and sent over one
 * keep-alive agent. What the benchmark reads: the latency of every answer by kind
 * ({@link Carrier.latencies}), each caller's outcome ({@link Carrier.callers}), the number of callers
 * up at once and its peak.
 *
 * A caller is **lost** when a webhook about them fails (network error, non-2xx), when they hear an
 * apology or a refusal ("We are sorry …", "… not in service …"), when the call ends in a way the
 * seed flow never ends it (a `<Hangup/>` while holding, the end of a document, a verb the flow never
 * sends), or — decided by the bench — when they have no outcome when the run ends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { XMLParser } from 'fast-xml-parser';
import { twilioSignature } from '../../src/runtime/signature.ts';

/** Timing of the simulated people and phones, milliseconds; ranges are uniform `[min, max]`. */
export interface CarrierTiming {
  /** How long a `<Say>` (and a `<Play>` outside the hold) lasts. */
  sayMs: number;
  /** From the end of the menu prompt to the key press. */
  thinkMs: [number, number];
  /** Share of callers who press nothing at the menu (they wait out the gather's timeout). */
  silenceRate: number;
  /** Share of the callers who press a key that press `1` (Hindi); the others press `2`. */
  hindiRate: number;
  /** How long the hold TwiML's `<Play>` plays before the waitUrl is requested again. */
  holdRefetchMs: number;
  /** How long a caller holds before hanging up (from entering the queue). */
  patienceMs: [number, number];
  /** How long an agent's phone rings before it is answered. */
  ringMs: [number, number];
  /** How long agent and caller talk once bridged. */
  talkMs: [number, number];
}

/** What {@link Carrier} is built from. */
export interface CarrierOptions {
  /** The Twilio account: the Calls API's Basic auth user, `AccountSid` of the webhooks. */
  accountSid: string;
  /** Signs the webhooks and checks the Calls API's Basic auth password. */
  authToken: string;
  /** The number the callers dial (a phone number of the server with the seed flow). */
  centerNumber: string;
  timing: CarrierTiming;
  /** Random numbers in [0, 1) (default Math.random). */
  random?: () => number;
  /** Told when a Calls API create arrives: the connect key of its `StatusCallback` (`?key=`), at `performance.now()`. */
  onLegRequested?: (key: string, at: number) => void;
  /** Told when an agent's leg is over after talking to a caller (every status callback answered). */
  onTalkEnded?: (key: string) => void;
}

/** The kinds of webhook whose answers are timed. */
export type AnswerKind = 'incoming' | 'gather' | 'hold' | 'enqueue' | 'bridged' | 'status';

/** Where a caller is. */
export type CallerPhase = 'ivr' | 'queued' | 'bridged' | 'ended';

/** How a caller's call ended. */
export type CallerOutcome = 'bridged' | 'abandoned' | 'lost';

/** One simulated caller. */
export interface Caller {
  sid: string;
  from: string;
  /** The key they press at the menu, or null (silence). */
  digit: '1' | '2' | null;
  phase: CallerPhase;
  status: string;
  /** `performance.now()` when the call came in, entered the queue, ended. */
  startedAt: number;
  enqueuedAt: number;
  endedAt: number;
  /** The Twilio queue they wait in (its name is the task SID), the action and waitUrl of their `<Enqueue>`. */
  queue: { name: string; sid: string; action: string; waitUrl: string } | null;
  holdFetches: number;
  patienceMs: number;
  holdTimer: NodeJS.Timeout | null;
  patienceTimer: NodeJS.Timeout | null;
  /** The agent's leg they were bridged to. */
  agentLeg: string | null;
  outcome: CallerOutcome | null;
  lostReason: string | null;
}

/** One leg created through the Calls API (an agent's phone). */
interface Leg {
  sid: string;
  to: string;
  from: string;
  key: string;
  statusCallback: string | null;
  events: Set<string>;
  twiml: string;
  status: string;
  sequence: number;
  ringTimer: NodeJS.Timeout | null;
  talkTimer: NodeJS.Timeout | null;
  /** Waiting in `<Dial><Queue>` for a caller of this queue name, and its `<Queue url>`. */
  waitingFor: string | null;
  queueUrl: string;
  caller: Caller | null;
  /** The leg's status callbacks, one after the other. */
  chain: Promise<void>;
}

/** One element of a TwiML document. */
interface TwimlNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: TwimlNode[];
}

const FINAL = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);
const RINGING = new Set(['queued', 'initiated', 'ringing']);

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, parseAttributeValue: false, trimValues: true });

function toNodes(list: Array<Record<string, unknown>>): TwimlNode[] {
  const out: TwimlNode[] = [];
  for (const e of list) {
    const name = Object.keys(e).find((k) => k !== ':@' && k !== '#text');
    if (name === undefined) continue;
    const children = (e[name] ?? []) as Array<Record<string, unknown>>;
    const text = children
      .filter((c) => '#text' in c)
      .map((c) => String(c['#text']))
      .join('');
    out.push({ name, attrs: (e[':@'] ?? {}) as Record<string, string>, text, children: toNodes(children) });
  }
  return out;
}

/** The verbs under `<Response>`; throws when the text is not a TwiML document. */
function parseTwiml(xml: string): TwimlNode[] {
  const doc = parser.parse(xml) as Array<Record<string, unknown>>;
  const response = doc.find((e) => 'Response' in e);
  if (response === undefined) throw new Error(`not a TwiML document: ${xml.slice(0, 120)}`);
  return toNodes(response['Response'] as Array<Record<string, unknown>>);
}

/** Whether a document says sorry or refuses the call (the server's apology, "not in service", a canceled task's goodbye). */
function apologizes(nodes: readonly TwimlNode[]): boolean {
  return nodes.some((n) => (n.name === 'Say' && /we are sorry|not in service/i.test(n.text)) || apologizes(n.children));
}

const hex32 = (n: number): string => n.toString(16).padStart(32, '0');

/** The simulated carrier (see the module comment). Start it with {@link Carrier.listen}, then set {@link Carrier.serverBase}. */
export class Carrier {
  /** Where the Calls API listens (`http://127.0.0.1:PORT`), once listening. */
  apiBase = '';
  /** Our server's base URL: callers dial `${serverBase}/voice/incoming`, their status callbacks go to `/voice/status`. */
  serverBase = '';
  readonly callers = new Map<string, Caller>();
  /** Answer latencies by kind, milliseconds. */
  readonly latencies: Record<AnswerKind, number[]> = { incoming: [], gather: [], hold: [], enqueue: [], bridged: [], status: [] };
  /** Callers up now (from the incoming webhook to their end), and the most at once. */
  concurrent = 0;
  concurrentPeak = 0;
  /** Calls API requests by what they were. */
  readonly api = { created: 0, canceled: 0, completed: 0, unknown: 0, refused: 0 };
  /** Agent legs the server hung up after they were answered without a caller to take (the caller had left). */
  legsWithoutCaller = 0;
  /** The first failures, for the report. */
  readonly errors: string[] = [];
  private readonly o: CarrierOptions;
  private readonly random: () => number;
  private readonly legs = new Map<string, Leg>();
  /** Queue name → the caller waiting in it (one caller per queue: its name is the task SID). */
  private readonly queues = new Map<string, Caller>();
  /** Queue name → the agent leg waiting in `<Dial><Queue>` for it. */
  private readonly dialWaiters = new Map<string, Leg>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly server = http.createServer((req, res) => this.serveApi(req, res));
  private counter = 0;
  private queueCounter = 0;

  constructor(options: CarrierOptions) {
    this.o = options;
    this.random = options.random ?? Math.random;
  }

  /** Listens on a free port of 127.0.0.1. */
  async listen(): Promise<void> {
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.apiBase = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Stops the Calls API and the timers of calls still up. */
  async close(): Promise<void> {
    for (const c of this.callers.values()) this.clearTimers(c);
    for (const l of this.legs.values()) {
      if (l.ringTimer !== null) clearTimeout(l.ringTimer);
      if (l.talkTimer !== null) clearTimeout(l.talkTimer);
    }
    this.agent.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Callers by phase right now. */
  phases(): Record<CallerPhase, number> {
    const out: Record<CallerPhase, number> = { ivr: 0, queued: 0, bridged: 0, ended: 0 };
    for (const c of this.callers.values()) out[c.phase] += 1;
    return out;
  }

  /** A new caller dials the center (resolves once their IVR is over; the rest runs on timers). */
  async placeCall(): Promise<void> {
    const t = this.o.timing;
    const r = this.random();
    const digit = r < t.silenceRate ? null : this.random() < t.hindiRate ? '1' : '2';
    const caller: Caller = {
      sid: this.nextSid('CA'),
      from: `+1415${String(5_000_000 + this.callers.size).padStart(7, '0')}`,
      digit,
      phase: 'ivr',
      status: 'ringing',
      startedAt: performance.now(),
      enqueuedAt: 0,
      endedAt: 0,
      queue: null,
      holdFetches: 0,
      patienceMs: this.between(t.patienceMs),
      holdTimer: null,
      patienceTimer: null,
      agentLeg: null,
      outcome: null,
      lostReason: null,
    };
    this.callers.set(caller.sid, caller);
    this.concurrent += 1;
    if (this.concurrent > this.concurrentPeak) this.concurrentPeak = this.concurrent;
    const url = `${this.serverBase}/voice/incoming`;
    const xml = await this.fetchTwiml(caller, 'incoming', url, this.callerParams(caller));
    if (xml === null) return;
    caller.status = 'in-progress';
    await this.runCallDocument(caller, xml);
  }

  /**
   * Marks a caller lost (once). A call still up ends, as Twilio ends it, with its final status
   * callback (best effort: the server learns the caller is gone).
   */
  lose(caller: Caller, reason: string): void {
    if (caller.outcome === 'lost') return;
    const wasUp = caller.phase !== 'ended';
    this.end(caller);
    caller.outcome = 'lost';
    caller.lostReason = reason;
    if (this.errors.length < 20) this.errors.push(`${caller.sid}: ${reason}`);
    if (wasUp) {
      caller.status = 'completed';
      void this.postCallerStatus(caller);
    }
  }

  // ───────────────────────────── callers ─────────────────────────────

  private callerParams(c: Caller): Record<string, string> {
    return {
      AccountSid: this.o.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: c.sid,
      CallStatus: c.status,
      Called: this.o.centerNumber,
      Caller: c.from,
      Direction: 'inbound',
      From: c.from,
      To: this.o.centerNumber,
      FromCity: 'SAN FRANCISCO',
      FromState: 'CA',
      FromZip: '94103',
      FromCountry: 'US',
      ToCity: 'OAKLAND',
      ToState: 'CA',
      ToZip: '94612',
      ToCountry: 'US',
    };
  }

  /** Follows the caller's own document (the incoming call's answer, a gather's answer) until they wait or the call ends. */
  private async runCallDocument(c: Caller, xml: string): Promise<void> {
    let nodes: TwimlNode[];
    try {
      nodes = parseTwiml(xml);
    } catch (error) {
      this.lose(c, (error as Error).message);
      return;
    }
    if (apologizes(nodes)) {
      this.lose(c, `apology: ${xml.slice(0, 200)}`);
      return;
    }
    for (const node of nodes) {
      if (c.phase === 'ended') return;
      switch (node.name) {
        case 'Say':
        case 'Play':
          await sleep(this.o.timing.sayMs);
          break;
        case 'Pause':
          await sleep(Number(node.attrs['length'] ?? '1') * 1000);
          break;
        case 'Gather': {
          for (let i = 0; i < node.children.length; i++) await sleep(this.o.timing.sayMs);
          const action = node.attrs['action'];
          if (action === undefined) return this.lose(c, '<Gather> without an action');
          let params = this.callerParams(c);
          if (c.digit === null) {
            await sleep(Number(node.attrs['timeout'] ?? '5') * 1000);
            if (node.attrs['actionOnEmptyResult'] !== 'true') continue;
          } else {
            await sleep(this.between(this.o.timing.thinkMs));
            params = { ...params, Digits: c.digit, FinishedOnKey: '' };
          }
          const next = await this.fetchTwiml(c, 'gather', this.resolve(action), params);
          if (next === null) return;
          return this.runCallDocument(c, next);
        }
        case 'Enqueue': {
          const action = node.attrs['action'];
          const waitUrl = node.attrs['waitUrl'];
          if (action === undefined || waitUrl === undefined) return this.lose(c, '<Enqueue> without action or waitUrl');
          this.enqueue(c, node.text, this.resolve(action), this.resolve(waitUrl));
          return;
        }
        case 'Hangup':
          return this.lose(c, 'hung up by the flow before reaching an agent');
        default:
          return this.lose(c, `<${node.name}> is not expected in the seed flow`);
      }
    }
    // The end of the caller's own document hangs the call up, as Twilio does.
    if (c.phase !== 'ended') this.lose(c, 'the TwiML ended without enqueueing the call');
  }

  private enqueue(c: Caller, name: string, action: string, waitUrl: string): void {
    this.queueCounter += 1;
    c.queue = { name, sid: 'QU' + hex32(this.queueCounter), action, waitUrl };
    c.phase = 'queued';
    c.enqueuedAt = performance.now();
    this.queues.set(name, c);
    c.patienceTimer = setTimeout(() => void this.abandon(c), c.patienceMs);
    const waiter = this.dialWaiters.get(name);
    if (waiter !== undefined) {
      this.dialWaiters.delete(name);
      waiter.waitingFor = null;
      void this.bridge(waiter, c, waiter.queueUrl);
      return;
    }
    void this.hold(c);
  }

  /** Requests the waitUrl and "plays" its answer; again when it has played, while the caller holds. */
  private async hold(c: Caller): Promise<void> {
    c.holdTimer = null;
    const q = c.queue;
    if (c.phase !== 'queued' || q === null) return;
    c.holdFetches += 1;
    const extra = {
      QueueSid: q.sid,
      QueuePosition: '1',
      QueueTime: String(Math.floor((performance.now() - c.enqueuedAt) / 1000)),
      AvgQueueTime: '0',
      CurrentQueueSize: '1',
      MaxQueueSize: '1000',
    };
    const xml = await this.fetchTwiml(c, 'hold', q.waitUrl, { ...this.callerParams(c), ...extra });
    if (xml === null || c.phase !== 'queued') return;
    let nodes: TwimlNode[];
    try {
      nodes = parseTwiml(xml);
    } catch (error) {
      return this.lose(c, (error as Error).message);
    }
    if (apologizes(nodes)) return this.lose(c, `apology while holding: ${xml.slice(0, 200)}`);
    let ms = 0;
    for (const node of nodes) {
      if (node.name === 'Say') ms += this.o.timing.sayMs;
      else if (node.name === 'Play') ms += this.o.timing.holdRefetchMs;
      else if (node.name === 'Pause') ms += Number(node.attrs['length'] ?? '1') * 1000;
      else return this.lose(c, `<${node.name}> while holding is not expected in the seed flow`);
    }
    c.holdTimer = setTimeout(() => void this.hold(c), Math.max(ms, 100));
  }

  /** Patience ran out: the caller hangs up in the queue. */
  private async abandon(c: Caller): Promise<void> {
    c.patienceTimer = null;
    const q = c.queue;
    if (c.phase !== 'queued' || q === null) return;
    this.queues.delete(q.name);
    this.end(c);
    c.status = 'completed';
    const params = { ...this.callerParams(c), QueueResult: 'hangup', QueueSid: q.sid, QueueTime: String(Math.floor((performance.now() - c.enqueuedAt) / 1000)) };
    const xml = await this.fetchTwiml(c, 'enqueue', q.action, params);
    if (xml === null) return;
    if (apologizes(safeParse(xml))) return this.lose(c, `apology after hanging up: ${xml.slice(0, 200)}`);
    if (!(await this.postCallerStatus(c))) return;
    if (c.outcome === null) c.outcome = 'abandoned';
  }

  /** The caller's final status callback (`/voice/status` of the number); false when it failed (the caller is lost). */
  private async postCallerStatus(c: Caller): Promise<boolean> {
    const params = { ...this.callerParams(c), CallbackSource: 'call-progress-events', SequenceNumber: '0', Timestamp: new Date().toUTCString(), CallDuration: String(Math.round((c.endedAt - c.startedAt) / 1000)) };
    const r = await this.webhook('status', `${this.serverBase}/voice/status`, params);
    if (r.error !== null) {
      this.lose(c, `status callback: ${r.error}`);
      return false;
    }
    return true;
  }

  /** The caller's call is over on the network (not yet its outcome). */
  private end(c: Caller): void {
    if (c.phase === 'ended') return;
    this.clearTimers(c);
    if (c.queue !== null && this.queues.get(c.queue.name) === c) this.queues.delete(c.queue.name);
    c.phase = 'ended';
    c.endedAt = performance.now();
    this.concurrent -= 1;
  }

  private clearTimers(c: Caller): void {
    if (c.holdTimer !== null) clearTimeout(c.holdTimer);
    if (c.patienceTimer !== null) clearTimeout(c.patienceTimer);
    c.holdTimer = null;
    c.patienceTimer = null;
  }

  // ───────────────────────────── agent legs ─────────────────────────────

  private async ringAndAnswer(leg: Leg): Promise<void> {
    leg.status = 'initiated';
    this.postLegStatus(leg, 'initiated');
    leg.status = 'ringing';
    this.postLegStatus(leg, 'ringing');
    await new Promise<void>((resolve) => {
      leg.ringTimer = setTimeout(resolve, this.between(this.o.timing.ringMs));
    });
    leg.ringTimer = null;
    if (leg.status !== 'ringing') return;
    leg.status = 'in-progress';
    this.postLegStatus(leg, 'answered');
    await leg.chain;
    if (leg.status !== 'in-progress') return;
    let dial: TwimlNode | undefined;
    try {
      dial = parseTwiml(leg.twiml).find((n) => n.name === 'Dial');
    } catch (error) {
      this.failLeg(leg, (error as Error).message);
      return;
    }
    const queue = dial?.children.find((n) => n.name === 'Queue');
    if (queue === undefined) {
      this.failLeg(leg, `the agent's TwiML is not <Dial><Queue>: ${leg.twiml.slice(0, 200)}`);
      return;
    }
    const caller = this.queues.get(queue.text);
    if (caller === undefined || caller.phase !== 'queued') {
      // Like Twilio's <Queue> on an empty queue: wait for someone (the server hangs this leg up).
      leg.waitingFor = queue.text;
      leg.queueUrl = queue.attrs['url'] ?? '';
      this.dialWaiters.set(queue.text, leg);
      return;
    }
    await this.bridge(leg, caller, queue.attrs['url'] ?? '');
  }

  /** The agent's leg takes the caller: the `<Queue url>` request for the caller, then they talk. */
  private async bridge(leg: Leg, c: Caller, url: string): Promise<void> {
    const q = c.queue;
    if (q === null) return;
    this.clearTimers(c);
    this.queues.delete(q.name);
    c.phase = 'bridged';
    c.agentLeg = leg.sid;
    leg.caller = c;
    if (url !== '') {
      const params = { ...this.callerParams(c), QueueSid: q.sid, QueueTime: String(Math.floor((performance.now() - c.enqueuedAt) / 1000)), DequeingCallSid: leg.sid };
      const xml = await this.fetchTwiml(c, 'bridged', this.resolve(url), params);
      if (xml === null) return;
    }
    leg.talkTimer = setTimeout(() => void this.agentHangsUp(leg), this.between(this.o.timing.talkMs));
  }

  /** The talk is over: the agent hangs up; the caller's `<Enqueue action>` (bridged) and final status follow. */
  private async agentHangsUp(leg: Leg): Promise<void> {
    leg.talkTimer = null;
    const c = leg.caller;
    if (leg.status !== 'in-progress' || c === null) return;
    leg.status = 'completed';
    this.postLegStatus(leg, 'completed');
    await leg.chain;
    if (c.phase === 'bridged' && c.queue !== null) {
      const params = { ...this.callerParams(c), QueueResult: 'bridged', QueueSid: c.queue.sid, QueueTime: '0' };
      const xml = await this.fetchTwiml(c, 'enqueue', c.queue.action, params);
      if (xml !== null) {
        const nodes = safeParse(xml);
        if (apologizes(nodes) || !nodes.some((n) => n.name === 'Hangup')) {
          this.lose(c, `the bridged caller's <Enqueue action> was not answered <Hangup/>: ${xml.slice(0, 200)}`);
        } else {
          this.end(c);
          c.status = 'completed';
          if ((await this.postCallerStatus(c)) && c.outcome === null) c.outcome = 'bridged';
        }
      }
    }
    this.o.onTalkEnded?.(leg.key);
  }

  /** Posts a leg's status callback after the ones before it (when its events ask for it). */
  private postLegStatus(leg: Leg, event: string): void {
    if (leg.statusCallback === null || !leg.events.has(event)) return;
    const url = leg.statusCallback;
    leg.sequence += 1;
    const params: Record<string, string> = {
      AccountSid: this.o.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: leg.sid,
      CallStatus: leg.status,
      Called: leg.to,
      Caller: leg.from,
      Direction: 'outbound-api',
      From: leg.from,
      To: leg.to,
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(leg.sequence - 1),
      Timestamp: new Date().toUTCString(),
    };
    if (FINAL.has(leg.status)) params['CallDuration'] = '0';
    leg.chain = leg.chain.then(async () => {
      const r = await this.webhook('status', url, params);
      if (r.error !== null) this.failLeg(leg, `status callback ${event}: ${r.error}`);
    });
  }

  /** Something went wrong on an agent's leg: its caller (if any) is lost. */
  private failLeg(leg: Leg, reason: string): void {
    if (this.errors.length < 20) this.errors.push(`${leg.sid} (${leg.key}): ${reason}`);
    if (leg.caller !== null) this.lose(leg.caller, `agent leg: ${reason}`);
  }

  // ───────────────────────────── the Calls API ─────────────────────────────

  private serveApi(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const path = (req.url ?? '').split('?')[0] ?? '';
      const expected = 'Basic ' + Buffer.from(`${this.o.accountSid}:${this.o.authToken}`).toString('base64');
      const prefix = `/2010-04-01/Accounts/${this.o.accountSid}/Calls`;
      if (req.headers.authorization !== expected) return this.apiError(res, 401, 20003, 'Authenticate');
      if (req.method === 'POST' && path === `${prefix}.json`) return this.createCall(form, res, at);
      const m = req.method === 'POST' && path.startsWith(`${prefix}/`) ? /^(CA[0-9a-f]{32})\.json$/.exec(path.slice(prefix.length + 1)) : null;
      if (m !== null && m[1] !== undefined) return this.updateCall(m[1], form, res);
      this.api.unknown += 1;
      return this.apiError(res, 404, 20404, `the bench carrier does not serve ${req.method} ${path}`);
    });
  }

  private createCall(form: URLSearchParams, res: http.ServerResponse, at: number): void {
    const to = form.get('To') ?? '';
    const from = form.get('From') ?? '';
    const twiml = form.get('Twiml') ?? '';
    if (to === '' || from === '' || twiml === '') {
      this.api.refused += 1;
      return this.apiError(res, 400, 21201, 'To, From and Twiml are required by the bench carrier');
    }
    const statusCallback = form.get('StatusCallback');
    const key = statusCallback === null ? '' : (new URL(statusCallback).searchParams.get('key') ?? '');
    this.api.created += 1;
    this.o.onLegRequested?.(key, at);
    const events = new Set(form.getAll('StatusCallbackEvent').flatMap((e) => e.split(/[ ,]+/).filter((x) => x !== '')));
    const leg: Leg = {
      sid: this.nextSid('CA'),
      to,
      from,
      key,
      statusCallback,
      events: events.size === 0 ? new Set(['completed']) : events,
      twiml,
      status: 'queued',
      sequence: 0,
      ringTimer: null,
      talkTimer: null,
      waitingFor: null,
      queueUrl: '',
      caller: null,
      chain: Promise.resolve(),
    };
    this.legs.set(leg.sid, leg);
    this.sendJson(res, 201, this.callJson(leg.sid, leg.from, leg.to, 'queued'));
    setImmediate(() => void this.ringAndAnswer(leg));
  }

  private updateCall(sid: string, form: URLSearchParams, res: http.ServerResponse): void {
    const status = form.get('Status');
    const leg = this.legs.get(sid);
    const caller = this.callers.get(sid);
    if (status !== 'canceled' && status !== 'completed') {
      this.api.refused += 1;
      return this.apiError(res, 400, 21218, `the bench carrier only ends calls (Status=canceled|completed), got ${String(status)}`);
    }
    if (leg === undefined && caller === undefined) return this.apiError(res, 404, 20404, `The requested resource /Calls/${sid}.json was not found`);
    this.api[status] += 1;
    if (caller !== undefined) {
      // The server hangs a caller up: the seed flow never does.
      this.sendJson(res, 200, this.callJson(sid, caller.from, this.o.centerNumber, caller.status));
      if (caller.phase !== 'ended') this.lose(caller, `hung up by the server through the Calls API (Status=${status})`);
      return;
    }
    const l = leg as Leg;
    this.sendJson(res, 200, this.callJson(l.sid, l.from, l.to, l.status));
    if (FINAL.has(l.status)) return;
    if (RINGING.has(l.status)) {
      if (l.ringTimer !== null) clearTimeout(l.ringTimer);
      l.ringTimer = null;
      l.status = 'canceled';
      this.postLegStatus(l, 'completed');
      return;
    }
    if (status !== 'completed') return; // canceled does not end an answered call
    if (l.waitingFor !== null) {
      this.dialWaiters.delete(l.waitingFor);
      l.waitingFor = null;
      this.legsWithoutCaller += 1;
      l.status = 'completed';
      this.postLegStatus(l, 'completed');
      return;
    }
    // Hung up while talking: the server never does that in this flow.
    if (l.talkTimer !== null) clearTimeout(l.talkTimer);
    this.failLeg(l, 'hung up by the server while talking');
    l.status = 'completed';
    this.postLegStatus(l, 'completed');
  }

  private callJson(sid: string, from: string, to: string, status: string): Record<string, unknown> {
    const now = new Date().toUTCString();
    return {
      sid,
      account_sid: this.o.accountSid,
      to,
      to_formatted: to,
      from,
      from_formatted: from,
      status,
      direction: 'outbound-api',
      api_version: '2010-04-01',
      date_created: now,
      date_updated: now,
      parent_call_sid: null,
      phone_number_sid: null,
      start_time: null,
      end_time: null,
      duration: null,
      price: null,
      price_unit: 'USD',
      answered_by: null,
      forwarded_from: null,
      group_sid: null,
      caller_name: null,
      queue_time: '0',
      trunk_sid: null,
      uri: `/2010-04-01/Accounts/${this.o.accountSid}/Calls/${sid}.json`,
      subresource_uris: {},
    };
  }

  private apiError(res: http.ServerResponse, status: number, code: number, message: string): void {
    this.sendJson(res, status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  }

  // ───────────────────────────── webhooks ─────────────────────────────

  /** A caller-facing webhook whose TwiML answer is timed; null (and the caller lost) when it failed. */
  private async fetchTwiml(c: Caller, kind: AnswerKind, url: string, params: Record<string, string>): Promise<string | null> {
    const r = await this.webhook(kind, url, params);
    if (r.error !== null) {
      this.lose(c, `${kind}: ${r.error}`);
      return null;
    }
    return r.body;
  }

  /** POSTs a signed webhook over the keep-alive agent and times it; `error` unless a 2xx answer came. */
  private webhook(kind: AnswerKind, url: string, params: Record<string, string>): Promise<{ body: string; error: string | null }> {
    const body = new URLSearchParams(params).toString();
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'content-length': Buffer.byteLength(body),
      'x-twilio-signature': twilioSignature(this.o.authToken, url, params),
    };
    const t0 = performance.now();
    return new Promise((resolve) => {
      const req = http.request(url, { method: 'POST', agent: this.agent, headers, timeout: 30_000 });
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (error) => resolve({ body: '', error: `POST ${url}: ${error.message}` }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => resolve({ body: '', error: `POST ${url}: ${error.message}` }));
        res.on('end', () => {
          this.latencies[kind].push(performance.now() - t0);
          const text = Buffer.concat(chunks).toString();
          const status = res.statusCode ?? 0;
          resolve(status >= 200 && status < 300 ? { body: text, error: null } : { body: text, error: `POST ${url} was answered ${status}: ${text.slice(0, 200)}` });
        });
      });
      req.end(body);
    });
  }

  private resolve(url: string): string {
    return new URL(url, this.serverBase).toString();
  }

  private between([min, max]: [number, number]): number {
    return min + this.random() * (max - min);
  }

  private nextSid(prefix: string): string {
    this.counter += 1;
    return prefix + hex32(this.counter);
  }
}

function safeParse(xml: string): TwimlNode[] {
  try {
    return parseTwiml(xml);
  } catch {
    return [];
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
