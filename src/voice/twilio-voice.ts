/**
 * The voice port on Twilio Programmable Voice (spec voice-worker-sdk-console.md A2–A4), through the
 * official `twilio` client. The client is passed in, so its base URL is the client's: a test points
 * `client.api.baseUrl` at a fake Twilio (test/support/fake-twilio.ts).
 *
 * How each instruction reaches the caller (A4, our choices):
 * - `dequeue` (pattern P1): the caller waits in a Twilio queue of their own, named by the task SID
 *   (`<Enqueue>` in src/voice/twiml.ts). The worker's leg is placed with `calls.create` and the
 *   TwiML `<Dial><Queue url="…/voice/bridged?key=K">WT…</Queue></Dial>`: once it is answered it
 *   takes exactly that caller. Twilio requests the `<Queue url>` for the caller just before it
 *   bridges the two: that request is the "bridged" signal.
 * - `conference`: the worker's leg is added to the conference named by the task SID
 *   (`conferences(name).participants.create`, label `worker:<reservation SID>`, starting the conference). Once that
 *   leg is answered (its status callback says `in-progress`), the caller is moved out of their queue
 *   into the conference: with the Queue Member API (A3) when we learned their queue's SID from a
 *   `waitUrl` request ({@link TwilioVoice.noteQueue}), else by redirecting their call. The TwiML
 *   they then fetch (`/voice/join`) is the "bridged" signal.
 * - a transfer's `conference` or `dequeue` (placement `join`): the caller is already in the LIVE
 *   conference of the original task; the target's leg is added to it by its `CF` SID when known,
 *   else by name (`conferences(CF or name).participants.create`, label `worker:<reservation SID>`,
 *   `startConferenceOnEnter: false` — a joining leg never opens a room); once answered it is in, and that is
 *   the bridge — nobody is moved. A COLD transfer then removes the first worker's leg with the
 *   Participants API ({@link TwilioVoice.participant}, `remove`).
 * - an outbound call (placement `outbound`, then `customer`): the worker's leg starts the
 *   conference named by the task SID (bridged once answered); then the customer is dialed into the
 *   same conference (`participants.create`, label `customer`, `from` the caller ID,
 *   `endConferenceOnExit`), their leg reporting through its own status callback and key.
 * - `call`: `calls.create` with the instruction's `url`; bridged when answered.
 * - `redirect`: the caller's call is sent to the instruction's `url`; bridged at once.
 *
 * Participants of a `conference` bridge (the SDK's hold, mute and kick; voice spec A3) are changed
 * with the Conference Participants API: `conferences(CF…).participants(CA…).update({hold, holdUrl,
 * holdMethod, muted, endConferenceOnExit, beepOnExit})` and `.remove()`. The conference's SID
 * (`CF…`, what that API's path takes) is learned from the participant create answer and from
 * conference status callbacks, else looked up by its friendly name (`conferences.list({friendlyName,
 * status: 'in-progress'})`, after a restart).
 *
 * Every webhook URL we hand Twilio for a worker's leg carries the connect key (`?key=`) and what
 * else its handler needs (a conference leg's room and caller), so the webhooks are understood
 * without state of ours. What lives in memory only: key → leg (CallSid, last status) for
 * {@link TwilioVoice.hangup} and the once-only guard of `connect`, rebuilt for a leg by its next
 * status callback after a restart; and caller → queue SID (from `waitUrl` requests), without which
 * the caller is moved by redirecting their call instead of through the Queue Member API.
 */
import twilio from 'twilio';
import { callStatusOf, enqueueResult, joinTwiml, type TwilioParams } from './twiml.ts';
import { FINAL_CALL_STATUSES, type CallStatus, type ConnectRequest, type HangupRequest, type ParticipantRequest, type VoiceInbound, type VoiceInstruction, type VoicePort } from '../callflows/voice-port.ts';

type TwilioClient = ReturnType<typeof twilio>;

/** What {@link TwilioVoice} is built from. */
export interface TwilioVoiceOptions {
  /** The official client (`twilio(accountSid, authToken)`); its `api.baseUrl` decides where requests go. */
  client: TwilioClient;
  /** Our public base URL, as Twilio reaches it (e.g. `https://sb.example.com`); webhook URLs are built under it. */
  publicUrl: string;
  /** Clock for the `at` of what the webhooks report, epoch ms. */
  now: () => number;
}

/** The status callback events asked for on every worker's leg. */
const LEG_EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

const FINAL: ReadonlySet<string> = new Set(FINAL_CALL_STATUSES);

/** Twilio errors that mean "the call is not up any more": a hang-up of it has nothing left to do. */
const GONE_CODES = new Set([20404, 21220]);

/** One connect key's leg, as far as this process knows it. */
interface Leg {
  instruction: VoiceInstruction;
  /** The leg's CallSid (the caller's own for `redirect`), once the API answered. */
  callSid: string | null;
  callerCallSid: string | null;
  /** Its last known status: `queued` from placement until the first status callback. */
  status: CallStatus;
  /** `conference`: the room, and whether the caller's leaving ends it. */
  conferenceName: string | null;
  customerEndsConference: boolean;
  /** `conference`: the caller has been sent to the room (once). */
  joinSent: boolean;
  /** A hang-up asked for while the create request was still out: done once its answer is in. */
  hangupPending: boolean;
  /** A conference leg's placement (ConnectRequest `placement`); absent: the caller is moved into a new room. */
  placement?: 'join' | 'outbound' | 'customer';
}

/** `record` of an instruction (`record-from-answer`, `true` …) as the API's boolean. */
function recordOf(record: string | undefined): { record?: boolean } {
  return record === 'record-from-answer' || record === 'true' ? { record: true } : {};
}

function codeOf(err: unknown): number | null {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : typeof code === 'string' && /^\d+$/.test(code) ? Number(code) : null;
}

/**
 * The Twilio voice port (see the module comment). Webhook handlers (`handle…`) are called by the
 * voice routes (src/api/routes/voice.ts) with the form parameters and the URL's query; each
 * reports to the {@link VoiceInbound} given to {@link attach} and returns the TwiML to answer
 * with, where Twilio expects TwiML. They throw Error when no inbound was attached.
 */
export class TwilioVoice implements VoicePort {
  /** Our public base URL without a trailing slash. */
  /** Our public base URL (no trailing slash); a server that learns its address after listening may set it then. */
  publicUrl: string;
  /** The clock webhooks are stamped with, epoch ms. */
  readonly now: () => number;
  private readonly client: TwilioClient;
  private inboundSide: VoiceInbound | null = null;
  private readonly legs = new Map<string, Leg>();
  /** Caller CallSid → the SID of the Twilio queue they wait in (from `waitUrl` requests). */
  private readonly queues = new Map<string, string>();
  /** Conference friendly name (the task SID) → its `CF` SID, as Twilio told us. */
  private readonly conferenceSids = new Map<string, string>();

  constructor(options: TwilioVoiceOptions) {
    this.client = options.client;
    this.publicUrl = options.publicUrl.replace(/\/+$/, '');
    this.now = options.now;
  }

  attach(inbound: VoiceInbound): void {
    this.inboundSide = inbound;
  }

  /**
   * Places the worker's leg of `request` (see the module comment for each instruction); a key seen
   * before (in this process) places nothing. Rejects with the client's error when Twilio refuses
   * (a RestException with Twilio's `code`), or with RangeError when the request lacks what its
   * instruction needs (`url` for `call`/`redirect`, the caller's CallSid for `redirect`).
   */
  async connect(request: ConnectRequest, _now: number): Promise<void> {
    if (this.legs.has(request.key)) return;
    const leg: Leg = {
      instruction: request.instruction,
      callSid: null,
      callerCallSid: request.callerCallSid,
      status: 'queued',
      conferenceName: null,
      customerEndsConference: false,
      joinSent: false,
      hangupPending: false,
    };
    if (request.placement !== undefined) leg.placement = request.placement;
    this.legs.set(request.key, leg);
    try {
      if (request.placement !== undefined) {
        leg.conferenceName = request.conferenceName ?? request.taskSid;
        leg.callSid = await this.placeConferenceLeg(request, leg.conferenceName, request.placement);
        if (leg.hangupPending) await this.end(leg);
        return;
      }
      switch (request.instruction) {
        case 'dequeue':
          leg.callSid = await this.placeDequeue(request);
          break;
        case 'conference':
          leg.conferenceName = request.conferenceName ?? request.taskSid;
          leg.customerEndsConference = request.parameters['end_conference_on_customer_exit'] === 'true';
          leg.callSid = await this.placeConferenceLeg(request, leg.conferenceName, 'caller', leg.customerEndsConference);
          break;
        case 'call':
          leg.callSid = await this.placeCall(request);
          break;
        case 'redirect':
          await this.redirect(request, leg);
          return;
      }
    } catch (err) {
      leg.status = 'failed';
      throw err;
    }
    if (leg.hangupPending) await this.end(leg);
  }

  /**
   * Ends a leg: by `key` the leg a connect placed (`Status=canceled` while it rings, `completed`
   * once answered; for `redirect` that is the caller's own call); by `callSid` any call (a
   * caller's: `completed`). A key this process does not know (placed before a restart) falls back
   * to the request's `callSid`, when given (`completed`; the voice core sends the leg's call SID
   * once known); without one it is ignored. Legs
   * already over, and calls Twilio says are gone (errors 20404, 21220) are ignored. A key whose
   * create request is still out is hung up as soon as its CallSid comes back. Rejects with the
   * client's error otherwise.
   */
  async hangup(request: HangupRequest, _now: number): Promise<void> {
    if (request.key !== undefined) {
      const leg = this.legs.get(request.key);
      if (leg === undefined) {
        // Placed before a restart: the key is not known here any more, but its call SID (when the
        // request carries it) still ends the call.
        if (request.callSid !== undefined && request.callSid !== '') await this.update(request.callSid, 'completed');
        return;
      }
      if (FINAL.has(leg.status)) return;
      if (leg.callSid === null) {
        leg.hangupPending = true;
        return;
      }
      await this.end(leg);
      return;
    }
    if (request.callSid === undefined) return;
    const known = [...this.legs.values()].find((l) => l.callSid === request.callSid && l.instruction !== 'redirect');
    if (known !== undefined) {
      if (!FINAL.has(known.status)) await this.end(known);
      return;
    }
    await this.update(request.callSid, 'completed');
  }

  /**
   * Holds, mutes or removes a participant of a conference bridge with the Conference Participants
   * API (see the module comment): `update` sends only the fields the request sets (`Hold`,
   * `HoldUrl`, `HoldMethod`, `Muted`, `EndConferenceOnExit`, `BeepOnExit`), `remove` is a DELETE.
   * A conference that is not in progress, and a participant Twilio says is gone (20404), are
   * ignored. Rejects with the client's error otherwise (retried by the dispatcher).
   */
  async participant(request: ParticipantRequest, _now: number): Promise<void> {
    const cf = this.conferenceSids.get(request.conferenceName) ?? (await this.findConference(request.conferenceName));
    if (cf === undefined) return;
    const participant = this.client.conferences(cf).participants(request.callSid);
    try {
      if (request.action === 'remove') {
        await participant.remove();
        return;
      }
      const update: { hold?: boolean; holdUrl?: string; holdMethod?: 'GET' | 'POST'; muted?: boolean; endConferenceOnExit?: boolean; beepOnExit?: boolean } = {};
      if (request.hold !== undefined) update.hold = request.hold;
      if (request.holdUrl !== undefined) update.holdUrl = request.holdUrl;
      if (request.holdMethod !== undefined) update.holdMethod = request.holdMethod;
      if (request.muted !== undefined) update.muted = request.muted;
      if (request.endConferenceOnExit !== undefined) update.endConferenceOnExit = request.endConferenceOnExit;
      if (request.beepOnExit !== undefined) update.beepOnExit = request.beepOnExit;
      await participant.update(update);
    } catch (err) {
      if (codeOf(err) !== 20404 && (err as { status?: unknown }).status !== 404) throw err;
    }
  }

  /**
   * Remembers the Twilio queue a caller waits in (the `QueueSid` of a `waitUrl` request), for the
   * Queue Member API; `null` forgets it (the caller left the queue).
   */
  noteQueue(callerCallSid: string, queueSid: string | null): void {
    if (queueSid === null || queueSid === '') this.queues.delete(callerCallSid);
    else this.queues.set(callerCallSid, queueSid);
  }

  /** The queue SID last noted for a caller, or undefined. */
  queueOf(callerCallSid: string): string | undefined {
    return this.queues.get(callerCallSid);
  }

  /**
   * A call status callback (`/voice/status`: `CallSid`, `CallStatus` …). `query` is the URL's query:
   * a worker's leg carries `key` (and, for `conference`, `conference`, `caller`, `end`), a caller's
   * call nothing. Reports {@link VoiceInbound.legStatus}; then, for an answered leg, `call` →
   * {@link VoiceInbound.bridged}, `conference` → the caller is moved into the room (once). The
   * instruction is the key's suffix (`<reservation>:<instruction>`) when this process did not place
   * the leg (a restart). An unknown `CallStatus` is ignored. Rejects when the inbound side or the
   * move does.
   */
  async handleStatus(params: TwilioParams, query: TwilioParams): Promise<void> {
    const callSid = params['CallSid'];
    const status = callStatusOf(params['CallStatus']);
    if (callSid === undefined || callSid === '' || status === null) return;
    const inbound = this.inbound();
    const at = this.now();
    const key = nonEmpty(query['key']);
    if (key === undefined) {
      await inbound.legStatus({ callSid, status, at });
      return;
    }
    let leg = this.legs.get(key);
    if (leg === undefined) {
      // Placed before a restart: rebuilt from the URL, so that an answer still bridges.
      leg = restoredLeg(key, query);
      this.legs.set(key, leg);
    }
    if (leg.callSid === null) leg.callSid = callSid;
    if (!FINAL.has(leg.status)) leg.status = status;
    await inbound.legStatus({ callSid, key, status, at });
    if (status !== 'in-progress') return;
    if (leg.placement === 'customer') return;
    if (leg.placement !== undefined || leg.instruction === 'call') await inbound.bridged(key, callSid, at);
    else if (leg.instruction === 'conference' && !leg.joinSent) await this.sendCallerToConference(key, leg, callSid);
  }

  /**
   * The `<Queue url>` request of a `dequeue` (`/voice/bridged?key=K`): Twilio is about to bridge the
   * caller (`CallSid`) to the worker's leg (`DequeingCallSid`). Reports
   * {@link VoiceInbound.bridged} and answers empty TwiML (the bridge goes ahead). Throws RangeError
   * without a key.
   */
  async handleBridged(params: TwilioParams, query: TwilioParams): Promise<string> {
    const key = requiredKey(query);
    const worker = params['DequeingCallSid'] ?? this.legs.get(key)?.callSid ?? '';
    if (params['CallSid'] !== undefined) this.queues.delete(params['CallSid']);
    await this.inbound().bridged(key, worker, this.now());
    return new twilio.twiml.VoiceResponse().toString();
  }

  /**
   * The caller fetching the room of a `conference` instruction
   * (`/voice/join?key=K&conference=NAME&worker=CA…`, `&end=true` when their leaving ends it):
   * reports {@link VoiceInbound.bridged} and answers {@link joinTwiml}. Throws RangeError without a
   * key or a conference.
   */
  async handleJoin(params: TwilioParams, query: TwilioParams): Promise<string> {
    const key = requiredKey(query);
    const conference = nonEmpty(query['conference']);
    if (conference === undefined) throw new RangeError('/voice/join needs the conference in its query');
    if (params['CallSid'] !== undefined) this.queues.delete(params['CallSid']);
    const worker = nonEmpty(query['worker']) ?? this.legs.get(key)?.callSid ?? '';
    await this.inbound().bridged(key, worker, this.now());
    return joinTwiml(conference, query['end'] === 'true');
  }

  /**
   * A conference status callback (`/voice/conference-status?key=K`: `StatusCallbackEvent`,
   * `CallSid`, `ParticipantLabel` …). A participant other than the worker's leg leaving is the
   * caller's call ending: {@link VoiceInbound.legStatus} `completed` for it. Other events report
   * nothing (the worker's own leg reports through its status callback). Every event also tells
   * the conference's SID (`ConferenceSid`, `FriendlyName`), kept for {@link participant} until
   * `conference-end`.
   */
  async handleConferenceStatus(params: TwilioParams, query: TwilioParams): Promise<void> {
    const name = nonEmpty(params['FriendlyName']);
    const cf = nonEmpty(params['ConferenceSid']);
    if (name !== undefined && cf !== undefined) {
      if (params['StatusCallbackEvent'] === 'conference-end') this.conferenceSids.delete(name);
      else this.conferenceSids.set(name, cf);
    }
    if (params['StatusCallbackEvent'] !== 'participant-leave') return;
    const callSid = nonEmpty(params['CallSid']);
    if (callSid === undefined) return;
    const key = nonEmpty(query['key']);
    const worker = key === undefined ? undefined : this.legs.get(key)?.callSid;
    if (callSid === worker || isWorkerLabel(params['ParticipantLabel'])) return;
    await this.inbound().legStatus({ callSid, status: 'completed', at: this.now() });
  }

  /**
   * The `<Enqueue action>` request (`/voice/enqueue`): the caller left their queue. Answers the
   * TwiML {@link enqueueResult} gives and reports its `legStatus` (a caller who hung up in the
   * queue, or one we hang up because the queue failed).
   */
  async handleEnqueueResult(params: TwilioParams): Promise<string> {
    const callSid = nonEmpty(params['CallSid']);
    if (callSid !== undefined) this.queues.delete(callSid);
    const result = enqueueResult(params);
    if (result.callerEnded && callSid !== undefined) await this.inbound().legStatus({ callSid, status: 'completed', at: this.now() });
    return result.twiml;
  }

  /** The attached inbound side; throws Error before {@link attach}. */
  private inbound(): VoiceInbound {
    if (this.inboundSide === null) throw new Error('TwilioVoice: no VoiceInbound attached (call attach first)');
    return this.inboundSide;
  }

  private url(path: string, query: Record<string, string>): string {
    return `${this.publicUrl}${path}?${new URLSearchParams(query).toString()}`;
  }

  private async placeDequeue(request: ConnectRequest): Promise<string> {
    const twiml = new twilio.twiml.VoiceResponse();
    twiml.dial().queue({ url: this.url('/voice/bridged', { key: request.key }), method: 'POST' }, request.taskSid);
    const call = await this.client.calls.create({
      to: request.to,
      from: request.from,
      timeout: request.timeoutSeconds,
      twiml: twiml.toString(),
      statusCallback: this.url('/voice/status', { key: request.key }),
      statusCallbackEvent: LEG_EVENTS,
      statusCallbackMethod: 'POST',
      ...recordOf(request.record),
    });
    return call.sid;
  }

  /**
   * Adds a leg to conference `name` with the Participants API (see the module comment), by
   * `placement`: `caller` — the worker's leg of a `conference` instruction, starting the room the
   * caller is then moved into (status callback query: {@link conferenceQuery}); `join` — a
   * transfer's target joining the live room, addressed by its `CF` SID when known, never starting
   * a room; `outbound` — an outbound call's worker opening the room; `customer` — its customer
   * dialed into it (label `customer`, their leaving ends the conference). Worker legs are labeled
   * `worker:<reservation SID>`; the rooms we start (`caller`, `outbound`) report their conference
   * events to `/voice/conference-status`. Resolves with the leg's CallSid.
   */
  private async placeConferenceLeg(request: ConnectRequest, name: string, placement: 'caller' | 'join' | 'outbound' | 'customer', customerEnds = false): Promise<string> {
    const customer = placement === 'customer';
    const join = placement === 'join';
    const opens = placement === 'caller' || placement === 'outbound';
    // A join addresses the live room by its CF SID when known: by friendly name, Twilio would open a
    // new, empty room if the old one had just ended; and a joining leg never starts a room itself.
    const room = join ? (this.conferenceSids.get(name) ?? name) : name;
    const query = placement === 'caller' ? conferenceQuery(request.key, name, request.callerCallSid, customerEnds) : { key: request.key, conference: name, placement };
    const participant = await this.client.conferences(room).participants.create({
      from: request.from,
      to: request.to,
      label: customer ? 'customer' : workerLabel(request.reservationSid),
      timeout: request.timeoutSeconds,
      startConferenceOnEnter: !join,
      endConferenceOnExit: customer || request.parameters['end_conference_on_exit'] === 'true',
      statusCallback: this.url('/voice/status', query),
      statusCallbackEvent: LEG_EVENTS,
      statusCallbackMethod: 'POST',
      ...(opens
        ? { conferenceStatusCallback: this.url('/voice/conference-status', { key: request.key }), conferenceStatusCallbackEvent: ['start', 'end', 'join', 'leave'], conferenceStatusCallbackMethod: 'POST' }
        : {}),
      ...recordOf(request.record),
    });
    if (participant.conferenceSid) this.conferenceSids.set(name, participant.conferenceSid);
    return participant.callSid;
  }

  private async placeCall(request: ConnectRequest): Promise<string> {
    if (request.url === undefined || request.url === '') throw new RangeError(`connect ${request.key}: instruction call needs a url`);
    const call = await this.client.calls.create({
      to: request.to,
      from: request.from,
      url: request.url,
      method: 'POST',
      timeout: request.timeoutSeconds,
      statusCallback: this.url('/voice/status', { key: request.key }),
      statusCallbackEvent: LEG_EVENTS,
      statusCallbackMethod: 'POST',
      ...recordOf(request.record),
    });
    return call.sid;
  }

  private async redirect(request: ConnectRequest, leg: Leg): Promise<void> {
    const callSid = request.callerCallSid ?? request.parameters['call_sid'];
    if (callSid === undefined || callSid === '') throw new RangeError(`connect ${request.key}: instruction redirect needs the caller's call_sid`);
    if (request.url === undefined || request.url === '') throw new RangeError(`connect ${request.key}: instruction redirect needs a url`);
    await this.client.calls(callSid).update({ url: request.url, method: 'POST' });
    leg.callSid = callSid;
    leg.status = 'in-progress';
    this.queues.delete(callSid);
    await this.inbound().bridged(request.key, callSid, this.now());
  }

  /** The SID of the conference in progress named `name`, or undefined when there is none. */
  private async findConference(name: string): Promise<string | undefined> {
    const [found] = await this.client.conferences.list({ friendlyName: name, status: 'in-progress', limit: 1 });
    if (found !== undefined) this.conferenceSids.set(name, found.sid);
    return found?.sid;
  }

  /** Moves the caller of a `conference` leg into its room, once its worker's leg answered. */
  private async sendCallerToConference(key: string, leg: Leg, workerCallSid: string): Promise<void> {
    leg.joinSent = true;
    const caller = leg.callerCallSid;
    if (caller === null || leg.conferenceName === null) return;
    const query: Record<string, string> = { key, conference: leg.conferenceName, worker: workerCallSid };
    if (leg.customerEndsConference) query['end'] = 'true';
    const url = this.url('/voice/join', query);
    const queueSid = this.queues.get(caller);
    if (queueSid !== undefined) await this.client.queues(queueSid).members(caller).update({ url, method: 'POST' });
    else await this.client.calls(caller).update({ url, method: 'POST' });
  }

  /** Hangs up a placed leg: canceled while it has not been answered, completed after. */
  private async end(leg: Leg): Promise<void> {
    const answered = leg.status === 'in-progress';
    await this.update(leg.callSid as string, answered ? 'completed' : 'canceled');
  }

  private async update(callSid: string, status: 'completed' | 'canceled'): Promise<void> {
    try {
      await this.client.calls(callSid).update({ status });
    } catch (err) {
      if (!GONE_CODES.has(codeOf(err) ?? 0)) throw err;
    }
  }
}

/** The participant label of a worker's leg: `worker:<reservation SID>` (one per leg, so that legs of a shared room are told apart). */
function workerLabel(reservationSid: string): string {
  return `worker:${reservationSid}`;
}

/** Whether a participant label is a worker leg's: `worker` (legs placed before labels named the reservation) or `worker:<reservation SID>`. */
function isWorkerLabel(label: string | undefined): boolean {
  return label === 'worker' || (label?.startsWith('worker:') ?? false);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function requiredKey(query: TwilioParams): string {
  const key = nonEmpty(query['key']);
  if (key === undefined) throw new RangeError('this voice webhook needs the connect key in its query (?key=)');
  return key;
}

/** The status callback query of a `conference` leg: enough to move the caller after a restart. */
function conferenceQuery(key: string, conference: string, caller: string | null, customerEnds: boolean): Record<string, string> {
  const query: Record<string, string> = { key, conference };
  if (caller !== null) query['caller'] = caller;
  if (customerEnds) query['end'] = 'true';
  return query;
}

const INSTRUCTIONS: ReadonlySet<string> = new Set<VoiceInstruction>(['dequeue', 'call', 'redirect', 'conference']);

/** A leg this process did not place, rebuilt from its status callback's query (instruction: the key's suffix). */
function restoredLeg(key: string, query: TwilioParams): Leg {
  const suffix = key.slice(key.lastIndexOf(':') + 1);
  return {
    instruction: INSTRUCTIONS.has(suffix) ? (suffix as VoiceInstruction) : 'dequeue',
    callSid: null,
    callerCallSid: nonEmpty(query['caller']) ?? null,
    status: 'queued',
    conferenceName: nonEmpty(query['conference']) ?? null,
    customerEndsConference: query['end'] === 'true',
    joinSent: false,
    hangupPending: false,
    ...(PLACEMENTS.has(query['placement'] ?? '') ? { placement: query['placement'] as 'join' | 'outbound' | 'customer' } : {}),
  };
}

const PLACEMENTS: ReadonlySet<string> = new Set(['join', 'outbound', 'customer']);
