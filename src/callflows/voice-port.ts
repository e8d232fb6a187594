/**
 * The voice port: how the voice core meets a telephone network, both ways (spec
 * voice-worker-sdk-console.md A3–A5; docs/voice.md "Telephony"). Two adapters implement it: Twilio
 * Programmable Voice (src/voice/twilio-voice.ts: TwiML answers to its webhooks, the Calls, Queue
 * Members and Conference Participants APIs through the official `twilio` client) and the simulated
 * network (src/voice/simulated-voice.ts: simulated callers and agents' phones in virtual time).
 *
 * - Caller side ({@link VoiceInbound}, implemented by the runtime's voice hosting): the network
 *   tells the core what a caller did and gets back the {@link Verb}s to play, as Twilio asks its
 *   Voice URL, gather `action` and `<Enqueue waitUrl>` for TwiML. The answer is given once the
 *   turn that made it is durable.
 * - Agent side ({@link VoicePort}, implemented by each adapter): what the core asks of the network —
 *   place a worker's leg for a reservation's instruction and bridge it to the caller, end a leg —
 *   written as outbox rows in the turn that decided it and delivered by the one dispatcher:
 *   `connect` at most once per idempotency key (its row is taken durably before the port is
 *   called), `hangup` at least once. What becomes of a leg comes back through
 *   {@link VoiceInbound.legStatus} and {@link VoiceInbound.bridged}, carrying the key. On a
 *   conference bridge (the `conference` instruction, pattern P3), `participant` holds, mutes or
 *   removes one participant (the customer or a worker's leg): at least once, idempotent (it sets
 *   a state; a removal of a participant who is gone does nothing). A removed leg reports its end
 *   through {@link VoiceInbound.legStatus} like any other. A conference leg may also join a LIVE
 *   conference (a transfer's target), open one with nobody in it (an outbound call's worker), or be
 *   the customer dialed into it (an outbound call): {@link ConnectRequest.placement}.
 *
 * Plain types only: no I/O here. Times are epoch milliseconds.
 */
import type { Verb } from './model.ts';

/** The instructions that place a worker's leg (TR-spec §8, voice spec A2). */
export type VoiceInstruction = 'dequeue' | 'call' | 'redirect' | 'conference';

/**
 * A call's status as Twilio names it (`CallStatus`, api v2010 call.d.ts): `initiated` and `ringing`
 * while it rings, `in-progress` once answered, then exactly one of the final ones.
 */
export type CallStatus = 'queued' | 'initiated' | 'ringing' | 'in-progress' | 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled';

/** The final call statuses. */
export const FINAL_CALL_STATUSES: readonly CallStatus[] = ['completed', 'busy', 'failed', 'no-answer', 'canceled'];

/** An inbound call, as the incoming-call webhook describes it (A1 step 1). */
export interface IncomingCall {
  /** The network's id of the caller's leg (`CA…` on Twilio). */
  callSid: string;
  /** The caller's number (E.164, `client:…` or a SIP URI). */
  from: string;
  /** The number called: one of the center's phone numbers. */
  to: string;
  /**
   * Every webhook parameter as the network names it (`CallSid`, `AccountSid`, `From`, `To`,
   * `CallStatus`, `Direction`, `FromCity` …): they become the task's attributes in snake_case.
   */
  parameters: Record<string, string>;
}

/** What the caller hears next: the answer to the network's request (Twilio renders it as TwiML). */
export interface VoiceAnswer {
  verbs: Verb[];
  /**
   * Set when the call is not one the core can handle (an unknown number, a flow that failed):
   * `verbs` then say so and hang up, and an alert is raised with this text.
   */
  refused?: string;
}

/** What the network reports about one leg (Twilio: a status callback; the simulated network: its own clock). */
export interface LegStatusUpdate {
  /** The leg's call id. */
  callSid: string;
  /** The connect request's idempotency key, for a worker's leg placed by {@link VoicePort.connect}; absent for a caller's leg. */
  key?: string;
  status: CallStatus;
  /** When it happened, epoch ms (the network's time; virtual time for the simulated network). */
  at: number;
}

/**
 * The caller side, implemented by the runtime's voice hosting (src/runtime/voice-hosting.ts). Every
 * method resolves once what it changed is durable; none rejects for an unknown call (the answer
 * is then a polite refusal, or nothing).
 */
export interface VoiceInbound {
  /** A call came in. Unknown number or workspace → a refusal (`<Say>` + `<Hangup>`). */
  incoming(call: IncomingCall): Promise<VoiceAnswer>;
  /** The caller's answer to the pending gather: digits or speech, or null when it timed out. */
  gathered(callSid: string, answer: { digits?: string; speech?: string } | null): Promise<VoiceAnswer>;
  /**
   * What a holding caller hears next (`<Enqueue waitUrl>`; re-asked each time the last answer has
   * been played): the announcements due since the last ask, then the music.
   */
  hold(callSid: string): Promise<VoiceAnswer>;
  /** A leg's status changed (caller or worker). A final status of the caller's leg is the caller hanging up. */
  legStatus(update: LegStatusUpdate): Promise<void>;
  /** The worker's leg of `key` is bridged to the caller (Twilio: the `<Dial><Queue url>` request; a participant joined). */
  bridged(key: string, workerCallSid: string, at: number): Promise<void>;
}

/**
 * Place a worker's leg for a reservation (one per instruction; see docs/voice.md "Patterns" for
 * how each adapter carries out each instruction).
 */
export interface ConnectRequest {
  /** Idempotency key: `<reservation SID>:<instruction>`; the adapter places at most one leg per key. */
  key: string;
  instruction: VoiceInstruction;
  accountSid: string;
  workspaceSid: string;
  taskSid: string;
  reservationSid: string;
  workerSid: string;
  /** The caller's leg (the task's `call_sid` attribute); null for `call` without one. */
  callerCallSid: string | null;
  /** Whom to ring (`to`; default the worker's `contact_uri`). */
  to: string;
  /** Caller ID shown to the worker (`from`). */
  from: string;
  /** Seconds to ring before giving up (`timeout`, 1–999). */
  timeoutSeconds: number;
  /** `call`: TwiML URL run on the worker's leg; `redirect`: the URL the caller's leg is sent to. */
  url?: string;
  /** The conference's name (`conference`: the task SID; a join: the live conference's, the original task's SID). */
  conferenceName?: string;
  /**
   * Where the leg goes, for a conference (src/callflows/bridges.ts `Placement`; absent = the
   * worker's leg starts the room and the holding caller is moved into it once it answers):
   * - `join`: the worker's leg joins the LIVE conference `conferenceName` (a transfer); joining is
   *   the bridge (report {@link VoiceInbound.bridged} once the leg is in);
   * - `outbound`: the worker's leg starts the conference with nobody in it yet (an outbound call);
   *   joining is the bridge;
   * - `customer`: the customer's leg of an outbound call, dialed into `conferenceName` (`to`: the
   *   customer, `from`: the caller ID); its statuses come back through
   *   {@link VoiceInbound.legStatus} with this key (`in-progress` once answered).
   */
  placement?: 'join' | 'outbound' | 'customer';
  /** `record` as given (`record-from-answer`, `true` …), or absent. */
  record?: string;
  /** Every other parameter of the instruction as given (snake_case → string), for adapters that pass them on. */
  parameters: Record<string, string>;
}

/** End a leg: by the key of the connect that placed it, or by call id (a caller's leg). */
export interface HangupRequest {
  key?: string;
  callSid?: string;
}

/** Whose leg a {@link ParticipantRequest} acts on: the caller's, or a worker's. */
export type ParticipantRole = 'customer' | 'worker';

/**
 * Change one participant of a conference bridge (voice spec A3: the Conference Participants API's
 * update — `Hold`, `HoldUrl`, `HoldMethod`, `Muted`, `EndConferenceOnExit`, `BeepOnExit` — and
 * delete). Only the fields given are changed. Carried out at least once: each is a state to set,
 * so a repeat changes nothing.
 */
export interface ParticipantRequest {
  /** The conference bridge's key (`<reservation SID>:conference`): orders it after that bridge's connect. */
  key: string;
  /** The conference's name (the task SID; Twilio's `FriendlyName`). */
  conferenceName: string;
  /** The participant's call (`CA…`). */
  callSid: string;
  role: ParticipantRole;
  /** `update` sets the fields below; `remove` takes the participant out (its call ends, Twilio's "kick"). */
  action: 'update' | 'remove';
  /** On hold (hears `holdUrl`, is not heard) or back in the conference. */
  hold?: boolean;
  /** What a held participant hears (Twilio's default music when absent), and the method it is fetched with (`GET`/`POST`). */
  holdUrl?: string;
  holdMethod?: 'GET' | 'POST';
  /** Muted: heard by nobody, still hears the conference. */
  muted?: boolean;
  /** Whether this participant leaving ends the conference. */
  endConferenceOnExit?: boolean;
  /** Whether the others hear a beep when this participant leaves. */
  beepOnExit?: boolean;
}

/** The agent side, implemented by each telephony adapter (see the module comment). */
export interface VoicePort {
  /** Places the worker's leg of `request` unless its key was seen before. Rejects with the network's error (the row is not retried: at most once). */
  connect(request: ConnectRequest, now: number): Promise<void>;
  /** Ends a leg if it is up; unknown ones are ignored. Rejects with the network's error (retried). */
  hangup(request: HangupRequest, now: number): Promise<void>;
  /**
   * Holds, mutes or removes a participant of a conference bridge ({@link ParticipantRequest}).
   * A participant (or conference) that is gone is ignored. Rejects with the network's error
   * (retried: at least once).
   */
  participant(request: ParticipantRequest, now: number): Promise<void>;
  /** Hands the port the caller side, once, before any call. */
  attach(inbound: VoiceInbound): void;
}
