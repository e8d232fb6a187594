/**
 * Wait-time predictors on the real sample (shared/data/anonymous-bank-1999-02-01_14.tsv, two
 * weeks of a bank call center, Guedj and Mandelbaum, Technion): shadow-replay the log, predict
 * every call's wait at the moment its task is created from what the engine knows then, and score
 * against the real waits of the answered calls (docs/ewt.md has the table this prints).
 *
 * Acceptance criteria of the EWT issue: the default predictor's MAE is below both seed methods'
 * (Twilio's average acceptance time and Amazon Connect's oldest call waiting), and its callback
 * decision ("offer when predicted wait > 60 s") is right at least as often as the better of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { taskQueueCumulative } from '../engine/statistics-query.ts';
import { importAnonymousBank } from '../sim/anonymous-bank.ts';
import { replayCalls } from '../sim/replay.ts';
import { DEFAULT_PREDICTOR, PREDICTORS, WaitTimeEstimator } from './ewt.ts';
import { scorePredictions, type ScoredPrediction } from './ewt-score.ts';

const SAMPLE = fileURLToPath(new URL('../../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));

test('EWT on the Anonymous Bank sample: the default beats both seed methods', async (t) => {
  const { calls } = await importAnonymousBank(SAMPLE);
  const estimator = new WaitTimeEstimator();
  const rows: ScoredPrediction[] = [];
  let checked = 0;
  replayCalls(calls, {
    onEvent: (e) => estimator.observe(e),
    onTaskCreated: (call, taskSid, engine) => {
      const predictions = estimator.predict(engine, taskSid);
      for (const p of PREDICTORS) assert.ok(Number.isFinite(predictions[p]) && predictions[p] >= 0, `${p} for ${call.key}: ${predictions[p]}`);
      // Now and then: the seed method equals what our TaskQueue statistics endpoint says.
      if (rows.length % 97 === 0) {
        const queueSid = engine.tasks.get(taskSid)?.taskQueueSid as string;
        const api = taskQueueCumulative(engine, queueSid, { startMs: engine.now - 15 * 60_000, endMs: engine.now });
        assert.equal(predictions.twilio_avg_acceptance, api['avg_task_acceptance_time'], `Twilio average for ${call.key}`);
        checked += 1;
      }
      rows.push({ realWaitS: call.waitS, answered: call.outcome === 'AGENT', predictions });
    },
  });
  assert.ok(checked > 100);
  const scores = scorePredictions(rows);
  for (const p of PREDICTORS) {
    const s = scores[p];
    t.diagnostic(
      `${p.padEnd(22)} MAE ${s.mae_s.toFixed(1).padStart(5)} s  RMSE ${s.rmse_s.toFixed(1).padStart(5)} s  ` +
        `bias ${s.bias_s.toFixed(1).padStart(6)} s  callback decision right ${(100 * s.callback_decision_accuracy).toFixed(1)} %  (n ${s.n})`,
    );
  }
  const best = scores[DEFAULT_PREDICTOR];
  const twilio = scores.twilio_avg_acceptance;
  const ocw = scores.oldest_call_waiting;
  assert.equal(best.n, 14_405, 'every answered call is scored');
  assert.ok(best.mae_s < twilio.mae_s, `default MAE ${best.mae_s} < Twilio average acceptance ${twilio.mae_s}`);
  assert.ok(best.mae_s < ocw.mae_s, `default MAE ${best.mae_s} < oldest call waiting ${ocw.mae_s}`);
  const seedAccuracy = Math.max(twilio.callback_decision_accuracy, ocw.callback_decision_accuracy);
  assert.ok(best.callback_decision_accuracy >= seedAccuracy, `default callback accuracy ${best.callback_decision_accuracy} ≥ ${seedAccuracy}`);
});
