/**
 * One call through its flow, as functions of plain state (model.ts): a deterministic state machine
 * with no clock, randomness or I/O. Each input moves the call to its next wait point — the caller's
 * answer (a gather), the host's answer to an effect (an offer decision, a task, a callback), or the
 * hold — and what the caller hears on the way is gathered into one `respond` effect, the TwiML-level
 * answer to the webhook that brought the input (spec voice-worker-sdk-console.md A1, A3, A5.2–3).
 * The multi-call facade with deadlines and snapshots is interpreter.ts.
 */
import { waitPhrase } from '../callbacks/offer.ts';
import { assert } from '../util/assert.ts';
import { kindOf, type CallFlow, type Choice, type EnqueueStep, type FlowStep, type GatherSettings, type HoldSettings, type JsonValue, type OfferCallbackSettings, type PromptPart } from './flow.ts';
import type { CallOutcome, CallState, CreateTaskCommand, FlowEvent, FlowInput, FlowOutcome, GatherVerb, PlayVerb, SayVerb, Verb } from './model.ts';
import { normalizeSpeech } from './validate.ts';

/** Defaults of the format (flow.ts documents them). */
export const DEFAULTS = {
  gatherTimeoutSeconds: 5,
  gatherAttempts: 3,
  offerKey: '1',
  offerTimeoutSeconds: 5,
  offerText: 'Your expected wait is {ewt}. To be called back instead, press {key}.',
  confirmation: 'Thank you. We will call you back in {ecbt}. Goodbye.',
  positionText: 'You are number {position} in line.',
  ewtText: 'Your expected wait is {ewt}.',
  ewtCapSeconds: 600,
  taskChannel: 'voice',
  taskEndedText: 'We are sorry, we cannot take your call now. Goodbye.',
} as const;

/** Twilio's webhook parameter names in snake_case, as TaskRouter writes them into an `<Enqueue>`d task (A1 step 3): `FromCity` → `from_city`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

const stepIds = new WeakMap<CallFlow, Map<string, number>>();

function indexOf(flow: CallFlow, id: string): number {
  let ids = stepIds.get(flow);
  if (ids === undefined) {
    ids = new Map(flow.steps.map((s, i) => [s.id, i]));
    stepIds.set(flow, ids);
  }
  const i = ids.get(id);
  assert(i !== undefined, `flow has no step ${id} (validated flows only)`);
  return i;
}

/** The first step of a flow. */
export function startIndex(flow: CallFlow): number {
  return flow.start === undefined ? 0 : indexOf(flow, flow.start);
}

/** A new call, not yet run (see {@link startCall}). */
export function newCall(input: Extract<FlowInput, { type: 'call_started' }>, flowKey: string, flow: CallFlow): CallState {
  return {
    callSid: input.callSid,
    flowKey,
    from: input.from,
    to: input.to,
    parameters: { ...input.parameters },
    startedAt: input.at,
    phase: 'gathering',
    stepIndex: startIndex(flow),
    attempts: 0,
    attributes: {},
    pending: [],
    offerPhrases: null,
    callerGone: false,
    taskSid: null,
    enqueuedAt: null,
    position: null,
    ewtSeconds: null,
    nextAnnouncementAt: null,
    holdOffer: null,
    holdOfferMade: false,
    outcome: null,
    endedBy: null,
    endedAt: null,
  };
}

/** Collects one operation's events and effects. */
class Out implements FlowOutcome {
  events: FlowEvent[] = [];
  effects: FlowOutcome['effects'] = [];
  ignored?: string;
  event(c: CallState, eventType: FlowEvent['eventType'], at: number, data: Record<string, JsonValue> = {}): void {
    this.events.push({ eventType, at, callSid: c.callSid, data });
  }
}

/** Runs a new call from its first step. */
export function startCall(flow: CallFlow, c: CallState, at: number): FlowOutcome {
  const out = new Out();
  out.event(c, 'callflow.started', at, { from: c.from, to: c.to, flow: c.flowKey });
  run(flow, c, at, out);
  flush(c, out);
  return out;
}

/** Applies one input (not `call_started`) to a call. Inputs that do not fit the call's phase change nothing and come back `ignored`. */
export function applyInput(flow: CallFlow, c: CallState, input: Exclude<FlowInput, { type: 'call_started' }>): FlowOutcome {
  const out = new Out();
  const at = input.at;
  const ignore = (): FlowOutcome => ({ events: [], effects: [], ignored: `${input.type} does not apply to a call in phase ${c.phase}${c.holdOffer === null ? '' : ` (hold offer ${c.holdOffer})`}` });
  switch (input.type) {
    case 'hangup':
      if (!callerHungUp(c, at, out)) return ignore();
      break;
    case 'gathered':
    case 'gather_timeout': {
      const answer = input.type === 'gathered' ? { digits: input.digits ?? '', speech: input.speech ?? '' } : { digits: '', speech: '' };
      if (c.phase === 'gathering') gatherAnswered(flow, c, at, answer, out);
      else if (c.phase === 'offering') offerAnswered(flow, c, at, answer.digits, out);
      else if (c.phase === 'holding' && c.holdOffer === 'offering') holdOfferAnswered(flow, c, answer.digits, out);
      else return ignore();
      break;
    }
    case 'offer_decided': {
      const holding = c.phase === 'holding' && c.holdOffer === 'deciding';
      if (c.phase !== 'deciding_offer' && !holding) return ignore();
      const settings = holding ? (holdOf(flow, c).callbackOffer as OfferCallbackSettings) : offerStep(flow, c);
      const d = input.decision;
      const eligible = d.offerAsap && d.ewtSeconds !== null && d.ewtSeconds >= (settings.minEwtSeconds ?? 0);
      c.offerPhrases = { ewt: d.phrase, ecbt: d.ecbtPhrase };
      if (eligible) {
        out.event(c, 'callflow.offered', at, { call_target_sid: settings.callTargetSid, ewt_seconds: d.ewtSeconds, ecbt_seconds: d.ecbtSeconds, in_queue: holding });
        const gather = offerGather(settings, c, (flow.steps[c.stepIndex] as FlowStep).id);
        if (holding) {
          c.holdOffer = 'offering';
          c.holdOfferMade = true;
          c.pending = [{ verb: 'hold', parts: [...holdParts(c.pending), gather], musicUrl: holdOf(flow, c).musicUrl ?? null }];
        } else {
          c.phase = 'offering';
          c.pending.push(gather);
        }
      } else if (holding) {
        c.holdOffer = null;
        const parts = holdParts(c.pending);
        c.pending = parts.length === 0 ? [] : [{ verb: 'hold', parts, musicUrl: holdOf(flow, c).musicUrl ?? null }];
      } else {
        goOn(flow, c, undefined, at, out);
      }
      break;
    }
    case 'callback_registered':
    case 'callback_refused': {
      const holding = c.phase === 'holding' && c.holdOffer === 'registering';
      if (c.phase !== 'registering' && !holding) return ignore();
      if (input.type === 'callback_registered') {
        const settings = holding ? (holdOf(flow, c).callbackOffer as OfferCallbackSettings) : offerStep(flow, c);
        const ecbt = input.ecbtPhrase ?? c.offerPhrases?.ecbt ?? 'a few minutes';
        if (!c.callerGone) c.pending.push(say(fill(settings.confirmation ?? DEFAULTS.confirmation, { ecbt, key: settings.key ?? DEFAULTS.offerKey }), settings), { verb: 'hangup' });
        // In queue, the callback core's acceptInQueue cancels the live task itself (not as an abandonment).
        end(c, 'callback', c.callerGone ? 'caller' : 'flow', at, out, { callback_sid: input.callbackSid });
      } else if (c.callerGone) {
        if (holding) cancelTask(c, at, out);
        end(c, 'hung_up', 'caller', at, out, { reason: input.reason });
      } else if (holding) {
        c.holdOffer = null;
        c.pending.push({ verb: 'hold', parts: [], musicUrl: holdOf(flow, c).musicUrl ?? null });
      } else {
        goOn(flow, c, undefined, at, out);
      }
      break;
    }
    case 'task_created':
    case 'task_refused': {
      if (c.phase !== 'creating_task' && !(c.phase === 'ended' && c.taskSid === null && c.outcome === 'hung_up' && c.callerGone)) return ignore();
      const step = flow.steps[c.stepIndex] as EnqueueStep;
      if (input.type === 'task_refused') {
        if (!c.callerGone) c.pending.push(say(DEFAULTS.taskEndedText), { verb: 'hangup' });
        if (c.phase !== 'ended') end(c, 'hung_up', c.callerGone ? 'caller' : 'flow', at, out, { reason: input.reason });
        c.callerGone = false;
        break;
      }
      c.taskSid = input.taskSid;
      if (c.callerGone) {
        // The caller left while the task was being made: it is canceled at once (A4).
        cancelTask(c, at, out);
        c.callerGone = false;
        if (c.phase !== 'ended') end(c, 'hung_up', 'caller', at, out);
        break;
      }
      c.phase = 'holding';
      c.enqueuedAt = at;
      const hold = step.enqueue.hold;
      c.nextAnnouncementAt = hold?.announceEvery === undefined ? null : at + hold.announceEvery * 1000;
      c.pending.push({ verb: 'enqueue', taskSid: input.taskSid, workflowSid: step.enqueue.workflowSid }, { verb: 'hold', parts: [], musicUrl: hold?.musicUrl ?? null });
      out.event(c, 'callflow.enqueued', at, { task_sid: input.taskSid, workflow_sid: step.enqueue.workflowSid });
      break;
    }
    case 'queue_update':
      if (c.phase !== 'holding') return ignore();
      c.position = input.position;
      c.ewtSeconds = input.ewtSeconds;
      break;
    case 'bridged':
      if (c.phase !== 'holding') return ignore();
      end(c, 'enqueued', null, at, out, { task_sid: c.taskSid });
      break;
    case 'task_ended':
      if (c.phase !== 'holding') return ignore();
      c.pending = [say(DEFAULTS.taskEndedText), { verb: 'hangup' }];
      end(c, 'hung_up', 'flow', at, out, { task_sid: c.taskSid, reason: input.reason });
      break;
  }
  flush(c, out);
  return out;
}

/** When the call next has something to do on its own (an announcement while holding), epoch ms, or null. */
export function callDeadline(c: CallState): number | null {
  if (c.phase !== 'holding' || c.holdOffer !== null) return null;
  return c.nextAnnouncementAt;
}

/** Fires the call's deadline if it is due at `at`: the hold announcement, and the second-chance offer when its time has come. */
export function fireDeadline(flow: CallFlow, c: CallState, at: number): FlowOutcome {
  const out = new Out();
  const due = callDeadline(c);
  if (due === null || due > at) return out;
  const hold = holdOf(flow, c);
  const every = (hold.announceEvery as number) * 1000;
  let next = due + every;
  while (next <= at) next += every;
  c.nextAnnouncementAt = next;
  const parts = announcement(hold, c);
  const offer = hold.callbackOffer;
  if (offer !== undefined && !c.holdOfferMade && at - (c.enqueuedAt as number) >= (offer.after ?? 0) * 1000 && c.taskSid !== null) {
    // The announcement waits for the decision, so the caller hears it with the offer.
    c.holdOffer = 'deciding';
    c.pending.push(...parts);
    out.effects.push({ kind: 'decide_offer', callSid: c.callSid, callTargetSid: offer.callTargetSid, taskSid: c.taskSid });
    return out;
  }
  if (parts.length > 0) c.pending.push({ verb: 'hold', parts, musicUrl: hold.musicUrl ?? null });
  flush(c, out);
  return out;
}

// ───────────────────────────── stepping ─────────────────────────────

/** Runs steps from the current one to the next wait point. */
function run(flow: CallFlow, c: CallState, at: number, out: Out): void {
  for (let guard = 0; ; guard++) {
    assert(guard <= flow.steps.length, `call ${c.callSid}: the flow ran past every step without waiting (validation should prevent it)`);
    const step = flow.steps[c.stepIndex] as FlowStep;
    out.event(c, 'callflow.step', at, { step: step.id, kind: kindOf(step), index: c.stepIndex });
    if ('say' in step) {
      c.pending.push(say(step.say.text, step.say));
    } else if ('play' in step) {
      c.pending.push(play(step.play.url, step.play.loop));
    } else if ('gather' in step) {
      c.phase = 'gathering';
      c.attempts = 1;
      c.pending.push(gatherVerb(step.gather, step.id));
      return;
    } else if ('offer_callback' in step) {
      c.phase = 'deciding_offer';
      out.effects.push({ kind: 'decide_offer', callSid: c.callSid, callTargetSid: step.offer_callback.callTargetSid, taskSid: null });
      return;
    } else if ('enqueue' in step) {
      c.phase = 'creating_task';
      out.effects.push({ kind: 'create_task', callSid: c.callSid, command: createTaskCommand(step, c, at) });
      return;
    } else {
      c.pending.push({ verb: 'hangup' });
      end(c, 'hung_up', 'flow', at, out, { step: step.id });
      return;
    }
    c.stepIndex = step.next === undefined ? c.stepIndex + 1 : indexOf(flow, step.next);
  }
}

/** Leaves the current step for `next` (a choice's), else the step's `next`, else the following step, and runs on. */
function goOn(flow: CallFlow, c: CallState, next: string | undefined, at: number, out: Out): void {
  const step = flow.steps[c.stepIndex] as FlowStep;
  const id = next ?? step.next;
  c.stepIndex = id === undefined ? c.stepIndex + 1 : indexOf(flow, id);
  c.attempts = 0;
  run(flow, c, at, out);
}

function gatherAnswered(flow: CallFlow, c: CallState, at: number, answer: { digits: string; speech: string }, out: Out): void {
  const step = flow.steps[c.stepIndex] as FlowStep & { gather: GatherSettings };
  const g = step.gather;
  const empty = answer.digits === '' && normalizeSpeech(answer.speech) === '';
  const key = empty ? null : matchChoice(g, answer);
  out.event(c, 'callflow.gathered', at, { step: step.id, digits: answer.digits, speech: answer.speech, matched: key });
  const fallback = empty ? g.noInput : g.noMatch;
  const choice: Choice | undefined = key !== null ? g.choices[key] : fallback;
  if (choice !== undefined) {
    if (g.into !== undefined) {
      const value = typeof choice === 'string' ? choice : choice.value;
      if (value !== undefined) c.attributes[g.into] = value;
    }
    goOn(flow, c, typeof choice === 'string' ? undefined : choice.next, at, out);
  } else if (c.attempts < (g.attempts ?? DEFAULTS.gatherAttempts)) {
    c.attempts++;
    c.pending.push(gatherVerb(g, step.id));
  } else {
    goOn(flow, c, undefined, at, out);
  }
}

/** The choice key an answer matches: digits exactly; speech equal to a key, else containing one as whole words. */
function matchChoice(g: GatherSettings, answer: { digits: string; speech: string }): string | null {
  const keys = Object.keys(g.choices);
  if (answer.digits !== '' && keys.includes(answer.digits)) return answer.digits;
  const spoken = normalizeSpeech(answer.speech);
  if (spoken === '') return null;
  for (const k of keys) if (normalizeSpeech(k) === spoken) return k;
  for (const k of keys) if (` ${spoken} `.includes(` ${normalizeSpeech(k)} `)) return k;
  return null;
}

function offerAnswered(flow: CallFlow, c: CallState, at: number, digits: string, out: Out): void {
  const s = offerStep(flow, c);
  if (digits === (s.key ?? DEFAULTS.offerKey)) {
    c.phase = 'registering';
    out.effects.push({ kind: 'register_callback', callSid: c.callSid, callTargetSid: s.callTargetSid, phoneNumber: c.from, context: callbackContext(c), inQueueTaskSid: null });
  } else {
    goOn(flow, c, undefined, at, out);
  }
}

function holdOfferAnswered(flow: CallFlow, c: CallState, digits: string, out: Out): void {
  const s = holdOf(flow, c).callbackOffer as OfferCallbackSettings;
  if (digits === (s.key ?? DEFAULTS.offerKey)) {
    c.holdOffer = 'registering';
    out.effects.push({ kind: 'register_callback', callSid: c.callSid, callTargetSid: s.callTargetSid, phoneNumber: c.from, context: callbackContext(c), inQueueTaskSid: c.taskSid });
  } else {
    c.holdOffer = null;
    c.pending.push({ verb: 'hold', parts: [], musicUrl: holdOf(flow, c).musicUrl ?? null });
  }
}

/** The caller hung up. False when the call had already ended. */
function callerHungUp(c: CallState, at: number, out: Out): boolean {
  if (c.phase === 'ended') return false;
  c.pending = [];
  if (c.phase === 'creating_task') {
    // The task's SID is not known yet: it is canceled when `task_created` comes.
    c.callerGone = true;
    end(c, 'hung_up', 'caller', at, out);
    return true;
  }
  if (c.phase === 'registering' || (c.phase === 'holding' && c.holdOffer === 'registering')) {
    // The caller pressed the key: the registration decides the outcome.
    c.callerGone = true;
    return true;
  }
  if (c.phase === 'holding') cancelTask(c, at, out);
  end(c, 'hung_up', 'caller', at, out);
  return true;
}

function cancelTask(c: CallState, at: number, out: Out): void {
  const taskSid = c.taskSid as string;
  out.effects.push({ kind: 'cancel_task', callSid: c.callSid, taskSid, command: { type: 'updateTask', at, taskSid, assignmentStatus: 'canceled', reason: 'hangup' } });
}

function end(c: CallState, outcome: CallOutcome, by: 'caller' | 'flow' | null, at: number, out: Out, data: Record<string, JsonValue> = {}): void {
  c.phase = 'ended';
  c.outcome = outcome;
  c.endedBy = by;
  c.endedAt = at;
  c.nextAnnouncementAt = null;
  c.holdOffer = null;
  out.event(c, 'callflow.ended', at, { outcome, by, duration_seconds: (at - c.startedAt) / 1000, ...data });
  out.effects.push({ kind: 'end_call', callSid: c.callSid, outcome, by });
}

/** Sends what the caller should hear, unless the host's answer to an effect is still awaited. */
function flush(c: CallState, out: Out): void {
  const waiting = c.phase === 'deciding_offer' || c.phase === 'registering' || c.phase === 'creating_task' || (c.phase === 'holding' && (c.holdOffer === 'deciding' || c.holdOffer === 'registering'));
  if (waiting || c.pending.length === 0) return;
  const verbs = c.pending;
  c.pending = [];
  if (c.endedBy === 'caller') return;
  // The end_call effect comes last: the answer goes out first.
  const endAt = out.effects.findIndex((e) => e.kind === 'end_call' && e.callSid === c.callSid);
  const respond = { kind: 'respond' as const, callSid: c.callSid, verbs };
  if (endAt < 0) out.effects.push(respond);
  else out.effects.splice(endAt, 0, respond);
}

// ───────────────────────────── pieces ─────────────────────────────

function createTaskCommand(step: EnqueueStep, c: CallState, at: number): CreateTaskCommand {
  const e = step.enqueue;
  const attributes: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(c.parameters)) attributes[snakeCase(k)] = v;
  attributes['call_sid'] = c.callSid;
  attributes['from'] = c.from;
  attributes['to'] = c.to;
  Object.assign(attributes, e.attributes ?? {}, c.attributes);
  return {
    type: 'createTask',
    at,
    workflowSid: e.workflowSid,
    attributes: JSON.stringify(attributes),
    taskChannel: e.taskChannel ?? DEFAULTS.taskChannel,
    ...(e.priority === undefined ? {} : { priority: e.priority }),
    ...(e.timeout === undefined ? {} : { timeoutS: e.timeout }),
  };
}

function callbackContext(c: CallState): Record<string, string> {
  const ctx: Record<string, string> = { call_sid: c.callSid, to: c.to };
  for (const [k, v] of Object.entries(c.attributes)) if (typeof v === 'string') ctx[k] = v;
  return ctx;
}

function offerStep(flow: CallFlow, c: CallState): OfferCallbackSettings {
  const step = flow.steps[c.stepIndex] as FlowStep;
  assert('offer_callback' in step, `call ${c.callSid}: step ${step.id} is not an offer`);
  return step.offer_callback;
}

function holdOf(flow: CallFlow, c: CallState): HoldSettings {
  const step = flow.steps[c.stepIndex] as FlowStep;
  assert('enqueue' in step, `call ${c.callSid}: step ${step.id} is not an enqueue`);
  return step.enqueue.hold ?? {};
}

function announcement(hold: HoldSettings, c: CallState): SayVerb[] {
  const parts: SayVerb[] = [];
  for (const what of hold.announce ?? ['position', 'ewt']) {
    if (what === 'position' && c.position !== null) parts.push(say(fill(hold.positionText ?? DEFAULTS.positionText, { position: String(c.position) }), hold));
    if (what === 'ewt' && c.ewtSeconds !== null) parts.push(say(fill(hold.ewtText ?? DEFAULTS.ewtText, { ewt: waitPhrase(Math.ceil(c.ewtSeconds), hold.ewtCapSeconds ?? DEFAULTS.ewtCapSeconds) }), hold));
  }
  return parts;
}

/** The pending announcement parts (says and plays not yet inside a hold verb). */
function holdParts(pending: Verb[]): Array<SayVerb | PlayVerb> {
  return pending.filter((v): v is SayVerb | PlayVerb => v.verb === 'say' || v.verb === 'play');
}

function offerGather(s: OfferCallbackSettings, c: CallState, step: string): GatherVerb {
  const text = fill(s.text ?? DEFAULTS.offerText, { ewt: c.offerPhrases?.ewt ?? 'a few minutes', ecbt: c.offerPhrases?.ecbt ?? 'a few minutes', key: s.key ?? DEFAULTS.offerKey });
  return { verb: 'gather', step, input: 'dtmf', timeoutSeconds: s.timeout ?? DEFAULTS.offerTimeoutSeconds, numDigits: 1, prompt: [say(text, s)] };
}

function gatherVerb(g: GatherSettings, step: string): GatherVerb {
  return {
    verb: 'gather',
    step,
    input: g.input ?? 'dtmf',
    timeoutSeconds: g.timeout ?? DEFAULTS.gatherTimeoutSeconds,
    numDigits: g.numDigits ?? null,
    prompt: g.prompt.map((p: PromptPart) => ('say' in p ? say(p.say.text, p.say) : play(p.play.url, p.play.loop))),
  };
}

function say(text: string, opts: { voice?: string; language?: string } = {}): SayVerb {
  return { verb: 'say', text, ...(opts.voice === undefined ? {} : { voice: opts.voice }), ...(opts.language === undefined ? {} : { language: opts.language }) };
}

function play(url: string, loop: number | undefined): PlayVerb {
  return loop === undefined ? { verb: 'play', url } : { verb: 'play', url, loop };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}
