/**
 * The simulated telephone network for INBOUND voice (issue 12 item 4): simulated callers dial one
 * of the center's numbers, hear the flow's prompts, press digits, hold, and hang up when their
 * patience runs out; simulated agents' phones ring, are answered or not, talk and hang up. It is
 * the {@link VoicePort} adapter the simulations and tests use in place of Twilio (the voice port's
 * module comment, src/callflows/voice-port.ts), and it drives the caller side ({@link VoiceInbound})
 * the way Twilio drives our webhooks.
 *
 * It runs on an injected {@link Scheduler}: every delay is a `scheduler.setTimer`, and every promise
 * it awaits from the caller side is passed through `scheduler.track`, so a virtual scheduler never
 * skips time past an answer still being made. Random draws come from one seeded generator
 * (src/util/random.ts): the same seed and the same sequence of requests give the same calls.
 *
 * Timing model (seconds unless said; each is an option):
 * - a `say` lasts max(1, characters / `speechCharsPerSecond`); a `play` lasts `playSeconds` per loop
 *   (`loop` 0, Twilio's "until the call ends", never finishes); hold music is one play;
 * - a gather: its prompt plays, then the caller presses their next digits `answerDelaySeconds` after
 *   the prompt ended, or stays silent and the gather times out `timeoutSeconds` after it; a caller
 *   slower than the gather's timeout counts as silent. A caller may instead answer a flow step's
 *   gather at a time of their own, counted from when they first reached the step
 *   ({@link SimulatedAnswer}): during the prompt if sooner (barge-in), and kept to across repeats
 *   of the prompt (the simulation's callers spend their logged IVR time this way);
 * - agents' phones: a ring time uniform in [`agentRingMinSeconds`, `agentRingMaxSeconds`] (kept
 *   under the request's ring timeout), busy after `agentBusySeconds`, no answer at the ring timeout,
 *   a failure at once; a conversation lasts the caller's `talkSeconds`, else a seeded exponential
 *   draw of mean `talkMeanSeconds`.
 *
 * How answers are played (Twilio's behaviour, simplified):
 * - An answer's verbs are played in order; a new answer replaces whatever was playing. When an
 *   answer runs out outside the queue, the call ends (Twilio hangs up when the TwiML is done).
 * - `gather`: the caller's answer goes to `inbound.gathered` (digits, or null on a timeout) and its
 *   answer is played next. Outside the queue, the caller answers by the gather's step (`answers`),
 *   else from `digits` in order; inside a hold answer a gather is the callback offer, taken when
 *   `acceptCallbackOffer` is set.
 * - `enqueue`: the caller now holds; the verbs after it are not played (while a caller is queued,
 *   Twilio plays only the `waitUrl`'s TwiML). The network asks `inbound.hold` at once and again
 *   each time the hold answer has been played, as Twilio re-requests the `waitUrl`.
 * - `hold` (inside a hold answer): its parts once, then one play of its music (`musicUrl`, or
 *   {@link DEFAULT_HOLD_MUSIC}). A hold answer without a `hold` verb is followed by one play of the
 *   default music, so a holding caller is never asked for in a loop at one instant. A `hold` verb
 *   outside the queue is skipped.
 * - `hangup`: the call ends; the caller's leg reports `completed`.
 * - When `inbound.incoming`, `gathered` or `hold` rejects, the call ends as Twilio's "an application
 *   error has occurred" does (the caller's leg reports `completed`), and the error is recorded.
 *
 * Agents' legs ({@link SimulatedVoiceNetwork.connect}): `initiated`, then `ringing` (not for a busy
 * line or a failure; neither with `reportRinging` off), then `in-progress` when answered. An
 * answered leg is bridged to its caller if that caller is still holding (`inbound.bridged`); the
 * caller stops holding, they talk, and the side named by `wrapHangupBy` hangs up first (that leg's
 * `completed` is reported first). A leg answered when its caller is gone, or bridged elsewhere,
 * ends at once (`completed`). A `call` with no caller talks for a default conversation and completes. `redirect` rings nothing: the caller's
 * own call leaves the queue for the URL, is reported bridged at once (with the caller's CallSid as
 * the leg), and ends after its conversation.
 *
 * Conferences (the `conference` instruction, voice spec A4 P3), kept simple: the caller and the
 * answered worker leg are the room named by the request's `conferenceName` (the task SID).
 * {@link SimulatedVoiceNetwork.participant}
 * changes one participant: on hold, a participant is not talking and — the caller — hears one play
 * of the hold music (`holdUrl`, else {@link DEFAULT_HOLD_MUSIC}; recorded in `heard`); muted, it
 * is not heard; removed, a worker's leg ends (`completed`) and the caller stays in the room with
 * whoever is left (alone if nobody: as on Twilio, until they hang up or are hung up through the
 * port), and a removed caller's call ends. The conversation's length keeps running through holds;
 * when it is over, or the caller hangs up, every leg in the room ends with the caller. Observe a
 * room with {@link SimulatedVoiceNetwork.conference}.
 *
 * Transfers and outbound calls (ConnectRequest `placement`, issue 15): a `join` leg, once answered,
 * enters the caller's live room (the request's `conferenceName`) and is reported bridged — a room
 * whose caller is gone ends it at once; an `outbound` leg opens a room with nobody else in it
 * (reported bridged); a `customer` leg rings the outbound call's customer like an agent's phone
 * ({@link SimulatedVoiceNetwork.scriptAgent} by number) and, answered, makes them the room's
 * caller for `customerTalkSeconds`; their call's statuses are reported as that leg's (with its key).
 *
 * Every report to the caller side about one conversation (a caller and the agents' legs placed for
 * it) is sent in order, each after the previous one settled; conversations do not wait for each
 * other. Times in records and reports are epoch milliseconds of the scheduler.
 */
import type { GatherVerb, PlayVerb, SayVerb, Verb } from '../callflows/model.ts';
import type { CallStatus, ConnectRequest, HangupRequest, ParticipantRequest, VoiceAnswer, VoiceInbound, VoiceInstruction, VoicePort } from '../callflows/voice-port.ts';
import { Random } from '../util/random.ts';
import type { Scheduler, Timer } from '../util/scheduler.ts';

/** The music a holding caller hears when a hold verb names none (Twilio: its classical playlist). */
export const DEFAULT_HOLD_MUSIC = 'simulated:default-hold-music';

/** What an agent's phone does when rung: answers, rings out, is busy, or fails. */
export type AgentPhoneOutcome = 'answer' | 'no-answer' | 'busy' | 'failed';

/** Who ends a conversation first once it has lasted its time. */
export type HangupSide = 'agent' | 'caller';

/** Options of {@link SimulatedVoiceNetwork}. Durations in seconds; rates are probabilities in [0, 1]. */
export interface SimulatedVoiceOptions {
  /** The clock and timers (a `VirtualScheduler` in tests and simulations). */
  scheduler: Scheduler;
  /** Seed of the network's random draws (agents' phones, conversation lengths). Default 1. */
  seed?: number;
  /** `AccountSid` sent with every incoming call. Default `AC` + 32 zeros. */
  accountSid?: string;
  /** Text-to-speech rate: a `say` of n characters lasts max(1, n / rate) seconds. Default 15. */
  speechCharsPerSecond?: number;
  /** One play of an audio file (a `play` loop, one round of hold music), seconds. Default 30. */
  playSeconds?: number;
  /** How long after a gather's prompt ends the caller presses their digits, seconds. Default 1. */
  answerDelaySeconds?: number;
  /** Probability an agent's phone is answered (random outcomes). Default 0.95. */
  agentAnswerRate?: number;
  /** Probability an agent's line is busy (random outcomes); the rest rings out. Default 0.02. */
  agentBusyRate?: number;
  /** Shortest ring before an agent answers, seconds. Default 2. */
  agentRingMinSeconds?: number;
  /** Longest ring before an agent answers, seconds. Default 8. */
  agentRingMaxSeconds?: number;
  /** Delay before a busy line reports `busy`, seconds. Default 1. */
  agentBusySeconds?: number;
  /** Mean of a conversation's length when the caller gives no `talkSeconds` (seeded exponential), seconds. Default 180. */
  talkMeanSeconds?: number;
  /** Who hangs up first when a conversation has lasted its time. Default 'agent'. */
  wrapHangupBy?: HangupSide;
  /** How long an outbound call's customer talks once in the conference, seconds. Default: a draw of mean `talkMeanSeconds`. */
  customerTalkSeconds?: number;
  /**
   * Report agents' legs' `initiated` and `ringing` statuses (default true). Twilio sends a status
   * callback for those only when `StatusCallbackEvent` asks for them; `answered` (`in-progress`) and
   * the final status are always reported. Off halves the reports per leg (long simulations).
   */
  reportRinging?: boolean;
  /** Called with every error the caller side returned (each is also kept in {@link SimulatedVoiceNetwork.errors}). */
  onError?: (error: SimulatedVoiceError) => void;
}

/**
 * A simulated caller ({@link SimulatedVoiceNetwork.placeCall}). Durations in seconds from the
 * moment named.
 */
export interface SimulatedCaller {
  /** The caller's number (E.164). */
  from: string;
  /** The number dialled: one of the center's numbers. */
  to: string;
  /** Extra webhook parameters (`FromCity`, `FromCountry` …), added to the standard ones (and overriding them). */
  parameters?: Record<string, string>;
  /** Answers to the successive gathers outside the queue, in order; '' stays silent; silent once used up. */
  digits?: string[];
  /**
   * Answers by the flow step that asks (the gather verb's `step`), for gathers outside the queue;
   * a gather whose step is named here is answered from it and does not use up `digits`.
   */
  answers?: Record<string, SimulatedAnswer>;
  /** How long the caller holds once enqueued before hanging up (not once bridged). Default Infinity. */
  patienceSeconds?: number;
  /** Hangs up this long after the call started, whatever is happening. Default: never. */
  hangupAfterSeconds?: number;
  /** Takes the callback offer heard while holding (a gather inside a hold answer) by pressing {@link offerKey}. Default false. */
  acceptCallbackOffer?: boolean;
  /** The key pressed to take an offer. Default '1'. */
  offerKey?: string;
  /** How long the conversation lasts once bridged. Default: a draw of mean `talkMeanSeconds`. */
  talkSeconds?: number;
}

/**
 * How a simulated caller answers one flow step's gather ({@link SimulatedCaller.answers}).
 * Seconds.
 */
export interface SimulatedAnswer {
  /** What the caller keys in; '' stays silent. */
  digits: string;
  /**
   * When: this long after the caller first reached the step — during its prompt if that comes
   * sooner (barge-in, as a `<Gather>` with its prompt inside allows) — and kept to while the prompt
   * is repeated for silence; a time past the gather's window (prompt + timeout) is silence at that
   * attempt. Counted afresh once answered. Absent: `answerDelaySeconds` after the prompt ended.
   */
  afterSeconds?: number;
}

/** Something the caller heard: a say, or a play (hold music is a play of its URL). `at` epoch ms. */
export interface HeardVerb {
  at: number;
  verb: SayVerb | PlayVerb;
}

/** One caller's call as the network saw it ({@link SimulatedVoiceNetwork.calls}). Times epoch ms. */
export interface SimulatedCallRecord {
  callSid: string;
  from: string;
  to: string;
  startedAt: number;
  /** Every say and play, when it started, in order (a prompt interrupted by a new answer still counts). */
  heard: HeardVerb[];
  /** Every answer the caller keyed in at a gather (silences are not listed). */
  pressed: Array<{ at: number; digits: string }>;
  /** When the caller began holding (the `enqueue` verb), or null. */
  enqueuedAt: number | null;
  /** When an agent's leg (or a redirect) took the caller, or null. */
  bridgedAt: number | null;
  endedAt: number | null;
  /** The caller, the agent (the end of a conversation, or a redirected call), or the flow (a `hangup` verb, the answer running out, an error, a hang-up through the port). */
  endedBy: 'caller' | 'agent' | 'flow' | null;
  /** CallSids of the agents' legs placed for this caller, in order. */
  workerLegs: string[];
}

/** What became of an agent's leg: null while it rings. */
export type SimulatedLegOutcome = 'answered' | 'no-answer' | 'busy' | 'failed' | 'canceled' | 'redirected';

/** One agent's leg ({@link SimulatedVoiceNetwork.legs}). Times epoch ms. */
export interface SimulatedLegRecord {
  /** The connect request's idempotency key. */
  key: string;
  /** The leg's CallSid; for a `redirect`, the caller's (no leg is placed). */
  callSid: string;
  instruction: VoiceInstruction;
  /** The number rung; for a `redirect`, the URL. */
  to: string;
  from: string;
  callerCallSid: string | null;
  placedAt: number;
  outcome: SimulatedLegOutcome | null;
  answeredAt: number | null;
  endedAt: number | null;
}

/** An error the caller side returned (or one of the network's own answers could not be played). `at` epoch ms. */
export interface SimulatedVoiceError {
  at: number;
  /** The call concerned (the caller's, or an agent's leg), or null. */
  callSid: string | null;
  operation: 'incoming' | 'gathered' | 'hold' | 'legStatus' | 'bridged';
  error: unknown;
}

type Phase = 'ivr' | 'holding' | 'bridged' | 'ended';

interface CallerState {
  record: SimulatedCallRecord;
  spec: SimulatedCaller;
  phase: Phase;
  /** Bumped whenever what the caller hears changes course: answers and timers of an older generation are dropped. */
  gen: number;
  /** The one timer of what is playing now (the next verb, the caller's key press, a gather's timeout). */
  playback: Timer | null;
  patience: Timer | null;
  hangupTimer: Timer | null;
  /** Gathers answered from `digits` so far. */
  digitIndex: number;
  /** Step id → when the caller first reached it (epoch ms), for answers kept to a time ({@link SimulatedAnswer.afterSeconds}). */
  reached: Map<string, number> | null;
  /** The agent's leg (or redirect) the caller is bridged to. */
  bridgedTo: LegState | null;
  /** The conference room the caller is in, or null. */
  room: string | null;
  onHold: boolean;
  muted: boolean;
  /** An outbound call's customer: their leg (placed by `connect`, reported with its key), else null. */
  leg: LegState | null;
}

/** A caller's state as its call starts: nothing playing, no timer, no digit used, in no room — but for `at`. */
function callerState(record: SimulatedCallRecord, spec: SimulatedCaller, phase: Phase, at: Partial<Pick<CallerState, 'bridgedTo' | 'room' | 'leg'>> = {}): CallerState {
  return { record, spec, phase, gen: 0, playback: null, patience: null, hangupTimer: null, digitIndex: 0, reached: null, bridgedTo: null, room: null, onHold: false, muted: false, leg: null, ...at };
}

interface LegState {
  record: SimulatedLegRecord;
  /** The caller the leg was placed for, if the network knows it. */
  caller: CallerState | null;
  state: 'ringing' | 'up' | 'ended';
  /** A `redirect`: the caller's own call, no leg of its own to report. */
  redirect: boolean;
  /** The pending outcome, or the end of the conversation. */
  timer: Timer | null;
  /** A `conference` leg: the room it joins once answered. */
  conference: string | null;
  onHold: boolean;
  muted: boolean;
  /** Where a conference leg goes (ConnectRequest `placement`): `caller` = the caller is moved into a new room. */
  placement: 'caller' | 'join' | 'outbound' | 'customer';
  /** A `customer` leg once answered: the customer's call, in the room as its caller. */
  callee: CallerState | null;
}

/** A conference room: its caller (null while an outbound call's customer is not in yet) and the worker legs in it. */
interface Room {
  caller: CallerState | null;
  legs: LegState[];
}

/** One participant of a simulated conference ({@link SimulatedVoiceNetwork.conference}). */
export interface SimulatedParticipant {
  callSid: string;
  role: 'customer' | 'worker';
  onHold: boolean;
  muted: boolean;
  /** In the room, not on hold, and someone else there is not on hold either. */
  talking: boolean;
}

/** A simulated conference room as it is now: its participants (the caller first). */
export interface SimulatedConference {
  name: string;
  participants: SimulatedParticipant[];
}

/** One step of an answer as played: a sound of some length, listening for a gather, joining the queue, hanging up. */
type Step =
  | { kind: 'sound'; verb: SayVerb | PlayVerb; ms: number }
  /** A gather outside the queue: its prompt, then listening (see {@link SimulatedVoiceNetwork.gather}). */
  | { kind: 'gather'; gather: GatherVerb }
  /** The prompt has ended: the caller answers (`answer`, else from their script) or stays silent. */
  | { kind: 'listen'; gather: GatherVerb; answer?: string }
  | { kind: 'enqueue' }
  | { kind: 'hangup' };

/**
 * The simulated inbound voice network (see the module comment). Place callers with
 * {@link placeCall} after {@link attach}; the voice core reaches agents' phones through
 * {@link connect} and {@link hangup}. Observe with {@link calls}, {@link legs}, {@link duplicates},
 * {@link errors}.
 */
export class SimulatedVoiceNetwork implements VoicePort {
  private readonly scheduler: Scheduler;
  private readonly random: Random;
  private readonly seed: number;
  private readonly o: Required<Omit<SimulatedVoiceOptions, 'scheduler' | 'seed' | 'onError' | 'customerTalkSeconds'>>;
  private readonly customerTalkSeconds: number | undefined;
  private readonly onError: ((error: SimulatedVoiceError) => void) | undefined;
  private inbound: VoiceInbound | null = null;
  private sidSeq = 0;
  private readonly callers = new Map<string, CallerState>();
  private readonly legsByKey = new Map<string, LegState>();
  private readonly legsBySid = new Map<string, LegState>();
  private readonly legOrder: LegState[] = [];
  private readonly rooms = new Map<string, Room>();
  private readonly scripts = new Map<string, AgentPhoneOutcome[]>();
  /** The tail of each conversation's reports (keyed by the caller's CallSid, or the leg's). */
  private readonly chains = new Map<string, Promise<void>>();
  /** `connect` requests ignored because their key was seen before. */
  duplicates = 0;
  private active = 0;
  /** Every error the caller side returned, in order. */
  readonly errors: SimulatedVoiceError[] = [];

  /** Throws RangeError for a rate outside [0, 1], rates summing over 1, a non-positive duration or rate, or ring bounds out of order. */
  constructor(options: SimulatedVoiceOptions) {
    this.scheduler = options.scheduler;
    this.seed = options.seed ?? 1;
    this.random = new Random(this.seed);
    this.onError = options.onError;
    this.customerTalkSeconds = options.customerTalkSeconds;
    if (this.customerTalkSeconds !== undefined && !(this.customerTalkSeconds >= 0 && Number.isFinite(this.customerTalkSeconds))) {
      throw new RangeError(`customerTalkSeconds must be a finite number >= 0, got ${this.customerTalkSeconds}`);
    }
    this.o = {
      accountSid: options.accountSid ?? 'AC' + '0'.repeat(32),
      speechCharsPerSecond: options.speechCharsPerSecond ?? 15,
      playSeconds: options.playSeconds ?? 30,
      answerDelaySeconds: options.answerDelaySeconds ?? 1,
      agentAnswerRate: options.agentAnswerRate ?? 0.95,
      agentBusyRate: options.agentBusyRate ?? 0.02,
      agentRingMinSeconds: options.agentRingMinSeconds ?? 2,
      agentRingMaxSeconds: options.agentRingMaxSeconds ?? 8,
      agentBusySeconds: options.agentBusySeconds ?? 1,
      talkMeanSeconds: options.talkMeanSeconds ?? 180,
      wrapHangupBy: options.wrapHangupBy ?? 'agent',
      reportRinging: options.reportRinging ?? true,
    };
    const o = this.o;
    const rate = (x: number): boolean => x >= 0 && x <= 1;
    if (!rate(o.agentAnswerRate) || !rate(o.agentBusyRate) || o.agentAnswerRate + o.agentBusyRate > 1 + 1e-9) {
      throw new RangeError('agentAnswerRate and agentBusyRate must be rates summing to at most 1');
    }
    for (const [name, v] of [['speechCharsPerSecond', o.speechCharsPerSecond], ['playSeconds', o.playSeconds], ['talkMeanSeconds', o.talkMeanSeconds]] as const) {
      if (!(v > 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a positive number, got ${v}`);
    }
    for (const [name, v] of [['answerDelaySeconds', o.answerDelaySeconds], ['agentRingMinSeconds', o.agentRingMinSeconds], ['agentBusySeconds', o.agentBusySeconds]] as const) {
      if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${name} must be a number >= 0, got ${v}`);
    }
    if (!(o.agentRingMaxSeconds >= o.agentRingMinSeconds) || !Number.isFinite(o.agentRingMaxSeconds)) throw new RangeError('agentRingMaxSeconds must be a number not below agentRingMinSeconds');
    if (o.wrapHangupBy !== 'agent' && o.wrapHangupBy !== 'caller') throw new RangeError(`wrapHangupBy must be 'agent' or 'caller', got ${String(o.wrapHangupBy)}`);
  }

  // ───────────────────────────── the port ─────────────────────────────

  /** Hands the network the caller side. Throws if one is attached (see {@link detach}). */
  attach(inbound: VoiceInbound): void {
    if (this.inbound !== null) throw new Error('SimulatedVoiceNetwork: a VoiceInbound is already attached');
    this.inbound = inbound;
  }

  /**
   * Lets go of the caller side, as when its server stops: the next {@link attach} (the restarted
   * server's) takes over every call and leg in progress. Detach only while no report is in flight
   * (a virtual scheduler's `advance` has returned): one due while detached fails and is recorded
   * in {@link errors}, as Twilio's webhook to a server that is down would.
   */
  detach(): void {
    this.inbound = null;
  }

  /**
   * Places the agent's leg of `request` (see the module comment), unless its key was seen before
   * (then ignored and counted in {@link duplicates}). Returns once the leg is placed; what becomes
   * of it is reported through the caller side. `now` is not used: the network's time is its
   * scheduler's. Rejects when nothing is attached, for a ring timeout that is not a positive
   * number, and for a `redirect` of a call that is not up (as Twilio refuses to redirect an ended
   * call, error 21220) — the key counts as used all the same.
   */
  async connect(request: ConnectRequest, _now: number): Promise<void> {
    this.attached();
    if (this.legsByKey.has(request.key)) {
      this.duplicates += 1;
      return;
    }
    if (!(request.timeoutSeconds > 0)) throw new RangeError(`connect ${request.key}: timeoutSeconds must be a positive number, got ${request.timeoutSeconds}`);
    const now = this.scheduler.now();
    const caller = request.callerCallSid === null ? null : (this.callers.get(request.callerCallSid) ?? null);
    if (request.instruction === 'redirect') {
      this.redirect(request, caller, now);
      return;
    }
    const callSid = this.nextSid();
    const leg: LegState = {
      record: { key: request.key, callSid, instruction: request.instruction, to: request.to, from: request.from, callerCallSid: request.callerCallSid, placedAt: now, outcome: null, answeredAt: null, endedAt: null },
      caller,
      state: 'ringing',
      redirect: false,
      timer: null,
      conference: request.conferenceName ?? (request.instruction === 'conference' ? request.taskSid : null),
      onHold: false,
      muted: false,
      placement: request.placement ?? 'caller',
      callee: null,
    };
    this.legsByKey.set(request.key, leg);
    this.legsBySid.set(callSid, leg);
    this.legOrder.push(leg);
    caller?.record.workerLegs.push(callSid);

    const script = this.scripts.get(request.to);
    const outcome = script !== undefined && script.length > 0 ? (script.shift() as AgentPhoneOutcome) : this.drawOutcome();
    const drawn = this.o.agentRingMinSeconds + this.random.next() * (this.o.agentRingMaxSeconds - this.o.agentRingMinSeconds);
    const ringSeconds = Math.max(0, Math.min(drawn, request.timeoutSeconds - 1));
    if (this.o.reportRinging) this.legStatus(leg, 'initiated');
    switch (outcome) {
      case 'failed':
        this.closeLeg(leg, 'failed');
        break;
      case 'busy':
        leg.timer = this.after(this.o.agentBusySeconds * 1000, () => this.closeLeg(leg, 'busy'));
        break;
      case 'no-answer':
        if (this.o.reportRinging) this.legStatus(leg, 'ringing');
        leg.timer = this.after(request.timeoutSeconds * 1000, () => this.closeLeg(leg, 'no-answer'));
        break;
      case 'answer':
        if (this.o.reportRinging) this.legStatus(leg, 'ringing');
        leg.timer = this.after(ringSeconds * 1000, () => this.legAnswered(leg));
        break;
    }
  }

  /**
   * Ends a leg now: an agent's leg by its connect key or CallSid, or a caller's call by its CallSid.
   * A ringing leg reports `canceled`, an answered one `completed`; the other side of a bridged
   * conversation completes too (the caller's call then ends by 'flow'). Unknown or ended legs are
   * ignored. Rejects when nothing is attached, or when the request names neither a key nor a CallSid.
   */
  async hangup(request: HangupRequest, _now: number): Promise<void> {
    this.attached();
    if (request.key === undefined && request.callSid === undefined) throw new RangeError('hangup needs a key or a callSid');
    const leg = request.key !== undefined ? this.legsByKey.get(request.key) : this.legsBySid.get(request.callSid as string);
    if (leg !== undefined) {
      if (leg.state === 'ended') return;
      if (leg.redirect) {
        if (leg.caller !== null) this.callerGone(leg.caller, 'flow');
        return;
      }
      if (leg.callee !== null) {
        // An outbound call's customer: their call ends, and the room with it.
        this.callerGone(leg.callee, 'flow');
        return;
      }
      const caller = leg.caller;
      const hers = caller !== null && caller.bridgedTo === leg;
      this.closeLeg(leg, leg.state === 'ringing' ? 'canceled' : 'completed');
      // A conversation whose last agent hangs up ends; in a room another agent goes on with the caller.
      if (caller !== null && hers && (caller.bridgedTo === leg || caller.bridgedTo === null) && caller.phase !== 'ended') {
        if (caller.room !== null) this.rooms.delete(caller.room);
        this.closeCaller(caller, 'flow');
      }
      return;
    }
    if (request.key !== undefined) return;
    const caller = this.callers.get(request.callSid as string);
    if (caller !== undefined) this.callerGone(caller, 'flow');
  }

  /**
   * Changes one participant of a room (see the module comment): `update` sets hold (the caller
   * hears one play of the hold music as they are put on hold) and mute; `remove` ends a worker's
   * leg (`completed`) or the caller's call. A room, or a participant, that is not there is
   * ignored (it left: nothing to change). Rejects only when nothing is attached.
   */
  async participant(request: ParticipantRequest, _now: number): Promise<void> {
    this.attached();
    const room = this.rooms.get(request.conferenceName);
    if (room === undefined) return;
    const caller = room.caller !== null && room.caller.record.callSid === request.callSid && room.caller.phase !== 'ended' ? room.caller : null;
    const leg = caller === null ? room.legs.find((l) => l.record.callSid === request.callSid) : undefined;
    if (caller === null && leg === undefined) return;
    if (request.action === 'remove') {
      if (caller !== null) this.callerGone(caller, 'flow');
      else this.closeLeg(leg as LegState, 'completed');
      return;
    }
    const who = caller ?? (leg as LegState);
    if (request.hold !== undefined) {
      if (request.hold && !who.onHold && caller !== null) caller.record.heard.push({ at: this.scheduler.now(), verb: { verb: 'play', url: request.holdUrl ?? DEFAULT_HOLD_MUSIC } });
      who.onHold = request.hold;
    }
    if (request.muted !== undefined) who.muted = request.muted;
  }

  // ───────────────────────────── callers and scripts ─────────────────────────────

  /**
   * A simulated caller dials `caller.to` now: the network asks `inbound.incoming` with Twilio's
   * webhook parameters (`CallSid`, `AccountSid`, `From`, `To`, `CallStatus` ringing, `Direction`
   * inbound, `ApiVersion`, `Caller`, `Called`, then `caller.parameters`) and plays the answer.
   * Returns the caller's CallSid (`CA` + 32 hex digits, a deterministic sequence for the seed).
   * Throws before {@link attach}, and RangeError for a missing number, a negative duration or an
   * endless `talkSeconds`.
   */
  placeCall(caller: SimulatedCaller): string {
    const inbound = this.attached();
    if (typeof caller.from !== 'string' || caller.from === '' || typeof caller.to !== 'string' || caller.to === '') throw new RangeError('a simulated caller needs `from` and `to`');
    for (const name of ['patienceSeconds', 'hangupAfterSeconds', 'talkSeconds'] as const) {
      const v = caller[name];
      if (v !== undefined && !(v >= 0)) throw new RangeError(`${name} must be a number >= 0, got ${v}`);
    }
    if (caller.talkSeconds !== undefined && !Number.isFinite(caller.talkSeconds)) throw new RangeError(`talkSeconds must be finite, got ${caller.talkSeconds}`);
    const now = this.scheduler.now();
    const callSid = this.nextSid();
    const c = callerState(
      { callSid, from: caller.from, to: caller.to, startedAt: now, heard: [], pressed: [], enqueuedAt: null, bridgedAt: null, endedAt: null, endedBy: null, workerLegs: [] },
      { ...caller, digits: [...(caller.digits ?? [])] },
      'ivr',
    );
    this.callers.set(callSid, c);
    this.active += 1;
    if (caller.hangupAfterSeconds !== undefined && Number.isFinite(caller.hangupAfterSeconds)) {
      c.hangupTimer = this.after(caller.hangupAfterSeconds * 1000, () => this.callerGone(c, 'caller'));
    }
    const parameters: Record<string, string> = {
      CallSid: callSid,
      AccountSid: this.o.accountSid,
      From: caller.from,
      To: caller.to,
      CallStatus: 'ringing',
      Direction: 'inbound',
      ApiVersion: '2010-04-01',
      Caller: caller.from,
      Called: caller.to,
      ...caller.parameters,
    };
    this.ask(c, 'incoming', () => inbound.incoming({ callSid, from: caller.from, to: caller.to, parameters }));
    return callSid;
  }

  /** Outcomes for the next legs that ring `to`, used in order before any random outcome. */
  scriptAgent(to: string, outcomes: AgentPhoneOutcome[]): void {
    for (const x of outcomes) if (x !== 'answer' && x !== 'no-answer' && x !== 'busy' && x !== 'failed') throw new RangeError(`unknown agent phone outcome ${String(x)}`);
    this.scripts.set(to, [...(this.scripts.get(to) ?? []), ...outcomes]);
  }

  // ───────────────────────────── observing ─────────────────────────────

  /** Callers' calls placed and not ended yet. */
  get activeCalls(): number {
    return this.active;
  }

  /** Every caller's call, in the order placed (copies). */
  calls(): SimulatedCallRecord[] {
    return [...this.callers.values()].map((c) => structuredClone(c.record));
  }

  /** One caller's call (a copy), or undefined. */
  call(callSid: string): SimulatedCallRecord | undefined {
    const c = this.callers.get(callSid);
    return c === undefined ? undefined : structuredClone(c.record);
  }

  /** The room named `name` as it is now (the caller first, then the worker legs in the order they joined), or undefined when there is none. */
  conference(name: string): SimulatedConference | undefined {
    const room = this.rooms.get(name);
    if (room === undefined) return undefined;
    const present: Array<{ callSid: string; role: 'customer' | 'worker'; onHold: boolean; muted: boolean }> = [];
    if (room.caller !== null && room.caller.phase !== 'ended') present.push({ callSid: room.caller.record.callSid, role: 'customer', onHold: room.caller.onHold, muted: room.caller.muted });
    for (const l of room.legs) present.push({ callSid: l.record.callSid, role: 'worker', onHold: l.onHold, muted: l.muted });
    const participants = present.map((p) => ({ ...p, talking: !p.onHold && present.some((o) => o !== p && !o.onHold) }));
    return { name, participants };
  }

  /** Every agent's leg (and redirect), in the order placed (copies). */
  legs(): SimulatedLegRecord[] {
    return this.legOrder.map((l) => structuredClone(l.record));
  }

  /** Seconds from the start of a caller's call to its enqueue, or null if it never held. Throws RangeError for an unknown CallSid. */
  ivrSeconds(callSid: string): number | null {
    const c = this.callers.get(callSid);
    if (c === undefined) throw new RangeError(`no simulated call ${callSid}`);
    return c.record.enqueuedAt === null ? null : (c.record.enqueuedAt - c.record.startedAt) / 1000;
  }

  // ───────────────────────────── playing answers ─────────────────────────────

  /** Sends a request whose answer the caller hears next; a stale answer (the call moved on meanwhile) is dropped. */
  private ask(c: CallerState, operation: 'incoming' | 'gathered' | 'hold', request: () => Promise<VoiceAnswer>): void {
    const gen = c.gen;
    const callSid = c.record.callSid;
    this.send(callSid, callSid, operation, request, (answer) => {
      if (c.gen !== gen || c.phase === 'ended' || c.phase === 'bridged') return;
      this.play(c, answer.verbs);
    }, () => {
      // Twilio: "an application error has occurred", then it hangs up.
      if (c.gen === gen && c.phase !== 'ended' && c.phase !== 'bridged') this.closeCaller(c, 'flow');
    });
  }

  /** Plays `verbs` from the start, replacing what was playing. */
  private play(c: CallerState, verbs: Verb[]): void {
    this.stopPlayback(c);
    this.step(c, c.gen, this.steps(verbs, c.phase === 'holding'), 0);
  }

  /** An answer as the caller hears it (see the module comment for what is skipped). */
  private steps(verbs: Verb[], holding: boolean): Step[] {
    const out: Step[] = [];
    const sound = (v: SayVerb | PlayVerb): void => {
      out.push({ kind: 'sound', verb: v, ms: v.verb === 'say' ? this.sayMs(v.text) : this.playMs(v.loop) });
    };
    const gather = (g: GatherVerb): void => {
      if (!holding) {
        out.push({ kind: 'gather', gather: g });
        return;
      }
      for (const p of g.prompt) sound(p);
      out.push({ kind: 'listen', gather: g });
    };
    let music = false;
    for (const v of verbs) {
      switch (v.verb) {
        case 'say':
        case 'play':
          sound(v);
          break;
        case 'gather':
          gather(v);
          break;
        case 'hold':
          if (!holding) break;
          for (const p of v.parts) {
            if (p.verb === 'gather') gather(p);
            else sound(p);
          }
          sound({ verb: 'play', url: v.musicUrl ?? DEFAULT_HOLD_MUSIC });
          music = true;
          break;
        case 'enqueue':
          if (holding) break;
          out.push({ kind: 'enqueue' });
          return out;
        case 'hangup':
          out.push({ kind: 'hangup' });
          return out;
      }
    }
    if (holding && !music) sound({ verb: 'play', url: DEFAULT_HOLD_MUSIC });
    return out;
  }

  private step(c: CallerState, gen: number, steps: Step[], i: number): void {
    if (c.gen !== gen || c.phase === 'ended' || c.phase === 'bridged') return;
    const s = steps[i];
    if (s === undefined) {
      if (c.phase === 'holding') this.ask(c, 'hold', () => (this.inbound as VoiceInbound).hold(c.record.callSid));
      else this.closeCaller(c, 'flow');
      return;
    }
    switch (s.kind) {
      case 'sound':
        c.record.heard.push({ at: this.scheduler.now(), verb: structuredClone(s.verb) });
        if (Number.isFinite(s.ms)) c.playback = this.after(s.ms, () => this.step(c, gen, steps, i + 1));
        break;
      case 'gather':
        this.gather(c, gen, s.gather, steps, i);
        break;
      case 'listen':
        this.listen(c, gen, s.gather, s.answer);
        break;
      case 'enqueue':
        this.enqueued(c);
        break;
      case 'hangup':
        this.closeCaller(c, 'flow');
        break;
    }
  }

  /**
   * A gather outside the queue begins. Answered by its step ({@link SimulatedCaller.answers}) at a
   * time that falls inside this attempt's window: the prompt parts that began by then are heard and
   * the caller keys in at that time (barge-in). Otherwise its prompt plays, then {@link listen}.
   */
  private gather(c: CallerState, gen: number, g: GatherVerb, steps: Step[], i: number): void {
    const step = g.step ?? '';
    const keyed = c.spec.answers?.[step];
    const prompt: Step[] = g.prompt.map((p) => ({ kind: 'sound', verb: p, ms: p.verb === 'say' ? this.sayMs(p.text) : this.playMs(p.loop) }));
    if (keyed !== undefined && keyed.afterSeconds !== undefined && keyed.digits !== '') {
      const now = this.scheduler.now();
      c.reached ??= new Map();
      const first = c.reached.get(step) ?? now;
      c.reached.set(step, first);
      const due = Math.max(now, first + Math.round(keyed.afterSeconds * 1000));
      let at = now;
      for (const p of prompt as Array<Extract<Step, { kind: 'sound' }>>) {
        if (at > due) break;
        c.record.heard.push({ at, verb: structuredClone(p.verb) });
        at += p.ms;
      }
      if (due < at + g.timeoutSeconds * 1000) {
        const digits = g.input === 'dtmf' && g.numDigits !== null ? keyed.digits.slice(0, g.numDigits) : keyed.digits;
        c.playback = this.after(due - now, () => {
          if (c.gen !== gen || c.phase === 'ended' || c.phase === 'bridged') return;
          c.reached?.delete(step);
          this.press(c, g, digits);
        });
        return;
      }
      // Not by the end of this attempt: silent until its timeout (the prompt was heard above).
      c.playback = this.after(at + g.timeoutSeconds * 1000 - now, () => {
        if (c.gen !== gen || c.phase === 'ended' || c.phase === 'bridged') return;
        this.ask(c, 'gathered', () => (this.inbound as VoiceInbound).gathered(c.record.callSid, null));
      });
      return;
    }
    const listen: Step = keyed === undefined ? { kind: 'listen', gather: g } : { kind: 'listen', gather: g, answer: keyed.digits };
    this.step(c, gen, [...prompt, listen, ...steps.slice(i + 1)], 0);
  }

  /** The caller keys `answer` in now. */
  private press(c: CallerState, g: GatherVerb, answer: string): void {
    c.record.pressed.push({ at: this.scheduler.now(), digits: answer });
    const given = g.input === 'speech' ? { speech: answer } : { digits: answer };
    this.ask(c, 'gathered', () => (this.inbound as VoiceInbound).gathered(c.record.callSid, given));
  }

  /** A gather's prompt has ended: the caller keys in their answer, or stays silent until the timeout. */
  private listen(c: CallerState, gen: number, g: GatherVerb, keyed?: string): void {
    let answer: string;
    if (c.phase === 'holding') answer = c.spec.acceptCallbackOffer === true ? (c.spec.offerKey ?? '1') : '';
    else answer = keyed ?? c.spec.digits?.[c.digitIndex++] ?? '';
    if (g.input === 'dtmf' && g.numDigits !== null && answer.length > g.numDigits) answer = answer.slice(0, g.numDigits);
    const callSid = c.record.callSid;
    if (answer !== '' && this.o.answerDelaySeconds < g.timeoutSeconds) {
      c.playback = this.after(this.o.answerDelaySeconds * 1000, () => {
        if (c.gen !== gen || c.phase === 'ended' || c.phase === 'bridged') return;
        this.press(c, g, answer);
      });
    } else {
      c.playback = this.after(g.timeoutSeconds * 1000, () => {
        if (c.gen !== gen || c.phase === 'ended' || c.phase === 'bridged') return;
        // The caller side as it is when the gather times out (a restarted server's, after detach/attach).
        this.ask(c, 'gathered', () => (this.inbound as VoiceInbound).gathered(callSid, null));
      });
    }
  }

  /** The caller joins the queue: patience starts, and the hold is asked for. */
  private enqueued(c: CallerState): void {
    c.phase = 'holding';
    c.record.enqueuedAt = this.scheduler.now();
    const patience = c.spec.patienceSeconds ?? Infinity;
    if (Number.isFinite(patience)) {
      c.patience = this.after(patience * 1000, () => {
        if (c.phase === 'holding') this.callerGone(c, 'caller');
      });
    }
    this.ask(c, 'hold', () => (this.inbound as VoiceInbound).hold(c.record.callSid));
  }

  private stopPlayback(c: CallerState): void {
    c.playback?.cancel();
    c.playback = null;
    c.gen += 1;
  }

  // ───────────────────────────── agents' legs ─────────────────────────────

  private redirect(request: ConnectRequest, caller: CallerState | null, now: number): void {
    if (caller === null || caller.phase === 'ended' || caller.phase === 'bridged') {
      const refused: LegState = {
        record: { key: request.key, callSid: request.callerCallSid ?? '', instruction: 'redirect', to: request.url ?? '', from: request.from, callerCallSid: request.callerCallSid, placedAt: now, outcome: 'failed', answeredAt: null, endedAt: now },
        caller,
        state: 'ended',
        redirect: true,
        timer: null,
        conference: null,
        onHold: false,
        muted: false,
        placement: 'caller',
        callee: null,
      };
      this.legsByKey.set(request.key, refused);
      this.legOrder.push(refused);
      throw new Error(`connect ${request.key}: call ${request.callerCallSid ?? '(none)'} is not in progress, it cannot be redirected`);
    }
    const leg: LegState = {
      record: { key: request.key, callSid: caller.record.callSid, instruction: 'redirect', to: request.url ?? '', from: request.from, callerCallSid: caller.record.callSid, placedAt: now, outcome: 'redirected', answeredAt: now, endedAt: null },
      caller,
      state: 'up',
      redirect: true,
      timer: null,
      conference: null,
      onHold: false,
      muted: false,
      placement: 'caller',
      callee: null,
    };
    this.legsByKey.set(request.key, leg);
    this.legOrder.push(leg);
    this.bridge(caller, leg);
  }

  /** An agent answered: bridge to the holding caller, talk without one, or end at once. */
  private legAnswered(leg: LegState): void {
    leg.timer = null;
    leg.state = 'up';
    leg.record.answeredAt = this.scheduler.now();
    leg.record.outcome = 'answered';
    this.legStatus(leg, 'in-progress');
    if (leg.placement !== 'caller') {
      this.joinRoom(leg);
      return;
    }
    const caller = leg.caller;
    if (leg.record.callerCallSid === null) {
      leg.timer = this.after(this.talkMs(undefined), () => this.closeLeg(leg, 'completed'));
    } else if (caller !== null && caller.phase === 'holding') {
      this.bridge(caller, leg);
    } else {
      this.closeLeg(leg, 'completed');
    }
  }

  /**
   * An answered leg goes into its conference (issue 15; ConnectRequest `placement`): `join` — the
   * caller's live room, if the caller is still in it (the leg is reported bridged; with no other
   * worker there the conversation's clock moves to it), else the leg ends at once; `outbound` — a
   * new room with nobody else yet (reported bridged); `customer` — the outbound call's customer
   * enters the room its worker opened, as its caller, and they talk (a room with no worker left:
   * the customer's call ends at once).
   */
  private joinRoom(leg: LegState): void {
    const name = leg.conference ?? '';
    const room = this.rooms.get(name);
    const now = this.scheduler.now();
    const { key, callSid } = leg.record;
    if (leg.placement === 'outbound') {
      this.rooms.set(name, { caller: null, legs: [leg] });
      this.send(callSid, callSid, 'bridged', () => (this.inbound as VoiceInbound).bridged(key, callSid, now));
      return;
    }
    if (leg.placement === 'join') {
      const caller = room?.caller ?? null;
      if (room === undefined || caller === null || caller.phase === 'ended') {
        this.closeLeg(leg, 'completed');
        return;
      }
      leg.caller = caller;
      room.legs.push(leg);
      caller.record.workerLegs.push(callSid);
      this.send(caller.record.callSid, callSid, 'bridged', () => (this.inbound as VoiceInbound).bridged(key, callSid, now));
      if (caller.bridgedTo === null) {
        caller.bridgedTo = leg;
        this.talk(caller, leg, this.talkMs(caller.spec.talkSeconds));
      }
      return;
    }
    // The customer of an outbound call.
    const worker = room?.legs[0];
    if (room === undefined || room.caller !== null || worker === undefined) {
      this.closeLeg(leg, 'completed');
      return;
    }
    const c = callerState(
      { callSid, from: leg.record.from, to: leg.record.to, startedAt: leg.record.placedAt, heard: [], pressed: [], enqueuedAt: null, bridgedAt: now, endedAt: null, endedBy: null, workerLegs: room.legs.map((l) => l.record.callSid) },
      { from: leg.record.from, to: leg.record.to, ...(this.customerTalkSeconds === undefined ? {} : { talkSeconds: this.customerTalkSeconds }) },
      'bridged',
      { bridgedTo: worker, room: name, leg },
    );
    leg.callee = c;
    this.callers.set(callSid, c);
    this.active += 1;
    room.caller = c;
    for (const l of room.legs) l.caller = c;
    this.talk(c, worker, this.talkMs(c.spec.talkSeconds));
  }

  /** The caller leaves the queue for `leg`: they talk, then the conversation ends (module comment). */
  private bridge(caller: CallerState, leg: LegState): void {
    const now = this.scheduler.now();
    this.stopPlayback(caller);
    caller.patience?.cancel();
    caller.patience = null;
    caller.phase = 'bridged';
    caller.bridgedTo = leg;
    caller.record.bridgedAt = now;
    const key = leg.record.key;
    const sid = leg.record.callSid;
    this.send(caller.record.callSid, sid, 'bridged', () => (this.inbound as VoiceInbound).bridged(key, sid, now));
    if (leg.conference !== null) {
      caller.room = leg.conference;
      this.rooms.set(leg.conference, { caller, legs: [leg] });
    }
    this.talk(caller, leg, this.talkMs(caller.spec.talkSeconds));
  }

  /** The conversation of `caller` ends in `ms`, timed on `leg`: then every leg in it and the caller end (who first: `wrapHangupBy`). */
  private talk(caller: CallerState, leg: LegState, ms: number): void {
    leg.timer = this.after(ms, () => {
      leg.timer = null;
      const room = caller.room === null ? undefined : this.rooms.get(caller.room);
      const legs = room === undefined ? [leg] : [...room.legs];
      if (caller.room !== null) this.rooms.delete(caller.room);
      if (this.o.wrapHangupBy === 'agent') {
        for (const l of legs) this.closeLeg(l, 'completed');
        this.closeCaller(caller, 'agent');
      } else {
        this.closeCaller(caller, 'caller');
        for (const l of legs) this.closeLeg(l, 'completed');
      }
    });
  }

  /**
   * A worker leg leaves its room: the conversation's clock moves to a leg still there (afresh);
   * with nobody left the caller stays alone in the room. A room whose caller is gone is closed.
   */
  private leaveRoom(leg: LegState): void {
    const room = leg.conference === null ? undefined : this.rooms.get(leg.conference);
    if (room === undefined || !room.legs.includes(leg)) return;
    room.legs = room.legs.filter((l) => l !== leg);
    const caller = room.caller;
    if (caller === null || caller.phase === 'ended') {
      if (room.legs.length === 0) this.rooms.delete(leg.conference as string);
      return;
    }
    if (caller.bridgedTo !== leg) return;
    const next = room.legs[0] ?? null;
    caller.bridgedTo = next;
    if (next !== null && next.timer === null) this.talk(caller, next, this.talkMs(caller.spec.talkSeconds));
  }

  /** Ends a leg (no cascade) and reports its final status; a redirect has no status of its own. */
  private closeLeg(leg: LegState, status: Extract<CallStatus, 'completed' | 'busy' | 'failed' | 'no-answer' | 'canceled'>): void {
    if (leg.state === 'ended') return;
    leg.timer?.cancel();
    leg.timer = null;
    leg.state = 'ended';
    leg.record.endedAt = this.scheduler.now();
    if (status !== 'completed') leg.record.outcome = status;
    this.leaveRoom(leg);
    if (!leg.redirect) this.legStatus(leg, status);
  }

  /** The caller's call ends (hang-up by the caller, by `by`); a bridged leg completes after it. */
  private callerGone(c: CallerState, by: 'caller' | 'flow'): void {
    if (c.phase === 'ended') return;
    const room = c.room === null ? undefined : this.rooms.get(c.room);
    const legs = room !== undefined ? [...room.legs] : c.bridgedTo !== null ? [c.bridgedTo] : [];
    if (c.room !== null) this.rooms.delete(c.room);
    this.closeCaller(c, by);
    for (const leg of legs) this.closeLeg(leg, 'completed');
  }

  /** Ends the caller's call (no cascade) and reports its leg `completed`. */
  private closeCaller(c: CallerState, by: 'caller' | 'agent' | 'flow'): void {
    if (c.phase === 'ended') return;
    this.stopPlayback(c);
    c.patience?.cancel();
    c.hangupTimer?.cancel();
    c.patience = null;
    c.hangupTimer = null;
    c.phase = 'ended';
    this.active -= 1;
    const at = this.scheduler.now();
    c.record.endedAt = at;
    c.record.endedBy = by;
    const callSid = c.record.callSid;
    if (c.leg !== null) {
      // An outbound call's customer: reported as the leg placed for them (with its key).
      const leg = c.leg;
      leg.timer?.cancel();
      leg.timer = null;
      leg.state = 'ended';
      leg.record.endedAt = at;
      this.legStatus(leg, 'completed');
      return;
    }
    this.send(callSid, callSid, 'legStatus', () => (this.inbound as VoiceInbound).legStatus({ callSid, status: 'completed', at }));
  }

  private legStatus(leg: LegState, status: CallStatus): void {
    const at = this.scheduler.now();
    const { callSid, key } = leg.record;
    this.send(leg.caller?.record.callSid ?? callSid, callSid, 'legStatus', () => (this.inbound as VoiceInbound).legStatus({ callSid, key, status, at }));
  }

  private drawOutcome(): AgentPhoneOutcome {
    const x = this.random.next();
    if (x < this.o.agentAnswerRate) return 'answer';
    if (x < this.o.agentAnswerRate + this.o.agentBusyRate) return 'busy';
    return 'no-answer';
  }

  // ───────────────────────────── plumbing ─────────────────────────────

  /**
   * Sends one request to the caller side after the conversation's previous one settled, tracked by
   * the scheduler. A rejection is recorded (and `failed` run); nothing here ever rejects.
   */
  private send<T>(chain: string, callSid: string | null, operation: SimulatedVoiceError['operation'], request: () => Promise<T>, then?: (value: T) => void, failed?: () => void): void {
    const previous = this.chains.get(chain) ?? Promise.resolve();
    const link = previous.then(async () => {
      let value: T;
      try {
        value = await request();
      } catch (error) {
        this.fail({ at: this.scheduler.now(), callSid, operation, error });
        try {
          failed?.();
        } catch (inner) {
          this.fail({ at: this.scheduler.now(), callSid, operation, error: inner });
        }
        return;
      }
      try {
        then?.(value);
      } catch (error) {
        this.fail({ at: this.scheduler.now(), callSid, operation, error });
      }
    });
    this.chains.set(chain, link);
    void this.scheduler.track(link).then(() => {
      if (this.chains.get(chain) === link) this.chains.delete(chain);
    });
  }

  private fail(e: SimulatedVoiceError): void {
    this.errors.push(e);
    if (this.onError !== undefined) {
      try {
        this.onError(e);
      } catch {
        // A listener's own failure must not become an unhandled rejection; the error is kept above.
      }
    }
  }

  private after(ms: number, callback: () => void): Timer {
    return this.scheduler.setTimer(callback, Math.round(ms));
  }

  private attached(): VoiceInbound {
    if (this.inbound === null) throw new Error('SimulatedVoiceNetwork: attach a VoiceInbound first');
    return this.inbound;
  }

  /** `CA` + 8 hex digits of the seed + 24 of a counter. */
  private nextSid(): string {
    this.sidSeq += 1;
    return 'CA' + (this.seed >>> 0).toString(16).padStart(8, '0') + this.sidSeq.toString(16).padStart(24, '0');
  }

  /** A say's length, ms. */
  private sayMs(text: string): number {
    return Math.round(Math.max(1, text.length / this.o.speechCharsPerSecond) * 1000);
  }

  /** A play's length, ms: `loop` plays (default 1); `loop` 0 never ends (Infinity). */
  private playMs(loop: number | undefined): number {
    const n = loop ?? 1;
    return n === 0 ? Infinity : Math.round(n * this.o.playSeconds * 1000);
  }

  /** A conversation's length, ms: the caller's, else the seeded exponential draw (at least 1 s). */
  private talkMs(talkSeconds: number | undefined): number {
    return Math.round((talkSeconds ?? Math.max(1, this.random.exponential(this.o.talkMeanSeconds))) * 1000);
  }
}
