/**
 * The replay job behind `switchboard replay`: import a call log, replay it through the engine,
 * measure KPIs and wait-time predictions from the engine's events, and assemble the report.
 * No files are written here (see report-files.ts); progress is reported through a callback.
 */
import { DEFAULT_PREDICTOR, PREDICTOR_LABELS, PREDICTORS, WaitTimeEstimator, type PredictorName } from '../analytics/ewt.ts';
import { CALLBACK_THRESHOLD_S, scorePredictions } from '../analytics/ewt-score.ts';
import { combineEngagements, REPLAY_SERVICE_LEVEL_VARIANT, ReplayAnalytics, SERVICE_LEVEL_THRESHOLD_S } from '../analytics/kpi.ts';
import { OccupancyAccumulator, TrafficAccumulator } from '../analytics/traffic.ts';
import { importAnonymousBank, type CallRecord, type ImportResult } from './anonymous-bank.ts';
import { combineDays, type CalibrationPoint, type ImportCounts, type ReplayReport, type ReportSource } from './report.ts';
import { replayCalls, UNIDENTIFIED_AGENT, type ReplaySummary } from './replay.ts';

export const DATASET_NAME = 'Anonymous Bank call center, February 1999';
export const DATASET_CITATION =
  'Ilan Guedj and Avishai Mandelbaum, Technion — Israel Institute of Technology, Faculty of Industrial Engineering and ' +
  'Management, Service Engineering research center; "Anonymous Bank" call-center data (1999), as distributed with ' +
  'T. W. Miller, "Modeling Techniques in Predictive Analytics" (repository mtpa/mtpa).';

export type ReplayPhase = 'import' | 'replay' | 'report';

export interface ReplayJobOptions {
  /** The call log (Anonymous Bank format). */
  path: string;
  /** First and last day (YYYY-MM-DD, inclusive). */
  from?: string;
  to?: string;
  /** Progress of each phase: `done` of `total` units. */
  onProgress?: (phase: ReplayPhase, done: number, total: number) => void;
}

/** One row of predictions.csv: a call that asked for an agent. */
export interface PredictionRow {
  callKey: string;
  /** Seconds, per predictor; `DEFAULT_PREDICTOR`'s is the headline prediction. */
  predictions: Record<PredictorName, number>;
  realWaitS: number;
  answered: boolean;
}

export interface ReplayJobResult {
  report: ReplayReport;
  predictions: PredictionRow[];
}

/** Real-wait bins of the calibration chart, seconds. */
const CALIBRATION_BINS: [number, number | null][] = [[0, 30], [30, 60], [60, 120], [120, 240], [240, null]];

/**
 * Runs the whole job. Throws ImportError (from the importer) for an unreadable file or a wrong
 * header; malformed rows are counted, not thrown.
 */
export async function runReplayJob(options: ReplayJobOptions): Promise<ReplayJobResult> {
  const progress = options.onProgress ?? (() => undefined);
  const imported = await importAnonymousBank(options.path, (done, total) => progress('import', done, total));
  // The KPIs and engagements come from the analytics projector (one code path with the live runtime).
  const analytics = new ReplayAnalytics();
  const traffic = new TrafficAccumulator();
  const estimator = new WaitTimeEstimator();
  let occupancy: OccupancyAccumulator | null = null;
  const predictions: PredictionRow[] = [];
  const started = performance.now();
  const summary = replayCalls(imported.calls, {
    from: options.from,
    to: options.to,
    onEvent: (e) => {
      analytics.observe(e);
      traffic.observe(e);
      estimator.observe(e);
      occupancy?.observe(e);
    },
    onTaskCreated: (call: CallRecord, taskSid, engine) => {
      if (occupancy === null) {
        const available = [...engine.activities.values()].filter((a) => a.available).map((a) => a.sid);
        occupancy = new OccupancyAccumulator(available, [UNIDENTIFIED_AGENT]);
      }
      predictions.push({ callKey: call.key, predictions: estimator.predict(engine, taskSid), realWaitS: call.waitS, answered: call.outcome === 'AGENT' });
    },
    onProgress: (done, total) => progress('replay', done, total),
  });
  const seconds = (performance.now() - started) / 1000;
  progress('report', 0, 1);

  const scores = scorePredictions(predictions.map((p) => ({ realWaitS: p.realWaitS, answered: p.answered, predictions: p.predictions })));
  const days = analytics.days();
  const engagements = analytics.engagements(true);
  const report: ReplayReport = {
    generated_by: 'switchboard replay',
    source: reportSource(options.path, summary.calls),
    import: importCounts(imported, summary),
    replay: {
      from: options.from ?? null,
      to: options.to ?? null,
      calls_replayed: summary.calls.length,
      agents: summary.agents,
      working_stretches: summary.stretches,
      commands: summary.commands,
      events: summary.events,
      seconds: Number(seconds.toFixed(3)),
    },
    days,
    total: combineDays(days),
    service_level: { variant: REPLAY_SERVICE_LEVEL_VARIANT, threshold_s: SERVICE_LEVEL_THRESHOLD_S },
    engagements,
    engagements_total: combineEngagements(engagements, analytics.occupancy(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)),
    ewt: Object.fromEntries(PREDICTORS.map((name) => [name, { label: PREDICTOR_LABELS[name], ...scores[name] }])),
    ewt_default_predictor: DEFAULT_PREDICTOR,
    ewt_callback_threshold_s: CALLBACK_THRESHOLD_S,
    charts: {
      offered_by_hour: traffic.offeredByHour(),
      wait_distribution: traffic.waitDistribution(),
      occupancy_by_hour: (occupancy as OccupancyAccumulator | null)?.result() ?? [],
      ewt_calibration: calibration(predictions),
    },
  };
  progress('report', 1, 1);
  return { report, predictions };
}

/** The data source of a report on the Anonymous Bank log at `path`: first and last date among `calls` ('' when none). */
export function reportSource(path: string, calls: readonly Pick<CallRecord, 'date'>[]): ReportSource {
  const dates = calls.map((c) => c.date).sort();
  return { path, name: DATASET_NAME, citation: DATASET_CITATION, first_date: dates[0] ?? '', last_date: dates[dates.length - 1] ?? '' };
}

/** What the importer found, with what the replay skipped (phantoms, calls outside the chosen days); the first 20 malformed rows as examples. */
export function importCounts(imported: ImportResult, replay: Pick<ReplaySummary, 'phantomsSkipped' | 'outsideRange'>): ImportCounts {
  return {
    rows: imported.rows,
    calls: imported.calls.length,
    malformed: imported.malformed.length,
    malformed_examples: imported.malformed.slice(0, 20),
    phantom_skipped: replay.phantomsSkipped,
    outside_range: replay.outsideRange,
    anomalies: imported.anomalies,
  };
}

function calibration(rows: readonly PredictionRow[]): CalibrationPoint[] {
  const points: CalibrationPoint[] = [];
  const answered = rows.filter((r) => r.answered);
  for (const name of PREDICTORS) {
    for (const [from, to] of CALIBRATION_BINS) {
      const inBin = answered.filter((r) => r.realWaitS >= from && (to === null || r.realWaitS < to));
      if (inBin.length === 0) continue;
      points.push({
        predictor: name,
        real_from_s: from,
        real_to_s: to,
        mean_real_s: inBin.reduce((s, r) => s + r.realWaitS, 0) / inBin.length,
        mean_predicted_s: inBin.reduce((s, r) => s + r.predictions[name], 0) / inBin.length,
        n: inBin.length,
      });
    }
  }
  return points;
}
