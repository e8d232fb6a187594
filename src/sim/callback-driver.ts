/**
 * A virtual-time driver that wires a WorkspaceEngine, a CallbackCenter and a SimulatedNetwork
 * (plus scripted agents that accept, reject or ignore reservations and complete tasks after a
 * handle time) and advances all of them in time order, deterministically. Tests and the
 * simulator (`switchboard simulate`) use it; the live server drives the center the same way
 * from real events (docs/callbacks.md, "Driving the center").
 *
 * At every instant the order is fixed: engine timers, telephone outcomes, agent actions, center
 * timers. After each step the queue views of the call targets are refreshed from the engine
 * (waiting tasks and worker slots) so pacing and ECBT see the live state.
 */
import type { WorkspaceEngine } from '../engine/engine.ts';
import type { Command } from '../engine/commands.ts';
import type { EngineEvent } from '../engine/events.ts';
import type { Outcome } from '../engine/engine.ts';
import type { WorkspaceSnapshot } from '../engine/snapshot.ts';
import type { SidGenerator } from '../util/sid.ts';
import { WorkspaceEngine as Engine } from '../engine/engine.ts';
import { withStoredContext, type Datastore } from '../callbacks/datastore.ts';
import { SimulatedNetwork, type NetworkSnapshot, type SimulatedNetworkOptions } from '../voice/simulated-network.ts';
import { CallbackCenter, type CallbackEffect, type CallbackEvent, type CallbackRequest, type CenterOptions, type CenterOutcome, type CenterSnapshot, type RegisterRequest } from '../callbacks/center.ts';
import { queueViewOf } from '../callbacks/queue-view.ts';

/** What a scripted worker does with a reservation it is offered. */
export interface AgentDecision {
  action: 'accept' | 'reject' | 'ignore';
  /** Seconds after the reservation was created. */
  afterSeconds: number;
}

/** Scripted agent behaviour (tests and simulation). */
export interface AgentPolicy {
  onReservation(info: { reservationSid: string; taskSid: string; workerSid: string; attributes: Record<string, unknown>; at: number }): AgentDecision;
  /** Seconds from acceptance to completion. */
  handleSeconds(info: { taskSid: string; workerSid: string; attributes: Record<string, unknown>; at: number }): number;
}

/** Every worker accepts after `acceptAfterSeconds` (default 2) and completes after `handleSeconds` (default 120). */
export function simpleAgents(options: { acceptAfterSeconds?: number; handleSeconds?: number } = {}): AgentPolicy {
  return {
    onReservation: () => ({ action: 'accept', afterSeconds: options.acceptAfterSeconds ?? 2 }),
    handleSeconds: () => options.handleSeconds ?? 120,
  };
}

interface AgentAction {
  due: number;
  seq: number;
  kind: 'accept' | 'reject' | 'complete';
  reservationSid: string;
  taskSid: string;
}

/** A driver's whole state as plain data ({@link CallbackDriver.snapshot}); `now` and action `due` in epoch ms. */
export interface DriverSnapshot {
  now: number;
  engine: WorkspaceSnapshot;
  center: CenterSnapshot;
  network: NetworkSnapshot;
  actions: AgentAction[];
  seq: number;
}

/** The parts a {@link CallbackDriver} advances together (engine, center and network share one virtual clock). */
export interface DriverOptions {
  engine: WorkspaceEngine;
  center: CallbackCenter;
  network: SimulatedNetwork;
  agents?: AgentPolicy;
  /** Keep every engine and callback event in {@link CallbackDriver.engineEvents} / {@link CallbackDriver.callbackEvents}. Default true. */
  recordEvents?: boolean;
  /** Called with every engine event after the center saw it (e.g. a WaitTimeEstimator's observe). */
  onEngineEvent?: (e: EngineEvent) => void;
  /**
   * Datastore whose data set (the target's `datastoreTemplateSid`, by the callback's number) is
   * merged into the `context` of every task a callback creates (spec §5 [DECISION]); values
   * given at registration win.
   */
  datastore?: Datastore;
}

/**
 * Advances an engine, a callback center, a simulated network and scripted agents together in
 * virtual time (see the module comment). Deterministic for the same inputs; `now` is epoch ms.
 * Engine commands the center asks for (other than task creation, reported back to the center)
 * that the engine refuses are kept in {@link refusedEffects} rather than thrown.
 */
export class CallbackDriver {
  readonly engine: WorkspaceEngine;
  readonly center: CallbackCenter;
  readonly network: SimulatedNetwork;
  readonly engineEvents: EngineEvent[] = [];
  readonly callbackEvents: CallbackEvent[] = [];
  /** Engine effects the engine refused (a race the center tolerates, e.g. completing a task an agent completed). */
  readonly refusedEffects: Array<{ effect: CallbackEffect; message: string }> = [];
  /** Virtual now, epoch ms. */
  now: number;
  private readonly agents: AgentPolicy | null;
  private readonly record: boolean;
  private readonly onEngineEvent: ((e: EngineEvent) => void) | null;
  private readonly datastore: Datastore | null;
  private actions: AgentAction[] = [];
  private seq = 0;
  private viewsDirty = true;

  constructor(options: DriverOptions) {
    this.engine = options.engine;
    this.center = options.center;
    this.network = options.network;
    this.agents = options.agents ?? null;
    this.record = options.recordEvents ?? true;
    this.onEngineEvent = options.onEngineEvent ?? null;
    this.datastore = options.datastore ?? null;
    this.now = Math.max(this.engine.now, this.center.now);
  }

  /** Executes an engine command at the driver's time (its `at` is overwritten). Returns the engine's outcome. */
  execute(command: Command): Outcome {
    const out = this.engine.execute({ ...command, at: this.now } as Command);
    this.onEngine(out.events);
    this.settle();
    return out;
  }

  /** Registers a callback now (see CallbackCenter.register; throws the same errors). */
  register(req: RegisterRequest): CallbackRequest {
    this.settle();
    const out = this.center.register(req, this.now);
    this.apply(out);
    this.settle();
    return out.callback;
  }

  /** Runs any center operation now and carries its effects out, e.g. `d.act((c, now) => c.cancel(sid, 'api', now))`. */
  act<T extends CenterOutcome>(op: (center: CallbackCenter, now: number) => T): T {
    this.settle();
    const out = op(this.center, this.now);
    this.apply(out);
    this.settle();
    return out;
  }

  /** The earliest instant anything is due (epoch ms), or null. */
  nextDeadline(): number | null {
    const xs = [this.engine.nextDeadline(), this.center.nextDeadline(), this.network.nextDue(), this.actions[0]?.due ?? null].filter((x): x is number => x !== null);
    return xs.length === 0 ? null : Math.min(...xs);
  }

  /** Advances everything to `until` (epoch ms) in time order. */
  runUntil(until: number): void {
    for (;;) {
      const next = this.nextDeadline();
      if (next === null || next > until) break;
      this.step(Math.max(next, this.now));
    }
    if (until > this.now) this.step(until);
  }

  /** Advances by `seconds`. */
  runFor(seconds: number): void {
    this.runUntil(this.now + seconds * 1000);
  }

  private step(at: number): void {
    this.now = at;
    this.onEngine(this.engine.advanceTo(at).events);
    this.settle();
    for (const r of this.network.deliverUntil(at)) {
      this.apply(this.center.dialOutcome(r.key, r.outcome, at));
      this.settle();
    }
    while (this.actions.length > 0 && (this.actions[0] as AgentAction).due <= at) {
      const a = this.actions.shift() as AgentAction;
      const command: Command =
        a.kind === 'complete'
          ? { type: 'updateTask', at, taskSid: a.taskSid, assignmentStatus: 'completed', reason: 'handled' }
          : { type: 'updateReservation', at, reservationSid: a.reservationSid, reservationStatus: a.kind === 'accept' ? 'accepted' : 'rejected' };
      this.onEngine(this.engine.execute(command).events);
      this.settle();
    }
    this.apply(this.center.advanceTo(at));
    this.settle();
  }

  private onEngine(events: EngineEvent[]): void {
    for (const e of events) {
      if (this.record) this.engineEvents.push(e);
      this.viewsDirty = true;
      if (this.agents !== null) this.scheduleAgent(e);
      this.apply(this.center.observe(e));
      this.onEngineEvent?.(e);
    }
  }

  private scheduleAgent(e: EngineEvent): void {
    const agents = this.agents as AgentPolicy;
    const d = e.data;
    if (e.eventType !== 'reservation.created' && e.eventType !== 'reservation.accepted') return;
    const taskSid = d['task_sid'] as string;
    const workerSid = d['worker_sid'] as string;
    let attributes: Record<string, unknown>;
    try {
      attributes = JSON.parse(d['task_attributes'] as string) as Record<string, unknown>;
    } catch {
      attributes = {};
    }
    if (e.eventType === 'reservation.created') {
      const decision = agents.onReservation({ reservationSid: e.resourceSid, taskSid, workerSid, attributes, at: e.at });
      if (decision.action === 'ignore') return;
      this.push({ due: e.at + Math.round(decision.afterSeconds * 1000), seq: 0, kind: decision.action, reservationSid: e.resourceSid, taskSid });
    } else {
      // An agent-first agent talks only once the customer is on the line: the handle time
      // starts at the center's callback.agent_connected (see apply).
      if (attributes['type'] === 'callback_agent_first') return;
      const handle = agents.handleSeconds({ taskSid, workerSid, attributes, at: e.at });
      this.push({ due: e.at + Math.round(handle * 1000), seq: 0, kind: 'complete', reservationSid: e.resourceSid, taskSid });
    }
  }

  private push(a: AgentAction): void {
    a.seq = this.seq++;
    this.actions.push(a);
    this.actions.sort((x, y) => x.due - y.due || x.seq - y.seq);
  }

  /** Records the center's events and carries its effects out, in order (recursively for what they cause). */
  private apply(out: CenterOutcome): void {
    if (this.record) this.callbackEvents.push(...out.events);
    if (this.agents !== null) {
      for (const e of out.events) {
        if (e.eventType !== 'callback.agent_connected' || e.data['strategy'] !== 'agent_first') continue;
        const c = this.center.getCallback(e.resourceSid);
        if (c === undefined || c.taskSid === null) continue;
        const handle = this.agents.handleSeconds({ taskSid: c.taskSid, workerSid: c.workerSid ?? '', attributes: { type: 'callback_agent_first', callback_sid: c.sid }, at: e.at });
        this.push({ due: e.at + Math.round(handle * 1000), seq: 0, kind: 'complete', reservationSid: c.reservationSid ?? '', taskSid: c.taskSid });
      }
    }
    for (const effect of out.effects) {
      if (effect.kind === 'dial') {
        this.network.dial({ key: effect.key, callbackSid: effect.callbackSid, to: effect.to, from: effect.from, ringTimeoutSeconds: effect.ringTimeoutSeconds }, this.now);
        continue;
      }
      if (effect.kind === 'hangup') {
        this.network.hangup(effect.key);
        continue;
      }
      const command = effect.purpose === 'create_task' && this.datastore !== null ? withStoredContext(this.datastore, this.center, effect.callbackSid, effect.command, this.now) : effect.command;
      const result = this.engine.execute({ ...command, at: this.now } as Command);
      if (effect.purpose === 'create_task') {
        if (result.rejection !== null) this.apply(this.center.taskCreationFailed(effect.callbackSid, result.rejection.message, this.now));
        else this.apply(this.center.taskCreated(effect.callbackSid, result.sid as string, this.now));
      } else if (result.rejection !== null) {
        this.refusedEffects.push({ effect, message: result.rejection.message });
      }
      this.onEngine(result.events);
    }
  }

  /** Refreshes the queue view of every call target until nothing changes. */
  private settle(): void {
    let rounds = 0;
    while (this.viewsDirty && rounds++ < 100) {
      this.viewsDirty = false;
      for (const t of this.center.listCallTargets()) {
        const view = queueViewOf(this.engine, t.taskQueueSid, t.taskChannel);
        if (view !== null) this.apply(this.center.setQueueView(t.sid, view, this.now));
      }
    }
  }

  /** Engine, center, network and pending agent actions as plain data. */
  snapshot(): DriverSnapshot {
    return structuredClone({ now: this.now, engine: this.engine.snapshot(), center: this.center.snapshot(), network: this.network.snapshot(), actions: this.actions, seq: this.seq });
  }

  /**
   * A driver continuing from `s` in fresh objects. `network`: the restored network by default;
   * pass a new SimulatedNetwork to model a telephone side that lost its in-flight calls (the
   * center then times those dials out; it never dials an attempt again).
   */
  static restore(
    s: DriverSnapshot,
    options: { engineSid: SidGenerator; center: CenterOptions; network?: SimulatedNetwork; networkOptions?: SimulatedNetworkOptions; agents?: AgentPolicy; recordEvents?: boolean },
  ): CallbackDriver {
    const engine = Engine.restore(s.engine, options.engineSid);
    const center = CallbackCenter.restore(s.center, options.center);
    const network = options.network ?? SimulatedNetwork.restore(s.network, options.networkOptions);
    const d = new CallbackDriver({ engine, center, network, ...(options.agents !== undefined ? { agents: options.agents } : {}), ...(options.recordEvents !== undefined ? { recordEvents: options.recordEvents } : {}) });
    d.now = s.now;
    d.actions = structuredClone(s.actions);
    d.seq = s.seq;
    return d;
  }
}
