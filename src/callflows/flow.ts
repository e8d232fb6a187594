/**
 * The call-flow format: a small JSON document, attached to a phone number, that says what a caller
 * hears and does before becoming a task (spec voice-worker-sdk-console.md A1 — the seed flow — and
 * A5.3 — "a scriptable IVR: a JSON flow … so the seed flow is configuration, not code").
 *
 * A flow is a list of steps. Each step has an `id` and exactly one kind key naming what it does
 * (`say`, `play`, `gather`, `offer_callback`, `enqueue`, `hangup`), whose value holds that kind's
 * settings — so an error path reads `steps[2].gather.timeout`. After a step the flow goes to the
 * step named by its `next`, or else to the following step of the list.
 *
 * All durations are SECONDS. Nothing here is Twilio-specific: the interpreter turns steps into
 * plain-data instructions (say, play, gather, enqueue, hold, hangup) that an adapter renders as
 * TwiML (A3) or plays on the simulated network.
 *
 * `validateFlow` (validate.ts) checks a document and returns it typed; the interpreter
 * (machine.ts, interpreter.ts) runs only validated flows.
 */
import { assert } from '../util/assert.ts';

/** The format's version; a document without `version` is read as this one. */
export const FLOW_FORMAT_VERSION = 1;

/** A JSON value a flow may write into a task attribute (a choice's value, an enqueue attribute). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Something spoken or played: inside a gather's prompt or as a step of its own. */
export type PromptPart = { say: SaySettings } | { play: PlaySettings };

/** Text spoken by the text-to-speech voice (TwiML `<Say>`). */
export interface SaySettings {
  /** What is said; 1–4,000 characters. */
  text: string;
  /** A voice name the telephony knows (`alice`, `Polly.Aditi` …); the telephony's default when absent. */
  voice?: string;
  /** BCP 47 language tag (`en-US`, `hi-IN`); the telephony's default when absent. */
  language?: string;
}

/** An audio file played to the caller (TwiML `<Play>`). */
export interface PlaySettings {
  /** http(s) URL of the audio. */
  url: string;
  /** How many times to play it, 1–100; default 1. */
  loop?: number;
}

/**
 * Where a gather goes for one answer. A string is a value: it is written into the gather's
 * `into` attribute and the flow goes on to the step's `next`. An object may give a value, a step
 * to jump to, or both.
 */
export type Choice = string | { value?: JsonValue; next?: string };

/**
 * Reads digits (DTMF) or speech from the caller (TwiML `<Gather>`), with the prompt inside so the
 * caller may answer before it ends. Seed flow: "press 1 for Hindi, 2 for English" into
 * `selected_language` (A1 steps 1–2).
 */
export interface GatherSettings {
  /** What the caller may answer with; default `dtmf`. */
  input?: 'dtmf' | 'speech' | 'dtmf speech';
  /** Seconds of silence after the prompt before the gather gives up, 1–60; default 5. */
  timeout?: number;
  /** Digits to read before answering at once, 1–20; absent: until `#` or the timeout. */
  numDigits?: number;
  /** Spoken or played inside the gather; at least one part. */
  prompt: PromptPart[];
  /** The task attribute the chosen value is written into (`selected_language`); absent: nothing is written. */
  into?: string;
  /**
   * Answer → choice. Keys are digit strings (`"1"`, `"42"`) for DTMF, words or phrases for speech
   * (matched case-insensitively, ignoring punctuation). At least one.
   */
  choices: Record<string, Choice>;
  /** When the caller says nothing before the timeout; absent: the prompt is repeated. */
  noInput?: Choice;
  /** When the answer is not a choice; absent: the prompt is repeated. */
  noMatch?: Choice;
  /**
   * How many times the prompt is given in all before a missing or unmatched answer goes on to the
   * step's `next` with nothing written, 1–10; default 3.
   */
  attempts?: number;
}

/**
 * Offers the caller a callback instead of waiting, when the callback core says an offer may be
 * made (its `decideOffer`: registration on, within hours, EWT at or above the call target's
 * threshold, ECBT under its cap …; callbacks-and-ewt §4) and the EWT is at least `minEwtSeconds`.
 * The caller presses `key` to take it: the number they call from is registered with the call
 * target and the call ends. Anything else, or no offer, goes on to the step's `next`.
 */
export interface OfferCallbackSettings {
  /** The call target (callback settings of a task queue) the callback is registered with. */
  callTargetSid: string;
  /** Offer only when the EWT is at least this many seconds, 0–86,400; default 0 (the call target's own threshold alone). */
  minEwtSeconds?: number;
  /** The key that takes the offer, one of 0–9 * #; default `1`. */
  key?: string;
  /** Seconds to wait for the key after the prompt, 1–60; default 5. */
  timeout?: number;
  /**
   * The offer as spoken; `{ewt}` is replaced by the wait phrase ("about 4 minutes"), `{ecbt}` by the
   * callback-time phrase ("between 8 and 10 minutes"), `{key}` by the key. Default in English.
   */
  text?: string;
  /** Said once the callback is registered, before hanging up; `{ecbt}` as above. Default in English. */
  confirmation?: string;
  voice?: string;
  language?: string;
}

/**
 * What a holding caller hears (the `<Enqueue waitUrl>` treatment, A3/A5.2): music, announcements
 * of their position and EWT every `announceEvery` seconds, and a second-chance callback offer.
 */
export interface HoldSettings {
  /** http(s) URL of the hold music; absent: the telephony's default. */
  musicUrl?: string;
  /** Seconds between announcements, 10–3,600; absent: no announcements. */
  announceEvery?: number;
  /** What the announcements say; default both, position first. */
  announce?: Array<'position' | 'ewt'>;
  /** `{position}` is the caller's place in line (1 = next); default "You are number {position} in line." */
  positionText?: string;
  /** `{ewt}` is the wait phrase; default "Your expected wait is {ewt}." */
  ewtText?: string;
  /** Waits at or above this are announced as "more than N minutes", seconds, 60–86,400; default 600. */
  ewtCapSeconds?: number;
  voice?: string;
  language?: string;
  /**
   * Offers a callback once while holding (callbacks-and-ewt §2.4, in-queue acceptance): at the
   * first announcement at least `after` seconds into the hold. Taking it gives up the live task and
   * keeps the caller's place in line.
   */
  callbackOffer?: OfferCallbackSettings & {
    /** Seconds of holding before the offer, 0–86,400; default 0. */
    after?: number;
  };
}

/**
 * Turns the call into a task in a workflow (A1 step 3, TwiML `<Enqueue workflowSid>`): its
 * attributes are the call's webhook parameters in snake_case (`call_sid`, `from`, `from_city` …),
 * then `attributes`, then the values the caller chose (later ones win). Ends the flow: the caller
 * holds until an agent is bridged, they hang up, or they take a callback.
 */
export interface EnqueueSettings {
  /** The workflow (`WW…`) that routes the task. */
  workflowSid: string;
  /** Extra task attributes (a JSON object). */
  attributes?: Record<string, JsonValue>;
  /** Task priority, 0 or more; the workflow's default when absent. */
  priority?: number;
  /** Task channel unique name or `TC…`; default `voice`. */
  taskChannel?: string;
  /** Task TTL, seconds, 1–2,592,000 (30 days); the workspace default when absent. */
  timeout?: number;
  /** What the caller hears while holding; absent: the telephony's default hold music. */
  hold?: HoldSettings;
}

/** Ends the call (TwiML `<Hangup>`); what to say first, if anything, is a `say` step before it. */
export type HangupSettings = Record<string, never>;

interface StepBase {
  /** Unique within the flow: letters, digits, `_`, `-`; 1–64 characters. */
  id: string;
  /** The step to go to afterwards; default the following step. Not allowed on `enqueue` and `hangup`. */
  next?: string;
}

export type SayStep = StepBase & { say: SaySettings };
export type PlayStep = StepBase & { play: PlaySettings };
export type GatherStep = StepBase & { gather: GatherSettings };
export type OfferCallbackStep = StepBase & { offer_callback: OfferCallbackSettings };
export type EnqueueStep = StepBase & { enqueue: EnqueueSettings };
export type HangupStep = StepBase & { hangup: HangupSettings };

export type FlowStep = SayStep | PlayStep | GatherStep | OfferCallbackStep | EnqueueStep | HangupStep;

/** The kinds of step, as their keys. */
export const STEP_KINDS = ['say', 'play', 'gather', 'offer_callback', 'enqueue', 'hangup'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** A call flow. */
export interface CallFlow {
  version?: 1;
  /** A name for people; 1–128 characters. */
  friendlyName?: string;
  /** The first step's id; default the first step of the list. */
  start?: string;
  /** 1–200 steps. */
  steps: FlowStep[];
}

/** The kind of a (validated) step. */
export function kindOf(step: FlowStep): StepKind {
  const kind = STEP_KINDS.find((k) => k in step);
  assert(kind !== undefined, `step ${step.id} has no kind (validated flows only)`);
  return kind;
}
