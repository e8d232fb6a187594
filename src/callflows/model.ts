/**
 * The call-flow interpreter's plain data: what comes in (inputs, each with its instant), what goes
 * out (events, effects, and the instructions an adapter renders as TwiML), and one call's state.
 * Times are epoch milliseconds unless a name says seconds.
 */
import type { OfferDecision } from '../callbacks/offer.ts';
import type { Command } from '../engine/commands.ts';
import type { JsonValue } from './flow.ts';

export type CreateTaskCommand = Extract<Command, { type: 'createTask' }>;
export type UpdateTaskCommand = Extract<Command, { type: 'updateTask' }>;

/** A spoken or played part. */
export type SayVerb = { verb: 'say'; text: string; voice?: string; language?: string };
export type PlayVerb = { verb: 'play'; url: string; loop?: number };
/**
 * Reads digits or speech, prompt inside; the telephony answers with `gathered` or `gather_timeout`.
 * `step`: the id of the flow step that asks (a `gather` or `offer_callback` step; for the offer
 * made while holding, the `enqueue` step) — not rendered as TwiML; a simulated caller answers by it. Always set by the interpreter.
 */
export type GatherVerb = { verb: 'gather'; step?: string; input: 'dtmf' | 'speech' | 'dtmf speech'; timeoutSeconds: number; numDigits: number | null; prompt: Array<SayVerb | PlayVerb> };

/**
 * One TwiML-level instruction (A3): the adapter renders a `respond` effect's verbs, in order, as the
 * answer to the call's pending webhook (Twilio: a `VoiceResponse`), or plays them on the simulated
 * network. `enqueue` puts the caller on hold for the task (A4 decides how: a queue per task,
 * a conference …); `hold` is what a holding caller hears from now on: its parts once, then the
 * music (absent: the telephony's default) until the next `hold`.
 */
export type Verb =
  | SayVerb
  | PlayVerb
  | GatherVerb
  | { verb: 'enqueue'; taskSid: string; workflowSid: string }
  | { verb: 'hold'; parts: Array<SayVerb | PlayVerb | GatherVerb>; musicUrl: string | null }
  | { verb: 'hangup' };

/** How a call left the flow: bridged to an agent from the queue, hung up (by the caller or the flow), or a callback taken. */
export type CallOutcome = 'enqueued' | 'hung_up' | 'callback';

/** What the interpreter is told. Every input names its call and carries its instant (`at`, epoch ms). */
export type FlowInput =
  | {
      /** A call came in to a number whose flow is `flowSid` (A1 step 1). */
      type: 'call_started';
      at: number;
      callSid: string;
      flowSid: string;
      from: string;
      to: string;
      /** The incoming-call webhook's parameters as Twilio names them (`CallSid`, `FromCity` …). */
      parameters: Record<string, string>;
    }
  | { type: 'gathered'; at: number; callSid: string; digits?: string; speech?: string }
  | { type: 'gather_timeout'; at: number; callSid: string }
  /** The callback core's answer to a `decide_offer` effect (`CallbackCenter.offer`, `decideOffer`). */
  | { type: 'offer_decided'; at: number; callSid: string; decision: OfferDecision }
  /** The callback was registered (`register` / `acceptInQueue`); `ecbtPhrase` is what the confirmation quotes. */
  | { type: 'callback_registered'; at: number; callSid: string; callbackSid: string; ecbtPhrase?: string | null }
  | { type: 'callback_refused'; at: number; callSid: string; reason: string }
  /** The engine created the task of a `create_task` effect. */
  | { type: 'task_created'; at: number; callSid: string; taskSid: string }
  | { type: 'task_refused'; at: number; callSid: string; reason: string }
  /** The holding caller's place in line (1 = next) and EWT, seconds (null when unknown). */
  | { type: 'queue_update'; at: number; callSid: string; position: number | null; ewtSeconds: number | null }
  /** The holding caller was bridged to an agent: the call leaves the flow. */
  | { type: 'bridged'; at: number; callSid: string }
  /** The holding caller's task ended without them (canceled by a TTL or an admin, deleted). */
  | { type: 'task_ended'; at: number; callSid: string; reason: string }
  /** The caller hung up. */
  | { type: 'hangup'; at: number; callSid: string };

/** What the host must do, in the order given. */
export type FlowEffect =
  | { kind: 'respond'; callSid: string; verbs: Verb[] }
  /**
   * Ask the callback core for its offer decision (`CallbackCenter.offer(callTargetSid, {ewtSeconds,
   * channel: 'voice'})`, with the caller's EWT) and answer with `offer_decided`. `taskSid` is the
   * holding caller's task, null before enqueueing.
   */
  | { kind: 'decide_offer'; callSid: string; callTargetSid: string; taskSid: string | null }
  /**
   * Register a callback to `phoneNumber` (`CallbackCenter.register`, or `acceptInQueue` with the
   * live task `inQueueTaskSid`, which also cancels that task as not abandoned) and answer with
   * `callback_registered` or `callback_refused`.
   */
  | { kind: 'register_callback'; callSid: string; callTargetSid: string; phoneNumber: string; context: Record<string, string>; inQueueTaskSid: string | null }
  /** Execute the engine command and answer with `task_created` (its SID) or `task_refused`. */
  | { kind: 'create_task'; callSid: string; command: CreateTaskCommand }
  /** Execute the engine command: the caller hung up while waiting (A4: canceled, reason `hangup`). */
  | { kind: 'cancel_task'; callSid: string; taskSid: string; command: UpdateTaskCommand }
  /** The call left the flow; nothing more will come for it. */
  | { kind: 'end_call'; callSid: string; outcome: CallOutcome; by: 'caller' | 'flow' | null };

/** Something that happened to a call, for the event stream and reports. `data` is snake_case. */
export interface FlowEvent {
  eventType: 'callflow.started' | 'callflow.step' | 'callflow.gathered' | 'callflow.offered' | 'callflow.enqueued' | 'callflow.ended';
  at: number;
  callSid: string;
  data: Record<string, JsonValue>;
}

/** What every interpreter operation returns. `ignored` says why an input changed nothing (an unknown call, the wrong moment). */
export interface FlowOutcome {
  events: FlowEvent[];
  effects: FlowEffect[];
  ignored?: string;
}

/**
 * Where a call is:
 * - `gathering`: a gather step's prompt is out, waiting for `gathered` / `gather_timeout`;
 * - `deciding_offer`, `registering`, `creating_task`: waiting for the host's answer to an effect;
 * - `offering`: the callback offer's prompt is out (a gather);
 * - `holding`: enqueued, waiting for an agent (with its own offer sub-state);
 * - `ended`.
 */
export type CallPhase = 'gathering' | 'deciding_offer' | 'offering' | 'registering' | 'creating_task' | 'holding' | 'ended';

/** One call's state, plain data (exact JSON round trip). */
export interface CallState {
  callSid: string;
  /** The flow version the call runs (a flow changed mid-call does not change it). */
  flowKey: string;
  from: string;
  to: string;
  parameters: Record<string, string>;
  startedAt: number;
  phase: CallPhase;
  /** Index of the current step in the flow. */
  stepIndex: number;
  /** Prompts given so far at the current gather. */
  attempts: number;
  /** Values the caller chose (gather `into`). */
  attributes: Record<string, JsonValue>;
  /** Instructions waiting for the host's answer before they are sent. */
  pending: Verb[];
  /** The last offer decision's phrases (for the offer prompt and the confirmation). */
  offerPhrases: { ewt: string | null; ecbt: string | null } | null;
  /** The caller hung up while the host's answer was awaited. */
  callerGone: boolean;
  taskSid: string | null;
  enqueuedAt: number | null;
  position: number | null;
  ewtSeconds: number | null;
  nextAnnouncementAt: number | null;
  /** The second-chance offer while holding: being decided, out, being registered, or not now. */
  holdOffer: 'deciding' | 'offering' | 'registering' | null;
  holdOfferMade: boolean;
  outcome: CallOutcome | null;
  endedBy: 'caller' | 'flow' | null;
  endedAt: number | null;
}
