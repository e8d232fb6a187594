/**
 * The wait-time predictor behind the offer for a holding caller survives a restart: the
 * restarted runtime warms each workspace's WaitTimeEstimator from the events table as it opens, so a task queued after the restart gets the prediction a service that never stopped
 * would have made.
 *
 * "A service that never stopped" is the estimator of the service before the restart (the very
 * object, kept in memory after close), fed the engine events written after it was closed — what
 * the running service would have read next. Both then predict the same task on the same engine.
 * The scenario keeps every calibration cell under `calibrationMinSamples` (10): calibrated cells
 * are the documented exception (not rebuilt from events), asserted in the second test.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_PREDICTOR, PREDICTORS, WaitTimeEstimator } from '../../src/analytics/ewt.ts';
import type { EngineEvent } from '../../src/engine/index.ts';
import { dirname } from 'node:path';
import { queryTestDatabase, testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { startCbHarness, type CbHarness } from './harness.ts';

let h: CbHarness;
before(async () => {
  h = await startCbHarness({ workers: 2 });
});
after(async () => {
  await h.close();
});

/** The workspace's engine events (not callback events) after `rowid`, oldest first, with the last rowid. */
async function engineEventsAfter(rowid: number): Promise<{ events: EngineEvent[]; last: number }> {
  const rows = await queryTestDatabase<{ r: number; body: string }>(
    dirname(h.databasePath),
    "SELECT rowid AS r, body FROM events WHERE workspace_sid = ? AND rowid > ? AND event_type NOT LIKE 'callback.%' ORDER BY rowid",
    h.ws,
    rowid,
  );
  return { events: rows.map((x) => JSON.parse(x.body) as EngineEvent), last: rows.length === 0 ? rowid : Number(rows[rows.length - 1]!.r) };
}

const wsc = () => h.client.taskrouter.v1.workspaces(h.ws);

async function createTask(): Promise<string> {
  const t = await wsc().tasks.create({ workflowSid: h.workflowSid, attributes: '{}' });
  await h.step(10);
  return t.sid;
}

async function accept(taskSid: string): Promise<void> {
  const [r] = await wsc().tasks(taskSid).reservations.list({ reservationStatus: 'pending' });
  assert.ok(r !== undefined, `a pending reservation for ${taskSid}`);
  await wsc().tasks(taskSid).reservations(r.sid).update({ reservationStatus: 'accepted' });
  await h.step(10);
}

async function complete(taskSid: string): Promise<void> {
  await wsc().tasks(taskSid).update({ assignmentStatus: 'completed', reason: 'handled' });
  await h.step(10);
}

test('a restarted service predicts the same EWT for a newly queued task as one that ran through; a cold estimator does not', async () => {
  const ct = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid })).body;
  assert.match(ct.sid as string, /^CT/);
  // Two agents serve (120 s and 200 s), a caller abandons after 40 s, a third caller waits 90 s.
  const t1 = await createTask();
  const t2 = await createTask();
  await accept(t1);
  await accept(t2);
  const t3 = await createTask();
  const t4 = await createTask();
  await h.step(40_000);
  await wsc().tasks(t4).update({ assignmentStatus: 'canceled', reason: 'caller hung up' });
  await h.step(50_000);
  await complete(t1);
  await accept(t3);
  await h.step(30_000);
  await complete(t2);
  await h.step(60_000);
  await complete(t3);
  // Both agents busy again, and one caller waiting when the server stops.
  const t5 = await createTask();
  const t6 = await createTask();
  await accept(t5);
  await accept(t6);
  await createTask();
  await h.step(20_000);

  const ranThrough = h.service.hostsOf(h.account.sid)[0]!.waits;
  const seen = (await engineEventsAfter(0)).last;
  await h.restart();
  const host = h.service.hostsOf(h.account.sid)[0]!;
  assert.ok(host.warmedEvents > 20, `warmed from ${host.warmedEvents} events`);

  await h.step(5_000);
  const late = await createTask();
  const engine = h.runtime.workspace(h.account.sid, h.ws)!;
  assert.equal(engine.tasks.get(late)!.assignmentStatus, 'pending');
  // The service that never stopped reads what was written since it closed, then predicts.
  for (const e of (await engineEventsAfter(seen)).events) ranThrough.observe(e);
  const expected = ranThrough.predict(engine, late);
  const restarted = host.waits.predict(engine, late);
  for (const p of PREDICTORS) assert.equal(restarted[p], expected[p], `${p} after the restart`);
  assert.ok(expected.qlm > 0 && Number.isFinite(expected.qlm), `a model prediction (qlm ${expected.qlm})`);
  assert.equal(host.predictions.get(late), expected[DEFAULT_PREDICTOR], 'the prediction made when the task entered the queue');
  // The offer for that holding caller quotes it.
  const status = (await h.call('GET', `/v1/Workspaces/${h.ws}/CallTargets/${ct.sid}/Status`, { TaskSid: late })).body;
  assert.equal(status.estimated_wait_time, Math.round(expected[DEFAULT_PREDICTOR]));

  // Without the warm-up (what the service did before): no service seen, so no μ̂ — another answer.
  const cold = new WaitTimeEstimator();
  for (const e of (await engineEventsAfter(seen)).events) cold.observe(e);
  assert.notEqual(cold.predict(engine, late).qlm, expected.qlm);
});

test('ewtWarmup: a negative or non-finite window is refused naming the field; 0 turns the warm-up off; maxEvents keeps the newest', async () => {
  await h.close();
  const dataDir = dirname(h.databasePath);
  const open = (ewtWarmup: { hours?: number; maxEvents?: number }) => Runtime.open({ ...testStoreOptions(dataDir), scheduler: h.scheduler, callbacks: { ewtWarmup } });
  await assert.rejects(open({ hours: -1 }), /ewtWarmup\.hours must be a finite number >= 0/);
  await assert.rejects(open({ maxEvents: Number.NaN }), /ewtWarmup\.maxEvents/);
  for (const [ewtWarmup, warmed] of [[{ hours: 0 }, 0], [{ maxEvents: 7 }, 7]] as const) {
    const runtime = await open(ewtWarmup);
    try {
      assert.equal(runtime.callbacks.hostsOf(h.account.sid)[0]!.warmedEvents, warmed, JSON.stringify(ewtWarmup));
    } finally {
      await runtime.close();
    }
  }
});

test('the documented bound: calibration cells are not rebuilt from events — a calibrated cell answers with QLm after a restart, every other predictor matches', async () => {
  const g = await startCbHarness({ workers: 1 });
  const gws = () => g.client.taskrouter.v1.workspaces(g.ws);
  const create = async (): Promise<string> => {
    const t = await gws().tasks.create({ workflowSid: g.workflowSid, attributes: '{}' });
    await g.step(10);
    return t.sid;
  };
  const acceptTask = async (sid: string): Promise<void> => {
    const [r] = await gws().tasks(sid).reservations.list({ reservationStatus: 'pending' });
    await gws().tasks(sid).reservations(r!.sid).update({ reservationStatus: 'accepted' });
    await g.step(10);
  };
  try {
    await g.call('POST', `/v1/Workspaces/${g.ws}/CallTargets`, { TaskQueueSid: g.queueSid });
    // One agent, 100 s per call; each next caller queues behind the call in progress and is
    // accepted 30 s after the agent frees up: real waits ≈ 130 s where QLm (one service) says
    // ≈ 100 s. Eleven such waits fill the cell past calibrationMinSamples (10).
    let current = await create();
    await acceptTask(current);
    for (let i = 0; i < 12; i++) {
      const next = await create();
      await g.step(100_000);
      await gws().tasks(current).update({ assignmentStatus: 'completed', reason: 'handled' });
      await g.step(30_000);
      await acceptTask(next);
      current = next;
    }
    const ranThrough = g.service.hostsOf(g.account.sid)[0]!.waits;
    await g.restart();
    const t = await create();
    const engine = g.runtime.workspace(g.account.sid, g.ws)!;
    assert.equal(engine.tasks.get(t)!.assignmentStatus, 'pending');
    const expected = ranThrough.predict(engine, t);
    const restarted = g.service.hostsOf(g.account.sid)[0]!.waits.predict(engine, t);
    assert.ok(expected.qlm > 90 && expected.qlm < 115, `QLm ${expected.qlm}`);
    assert.ok(expected.qlm_calibrated > expected.qlm + 20, `the service that never stopped quotes the cell median (${expected.qlm_calibrated})`);
    assert.equal(restarted.qlm_calibrated, restarted.qlm, 'after the restart the cell is empty: QLm');
    for (const p of PREDICTORS) if (p !== 'qlm_calibrated') assert.equal(restarted[p], expected[p], p);
  } finally {
    await g.close();
  }
});
