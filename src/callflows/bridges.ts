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
 * Where a conference leg goes ({@link Placement}; issue 15, docs/voice.md "Transfers" and
 * "Outbound calls"):
 * - `caller` (today's): the worker's leg starts the conference named by the task SID and the
 *   holding caller is moved into it once the worker answers;
 * - `join` ([DECISION]): the task is a transfer of a call whose caller is already in a LIVE
 *   conference (the original task's): the worker's leg (`conference` or `dequeue`) joins that
 *   conference, and joining is the bridge — nobody is moved;
 * - `outbound` ([DECISION], as Flex does it): a task made by `worker.createTask` (attributes
 *   `outbound_to`, `from`, no `call_sid`): the worker's leg starts the conference named by the task
 *   SID; once the worker is in, the reservation is accepted and the customer is dialed into the
 *   same conference (a second connect, key `<reservation SID>:customer`). The customer not
 *   answering, or hanging up later, ends the call (the worker's leg is hung up, the task wraps).
 *
 * Pure: no clock, randomness or I/O. Times are epoch milliseconds.
 */
import type { JsonValue } from './flow.ts';
import { FINAL_CALL_STATUSES, type CallStatus, type ConnectRequest, type HangupRequest, type ParticipantRequest, type ParticipantRole, type VoiceInstruction } from './voice-port.ts';

/** Where a bridge is. */
export type BridgePhase = 'placing' | 'ringing' | 'answered' | 'bridged' | 'ended';

/** How a worker's leg meets the caller (see the module comment). */
export type Placement = 'caller' | 'join' | 'outbound';

/** The customer's leg of an `outbound` bridge. */
export interface CustomerLeg {
  /** The connect key of the customer's leg: `<reservation SID>:customer`. */
  key: string;
  /** The number dialed (the task's `outbound_to`). */
  to: string;
  /** The caller ID the customer sees (the task's `from`, else the instruction's). */
  from: string;
  /** The customer's call, once the network named it. */
  callSid: string | null;
  /**
   * `waiting` until the worker is in; `dialing` once dialed; `answered`; `shared` once a transfer's
   * target joined the conference (the call is no longer this bridge's alone: its worker leaving
   * does not end it); `ended`.
   */
  phase: 'waiting' | 'dialing' | 'answered' | 'shared' | 'ended';
}

/** The suffix of a customer leg's connect key. */
const CUSTOMER_SUFFIX = ':customer';

/** One instruction's worker leg (plain data, exact JSON round trip). */
export interface Bridge {
  /** Idempotency key `<reservation SID>:<instruction>`. */
  key: string;
  instruction: VoiceInstruction;
  /** The account (`AC…`) the legs are placed for. Rows written before it was kept get it from their workspace on restore. */
  accountSid: string;
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
  /** The conference the worker's leg is in (`conference`, and a `dequeue` that joins a live one), else null. Absent in rows written before transfers: see {@link conferenceOf}. */
  conferenceName?: string | null;
  /** How the leg meets the caller; absent (older rows) = `caller`. */
  placement?: Placement;
  /** The customer's leg of an `outbound` bridge, else null/absent. */
  customer?: CustomerLeg | null;
}

/** The conference bridge `b` is in, or null for a direct bridge (`dequeue`, `call`, `redirect`). */
export function conferenceOf(b: Bridge): string | null {
  if (b.conferenceName !== undefined) return b.conferenceName;
  return b.instruction === 'conference' ? b.taskSid : null;
}

/** The bridge key a leg's connect key belongs to: a customer leg's (`<reservation>:customer`) is its `conference` bridge; any other key is its own. */
export function bridgeKeyOfLeg(key: string): string {
  return key.endsWith(CUSTOMER_SUFFIX) ? `${key.slice(0, -CUSTOMER_SUFFIX.length)}:conference` : key;
}

/** Whether a connect key is a customer leg's. */
export function isCustomerKey(key: string): boolean {
  return key.endsWith(CUSTOMER_SUFFIX);
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
  /** `conference`/`dequeue` of a transfer: the LIVE conference the caller is in (its name), to join. */
  join?: string;
  /** `conference` of an outbound task: whom to dial once the worker is in, and the caller ID. */
  outbound?: { to: string; from: string };
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
  const placement: Placement = s.join !== undefined ? 'join' : s.outbound !== undefined && s.instruction === 'conference' ? 'outbound' : 'caller';
  const conferenceName = s.join ?? (s.instruction === 'conference' ? s.taskSid : null);
  const bridge: Bridge = {
    key,
    instruction: s.instruction,
    accountSid: s.accountSid,
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
    conferenceName,
    placement,
    customer: placement === 'outbound' && s.outbound !== undefined ? { key: `${s.reservationSid}${CUSTOMER_SUFFIX}`, to: s.outbound.to, from: s.outbound.from, callSid: null, phase: 'waiting' } : null,
  };
  const actions: BridgeAction[] = [{ kind: 'connect', request: connectRequestOf(bridge, null) }];
  if (s.acceptedAtOnce) actions.push({ kind: 'accept', reservationSid: s.reservationSid });
  return { bridge, actions };
}

/**
 * The connect request of one of bridge `b`'s legs: its worker's (`customer` null: `to`, `from`,
 * `url`, `record`, `timeout` from the instruction's parameters, the rest passed on), or its
 * outbound customer's (`customer`: dialed into the bridge's conference, the same ring timeout).
 * `timeoutSeconds`: the instruction's `timeout` (seconds), default 60.
 */
function connectRequestOf(b: Bridge, customer: CustomerLeg | null): ConnectRequest {
  const { to = '', from = '', url, record, timeout, ...rest } = b.parameters;
  const conferenceName = conferenceOf(b);
  const common = {
    accountSid: b.accountSid,
    workspaceSid: b.workspaceSid,
    taskSid: b.taskSid,
    reservationSid: b.reservationSid,
    workerSid: b.workerSid,
    timeoutSeconds: timeout === undefined ? 60 : Number(timeout),
  };
  if (customer !== null) {
    return { ...common, key: customer.key, instruction: 'conference', callerCallSid: null, to: customer.to, from: customer.from, conferenceName: conferenceName ?? b.taskSid, placement: 'customer', parameters: {} };
  }
  const placement = b.placement ?? 'caller';
  return {
    ...common,
    key: b.key,
    instruction: b.instruction,
    callerCallSid: b.callerCallSid,
    to,
    from,
    ...(url === undefined ? {} : { url }),
    ...(conferenceName === null ? {} : { conferenceName }),
    ...(placement === 'caller' ? {} : { placement }),
    ...(record === undefined ? {} : { record }),
    parameters: rest,
  };
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
  // An outbound call's customer has nobody left to talk to.
  const customer = b.customer ?? null;
  if (customer !== null && (customer.phase === 'dialing' || customer.phase === 'answered')) {
    customer.phase = 'ended';
    out.push({ kind: 'hangup', request: customerHangup(customer) });
  }
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
    return [{ kind: 'hangup', request: legHangup(b) }];
  }
  b.phase = 'bridged';
  b.bridgedAt = at;
  const out: BridgeAction[] = [];
  if (b.acceptOnBridge) out.push({ kind: 'accept', reservationSid: b.reservationSid });
  const merge: Record<string, JsonValue> = {};
  if (b.workerCallSid !== null && b.instruction !== 'redirect') merge['worker_call_sid'] = b.workerCallSid;
  const conference = conferenceOf(b);
  if (conference !== null) {
    merge['conference'] = { sid: conference, participants: { worker: b.workerCallSid, customer: b.callerCallSid } };
  }
  if (Object.keys(merge).length > 0) out.push({ kind: 'task_attributes', taskSid: b.taskSid, merge });
  // A joined caller left the flow long ago (with the first bridge).
  if (b.callerCallSid !== null && b.instruction !== 'call' && b.placement !== 'join') out.push({ kind: 'caller_bridged', callSid: b.callerCallSid });
  const customer = b.customer ?? null;
  if (customer !== null && customer.phase === 'waiting' && conference !== null) {
    customer.phase = 'dialing';
    out.push({ kind: 'connect', request: connectRequestOf(b, customer) });
  }
  return out;
}

/**
 * The customer's leg of an `outbound` bridge changed status: answered → it is
 * the task's `call_sid` and the conference's customer; final (not answered, busy, failed, or a
 * hang-up later) → the call is over: the worker's leg is hung up and the task wraps.
 */
export function customerLegStatus(b: Bridge, callSid: string, status: CallStatus): BridgeAction[] {
  const customer = b.customer ?? null;
  if (customer === null || customer.phase === 'ended' || customer.phase === 'shared') return [];
  if (callSid !== '') customer.callSid ??= callSid;
  if (!isFinalStatus(status)) {
    if (status !== 'in-progress' || customer.phase === 'answered') return [];
    customer.phase = 'answered';
    b.callerCallSid = customer.callSid;
    const conference = conferenceOf(b) ?? b.taskSid;
    return [{ kind: 'task_attributes', taskSid: b.taskSid, merge: { call_sid: customer.callSid, conference: { sid: conference, participants: { worker: b.workerCallSid, customer: customer.callSid } } } }];
  }
  customer.phase = 'ended';
  return outboundOver(b);
}

/** An outbound call is over from the customer's side: the worker's leg ends, the task wraps. */
function outboundOver(b: Bridge): BridgeAction[] {
  if (b.phase === 'ended') return [];
  const out: BridgeAction[] = [{ kind: 'hangup', request: legHangup(b) }];
  if (b.phase === 'bridged') out.push(...callEnded(b));
  return out;
}

/**
 * The caller's leg ended (they hung up, or the bridge ended from their side). Once bridged in a
 * conference, the worker's leg is hung up too ([DECISION], issue 15: the caller hanging up ends
 * every leg in the conference) and the task wraps.
 */
export function callerGone(b: Bridge): BridgeAction[] {
  if (b.phase === 'ended') return [];
  const customer = b.customer ?? null;
  if (customer !== null) {
    if (customer.phase === 'ended') return [];
    customer.phase = 'ended';
    return outboundOver(b);
  }
  if (b.phase === 'bridged') {
    // In a conference the worker's leg would stay in the room: the caller leaving ends every leg.
    if (conferenceOf(b) === null || b.wrapped) return callEnded(b);
    return [{ kind: 'hangup', request: legHangup(b) }, ...callEnded(b)];
  }
  // Still ringing the worker: that leg has nobody to talk to. The task itself is canceled by the
  // flow (reason `hangup`), which ends the reservation.
  b.phase = 'ended';
  return [{ kind: 'hangup', request: legHangup(b) }];
}

/** The reservation ended without being accepted (canceled, rescinded, timed out, rejected): stop ringing the worker. */
export function reservationEnded(b: Bridge): BridgeAction[] {
  if (b.phase === 'ended' || b.phase === 'bridged') return [];
  b.phase = 'ended';
  return [{ kind: 'hangup', request: legHangup(b) }];
}

/**
 * The hang-up of bridge `b`'s worker leg: by its connect key, plus its call SID once the network
 * named it, so that a port that no longer knows the key (restarted since it placed the leg) can
 * still end the call. A `redirect` bridge's leg is the caller's own call: key only.
 */
export function legHangup(b: Bridge): HangupRequest {
  const sid = b.workerCallSid;
  return sid !== null && sid !== '' && b.instruction !== 'redirect' ? { key: b.key, callSid: sid } : { key: b.key };
}

/** The hang-up of an outbound call's customer leg: its key, plus its call SID once known (see {@link legHangup}). */
export function customerHangup(c: CustomerLeg): HangupRequest {
  return c.callSid !== null && c.callSid !== '' ? { key: c.key, callSid: c.callSid } : { key: c.key };
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
  const conference = conferenceOf(b);
  if (conference === null) {
    return `the call of task ${b.taskSid} was bridged by the ${b.instruction} instruction, which connects the caller and the worker directly: holding, muting or removing a participant needs a conference (use reservation.conference())`;
  }
  if (b.phase !== 'bridged') return `the conference of task ${b.taskSid} is not in progress for reservation ${b.reservationSid} (its worker leg is ${b.phase})`;
  const callSid = role === 'customer' ? b.callerCallSid : b.workerCallSid;
  if (callSid === null || callSid === '') return `the ${role} leg of the conference of task ${b.taskSid} is not known`;
  return { ...change, key: b.key, conferenceName: conference, callSid, role };
}

/**
 * What the other legs of the conference need once a transfer's target (`joined`, a `join` bridge)
 * is in it (issue 15, docs/voice.md "Transfers move the call"): every other worker leg in the room
 * that would end the conference on leaving (`end_conference_on_exit`) no longer does — a worker
 * leaving must not end it while the caller and another worker are in it —; and for a COLD transfer
 * (`coldFrom`: the initiating reservation's SID, else null) the initiating worker's leg is removed.
 * An outbound bridge in the room no longer owns its customer's call (its phase becomes `shared`,
 * in place). `others`: the workspace's bridges. Returns the participant requests, in order.
 */
export function handoverRequests(joined: Bridge, others: Iterable<Bridge>, coldFrom: string | null): ParticipantRequest[] {
  const conference = conferenceOf(joined);
  if (conference === null || joined.phase !== 'bridged') return [];
  const out: ParticipantRequest[] = [];
  for (const a of others) {
    if (a === joined || a.key === joined.key || a.phase !== 'bridged' || conferenceOf(a) !== conference) continue;
    if (a.parameters['end_conference_on_exit'] === 'true') {
      const keep = participantRequest(a, 'worker', { action: 'update', endConferenceOnExit: false });
      if (typeof keep !== 'string') out.push(keep);
    }
    // An outbound call handed on: its customer stays when its first worker leaves.
    if (a.customer != null && a.customer.phase === 'answered') a.customer.phase = 'shared';
    if (a.reservationSid === coldFrom) {
      const remove = participantRequest(a, 'worker', { action: 'remove' });
      if (typeof remove !== 'string') out.push(remove);
    }
  }
  return out;
}

/**
 * Why task `taskSid`'s call cannot be transferred, or null: its call is bridged DIRECTLY (by
 * `dequeue`, `call` or `redirect`, live) — with no conference there is nothing to move the caller
 * through ([DECISION], issue 15: a transfer moves the call through the conference). `bridges`: the
 * task's bridges.
 */
export function transferRefusal(taskSid: string, bridges: readonly Bridge[]): string | null {
  // An outbound call whose customer is not in the room yet: a transfer task would carry no call to move.
  const dialing = bridges.find((b) => b.taskSid === taskSid && b.phase !== 'ended' && (b.customer?.phase === 'waiting' || b.customer?.phase === 'dialing'));
  if (dialing !== undefined) {
    return `Task ${taskSid} cannot be transferred yet: its outbound call to ${dialing.customer?.to ?? 'the customer'} has not been answered, so the customer is not in the conference to be moved (transfer once they answer)`;
  }
  const direct = bridges.find((b) => b.taskSid === taskSid && b.phase === 'bridged' && conferenceOf(b) === null && b.callerCallSid !== null);
  if (direct === undefined) return null;
  return `Task ${taskSid} cannot be transferred: its call was bridged by the ${direct.instruction} instruction, which connects the caller and the worker directly, so there is no conference to move the caller through (bridge the call with reservation.conference() to transfer it)`;
}
