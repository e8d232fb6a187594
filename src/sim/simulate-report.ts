/**
 * The simulation report: what `switchboard simulate` writes to report.json and renders into
 * report.html and the terminal table. Three columns side by side per day and in total — what
 * really happened (the shadow replay's KPIs, src/sim/replay.ts + src/analytics/kpi.ts),
 * simulated without callbacks, simulated with callbacks. Field names are snake_case.
 */
import type { AbandonmentRates } from './patience.ts';
import type { ImportCounts, ReportSource } from './report.ts';
import type { CallbackPolicy } from './simulate-callbacks.ts';
import type { IvrMeasures } from './voice-callers.ts';

/** The column keys, in display order. */
export const COLUMNS = ['real', 'simulated', 'simulated_with_callbacks'] as const;
/** One of {@link COLUMNS}. */
export type ColumnKey = (typeof COLUMNS)[number];

/** The heading of each column in the terminal table and the HTML page. */
export const COLUMN_LABELS: Record<ColumnKey, string> = {
  real: 'What really happened',
  simulated: 'Simulated, no callbacks',
  simulated_with_callbacks: 'Simulated, with callbacks',
};

/** The heading of the simulated column of a `--voice` run: the callers went through the call flow. */
export const VOICE_COLUMN_LABEL = 'Simulated through the call flow';

/** The heading of column `c` in `report` (the simulated column is the voice run's with `--voice`). */
export function columnLabel(report: Pick<SimulationReport, 'options'>, c: ColumnKey): string {
  return c === 'simulated' && report.options.voice !== null ? VOICE_COLUMN_LABEL : COLUMN_LABELS[c];
}

/** The measures of one column for one day (or the total). Shares 0–1, durations seconds. */
export interface ColumnMeasures {
  /** Calls that asked for an agent. */
  offered: number;
  answered: number;
  abandoned: number;
  /** abandoned ÷ offered. */
  abandonment: number;
  /** Mean wait of answered calls, seconds. */
  asa_s: number;
  /** Answered within 20 s ÷ offered. */
  service_level_20s: number;
  /** Mean handle time of answered calls, seconds. */
  aht_s: number;
  max_wait_s: number;
  /** Busy ÷ logged-in agent time, named agents only. */
  occupancy: number;
  logged_in_hours: number;
  /** Callers offered a callback (null: not applicable in this column). */
  callbacks_offered: number | null;
  /** …who took it. */
  callbacks_taken: number | null;
  /** Callbacks that reached an agent and completed. */
  callbacks_completed: number | null;
  /** Completed callbacks that started (the customer's phone first rang) inside the quoted ECBT range (spec §1.6). */
  callbacks_within_quoted_range: number | null;
  /** callbacks_within_quoted_range ÷ callbacks_completed. */
  callback_punctuality: number | null;
  /** Completed callbacks whose bridge to an agent fell inside the quoted range too. */
  callbacks_bridged_within_quoted_range: number | null;
}

/** One row of the comparison: a day or the total. */
export interface ComparisonRow {
  /** YYYY-MM-DD or "total". */
  date: string;
  real: ColumnMeasures;
  simulated: ColumnMeasures;
  /** Null when callbacks were not simulated. */
  simulated_with_callbacks: ColumnMeasures | null;
}

/** Facts about one simulation run. */
export interface RunFacts {
  calls: number;
  agents: number;
  shifts: number;
  events: number;
  drawn_handle_times: number;
  /** Callbacks by final status (with-callbacks run only). */
  callback_statuses?: Record<string, number>;
  /** Callbacks the center refused to register after offering them (with-callbacks run only). */
  callback_registrations_refused?: number;
  /** The voice run (`--voice`) only: what the simulated telephone network saw. */
  voice?: {
    /** Callers who dialed in. */
    calls_placed: number;
    /** …bridged to an agent. */
    calls_bridged: number;
    /** Agents' legs placed (one per `dequeue` instruction). */
    agent_legs: number;
    /** Errors the voice core answered the network with (0 expected). */
    network_errors: number;
    /** Runtime batches that wrote commands or events (each one a transaction). */
    batches: number;
  };
}

/** How a `--voice` run was set up (report.json `options.voice`). */
export interface VoiceRunOptions {
  /** `default` (the log's VRU, src/sim/voice-callers.ts) or the `--flow` file. */
  flow: string;
  /** The step whose gather stands for the log's VRU time. */
  vru_step: string;
  /** Whether the flow offers callbacks; then `callbacks` is the policy of its call targets and callers. */
  offers_callbacks: boolean;
  callbacks: CallbackPolicy | null;
}

/**
 * report.json of `switchboard simulate`: the data source and import counts (as the replay's
 * report), the options and fitted caller model, facts per run, the comparison per day and in
 * total, and wall-clock timing.
 */
export interface SimulationReport {
  generated_by: string;
  source: ReportSource;
  import: ImportCounts;
  options: {
    seed: number;
    from: string | null;
    to: string | null;
    /** "inferred" or the staffing file. */
    staffing: string;
    /** [min, max] seconds. */
    accept_delay_s: [number, number];
    /** After-call work added to every handle time, seconds. */
    wrap_up_s: number;
    callbacks: CallbackPolicy | null;
    /** Set by `--voice`: the simulated column went through the call flow (null: tasks created directly). */
    voice: VoiceRunOptions | null;
  };
  model: {
    /** θ̂ per call type, per second (spec callbacks-and-ewt.md §7.3). */
    abandonment_rates: AbandonmentRates;
    /** 1/θ̂ per call type, whole seconds; null for a type whose θ̂ is 0 (its served callers never abandon). */
    mean_patience_s: Record<string, number | null>;
  };
  runs: { simulated: RunFacts; simulated_with_callbacks: RunFacts | null };
  days: ComparisonRow[];
  total: ComparisonRow;
  /** The IVR step of a `--voice` run per day and in total (simulated vs the log's VRU time); null without `--voice`. */
  ivr: { days: IvrMeasures[]; total: IvrMeasures } | null;
  /** Wall-clock seconds per phase; not part of the deterministic content. */
  timing: { replay_s: number; simulated_s: number; simulated_with_callbacks_s: number | null };
}
