/**
 * Verbs → TwiML: what a caller hears, written as the answer to one of Twilio's voice webhooks
 * (spec voice-worker-sdk-console.md A3–A5). Built with the `twilio` package's own
 * `twiml.VoiceResponse`, so escaping and attribute spelling are the library's.
 *
 * Mapping (one {@link Verb} → TwiML):
 * - `say` → `<Say voice language>text</Say>`; `play` → `<Play loop>url</Play>`;
 * - `gather` → `<Gather input numDigits timeout action method="POST" actionOnEmptyResult="true">`
 *   with its prompt inside. `actionOnEmptyResult` makes Twilio post the action with no `Digits`
 *   when the caller stays silent, which is how the core learns of a timeout (without it Twilio
 *   would fall through to the next verb and the core would never hear of it);
 * - `enqueue` → `<Enqueue waitUrl waitUrlMethod="POST" action method="POST">taskSid</Enqueue>`;
 * - `hold` → its parts (a gather among them: the in-queue callback offer), then
 *   `<Play>music</Play>`, played once, so Twilio asks the waitUrl again when it ends: that is
 *   when the core can slip in the next announcement;
 * - `hangup` → `<Hangup/>`.
 *
 * Also here, for the voice routes with or without the Twilio adapter: what an `<Enqueue action>`
 * request means ({@link enqueueResult}), the TwiML that takes a caller into a conference
 * ({@link joinTwiml}), and `CallStatus` checking ({@link callStatusOf}).
 */
import twilio from 'twilio';
import type { GatherVerb, PlayVerb, SayVerb, Verb } from '../callflows/model.ts';
import type { CallStatus, VoiceAnswer } from '../callflows/voice-port.ts';

type VoiceResponse = InstanceType<typeof twilio.twiml.VoiceResponse>;
type Gather = ReturnType<VoiceResponse['gather']>;
type SayAttributes = Parameters<VoiceResponse['say']>[0];
type GatherInput = NonNullable<NonNullable<Parameters<VoiceResponse['gather']>[0]>['input']>[number];

/**
 * Twilio's own default hold music (what `<Enqueue>` plays without a `waitUrl`): played when a
 * `hold` verb names no music.
 */
export const TWILIO_DEFAULT_HOLD_MUSIC_URL = 'http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3';

/** Webhook form parameters (or a URL's query) as the routes read them: a repeated name keeps its first value. */
export type TwilioParams = Readonly<Record<string, string | undefined>>;

/** The absolute URLs of our voice webhooks that the rendered TwiML points Twilio at. */
export interface VoiceUrls {
  /** `<Gather action>`: the caller's digits or speech (route `/voice/gather`). */
  gather: string;
  /** `<Enqueue waitUrl>`: what a holding caller hears next (route `/voice/hold`). */
  hold: string;
  /** `<Enqueue action>`: the caller left the queue (route `/voice/enqueue`). */
  enqueue: string;
}

/** The {@link VoiceUrls} under our public base URL (`https://sb.example.com` → `https://sb.example.com/voice/gather` …). */
export function voiceUrls(publicUrl: string): VoiceUrls {
  const base = publicUrl.replace(/\/+$/, '');
  return { gather: `${base}/voice/gather`, hold: `${base}/voice/hold`, enqueue: `${base}/voice/enqueue` };
}

/**
 * The TwiML document (XML declaration included) for `answer`'s verbs, in order. A `hold` that
 * follows an `enqueue` in the same answer is not written out: Twilio never reaches a verb after
 * `<Enqueue action>` (the action's answer takes over when the caller leaves the queue); that hold
 * is what the next `waitUrl` request gets from `VoiceInbound.hold`. `answer.refused` changes
 * nothing here (its verbs already say goodbye; the route raises the alert).
 */
export function renderTwiml(answer: VoiceAnswer, urls: VoiceUrls): string {
  const response = new twilio.twiml.VoiceResponse();
  let enqueued = false;
  for (const verb of answer.verbs) {
    if (verb.verb === 'hold' && enqueued) continue;
    if (verb.verb === 'enqueue') enqueued = true;
    renderVerb(response, verb, urls);
  }
  return response.toString();
}

function renderVerb(response: VoiceResponse, verb: Verb, urls: VoiceUrls): void {
  switch (verb.verb) {
    case 'say':
    case 'play':
      renderPart(response, verb);
      return;
    case 'gather':
      renderGather(response, verb, urls);
      return;
    case 'enqueue':
      // Pattern P1 of spec A4: one Twilio queue per task, named by the task SID (34 characters,
      // within Twilio's 64). No `workflowSid` attribute: that would hand the call to Twilio's own
      // TaskRouter, while here our engine routes and a worker's leg dequeues exactly this task.
      response.enqueue({ waitUrl: urls.hold, waitUrlMethod: 'POST', action: urls.enqueue, method: 'POST' }, verb.taskSid);
      return;
    case 'hold':
      for (const part of verb.parts) {
        if (part.verb === 'gather') renderGather(response, part, urls);
        else renderPart(response, part);
      }
      response.play(verb.musicUrl ?? TWILIO_DEFAULT_HOLD_MUSIC_URL);
      return;
    case 'hangup':
      response.hangup();
      return;
  }
}

/** A `<Say>` or `<Play>` under `parent` (the response or a gather). */
function renderPart(parent: VoiceResponse | Gather, part: SayVerb | PlayVerb): void {
  if (part.verb === 'say') {
    const attributes: SayAttributes = {};
    if (part.voice !== undefined) attributes.voice = part.voice as SayAttributes['voice'];
    if (part.language !== undefined) attributes.language = part.language as SayAttributes['language'];
    parent.say(attributes, part.text);
  } else {
    parent.play(part.loop === undefined ? {} : { loop: part.loop }, part.url);
  }
}

function renderGather(response: VoiceResponse, verb: GatherVerb, urls: VoiceUrls): void {
  const gather = response.gather({
    input: verb.input.split(' ') as GatherInput[],
    ...(verb.numDigits === null ? {} : { numDigits: verb.numDigits }),
    timeout: verb.timeoutSeconds,
    action: urls.gather,
    method: 'POST',
    actionOnEmptyResult: true,
  });
  for (const part of verb.prompt) renderPart(gather, part);
}

const CALL_STATUSES: ReadonlySet<string> = new Set<CallStatus>(['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled']);

/**
 * A `CallStatus` parameter, or null when it is not one of Twilio's values (the webhook is then ignored).
 */
export function callStatusOf(value: string | undefined): CallStatus | null {
  return value !== undefined && CALL_STATUSES.has(value) ? (value as CallStatus) : null;
}

/**
 * What the `<Enqueue action>` request means (`QueueResult`, A3): `hangup` — the caller hung up in
 * the queue (reported as their leg `completed`), answered with empty TwiML; `bridged` — their
 * bridge to a worker ended: `<Hangup/>`; `queue-full`, `error`, `system-error` — they could not wait:
 * an apology and `<Hangup/>` (reported `completed` too) [DECISION]; anything else (`leave`,
 * `redirected` …): empty TwiML.
 */
export function enqueueResult(params: TwilioParams): { twiml: string; callerEnded: boolean } {
  const response = new twilio.twiml.VoiceResponse();
  switch (params['QueueResult']) {
    case 'hangup':
      return { twiml: response.toString(), callerEnded: true };
    case 'bridged':
      response.hangup();
      return { twiml: response.toString(), callerEnded: false };
    case 'queue-full':
    case 'error':
    case 'system-error':
      response.say('We are sorry, we cannot take your call right now. Goodbye.');
      response.hangup();
      return { twiml: response.toString(), callerEnded: true };
    default:
      return { twiml: response.toString(), callerEnded: false };
  }
}

/**
 * The caller's way into a `conference` instruction's room: `<Dial><Conference
 * startConferenceOnEnter="true" endConferenceOnExit participantLabel="customer">NAME</Conference></Dial>`.
 */
export function joinTwiml(conference: string, endOnExit: boolean): string {
  const response = new twilio.twiml.VoiceResponse();
  response.dial().conference({ startConferenceOnEnter: true, endConferenceOnExit: endOnExit, participantLabel: 'customer' }, conference);
  return response.toString();
}
