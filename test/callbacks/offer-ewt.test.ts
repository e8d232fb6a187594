/**
 * The offer for a caller who just queued, with the EWT from the replay issue's default
 * predictor (WaitTimeEstimator, `qlm_calibrated`) fed from the same engine the driver runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PREDICTOR, WaitTimeEstimator } from '../../src/analytics/ewt.ts';
import { CallbackDriver, simpleAgents } from '../../src/sim/callback-driver.ts';
import { world } from './helpers.ts';

test('a caller behind a long line is offered a callback with a spoken wait; one who would be answered at once is not', () => {
  const w = world({ workers: 2, agents: null });
  const estimator = new WaitTimeEstimator();
  const driver = new CallbackDriver({ engine: w.engine, center: w.center, network: w.network, agents: simpleAgents({ acceptAfterSeconds: 1, handleSeconds: 300 }), onEngineEvent: (e) => estimator.observe(e) });
  const call = () => driver.execute({ type: 'createTask', at: driver.now, taskQueueSid: w.queueSid, taskChannel: 'voice', attributes: '{}' }).sid as string;
  // a few services teach the estimator μ̂ (300 s each)
  for (let i = 0; i < 4; i++) call();
  driver.runFor(700);
  const first = call();
  const quick = w.center.offer(w.targetSid, { ewtSeconds: estimator.predict(w.engine, first)[DEFAULT_PREDICTOR] }, driver.now);
  assert.equal(quick.widgetState, 'display_ewt_only');
  assert.equal(quick.reason, 'ewt_below_threshold');
  // both agents busy, ten callers ahead
  for (let i = 0; i < 10; i++) call();
  const late = call();
  const ewt = estimator.predict(w.engine, late)[DEFAULT_PREDICTOR];
  assert.ok(ewt > 600, `EWT ${ewt}`);
  const offer = w.center.offer(w.targetSid, { ewtSeconds: ewt }, driver.now);
  assert.equal(offer.widgetState, 'offer_asap_callback');
  assert.equal(offer.phrase, 'more than 10 minutes');
  assert.match(offer.ecbtPhrase ?? '', /^between \d+ and \d+ minutes$/);
  // the callback keeps the caller's place but, at priority 5, is quoted well under the live wait
  assert.ok((offer.ecbtSeconds as number) < ewt);
});
