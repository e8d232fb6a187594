/**
 * Validation of a call-flow document (flow.ts). Bad input gets a clear error (DESIGN.md rule 4):
 * {@link FlowValidationError} names the step by index and id and the field by its path —
 * `steps[2].gather.timeout must be 1–60 seconds (step "menu")` — and nothing is accepted half.
 * Unknown keys are refused too, so a misspelt setting is not silently ignored.
 */
import { isSid } from '../util/sid.ts';
import { STEP_KINDS, type CallFlow, type FlowStep, type StepKind } from './flow.ts';

/** Why a flow was refused. `path` is the field (`steps[2].gather.timeout`); `stepIndex`/`stepId` the step, when the field is in one. */
export class FlowValidationError extends Error {
  override name = 'FlowValidationError';
  readonly path: string;
  readonly stepIndex: number | null;
  readonly stepId: string | null;
  constructor(path: string, reason: string, stepIndex: number | null, stepId: string | null) {
    super(`${path} ${reason}${stepId === null ? '' : ` (step "${stepId}")`}`);
    this.path = path;
    this.stepIndex = stepIndex;
    this.stepId = stepId;
  }
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const ATTRIBUTE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const LANGUAGE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
const DTMF_KEY = /^[0-9*#]{1,20}$/;
const ONE_KEY = /^[0-9*#]$/;
const URL = /^https?:\/\/[^\s]+$/;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Walks one document, knowing which step it is in. */
class Checker {
  stepIndex: number | null = null;
  stepId: string | null = null;

  fail(path: string, reason: string): never {
    throw new FlowValidationError(path, reason, this.stepIndex, this.stepId);
  }

  object(v: unknown, path: string, keys: readonly string[]): Obj {
    if (!isObject(v)) this.fail(path, 'must be an object');
    for (const k of Object.keys(v)) if (!keys.includes(k)) this.fail(`${path}.${k}`, `is not a known setting (known: ${keys.join(', ') || 'none'})`);
    return v;
  }

  string(v: unknown, path: string, max: number, pattern?: RegExp, what?: string): string {
    if (typeof v !== 'string' || v.length === 0 || v.length > max) this.fail(path, `must be a string of 1–${max} characters`);
    if (pattern !== undefined && !pattern.test(v)) this.fail(path, `must be ${what ?? `a string matching ${pattern}`}`);
    return v;
  }

  integer(v: unknown, path: string, min: number, max: number, unit = ''): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(path, `must be ${min}–${max}${unit === '' ? '' : ` ${unit}`} (a whole number)`);
    return v;
  }

  number(v: unknown, path: string, min: number, max: number, unit: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) this.fail(path, `must be ${min}–${max} ${unit}`);
    return v;
  }

  json(v: unknown, path: string, depth = 0): void {
    if (depth > 20) this.fail(path, 'is nested too deeply (20 levels at most)');
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) this.fail(path, 'must be a finite number');
      return;
    }
    if (Array.isArray(v)) return v.forEach((x, i) => this.json(x, `${path}[${i}]`, depth + 1));
    if (isObject(v) && Object.getPrototypeOf(v) === Object.prototype) return Object.entries(v).forEach(([k, x]) => this.json(x, `${path}.${k}`, depth + 1));
    this.fail(path, 'must be a JSON value');
  }
}

/**
 * Checks a call-flow document (as parsed from JSON) and returns it typed. Throws
 * {@link FlowValidationError} naming the first bad field. Rules beyond each field's range: step
 * ids are unique; every `next` (of a step, a choice, `noInput`, `noMatch`) and `start` names a step;
 * `enqueue` and `hangup` end the flow (no `next`), any other step without `next` must not be the last;
 * a gather that writes values has an `into`; DTMF choices are digits, `*` or `#` and no longer than
 * `numDigits`; `say`/`play` steps cannot loop among themselves (the caller could never answer).
 */
export function validateFlow(doc: unknown): CallFlow {
  const c: Checker = new Checker();
  const flow = c.object(doc, 'flow', ['version', 'friendlyName', 'start', 'steps']);
  if (flow['version'] !== undefined && flow['version'] !== 1) c.fail('version', 'must be 1');
  if (flow['friendlyName'] !== undefined) c.string(flow['friendlyName'], 'friendlyName', 128);
  const steps = flow['steps'];
  if (!Array.isArray(steps) || steps.length === 0 || steps.length > 200) c.fail('steps', 'must be a list of 1–200 steps');

  // Ids first, so any `next` can be checked against all of them.
  const ids = new Map<string, number>();
  steps.forEach((raw, i) => {
    c.stepIndex = i;
    if (!isObject(raw)) c.fail(`steps[${i}]`, 'must be an object');
    const id = c.string(raw['id'], `steps[${i}].id`, 64, ID, 'letters, digits, "_" or "-" (1–64)');
    if (ids.has(id)) c.fail(`steps[${i}].id`, `repeats the id of steps[${ids.get(id)}] ("${id}")`);
    ids.set(id, i);
  });
  c.stepIndex = null;
  if (flow['start'] !== undefined) {
    const start = c.string(flow['start'], 'start', 64);
    if (!ids.has(start)) c.fail('start', `names no step ("${start}")`);
  }
  const target = (v: unknown, path: string): string => {
    const id = c.string(v, path, 64);
    if (!ids.has(id)) c.fail(path, `names no step ("${id}")`);
    return id;
  };

  steps.forEach((raw: Obj, i) => {
    c.stepIndex = i;
    c.stepId = raw['id'] as string;
    const at = `steps[${i}]`;
    const kinds = STEP_KINDS.filter((k) => k in raw);
    if (kinds.length !== 1) c.fail(at, `must have exactly one of ${STEP_KINDS.join(', ')} (has ${kinds.length === 0 ? 'none' : kinds.join(', ')})`);
    const kind = kinds[0] as StepKind;
    c.object(raw, at, ['id', 'next', kind]);
    const ends = kind === 'enqueue' || kind === 'hangup';
    if (raw['next'] !== undefined) {
      if (ends) c.fail(`${at}.next`, `is not allowed: ${kind} ends the flow`);
      target(raw['next'], `${at}.next`);
    } else if (!ends && i === steps.length - 1) {
      c.fail(`${at}.next`, `is required: the last step must be enqueue or hangup, or name the step that follows`);
    }
    const settings = raw[kind];
    const p = `${at}.${kind}`;
    switch (kind) {
      case 'say':
        checkSay(c, settings, p);
        break;
      case 'play':
        checkPlay(c, settings, p);
        break;
      case 'gather':
        checkGather(c, settings, p, target);
        break;
      case 'offer_callback':
        checkOffer(c, settings, p, false);
        break;
      case 'enqueue':
        checkEnqueue(c, settings, p);
        break;
      case 'hangup':
        c.object(settings, p, []);
        break;
    }
  });
  c.stepIndex = null;
  c.stepId = null;
  checkNoSilentLoop(c, steps as FlowStep[], ids);
  return doc as CallFlow;
}

function checkSay(c: Checker, v: unknown, p: string): void {
  const s = c.object(v, p, ['text', 'voice', 'language']);
  c.string(s['text'], `${p}.text`, 4000);
  voiceAndLanguage(c, s, p);
}

function voiceAndLanguage(c: Checker, s: Obj, p: string): void {
  if (s['voice'] !== undefined) c.string(s['voice'], `${p}.voice`, 64);
  if (s['language'] !== undefined) c.string(s['language'], `${p}.language`, 35, LANGUAGE, 'a BCP 47 language tag such as en-US or hi-IN');
}

function checkPlay(c: Checker, v: unknown, p: string): void {
  const s = c.object(v, p, ['url', 'loop']);
  c.string(s['url'], `${p}.url`, 2000, URL, 'an http(s) URL');
  if (s['loop'] !== undefined) c.integer(s['loop'], `${p}.loop`, 1, 100);
}

function checkGather(c: Checker, v: unknown, p: string, target: (v: unknown, path: string) => string): void {
  const s = c.object(v, p, ['input', 'timeout', 'numDigits', 'prompt', 'into', 'choices', 'noInput', 'noMatch', 'attempts']);
  const input = s['input'] ?? 'dtmf';
  if (input !== 'dtmf' && input !== 'speech' && input !== 'dtmf speech') c.fail(`${p}.input`, 'must be "dtmf", "speech" or "dtmf speech"');
  if (s['timeout'] !== undefined) c.integer(s['timeout'], `${p}.timeout`, 1, 60, 'seconds');
  const numDigits = s['numDigits'] === undefined ? null : c.integer(s['numDigits'], `${p}.numDigits`, 1, 20);
  if (s['attempts'] !== undefined) c.integer(s['attempts'], `${p}.attempts`, 1, 10);
  const prompt = s['prompt'];
  if (!Array.isArray(prompt) || prompt.length === 0 || prompt.length > 20) c.fail(`${p}.prompt`, 'must be a list of 1–20 say or play parts');
  prompt.forEach((part: unknown, j) => {
    const pp = `${p}.prompt[${j}]`;
    if (!isObject(part)) c.fail(pp, 'must be an object');
    const keys = Object.keys(part);
    if (keys.length !== 1 || (keys[0] !== 'say' && keys[0] !== 'play')) c.fail(pp, 'must have exactly one of say, play');
    if (keys[0] === 'say') checkSay(c, part['say'], `${pp}.say`);
    else checkPlay(c, part['play'], `${pp}.play`);
  });
  const into = s['into'] === undefined ? null : c.string(s['into'], `${p}.into`, 64, ATTRIBUTE, 'an attribute name (a letter or "_", then letters, digits or "_"; 64 at most)');
  const choices = s['choices'];
  if (!isObject(choices) || Object.keys(choices).length === 0) c.fail(`${p}.choices`, 'must map at least one answer to a choice');
  const choice = (v: unknown, path: string): void => {
    if (typeof v === 'string') {
      if (into === null) c.fail(path, 'gives a value but the gather has no `into` attribute to write it into');
      return;
    }
    const o = c.object(v, path, ['value', 'next']);
    if (o['value'] !== undefined) {
      if (into === null) c.fail(`${path}.value`, 'is given but the gather has no `into` attribute to write it into');
      c.json(o['value'], `${path}.value`);
    }
    if (o['next'] !== undefined) target(o['next'], `${path}.next`);
  };
  for (const [key, ch] of Object.entries(choices)) {
    const path = `${p}.choices.${key}`;
    if (input === 'dtmf') {
      if (!DTMF_KEY.test(key)) c.fail(path, 'must be keyed by digits, * or # (1–20 keys) for DTMF input');
      if (numDigits !== null && key.length > numDigits) c.fail(path, `is longer than numDigits (${numDigits})`);
    } else if (normalizeSpeech(key) === '') {
      c.fail(path, 'must be keyed by a word or digits');
    }
    choice(ch, path);
  }
  if (s['noInput'] !== undefined) choice(s['noInput'], `${p}.noInput`);
  if (s['noMatch'] !== undefined) choice(s['noMatch'], `${p}.noMatch`);
}

function checkOffer(c: Checker, v: unknown, p: string, holding: boolean): void {
  const keys = ['callTargetSid', 'minEwtSeconds', 'key', 'timeout', 'text', 'confirmation', 'voice', 'language'];
  const s = c.object(v, p, holding ? [...keys, 'after'] : keys);
  c.string(s['callTargetSid'], `${p}.callTargetSid`, 64);
  if (s['minEwtSeconds'] !== undefined) c.number(s['minEwtSeconds'], `${p}.minEwtSeconds`, 0, 86_400, 'seconds');
  if (s['key'] !== undefined) c.string(s['key'], `${p}.key`, 1, ONE_KEY, 'one key: 0–9, * or #');
  if (s['timeout'] !== undefined) c.integer(s['timeout'], `${p}.timeout`, 1, 60, 'seconds');
  if (s['text'] !== undefined) c.string(s['text'], `${p}.text`, 4000);
  if (s['confirmation'] !== undefined) c.string(s['confirmation'], `${p}.confirmation`, 4000);
  if (s['after'] !== undefined) c.number(s['after'], `${p}.after`, 0, 86_400, 'seconds');
  voiceAndLanguage(c, s, p);
}

function checkEnqueue(c: Checker, v: unknown, p: string): void {
  const s = c.object(v, p, ['workflowSid', 'attributes', 'priority', 'taskChannel', 'timeout', 'hold']);
  const wf = c.string(s['workflowSid'], `${p}.workflowSid`, 34);
  if (!isSid(wf, 'WW')) c.fail(`${p}.workflowSid`, 'must be a workflow SID (WW followed by 32 hex digits)');
  if (s['attributes'] !== undefined) {
    if (!isObject(s['attributes'])) c.fail(`${p}.attributes`, 'must be a JSON object');
    c.json(s['attributes'], `${p}.attributes`);
  }
  if (s['priority'] !== undefined) c.integer(s['priority'], `${p}.priority`, 0, 2_147_483_647);
  if (s['taskChannel'] !== undefined) c.string(s['taskChannel'], `${p}.taskChannel`, 64);
  if (s['timeout'] !== undefined) c.integer(s['timeout'], `${p}.timeout`, 1, 2_592_000, 'seconds');
  if (s['hold'] === undefined) return;
  const h = c.object(s['hold'], `${p}.hold`, ['musicUrl', 'announceEvery', 'announce', 'positionText', 'ewtText', 'ewtCapSeconds', 'voice', 'language', 'callbackOffer']);
  const hp = `${p}.hold`;
  if (h['musicUrl'] !== undefined) c.string(h['musicUrl'], `${hp}.musicUrl`, 2000, URL, 'an http(s) URL');
  if (h['announceEvery'] !== undefined) c.integer(h['announceEvery'], `${hp}.announceEvery`, 10, 3600, 'seconds');
  if (h['announce'] !== undefined) {
    const a = h['announce'];
    if (!Array.isArray(a) || a.length === 0 || a.length > 2 || new Set(a).size !== a.length || a.some((x) => x !== 'position' && x !== 'ewt')) {
      c.fail(`${hp}.announce`, 'must list "position", "ewt" or both, once each');
    }
  }
  if (h['positionText'] !== undefined && !c.string(h['positionText'], `${hp}.positionText`, 4000).includes('{position}')) c.fail(`${hp}.positionText`, 'must contain {position}');
  if (h['ewtText'] !== undefined && !c.string(h['ewtText'], `${hp}.ewtText`, 4000).includes('{ewt}')) c.fail(`${hp}.ewtText`, 'must contain {ewt}');
  if (h['ewtCapSeconds'] !== undefined) c.number(h['ewtCapSeconds'], `${hp}.ewtCapSeconds`, 60, 86_400, 'seconds');
  voiceAndLanguage(c, h, hp);
  if (h['callbackOffer'] !== undefined) {
    if (h['announceEvery'] === undefined) c.fail(`${hp}.callbackOffer`, 'needs hold.announceEvery: the offer is made at an announcement');
    checkOffer(c, h['callbackOffer'], `${hp}.callbackOffer`, true);
  }
}

/** `say` and `play` go on without waiting for the caller, so a loop made only of them would never end. */
function checkNoSilentLoop(c: Checker, steps: FlowStep[], ids: Map<string, number>): void {
  const passThrough = (s: FlowStep): boolean => 'say' in s || 'play' in s;
  for (let i = 0; i < steps.length; i++) {
    const seen = new Set<number>();
    let j: number | undefined = i;
    while (j !== undefined && passThrough(steps[j] as FlowStep)) {
      if (seen.has(j)) {
        c.stepIndex = i;
        c.stepId = (steps[i] as FlowStep).id;
        c.fail(`steps[${i}].next`, 'makes a loop of say/play steps only: the caller could never answer or leave');
      }
      seen.add(j);
      const s = steps[j] as FlowStep;
      j = s.next === undefined ? (j + 1 < steps.length ? j + 1 : undefined) : ids.get(s.next);
    }
  }
}

/** Speech as matched against choice keys: lower case, punctuation dropped, spaces collapsed. */
export function normalizeSpeech(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}
