/**
 * Call targets: the unit of callback configuration, bound 1:1 to a task queue (spec
 * callbacks-and-ewt §1.1, knobs and defaults §1.4). Every duration is in SECONDS unless the key
 * says otherwise (`…Minutes`, `…Hours`). Defaults are the spec's [DECISION] values.
 */
import { CallbackError, normalizeNumber } from './errors.ts';
import { utcWeekday } from '../util/time.ts';

/** Who is connected first (§2): the customer is dialed before the task is routed, or an agent is reserved first. */
export type Strategy = 'customer_first' | 'agent_first';
/** What a `voicemail` dial outcome does to the callback (§1.4). */
export type VoicemailPolicy = 'retry' | 'leave_message_then_complete' | 'complete';
/** How the ECBT is announced (§3.3): a range of minutes or one figure. */
export type PlaybackType = 'range' | 'exact';

/** One opening interval of a weekly schedule, in UTC: `day` 0 = Sunday … 6, minutes from midnight. */
export interface OpeningHours {
  day: number;
  /** Minutes after 00:00 UTC, 0–1439. */
  openMinute: number;
  /** Minutes after 00:00 UTC, openMinute+1 … 1440. */
  closeMinute: number;
}

/** Seconds to wait before the next attempt, per outcome of the last one (§1.4 `retry.delaySeconds`). */
export interface RetryDelays {
  noAnswer: number;
  busy: number;
  voicemail: number;
  notReady: number;
  /** AF: the agent leg failed (no agent acknowledged, agent rejected after accepting). */
  agentLeg: number;
}

/** A fully resolved call target (every knob set). Plain JSON data. */
export interface CallTarget {
  sid: string;
  friendlyName: string;
  /** The task queue return calls enter (`WQ…`). */
  taskQueueSid: string;
  /** Optional workflow instead of the queue directly (`WW…`); null routes straight to the queue. */
  workflowSid: string | null;
  /** Caller ID the callback shows (E.164) or null. */
  callerId: string | null;
  /** Task channel of return tasks (unique name or TC SID). */
  taskChannel: string;
  registerCallbacks: boolean;
  processCallbacks: boolean;
  maxRequestedCallbacks: number;
  maxEcbtSeconds: number;
  offer: { minEwtSeconds: number; asap: boolean; scheduledVoice: boolean; scheduledApi: boolean; sampleRate: number };
  quote: { capSeconds: number; minEcbtSeconds: number; maxEcbtSeconds: number; playback: PlaybackType };
  strategy: Strategy;
  minimumCallbackDelaySeconds: number;
  retry: { maxRetries: number; delaySeconds: RetryDelays; onReturnAbandon: boolean };
  ringTimeoutSeconds: number;
  voicemailPolicy: VoicemailPolicy;
  offerReschedule: boolean;
  returnPriority: number;
  maxConcurrentOutbound: number;
  /** AF: seconds an agent has to acknowledge an accepted callback task (§2.3, 20 s). */
  agentAckTimeoutSeconds: number;
  /** Weekly opening hours in UTC; null = always open. */
  hoursOfOperation: OpeningHours[] | null;
  onClose: 'hold_until_open' | 'expire';
  asapExpiryHours: number;
  /** `reminderMinutes`: a `callback.reminder.due` event this long before a scheduled slot, only when booked further ahead (Mindful: 15). */
  scheduling: { daysOut: number; slotMinutes: number; slotCapacity: number | 'auto'; reminderMinutes: number };
  /** Numbers (1–15 digits incl. country code, stored with `+`) that are never called back. */
  blockedNumbers: string[];
  /** Data set template whose context is merged into return tasks (§5), or null. */
  datastoreTemplateSid: string | null;
}

/** What a caller may give: everything except `sid`, `friendlyName` and `taskQueueSid` is optional. */
export type CallTargetInput = {
  sid: string;
  friendlyName?: string;
  taskQueueSid: string;
} & DeepPartial<Omit<CallTarget, 'sid' | 'friendlyName' | 'taskQueueSid'>>;

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object | null ? DeepPartial<NonNullable<T[K]>> | (null extends T[K] ? null : never) : T[K] };

/** The §1.4 defaults (without the identity fields). */
export const CALL_TARGET_DEFAULTS: Omit<CallTarget, 'sid' | 'friendlyName' | 'taskQueueSid'> = {
  workflowSid: null,
  callerId: null,
  taskChannel: 'voice',
  registerCallbacks: true,
  processCallbacks: true,
  maxRequestedCallbacks: 200,
  maxEcbtSeconds: 3600,
  offer: { minEwtSeconds: 120, asap: true, scheduledVoice: false, scheduledApi: true, sampleRate: 1 },
  quote: { capSeconds: 600, minEcbtSeconds: 120, maxEcbtSeconds: 3600, playback: 'range' },
  strategy: 'customer_first',
  minimumCallbackDelaySeconds: 60,
  retry: { maxRetries: 2, delaySeconds: { noAnswer: 300, busy: 120, voicemail: 600, notReady: 600, agentLeg: 30 }, onReturnAbandon: false },
  ringTimeoutSeconds: 30,
  voicemailPolicy: 'retry',
  offerReschedule: true,
  returnPriority: 5,
  maxConcurrentOutbound: 10,
  agentAckTimeoutSeconds: 20,
  hoursOfOperation: null,
  onClose: 'hold_until_open',
  asapExpiryHours: 24,
  scheduling: { daysOut: 7, slotMinutes: 15, slotCapacity: 'auto', reminderMinutes: 15 },
  blockedNumbers: [],
  datastoreTemplateSid: null,
};

function fail(field: string, reason: string): never {
  throw new CallbackError('InvalidParameters', `${field} ${reason}`, field);
}

function int(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function num(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) fail(field, `must be a number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function oneOf<T extends string>(v: unknown, field: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) fail(field, `must be one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function sid(v: unknown, field: string, prefix: string): string {
  if (typeof v !== 'string' || !new RegExp(`^${prefix}[0-9a-fA-F]{32}$`).test(v)) fail(field, `must be a ${prefix} SID, got ${JSON.stringify(v)}`);
  return v;
}

function obj(v: unknown, field: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(field, 'must be an object');
  return v as Record<string, unknown>;
}

const TOP_KEYS = new Set([
  'sid', 'friendlyName', 'taskQueueSid', ...Object.keys(CALL_TARGET_DEFAULTS),
]);

/**
 * Validates a call target and fills in the defaults. Pure: returns a new object.
 * `base` (default {@link CALL_TARGET_DEFAULTS}) supplies unset keys, so an update is
 * `resolveCallTarget({...changes, sid, taskQueueSid}, existing)`.
 * Throws {@link CallbackError} `InvalidParameters` naming the first bad field (dotted path),
 * also for unknown keys; `InvalidContact` for a malformed caller ID.
 */
export function resolveCallTarget(input: CallTargetInput, base: Omit<CallTarget, 'sid' | 'friendlyName' | 'taskQueueSid'> & { friendlyName?: string } = CALL_TARGET_DEFAULTS): CallTarget {
  const i = obj(input, 'callTarget') as Record<string, unknown>;
  for (const k of Object.keys(i)) if (!TOP_KEYS.has(k)) fail(k, 'is not a call target setting');
  const pick = <T>(k: string): T => (i[k] === undefined ? (base as Record<string, unknown>)[k] : i[k]) as T;
  if (typeof i['sid'] !== 'string' || i['sid'].trim() === '') fail('sid', 'is required');
  const friendlyName = pick<string | undefined>('friendlyName') ?? i['sid'];
  if (typeof friendlyName !== 'string' || friendlyName.length === 0 || friendlyName.length > 64) fail('friendlyName', 'must be a string of 1–64 characters');

  const offerIn = obj(i['offer'], 'offer');
  const quoteIn = obj(i['quote'], 'quote');
  const retryIn = obj(i['retry'], 'retry');
  const delayIn = obj(retryIn['delaySeconds'], 'retry.delaySeconds');
  const schedIn = obj(i['scheduling'], 'scheduling');
  const sub = <T extends object>(into: Record<string, unknown>, from: T, path: string): T => {
    for (const k of Object.keys(into)) if (!(k in from)) fail(`${path}.${k}`, 'is not a setting');
    return { ...from, ...Object.fromEntries(Object.entries(into).filter(([, v]) => v !== undefined)) } as T;
  };
  const o = sub(offerIn, base.offer, 'offer');
  const q = sub(quoteIn, base.quote, 'quote');
  const r = sub(retryIn, base.retry, 'retry');
  const d = sub(delayIn, base.retry.delaySeconds, 'retry.delaySeconds');
  const s = sub(schedIn, base.scheduling, 'scheduling');
  const day = 86_400;

  const callerIdIn = pick<string | null>('callerId');
  const hours = pick<OpeningHours[] | null>('hoursOfOperation');
  const blocked = pick<unknown>('blockedNumbers');
  const workflowSid = pick<string | null>('workflowSid');
  const templateSid = pick<string | null>('datastoreTemplateSid');

  const target: CallTarget = {
    sid: i['sid'],
    friendlyName,
    taskQueueSid: sid(i['taskQueueSid'], 'taskQueueSid', 'WQ'),
    workflowSid: workflowSid === null ? null : sid(workflowSid, 'workflowSid', 'WW'),
    callerId: callerIdIn === null ? null : normalizeNumber(callerIdIn, 'callerId'),
    taskChannel: (() => {
      const c = pick<unknown>('taskChannel');
      if (typeof c !== 'string' || c === '') fail('taskChannel', 'must be a task channel unique name or TC SID');
      return c;
    })(),
    registerCallbacks: bool(pick('registerCallbacks'), 'registerCallbacks'),
    processCallbacks: bool(pick('processCallbacks'), 'processCallbacks'),
    maxRequestedCallbacks: int(pick('maxRequestedCallbacks'), 'maxRequestedCallbacks', 0, 100_000),
    maxEcbtSeconds: int(pick('maxEcbtSeconds'), 'maxEcbtSeconds', 60, 7 * day),
    offer: {
      minEwtSeconds: int(o.minEwtSeconds, 'offer.minEwtSeconds', 0, day),
      asap: bool(o.asap, 'offer.asap'),
      scheduledVoice: bool(o.scheduledVoice, 'offer.scheduledVoice'),
      scheduledApi: bool(o.scheduledApi, 'offer.scheduledApi'),
      sampleRate: num(o.sampleRate, 'offer.sampleRate', 0, 1),
    },
    quote: {
      capSeconds: int(q.capSeconds, 'quote.capSeconds', 60, day),
      minEcbtSeconds: int(q.minEcbtSeconds, 'quote.minEcbtSeconds', 0, day),
      maxEcbtSeconds: int(q.maxEcbtSeconds, 'quote.maxEcbtSeconds', 60, 7 * day),
      playback: oneOf(q.playback, 'quote.playback', ['range', 'exact'] as const),
    },
    strategy: oneOf(pick('strategy'), 'strategy', ['customer_first', 'agent_first'] as const),
    // Amazon Connect accepts an initial delay of 1–259 200 s (§1.4); 0 is allowed for tests.
    minimumCallbackDelaySeconds: int(pick('minimumCallbackDelaySeconds'), 'minimumCallbackDelaySeconds', 0, 259_200),
    retry: {
      maxRetries: int(r.maxRetries, 'retry.maxRetries', 0, 20),
      delaySeconds: {
        noAnswer: int(d.noAnswer, 'retry.delaySeconds.noAnswer', 1, day),
        busy: int(d.busy, 'retry.delaySeconds.busy', 1, day),
        voicemail: int(d.voicemail, 'retry.delaySeconds.voicemail', 1, day),
        notReady: int(d.notReady, 'retry.delaySeconds.notReady', 1, day),
        agentLeg: int(d.agentLeg, 'retry.delaySeconds.agentLeg', 1, day),
      },
      onReturnAbandon: bool(r.onReturnAbandon, 'retry.onReturnAbandon'),
    },
    ringTimeoutSeconds: int(pick('ringTimeoutSeconds'), 'ringTimeoutSeconds', 5, 600),
    voicemailPolicy: oneOf(pick('voicemailPolicy'), 'voicemailPolicy', ['retry', 'leave_message_then_complete', 'complete'] as const),
    offerReschedule: bool(pick('offerReschedule'), 'offerReschedule'),
    returnPriority: int(pick('returnPriority'), 'returnPriority', 0, 2_147_483_647),
    maxConcurrentOutbound: int(pick('maxConcurrentOutbound'), 'maxConcurrentOutbound', 1, 10_000),
    agentAckTimeoutSeconds: int(pick('agentAckTimeoutSeconds'), 'agentAckTimeoutSeconds', 1, 600),
    hoursOfOperation: hours === null ? null : checkHours(hours),
    onClose: oneOf(pick('onClose'), 'onClose', ['hold_until_open', 'expire'] as const),
    asapExpiryHours: num(pick('asapExpiryHours'), 'asapExpiryHours', 1 / 60, 7 * 24),
    scheduling: {
      daysOut: int(s.daysOut, 'scheduling.daysOut', 0, 30),
      slotMinutes: int(s.slotMinutes, 'scheduling.slotMinutes', 5, 240),
      slotCapacity: s.slotCapacity === 'auto' ? 'auto' : int(s.slotCapacity, 'scheduling.slotCapacity', 1, 10_000),
      reminderMinutes: int(s.reminderMinutes, 'scheduling.reminderMinutes', 0, 1440),
    },
    blockedNumbers: (() => {
      if (!Array.isArray(blocked)) fail('blockedNumbers', 'must be a list of numbers');
      return blocked.map((b, k) => {
        if (typeof b !== 'string' || !/^\+?\d{1,15}$/.test(b)) fail(`blockedNumbers[${k}]`, 'must be 1–15 digits including the country code');
        return b.startsWith('+') ? b : '+' + b;
      });
    })(),
    datastoreTemplateSid: templateSid === null ? null : typeof templateSid === 'string' && templateSid !== '' ? templateSid : fail('datastoreTemplateSid', 'must be a template SID or null'),
  };
  if (target.quote.minEcbtSeconds > target.quote.maxEcbtSeconds) fail('quote.minEcbtSeconds', 'must not exceed quote.maxEcbtSeconds');
  return target;
}

function checkHours(hours: unknown): OpeningHours[] {
  if (!Array.isArray(hours)) fail('hoursOfOperation', 'must be a list of {day, openMinute, closeMinute} or null');
  return hours.map((h: unknown, k) => {
    const x = obj(h, `hoursOfOperation[${k}]`);
    const day = int(x['day'], `hoursOfOperation[${k}].day`, 0, 6);
    const open = int(x['openMinute'], `hoursOfOperation[${k}].openMinute`, 0, 1439);
    const close = int(x['closeMinute'], `hoursOfOperation[${k}].closeMinute`, open + 1, 1440);
    return { day, openMinute: open, closeMinute: close };
  });
}

/**
 * Whether the target is open at `at` (epoch ms) and when the current opening closes (epoch ms;
 * `Infinity` when always open). Closed → `{open:false, closesAt:null, opensAt}` with the next
 * opening (null if the schedule is empty).
 */
export function openingAt(target: Pick<CallTarget, 'hoursOfOperation'>, at: number): { open: boolean; closesAt: number | null; opensAt: number | null } {
  const hours = target.hoursOfOperation;
  if (hours === null) return { open: true, closesAt: Infinity, opensAt: at };
  const dayMs = 86_400_000;
  const midnight = Math.floor(at / dayMs) * dayMs;
  let next: number | null = null;
  for (let offset = 0; offset <= 7; offset++) {
    const dayStart = midnight + offset * dayMs;
    const weekday = utcWeekday(dayStart);
    for (const h of hours) {
      if (h.day !== weekday) continue;
      const open = dayStart + h.openMinute * 60_000;
      const close = dayStart + h.closeMinute * 60_000;
      if (open <= at && at < close) return { open: true, closesAt: close, opensAt: open };
      if (open > at && (next === null || open < next)) next = open;
    }
    if (next !== null) break;
  }
  return { open: false, closesAt: null, opensAt: next };
}

/** True if `e164` is on the target's block list (exact match of the normalized number). */
export function isBlocked(target: Pick<CallTarget, 'blockedNumbers'>, e164: string): boolean {
  return target.blockedNumbers.includes(e164);
}
