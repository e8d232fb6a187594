/**
 * The replay report: what `switchboard replay` writes to report.json and renders into
 * report.html. Field names are snake_case (it is a file people and scripts read).
 */
import type { DailyEngagements, DailyKpis } from '../analytics/kpi.ts';
import type { ServiceLevelVariant } from '../analytics/projector.ts';
import type { HourCount, HourOccupancy, WaitBin } from '../analytics/traffic.ts';
import type { AnomalyKind, MalformedRow } from './anonymous-bank.ts';

/** Where the data came from, cited wherever it is shown. */
export interface ReportSource {
  /** The file as given on the command line. */
  path: string;
  /** Short name of the data set. */
  name: string;
  /** Who collected and published it. */
  citation: string;
  first_date: string;
  last_date: string;
}

export interface ImportCounts {
  /** Data rows in the file. */
  rows: number;
  /** Rows that parsed (phantoms included). */
  calls: number;
  malformed: number;
  /** Up to 20 malformed rows with line number and reason. */
  malformed_examples: MalformedRow[];
  phantom_skipped: number;
  /** Calls outside --from/--to. */
  outside_range: number;
  anomalies: Record<AnomalyKind, number>;
}

export interface ReplayFacts {
  from: string | null;
  to: string | null;
  calls_replayed: number;
  agents: number;
  working_stretches: number;
  commands: number;
  events: number;
  /** Wall-clock seconds the replay itself took. */
  seconds: number;
}

/** Accuracy of one wait-time predictor over answered calls. */
export interface PredictorScore {
  label: string;
  /** Mean absolute error, seconds. */
  mae_s: number;
  /** Root mean squared error, seconds. */
  rmse_s: number;
  /** Mean (predicted − real), seconds. */
  bias_s: number;
  /** Share of answered calls where "offer a callback when predicted > 60 s" matched "real > 60 s". */
  callback_decision_accuracy: number;
  n: number;
}

/** Mean predicted wait of the answered calls whose real wait fell in [real_from_s, real_to_s). */
export interface CalibrationPoint {
  predictor: string;
  real_from_s: number;
  real_to_s: number | null;
  mean_real_s: number;
  mean_predicted_s: number;
  n: number;
}

export interface ReplayReport {
  generated_by: string;
  source: ReportSource;
  import: ImportCounts;
  replay: ReplayFacts;
  /** KPIs per day of the log. */
  days: DailyKpis[];
  /** The same KPIs over the whole replay (date = "total"). */
  total: DailyKpis;
  /** Which §B8 service-level variant `service_level_20s` is, and its threshold T (seconds). */
  service_level: { variant: ServiceLevelVariant; threshold_s: number };
  /** Queue, invitation and agent engagements of each day's calls, with the day's occupancy (analytics projector, §B7). */
  engagements: DailyEngagements[];
  /** The same over the whole replay (date = "total"; occupancy over the whole replay). */
  engagements_total: DailyEngagements;
  /** Per predictor. */
  ewt: Record<string, PredictorScore>;
  ewt_default_predictor: string;
  ewt_callback_threshold_s: number;
  charts: {
    offered_by_hour: HourCount[];
    wait_distribution: WaitBin[];
    occupancy_by_hour: HourOccupancy[];
    ewt_calibration: CalibrationPoint[];
  };
}

/** The KPIs of several days combined (sums, and means weighted by their counts). */
export function combineDays(days: readonly DailyKpis[]): DailyKpis {
  const offered = sum(days, (d) => d.offered);
  const answered = sum(days, (d) => d.answered);
  return {
    date: 'total',
    offered,
    answered,
    abandoned: sum(days, (d) => d.abandoned),
    asa_s: answered === 0 ? 0 : sum(days, (d) => d.asa_s * d.answered) / answered,
    service_level_20s: offered === 0 ? 0 : sum(days, (d) => d.service_level_20s * d.offered) / offered,
    aht_s: answered === 0 ? 0 : sum(days, (d) => d.aht_s * d.answered) / answered,
    max_wait_s: Math.max(0, ...days.map((d) => d.max_wait_s)),
  };
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let s = 0;
  for (const item of items) s += f(item);
  return s;
}
