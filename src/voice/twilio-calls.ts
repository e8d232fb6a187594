/**
 * Telephony adapter over Twilio's Calls API, through the official `twilio` client
 * (`client.calls.create`). The client is passed in, so the base URL is the client's: point
 * `client.api.baseUrl` at another host (a Twilio-compatible server, or a test fake) the same
 * way test/api points `client.taskrouter.baseUrl` at Switchboard.
 *
 * Outcomes come back through the service's HTTP endpoints, which call
 * {@link TwilioCalls.handleStatusCallback} (Twilio's `StatusCallback` form parameters) and
 * {@link TwilioCalls.handleGather} (the digit pressed at the readiness prompt). Mapping:
 * `busy` → busy; `no-answer` → no_answer; `failed` → failed (invalid_number for Twilio errors
 * 21211, 21217, 13223, 13224); `canceled` → failed; `completed` with `AnsweredBy` machine_* or
 * fax → voicemail; `completed` after a human answered without pressing 1 → not_ready; a `1`
 * at the prompt → ready at once, any other digit → not_ready. Each key gets exactly one outcome;
 * later callbacks for it are ignored.
 *
 * Bridging (spec callbacks-and-ewt §2.1 steps 4–5): the answer to the Gather of a customer who
 * pressed 1 ({@link TwilioCalls.gatherTwiml}) puts them into a named conference,
 * `<Dial><Conference>callback-<CB sid>-<attempt></Conference></Dial>` — the name the return
 * task carries as its `conference_name` attribute (`callbackConferenceName`) — where they hear
 * the wait music until the agent's leg joins; when the customer leaves, the conference ends.
 *
 * Restart: the call map lives in memory, but every webhook carries the dial's key (`?key=`), so
 * {@link TwilioCalls.resume} rebuilds the entries the service still waits on from its persisted
 * attempts. A resumed `dialing` key gets its outcome from the next final status callback or
 * Gather, exactly once; a resumed `ready` key (customer in the conference) reports the customer's
 * hang-up and answers a repeated Gather with the same conference. The CallSid, persisted by
 * the service (reported through {@link TwilioCalls.onCallPlaced} as soon as the create response
 * returns, and saved on the center's attempt), comes back with the resumed dial, so
 * {@link TwilioCalls.hangup} of a resumed key reaches the call at once. Only a dial whose create
 * response never got saved (the process died between the request and the next persist) resumes
 * without it: the first webhook after the restart fills it in, and a hang-up before that is skipped.
 */
import type twilio from 'twilio';
import type { DialOutcome } from '../callbacks/center.ts';
import { callbackConferenceName, checkResumedDials, type DialRequest, type DialResult, type ResumedDial, type TelephonyPort, type TwilioWebhooks } from '../callbacks/telephony-port.ts';

type TwilioClient = ReturnType<typeof twilio>;

/** Options of {@link TwilioCalls}: the client, caller ID, the readiness prompt (`url` or `twiml`) and our webhook URL. */
export interface TwilioCallsOptions {
  client: TwilioClient;
  /** Caller ID used when a request has none (E.164 or a verified number). */
  defaultFrom: string;
  /** TwiML URL fetched when the call is answered (the readiness prompt). One of `url` / `twiml`. */
  url?: string;
  /** Inline TwiML instead of `url`. */
  twiml?: string;
  /** Our status-callback endpoint; the key is appended as `?key=` (`&key=` when it has a query). */
  statusCallback: string;
  /** Twilio answering-machine detection: `Enable` (default) or `DetectMessageEnd`. */
  machineDetection?: 'Enable' | 'DetectMessageEnd';
  /** Clock for outcome times, epoch ms (injected; default Date.now). */
  now?: () => number;
  /**
   * `waitUrl` of the callback conference: what the confirmed customer hears until the agent joins
   * (TwiML or audio URL). Default: Twilio's default hold music (attribute left out).
   */
  conferenceWaitUrl?: string;
}

/** Escapes text for an XML attribute or element. */
function xml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const INVALID_NUMBER_CODES = new Set(['21211', '21217', '13223', '13224']);

interface CallState {
  callSid: string | null;
  answeredHuman: boolean;
  done: boolean;
  /** The customer pressed 1: the call belongs in the callback conference. */
  ready: boolean;
  /** A ready customer's call ended (reported once). */
  hungUp: boolean;
}

/**
 * The Twilio telephone port (see the module comment). Throws RangeError at construction unless
 * exactly one of `url` / `twiml` is given.
 */
export class TwilioCalls implements TelephonyPort, TwilioWebhooks {
  private readonly o: TwilioCallsOptions;
  private readonly listeners: Array<(r: DialResult) => void> = [];
  private readonly hangupListeners: Array<(h: { key: string; at: number }) => void> = [];
  private readonly placedListeners: Array<(p: { key: string; callSid: string }) => void> = [];
  private readonly calls = new Map<string, CallState>();
  private readonly keyBySid = new Map<string, string>();

  constructor(options: TwilioCallsOptions) {
    if ((options.url === undefined) === (options.twiml === undefined)) throw new RangeError('give exactly one of url or twiml');
    this.o = options;
  }

  onOutcome(listener: (result: DialResult) => void): void {
    this.listeners.push(listener);
  }

  /** Told once per key when a customer who pressed 1 hangs up (their call's final `completed` status callback). */
  onCustomerHangup(listener: (hangup: { key: string; at: number }) => void): void {
    this.hangupListeners.push(listener);
  }

  /**
   * Told once per key when the adapter learns the call's `CallSid`: from the Calls API's create
   * response, or — for a key resumed without one — from the first webhook that carries it.
   */
  onCallPlaced(listener: (placed: { key: string; callSid: string }) => void): void {
    this.placedListeners.push(listener);
  }

  /** Places the call once per key. A refused request becomes an outcome (invalid_number / failed). */
  async dial(request: DialRequest): Promise<void> {
    if (this.calls.has(request.key)) return;
    const state: CallState = { callSid: null, answeredHuman: false, done: false, ready: false, hungUp: false };
    this.calls.set(request.key, state);
    const sep = this.o.statusCallback.includes('?') ? '&' : '?';
    try {
      const call = await this.o.client.calls.create({
        to: request.to,
        from: request.from ?? this.o.defaultFrom,
        ...(this.o.url !== undefined ? { url: this.o.url } : { twiml: this.o.twiml as string }),
        statusCallback: `${this.o.statusCallback}${sep}key=${encodeURIComponent(request.key)}`,
        statusCallbackMethod: 'POST',
        statusCallbackEvent: ['answered', 'completed'],
        timeout: request.ringTimeoutSeconds,
        machineDetection: this.o.machineDetection ?? 'Enable',
      });
      this.learnSid(request.key, state, call.sid);
    } catch (err) {
      const code = String((err as { code?: unknown }).code ?? '');
      this.deliver(request.key, INVALID_NUMBER_CODES.has(code) ? 'invalid_number' : 'failed');
    }
  }

  /**
   * Takes the dials the service still waits on after a restart (see TelephonyPort.resume): each
   * key counts as placed (never dialed again); `dialing` keys await their outcome, `ready` keys
   * their customer's hang-up. Keys already known are kept as they are. Throws RangeError naming
   * the bad field, before taking any entry.
   */
  resume(dials: readonly ResumedDial[]): void {
    checkResumedDials(dials);
    for (const d of dials) {
      if (this.calls.has(d.key)) continue;
      const ready = d.stage === 'ready';
      this.calls.set(d.key, { callSid: d.callSid, answeredHuman: ready, done: ready, ready, hungUp: false });
      if (d.callSid !== null) this.keyBySid.set(d.callSid, d.key);
    }
  }

  /**
   * Ends the call (`Status=completed`) if it is up: still ringing or at the prompt, or a customer
   * who pressed 1 and holds in the callback conference. Unknown keys and ended calls are ignored.
   */
  async hangup(key: string): Promise<void> {
    const state = this.calls.get(key);
    if (state === undefined || state.callSid === null || state.hungUp || (state.done && !state.ready)) return;
    await this.o.client.calls(state.callSid).update({ status: 'completed' });
  }

  /**
   * A Twilio status callback (form parameters: `CallSid`, `CallStatus`, `AnsweredBy`,
   * `ErrorCode`…) for the call of `key` (from our `?key=`; `CallSid` is used when key is absent).
   * Returns the outcome delivered, or null (not final yet, unknown, or already delivered). The
   * final status of a call whose customer pressed 1 (`completed`, `canceled`, `failed`) is
   * reported to the {@link onCustomerHangup} listeners once: the customer left the conference.
   */
  handleStatusCallback(params: Record<string, string | undefined>, key?: string): DialOutcome | null {
    const k = key ?? (params['CallSid'] !== undefined ? this.keyBySid.get(params['CallSid']) : undefined);
    const state = k === undefined ? undefined : this.calls.get(k);
    if (k === undefined || state === undefined) return null;
    this.learnSid(k, state, params['CallSid']);
    if (state.done) {
      const ended = params['CallStatus'] === 'completed' || params['CallStatus'] === 'canceled' || params['CallStatus'] === 'failed';
      if (state.ready && !state.hungUp && ended) {
        state.hungUp = true;
        const at = (this.o.now ?? Date.now)();
        for (const l of this.hangupListeners) l({ key: k, at });
      }
      return null;
    }
    const answeredBy = params['AnsweredBy'] ?? '';
    const machine = answeredBy.startsWith('machine') || answeredBy === 'fax';
    switch (params['CallStatus']) {
      case 'in-progress':
        if (answeredBy === 'human' || answeredBy === 'unknown' || answeredBy === '') state.answeredHuman = true;
        if (machine) return this.deliver(k, 'voicemail');
        return null;
      case 'busy':
        return this.deliver(k, 'busy');
      case 'no-answer':
        return this.deliver(k, 'no_answer');
      case 'canceled':
        return this.deliver(k, 'failed');
      case 'failed':
        return this.deliver(k, INVALID_NUMBER_CODES.has(params['ErrorCode'] ?? '') ? 'invalid_number' : 'failed');
      case 'completed':
        if (machine) return this.deliver(k, 'voicemail');
        return this.deliver(k, 'not_ready');
      default:
        return null;
    }
  }

  /**
   * The digit(s) the customer pressed at the readiness prompt: `1` → ready, anything else →
   * not_ready. `callSid` (the Gather request's `CallSid`) fills in the call id of a resumed dial.
   */
  handleGather(key: string, digits: string | undefined, callSid?: string): DialOutcome | null {
    const state = this.calls.get(key);
    if (state === undefined) return null;
    this.learnSid(key, state, callSid);
    if (state.done) return null;
    state.ready = digits === '1';
    return this.deliver(key, state.ready ? 'ready' : 'not_ready');
  }

  /**
   * The TwiML answering the readiness prompt's Gather for `key`, after {@link handleGather}: a
   * customer who pressed 1 (also when Twilio re-sends the same Gather) joins the callback
   * conference `callbackConferenceName(key)` — `startConferenceOnEnter="false"` so they hear the
   * wait music until the agent's leg (which starts it) joins, `endConferenceOnExit="true"` so the
   * room closes when they hang up (Twilio `<Conference>` noun attributes). Anyone else (another
   * digit, an unknown key, a call that already ended) hears a goodbye and is hung up.
   */
  gatherTwiml(key: string): string {
    const head = '<?xml version="1.0" encoding="UTF-8"?><Response>';
    if (this.calls.get(key)?.ready !== true) return `${head}<Say>We will call you back later. Goodbye.</Say><Hangup/></Response>`;
    const wait = this.o.conferenceWaitUrl === undefined ? '' : ` waitUrl="${xml(this.o.conferenceWaitUrl)}" waitMethod="GET"`;
    return (
      `${head}<Say>Thank you. Please hold for the next agent.</Say>` +
      `<Dial><Conference startConferenceOnEnter="false" endConferenceOnExit="true" beep="false"${wait}>${xml(callbackConferenceName(key))}</Conference></Dial></Response>`
    );
  }

  /** Records the CallSid of a call whose id is not known yet (a dial resumed after a restart). */
  private learnSid(key: string, state: CallState, callSid: string | undefined): void {
    if (state.callSid !== null || callSid === undefined || callSid === '') return;
    state.callSid = callSid;
    this.keyBySid.set(callSid, key);
    for (const l of this.placedListeners) l({ key, callSid });
  }

  private deliver(key: string, outcome: DialOutcome): DialOutcome {
    const state = this.calls.get(key) as CallState;
    state.done = true;
    const r: DialResult = { key, outcome, at: (this.o.now ?? Date.now)(), callSid: state.callSid };
    for (const l of this.listeners) l(r);
    return outcome;
  }
}
