/**
 * The callback side of `switchboard simulate`: the only file of the simulator that knows the
 * callback core (src/callbacks, src/voice). It builds a CallbackCenter with one call target per
 * task queue and a simulated telephone network, decides at queue entry whether a caller is
 * offered a callback and takes it, and summarizes what became of the callbacks.
 *
 * Offer model (docs/simulation.md, "Callbacks"): when a call's task is created and not reserved
 * at once, the simulator asks the default wait-time predictor for the caller's EWT and the
 * center for an offer (spec callbacks-and-ewt.md §4; the target's `offer.minEwtSeconds` is the
 * offer threshold). If an ASAP callback is offered, the caller takes it with the take rate
 * (seeded draw); the live task is then canceled as not abandoned (in-queue acceptance, §2.4) and
 * the callback keeps the caller's place in line. Returning it (strategy, dialing, retries) is the
 * center's job; the simulated network answers with the customer answer rate.
 */
import { CallbackCenter, type CallbackRequest } from '../callbacks/center.ts';
import { CallbackError } from '../callbacks/errors.ts';
import { CallbackDriver, type AgentPolicy } from './callback-driver.ts';
import type { Strategy } from '../callbacks/call-target.ts';
import type { WorkspaceEngine } from '../engine/engine.ts';
import type { EngineEvent } from '../engine/events.ts';
import { dayOf } from '../analytics/kpi.ts';
import { SequentialSids } from '../util/sid.ts';
import type { Random } from '../util/random.ts';
import { SimulatedNetwork } from '../voice/simulated-network.ts';
import type { CallRecord } from './anonymous-bank.ts';

/** The callback policy under test (CLI options of `switchboard simulate`). */
export interface CallbackPolicy {
  /** Offer a callback when the caller's EWT is at least this, seconds. Default 60. */
  offerThresholdS: number;
  /** Share 0–1 of offered callers who take the callback. */
  takeRate: number;
  strategy: Strategy;
  /** Share 0–1 of callback dials a human answers (the simulated network's answer rate). */
  answerRate: number;
}

/**
 * The policy `--callbacks` simulates unless told otherwise (docs/simulation.md, "Callbacks"):
 * offer above an EWT of 60 s, half of those offered take it, customer-first, 80 % of dials
 * answered by a person. Assumptions of the model, not measured from the log.
 */
export const DEFAULT_CALLBACK_POLICY: CallbackPolicy = { offerThresholdS: 60, takeRate: 0.5, strategy: 'customer_first', answerRate: 0.8 };

/** Callback figures of one day (by the original call's day) or the total. */
export interface CallbackDayStats {
  date: string;
  /** Callers offered an ASAP callback. */
  offered: number;
  /** …who took it (their live task was canceled as not abandoned). */
  taken: number;
  /** Callbacks that bridged the customer to an agent and ended completed. */
  completed: number;
  /** Callbacks that ended otherwise (failed, expired, canceled) or were still open at the end. */
  not_completed: number;
  /**
   * Completed callbacks that started inside the quoted ECBT range: the customer's phone first
   * rang within [request + low, request + high] minutes (spec §1.6 punctuality on the first
   * attempt; `CallbackCenter.punctuality`).
   */
  within_quoted_range: number;
  /** within_quoted_range ÷ completed (0 when none completed). */
  punctuality: number;
  /** Completed callbacks whose bridge to an agent also fell inside the quoted range. */
  bridged_within_quoted_range: number;
  /** Mean seconds from the request to the bridge to an agent, completed callbacks. */
  mean_time_to_agent_s: number;
}

interface Tally {
  offered: number;
  taken: number;
  completed: number;
  notCompleted: number;
  within: number;
  bridged: number;
  toAgentS: number;
}

/** The callback center, network and bookkeeping of one simulation run. */
export class SimulatedCallbacks {
  readonly center: CallbackCenter;
  readonly network: SimulatedNetwork;
  private readonly policy: CallbackPolicy;
  private readonly targetOfQueue = new Map<string, string>();
  /** Callback SID → the call it came from. */
  private readonly callOf = new Map<string, CallRecord>();
  /** Live task SIDs canceled because the caller took a callback. */
  readonly optedOut = new Set<string>();
  private readonly offeredByDay = new Map<string, number>();
  private phoneCounter = 0;
  /** Registrations the center refused after offering (none expected: the offer checks the same limits). */
  refused = 0;

  /**
   * One call target per task queue (`queues`: queue SIDs), defaults of spec §1.4 except the
   * policy's strategy and offer threshold; scheduled offers are off (the simulation models ASAP
   * callbacks at queue entry). `seed` seeds the telephone network. `start`: epoch ms.
   */
  constructor(queues: readonly string[], policy: CallbackPolicy, seed: number, start: number) {
    this.policy = policy;
    const sids = new SequentialSids(7);
    // Keep every callback (no retention pruning): the report reads them all at the end.
    this.center = new CallbackCenter({ newSid: (p) => sids.next(p), now: start, terminalRetentionSeconds: null });
    for (const q of queues) {
      const sid = `CT-${q}`;
      this.center.putCallTarget({
        sid,
        taskQueueSid: q,
        callerId: '+97235550100',
        strategy: policy.strategy,
        offer: { minEwtSeconds: policy.offerThresholdS, asap: true, scheduledVoice: false, scheduledApi: false, sampleRate: 1 },
      });
      this.targetOfQueue.set(q, sid);
    }
    this.network = new SimulatedNetwork({ seed: seed ^ 0x5eed, answerRate: policy.answerRate, voicemailRate: (1 - policy.answerRate) * 0.4, busyRate: (1 - policy.answerRate) * 0.2 });
  }

  /** A driver for this center over `engine`, with the simulator's agents. */
  driver(engine: WorkspaceEngine, agents: AgentPolicy, onEngineEvent: (e: EngineEvent) => void): CallbackDriver {
    return new CallbackDriver({ engine, center: this.center, network: this.network, agents, recordEvents: false, onEngineEvent });
  }

  /**
   * At queue entry: offers the caller of `taskSid` (queue `queueSid`) a callback when the center
   * says so for EWT `ewtSeconds`, and with the take rate registers it (canceling the live task
   * as not abandoned). Returns whether the caller took a callback; a registration the center
   * refuses (CallbackError, nothing changed) leaves the caller waiting and is counted in
   * {@link SimulatedCallbacks.refused}.
   */
  offerAtQueueEntry(driver: CallbackDriver, call: CallRecord, taskSid: string, queueSid: string, ewtSeconds: number, random: Random): boolean {
    const targetSid = this.targetOfQueue.get(queueSid);
    if (targetSid === undefined) return false;
    const decision = this.center.offer(targetSid, { ewtSeconds, channel: 'voice' }, driver.now);
    if (!decision.offerAsap) return false;
    this.offeredByDay.set(call.date, (this.offeredByDay.get(call.date) ?? 0) + 1);
    if (!random.chance(this.policy.takeRate)) return false;
    const task = driver.engine.tasks.get(taskSid);
    if (task === undefined) return false;
    this.optedOut.add(taskSid);
    this.phoneCounter += 1;
    const phoneNumber = `+9725${String(this.phoneCounter).padStart(8, '0')}`;
    try {
      const out = driver.act((c, now) =>
        c.acceptInQueue({ sid: task.sid, dateCreated: task.dateCreated, attributesJson: task.attributesJson }, { callTargetSid: targetSid, phoneNumber, context: { call_key: call.key }, channel: 'voice' }, now),
      );
      this.callOf.set(out.callback.sid, call);
      return true;
    } catch (error) {
      // The center refused the registration (nothing changed): the caller keeps waiting.
      if (!(error instanceof CallbackError)) throw error;
      this.optedOut.delete(taskSid);
      this.refused += 1;
      return false;
    }
  }

  /** The call a callback task serves (for its handle time), from the task's attributes; null for other tasks. */
  callOfTask(attributes: Record<string, unknown>): CallRecord | null {
    const sid = attributes['callback_sid'];
    return typeof sid === 'string' ? (this.callOf.get(sid) ?? null) : null;
  }

  /** Callback figures per day of the original call, in date order, and their total. */
  summary(): { days: CallbackDayStats[]; total: CallbackDayStats } {
    return summarizeCallbacks(this.offeredByDay, this.center.listCallbacks(), (c) => this.callOf.get(c.sid)?.date ?? null);
  }

  /** Callbacks by final status (for the report). */
  statuses(): Record<string, number> {
    return callbackStatuses(this.center.listCallbacks());
  }
}

/**
 * Callback figures per day of the original call, in date order, and their total: `offeredByDay`
 * callers offered a callback per day; `callbacks` every callback registered (taken), put on the
 * day `dateOf` says (null: the day it was registered). Shared by the run with callbacks at queue
 * entry and the run through a call flow that offers them (`--voice`).
 */
export function summarizeCallbacks(offeredByDay: ReadonlyMap<string, number>, callbacks: readonly CallbackRequest[], dateOf: (c: CallbackRequest) => string | null): { days: CallbackDayStats[]; total: CallbackDayStats } {
  const per = new Map<string, Tally>();
  const get = (date: string): Tally => {
    let d = per.get(date);
    if (d === undefined) per.set(date, (d = { offered: 0, taken: 0, completed: 0, notCompleted: 0, within: 0, bridged: 0, toAgentS: 0 }));
    return d;
  };
  for (const [date, n] of offeredByDay) get(date).offered += n;
  for (const c of callbacks) {
    const d = get(dateOf(c) ?? dayOf(Math.floor(c.createdAt / 1000)));
    d.taken += 1;
    const p = CallbackCenter.punctuality(c);
    if (c.status === 'completed' && p !== null && c.connectedAt !== null) {
      d.completed += 1;
      if (p.withinRange) d.within += 1;
      if (p.bridgeWithinRange) d.bridged += 1;
      d.toAgentS += (c.connectedAt - c.createdAt) / 1000;
    } else {
      d.notCompleted += 1;
    }
  }
  const row = (date: string, d: Tally): CallbackDayStats => ({
    date,
    offered: d.offered,
    taken: d.taken,
    completed: d.completed,
    not_completed: d.notCompleted,
    within_quoted_range: d.within,
    punctuality: d.completed === 0 ? 0 : d.within / d.completed,
    bridged_within_quoted_range: d.bridged,
    mean_time_to_agent_s: d.completed === 0 ? 0 : d.toAgentS / d.completed,
  });
  const days = [...per.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([date, d]) => row(date, d));
  const sum: Tally = { offered: 0, taken: 0, completed: 0, notCompleted: 0, within: 0, bridged: 0, toAgentS: 0 };
  for (const d of per.values()) {
    sum.offered += d.offered;
    sum.taken += d.taken;
    sum.completed += d.completed;
    sum.notCompleted += d.notCompleted;
    sum.within += d.within;
    sum.bridged += d.bridged;
    sum.toAgentS += d.toAgentS;
  }
  return { days, total: row('total', sum) };
}

/** Callbacks by final status. */
export function callbackStatuses(callbacks: readonly CallbackRequest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of callbacks) out[c.status] = (out[c.status] ?? 0) + 1;
  return out;
}

/** A driver for a simulation without callbacks: an empty center and an idle network. */
export function plainDriver(engine: WorkspaceEngine, agents: AgentPolicy, onEngineEvent: (e: EngineEvent) => void, start: number): CallbackDriver {
  const sids = new SequentialSids(7);
  return new CallbackDriver({ engine, center: new CallbackCenter({ newSid: (p) => sids.next(p), now: start }), network: new SimulatedNetwork({ seed: 1 }), agents, recordEvents: false, onEngineEvent });
}
