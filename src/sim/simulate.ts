/**
 * The what-if simulation behind `switchboard simulate` (DESIGN.md "Replay and simulation";
 * docs/simulation.md explains the model and its sources). The same arrivals as the log, but the
 * engine routes: a WorkspaceEngine with normal automatic routing, driven in virtual time,
 * deterministic for a seed.
 *
 * - Arrivals: every non-phantom call of the chosen days becomes a task when it asked for an
 *   agent (the replay's instant, docs/replay.md), with the same attributes, priority and
 *   virtual start time as in the replay; one task queue and workflow filter per call type.
 * - Agents: one worker per agent of the staffing plan; Available at each shift start, Offline
 *   at its end (pending reservations rejected, a call in progress is finished). They accept a
 *   reservation after a uniform delay in [accept min, accept max] seconds and complete the task
 *   after the call's handle time (src/sim/patience.ts).
 * - Callers: a waiting task (pending or reserved, not yet accepted) is canceled with reason
 *   `hangup` when the caller's patience runs out (src/sim/patience.ts).
 * - Callbacks (optional): see src/sim/simulate-callbacks.ts.
 *
 * - After-call work (optional): a fixed number of seconds added to every handle time.
 *
 * Pure apart from the engine and callback objects it builds: time is virtual, randomness comes
 * from a seeded {@link Random}. Instants epoch ms; durations seconds unless named `…Ms`.
 */
import { DEFAULT_PREDICTOR, WaitTimeEstimator } from '../analytics/ewt.ts';
import { DailyKpiAccumulator, type DailyKpis } from '../analytics/kpi.ts';
import type { CallbackDriver } from './callback-driver.ts';
import { WorkspaceEngine, type Command, type EngineEvent } from '../engine/index.ts';
import { Random } from '../util/random.ts';
import { SequentialSids } from '../util/sid.ts';
import type { CallRecord } from './anonymous-bank.ts';
import { drawHandleTime, drawPatience, estimateAbandonmentRates, handleTimeSamples, type AbandonmentRates } from './patience.ts';
import { CALL_TYPE_NAMES } from './replay.ts';
import { combineDays } from './report.ts';
import { plainDriver, SimulatedCallbacks, type CallbackDayStats, type CallbackPolicy } from './simulate-callbacks.ts';
import { DailyOccupancyAccumulator, totalOccupancy, type DayOccupancy } from './simulate-measures.ts';
import { UNIDENTIFIED_PREFIX, type StaffingPlan } from './staffing.ts';

/** Default accept delay range, seconds: an agent answers a ringing reservation in 0–2 s. */
export const DEFAULT_ACCEPT_DELAY_S: readonly [number, number] = [0, 2];

/** How {@link simulateCalls} runs; durations in seconds. */
export interface SimulationOptions {
  /** Seeds every random draw (patience, handle times of unserved calls, accept delays, takes, telephone outcomes). */
  seed: number;
  /** Who is on shift when (inferred from the log or read from a file, src/sim/staffing.ts). */
  staffing: StaffingPlan;
  /** Accept delay range [min, max], seconds; default {@link DEFAULT_ACCEPT_DELAY_S}. */
  acceptDelayS?: readonly [number, number];
  /**
   * After-call work, seconds added to every handle time (default 0): the log records talk time
   * only, so the agent is free again the moment the recorded service ends unless this is set.
   */
  wrapUpS?: number;
  /** Callback policy; null or absent = no callbacks. */
  callbacks?: CallbackPolicy | null;
  /** Progress: arrivals and shift changes done of total. */
  onProgress?: (done: number, total: number) => void;
}

/** One simulated day: the replay's KPIs of live calls, occupancy and callbacks. */
export interface SimulatedDay extends DailyKpis {
  /** Callers who took a callback instead of waiting (neither answered nor abandoned live). */
  took_callback: number;
  /** Share 0–1: abandoned ÷ offered. */
  abandonment: number;
  occupancy: number;
  logged_in_hours: number;
  busy_hours: number;
}

/** What {@link simulateCalls} measured: live-call KPIs and occupancy per day and in total, callback figures, run facts. */
export interface SimulationResult {
  days: SimulatedDay[];
  total: SimulatedDay;
  /** Null without callbacks. */
  callbacks: { days: CallbackDayStats[]; total: CallbackDayStats; statuses: Record<string, number>; refused: number } | null;
  facts: {
    calls: number;
    agents: number;
    shifts: number;
    /** θ̂ per call type, per second (spec §7.3). */
    abandonment_rates: AbandonmentRates;
    /** Calls whose handle time was drawn (not served in reality). */
    drawn_handle_times: number;
    events: number;
  };
}

type Action =
  | { at: number; order: 0 | 3; kind: 'shiftStart' | 'shiftEnd'; shift: number }
  | { at: number; order: 1 | 2; kind: 'create' | 'hangup'; call: number };

/**
 * Simulates `calls` (non-phantom calls of the chosen days, any order) under `options`. Throws
 * RangeError for an accept delay range that is negative or reversed, and Error if the engine
 * refuses a setup command (a bug).
 */
export function simulateCalls(input: readonly CallRecord[], options: SimulationOptions): SimulationResult {
  const [acceptMin, acceptMax] = options.acceptDelayS ?? DEFAULT_ACCEPT_DELAY_S;
  if (!(acceptMin >= 0 && acceptMax >= acceptMin && Number.isFinite(acceptMax))) {
    throw new RangeError(`accept delay must be 0 ≤ min ≤ max seconds, got [${acceptMin}, ${acceptMax}]`);
  }
  const wrapUpS = options.wrapUpS ?? 0;
  if (!(wrapUpS >= 0 && Number.isFinite(wrapUpS))) throw new RangeError(`wrap-up must be a number of seconds, 0 or more, got ${wrapUpS}`);
  const calls = input.filter((c) => c.outcome !== 'PHANTOM').sort((a, b) => a.askedAt - b.askedAt || a.line - b.line);
  const shifts = options.staffing.shifts;
  const firstAt = Math.min(calls[0]?.vruEntryAt ?? 0, shifts[0]?.start ?? Number.POSITIVE_INFINITY);
  const start = (Number.isFinite(firstAt) ? firstAt : 0) - 3_600_000;

  // Caller model, drawn up front in call order so it does not depend on event order.
  const callerRandom = new Random(options.seed);
  const rates = estimateAbandonmentRates(calls);
  const samples = handleTimeSamples(calls);
  const patienceMs = calls.map((c) => drawPatience(c, rates, callerRandom) * 1000);
  const handleS = calls.map((c) => drawHandleTime(c, samples, callerRandom) + wrapUpS);
  const indexOfKey = new Map(calls.map((c, i) => [c.key, i]));
  const agentRandom = new Random(options.seed + 1);
  const offerRandom = new Random(options.seed + 2);

  // Workspace: one queue and filter per call type; one worker per agent.
  const { engine } = WorkspaceEngine.create({ friendlyName: 'What-if simulation', at: start, newSid: new SequentialSids(1).next });
  const setup = (command: Command): string => {
    const out = engine.execute(command);
    if (out.rejection !== null) throw new Error(`simulate: ${command.type} was refused: ${out.rejection.message}`);
    return out.sid as string;
  };
  const activity = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)?.sid as string;
  const available = activity('Available');
  const offline = activity('Offline');
  const types = [...new Set([...calls.map((c) => c.type), ...shifts.flatMap((s) => s.types)])].sort();
  const queueOf = new Map<string, string>();
  for (const type of types) {
    const name = CALL_TYPE_NAMES[type] === undefined ? type : `${type} ${CALL_TYPE_NAMES[type]}`;
    queueOf.set(type, setup({ type: 'createTaskQueue', at: start, friendlyName: name, targetWorkers: `types HAS "${type}"` }));
  }
  const filters = types.map((type) => ({ filter_friendly_name: type, expression: `type == "${type}"`, targets: [{ queue: queueOf.get(type) }] }));
  setup({ type: 'createWorkflow', at: start, friendlyName: 'By call type', configuration: JSON.stringify({ task_routing: { filters } }) });
  const workerOf = new Map<string, string>();
  const typesOf = new Map<string, string>();
  for (const name of [...new Set(shifts.map((s) => s.agent))].sort()) {
    const first = shifts.find((s) => s.agent === name);
    const attributes = JSON.stringify({ types: first?.types ?? [] });
    typesOf.set(name, attributes);
    workerOf.set(name, setup({ type: 'createWorker', at: start, friendlyName: name, attributes, activitySid: offline }));
  }

  // Measures: KPIs of live calls only (callback tasks and calls that took a callback excluded).
  const kpis = new DailyKpiAccumulator();
  const occupancy = new DailyOccupancyAccumulator(['Available'], (name) => name.startsWith(UNIDENTIFIED_PREFIX));
  const liveTasks = new Set<string>();
  const estimator = options.callbacks ? new WaitTimeEstimator() : null;
  let events = 0;
  const callbacks = options.callbacks ? new SimulatedCallbacks([...queueOf.values()], options.callbacks, options.seed, start) : null;
  const onEngineEvent = (e: EngineEvent): void => {
    events += 1;
    occupancy.observe(e);
    estimator?.observe(e);
    if (e.resourceType === 'task') {
      if (e.eventType === 'task.created') {
        // A live call carries its call_key at top level; callback tasks carry callback_sid.
        const attributes = JSON.parse(e.data['task_attributes'] as string) as Record<string, unknown>;
        if (typeof attributes['call_key'] === 'string' && attributes['callback_sid'] === undefined) {
          liveTasks.add(e.resourceSid);
          kpis.observe(e);
        }
      } else if (liveTasks.has(e.resourceSid)) {
        if (e.eventType === 'task.canceled' && callbacks?.optedOut.has(e.resourceSid) === true) return;
        kpis.observe(e);
      }
    } else if (e.eventType === 'reservation.accepted' && liveTasks.has(e.data['task_sid'] as string)) {
      kpis.observe(e);
    }
  };
  const handleOf = (attributes: Record<string, unknown>): number => {
    const key = attributes['call_key'];
    const i = typeof key === 'string' ? indexOfKey.get(key) : undefined;
    if (i !== undefined) return handleS[i] as number;
    const call = callbacks?.callOfTask(attributes) ?? null;
    const j = call === null ? undefined : indexOfKey.get(call.key);
    return j === undefined ? 0 : (handleS[j] as number);
  };
  const agents = {
    onReservation: () => ({ action: 'accept' as const, afterSeconds: acceptMin + agentRandom.next() * (acceptMax - acceptMin) }),
    handleSeconds: (info: { attributes: Record<string, unknown> }) => handleOf(info.attributes),
  };
  const driver: CallbackDriver = callbacks ? callbacks.driver(engine, agents, onEngineEvent) : plainDriver(engine, agents, onEngineEvent, start);

  // The timeline of arrivals, patience ends and shift changes.
  const actions: Action[] = [];
  shifts.forEach((s, i) => {
    actions.push({ at: s.start, order: 0, kind: 'shiftStart', shift: i });
    actions.push({ at: s.end, order: 3, kind: 'shiftEnd', shift: i });
  });
  calls.forEach((c, i) => {
    actions.push({ at: c.askedAt, order: 1, kind: 'create', call: i });
    const p = patienceMs[i] as number;
    if (Number.isFinite(p)) actions.push({ at: c.askedAt + Math.round(p), order: 2, kind: 'hangup', call: i });
  });
  const rank = (a: Action): number => ('call' in a ? a.call : a.shift);
  actions.sort((a, b) => a.at - b.at || a.order - b.order || rank(a) - rank(b));

  const taskOf: (string | undefined)[] = new Array(calls.length);
  const total = actions.length;
  const progressEvery = Math.max(1, Math.floor(total / 200));
  for (let i = 0; i < total; i++) {
    const a = actions[i] as Action;
    driver.runUntil(a.at);
    switch (a.kind) {
      case 'shiftStart': {
        const s = shifts[a.shift] as (typeof shifts)[number];
        const attributes = JSON.stringify({ types: s.types });
        const workerSid = workerOf.get(s.agent) as string;
        const changed = typesOf.get(s.agent) !== attributes;
        typesOf.set(s.agent, attributes);
        driver.execute({ type: 'updateWorker', at: a.at, workerSid, activitySid: available, ...(changed ? { attributes } : {}) });
        break;
      }
      case 'shiftEnd': {
        const s = shifts[a.shift] as (typeof shifts)[number];
        driver.execute({ type: 'updateWorker', at: a.at, workerSid: workerOf.get(s.agent) as string, activitySid: offline, rejectPendingReservations: true });
        break;
      }
      case 'create': {
        const c = calls[a.call] as CallRecord;
        const attributes = JSON.stringify({ type: c.type, priority: c.priority, customer_id: c.customerId, call_key: c.key });
        const out = driver.execute({ type: 'createTask', at: a.at, attributes, priority: c.priority, taskChannel: 'voice', virtualStartTime: Math.min(c.vruEntryAt, c.askedAt) });
        if (out.rejection !== null) throw new Error(`simulate: createTask was refused for call ${c.key}: ${out.rejection.message}`);
        const taskSid = out.sid as string;
        taskOf[a.call] = taskSid;
        if (callbacks !== null && estimator !== null && engine.tasks.get(taskSid)?.assignmentStatus === 'pending') {
          const ewt = estimator.predict(engine, taskSid)[DEFAULT_PREDICTOR];
          callbacks.offerAtQueueEntry(driver, c, taskSid, queueOf.get(c.type) as string, ewt, offerRandom);
        }
        break;
      }
      case 'hangup': {
        const taskSid = taskOf[a.call] as string;
        const status = engine.tasks.get(taskSid)?.assignmentStatus;
        if (status === 'pending' || status === 'reserved') {
          driver.execute({ type: 'updateTask', at: a.at, taskSid, assignmentStatus: 'canceled', reason: 'hangup' });
        }
        break;
      }
    }
    if (options.onProgress !== undefined && (i % progressEvery === 0 || i === total - 1)) options.onProgress(i + 1, total);
  }
  // Let the last calls and callbacks finish (at most a day past the last action).
  const last = actions[actions.length - 1]?.at ?? start;
  for (let guard = 0; guard < 1_000_000; guard++) {
    const next = driver.nextDeadline();
    if (next === null || next > last + 86_400_000) break;
    driver.runUntil(next);
  }

  const kpiDays = kpis.result();
  const occDays = occupancy.result();
  const tookByDay = new Map<string, number>();
  if (callbacks !== null) {
    for (const [i, c] of calls.entries()) if (callbacks.optedOut.has(taskOf[i] as string)) tookByDay.set(c.date, (tookByDay.get(c.date) ?? 0) + 1);
  }
  const days = kpiDays.map((k) => withExtras(k, occDays.find((o) => o.date === k.date) ?? null, tookByDay.get(k.date) ?? 0));
  const totalKpi = combineDays(kpiDays);
  const totalDay = withExtras(totalKpi, totalOccupancy(occDays.filter((o) => kpiDays.some((k) => k.date === o.date))), [...tookByDay.values()].reduce((x, y) => x + y, 0));
  const cb = callbacks === null ? null : { ...callbacks.summary(), statuses: callbacks.statuses(), refused: callbacks.refused };
  return {
    days,
    total: totalDay,
    callbacks: cb,
    facts: {
      calls: calls.length,
      agents: workerOf.size,
      shifts: shifts.length,
      abandonment_rates: rates,
      drawn_handle_times: calls.filter((c) => c.outcome !== 'AGENT').length,
      events,
    },
  };
}

function withExtras(k: DailyKpis, o: DayOccupancy | null, took: number): SimulatedDay {
  return {
    ...k,
    took_callback: took,
    abandonment: k.offered === 0 ? 0 : k.abandoned / k.offered,
    occupancy: o?.occupancy ?? 0,
    logged_in_hours: o?.logged_in_hours ?? 0,
    busy_hours: o?.busy_hours ?? 0,
  };
}
