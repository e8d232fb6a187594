/**
 * Scores wait-time predictions against the real waits (docs/ewt.md, "How we score"): over the
 * answered calls only, each predictor's mean absolute error, root-mean-square error and mean
 * signed error (bias: positive = predicted too long), in seconds, and how often the callback
 * decision "offer a callback when the predicted wait is over {@link CALLBACK_THRESHOLD_S}"
 * agreed with "the real wait was over {@link CALLBACK_THRESHOLD_S}".
 *
 * Abandoned calls are left out: their real wait is unknown (they hung up before it ended).
 */
import { PREDICTORS, type PredictorName } from './ewt.ts';

/** The wait, in seconds, above which a callback is offered. */
export const CALLBACK_THRESHOLD_S = 60;

export interface ScoredPrediction {
  /** Seconds the call really waited. */
  realWaitS: number;
  /** Did an agent answer it? Only answered calls are scored. */
  answered: boolean;
  predictions: Record<PredictorName, number>;
}

export interface PredictorScore {
  mae_s: number;
  rmse_s: number;
  bias_s: number;
  /** Share 0–1 of answered calls where the callback decision matched the real wait; 0 when n = 0. */
  callback_decision_accuracy: number;
  /** Answered calls scored. */
  n: number;
}

/** Scores every predictor over the answered rows (0 everywhere when there are none). */
export function scorePredictions(rows: readonly ScoredPrediction[]): Record<PredictorName, PredictorScore> {
  const sums = PREDICTORS.map(() => ({ abs: 0, sq: 0, signed: 0, right: 0 }));
  let n = 0;
  for (const row of rows) {
    if (!row.answered) continue;
    n += 1;
    const late = row.realWaitS > CALLBACK_THRESHOLD_S;
    for (let i = 0; i < PREDICTORS.length; i++) {
      const predicted = row.predictions[PREDICTORS[i] as PredictorName];
      const error = predicted - row.realWaitS;
      const s = sums[i] as { abs: number; sq: number; signed: number; right: number };
      s.abs += Math.abs(error);
      s.sq += error * error;
      s.signed += error;
      if (predicted > CALLBACK_THRESHOLD_S === late) s.right += 1;
    }
  }
  const out = {} as Record<PredictorName, PredictorScore>;
  PREDICTORS.forEach((name, i) => {
    const s = sums[i] as { abs: number; sq: number; signed: number; right: number };
    out[name] = n === 0
      ? { mae_s: 0, rmse_s: 0, bias_s: 0, callback_decision_accuracy: 0, n: 0 }
      : { mae_s: s.abs / n, rmse_s: Math.sqrt(s.sq / n), bias_s: s.signed / n, callback_decision_accuracy: s.right / n, n };
  });
  return out;
}
