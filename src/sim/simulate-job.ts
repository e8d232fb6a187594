/**
 * The job behind `switchboard simulate`: import the log, measure what really happened (the
 * shadow replay, same KPI code as `switchboard replay`), simulate without callbacks and — when a
 * callback policy is given — with callbacks, and assemble the three-column report. With `voice`
 * the simulated column is instead the callers going through the call flow (`--voice`): the run
 * is injected ({@link VoiceSimulator}, src/cli/simulate-voice.ts), since it starts the runtime, a
 * shell this folder does not import; the report then has the IVR step too. No files are written
 * here (see simulate-files.ts); progress goes through a callback.
 */
import { DailyKpiAccumulator, type DailyKpis } from '../analytics/kpi.ts';
import { importAnonymousBank, type CallRecord } from './anonymous-bank.ts';
import { replayCalls } from './replay.ts';
import { importCounts, reportSource } from './replay-job.ts';
import { combineDays } from './report.ts';
import { simulateCalls, DEFAULT_ACCEPT_DELAY_S, type SimulatedDay, type SimulationResult } from './simulate.ts';
import { DEFAULT_CALLBACK_POLICY, type CallbackDayStats, type CallbackPolicy } from './simulate-callbacks.ts';
import { DailyOccupancyAccumulator, totalOccupancy, type DayOccupancy } from './simulate-measures.ts';
import type { ColumnMeasures, ComparisonRow, RunFacts, SimulationReport } from './simulate-report.ts';
import { inferStaffing, readStaffingFile, type StaffingPlan } from './staffing.ts';
import { UNIDENTIFIED_AGENT } from './replay.ts';
import type { CallFlow } from '../callflows/index.ts';
import { ivrMeasures, logVruFlow, offersCallbacks, readSimulationFlow, VRU_STEP, type IvrCall } from './voice-callers.ts';

/** The input leaves nothing to simulate (e.g. no calls on the chosen days). */
export class SimulationInputError extends Error {
  override name = 'SimulationInputError';
}

/**
 * The phases `onProgress` reports, in order: reading the log, the shadow replay, the run without
 * and (with a policy) with callbacks — or, with `voice`, the run through the call flow.
 */
export type SimulatePhase = 'import' | 'replay' | 'simulate' | 'simulate_callbacks' | 'simulate_voice';

/** What a {@link VoiceSimulator} is asked to run; seconds unless named otherwise. */
export interface VoiceSimulationOptions {
  seed: number;
  staffing: StaffingPlan;
  /** [min, max]: how long an agent's phone rings before they answer. */
  acceptDelayS: readonly [number, number];
  wrapUpS: number;
  /** The flow, placeholders kept (src/sim/voice-callers.ts). */
  flow: CallFlow;
  /** The callback policy of the flow's offers: call targets' threshold and strategy, callers' take rate, customers' answer rate. */
  callbacks: CallbackPolicy;
  /** `done` of `total` calls placed. */
  onProgress?: (done: number, total: number) => void;
}

/** What a {@link VoiceSimulator} measured: the run's KPIs as {@link simulateCalls} gives them, the IVR of each call, the network's facts. */
export interface VoiceSimulationResult extends SimulationResult {
  ivr: IvrCall[];
  voice: NonNullable<RunFacts['voice']>;
}

/** Runs `calls` (non-phantom, the chosen days) through the call flow on the runtime's voice core (src/cli/simulate-voice.ts). */
export type VoiceSimulator = (calls: readonly CallRecord[], options: VoiceSimulationOptions) => Promise<VoiceSimulationResult>;

/** What {@link runSimulateJob} simulates; seconds unless named otherwise. */
export interface SimulateJobOptions {
  /** The call log (Anonymous Bank format). */
  path: string;
  /** First and last day (YYYY-MM-DD, inclusive). */
  from?: string;
  to?: string;
  seed: number;
  /** A staffing file (CSV or JSON, src/sim/staffing.ts); absent = inferred from the log. */
  staffingPath?: string;
  /** [min, max] seconds; default [0, 2]. */
  acceptDelayS?: readonly [number, number];
  /** After-call work added to every handle time, seconds; default 0. */
  wrapUpS?: number;
  /**
   * Callback policy; null = simulate without callbacks only. With `voice`: the policy of the flow's
   * callback offers (null: the defaults), and no run with callbacks at queue entry.
   */
  callbacks: CallbackPolicy | null;
  /** Run the simulated column through the call flow: the `--flow` file (absent: the default flow) and the runner. */
  voice?: { flowPath?: string; run: VoiceSimulator } | null;
  /** `done` of `total` units of work (rows, calls or timeline steps) in `phase`. */
  onProgress?: (phase: SimulatePhase, done: number, total: number) => void;
}

/** The job's outcome: the report (report.json) and the staffing plan it used (staffing.csv). */
export interface SimulateJobResult {
  report: SimulationReport;
  /** The staffing plan used (inferred or read). */
  staffing: StaffingPlan;
  /** The call flow of a `--voice` run (placeholders kept), or null. */
  flow: CallFlow | null;
}

/**
 * Runs the whole job. Throws ImportError for an unreadable log or wrong header,
 * SimulationInputError when no call falls on the chosen days, StaffingError for a bad staffing
 * file, FlowFileError for a `--flow` file that cannot be simulated, RangeError for a bad accept
 * delay range or wrap-up.
 */
export async function runSimulateJob(options: SimulateJobOptions): Promise<SimulateJobResult> {
  const progress = options.onProgress ?? (() => undefined);
  const imported = await importAnonymousBank(options.path, (done, total) => progress('import', done, total));
  const inRange = (c: CallRecord): boolean => (options.from === undefined || c.date >= options.from) && (options.to === undefined || c.date <= options.to);
  const calls = imported.calls.filter((c) => c.outcome !== 'PHANTOM' && inRange(c));
  if (calls.length === 0) {
    const dates = imported.calls.map((c) => c.date).sort();
    const covers = dates.length === 0 ? 'it has no calls' : `it covers ${dates[0]} to ${dates[dates.length - 1]}`;
    throw new SimulationInputError(`no calls to simulate in ${options.path} between --from ${options.from ?? '(start)'} and --to ${options.to ?? '(end)'}: ${covers}`);
  }
  const types = [...new Set(calls.map((c) => c.type))].sort();
  const staffing = options.staffingPath === undefined ? inferStaffing(calls) : await readStaffingFile(options.staffingPath, types);
  const voice = options.voice ?? null;
  const flow = voice === null ? null : voice.flowPath === undefined ? logVruFlow() : await readSimulationFlow(voice.flowPath);

  // What really happened: the shadow replay through the same KPI and occupancy code.
  let t = performance.now();
  const kpis = new DailyKpiAccumulator();
  const occupancy = new DailyOccupancyAccumulator(['Available'], (name) => name === UNIDENTIFIED_AGENT);
  const replay = replayCalls(imported.calls, {
    from: options.from,
    to: options.to,
    onEvent: (e) => {
      kpis.observe(e);
      occupancy.observe(e);
    },
    onProgress: (done, total) => progress('replay', done, total),
  });
  const replayS = (performance.now() - t) / 1000;
  const realDays = kpis.result();
  const realOcc = occupancy.result();

  const acceptDelayS = options.acceptDelayS ?? DEFAULT_ACCEPT_DELAY_S;
  const voicePolicy = flow !== null && offersCallbacks(flow) ? (options.callbacks ?? DEFAULT_CALLBACK_POLICY) : null;
  t = performance.now();
  const voiced: VoiceSimulationResult | null =
    voice === null || flow === null
      ? null
      : await voice.run(calls, { seed: options.seed, staffing, acceptDelayS, wrapUpS: options.wrapUpS ?? 0, flow, callbacks: voicePolicy ?? DEFAULT_CALLBACK_POLICY, onProgress: (d, n) => progress('simulate_voice', d, n) });
  const plain: SimulationResult =
    voiced !== null
      ? voiced
      : simulateCalls(calls, { seed: options.seed, staffing, acceptDelayS, wrapUpS: options.wrapUpS ?? 0, onProgress: (d, n) => progress('simulate', d, n) });
  const plainS = (performance.now() - t) / 1000;
  let withCb: SimulationResult | null = null;
  let withCbS: number | null = null;
  if (options.callbacks !== null && voice === null) {
    t = performance.now();
    withCb = simulateCalls(calls, { seed: options.seed, staffing, acceptDelayS, wrapUpS: options.wrapUpS ?? 0, callbacks: options.callbacks, onProgress: (d, n) => progress('simulate_callbacks', d, n) });
    withCbS = (performance.now() - t) / 1000;
  }

  const dates = [...new Set([...realDays.map((d) => d.date), ...plain.days.map((d) => d.date), ...(withCb?.days.map((d) => d.date) ?? [])])].sort();
  const row = (date: string): ComparisonRow => {
    const real = realDays.find((d) => d.date === date);
    return {
      date,
      real: realMeasures(real ?? emptyKpis(date), realOcc.find((o) => o.date === date) ?? null),
      simulated: simMeasures(plain.days.find((d) => d.date === date) ?? null, voicePolicy === null ? null : (plain.callbacks?.days.find((d) => d.date === date) ?? noCallbacks(date))),
      simulated_with_callbacks: withCb === null ? null : simMeasures(withCb.days.find((d) => d.date === date) ?? null, withCb.callbacks?.days.find((d) => d.date === date) ?? noCallbacks(date)),
    };
  };
  const days = dates.map(row);
  const total: ComparisonRow = {
    date: 'total',
    real: realMeasures(combineDays(realDays), totalOccupancy(realOcc.filter((o) => dates.includes(o.date)))),
    simulated: simMeasures(plain.total, voicePolicy === null ? null : (plain.callbacks?.total ?? noCallbacks('total'))),
    simulated_with_callbacks: withCb === null ? null : simMeasures(withCb.total, withCb.callbacks?.total ?? null),
  };
  const rates = plain.facts.abandonment_rates;
  const report: SimulationReport = {
    generated_by: 'switchboard simulate',
    source: reportSource(options.path, calls),
    import: importCounts(imported, replay),
    options: {
      seed: options.seed,
      from: options.from ?? null,
      to: options.to ?? null,
      staffing: staffing.source,
      accept_delay_s: [acceptDelayS[0], acceptDelayS[1]],
      wrap_up_s: options.wrapUpS ?? 0,
      callbacks: voice === null ? options.callbacks : null,
      voice: voice === null ? null : { flow: voice.flowPath ?? 'default', vru_step: VRU_STEP, offers_callbacks: voicePolicy !== null, callbacks: voicePolicy },
    },
    model: {
      abandonment_rates: rates,
      mean_patience_s: Object.fromEntries(Object.entries(rates.byType).map(([k, v]) => [k, v > 0 ? Math.round(1 / v) : null])),
    },
    runs: { simulated: { ...runFacts(plain), ...(voiced === null ? {} : { voice: voiced.voice }) }, simulated_with_callbacks: withCb === null ? null : runFacts(withCb) },
    days,
    total,
    ivr: voiced === null ? null : ivrMeasures(voiced.ivr),
    timing: { replay_s: round3(replayS), simulated_s: round3(plainS), simulated_with_callbacks_s: withCbS === null ? null : round3(withCbS) },
  };
  return { report, staffing, flow };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function emptyKpis(date: string): DailyKpis {
  return { date, offered: 0, answered: 0, abandoned: 0, asa_s: 0, service_level_20s: 0, aht_s: 0, max_wait_s: 0 };
}

function runFacts(r: SimulationResult): RunFacts {
  return {
    calls: r.facts.calls,
    agents: r.facts.agents,
    shifts: r.facts.shifts,
    events: r.facts.events,
    drawn_handle_times: r.facts.drawn_handle_times,
    ...(r.callbacks === null ? {} : { callback_statuses: r.callbacks.statuses, callback_registrations_refused: r.callbacks.refused }),
  };
}

function realMeasures(k: DailyKpis, o: DayOccupancy | null): ColumnMeasures {
  return {
    offered: k.offered,
    answered: k.answered,
    abandoned: k.abandoned,
    abandonment: k.offered === 0 ? 0 : k.abandoned / k.offered,
    asa_s: k.asa_s,
    service_level_20s: k.service_level_20s,
    aht_s: k.aht_s,
    max_wait_s: k.max_wait_s,
    occupancy: o?.occupancy ?? 0,
    logged_in_hours: o?.logged_in_hours ?? 0,
    callbacks_offered: null,
    callbacks_taken: null,
    callbacks_completed: null,
    callbacks_within_quoted_range: null,
    callback_punctuality: null,
    callbacks_bridged_within_quoted_range: null,
  };
}

function simMeasures(d: SimulatedDay | null, cb: CallbackDayStats | null): ColumnMeasures {
  const base = realMeasures(d ?? emptyKpis(''), d === null ? null : { date: d.date, occupancy: d.occupancy, logged_in_hours: d.logged_in_hours, busy_hours: d.busy_hours });
  if (cb === null) return base;
  return {
    ...base,
    callbacks_offered: cb.offered,
    callbacks_taken: cb.taken,
    callbacks_completed: cb.completed,
    callbacks_within_quoted_range: cb.within_quoted_range,
    callback_punctuality: cb.completed === 0 ? null : cb.punctuality,
    callbacks_bridged_within_quoted_range: cb.bridged_within_quoted_range,
  };
}

function noCallbacks(date: string): CallbackDayStats {
  return { date, offered: 0, taken: 0, completed: 0, not_completed: 0, within_quoted_range: 0, punctuality: 0, bridged_within_quoted_range: 0, mean_time_to_agent_s: 0 };
}
