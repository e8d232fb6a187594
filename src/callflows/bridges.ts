/**
 * Instructions that do what they say (issue 12 item 3; voice spec A2, A4): the life of one
 * reservation's `dequeue`, `call`, `redirect` or `conference` instruction — its worker's leg placed,
 * answered or not, bridged to the caller, ended — as functions of plain data. The host (the
 * runtime's voice hosting) tells it what the network and the engine reported and carries out the
 * actions it returns, in order: port requests go out as outbox rows, engine changes are executed
 * in the same turn.
 *
 * What ends what (A4, [DECISION] where Twilio is silent):
 * - `dequeue` and `conference` accept the reservation when the worker's leg is bridged to the
 *   caller, and write `worker_call_sid` (and, for `conference`, the `conference` attribute) into the
 *   task; `call` and `redirect` accept at once when `accept=true` (as TaskRouter does), else the
 *   reservation stays pending for the app;
 * - a worker's leg that ends before it was bridged (not answered, busy, failed, canceled) ends a
 *   still-pending reservation as `timeout` (the worker goes to the TimeoutActivity, the task is
 *   routed on);
 * - a reservation that ends otherwise before the bridge (canceled because the caller hung up,
 *   rescinded, timed out by its own timer) hangs the worker's ringing leg up;
 * - once bridged, the worker's leg ending moves the worker to `post_work_activity_sid` (when given),
 *   and the call ending (either leg) moves an assigned task to `wrapping`.
 *
 * Pure: no clock, randomness or I/O. Times are epoch milliseconds.
 */
import type { JsonValue } from './flow.ts';
import { FINAL_CALL_STATUSES, type CallStatus, type ConnectRequest, type HangupRequest, type ParticipantRequest, type ParticipantRole, type VoiceInstruction } from './voice-port.ts';

/** Where a bridge is. */
export type BridgePhase = 'placing' | 'ringing' | 'answered' | 'bridged' | 'ended';

/** One instruction's worker leg (plain data, exact JSON round trip). */
export interface Bridge {
  /** Idempotency key `<reservation SID>:<instruction>`. */
  key: string;
  instruction: VoiceInstruction;
  workspaceSid: string;
  reservationSid: string;
  taskSid: string;
  workerSid: string;
  /** The caller's leg (the task's `call_sid`), or null. */
  callerCallSid: string | null;
  /** The worker's leg, once the network named it. */
  workerCallSid: string | null;
  /** The instruction's checked parameters (snake_case → string). */
  parameters: Record<string, string>;
  /** Whether the reservation is accepted on the bridge (`dequeue`, `conference`). */
  acceptOnBridge: boolean;
  phase: BridgePhase;
  /** Epoch ms the instruction was taken. */
  startedAt: number;
  /** Epoch ms the bridge was made, or null. */
  bridgedAt: number | null;
  /** The task was moved to wrapping (the call ended once). */
  wrapped: boolean;
}

/** What the host must do for a bridge, in order. */
export type BridgeAction =
  | { kind: 'connect'; request: ConnectRequest }
  | { kind: 'hangup'; request: HangupRequest }
  /** Accept the reservation (recording the instruction on its events). */
  | { kind: 'accept'; reservationSid: string }
  /** End the still-pending reservation as `timeout`. */
  | { kind: 'timeout'; reservationSid: string }
  /** Merge these keys into the task's attributes. */
  | { kind: 'task_attributes'; taskSid: string; merge: Record<string, JsonValue> }
  /** Move the worker to an activity (`post_work_activity_sid`). */
  | { kind: 'worker_activity'; workerSid: string; activitySid: string }
  /** Move the task to wrapping, reason `call ended`, if it is assigned. */
  | { kind: 'wrap_task'; taskSid: string }
  /** The caller left the flow: they are with the worker now (the call-flow core's `bridged`). */
  | { kind: 'caller_bridged'; callSid: string };

/** What starting an instruction needs to know. */
export interface BridgeStart {
  instruction: VoiceInstruction;
  accountSid: string;
  workspaceSid: string;
  reservationSid: string;
  taskSid: string;
  workerSid: string;
  /** The task's `call_sid` attribute (a string), or null. */
  callerCallSid: string | null;
  /** Checked parameters (src/runtime/instructions.ts `checkInstruction`), defaults applied. */
  parameters: Record<string, string>;
  /** `call`/`redirect`: whether `accept=true` accepted the reservation already. */
  acceptedAtOnce: boolean;
  at: number;
}

/** The bridge's key: one worker leg per reservation and instruction. */
export function bridgeKey(reservationSid: string, instruction: VoiceInstruction): string {
  return `${reservationSid}:${instruction}`;
}

/**
 * Starts an instruction: the bridge and its first actions — place the leg, then (for `call` and
 * `redirect` with `accept=true`) accept at once. The caller has checked the instruction and that
 * the reservation is pending (and, for `dequeue`, that the task has a `call_sid`: TaskRouter error
 * 40140).
 */
export function startBridge(s: BridgeStart): { bridge: Bridge; actions: BridgeAction[] } {
  const key = bridgeKey(s.reservationSid, s.instruction);
  const p = s.parameters;
  const callerCallSid = s.instruction === 'redirect' ? (p['call_sid'] ?? s.callerCallSid) : s.callerCallSid;
  const bridge: Bridge = {
    key,
    instruction: s.instruction,
    workspaceSid: s.workspaceSid,
    reservationSid: s.reservationSid,
    taskSid: s.taskSid,
    workerSid: s.workerSid,
    callerCallSid,
    workerCallSid: null,
    parameters: { ...p },
    acceptOnBridge: s.instruction === 'dequeue' || s.instruction === 'conference',
    phase: 'placing',
    startedAt: s.at,
    bridgedAt: null,
    wrapped: false,
  };
  const { to = '', from = '', url, record, timeout, ...rest } = p;
  const request: ConnectRequest = {
    key,
    instruction: s.instruction,
    accountSid: s.accountSid,
    workspaceSid: s.workspaceSid,
    taskSid: s.taskSid,
    reservationSid: s.reservationSid,
    workerSid: s.workerSid,
    callerCallSid,
    to,
    from,
    timeoutSeconds: timeout === undefined ? 60 : Number(timeout),
    ...(url === undefined ? {} : { url }),
    ...(s.instruction === 'conference' ? { conferenceName: s.taskSid } : {}),
    ...(record === undefined ? {} : { record }),
    parameters: rest,
  };
  const actions: BridgeAction[] = [{ kind: 'connect', request }];
  if (s.acceptedAtOnce) actions.push({ kind: 'accept', reservationSid: s.reservationSid });
  return { bridge, actions };
}

/** Whether a leg status is final. */
export function isFinalStatus(status: CallStatus): boolean {
  return FINAL_CALL_STATUSES.includes(status);
}

/**
 * The worker's leg changed status at `at` (epoch ms). `reservationPending`: whether the reservation
 * is still pending (a timeout applies only then). Returns the actions; the bridge is updated in place.
 */
export function workerLegStatus(b: Bridge, callSid: string, status: CallStatus, at: number, reservationPending: boolean): BridgeAction[] {
  if (b.phase === 'ended') return [];
  b.workerCallSid ??= callSid;
  if (!isFinalStatus(status)) {
    if (status === 'in-progress') {
      if (b.phase === 'placing' || b.phase === 'ringing') b.phase = 'answered';
      // A `call` leg has nobody to be bridged to: answered is as far as it goes.
      if (b.instruction === 'call') return bridged(b, callSid, at, reservationPending);
    } else if (b.phase === 'placing') b.phase = 'ringing';
    return [];
  }
  const wasBridged = b.phase === 'bridged';
  b.phase = 'ended';
  if (!wasBridged) {
    // Not answered, busy, failed — or answered and gone before the bridge: a timeout (A4 [DECISION]).
    return reservationPending ? [{ kind: 'timeout', reservationSid: b.reservationSid }] : [];
  }
  const out: BridgeAction[] = [];
  const post = b.parameters['post_work_activity_sid'];
  if (post !== undefined && b.instruction !== 'redirect') out.push({ kind: 'worker_activity', workerSid: b.workerSid, activitySid: post });
  out.push(...callEnded(b));
  return out;
}

/**
 * The worker's leg is bridged to the caller (`at`: epoch ms). Accepts a pending reservation (for
 * `dequeue`/`conference`), writes the worker's call into the task, and tells the flow the caller
 * is with an agent. A bridge made after the reservation ended (the caller hung up meanwhile) is
 * undone: the worker's leg is hung up.
 */
export function bridged(b: Bridge, workerCallSid: string, at: number, reservationPending: boolean): BridgeAction[] {
  if (b.phase === 'ended' || b.phase === 'bridged') return [];
  b.workerCallSid = workerCallSid === '' ? b.workerCallSid : workerCallSid;
  if (b.acceptOnBridge && !reservationPending) {
    b.phase = 'ended';
    return [{ kind: 'hangup', request: { key: b.key } }];
  }
  b.phase = 'bridged';
  b.bridgedAt = at;
  const out: BridgeAction[] = [];
  if (b.acceptOnBridge) out.push({ kind: 'accept', reservationSid: b.reservationSid });
  const merge: Record<string, JsonValue> = {};
  if (b.workerCallSid !== null && b.instruction !== 'redirect') merge['worker_call_sid'] = b.workerCallSid;
  if (b.instruction === 'conference') {
    merge['conference'] = { sid: b.taskSid, participants: { worker: b.workerCallSid, customer: b.callerCallSid } };
  }
  if (Object.keys(merge).length > 0) out.push({ kind: 'task_attributes', taskSid: b.taskSid, merge });
  if (b.callerCallSid !== null && b.instruction !== 'call') out.push({ kind: 'caller_bridged', callSid: b.callerCallSid });
  return out;
}

/** The caller's leg ended (they hung up, or the bridge ended from their side). */
export function callerGone(b: Bridge): BridgeAction[] {
  if (b.phase === 'ended') return [];
  if (b.phase === 'bridged') return callEnded(b);
  // Still ringing the worker: that leg has nobody to talk to. The task itself is canceled by the
  // flow (reason `hangup`), which ends the reservation.
  b.phase = 'ended';
  return [{ kind: 'hangup', request: { key: b.key } }];
}

/** The reservation ended without being accepted (canceled, rescinded, timed out, rejected): stop ringing the worker. */
export function reservationEnded(b: Bridge): BridgeAction[] {
  if (b.phase === 'ended' || b.phase === 'bridged') return [];
  b.phase = 'ended';
  return [{ kind: 'hangup', request: { key: b.key } }];
}

/** The call is over (once): the task goes to wrapping. */
function callEnded(b: Bridge): BridgeAction[] {
  if (b.wrapped || b.instruction === 'call' || b.instruction === 'redirect') return [];
  b.wrapped = true;
  return [{ kind: 'wrap_task', taskSid: b.taskSid }];
}

/** A change to one participant of a conference bridge: {@link ParticipantRequest} without what the bridge knows. */
export type ParticipantChange = Omit<ParticipantRequest, 'key' | 'conferenceName' | 'callSid' | 'role'>;

/**
 * The port request that changes the `role` participant of bridge `b` (the SDK's participant
 * routes; voice spec A4 P3: hold, mute and kick need a conference), or why it cannot be made, as a
 * sentence: the bridge is not a conference (`dequeue`, `call` and `redirect` join the two legs
 * directly, with nothing to hold them in), or it is not bridged (yet, or any more), or the leg is
 * unknown.
 */
export function participantRequest(b: Bridge, role: ParticipantRole, change: ParticipantChange): ParticipantRequest | string {
  if (b.instruction !== 'conference') {
    return `the call of task ${b.taskSid} was bridged by the ${b.instruction} instruction, which connects the caller and the worker directly: holding, muting or removing a participant needs a conference (use reservation.conference())`;
  }
  if (b.phase !== 'bridged') return `the conference of task ${b.taskSid} is not in progress for reservation ${b.reservationSid} (its worker leg is ${b.phase})`;
  const callSid = role === 'customer' ? b.callerCallSid : b.workerCallSid;
  if (callSid === null || callSid === '') return `the ${role} leg of the conference of task ${b.taskSid} is not known`;
  return { ...change, key: b.key, conferenceName: b.taskSid, callSid, role };
}
