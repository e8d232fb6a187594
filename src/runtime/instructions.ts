/**
 * The `reject` instruction of an assignment callback reply ({@link checkReject}: alert 40100, and
 * no reply may drive a reserve/reject loop), and the instructions beyond accept/reject (spec §8):
 * `dequeue`, `call`, `redirect` and `conference`. There is no telephony yet, so an instruction is
 * validated as TaskRouter validates it, the reservation is accepted where TaskRouter would accept
 * it, and the instruction with its parameters is RECORDED — on the events of the accepting command
 * (see docs/webhooks.md) — but no call is placed.
 *
 * Pure: the caller passes what the checks need to know about the workspace ({@link InstructionContext}).
 *
 * When TaskRouter accepts (spec §6 "accepted" row, §8 table):
 * - `dequeue` and `conference`: always (TaskRouter accepts once the worker's leg connects; with
 *   no telephony that leg is taken as connected at once);
 * - `call` and `redirect`: only with `accept=true` (default false); otherwise the reservation stays
 *   pending for the app to settle, as on TaskRouter.
 */

import type { ReservationRecord, WorkspaceEngine } from '../engine/index.ts';

/** An assignment instruction that would drive a call (spec §8), as opposed to plain accept/reject. */
export type TelephonyInstruction = 'dequeue' | 'call' | 'redirect' | 'conference';
/** Every {@link TelephonyInstruction}, in the order error messages list them. */
export const TELEPHONY_INSTRUCTIONS: readonly TelephonyInstruction[] = ['dequeue', 'call', 'redirect', 'conference'];

/** Whether `name` is one of {@link TELEPHONY_INSTRUCTIONS} (exact, lower-case match). */
export function isTelephonyInstruction(name: unknown): name is TelephonyInstruction {
  return typeof name === 'string' && (TELEPHONY_INSTRUCTIONS as readonly string[]).includes(name);
}

/** What the checks need to know: lookups into the workspace, no I/O. */
export interface InstructionContext {
  /** Whether an activity SID belongs to the workspace. */
  activityExists: (sid: string) => boolean;
  /** The `available` flag of an activity of the workspace; undefined when the SID is not one. */
  activityAvailable: (sid: string) => boolean | undefined;
  /**
   * Whether the reservation's task is routed straight to its worker with `IgnoreCapacity`
   * (spec §5.1): such a task is offered to that worker again whatever the worker's activity.
   */
  taskIgnoresCapacity: boolean;
  /** The reserved worker's attributes (for `contact_uri`, the default `to`). */
  workerAttributes: Record<string, unknown>;
  /** The task's attributes (for the `from` default of `conference`: the task's `to`, or an outbound task's `from`). */
  taskAttributes: Record<string, unknown>;
}

/**
 * The {@link InstructionContext} of reservation `r` in `engine`: the workspace's activities, the
 * reserved worker's and the task's attributes (`{}` when either is gone). Used by the assignment
 * callback reply (dispatcher.ts) and the Reservation update's `Instruction` (routes/reservations.ts).
 */
export function reservationContext(engine: WorkspaceEngine, r: ReservationRecord): InstructionContext {
  return {
    activityExists: (sid) => engine.activities.has(sid),
    activityAvailable: (sid) => engine.activities.get(sid)?.available,
    taskIgnoresCapacity: engine.tasks.get(r.taskSid)?.ignoreCapacity === true,
    workerAttributes: engine.workers.get(r.workerSid)?.attributes ?? {},
    taskAttributes: engine.tasks.get(r.taskSid)?.attributes ?? {},
  };
}

/** A checked instruction: its name, its parameters as strings (snake_case), and whether it accepts. */
export interface CheckedInstruction {
  instruction: TelephonyInstruction;
  /** Parameters after defaults (`to` from the worker's `contact_uri`, `timeout` 60, …), snake_case → string. */
  parameters: Record<string, string>;
  /** Whether the reservation is accepted by it (see the module note). */
  accepts: boolean;
}

/**
 * A refused instruction: the parameter at fault (snake_case), a message naming it, and the
 * Twilio alert code an assignment callback reply raises for it (spec §2 alert ranges:
 * 40110–40114 call, 40120–40123 redirect, 40130–40135 dequeue, 40136–40145 conference; the
 * exact number per field inside a range is OUR CHOICE).
 */
export interface InstructionError {
  field: string;
  message: string;
  alert: number;
}

const ALERTS: Record<TelephonyInstruction, { base: number; max: number }> = {
  call: { base: 40110, max: 40114 },
  redirect: { base: 40120, max: 40123 },
  dequeue: { base: 40130, max: 40135 },
  conference: { base: 40136, max: 40145 },
};

/** REST (Reservation update) parameter → the callback reply's snake_case name, per instruction (OpenAPI UpdateTaskReservation). */
export const REST_PARAMETERS: Record<TelephonyInstruction, Record<string, string>> = {
  dequeue: {
    DequeueFrom: 'from',
    DequeueTo: 'to',
    DequeuePostWorkActivitySid: 'post_work_activity_sid',
    DequeueRecord: 'record',
    DequeueTimeout: 'timeout',
    DequeueStatusCallbackUrl: 'status_callback_url',
    DequeueStatusCallbackEvent: 'status_callback_events',
  },
  call: {
    CallFrom: 'from',
    CallTo: 'to',
    CallUrl: 'url',
    CallAccept: 'accept',
    CallRecord: 'record',
    CallTimeout: 'timeout',
    CallStatusCallbackUrl: 'status_callback_url',
  },
  redirect: { RedirectCallSid: 'call_sid', RedirectUrl: 'url', RedirectAccept: 'accept' },
  conference: {
    To: 'to',
    From: 'from',
    PostWorkActivitySid: 'post_work_activity_sid',
    Timeout: 'timeout',
    Record: 'record',
    Muted: 'muted',
    Beep: 'beep',
    StartConferenceOnEnter: 'start_conference_on_enter',
    EndConferenceOnExit: 'end_conference_on_exit',
    EndConferenceOnCustomerExit: 'end_conference_on_customer_exit',
    BeepOnCustomerEntrance: 'beep_on_customer_entrance',
    WaitUrl: 'wait_url',
    WaitMethod: 'wait_method',
    EarlyMedia: 'early_media',
    MaxParticipants: 'max_participants',
    ConferenceStatusCallback: 'conference_status_callback',
    ConferenceStatusCallbackMethod: 'conference_status_callback_method',
    ConferenceStatusCallbackEvent: 'conference_status_callback_event',
    ConferenceRecord: 'conference_record',
    ConferenceTrim: 'conference_trim',
    RecordingChannels: 'recording_channels',
    RecordingStatusCallback: 'recording_status_callback',
    RecordingStatusCallbackMethod: 'recording_status_callback_method',
    ConferenceRecordingStatusCallback: 'conference_recording_status_callback',
    ConferenceRecordingStatusCallbackMethod: 'conference_recording_status_callback_method',
    StatusCallback: 'status_callback',
    StatusCallbackMethod: 'status_callback_method',
    StatusCallbackEvent: 'status_callback_event',
    Region: 'region',
    SipAuthUsername: 'sip_auth_username',
    SipAuthPassword: 'sip_auth_password',
    JitterBufferSize: 'jitter_buffer_size',
  },
};

type Kind =
  | { t: 'string' }
  | { t: 'url' }
  | { t: 'bool' }
  | { t: 'int'; min: number; max: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'list'; values: readonly string[] }
  | { t: 'activity' }
  | { t: 'callSid' };

const CALL_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;
const METHODS = ['GET', 'POST'] as const;

/** The parameters each instruction takes and their types (spec §8; OpenAPI UpdateTaskReservation). */
const SHAPES: Record<TelephonyInstruction, Record<string, Kind>> = {
  dequeue: {
    from: { t: 'string' },
    to: { t: 'string' },
    post_work_activity_sid: { t: 'activity' },
    record: { t: 'enum', values: ['do-not-record', 'record-from-answer', 'true', 'false'] },
    timeout: { t: 'int', min: 1, max: 999 },
    status_callback_url: { t: 'url' },
    status_callback_events: { t: 'list', values: CALL_EVENTS },
  },
  call: {
    from: { t: 'string' },
    to: { t: 'string' },
    url: { t: 'url' },
    accept: { t: 'bool' },
    record: { t: 'enum', values: ['do-not-record', 'record-from-answer', 'true', 'false'] },
    timeout: { t: 'int', min: 1, max: 999 },
    status_callback_url: { t: 'url' },
  },
  redirect: { call_sid: { t: 'callSid' }, url: { t: 'url' }, accept: { t: 'bool' }, post_work_activity_sid: { t: 'activity' } },
  conference: {
    to: { t: 'string' },
    from: { t: 'string' },
    post_work_activity_sid: { t: 'activity' },
    timeout: { t: 'int', min: 1, max: 999 },
    record: { t: 'bool' },
    muted: { t: 'bool' },
    beep: { t: 'enum', values: ['true', 'false', 'onEnter', 'onExit'] },
    start_conference_on_enter: { t: 'bool' },
    end_conference_on_exit: { t: 'bool' },
    end_conference_on_customer_exit: { t: 'bool' },
    beep_on_customer_entrance: { t: 'bool' },
    wait_url: { t: 'url' },
    wait_method: { t: 'enum', values: METHODS },
    early_media: { t: 'bool' },
    max_participants: { t: 'int', min: 2, max: 250 },
    conference_status_callback: { t: 'url' },
    conference_status_callback_method: { t: 'enum', values: METHODS },
    conference_status_callback_event: { t: 'list', values: ['start', 'end', 'join', 'leave', 'mute', 'hold', 'modify', 'speaker', 'announcement'] },
    conference_record: { t: 'enum', values: ['true', 'false', 'record-from-start', 'do-not-record'] },
    conference_trim: { t: 'enum', values: ['trim-silence', 'do-not-trim'] },
    recording_channels: { t: 'enum', values: ['mono', 'dual'] },
    recording_status_callback: { t: 'url' },
    recording_status_callback_method: { t: 'enum', values: METHODS },
    conference_recording_status_callback: { t: 'url' },
    conference_recording_status_callback_method: { t: 'enum', values: METHODS },
    status_callback: { t: 'url' },
    status_callback_method: { t: 'enum', values: METHODS },
    status_callback_event: { t: 'list', values: CALL_EVENTS },
    region: { t: 'enum', values: ['us1', 'us2', 'ie1', 'de1', 'sg1', 'br1', 'au1', 'jp1'] },
    sip_auth_username: { t: 'string' },
    sip_auth_password: { t: 'string' },
    jitter_buffer_size: { t: 'enum', values: ['large', 'medium', 'small', 'off'] },
  },
};

/** Which parameters must be present (after defaults), per instruction. */
const REQUIRED: Record<TelephonyInstruction, readonly string[]> = {
  dequeue: ['from', 'to'],
  call: ['from', 'to', 'url'],
  redirect: ['call_sid', 'url'],
  conference: ['from', 'to'],
};

/** The order in which fields map onto an instruction's alert range (first field → base code). */
const ALERT_ORDER: Record<TelephonyInstruction, readonly string[]> = {
  call: ['url', 'to', 'from', 'accept', 'timeout'],
  redirect: ['url', 'call_sid', 'accept', 'post_work_activity_sid'],
  dequeue: ['from', 'to', 'post_work_activity_sid', 'timeout', 'record', 'status_callback_url'],
  conference: ['from', 'to', 'post_work_activity_sid', 'timeout', 'record', 'beep', 'max_participants'],
};

function alertFor(instruction: TelephonyInstruction, field: string): number {
  const { base, max } = ALERTS[instruction];
  const i = ALERT_ORDER[instruction].indexOf(field);
  return i < 0 ? max : Math.min(base + i, max);
}

function asText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).join(',');
  return String(v).trim();
}

/**
 * Checks an instruction's parameters (snake_case keys as in a callback reply; values strings,
 * numbers, booleans or arrays) and applies TaskRouter's defaults: `to` = the worker's
 * `contact_uri`; for `conference`, `from` = the task's `to` attribute (the number the customer
 * called); `timeout` = 60 s for dequeue/call/conference; `accept` = false.
 * Unknown parameter names are ignored (spec §2, OUR CHOICE).
 *
 * @returns the checked instruction, or the first error (field, message naming it, alert code).
 */
export function checkInstruction(instruction: TelephonyInstruction, raw: Record<string, unknown>, ctx: InstructionContext): CheckedInstruction | InstructionError {
  const shape = SHAPES[instruction];
  const parameters: Record<string, string> = {};
  const fail = (field: string, message: string): InstructionError => ({ field, message: `${instruction}: ${message}`, alert: alertFor(instruction, field) });
  for (const [field, kind] of Object.entries(shape)) {
    const text = asText(raw[field]);
    if (text === undefined || text === '') continue;
    switch (kind.t) {
      case 'string':
        break;
      case 'url':
        if (!/^https?:\/\/[^\s/]+\S*$/i.test(text)) return fail(field, `${field} must be an http or https URL (got '${text}')`);
        break;
      case 'bool':
        if (!/^(true|false)$/i.test(text)) return fail(field, `${field} must be true or false (got '${text}')`);
        parameters[field] = text.toLowerCase();
        continue;
      case 'int': {
        const n = /^\d+$/.test(text) ? Number(text) : NaN;
        if (!Number.isSafeInteger(n) || n < kind.min || n > kind.max) return fail(field, `${field} must be a whole number from ${kind.min} to ${kind.max} (got '${text}')`);
        break;
      }
      case 'enum':
        if (!kind.values.includes(text)) return fail(field, `${field} must be one of ${kind.values.join(', ')} (got '${text}')`);
        break;
      case 'list': {
        const items = text.split(/[\s,]+/).filter((s) => s !== '');
        const bad = items.find((s) => !kind.values.includes(s));
        if (bad !== undefined) return fail(field, `${field} may hold only ${kind.values.join(', ')} (got '${bad}')`);
        parameters[field] = items.join(',');
        continue;
      }
      case 'activity':
        if (!/^WA[0-9a-f]{32}$/i.test(text) || !ctx.activityExists(`WA${text.slice(2).toLowerCase()}`)) return fail(field, `${field} ${text} is not an activity of this workspace`);
        parameters[field] = `WA${text.slice(2).toLowerCase()}`;
        continue;
      case 'callSid':
        if (!/^CA[0-9a-f]{32}$/i.test(text)) return fail(field, `${field} must be a call SID (CA followed by 32 hex digits; got '${text}')`);
        break;
    }
    parameters[field] = text;
  }
  if ('to' in shape && parameters['to'] === undefined) {
    const contact = ctx.workerAttributes['contact_uri'];
    if (typeof contact === 'string' && contact.trim() !== '') parameters['to'] = contact.trim();
  }
  if (instruction === 'conference' && parameters['from'] === undefined) {
    // An outbound task (`worker.createTask(to, from, …)`: `outbound_to`, `from`) shows its own
    // caller ID to the worker too ([DECISION], docs/voice.md "Outbound calls").
    const called = ctx.taskAttributes['outbound_to'] !== undefined ? ctx.taskAttributes['from'] : ctx.taskAttributes['to'];
    if (typeof called === 'string' && called.trim() !== '') parameters['from'] = called.trim();
  }
  for (const field of REQUIRED[instruction]) {
    if (parameters[field] !== undefined) continue;
    const why = field === 'to' ? ' (give it, or set contact_uri in the worker\'s attributes)' : field === 'from' && instruction === 'conference' ? " (give it, or set 'to' in the task's attributes)" : '';
    return fail(field, `${field} is required${why}`);
  }
  if ('timeout' in shape && instruction !== 'redirect') parameters['timeout'] ??= '60';
  if ('accept' in shape) parameters['accept'] ??= 'false';
  const accepts = instruction === 'dequeue' || instruction === 'conference' || parameters['accept'] === 'true';
  return { instruction, parameters, accepts };
}

/** Whether {@link checkInstruction} or {@link checkReject} refused the instruction (an {@link InstructionError}). */
export function isInstructionError<T extends object>(r: T | InstructionError): r is InstructionError {
  return 'alert' in r;
}

/** Twilio's text for alert 40100 (docs/api/errors/40100). */
export const REJECT_ACTIVITY_MESSAGE = 'Your Reject instruction does not include a valid activity_sid parameter';

/**
 * Checks a `reject` instruction from an assignment callback reply (spec §8; Twilio alert 40100)
 * and returns the activity the worker moves to, or an error with alert 40100 — on which the
 * reply is not applied and the reservation stays pending until it is settled over REST/SDK or
 * times out (the timeout moves the worker to the workspace's timeout activity).
 *
 * A reply is an automatic decision, answered in milliseconds; applied as it stands, a rejection
 * that leaves the worker able to take the same task makes the engine offer it straight back, the
 * reply rejects it again, and so on up to the 1,000-cycle cap (docs/compatibility.md R21). So:
 * - `activity_sid` is required, a WA SID of this workspace (TaskRouter: 40100 when missing or
 *   not a valid activity);
 * - OUR CHOICE, where TaskRouter's documentation is silent: it must name an activity with
 *   `available: false`, since an available one keeps the worker eligible for the task;
 * - OUR CHOICE: a task routed straight to the worker with `IgnoreCapacity` cannot be rejected by a
 *   reply at all, since it is offered to that worker again whatever the activity.
 *
 * REST and SDK rejections (`ReservationStatus=rejected`) are not checked here: a person or an app
 * decides each of those (docs/compatibility.md R11).
 *
 * @param reply the parsed reply; only `activity_sid` is read (a string; surrounding spaces ignored).
 * @param ctx the reservation's workspace lookups ({@link reservationContext}).
 */
export function checkReject(reply: Record<string, unknown>, ctx: InstructionContext): { activitySid: string } | InstructionError {
  const fail = (why: string): InstructionError => ({ field: 'activity_sid', message: `reject: ${REJECT_ACTIVITY_MESSAGE}: ${why}`, alert: 40100 });
  const raw = reply['activity_sid'];
  if (raw === undefined || raw === null || raw === '') return fail('activity_sid is missing');
  const text = typeof raw === 'string' ? raw.trim() : '';
  if (!/^WA[0-9a-f]{32}$/i.test(text)) return fail(`activity_sid must be an activity SID (WA followed by 32 hex digits; got ${JSON.stringify(raw)})`);
  const activitySid = `WA${text.slice(2).toLowerCase()}`;
  const available = ctx.activityAvailable(activitySid);
  if (available === undefined) return fail(`activity_sid ${text} is not an activity of this workspace`);
  if (ctx.taskIgnoresCapacity) {
    return fail('the task is routed to this worker with IgnoreCapacity, so it would be offered to the same worker again at once; cancel the task or settle the reservation over REST');
  }
  if (available) {
    return fail(`activity_sid ${activitySid} is an available activity: the worker would stay eligible and could be offered the same task again at once; give an unavailable one`);
  }
  return { activitySid };
}

/**
 * The Event resource `event_data` entries (and, PascalCased, the event callback parameters) that
 * record an instruction on the events of the command that carried it: `instruction` = its name,
 * `instruction_<parameter>` = each parameter (e.g. `instruction_to`). OUR CHOICE (docs/webhooks.md).
 */
export function instructionEventData(i: { instruction: string; parameters: Readonly<Record<string, string>> }): Record<string, string> {
  const data: Record<string, string> = { instruction: i.instruction };
  // A SIP password is a secret: the record says it was given, never what it is.
  for (const [k, v] of Object.entries(i.parameters)) data[`instruction_${k}`] = /password/.test(k) ? '[redacted]' : v;
  return data;
}
