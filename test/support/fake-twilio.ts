/**
 * A fake Twilio Programmable Voice on 127.0.0.1, for tests of the Twilio voice adapter and the voice
 * routes. It plays both of Twilio's parts:
 *
 * - **REST API** (what the official `twilio` client talks to; {@link FakeTwilio.client} points
 *   `client.api.baseUrl` here): Calls create/update, Queue Member update, Conferences list
 *   (`FriendlyName`, `Status`), Conference Participants create, update (`Hold`, `HoldUrl`, `Muted`,
 *   `EndConferenceOnExit`: a participant put on hold hears `play:<HoldUrl>`) and delete (an API
 *   participant's call ends; a `<Dial><Conference>` one goes on with the verbs after its `<Dial>`),
 *   under `/2010-04-01/Accounts/{AC}/…`; a participant's path takes the conference's `CF` SID only. Every request is recorded in order
 *   ({@link FakeTwilio.requests}) with its form parameters (a repeated name, such as
 *   `StatusCallbackEvent`, as an array). Basic auth must be the fake's account SID and auth token.
 * - **The network** towards our webhooks: it POSTs Twilio's webhooks, signed with
 *   `X-Twilio-Signature` (computed by the `twilio` package's own `getExpectedTwilioSignature`),
 *   reads the TwiML answers (fast-xml-parser) and follows them: `Say`/`Play`/`Pause` are heard at
 *   once (recorded in {@link FakeCall.heard}); `Gather` waits for {@link FakeTwilio.press} or
 *   {@link FakeTwilio.silence}; `Enqueue` puts the call in the named queue (a `QU` SID per name) and
 *   fetches its `waitUrl` once (again on {@link FakeTwilio.holdAgain}); `Dial` takes a `Queue`
 *   (bridges the first caller waiting there, requesting the `<Queue url>` for them first) or a
 *   `Conference`; `Redirect`, `Leave`, `Hangup`. Anything else throws. The end of a document
 *   hangs the call up, as Twilio does.
 *
 * Event-driven, no timers: nothing happens until the test drives it. Each driver method
 * ({@link FakeTwilio.placeInboundCall}, `press`, `silence`, `holdAgain`, `ring`, `answer`,
 * `noAnswer`, `busy`, `hangup`) resolves once every webhook round trip it caused is done. What an
 * API request sets in motion on a call (a redirect, a hang-up, a member leaving its queue) is
 * queued when the request is answered — as Twilio answers at once and acts just after — and runs
 * at the next {@link FakeTwilio.settle}, which every driver method calls before and after its own
 * step. Driver methods must be awaited one at a time (a second one while one runs throws).
 *
 * Behaviour where Twilio's documentation is silent or unverified (our choices): outbound legs post
 * `initiated` only when they start ringing ({@link FakeTwilio.ring}), not at creation; a queue
 * member moved out by the Queue Member API or a redirect leaves without its `<Enqueue action>`
 * being requested; a conference's status callback is the first one any participant brings; a
 * `<Dial><Queue>` on an empty queue waits until someone is enqueued there (Twilio's `<Queue>` page).
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { XMLParser } from 'fast-xml-parser';
import twilio from 'twilio';

type TwilioClient = ReturnType<typeof twilio>;

/** One REST request the fake received. */
export interface ApiRequest {
  method: string;
  /** The path, e.g. `/2010-04-01/Accounts/AC…/Calls.json`. */
  path: string;
  /** Form parameters; a repeated name gives an array in order. */
  params: Record<string, string | string[]>;
}

/** One webhook the fake sent (or answered itself, see {@link FakeTwilio.serveTwiml}). */
export interface WebhookRecord {
  url: string;
  params: Record<string, string>;
  status: number;
  body: string;
}

/** A call status as Twilio names it. */
export type FakeCallStatus = 'queued' | 'initiated' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

const FINAL = new Set<FakeCallStatus>(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

/** One element of a TwiML document (text: its own text, entities decoded). */
export interface TwimlNode {
  name: string;
  attrs: Record<string, string>;
  text: string;
  children: TwimlNode[];
}

interface GatherWait {
  kind: 'gather';
  action: string;
  method: string;
  actionOnEmptyResult: boolean;
  rest: TwimlNode[];
  docUrl: string | null;
}

interface QueueWait {
  kind: 'queue';
  name: string;
  queueSid: string;
  action: string | null;
  method: string;
  waitUrl: string | null;
  waitMethod: string;
  rest: TwimlNode[];
  docUrl: string | null;
  enqueuedAt: number;
  /** A `<Gather>` from the waitUrl's TwiML, waiting for a key. */
  holdGather: GatherWait | null;
}

/** Bridged to another call: the caller's side keeps its `<Enqueue>` (action), the worker's its `<Dial>` (rest). */
interface BridgeWait {
  kind: 'bridged';
  with: string;
  enqueue: QueueWait | null;
  rest: TwimlNode[];
  docUrl: string | null;
}

interface DialQueueWait {
  kind: 'dial-queue';
  name: string;
  url: string | null;
  method: string;
  rest: TwimlNode[];
  docUrl: string | null;
}

interface ConferenceWait {
  kind: 'conference';
  name: string;
  rest: TwimlNode[];
  docUrl: string | null;
}

type Wait = GatherWait | QueueWait | BridgeWait | DialQueueWait | ConferenceWait;

/** How a call takes part in a conference. */
interface ParticipantOptions {
  label: string | null;
  startConferenceOnEnter: boolean;
  endConferenceOnExit: boolean;
  statusCallback: string | null;
  statusCallbackEvents: string[];
  /** Set by the Participants API's update (false when it joins). */
  hold?: boolean;
  muted?: boolean;
}

/** A call the fake knows (tests read it; the fake alone changes it). */
export interface FakeCall {
  sid: string;
  direction: 'inbound' | 'outbound-api';
  from: string;
  to: string;
  status: FakeCallStatus;
  /** Every TwiML document the call received, in order (raw XML). */
  documents: string[];
  /** What the call heard, in order: `say:<text>`, `play:<url>`. */
  heard: string[];
  /** The name of the queue it waits in, or null. */
  queue: string | null;
  /** The call it is bridged to (`<Dial><Queue>`), or null. */
  bridgedWith: string | null;
  /** The name of the conference it is in, or null. */
  conference: string | null;
  /** Status callback URL and the events asked for (`initiated`, `ringing`, `answered`, `completed`). */
  statusCallback: string | null;
  statusCallbackEvents: string[];
  /** An outbound leg's TwiML or URL to run once answered. */
  twiml: string | null;
  url: string | null;
  method: string;
  /** `Timeout` of an outbound leg, seconds (recorded only). */
  timeout: number | null;
  /** Set for a leg created by the Participants API: the conference it joins once answered. */
  participant: (ParticipantOptions & { conference: string }) | null;
  /** Extra parameters of every webhook about this call (an inbound call's FromCity …). */
  extra: Record<string, string>;
  wait: Wait | null;
  sequence: number;
}

/** A Twilio queue (`<Enqueue>` name → `QU` SID). */
export interface FakeQueue {
  sid: string;
  name: string;
  /** CallSids waiting, first in line first. */
  members: string[];
}

/** A conference room. */
export interface FakeConference {
  sid: string;
  name: string;
  status: 'init' | 'in-progress' | 'completed';
  /** CallSid → how it takes part. */
  participants: Map<string, ParticipantOptions>;
  statusCallback: string | null;
  statusCallbackEvents: string[];
  sequence: number;
}

/** What {@link FakeTwilio.placeInboundCall} takes. */
export interface InboundCallOptions {
  from: string;
  to: string;
  /** The number's Voice URL (our `/voice/incoming`). */
  voiceUrl: string;
  /** The number's status callback URL (its final status is posted there), if any. */
  statusCallbackUrl?: string;
  /** Parameters added to (or replacing) the standard ones of every webhook of this call. */
  parameters?: Record<string, string>;
}

/** The fake's options. */
export interface FakeTwilioOptions {
  /** Signs the webhooks and checks the API's Basic auth. */
  authToken: string;
  /** Default `AC` followed by 32 `1`s. */
  accountSid?: string;
}

const API = '/2010-04-01/Accounts/:ac';

function hex32(n: number): string {
  return n.toString(16).padStart(32, '0');
}

const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false, parseAttributeValue: false, trimValues: true });

/** The verbs under `<Response>` of a TwiML document; throws when it is not one. */
export function parseTwiml(xml: string): TwimlNode[] {
  const doc = parser.parse(xml) as Array<Record<string, unknown>>;
  const response = doc.find((e) => 'Response' in e);
  if (response === undefined) throw new Error(`fake Twilio: not a TwiML document: ${xml.slice(0, 200)}`);
  return toNodes(response['Response'] as Array<Record<string, unknown>>);
}

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

function formOf(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function one(params: Record<string, string | string[]>, name: string): string | undefined {
  const v = params[name];
  return Array.isArray(v) ? v[0] : v;
}

function list(params: Record<string, string | string[]>, name: string): string[] {
  const v = params[name];
  return v === undefined ? [] : Array.isArray(v) ? v : v.split(/[ ,]+/).filter((x) => x !== '');
}

/**
 * The fake (see the module comment). Start it with {@link startFakeTwilio}.
 */
export class FakeTwilio {
  readonly accountSid: string;
  readonly authToken: string;
  /** Where the fake's REST API listens (`http://127.0.0.1:PORT`). */
  baseUrl = '';
  /** REST requests, in order. */
  readonly requests: ApiRequest[] = [];
  /** Webhooks sent, in order. */
  readonly webhooks: WebhookRecord[] = [];
  readonly calls = new Map<string, FakeCall>();
  readonly queues = new Map<string, FakeQueue>();
  /** Conferences by name (a room that ended is replaced by a new one of the same name). */
  readonly conferences = new Map<string, FakeConference>();
  private readonly app = Fastify();
  private readonly served = new Map<string, string>();
  private readonly jobs: Array<() => Promise<void>> = [];
  private readonly counters = new Map<string, number>();
  private driving = false;

  constructor(options: FakeTwilioOptions) {
    this.authToken = options.authToken;
    this.accountSid = options.accountSid ?? 'AC' + '1'.repeat(32);
  }

  /** Listens on a free port of 127.0.0.1 (called by {@link startFakeTwilio}). */
  async listen(): Promise<void> {
    const app = this.app;
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, formOf(body as string)));
    app.addHook('preHandler', async (req, reply) => {
      this.requests.push({ method: req.method, path: req.url.split('?')[0] ?? req.url, params: (req.body ?? req.query ?? {}) as Record<string, string | string[]> });
      const expected = 'Basic ' + Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64');
      if (req.headers.authorization !== expected) return this.error(reply, 401, 20003, 'Authenticate');
      if ((req.params as { ac?: string }).ac !== this.accountSid) return this.error(reply, 404, 20404, 'The requested resource was not found');
    });
    app.post(`${API}/Calls.json`, (req, reply) => this.createCall(req, reply));
    app.post(`${API}/Calls/:file`, (req, reply) => this.updateCall(req, reply));
    app.post(`${API}/Queues/:qu/Members/:file`, (req, reply) => this.updateMember(req, reply));
    app.post(`${API}/Conferences/:cf/Participants.json`, (req, reply) => this.createParticipant(req, reply));
    app.post(`${API}/Conferences/:cf/Participants/:file`, (req, reply) => this.updateParticipant(req, reply));
    app.delete(`${API}/Conferences/:cf/Participants/:file`, (req, reply) => this.removeParticipant(req, reply));
    app.get(`${API}/Conferences.json`, (req, reply) => this.listConferences(req, reply));
    app.setNotFoundHandler((req, reply) => {
      return this.error(reply, 404, 20404, `The fake does not serve ${req.method} ${req.url}`);
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    this.baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  /** Stops the REST API. */
  async close(): Promise<void> {
    await this.app.close();
  }

  /** A `twilio` client for the fake's account whose `api` domain (Calls, Queues, Conferences) is this fake. */
  client(): TwilioClient {
    const client = twilio(this.accountSid, this.authToken);
    client.api.baseUrl = this.baseUrl;
    return client;
  }

  /** Answers requests for `url` with `twiml` instead of fetching it (for a `call` leg's URL, a redirect target). */
  serveTwiml(url: string, twiml: string): void {
    this.served.set(url, twiml);
  }

  /** The call of `sid`; throws Error for an unknown one. */
  call(sid: string): FakeCall {
    const c = this.calls.get(sid);
    if (c === undefined) throw new Error(`fake Twilio: no call ${sid}`);
    return c;
  }

  /** Calls created through the REST API (Calls create, Participants create), in order. */
  outboundCalls(): FakeCall[] {
    return [...this.calls.values()].filter((c) => c.direction === 'outbound-api');
  }

  /** The REST requests whose path ends with `suffix` (e.g. `/Calls.json`). */
  requestsTo(suffix: string): ApiRequest[] {
    return this.requests.filter((r) => r.path.endsWith(suffix));
  }

  /** The webhooks sent to URLs whose path is `path` (e.g. `/voice/status`). */
  webhooksTo(path: string): WebhookRecord[] {
    return this.webhooks.filter((w) => new URL(w.url).pathname === path);
  }

  /**
   * A call comes in: POSTs the signed incoming-call webhook to `voiceUrl` with Twilio's standard
   * parameters (`CallSid, AccountSid, From, To, CallStatus=ringing, Direction=inbound,
   * ApiVersion, Caller, Called, FromCity …`), then follows the TwiML until the call waits (a
   * gather, a queue) or ends. Resolves with the new `CA` SID.
   */
  async placeInboundCall(options: InboundCallOptions): Promise<string> {
    return this.drive(async () => {
      const call = this.newCall('inbound', options.from, options.to);
      call.statusCallback = options.statusCallbackUrl ?? null;
      call.statusCallbackEvents = ['completed'];
      call.extra = {
        FromCity: 'SAN FRANCISCO',
        FromState: 'CA',
        FromZip: '94103',
        FromCountry: 'US',
        ToCity: 'OAKLAND',
        ToState: 'CA',
        ToZip: '94612',
        ToCountry: 'US',
        CallerCity: 'SAN FRANCISCO',
        CallerState: 'CA',
        CallerZip: '94103',
        CallerCountry: 'US',
        CalledCity: 'OAKLAND',
        CalledState: 'CA',
        CalledZip: '94612',
        CalledCountry: 'US',
        ...options.parameters,
      };
      call.status = 'ringing';
      const xml = await this.webhook(options.voiceUrl, 'POST', this.paramsOf(call));
      call.status = 'in-progress';
      await this.runDocument(call, xml, options.voiceUrl, 'call');
      return call.sid;
    });
  }

  /**
   * The caller presses `digits` at the pending `<Gather>` (the call's own, or one from its
   * `waitUrl` while it holds): POSTs the gather's action with `Digits` and follows the answer.
   * Throws when no gather is pending.
   */
  async press(callSid: string, digits: string): Promise<void> {
    await this.drive(() => this.gatherAnswered(callSid, digits));
  }

  /**
   * The caller says nothing until the pending gather times out: with `actionOnEmptyResult="true"`
   * the action is POSTed without `Digits`; without it the call goes on with the verbs after the
   * `<Gather>` (a hold gather is then simply dropped). Throws when no gather is pending.
   */
  async silence(callSid: string): Promise<void> {
    await this.drive(() => this.gatherAnswered(callSid, null));
  }

  /** A holding caller's `waitUrl` TwiML has played out: Twilio fetches the waitUrl again. Throws unless the call waits in a queue. */
  async holdAgain(callSid: string): Promise<void> {
    await this.drive(async () => {
      const call = this.call(callSid);
      if (call.wait?.kind !== 'queue') throw new Error(`fake Twilio: ${callSid} is not in a queue`);
      await this.fetchWait(call, call.wait);
    });
  }

  /** An outbound leg starts ringing: posts `initiated`, then `ringing` (each when asked for). */
  async ring(callSid: string): Promise<void> {
    await this.drive(() => this.ringLeg(this.outbound(callSid)));
  }

  /**
   * The callee answers an outbound leg (rung first if it was not): posts `in-progress`, then runs
   * the leg's TwiML (`Twiml`, or its `Url` fetched) — or, for a Participants API leg, joins its
   * conference (posting the conference's events).
   */
  async answer(callSid: string): Promise<void> {
    await this.drive(async () => {
      const call = this.outbound(callSid);
      if (call.status !== 'queued' && call.status !== 'initiated' && call.status !== 'ringing') throw new Error(`fake Twilio: ${callSid} is ${call.status}, not ringing`);
      await this.ringLeg(call);
      call.status = 'in-progress';
      await this.postStatus(call);
      if (call.participant !== null) await this.joinConference(call, call.participant.conference, call.participant, [], null);
      else if (call.twiml !== null) await this.runDocument(call, call.twiml, null, 'call');
      else if (call.url !== null) await this.fetchAndRun(call, call.url, call.method, 'call');
      else await this.endCall(call, 'completed');
    });
  }

  /** An outbound leg rings out: final status `no-answer`. */
  async noAnswer(callSid: string): Promise<void> {
    await this.drive(async () => {
      const call = this.outbound(callSid);
      await this.ringLeg(call);
      await this.endCall(call, 'no-answer');
    });
  }

  /** An outbound leg's line is busy: final status `busy`. */
  async busy(callSid: string): Promise<void> {
    await this.drive(async () => {
      const call = this.outbound(callSid);
      if (call.status === 'queued') {
        call.status = 'initiated';
        await this.postStatus(call);
      }
      await this.endCall(call, 'busy');
    });
  }

  /**
   * The party on `callSid` hangs up (an answered call): a caller waiting in a queue leaves it
   * (`<Enqueue action>` with `QueueResult=hangup`); a bridge ends on both sides (the caller's
   * action with `QueueResult=bridged`, the worker's `<Dial>` returns); a conference participant
   * leaves. Then the call's final status callback.
   */
  async hangup(callSid: string): Promise<void> {
    await this.drive(async () => {
      const call = this.call(callSid);
      if (call.status !== 'in-progress') throw new Error(`fake Twilio: ${callSid} is ${call.status}: only an answered call hangs up (use noAnswer/busy)`);
      await this.endCall(call, 'completed');
    });
  }

  /** Runs what API requests set in motion (see the module comment), until nothing is left; rethrows the first failure. */
  async settle(): Promise<void> {
    for (let job = this.jobs.shift(); job !== undefined; job = this.jobs.shift()) await job();
  }

  // ───────────────────────────── REST API ─────────────────────────────

  private error(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
    return reply.code(status).send({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  }

  private createCall(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const p = req.body as Record<string, string | string[]>;
    const to = one(p, 'To');
    const from = one(p, 'From');
    if (to === undefined || to === '') return this.error(reply, 400, 21201, "No 'To' number is specified");
    if (from === undefined || from === '') return this.error(reply, 400, 21213, "No 'From' number is specified");
    const twiml = one(p, 'Twiml') ?? null;
    const url = one(p, 'Url') ?? null;
    if (twiml === null && url === null && one(p, 'ApplicationSid') === undefined) return this.error(reply, 400, 21205, 'Url, Twiml or ApplicationSid is required');
    const call = this.newCall('outbound-api', from, to);
    call.status = 'queued';
    call.twiml = twiml;
    call.url = url;
    call.method = one(p, 'Method') ?? 'POST';
    call.timeout = one(p, 'Timeout') === undefined ? null : Number(one(p, 'Timeout'));
    call.statusCallback = one(p, 'StatusCallback') ?? null;
    call.statusCallbackEvents = p['StatusCallbackEvent'] === undefined ? ['completed'] : list(p, 'StatusCallbackEvent');
    return reply.code(201).send(this.callJson(call));
  }

  private updateCall(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const sid = (req.params as { file: string }).file.replace(/\.json$/, '');
    const call = this.calls.get(sid);
    if (call === undefined) return this.error(reply, 404, 20404, `The requested resource /Calls/${sid}.json was not found`);
    const p = req.body as Record<string, string | string[]>;
    const status = one(p, 'Status');
    const url = one(p, 'Url');
    const twiml = one(p, 'Twiml');
    if (status !== undefined) {
      if (status !== 'canceled' && status !== 'completed') return this.error(reply, 400, 21218, `Status must be canceled or completed, not ${status}`);
      const ringing = call.status === 'queued' || call.status === 'initiated' || call.status === 'ringing';
      // canceled ends a call only while it rings; completed ends it in any live state.
      if (!FINAL.has(call.status) && (ringing || status === 'completed')) this.later(() => this.endCall(call, ringing ? 'canceled' : 'completed'));
      return reply.code(200).send(this.callJson(call));
    }
    if (url === undefined && twiml === undefined) return this.error(reply, 400, 20001, 'Url, Twiml or Status is required');
    if (FINAL.has(call.status)) return this.error(reply, 400, 21220, 'Call is not in-progress. Cannot redirect.');
    const method = one(p, 'Method') ?? 'POST';
    if (call.status !== 'in-progress') {
      // Not answered yet: what it runs once answered changes.
      call.url = url ?? null;
      call.twiml = twiml ?? null;
      call.method = method;
    } else {
      this.later(async () => {
        await this.leaveCurrent(call);
        if (twiml !== undefined) await this.runDocument(call, twiml, null, 'call');
        else await this.fetchAndRun(call, url as string, method, 'call');
      });
    }
    return reply.code(200).send(this.callJson(call));
  }

  private updateMember(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const { qu, file } = req.params as { qu: string; file: string };
    const callSid = file.replace(/\.json$/, '');
    const queue = [...this.queues.values()].find((q) => q.sid === qu);
    const target = queue === undefined ? undefined : callSid === 'Front' ? queue.members[0] : queue.members.find((m) => m === callSid);
    if (queue === undefined || target === undefined) return this.error(reply, 404, 20404, `The requested resource /Queues/${qu}/Members/${callSid}.json was not found`);
    const p = req.body as Record<string, string | string[]>;
    const url = one(p, 'Url');
    if (url === undefined || url === '') return this.error(reply, 400, 21205, 'Url is required');
    const call = this.call(target);
    const wait = call.wait as QueueWait;
    const position = queue.members.indexOf(target) + 1;
    this.later(async () => {
      if (call.wait !== wait) return; // it left the queue meanwhile
      await this.leaveCurrent(call);
      await this.fetchAndRun(call, url, one(p, 'Method') ?? 'POST', 'call');
    });
    return reply.code(200).send({
      call_sid: target,
      queue_sid: queue.sid,
      position,
      wait_time: Math.floor((Date.now() - wait.enqueuedAt) / 1000),
      date_enqueued: new Date(wait.enqueuedAt).toUTCString(),
      uri: `/2010-04-01/Accounts/${this.accountSid}/Queues/${queue.sid}/Members/${target}.json`,
    });
  }

  private createParticipant(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const p = req.body as Record<string, string | string[]>;
    const to = one(p, 'To');
    const from = one(p, 'From');
    if (to === undefined || to === '') return this.error(reply, 400, 21201, "No 'To' number is specified");
    if (from === undefined || from === '') return this.error(reply, 400, 21213, "No 'From' number is specified");
    const cf = (req.params as { cf: string }).cf;
    const name = [...this.conferences.values()].find((c) => c.sid === cf)?.name ?? cf;
    const conference = this.conferenceNamed(name);
    if (conference.statusCallback === null && one(p, 'ConferenceStatusCallback') !== undefined) {
      conference.statusCallback = one(p, 'ConferenceStatusCallback') as string;
      conference.statusCallbackEvents = list(p, 'ConferenceStatusCallbackEvent');
    }
    const call = this.newCall('outbound-api', from, to);
    call.status = 'queued';
    call.timeout = one(p, 'Timeout') === undefined ? null : Number(one(p, 'Timeout'));
    call.statusCallback = one(p, 'StatusCallback') ?? null;
    call.statusCallbackEvents = p['StatusCallbackEvent'] === undefined ? ['completed'] : list(p, 'StatusCallbackEvent');
    call.participant = {
      conference: name,
      label: one(p, 'Label') ?? null,
      startConferenceOnEnter: one(p, 'StartConferenceOnEnter') !== 'false',
      endConferenceOnExit: one(p, 'EndConferenceOnExit') === 'true',
      statusCallback: null,
      statusCallbackEvents: [],
    };
    const now = new Date().toUTCString();
    return reply.code(201).send({
      account_sid: this.accountSid,
      call_sid: call.sid,
      conference_sid: conference.sid,
      label: call.participant.label,
      call_sid_to_coach: null,
      coaching: false,
      date_created: now,
      date_updated: now,
      end_conference_on_exit: call.participant.endConferenceOnExit,
      start_conference_on_enter: call.participant.startConferenceOnEnter,
      muted: false,
      hold: false,
      status: 'queued',
      queue_time: '0',
      uri: `/2010-04-01/Accounts/${this.accountSid}/Conferences/${conference.sid}/Participants/${call.sid}.json`,
    });
  }

  /** The conference of the path's `CF` SID and the participant of its `{CallSid}.json`, or an error reply sent. */
  private participantOf(req: FastifyRequest, reply: FastifyReply): { conference: FakeConference; call: FakeCall; options: ParticipantOptions } | null {
    const { cf, file } = req.params as { cf: string; file: string };
    const callSid = file.replace(/\.json$/, '');
    const conference = [...this.conferences.values()].find((c) => c.sid === cf);
    const options = conference?.participants.get(callSid);
    const call = this.calls.get(callSid);
    if (conference === undefined || options === undefined || call === undefined) {
      this.error(reply, 404, 20404, `The requested resource /2010-04-01/Accounts/${this.accountSid}/Conferences/${cf}/Participants/${callSid}.json was not found`);
      return null;
    }
    return { conference, call, options };
  }

  private updateParticipant(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const found = this.participantOf(req, reply);
    if (found === null) return reply;
    const { conference, call, options } = found;
    const p = (req.body ?? {}) as Record<string, string | string[]>;
    const hold = one(p, 'Hold');
    if (hold !== undefined) {
      const on = hold === 'true';
      if (on && options.hold !== true) call.heard.push(`play:${one(p, 'HoldUrl') ?? 'http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3'}`);
      options.hold = on;
    }
    if (one(p, 'Muted') !== undefined) options.muted = one(p, 'Muted') === 'true';
    if (one(p, 'EndConferenceOnExit') !== undefined) options.endConferenceOnExit = one(p, 'EndConferenceOnExit') === 'true';
    return reply.code(200).send(this.participantJson(conference, call, options));
  }

  private removeParticipant(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const found = this.participantOf(req, reply);
    if (found === null) return reply;
    const { call } = found;
    this.later(async () => {
      if (call.conference === null || FINAL.has(call.status)) return;
      if (call.participant !== null) {
        // A leg the Participants API placed has nothing else to do: it is hung up.
        await this.endCall(call, 'completed');
        return;
      }
      const wait = call.wait?.kind === 'conference' ? call.wait : null;
      await this.leaveCurrent(call);
      await this.runNodes(call, wait?.rest ?? [], wait?.docUrl ?? null, 'call');
    });
    return reply.code(204).send();
  }

  private listConferences(req: FastifyRequest, reply: FastifyReply): FastifyReply {
    const q = (req.query ?? {}) as Record<string, string>;
    const found = [...this.conferences.values()].filter((c) => (q['FriendlyName'] === undefined || c.name === q['FriendlyName']) && (q['Status'] === undefined || c.status === q['Status']));
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Conferences.json`;
    return reply.code(200).send({
      conferences: found.map((c) => ({ sid: c.sid, account_sid: this.accountSid, friendly_name: c.name, status: c.status, api_version: '2010-04-01', region: 'us1', uri: `/2010-04-01/Accounts/${this.accountSid}/Conferences/${c.sid}.json` })),
      first_page_uri: uri,
      next_page_uri: null,
      previous_page_uri: null,
      page: 0,
      page_size: 50,
      start: 0,
      end: Math.max(0, found.length - 1),
      uri,
    });
  }

  private participantJson(conference: FakeConference, call: FakeCall, options: ParticipantOptions): Record<string, unknown> {
    const now = new Date().toUTCString();
    return {
      account_sid: this.accountSid,
      call_sid: call.sid,
      conference_sid: conference.sid,
      label: options.label,
      call_sid_to_coach: null,
      coaching: false,
      date_created: now,
      date_updated: now,
      end_conference_on_exit: options.endConferenceOnExit,
      start_conference_on_enter: options.startConferenceOnEnter,
      muted: options.muted === true,
      hold: options.hold === true,
      status: 'connected',
      queue_time: '0',
      uri: `/2010-04-01/Accounts/${this.accountSid}/Conferences/${conference.sid}/Participants/${call.sid}.json`,
    };
  }

  private callJson(call: FakeCall): Record<string, unknown> {
    const now = new Date().toUTCString();
    return {
      sid: call.sid,
      account_sid: this.accountSid,
      to: call.to,
      to_formatted: call.to,
      from: call.from,
      from_formatted: call.from,
      status: call.status,
      direction: call.direction,
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
      uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${call.sid}.json`,
      subresource_uris: {},
    };
  }

  // ───────────────────────────── the network ─────────────────────────────

  private nextSid(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return prefix + hex32(n);
  }

  private newCall(direction: FakeCall['direction'], from: string, to: string): FakeCall {
    const call: FakeCall = {
      sid: this.nextSid('CA'),
      direction,
      from,
      to,
      status: 'queued',
      documents: [],
      heard: [],
      queue: null,
      bridgedWith: null,
      conference: null,
      statusCallback: null,
      statusCallbackEvents: [],
      twiml: null,
      url: null,
      method: 'POST',
      timeout: null,
      participant: null,
      extra: {},
      wait: null,
      sequence: 0,
    };
    this.calls.set(call.sid, call);
    return call;
  }

  private outbound(callSid: string): FakeCall {
    const call = this.call(callSid);
    if (call.direction !== 'outbound-api') throw new Error(`fake Twilio: ${callSid} is not an outbound leg`);
    return call;
  }

  private async drive<T>(step: () => Promise<T>): Promise<T> {
    if (this.driving) throw new Error('fake Twilio: a driver method is already running (await each one)');
    this.driving = true;
    try {
      await this.settle();
      const out = await step();
      await this.settle();
      return out;
    } finally {
      this.driving = false;
    }
  }

  private later(job: () => Promise<void>): void {
    this.jobs.push(job);
  }

  /** The standard parameters of a webhook about `call`. */
  private paramsOf(call: FakeCall): Record<string, string> {
    return {
      AccountSid: this.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: call.status,
      Called: call.to,
      Caller: call.from,
      Direction: call.direction,
      From: call.from,
      To: call.to,
      ...call.extra,
    };
  }

  /** POSTs (or GETs) a signed webhook; the answer's body. Throws on a non-2xx answer. */
  private async webhook(url: string, method: string, params: Record<string, string>): Promise<string> {
    const served = this.served.get(url);
    if (served !== undefined) {
      this.webhooks.push({ url, params, status: 200, body: served });
      return served;
    }
    let res: Response;
    if (method.toUpperCase() === 'GET') {
      const u = new URL(url);
      for (const [k, v] of Object.entries(params)) u.searchParams.append(k, v);
      res = await fetch(u, { headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(this.authToken, u.toString(), {}) } });
    } else {
      const headers = { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(this.authToken, url, params) };
      res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    }
    const body = await res.text();
    this.webhooks.push({ url, params, status: res.status, body });
    if (!res.ok) throw new Error(`fake Twilio: ${method} ${url} was answered ${res.status}: ${body}`);
    return body;
  }

  /** The status callback of `call`'s current status, when its events ask for it. */
  private async postStatus(call: FakeCall): Promise<void> {
    if (call.statusCallback === null) return;
    const event = call.status === 'in-progress' ? 'answered' : FINAL.has(call.status) ? 'completed' : call.status;
    if (!call.statusCallbackEvents.includes(event)) return;
    call.sequence += 1;
    const params: Record<string, string> = { ...this.paramsOf(call), CallbackSource: 'call-progress-events', SequenceNumber: String(call.sequence - 1), Timestamp: new Date().toUTCString() };
    if (FINAL.has(call.status)) params['CallDuration'] = '0';
    await this.webhook(call.statusCallback, 'POST', params);
  }

  private async ringLeg(call: FakeCall): Promise<void> {
    if (call.status === 'queued') {
      call.status = 'initiated';
      await this.postStatus(call);
    }
    if (call.status === 'initiated') {
      call.status = 'ringing';
      await this.postStatus(call);
    }
  }

  private async fetchAndRun(call: FakeCall, url: string, method: string, context: 'call' | 'wait' | 'queue-url', extra: Record<string, string> = {}): Promise<void> {
    const xml = await this.webhook(url, method, { ...this.paramsOf(call), ...extra });
    await this.runDocument(call, xml, url, context);
  }

  private async runDocument(call: FakeCall, xml: string, docUrl: string | null, context: 'call' | 'wait' | 'queue-url'): Promise<void> {
    call.documents.push(xml);
    await this.runNodes(call, parseTwiml(xml), docUrl, context);
  }

  private resolve(url: string | undefined, docUrl: string | null): string {
    if (url === undefined || url === '') {
      if (docUrl === null) throw new Error('fake Twilio: a verb without a URL in a document that has none');
      return docUrl;
    }
    return new URL(url, docUrl ?? undefined).toString();
  }

  /**
   * Runs verbs until one waits or the call ends. `context`: the call's own document; `wait`: a
   * holding caller's waitUrl TwiML (or a hold gather's answer); `queue-url`: the `<Queue url>`
   * TwiML played to a caller about to be bridged.
   */
  private async runNodes(call: FakeCall, nodes: TwimlNode[], docUrl: string | null, context: 'call' | 'wait' | 'queue-url'): Promise<void> {
    for (let i = 0; i < nodes.length; i++) {
      if (FINAL.has(call.status)) return;
      const node = nodes[i] as TwimlNode;
      const rest = nodes.slice(i + 1);
      switch (node.name) {
        case 'Say':
          call.heard.push(`say:${node.text}`);
          break;
        case 'Play':
          call.heard.push(`play:${node.text}`);
          break;
        case 'Pause':
          break;
        case 'Gather': {
          if (context === 'queue-url') throw new Error('fake Twilio: <Gather> is not allowed in <Queue url> TwiML');
          for (const part of node.children) call.heard.push(`${part.name === 'Say' ? 'say' : 'play'}:${part.text}`);
          const gather: GatherWait = {
            kind: 'gather',
            action: this.resolve(node.attrs['action'], docUrl),
            method: node.attrs['method'] ?? 'POST',
            actionOnEmptyResult: node.attrs['actionOnEmptyResult'] === 'true',
            rest,
            docUrl,
          };
          if (context === 'wait') {
            if (call.wait?.kind !== 'queue') throw new Error('fake Twilio: a hold gather for a call not in a queue');
            call.wait.holdGather = gather;
          } else {
            call.wait = gather;
          }
          return;
        }
        case 'Enqueue':
          if (context !== 'call') throw new Error(`fake Twilio: <Enqueue> is not allowed in ${context} TwiML`);
          await this.enqueue(call, node, rest, docUrl);
          return;
        case 'Dial':
          if (context !== 'call') throw new Error(`fake Twilio: <Dial> is not allowed in ${context} TwiML`);
          await this.dial(call, node, rest, docUrl);
          return;
        case 'Hangup':
          await this.endCall(call, 'completed');
          return;
        case 'Redirect':
          // In a waitUrl document the caller stays in the queue and holds on with the new document.
          await this.fetchAndRun(call, this.resolve(node.text, docUrl), node.attrs['method'] ?? 'POST', context === 'wait' ? 'wait' : 'call');
          return;
        case 'Leave': {
          if (context !== 'wait' || call.wait?.kind !== 'queue') throw new Error('fake Twilio: <Leave> outside a queue');
          const wait = call.wait;
          this.removeFromQueue(call, wait);
          call.wait = null;
          if (wait.action !== null) await this.fetchAndRun(call, wait.action, wait.method, 'call', this.queueResultParams(wait, 'leave'));
          else await this.runNodes(call, wait.rest, wait.docUrl, 'call');
          return;
        }
        default:
          throw new Error(`fake Twilio: <${node.name}> is not supported`);
      }
    }
    // The end of a document: the call's own ends the call; a waitUrl's leaves the caller holding
    // (Twilio would fetch it again: holdAgain); a <Queue url> one goes on to the bridge.
    if (context === 'call') await this.endCall(call, 'completed');
  }

  private async enqueue(call: FakeCall, node: TwimlNode, rest: TwimlNode[], docUrl: string | null): Promise<void> {
    const name = node.text;
    let queue = this.queues.get(name);
    if (queue === undefined) {
      queue = { sid: this.nextSid('QU'), name, members: [] };
      this.queues.set(name, queue);
    }
    queue.members.push(call.sid);
    call.queue = name;
    const wait: QueueWait = {
      kind: 'queue',
      name,
      queueSid: queue.sid,
      action: node.attrs['action'] === undefined ? null : this.resolve(node.attrs['action'], docUrl),
      method: node.attrs['method'] ?? 'POST',
      waitUrl: node.attrs['waitUrl'] === undefined ? null : this.resolve(node.attrs['waitUrl'], docUrl),
      waitMethod: node.attrs['waitUrlMethod'] ?? 'POST',
      rest,
      docUrl,
      enqueuedAt: Date.now(),
      holdGather: null,
    };
    call.wait = wait;
    const dialer = [...this.calls.values()].find((c) => c.wait?.kind === 'dial-queue' && c.wait.name === name);
    if (dialer !== undefined) {
      const dw = dialer.wait as DialQueueWait;
      await this.bridgeFromQueue(dialer, call, queue, dw.url, dw.method, dw.rest, dw.docUrl);
      return;
    }
    if (wait.waitUrl !== null) await this.fetchWait(call, wait);
  }

  private async fetchWait(call: FakeCall, wait: QueueWait): Promise<void> {
    if (wait.waitUrl === null) return;
    const queue = this.queues.get(wait.name) as FakeQueue;
    const extra = {
      QueueSid: wait.queueSid,
      QueuePosition: String(queue.members.indexOf(call.sid) + 1),
      QueueTime: String(Math.floor((Date.now() - wait.enqueuedAt) / 1000)),
      AvgQueueTime: '0',
      CurrentQueueSize: String(queue.members.length),
      MaxQueueSize: '1000',
    };
    wait.holdGather = null;
    await this.fetchAndRun(call, wait.waitUrl, wait.waitMethod, 'wait', extra);
  }

  private queueResultParams(wait: QueueWait, result: string): Record<string, string> {
    return { QueueResult: result, QueueSid: wait.queueSid, QueueTime: String(Math.floor((Date.now() - wait.enqueuedAt) / 1000)) };
  }

  private removeFromQueue(call: FakeCall, wait: QueueWait): void {
    const queue = this.queues.get(wait.name);
    if (queue !== undefined) queue.members = queue.members.filter((m) => m !== call.sid);
    call.queue = null;
  }

  private async gatherAnswered(callSid: string, digits: string | null): Promise<void> {
    const call = this.call(callSid);
    const own = call.wait?.kind === 'gather' ? call.wait : null;
    const hold = call.wait?.kind === 'queue' ? call.wait.holdGather : null;
    const gather = own ?? hold;
    if (gather === null) throw new Error(`fake Twilio: ${callSid} is not at a gather`);
    const context = own !== null ? 'call' : 'wait';
    if (own !== null) call.wait = null;
    else (call.wait as QueueWait).holdGather = null;
    if (digits === null && !gather.actionOnEmptyResult) {
      if (own !== null) await this.runNodes(call, gather.rest, gather.docUrl, 'call');
      return;
    }
    await this.fetchAndRun(call, gather.action, gather.method, context, digits === null ? {} : { Digits: digits, FinishedOnKey: '' });
  }

  private async dial(call: FakeCall, node: TwimlNode, rest: TwimlNode[], docUrl: string | null): Promise<void> {
    const noun = node.children[0];
    if (noun === undefined || node.children.length !== 1) throw new Error('fake Twilio: <Dial> needs exactly one noun here');
    if (noun.name === 'Queue') {
      const url = noun.attrs['url'] === undefined ? null : this.resolve(noun.attrs['url'], docUrl);
      const method = noun.attrs['method'] ?? 'POST';
      const queue = this.queues.get(noun.text);
      const first = queue?.members[0];
      if (queue === undefined || first === undefined) {
        call.wait = { kind: 'dial-queue', name: noun.text, url, method, rest, docUrl };
        return;
      }
      await this.bridgeFromQueue(call, this.call(first), queue, url, method, rest, docUrl);
      return;
    }
    if (noun.name === 'Conference') {
      const options: ParticipantOptions = {
        label: noun.attrs['participantLabel'] ?? null,
        startConferenceOnEnter: noun.attrs['startConferenceOnEnter'] !== 'false',
        endConferenceOnExit: noun.attrs['endConferenceOnExit'] === 'true',
        statusCallback: noun.attrs['statusCallback'] === undefined ? null : this.resolve(noun.attrs['statusCallback'], docUrl),
        statusCallbackEvents: (noun.attrs['statusCallbackEvent'] ?? '').split(' ').filter((e) => e !== ''),
      };
      await this.joinConference(call, noun.text, options, rest, docUrl);
      return;
    }
    throw new Error(`fake Twilio: <Dial><${noun.name}> is not supported`);
  }

  /** `worker` dials the queue and gets `caller`: the `<Queue url>` is played to the caller, then they are bridged. */
  private async bridgeFromQueue(worker: FakeCall, caller: FakeCall, queue: FakeQueue, url: string | null, method: string, rest: TwimlNode[], docUrl: string | null): Promise<void> {
    const wait = caller.wait as QueueWait;
    this.removeFromQueue(caller, wait);
    caller.wait = null;
    if (url !== null) {
      const extra = { QueueSid: queue.sid, QueueTime: String(Math.floor((Date.now() - wait.enqueuedAt) / 1000)), DequeingCallSid: worker.sid };
      await this.fetchAndRun(caller, url, method, 'queue-url', extra);
    }
    caller.wait = { kind: 'bridged', with: worker.sid, enqueue: wait, rest: wait.rest, docUrl: wait.docUrl };
    worker.wait = { kind: 'bridged', with: caller.sid, enqueue: null, rest, docUrl };
    caller.bridgedWith = worker.sid;
    worker.bridgedWith = caller.sid;
  }

  /** `other`'s bridge ended (the far side hung up or was moved): the caller's `<Enqueue action>`, or the worker's `<Dial>` returns. */
  private async bridgeEnded(other: FakeCall, wait: BridgeWait): Promise<void> {
    other.bridgedWith = null;
    if (other.wait === wait) other.wait = null;
    if (FINAL.has(other.status)) return;
    if (wait.enqueue !== null && wait.enqueue.action !== null) {
      await this.fetchAndRun(other, wait.enqueue.action, wait.enqueue.method, 'call', this.queueResultParams(wait.enqueue, 'bridged'));
      return;
    }
    await this.runNodes(other, wait.rest, wait.docUrl, 'call');
  }

  private conferenceNamed(name: string): FakeConference {
    let conference = this.conferences.get(name);
    if (conference === undefined || conference.status === 'completed') {
      conference = { sid: this.nextSid('CF'), name, status: 'init', participants: new Map(), statusCallback: null, statusCallbackEvents: [], sequence: 0 };
      this.conferences.set(name, conference);
    }
    return conference;
  }

  private async joinConference(call: FakeCall, name: string, options: ParticipantOptions, rest: TwimlNode[], docUrl: string | null): Promise<void> {
    const conference = this.conferenceNamed(name);
    if (conference.statusCallback === null && options.statusCallback !== null) {
      conference.statusCallback = options.statusCallback;
      conference.statusCallbackEvents = options.statusCallbackEvents;
    }
    conference.participants.set(call.sid, options);
    call.conference = name;
    call.wait = { kind: 'conference', name, rest, docUrl };
    await this.conferenceEvent(conference, 'participant-join', call.sid, options);
    if (conference.status === 'init' && options.startConferenceOnEnter) {
      conference.status = 'in-progress';
      await this.conferenceEvent(conference, 'conference-start');
    }
  }

  private async leaveConference(call: FakeCall): Promise<void> {
    const conference = call.conference === null ? undefined : this.conferences.get(call.conference);
    call.conference = null;
    const options = conference?.participants.get(call.sid);
    if (conference === undefined || options === undefined) return;
    conference.participants.delete(call.sid);
    await this.conferenceEvent(conference, 'participant-leave', call.sid, options);
    if (options.endConferenceOnExit || conference.participants.size === 0) await this.endConference(conference);
  }

  /** The room closes: everyone left is taken out (their `<Dial>` returns; an API participant's call ends), then `conference-end`. */
  private async endConference(conference: FakeConference): Promise<void> {
    if (conference.status === 'completed') return;
    conference.status = 'completed';
    for (const [sid, options] of [...conference.participants]) {
      conference.participants.delete(sid);
      const call = this.call(sid);
      call.conference = null;
      await this.conferenceEvent(conference, 'participant-leave', sid, options);
      const wait = call.wait?.kind === 'conference' ? call.wait : null;
      call.wait = null;
      // Its <Dial> returns: the verbs after it, and the end of the document ends the call.
      await this.runNodes(call, wait?.rest ?? [], wait?.docUrl ?? null, 'call');
    }
    await this.conferenceEvent(conference, 'conference-end');
  }

  private async conferenceEvent(conference: FakeConference, event: string, callSid?: string, options?: ParticipantOptions): Promise<void> {
    if (conference.statusCallback === null) return;
    const short = event.replace(/^(participant|conference)-/, '');
    if (conference.statusCallbackEvents.length > 0 && !conference.statusCallbackEvents.includes(short)) return;
    conference.sequence += 1;
    const params: Record<string, string> = {
      AccountSid: this.accountSid,
      ConferenceSid: conference.sid,
      FriendlyName: conference.name,
      StatusCallbackEvent: event,
      SequenceNumber: String(conference.sequence),
      Timestamp: new Date().toUTCString(),
    };
    if (callSid !== undefined && options !== undefined) {
      Object.assign(params, {
        CallSid: callSid,
        Muted: String(options.muted === true),
        Hold: String(options.hold === true),
        Coaching: 'false',
        EndConferenceOnExit: String(options.endConferenceOnExit),
        StartConferenceOnEnter: String(options.startConferenceOnEnter),
      });
      if (options.label !== null) params['ParticipantLabel'] = options.label;
    }
    await this.webhook(conference.statusCallback, 'POST', params);
  }

  /** Takes a live call out of whatever it waits in (without ending it), before it runs new TwiML. */
  private async leaveCurrent(call: FakeCall): Promise<void> {
    const wait = call.wait;
    call.wait = null;
    if (wait === null) return;
    if (wait.kind === 'queue') this.removeFromQueue(call, wait);
    else if (wait.kind === 'conference') await this.leaveConference(call);
    else if (wait.kind === 'bridged') {
      call.bridgedWith = null;
      const other = this.calls.get(wait.with);
      if (other !== undefined && other.wait?.kind === 'bridged') await this.bridgeEnded(other, other.wait);
    }
  }

  /**
   * Ends a call with a final status: out of its queue (the `<Enqueue action>` with
   * `QueueResult=hangup`), its conference or its bridge (the far side's bridge ends), then its
   * final status callback.
   */
  private async endCall(call: FakeCall, status: FakeCallStatus): Promise<void> {
    if (FINAL.has(call.status)) return;
    const wait = call.wait;
    call.wait = null;
    call.status = status;
    if (wait?.kind === 'queue') {
      this.removeFromQueue(call, wait);
      if (wait.action !== null) await this.webhook(wait.action, wait.method, { ...this.paramsOf(call), ...this.queueResultParams(wait, 'hangup') });
    } else if (wait?.kind === 'conference' || call.conference !== null) {
      await this.leaveConference(call);
    } else if (wait?.kind === 'bridged') {
      call.bridgedWith = null;
      if (wait.enqueue !== null && wait.enqueue.action !== null) {
        await this.webhook(wait.enqueue.action, wait.enqueue.method, { ...this.paramsOf(call), ...this.queueResultParams(wait.enqueue, 'bridged') });
      }
      const other = this.calls.get(wait.with);
      if (other !== undefined && other.wait?.kind === 'bridged') await this.bridgeEnded(other, other.wait);
    }
    await this.postStatus(call);
  }
}

/** Starts a {@link FakeTwilio} on a free port of 127.0.0.1. */
export async function startFakeTwilio(options: FakeTwilioOptions): Promise<FakeTwilio> {
  const fake = new FakeTwilio(options);
  await fake.listen();
  return fake;
}
