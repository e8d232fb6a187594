/**
 * The voice core hosted by the runtime (issue 12; DESIGN.md "Cores and the one runtime"; voice spec
 * A1–A5; docs/voice.md). Per workspace that has call flows: its flows and phone numbers (REST
 * resources), the call-flow interpreter with the calls running through it (src/callflows), and the
 * bridges of the reservations whose `dequeue`, `call`, `redirect` or `conference` instruction
 * places a worker's leg (src/callflows/bridges.ts). Driven in the runtime's turn, like the callback
 * core:
 *
 * - the network's reports (a call came in, digits, a leg's status, a bridge) are operations queued
 *   into the runtime's next batch; the TwiML-level answer is given once that batch is durable
 *   ({@link VoiceInbound});
 * - what the flow asks of the engine (create the call's task, cancel it when the caller hangs up)
 *   and what a bridge decides (accept, time out, `worker_call_sid`, post-work activity, wrapping)
 *   is executed in the same batch, logged like any command;
 * - engine events that concern a call (a reservation ended while the worker's phone rings, a
 *   holding caller's task canceled) are seen in the turn that made them ({@link observe});
 * - worker legs and hang-ups leave the process as outbox rows (`voice.connect` at most once per
 *   idempotency key, `voice.hangup` at least once), delivered to the {@link VoicePort} by the one
 *   dispatcher ({@link deliverers}): a crash between deciding a leg and placing it never places it
 *   twice; so do the participant changes of a conference bridge (`voice.participant`: hold, mute,
 *   remove — the worker SDK's participant routes, {@link participant}), at least once;
 * - transfers move the call (issue 15; docs/voice.md "Transfers move the call"): a transfer task's
 *   `conference`/`dequeue` joins the caller's LIVE conference ({@link instruct}), and once the
 *   target is in, a COLD transfer's first worker leg is removed ({@link handover}); a task bridged
 *   directly cannot be transferred ({@link transferRefusal}); an outbound task's `conference` rings
 *   the worker, then dials the customer into the conference (docs/voice.md "Outbound calls");
 * - the state is written as rows of the store's `core_rows` (core `voice`): `meta` (the flow
 *   versions), `flow:<FW>`, `number:<PN>`, `call:<CA>` (one per running call), `bridge:<key>`.
 *
 * Times are epoch milliseconds unless a name says seconds.
 */
import { StatusError } from '../util/status-error.ts';
import { appendFileSync } from 'node:fs';
import { CallbackError, liveEwtSeconds, rangePhrase, type OfferDecision } from '../callbacks/index.ts';
import {
  CallFlowInterpreter,
  FlowValidationError,
  kindOf,
  validateFlow,
  type CallFlow,
  type CallFlowSnapshot,
  type CallState,
  type FlowEffect,
  type FlowEvent,
  type FlowInput,
  type FlowOutcome,
  type JsonValue,
  type Verb,
} from '../callflows/index.ts';
import {
  bridged,
  bridgeKey,
  bridgeKeyOfLeg,
  callerGone,
  conferenceOf,
  customerLegStatus,
  handoverRequests,
  isCustomerKey,
  transferRefusal,
  isFinalStatus,
  participantRequest,
  reservationEnded,
  startBridge,
  workerLegStatus,
  type Bridge,
  type BridgeAction,
  type ParticipantChange,
} from '../callflows/bridges.ts';
import type { ConnectRequest, HangupRequest, IncomingCall, LegStatusUpdate, ParticipantRequest, VoiceAnswer, VoiceInbound, VoiceInstruction, VoicePort } from '../callflows/voice-port.ts';
import type { EngineEvent, Outcome, WorkspaceEngine } from '../engine/index.ts';
import type { CoreWrites, EventRecord, Store } from '../store/store.ts';
import type { Scheduler } from '../util/scheduler.ts';
import type { CallbackHosting } from './callbacks-hosting.ts';
import type { CoreContext, HostedCore } from './core.ts';
import type { CheckedInstruction } from './instructions.ts';
import type { EventOrigin, OutboxDeliverer, OutboxDelivery } from './outbox.ts';
import type { UntimedCommand } from './runtime.ts';

/** The outbox rows of the voice core: a worker's leg placed, a leg ended, a conference participant changed. */
export type VoiceOutboxKind = 'voice.connect' | 'voice.hangup' | 'voice.participant';

/** The core name of the voice rows in the store. */
export const VOICE_CORE = 'voice';

/** Options of the voice hosting (`RuntimeOptions.voice`). */
export interface VoiceHostingOptions {
  /** The telephone network. Without one, instructions are only recorded and accepted at once (docs/compatibility.md A6). */
  port?: VoicePort;
  /** Append one JSON line per worker leg handed to the port (`{key, to, at}`) to this file (tests, audits). */
  connectLog?: string;
  /** Errors nobody waits for (a port that failed). Default: ignored. */
  onError?: (error: unknown) => void;
}

/** A call flow as the REST API shows it. */
export interface CallFlowResource {
  sid: string;
  accountSid: string;
  workspaceSid: string;
  friendlyName: string;
  definition: CallFlow;
  /** Epoch ms. */
  dateCreated: number;
  dateUpdated: number;
}

/** One of the center's phone numbers and the flow its calls run. */
export interface PhoneNumberResource {
  sid: string;
  accountSid: string;
  workspaceSid: string;
  /** E.164 (`+` and 2–15 digits), `client:<name>` or a `sip:` URI: what the network sends as `To`. */
  phoneNumber: string;
  friendlyName: string;
  callFlowSid: string;
  dateCreated: number;
  dateUpdated: number;
}

/** A refused voice operation: the HTTP status and Twilio code the API answers with, the parameter at fault. */
export class VoiceError extends StatusError {
  override name = 'VoiceError';
}

/** A refused instruction: the Twilio alert / error code and why. */
export interface InstructionRefusal {
  alert: number;
  message: string;
}

interface VoiceHost {
  workspaceSid: string;
  accountSid: string;
  interp: CallFlowInterpreter;
  flows: Map<string, CallFlowResource>;
  numbers: Map<string, PhoneNumberResource>;
  bridges: Map<string, Bridge & { actor: EventOrigin['actor'] | null }>;
  /** Holding caller's task → call. */
  taskCalls: Map<string, string>;
  /** What a holding caller hears at their next hold request (announcements, a goodbye), in order. */
  pendingHold: Map<string, Verb[]>;
  /** The music of the call's current hold treatment. */
  holdMusic: Map<string, string | null>;
  /** The last answer given to each running call (a retried webhook gets it again). */
  lastAnswer: Map<string, VoiceAnswer>;
  /** Row keys changed since the last write. */
  dirty: Set<string>;
}

const REFUSED_NUMBER = 'The number you have called is not in service. Goodbye.';
const SORRY = 'We are sorry, we cannot take your call now. Goodbye.';

const NOT_PENDING_ALERT: Record<VoiceInstruction, number> = { call: 40114, redirect: 40123, dequeue: 40135, conference: 40145 };
const VOICE_INSTRUCTIONS = Object.keys(NOT_PENDING_ALERT) as VoiceInstruction[];

/**
 * The voice cores of every workspace (see the module comment): a {@link HostedCore} for the runtime,
 * the caller side of the {@link VoicePort} ({@link VoiceInbound}), and the operations behind the
 * REST resources for call flows and phone numbers.
 */
export class VoiceHosting implements HostedCore, VoiceInbound {
  readonly port: VoicePort | null;
  private readonly hosts = new Map<string, VoiceHost>();
  /** Phone number → its resource (numbers are unique across the server: the network routes by `To`). */
  private readonly numberIndex = new Map<string, PhoneNumberResource>();
  /** Caller call SID → workspace, while the call is in a flow or bridged. */
  private readonly callIndex = new Map<string, string>();
  /** Bridge key → workspace. */
  private readonly keyIndex = new Map<string, string>();
  private readonly connectLog: string | null;
  private readonly onError: (error: unknown) => void;
  private events: Array<{ workspaceSid: string; event: EventRecord }> = [];
  private outbound: Array<{ workspaceSid: string; kind: VoiceOutboxKind; payload: string }> = [];
  private readonly touched = new Set<VoiceHost>();
  /** Answers being built in the current operation, per call. */
  private answers: Map<string, Verb[]> | null = null;

  /**
   * @param run queues an operation into the runtime's next batch; resolves with its value once durable
   * @param newSid the runtime's SID source (`prefix` + 32 hex digits)
   * @param callbacks the callback cores (offers, callbacks registered from a call, wait estimates)
   */
  private readonly scheduler: Scheduler;
  private readonly run: <T>(workspaceSid: string, op: (ctx: CoreContext) => T) => Promise<T>;
  private readonly newSid: (prefix: string) => string;
  private readonly callbacks: CallbackHosting;

  constructor(
    options: VoiceHostingOptions,
    scheduler: Scheduler,
    run: <T>(workspaceSid: string, op: (ctx: CoreContext) => T) => Promise<T>,
    newSid: (prefix: string) => string,
    callbacks: CallbackHosting,
  ) {
    this.scheduler = scheduler;
    this.run = run;
    this.newSid = newSid;
    this.callbacks = callbacks;
    this.port = options.port ?? null;
    this.connectLog = options.connectLog ?? null;
    this.onError = options.onError ?? (() => undefined);
    this.port?.attach(this);
  }

  // ── HostedCore ──

  async load(store: Store, engineOf: (workspaceSid: string) => WorkspaceEngine | undefined): Promise<void> {
    const rows = await store.loadCoreRows(VOICE_CORE);
    const byWs = new Map<string, Array<{ key: string; body: string }>>();
    for (const r of rows) {
      if (engineOf(r.workspaceSid) === undefined) continue;
      let list = byWs.get(r.workspaceSid);
      if (list === undefined) byWs.set(r.workspaceSid, (list = []));
      list.push(r);
    }
    for (const [ws, list] of byWs) this.restoreHost(ws, list);
  }

  async reload(store: Store, workspaceSid: string): Promise<void> {
    const rows = await store.loadCoreRowsOf(VOICE_CORE, workspaceSid);
    this.dropHost(workspaceSid);
    if (rows.length > 0) this.restoreHost(workspaceSid, rows);
  }

  discardBatch(): void {
    this.events = [];
    this.outbound = [];
    this.touched.clear();
  }

  forget(workspaceSid: string): void {
    this.dropHost(workspaceSid);
  }

  close(): void {}

  workspaces(): string[] {
    return [...this.hosts.keys()];
  }

  nextDeadline(workspaceSid: string): number | null {
    return this.hosts.get(workspaceSid)?.interp.nextDeadline() ?? null;
  }

  advanceTo(workspaceSid: string, ctx: CoreContext): void {
    const h = this.hosts.get(workspaceSid);
    if (h === undefined) return;
    const due = h.interp.nextDeadline();
    if (due === null || due > ctx.now) return;
    this.touched.add(h);
    // Fresh place in line and EWT for the calls whose announcement is due.
    for (const callSid of h.interp.dueCalls(ctx.now)) this.feed(h, ctx, this.queueUpdate(h, ctx, callSid));
    this.carry(h, ctx, h.interp.advanceTo(ctx.now));
  }

  observe(workspaceSid: string, events: readonly EngineEvent[], ctx: CoreContext): void {
    const h = this.hosts.get(workspaceSid);
    if (h === undefined) return;
    for (const e of events) {
      if (e.resourceType === 'reservation') {
        if (e.eventType !== 'reservation.canceled' && e.eventType !== 'reservation.rescinded' && e.eventType !== 'reservation.timeout' && e.eventType !== 'reservation.rejected') continue;
        // A bridge is keyed by its reservation and instruction: look the few keys up, no scan.
        for (const instruction of VOICE_INSTRUCTIONS) {
          const b = h.bridges.get(bridgeKey(e.resourceSid, instruction));
          if (b === undefined) continue;
          this.touched.add(h);
          this.act(h, ctx, b, reservationEnded(b));
        }
      } else if (e.resourceType === 'task' && (e.eventType === 'task.canceled' || e.eventType === 'task.deleted' || e.eventType === 'task.system-deleted')) {
        const callSid = h.taskCalls.get(e.resourceSid);
        if (callSid === undefined) continue;
        h.taskCalls.delete(e.resourceSid);
        this.touched.add(h);
        const reason = typeof e.data['task_canceled_reason'] === 'string' ? e.data['task_canceled_reason'] : e.eventType.slice(5);
        this.feed(h, ctx, { type: 'task_ended', at: ctx.now, callSid, reason });
      }
    }
  }

  takeWrites(now: number): CoreWrites {
    const coreRows: NonNullable<CoreWrites['coreRows']>[number][] = [];
    for (const h of this.touched) {
      if (this.hosts.get(h.workspaceSid) !== h) continue;
      for (const key of h.dirty) coreRows.push({ workspaceSid: h.workspaceSid, core: VOICE_CORE, key, body: this.rowBody(h, key), updatedAt: now });
      h.dirty.clear();
    }
    this.touched.clear();
    const events = this.events;
    this.events = [];
    const outbox = this.outbound.map((o) => ({ workspaceSid: o.workspaceSid, kind: o.kind, payload: o.payload, dueAt: now }));
    this.outbound = [];
    return { events, outbox, callbackStates: [], coreRows };
  }

  /**
   * How the dispatcher delivers this core's rows: `voice.connect` at most once (taken durably
   * before the port is called), `voice.hangup` and `voice.participant` at least once, one lane per
   * workspace (destination `voice`), a hang-up or a participant change never before the connect
   * of its key.
   */
  deliverers(): Record<VoiceOutboxKind, OutboxDeliverer> {
    const orderKey = (d: OutboxDelivery): string | null => {
      try {
        return (JSON.parse(d.payload) as { key?: string }).key ?? null;
      } catch {
        return null;
      }
    };
    return {
      'voice.connect': { destination: 'voice', guarantee: 'at-most-once', orderKey, deliver: (d) => this.deliverConnect(d) },
      'voice.hangup': { destination: 'voice', guarantee: 'at-least-once', orderKey, deliver: (d) => this.deliverHangup(d) },
      'voice.participant': { destination: 'voice', guarantee: 'at-least-once', orderKey, deliver: (d) => this.deliverParticipant(d) },
    };
  }

  // ── VoiceInbound: the caller side ──

  incoming(call: IncomingCall): Promise<VoiceAnswer> {
    const number = this.numberIndex.get(call.to);
    if (number === undefined) return Promise.resolve(refusal(`no flow answers ${call.to}: it is not one of the center's phone numbers`, REFUSED_NUMBER));
    const ws = number.workspaceSid;
    return this.run(ws, (ctx) => {
      const h = this.hosts.get(ws);
      if (h === undefined || h.numbers.get(number.sid) !== number) return refusal(`the number ${call.to} was removed`, REFUSED_NUMBER);
      const last = h.lastAnswer.get(call.callSid);
      if (last !== undefined) return last;
      if (h.interp.flow(number.callFlowSid) === undefined) return refusal(`the flow ${number.callFlowSid} of ${call.to} is gone`, SORRY);
      this.callIndex.set(call.callSid, ws);
      return this.operate(h, ctx, call.callSid, { type: 'call_started', at: ctx.now, callSid: call.callSid, flowSid: number.callFlowSid, from: call.from, to: call.to, parameters: { ...call.parameters } });
    });
  }

  gathered(callSid: string, answer: { digits?: string; speech?: string } | null): Promise<VoiceAnswer> {
    const ws = this.callIndex.get(callSid);
    if (ws === undefined) return Promise.resolve(refusal(`no call ${callSid} is in a flow`, SORRY));
    return this.run(ws, (ctx) => {
      const h = this.hosts.get(ws);
      if (h === undefined) return refusal(`no call ${callSid} is in a flow`, SORRY);
      const input: FlowInput =
        answer === null
          ? { type: 'gather_timeout', at: ctx.now, callSid }
          : { type: 'gathered', at: ctx.now, callSid, ...(answer.digits === undefined ? {} : { digits: answer.digits }), ...(answer.speech === undefined ? {} : { speech: answer.speech }) };
      return this.operate(h, ctx, callSid, input);
    });
  }

  /** Served from memory: what was queued for the caller since the last ask, else the music again. */
  hold(callSid: string): Promise<VoiceAnswer> {
    const ws = this.callIndex.get(callSid);
    const h = ws === undefined ? undefined : this.hosts.get(ws);
    if (h === undefined) return Promise.resolve({ verbs: [{ verb: 'hangup' }] });
    const pending = h.pendingHold.get(callSid);
    if (pending !== undefined && pending.length > 0) {
      h.pendingHold.delete(callSid);
      return Promise.resolve({ verbs: pending });
    }
    return Promise.resolve({ verbs: [{ verb: 'hold', parts: [], musicUrl: h.holdMusic.get(callSid) ?? null }] });
  }

  legStatus(update: LegStatusUpdate): Promise<void> {
    if (update.key !== undefined && update.key !== '') {
      const key = update.key;
      if (isCustomerKey(key)) {
        return this.onBridge(bridgeKeyOfLeg(key), (h, ctx, b) => {
          // The customer gone: a transfer of their call still waiting has nothing left to move.
          const customerCall = b.customer?.callSid ?? update.callSid;
          if (isFinalStatus(update.status) && customerCall !== '') this.cancelOpenTransfers(h, ctx, customerCall);
          const actions = customerLegStatus(b, update.callSid, update.status);
          // The customer's call is the bridge's caller now: its hang-up reaches the bridge either way.
          if (b.callerCallSid !== null && !isFinalStatus(update.status)) this.callIndex.set(b.callerCallSid, h.workspaceSid);
          return actions;
        });
      }
      return this.onBridge(key, (h, ctx, b) => {
        const customerWas = b.customer?.phase;
        const wasBridged = b.phase === 'bridged';
        const actions = workerLegStatus(b, update.callSid, update.status, ctx.now, this.reservationPending(ctx, b));
        // The last worker leg of a conference left (the agent hung up — the call usually ends with
        // it —, or was kicked): the conference is not live any more, nobody can join it, so a
        // transfer of the call still waiting has nothing to join. Canceled now: once this bridge is
        // gone, the caller's own hang-up would no longer find it (docs/voice.md "Transfers move
        // the call").
        const caller = b.callerCallSid;
        if (wasBridged && b.phase === 'ended' && caller !== null && conferenceOf(b) !== null && this.liveConference(h, caller) === null) {
          this.cancelOpenTransfers(h, ctx, caller);
        }
        // An outbound call's worker leg ending hangs its customer up (or the room ended under both):
        // the call is over, so a transfer of it still waiting has nothing left to move.
        const customer = b.customer ?? null;
        if (customer !== null && customerWas !== 'ended' && customer.phase === 'ended' && customer.callSid !== null) this.cancelOpenTransfers(h, ctx, customer.callSid);
        return actions;
      });
    }
    if (!isFinalStatus(update.status)) return Promise.resolve();
    const ws = this.callIndex.get(update.callSid);
    if (ws === undefined) return Promise.resolve();
    return this.run(ws, (ctx) => {
      const h = this.hosts.get(ws);
      if (h === undefined) return;
      this.touched.add(h);
      this.callerHungUp(h, ctx, update.callSid);
    });
  }

  bridged(key: string, workerCallSid: string, _at: number): Promise<void> {
    return this.onBridge(
      key,
      (_h, ctx, b) => bridged(b, workerCallSid, ctx.now, this.reservationPending(ctx, b)),
      // Once the reservation is accepted (the engine completed the transfer in that command).
      (h, ctx, b) => {
        if (b.placement === 'join' && b.phase === 'bridged') this.handover(h, ctx, b);
      },
    );
  }

  /**
   * A transfer's target joined the live conference (`b`, a `join` bridge): the participant changes
   * of {@link handoverRequests} as `voice.participant` rows — the other legs no longer end the
   * conference on leaving, and for a COLD transfer (completed in the command that accepted `b`'s
   * reservation) the initiating worker's leg is removed, ending like any removed leg. WARM: the
   * first worker stays until they leave.
   */
  private handover(h: VoiceHost, ctx: CoreContext, b: Bridge): void {
    const t = ctx.engine(h.workspaceSid)?.incomingTransfer(b.taskSid);
    const coldFrom = t !== undefined && t.mode === 'COLD' && t.status === 'completed' ? t.initiatingReservationSid : null;
    const conference = conferenceOf(b);
    for (const other of h.bridges.values()) if (conferenceOf(other) === conference) h.dirty.add(`bridge:${other.key}`);
    for (const request of handoverRequests(b, h.bridges.values(), coldFrom)) {
      this.outbound.push({ workspaceSid: h.workspaceSid, kind: 'voice.participant', payload: JSON.stringify(request) });
    }
  }

  /**
   * Why task `taskSid` cannot be transferred with a telephone network attached, or null ({@link
   * transfer} answers it as a 400, changing nothing; [DECISION], issue 15, docs/voice.md "Transfers
   * move the call"): its call is bridged directly (`dequeue`, `call`, `redirect`) — no conference
   * to move the caller through —, or it is an outbound call whose customer has not answered yet
   * (src/callflows/bridges.ts `transferRefusal`), or its call (`call_sid`) is in no live conference
   * (its reservation was accepted plainly, so no leg moved, or the call has ended since): the
   * transfer task could never join it, and once the call is over no hang-up would come to cancel
   * it. Always null without a port. Read it in the runtime's turn (as {@link transfer} does):
   * outside it, a report may change the bridges before the transfer runs.
   */
  transferRefusal(workspaceSid: string, engine: WorkspaceEngine | undefined, taskSid: string): string | null {
    if (this.port === null) return null;
    const h = this.hosts.get(workspaceSid);
    if (h === undefined) return null;
    const refused = transferRefusal(taskSid, [...h.bridges.values()].filter((b) => b.taskSid === taskSid));
    if (refused !== null) return refused;
    const call = engine?.tasks.get(taskSid)?.attributes['call_sid'];
    if (typeof call !== 'string' || call === '' || this.liveConference(h, call) !== null) return null;
    return `Task ${taskSid} cannot be transferred: its call ${call} is not in a conference in progress (no leg of it was bridged with reservation.conference(), or the call has ended): there is no call to move`;
  }

  /**
   * Executes a `transferTask` command (the worker SDK's Transfers route) in the runtime's next
   * batch, after {@link transferRefusal} was asked in that same batch — so no report or instruction
   * can change the bridges between the check and the transfer. Resolves with the engine's outcome
   * once durable; rejects with VoiceError 400/20001 (field `TaskSid`) when refused, changing
   * nothing.
   */
  transfer(workspaceSid: string, command: Extract<UntimedCommand, { type: 'transferTask' }>, origin: EventOrigin): Promise<Outcome> {
    return this.run(workspaceSid, (ctx) => {
      const refused = this.transferRefusal(workspaceSid, ctx.engine(workspaceSid), command.taskSid);
      if (refused !== null) throw new VoiceError(400, 20001, refused, 'TaskSid');
      return ctx.execute(workspaceSid, command, undefined, origin);
    });
  }

  /**
   * Runs `decide` on the bridge of `key` in the runtime's next batch and carries its actions out,
   * then `after` (if given); unknown or ended keys are ignored.
   */
  private onBridge(key: string, decide: (h: VoiceHost, ctx: CoreContext, b: Bridge) => BridgeAction[], after?: (h: VoiceHost, ctx: CoreContext, b: Bridge) => void): Promise<void> {
    const ws = this.keyIndex.get(key);
    if (ws === undefined) return Promise.resolve();
    return this.run(ws, (ctx) => {
      const h = this.hosts.get(ws);
      const b = h?.bridges.get(key);
      if (h === undefined || b === undefined) return;
      this.touched.add(h);
      this.act(h, ctx, b, decide(h, ctx, b));
      after?.(h, ctx, b);
    });
  }

  // ── instructions ──

  /**
   * Starts a checked instruction on a pending reservation, in the runtime's next batch: its bridge
   * and worker leg (see src/callflows/bridges.ts). Resolves with null once durable, or with the
   * refusal (nothing changed): the reservation no longer pending (40114/40123/40135/40145), a
   * `dequeue` for a task without `call_sid` (40140), an outbound task (`outbound_to`, no
   * `call_sid`) whose number cannot be dialed or that has no caller ID (20001), a worker whose leg
   * of another reservation is still up (20001, [DECISION]: one call at a time). A `conference` or
   * `dequeue` of a task whose caller is in a live conference joins it (placement `join`); a
   * `conference` of an outbound task rings the worker first (placement `outbound`). Only with a
   * port ({@link port} not null).
   */
  instruct(accountSid: string, workspaceSid: string, reservationSid: string, checked: CheckedInstruction, actor: EventOrigin['actor'] | null): Promise<InstructionRefusal | null> {
    return this.run(workspaceSid, (ctx) => {
      const engine = ctx.engine(workspaceSid);
      const r = engine?.reservations.get(reservationSid);
      const name = checked.instruction;
      if (engine === undefined || r === undefined || r.reservationStatus !== 'pending') {
        return { alert: NOT_PENDING_ALERT[name], message: `${name}: the reservation ${reservationSid} is no longer pending` };
      }
      const task = engine.tasks.get(r.taskSid);
      const callSid = task?.attributes['call_sid'];
      if (name === 'dequeue' && (typeof callSid !== 'string' || callSid === '')) {
        return { alert: 40140, message: "Failed to issue Dequeue instruction due to missing 'call_sid' property in the task's attributes" };
      }
      const h = this.hostFor(accountSid, workspaceSid);
      const key = bridgeKey(reservationSid, name);
      if (h.bridges.has(key)) return null;
      // [DECISION] A worker is on one call at a time: a task routed past their capacity (a transfer
      // to them, RoutingTarget ignores capacity) is not answered with a second leg to their phone
      // while one of theirs is still up (docs/voice.md "Transfers move the call").
      if (name !== 'redirect') {
        let busy: Bridge | undefined;
        for (const o of h.bridges.values()) {
          if (o.workerSid === r.workerSid && o.instruction !== 'redirect' && o.phase !== 'ended') {
            busy = o;
            break;
          }
        }
        if (busy !== undefined) {
          return { alert: 20001, message: `${name}: worker ${r.workerSid} is already on a call (reservation ${busy.reservationSid} of task ${busy.taskSid}): a second leg cannot be placed to them until it ends` };
        }
      }
      const caller = typeof callSid === 'string' && callSid !== '' ? callSid : null;
      // A transfer's task carries the caller's call: when that caller is in a live conference,
      // `conference` and `dequeue` join it (docs/voice.md "Transfers").
      const join = caller !== null && (name === 'conference' || name === 'dequeue') ? this.liveConference(h, caller) : null;
      const transfer = engine.incomingTransfer(r.taskSid);
      if (transfer !== undefined) {
        // A transfer task moves a call that is already up: it joins the live conference, never
        // dials anyone itself (its copied `outbound_to` is the first task's customer).
        if ((name === 'conference' || name === 'dequeue') && join === null) {
          return { alert: 20001, message: `${name}: task ${r.taskSid} is a transfer (${transfer.sid}) of task ${transfer.taskSid}, whose call is not in a conference in progress any more: there is no call to join` };
        }
        if ((name === 'call' || name === 'redirect') && caller !== null && this.liveConference(h, caller) !== null) {
          return {
            alert: 20001,
            message: `${name}: task ${r.taskSid} is a transfer (${transfer.sid}) of a call in a conference in progress; ${name} would not move the caller: answer it with reservation.conference() or reservation.dequeue(), which join the conference`,
          };
        }
      }
      let outbound: { to: string; from: string } | undefined;
      if (name === 'conference' && caller === null && transfer === undefined && task !== undefined && task.attributes['outbound_to'] !== undefined) {
        const checkedOut = outboundOf(task.attributes, checked.parameters);
        if (typeof checkedOut === 'string') return { alert: 20001, message: checkedOut };
        outbound = checkedOut;
      }
      const acceptedAtOnce = (name === 'call' || name === 'redirect') && checked.accepts;
      const { bridge, actions } = startBridge({
        instruction: name,
        accountSid,
        workspaceSid,
        reservationSid,
        taskSid: r.taskSid,
        workerSid: r.workerSid,
        callerCallSid: caller,
        parameters: checked.parameters,
        acceptedAtOnce,
        at: ctx.now,
        ...(join === null ? {} : { join }),
        ...(outbound === undefined ? {} : { outbound }),
      });
      const b = { ...bridge, actor };
      h.bridges.set(key, b);
      this.keyIndex.set(key, workspaceSid);
      if (b.callerCallSid !== null && !this.callIndex.has(b.callerCallSid)) this.callIndex.set(b.callerCallSid, workspaceSid);
      this.touched.add(h);
      this.act(h, ctx, b, actions);
      return null;
    });
  }

  /** The live conference the caller `callSid` is in (a bridged conference leg's whose call has not ended), or null. */
  private liveConference(h: VoiceHost, callSid: string): string | null {
    for (const b of h.bridges.values()) {
      const name = conferenceOf(b);
      // A wrapped bridge's call ended (the caller left): its room is closing, not joinable.
      if (b.callerCallSid === callSid && b.phase === 'bridged' && !b.wrapped && name !== null) return name;
    }
    return null;
  }

  /**
   * Holds, mutes or removes one participant of the conference of task `taskSid` (the worker SDK's
   * participant routes, spec B4; voice spec A4 P3), in the runtime's next batch: a
   * `voice.participant` outbox row for the port, written with the batch and delivered after the
   * commit. `target`: the caller (`customer`) or the leg of worker `workerSid`. Resolves once
   * durable. Rejects with VoiceError 400/20001, changing nothing: no voice port; no call of the task
   * on the port (field `TaskSid`); the worker has no leg in it (`TargetWorkerSid`); the call was
   * bridged by `dequeue`, `call` or `redirect` — no conference to hold anyone in (the message
   * says to use `reservation.conference()`) — or the conference is not in progress. A worker is
   * looked for among every leg in the task's conference (a transfer's target or initiator too).
   */
  participant(workspaceSid: string, taskSid: string, target: { role: 'customer' } | { role: 'worker'; workerSid: string }, change: ParticipantChange): Promise<void> {
    return this.run(workspaceSid, () => {
      if (this.port === null) throw new VoiceError(400, 20001, 'This server has no voice port: conference participants cannot be held, muted or removed', 'TaskSid');
      const h = this.hosts.get(workspaceSid);
      const own = [...(h?.bridges.values() ?? [])].filter((b) => b.taskSid === taskSid);
      // The other legs in the same conference (a transfer's target, or its initiator) count too.
      const rooms = new Set<string | null>(own.map((b) => conferenceOf(b)).filter((n) => n !== null));
      const mine = [...(h?.bridges.values() ?? [])].filter((b) => b.taskSid === taskSid || (b.phase === 'bridged' && rooms.has(conferenceOf(b))));
      if (h === undefined || mine.length === 0) {
        throw new VoiceError(400, 20001, `Task ${taskSid} has no call in progress on the voice port: holding, muting or removing a participant needs a conference (bridge the call with reservation.conference())`, 'TaskSid');
      }
      // The latest bridge in progress first: a conference the task's call is in now.
      const ranked = mine.sort((a, b) => Number(b.phase === 'bridged') - Number(a.phase === 'bridged') || b.startedAt - a.startedAt);
      let b: Bridge | undefined;
      if (target.role === 'customer') {
        b = ranked.find((x) => x.taskSid === taskSid && conferenceOf(x) !== null && x.phase === 'bridged') ?? ranked.find((x) => x.taskSid === taskSid) ?? ranked[0];
      } else {
        b = ranked.find((x) => x.workerSid === target.workerSid && x.phase === 'bridged') ?? ranked.find((x) => x.workerSid === target.workerSid);
        if (b === undefined) throw new VoiceError(400, 20001, `Worker ${target.workerSid} has no leg in the call of task ${taskSid}`, 'TargetWorkerSid');
      }
      const request = participantRequest(b as Bridge, target.role, change);
      if (typeof request === 'string') throw new VoiceError(400, 20001, request.charAt(0).toUpperCase() + request.slice(1), 'TaskSid');
      this.outbound.push({ workspaceSid, kind: 'voice.participant', payload: JSON.stringify(request) });
      this.touched.add(h);
    });
  }

  // ── flows and phone numbers (REST) ──

  /** The workspace's flows, oldest first. */
  listFlows(workspaceSid: string): CallFlowResource[] {
    return [...(this.hosts.get(workspaceSid)?.flows.values() ?? [])];
  }

  /** One flow, or undefined. */
  getFlow(workspaceSid: string, sid: string): CallFlowResource | undefined {
    return this.hosts.get(workspaceSid)?.flows.get(sid);
  }

  /**
   * Creates or replaces a flow (`sid` null: a new `FW` SID), durably. Throws (rejects with) a
   * VoiceError 400/20001 naming the field: `Definition` not JSON or not a valid flow (the message
   * names the step and field, FlowValidationError), an `enqueue` step's workflow not one of the
   * workspace's, a blank FriendlyName. Running calls keep the version they started with.
   */
  putFlow(accountSid: string, workspaceSid: string, sid: string | null, input: { friendlyName?: string; definition?: unknown }): Promise<CallFlowResource> {
    return this.run(workspaceSid, (ctx) => {
      const h = this.hostFor(accountSid, workspaceSid);
      const old = sid === null ? undefined : h.flows.get(sid);
      if (sid !== null && old === undefined) throw new VoiceError(404, 20404, `The requested resource /CallFlows/${sid} was not found`);
      const doc = input.definition ?? old?.definition;
      if (doc === undefined) throw new VoiceError(400, 20001, 'Missing required parameter Definition in the post body', 'Definition');
      let flow: CallFlow;
      try {
        flow = validateFlow(structuredClone(doc));
      } catch (error) {
        if (error instanceof FlowValidationError) throw new VoiceError(400, 20001, `Definition is invalid: ${error.message}`, 'Definition');
        throw error;
      }
      checkFlowReferences(flow, ctx.engine(workspaceSid));
      const friendlyName = (input.friendlyName ?? old?.friendlyName ?? flow.friendlyName ?? 'Call flow').trim();
      if (friendlyName === '' || friendlyName.length > 128) throw new VoiceError(400, 20001, 'FriendlyName must be 1–128 characters', 'FriendlyName');
      const res: CallFlowResource = {
        sid: old?.sid ?? this.newSid('FW'),
        accountSid,
        workspaceSid,
        friendlyName,
        definition: flow,
        dateCreated: old?.dateCreated ?? ctx.now,
        dateUpdated: ctx.now,
      };
      h.interp.putFlow(res.sid, flow);
      h.flows.set(res.sid, res);
      h.dirty.add(`flow:${res.sid}`).add('meta');
      this.touched.add(h);
      return res;
    });
  }

  /** Deletes a flow, durably. Rejects with VoiceError 404, or 409/20409 while a phone number uses it. */
  deleteFlow(accountSid: string, workspaceSid: string, sid: string): Promise<void> {
    return this.run(workspaceSid, () => {
      const h = this.hosts.get(workspaceSid);
      if (h === undefined || h.accountSid !== accountSid || !h.flows.has(sid)) throw new VoiceError(404, 20404, `The requested resource /CallFlows/${sid} was not found`);
      const user = [...h.numbers.values()].find((n) => n.callFlowSid === sid);
      if (user !== undefined) throw new VoiceError(409, 20409, `Call flow ${sid} is used by phone number ${user.phoneNumber} (${user.sid}); attach another flow to it first`, 'Sid');
      h.flows.delete(sid);
      h.interp.removeFlow(sid);
      h.dirty.add(`flow:${sid}`).add('meta');
      this.touched.add(h);
    });
  }

  /** The workspace's phone numbers, oldest first. */
  listNumbers(workspaceSid: string): PhoneNumberResource[] {
    return [...(this.hosts.get(workspaceSid)?.numbers.values() ?? [])];
  }

  /** One phone number, or undefined. */
  getNumber(workspaceSid: string, sid: string): PhoneNumberResource | undefined {
    return this.hosts.get(workspaceSid)?.numbers.get(sid);
  }

  /**
   * Creates or updates a phone number (`sid` null: new `PN` SID), durably. Rejects with VoiceError
   * 400/20001 naming the field (PhoneNumber not E.164, `client:` or `sip:`; CallFlowSid not a flow
   * of the workspace), 409/20409 when the number belongs to another phone number resource (numbers
   * are unique across the server: calls are routed by `To`), 404 for an unknown SID.
   */
  putNumber(accountSid: string, workspaceSid: string, sid: string | null, input: { phoneNumber?: string; friendlyName?: string; callFlowSid?: string }): Promise<PhoneNumberResource> {
    return this.run(workspaceSid, (ctx) => {
      const h = this.hostFor(accountSid, workspaceSid);
      const old = sid === null ? undefined : h.numbers.get(sid);
      if (sid !== null && old === undefined) throw new VoiceError(404, 20404, `The requested resource /PhoneNumbers/${sid} was not found`);
      const phoneNumber = (input.phoneNumber ?? old?.phoneNumber ?? '').trim();
      if (phoneNumber === '') throw new VoiceError(400, 20001, 'Missing required parameter PhoneNumber in the post body', 'PhoneNumber');
      if (!/^\+[1-9]\d{1,14}$/.test(phoneNumber) && !/^client:[A-Za-z0-9_.-]{1,121}$/.test(phoneNumber) && !/^sips?:\S+@\S+$/.test(phoneNumber)) {
        throw new VoiceError(400, 20001, `PhoneNumber must be an E.164 number (+ and 2–15 digits), client:<name> or a sip: URI (got '${phoneNumber}')`, 'PhoneNumber');
      }
      const taken = this.numberIndex.get(phoneNumber);
      if (taken !== undefined && taken.sid !== old?.sid) throw new VoiceError(409, 20409, `PhoneNumber ${phoneNumber} is already attached (${taken.sid})`, 'PhoneNumber');
      const callFlowSid = (input.callFlowSid ?? old?.callFlowSid ?? '').trim();
      if (callFlowSid === '') throw new VoiceError(400, 20001, 'Missing required parameter CallFlowSid in the post body', 'CallFlowSid');
      if (!h.flows.has(callFlowSid)) throw new VoiceError(400, 20001, `CallFlowSid ${callFlowSid} is not a call flow of this workspace`, 'CallFlowSid');
      const friendlyName = (input.friendlyName ?? old?.friendlyName ?? phoneNumber).trim();
      if (friendlyName === '' || friendlyName.length > 128) throw new VoiceError(400, 20001, 'FriendlyName must be 1–128 characters', 'FriendlyName');
      const res: PhoneNumberResource = {
        sid: old?.sid ?? this.newSid('PN'),
        accountSid,
        workspaceSid,
        phoneNumber,
        friendlyName,
        callFlowSid,
        dateCreated: old?.dateCreated ?? ctx.now,
        dateUpdated: ctx.now,
      };
      if (old !== undefined && old.phoneNumber !== phoneNumber) this.numberIndex.delete(old.phoneNumber);
      h.numbers.set(res.sid, res);
      this.numberIndex.set(phoneNumber, res);
      h.dirty.add(`number:${res.sid}`);
      this.touched.add(h);
      return res;
    });
  }

  /** Deletes a phone number, durably (calls already in its flow go on). Rejects with VoiceError 404. */
  deleteNumber(accountSid: string, workspaceSid: string, sid: string): Promise<void> {
    return this.run(workspaceSid, () => {
      const h = this.hosts.get(workspaceSid);
      const n = h?.numbers.get(sid);
      if (h === undefined || n === undefined || h.accountSid !== accountSid) throw new VoiceError(404, 20404, `The requested resource /PhoneNumbers/${sid} was not found`);
      h.numbers.delete(sid);
      if (this.numberIndex.get(n.phoneNumber) === n) this.numberIndex.delete(n.phoneNumber);
      h.dirty.add(`number:${sid}`);
      this.touched.add(h);
    });
  }

  /** A running call's flow state (read-only), or undefined (tests, the console). */
  callState(callSid: string): Readonly<CallState> | undefined {
    const ws = this.callIndex.get(callSid);
    return ws === undefined ? undefined : this.hosts.get(ws)?.interp.call(callSid);
  }

  /** The bridge of a reservation's instruction (read-only), or undefined. */
  bridge(key: string): Readonly<Bridge> | undefined {
    const ws = this.keyIndex.get(key);
    return ws === undefined ? undefined : this.hosts.get(ws)?.bridges.get(key);
  }

  // ── internals ──

  private hostFor(accountSid: string, workspaceSid: string): VoiceHost {
    let h = this.hosts.get(workspaceSid);
    if (h === undefined) {
      h = newHost(workspaceSid, accountSid, new CallFlowInterpreter(this.scheduler.now()));
      this.hosts.set(workspaceSid, h);
    }
    if (h.accountSid !== accountSid) throw new VoiceError(404, 20404, `The requested resource /Workspaces/${workspaceSid} was not found`);
    return h;
  }

  private dropHost(workspaceSid: string): void {
    const h = this.hosts.get(workspaceSid);
    if (h === undefined) return;
    for (const n of h.numbers.values()) if (this.numberIndex.get(n.phoneNumber) === n) this.numberIndex.delete(n.phoneNumber);
    for (const [callSid, ws] of this.callIndex) if (ws === workspaceSid) this.callIndex.delete(callSid);
    for (const key of h.bridges.keys()) this.keyIndex.delete(key);
    this.hosts.delete(workspaceSid);
  }

  private restoreHost(workspaceSid: string, rows: ReadonlyArray<{ key: string; body: string }>): void {
    let meta: Omit<CallFlowSnapshot, 'calls'> | null = null;
    const calls: CallState[] = [];
    const flows: CallFlowResource[] = [];
    const numbers: PhoneNumberResource[] = [];
    const bridges: Array<Bridge & { actor: EventOrigin['actor'] | null }> = [];
    for (const r of rows) {
      const body = JSON.parse(r.body) as unknown;
      if (r.key === 'meta') meta = body as Omit<CallFlowSnapshot, 'calls'>;
      else if (r.key.startsWith('call:')) calls.push(body as CallState);
      else if (r.key.startsWith('flow:')) flows.push(body as CallFlowResource);
      else if (r.key.startsWith('number:')) numbers.push(body as PhoneNumberResource);
      else if (r.key.startsWith('bridge:')) bridges.push(body as Bridge & { actor: EventOrigin['actor'] | null });
    }
    const accountSid = flows[0]?.accountSid ?? numbers[0]?.accountSid ?? null;
    if (accountSid === null) return;
    const interp = meta === null ? new CallFlowInterpreter(this.scheduler.now()) : CallFlowInterpreter.restore({ ...meta, now: Math.min(meta.now, this.scheduler.now()), calls });
    const h = newHost(workspaceSid, accountSid, interp);
    for (const f of flows) h.flows.set(f.sid, f);
    for (const n of numbers) {
      h.numbers.set(n.sid, n);
      this.numberIndex.set(n.phoneNumber, n);
    }
    for (const b of bridges) {
      // Rows written before bridges kept their account: the workspace's.
      b.accountSid ??= accountSid;
      h.bridges.set(b.key, b);
      this.keyIndex.set(b.key, workspaceSid);
      if (b.callerCallSid !== null) this.callIndex.set(b.callerCallSid, workspaceSid);
    }
    for (const c of calls) {
      this.callIndex.set(c.callSid, workspaceSid);
      if (c.taskSid !== null && c.phase === 'holding') h.taskCalls.set(c.taskSid, c.callSid);
    }
    this.hosts.set(workspaceSid, h);
  }

  private rowBody(h: VoiceHost, key: string): string | null {
    if (key === 'meta') return JSON.stringify(h.interp.flowsSnapshot());
    const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    let value: unknown;
    if (kind === 'call') value = h.interp.call(id);
    else if (kind === 'flow') value = h.flows.get(id);
    else if (kind === 'number') value = h.numbers.get(id);
    else if (kind === 'bridge') value = h.bridges.get(id);
    return value === undefined ? null : JSON.stringify(value);
  }

  /** Feeds one input for `callSid` and returns the answer the call gets from it (what it hears next). */
  private operate(h: VoiceHost, ctx: CoreContext, callSid: string, input: FlowInput): VoiceAnswer {
    this.touched.add(h);
    const outer = this.answers;
    this.answers = new Map([[callSid, []]]);
    try {
      const r = this.feed(h, ctx, input);
      const verbs = this.answers.get(callSid) ?? [];
      if (r.ignored !== undefined && verbs.length === 0) {
        // A retried webhook: the same answer again; else say nothing new.
        return h.lastAnswer.get(callSid) ?? { verbs: [{ verb: 'hangup' }] };
      }
      const answer = { verbs };
      if (h.interp.call(callSid) !== undefined) h.lastAnswer.set(callSid, answer);
      else h.lastAnswer.delete(callSid);
      return answer;
    } finally {
      this.answers = outer;
    }
  }

  /** Feeds an input to the interpreter and carries out what it says. */
  private feed(h: VoiceHost, ctx: CoreContext, input: FlowInput): FlowOutcome {
    const r = h.interp.execute(input);
    h.dirty.add(`call:${input.callSid}`);
    this.carry(h, ctx, r);
    return r;
  }

  /** Records the flow's events and carries its effects out, in order (answering those that ask). */
  private carry(h: VoiceHost, ctx: CoreContext, out: FlowOutcome): void {
    for (const e of out.events) this.record(h, e);
    for (const effect of out.effects) {
      h.dirty.add(`call:${effect.callSid}`);
      const answer = this.effect(h, ctx, effect);
      if (answer !== null) this.feed(h, ctx, answer);
    }
  }

  private record(h: VoiceHost, e: FlowEvent): void {
    // Stored with the workspace's events (the event stream and reports read them); not sent to the
    // TaskRouter event callback, whose consumers expect TaskRouter's own event types.
    this.events.push({ workspaceSid: h.workspaceSid, event: { sid: this.newSid('EV'), eventType: e.eventType, at: e.at, resourceSid: e.callSid, resourceType: 'call', data: e.data } as EventRecord });
  }

  /** Carries out one effect; returns the input that answers it, if it asks for one. */
  private effect(h: VoiceHost, ctx: CoreContext, e: FlowEffect): FlowInput | null {
    const ws = h.workspaceSid;
    switch (e.kind) {
      case 'respond':
        this.respond(h, e.callSid, e.verbs);
        return null;
      case 'create_task': {
        let answer: FlowInput | null = null;
        const { at: _at, ...command } = e.command;
        ctx.execute(ws, command as UntimedCommand, (o) => {
          answer =
            o.rejection === null
              ? { type: 'task_created', at: ctx.now, callSid: e.callSid, taskSid: o.sid as string }
              : { type: 'task_refused', at: ctx.now, callSid: e.callSid, reason: o.rejection.message };
          if (o.rejection === null) h.taskCalls.set(o.sid as string, e.callSid);
        });
        return answer;
      }
      case 'cancel_task': {
        h.taskCalls.delete(e.taskSid);
        const task = ctx.engine(ws)?.tasks.get(e.taskSid);
        if (task !== undefined && (task.assignmentStatus === 'pending' || task.assignmentStatus === 'reserved')) {
          const { at: _at, ...command } = e.command;
          ctx.execute(ws, command as UntimedCommand);
        }
        return null;
      }
      case 'decide_offer': {
        const cb = this.callbacks.host(h.accountSid, ws, true);
        if (cb === undefined) return { type: 'offer_decided', at: ctx.now, callSid: e.callSid, decision: noOffer() };
        const target = cb.center.getCallTarget(e.callTargetSid);
        const ewt = target === undefined ? null : this.ewtSeconds(h, ctx, e.taskSid, target, cb.center.statsOf(target.sid));
        try {
          const decision = this.callbacks.run(cb, ctx, (center, now) => ({ d: center.offer(e.callTargetSid, { ewtSeconds: ewt, channel: 'voice' }, now) })).d;
          return { type: 'offer_decided', at: ctx.now, callSid: e.callSid, decision };
        } catch (error) {
          if (error instanceof CallbackError) return { type: 'offer_decided', at: ctx.now, callSid: e.callSid, decision: noOffer() };
          throw error;
        }
      }
      case 'register_callback': {
        const cb = this.callbacks.host(h.accountSid, ws, true);
        if (cb === undefined) return { type: 'callback_refused', at: ctx.now, callSid: e.callSid, reason: 'no callback center' };
        try {
          const req = { callTargetSid: e.callTargetSid, phoneNumber: e.phoneNumber, context: e.context };
          const out = this.callbacks.run(cb, ctx, (center, now) => {
            if (e.inQueueTaskSid === null) return center.register(req, now);
            const task = ctx.engine(ws)?.tasks.get(e.inQueueTaskSid);
            if (task === undefined) throw new CallbackError('InvalidParameters', `the caller's task ${e.inQueueTaskSid} is gone`, 'TaskSid');
            return center.acceptInQueue(task, req, now);
          });
          if (e.inQueueTaskSid !== null) h.taskCalls.delete(e.inQueueTaskSid);
          return { type: 'callback_registered', at: ctx.now, callSid: e.callSid, callbackSid: out.callback.sid, ecbtPhrase: out.callback.ecbtSeconds === null ? null : rangePhrase(out.callback.ecbtSeconds) };
        } catch (error) {
          if (error instanceof CallbackError) return { type: 'callback_refused', at: ctx.now, callSid: e.callSid, reason: error.message };
          throw error;
        }
      }
      case 'end_call':
        h.holdMusic.delete(e.callSid);
        // What the call hears last was given with this turn's answer (or is queued below it).
        if (this.answers?.has(e.callSid) !== true) h.lastAnswer.delete(e.callSid);
        if (e.outcome !== 'enqueued' || e.by !== null) {
          // Hung up or a callback taken: nothing more will come for the call (a bridged caller
          // stays indexed for the bridge's reports).
          const bridgedCaller = [...h.bridges.values()].some((b) => b.callerCallSid === e.callSid);
          if (!bridgedCaller) this.callIndex.delete(e.callSid);
        }
        return null;
    }
  }

  /**
   * A `respond` effect: the answer to the operation's own call, or — for another call (an
   * announcement due, a canceled task) — queued for that caller's next hold request. An answer
   * ending with `enqueue` keeps what follows (the hold treatment) for the first hold request, since
   * a network plays nothing after `<Enqueue>` until the caller leaves the queue.
   */
  private respond(h: VoiceHost, callSid: string, verbs: Verb[]): void {
    const mine = this.answers?.get(callSid);
    let now = verbs;
    let later: Verb[] = [];
    const q = verbs.findIndex((v) => v.verb === 'enqueue');
    if (q >= 0) {
      now = verbs.slice(0, q + 1);
      later = verbs.slice(q + 1);
    }
    for (const v of verbs) if (v.verb === 'hold') h.holdMusic.set(callSid, v.musicUrl);
    if (mine !== undefined) {
      mine.push(...now);
    } else {
      later = [...now, ...later];
    }
    if (later.length > 0) {
      const pending = h.pendingHold.get(callSid) ?? [];
      pending.push(...later);
      h.pendingHold.set(callSid, pending);
    }
  }

  /** A holding caller's place in line (1 = next) and EWT (seconds), for their announcement. */
  private queueUpdate(h: VoiceHost, ctx: CoreContext, callSid: string): FlowInput {
    const taskSid = h.interp.call(callSid)?.taskSid ?? null;
    const task = taskSid === null ? undefined : ctx.engine(h.workspaceSid)?.tasks.get(taskSid);
    const position = task === undefined ? null : this.position(ctx, h.workspaceSid, task.sid);
    const queue = task?.taskQueueSid ?? null;
    const ewtSeconds = task === undefined || queue === null ? null : this.ewtSeconds(h, ctx, task.sid, { taskQueueSid: queue, taskChannel: task.taskChannelSid }, NO_STATS);
    return { type: 'queue_update', at: ctx.now, callSid, position, ewtSeconds };
  }

  /** A waiting task's place in its queue (1 = next: the pending tasks the queue serves before it), or null. */
  private position(ctx: CoreContext, workspaceSid: string, taskSid: string): number | null {
    const engine = ctx.engine(workspaceSid);
    const task = engine?.tasks.get(taskSid);
    const q = task?.taskQueueSid == null ? undefined : engine?.queues.get(task.taskQueueSid);
    if (task === undefined || q === undefined) return null;
    let position = 1;
    for (const t of q.tasks) if (t !== task && t.assignmentStatus === 'pending' && q.before(t, task)) position += 1;
    return position;
  }

  /**
   * A caller's EWT, seconds (null when nobody is staffed): for a holding caller, the default
   * predictor's estimate made as their task entered the queue (callbacks hosting, as the replay's)
   * less the time waited since — when the estimator has seen service (a positive estimate) —, else
   * the QLm estimate over the callers ahead of them (`liveEwtSeconds`, spec §7.3); for a caller
   * not queued yet, QLm over everyone waiting in the queue `q`.
   */
  private ewtSeconds(h: VoiceHost, ctx: CoreContext, taskSid: string | null, q: { taskQueueSid: string; taskChannel: string }, stats: CallbackStats): number | null {
    const engine = ctx.engine(h.workspaceSid);
    if (engine === undefined) return null;
    if (taskSid !== null) {
      const task = engine.tasks.get(taskSid);
      const predicted = this.callbacks.host(h.accountSid, h.workspaceSid, false)?.predictions.get(taskSid);
      if (task !== undefined && predicted !== undefined && predicted > 0) {
        return Math.max(0, Math.round(predicted - (ctx.now - (task.taskQueueEnteredAt ?? task.dateCreated)) / 1000));
      }
      const position = this.position(ctx, h.workspaceSid, taskSid);
      const live = liveEwtSeconds(engine, q, stats, position ?? undefined);
      return live === null ? null : Math.round(live);
    }
    const live = liveEwtSeconds(engine, q, stats);
    return live === null ? null : Math.round(live);
  }

  private reservationPending(ctx: CoreContext, b: Bridge): boolean {
    return ctx.engine(b.workspaceSid)?.reservations.get(b.reservationSid)?.reservationStatus === 'pending';
  }

  /** The caller's leg ended: the flow hears it (a holding caller's task is canceled, reason `hangup`), and so do its bridges. */
  private callerHungUp(h: VoiceHost, ctx: CoreContext, callSid: string): void {
    if (h.interp.call(callSid) !== undefined) this.feed(h, ctx, { type: 'hangup', at: ctx.now, callSid });
    h.pendingHold.delete(callSid);
    h.lastAnswer.delete(callSid);
    let any = false;
    this.cancelOpenTransfers(h, ctx, callSid);
    for (const b of h.bridges.values()) {
      if (b.callerCallSid !== callSid) continue;
      any = true;
      // A caller outside our flows (enqueued by the app): cancel their waiting task here.
      if (b.phase !== 'bridged') this.cancelForHangup(h, ctx, b.taskSid);
      this.act(h, ctx, b, callerGone(b));
    }
    if (!any || h.interp.call(callSid) === undefined) this.callIndex.delete(callSid);
  }

  /**
   * The call `callSid` ended: the transfer tasks still waiting for it (the open transfers of the
   * tasks whose bridges carry it) are canceled, reason `hangup` — the engine then fails each
   * transfer (`task.transfer-failed`, src/engine/transfers.ts) and its ringing target leg, if
   * any, is hung up like any canceled reservation's.
   */
  private cancelOpenTransfers(h: VoiceHost, ctx: CoreContext, callSid: string): void {
    const engine = ctx.engine(h.workspaceSid);
    if (engine === undefined) return;
    const tasks = new Set<string>();
    for (const b of h.bridges.values()) if (b.callerCallSid === callSid || (b.customer != null && b.customer.callSid === callSid)) tasks.add(b.taskSid);
    for (const taskSid of tasks) {
      const t = engine.outgoingTransfer(taskSid);
      if (t !== undefined && t.status === 'initiated') this.cancelForHangup(h, ctx, t.transferTaskSid);
    }
    // A task whose bridge already ended (its worker left while another worker kept the conference
    // live) is no longer among the bridges: its open transfer is found by the call it carries.
    for (const t of engine.transfers.values()) {
      if (t.status === 'initiated' && engine.tasks.get(t.transferTaskSid)?.attributes['call_sid'] === callSid) this.cancelForHangup(h, ctx, t.transferTaskSid);
    }
  }

  private cancelForHangup(h: VoiceHost, ctx: CoreContext, taskSid: string): void {
    const task = ctx.engine(h.workspaceSid)?.tasks.get(taskSid);
    if (task !== undefined && (task.assignmentStatus === 'pending' || task.assignmentStatus === 'reserved')) {
      ctx.execute(h.workspaceSid, { type: 'updateTask', taskSid, assignmentStatus: 'canceled', reason: 'hangup' });
    }
  }

  /** Carries out a bridge's actions, in order. */
  private act(h: VoiceHost, ctx: CoreContext, b: Bridge & { actor: EventOrigin['actor'] | null }, actions: BridgeAction[]): void {
    const ws = h.workspaceSid;
    h.dirty.add(`bridge:${b.key}`);
    for (const a of actions) {
      switch (a.kind) {
        case 'connect':
          this.outbound.push({ workspaceSid: ws, kind: 'voice.connect', payload: JSON.stringify(a.request) });
          break;
        case 'hangup':
          this.outbound.push({ workspaceSid: ws, kind: 'voice.hangup', payload: JSON.stringify({ key: b.key, ...a.request }) });
          break;
        case 'accept': {
          const origin: EventOrigin = { actor: b.actor ?? { sid: '', type: 'workflow' }, instruction: { instruction: b.instruction, parameters: b.parameters } };
          ctx.execute(ws, { type: 'updateReservation', reservationSid: a.reservationSid, reservationStatus: 'accepted' }, undefined, origin);
          break;
        }
        case 'timeout':
          ctx.execute(ws, { type: 'timeoutReservation', reservationSid: a.reservationSid });
          break;
        case 'task_attributes': {
          const task = ctx.engine(ws)?.tasks.get(a.taskSid);
          if (task === undefined) break;
          ctx.execute(ws, { type: 'updateTask', taskSid: a.taskSid, attributes: JSON.stringify({ ...task.attributes, ...a.merge }) });
          break;
        }
        case 'worker_activity': {
          const engine = ctx.engine(ws);
          if (engine?.workers.has(a.workerSid) === true && engine.activities.has(a.activitySid)) {
            ctx.execute(ws, { type: 'updateWorker', workerSid: a.workerSid, activitySid: a.activitySid });
          }
          break;
        }
        case 'wrap_task': {
          const task = ctx.engine(ws)?.tasks.get(a.taskSid);
          if (task?.assignmentStatus === 'assigned') ctx.execute(ws, { type: 'updateTask', taskSid: a.taskSid, assignmentStatus: 'wrapping', reason: 'call ended' });
          break;
        }
        case 'caller_bridged':
          h.taskCalls.delete(b.taskSid);
          h.pendingHold.delete(a.callSid);
          if (h.interp.call(a.callSid) !== undefined) this.feed(h, ctx, { type: 'bridged', at: ctx.now, callSid: a.callSid });
          break;
      }
    }
    if (b.phase === 'ended') {
      h.bridges.delete(b.key);
      this.keyIndex.delete(b.key);
      if (b.callerCallSid !== null && h.interp.call(b.callerCallSid) === undefined && ![...h.bridges.values()].some((o) => o.callerCallSid === b.callerCallSid)) {
        this.callIndex.delete(b.callerCallSid);
      }
    }
  }

  /** Hands a taken `voice.connect` row to the port, unless its bridge no longer waits on it. Never rejects: a port failure is the leg failing. */
  private async deliverConnect(d: OutboxDelivery): Promise<void> {
    const request = JSON.parse(d.payload) as ConnectRequest;
    const b = this.hosts.get(d.workspaceSid)?.bridges.get(bridgeKeyOfLeg(request.key));
    if (b === undefined) return;
    if (request.placement === 'customer' ? b.customer?.phase !== 'dialing' : b.phase !== 'placing') return;
    const now = this.scheduler.now();
    if (this.connectLog !== null) appendFileSync(this.connectLog, JSON.stringify({ key: request.key, to: request.to, at: now }) + '\n');
    if (this.port === null) return;
    try {
      await this.port.connect(request, now);
    } catch (error) {
      this.onError(error);
      void this.legStatus({ key: request.key, callSid: '', status: 'failed', at: now }).catch(() => undefined);
    }
  }

  /** Hands a `voice.participant` row to the port; rejects with the port's error (retried). */
  private async deliverParticipant(d: OutboxDelivery): Promise<void> {
    const request = JSON.parse(d.payload) as ParticipantRequest;
    await this.port?.participant(request, this.scheduler.now());
  }

  /** Hands a `voice.hangup` row to the port; rejects with the port's error (retried). */
  private async deliverHangup(d: OutboxDelivery): Promise<void> {
    const request = JSON.parse(d.payload) as HangupRequest;
    await this.port?.hangup(request, this.scheduler.now());
  }
}

function newHost(workspaceSid: string, accountSid: string, interp: CallFlowInterpreter): VoiceHost {
  return {
    workspaceSid,
    accountSid,
    interp,
    flows: new Map(),
    numbers: new Map(),
    bridges: new Map(),
    taskCalls: new Map(),
    pendingHold: new Map(),
    holdMusic: new Map(),
    lastAnswer: new Map(),
    dirty: new Set(),
  };
}

/** The service history QLm uses, for a queue with no call target (defaults: AHT 180 s, no abandonment). */
type CallbackStats = { services: number[]; abandonments: number; waitedSeconds: number };
const NO_STATS: CallbackStats = { services: [], abandonments: 0, waitedSeconds: 0 };

/** A refusal: said to the caller, then the call ends; `reason` goes to the log / alerts. */
function refusal(reason: string, text: string): VoiceAnswer {
  return { verbs: [{ verb: 'say', text }, { verb: 'hangup' }], refused: reason };
}

/**
 * The decision when no offer can be made at all (the call target is gone, or the callback center
 * refused): the platform is unavailable for callbacks, which the flow treats as "no offer".
 */
function noOffer(): OfferDecision {
  return { offerAsap: false, offerScheduled: false, widgetState: 'platform_unavailable', reason: 'registration_off', phrase: null, ecbtPhrase: null, ewtSeconds: null, ecbtSeconds: null };
}

/**
 * The customer an outbound task dials (`worker.createTask(to, from, …)` writes `outbound_to` and
 * `from`; spec B4) and the caller ID (the task's `from`, else the instruction's), or why not: a
 * number that is not E.164, `client:<name>` or a `sip:` URI, or no caller ID at all.
 */
function outboundOf(attributes: Record<string, unknown>, parameters: Record<string, string>): { to: string; from: string } | string {
  const to = attributes['outbound_to'];
  if (typeof to !== 'string' || !isDialable(to.trim())) {
    return `conference: the task's outbound_to attribute must be an E.164 number (+ and 2–15 digits), client:<name> or a sip: URI (got ${JSON.stringify(to)}): the customer cannot be dialed`;
  }
  const own = attributes['from'];
  const from = typeof own === 'string' && own.trim() !== '' ? own.trim() : (parameters['from'] ?? '');
  if (from === '') return "conference: an outbound call needs a caller ID: the task's from attribute or the instruction's from";
  return { to: to.trim(), from };
}

/** Whether `n` is a number a network can dial: E.164, `client:<name>` or a `sip:` URI. */
function isDialable(n: string): boolean {
  return /^\+[1-9]\d{1,14}$/.test(n) || /^client:[A-Za-z0-9_.-]{1,121}$/.test(n) || /^sips?:\S+@\S+$/.test(n);
}

/** Refuses a flow whose `enqueue` steps name a workflow the workspace does not have (400 naming the step's field). */
function checkFlowReferences(flow: CallFlow, engine: WorkspaceEngine | undefined): void {
  flow.steps.forEach((step, i) => {
    if (kindOf(step) !== 'enqueue' || engine === undefined) return;
    const wf = (step as { enqueue: { workflowSid: string } }).enqueue.workflowSid;
    if (!engine.workflows.has(wf)) throw new VoiceError(400, 20001, `Definition is invalid: steps[${i}].enqueue.workflowSid ${wf} is not a workflow of this workspace (step "${step.id}")`, 'Definition');
  });
}

/** JSON values a flow writes (re-exported for the REST serializers). */
export type { JsonValue };
