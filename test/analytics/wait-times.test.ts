/**
 * `GET Analytics/WaitTimes` (docs/analytics.md "Live wait times"): the EWT of a caller entering each
 * queue now, on a real server on 127.0.0.1 driven by the official `twilio` client in virtual time.
 * One agent serves a queue: a first task handled in 100 s, a second one in service, two waiting and
 * one caller who left after 20 s; the EWT is then QLm over the two waiting (spec
 * callbacks-and-ewt §7.3) with μ̂ and θ̂ from those minutes — worked out below from the timeline.
 * Runs on SQLite, and on PostgreSQL with SWITCHBOARD_TEST_DATABASE_URL.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import twilio from 'twilio';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { testStoreOptions } from '../support/store.ts';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const scheduler = new VirtualScheduler(T0);
let runtime: Runtime;
let app: FastifyInstance;
let base = '';
let account: NewCredentials;
const ids = { ws: '', support: '', empty: '' };

async function until(s: number): Promise<void> {
  await scheduler.advance(T0 + s * 1000 - scheduler.now());
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field
async function get(query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/v1/Workspaces/${ids.ws}/Analytics/WaitTimes${query}`, {
    headers: { authorization: `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}` },
  });
  return { status: res.status, body: await res.json() };
}

before(async () => {
  runtime = await Runtime.open({ ...testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-waits-'))), scheduler });
  app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  account = await runtime.createAccount('Waits');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Center' });
  ids.ws = ws.sid;
  const w = client.taskrouter.v1.workspaces(ws.sid);
  const available = (await w.activities.list({ friendlyName: 'Available' }))[0]?.sid as string;
  const support = await w.taskQueues.create({ friendlyName: 'Support', targetWorkers: 'team == "support"' });
  const empty = await w.taskQueues.create({ friendlyName: 'Nobody', targetWorkers: 'team == "none"' });
  ids.support = support.sid;
  ids.empty = empty.sid;
  const workflow = await w.workflows.create({
    friendlyName: 'Main',
    taskReservationTimeout: 600,
    configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: support.sid } } }),
  });
  const alice = await w.workers.create({ friendlyName: 'Alice', activitySid: available, attributes: JSON.stringify({ team: 'support' }) });
  const task = () => w.tasks.create({ workflowSid: workflow.sid, attributes: '{}', taskChannel: 'voice' });
  const accept = async (taskSid: string): Promise<void> => {
    const r = (await w.tasks(taskSid).reservations.list({ reservationStatus: 'pending' }))[0];
    assert.equal(r?.workerSid, alice.sid);
    await w.tasks(taskSid).reservations(r.sid).update({ reservationStatus: 'accepted' });
  };

  await until(10);
  const a = await task(); // waits 2 s, handled 100 s
  await until(12);
  await accept(a.sid);
  await until(112);
  await w.tasks(a.sid).update({ assignmentStatus: 'completed', reason: 'done' });
  await until(200);
  const b = await task(); // waits 5 s, then in service
  await until(205);
  await accept(b.sid);
  await until(210);
  await task(); // C waits
  await until(220);
  await task(); // D waits
  await until(230);
  const e = await task(); // E leaves after 20 s
  await until(250);
  await w.tasks(e.sid).update({ assignmentStatus: 'canceled', reason: 'hangup' });
  await until(300);
});

after(async () => {
  await app?.close();
  await runtime?.close();
});

test('the EWT of a caller entering now: QLm over the callers waiting, with μ̂ and θ̂ from the recent minutes', async () => {
  const res = await get('');
  assert.equal(res.status, 200);
  assert.equal(res.body.minutes, 60);
  // Only the queue with staff or callers has rows, and only on the channel Alice serves or the
  // callers use (every worker has capacity on voice; the other channels have no one waiting but
  // are staffed too, since Alice is available on them).
  const voice = res.body.wait_times.find((r: { task_channel: string }) => r.task_channel === 'voice');
  assert.ok(res.body.wait_times.every((r: { task_queue_sid: string }) => r.task_queue_sid === ids.support), 'the queue nobody serves and nobody waits in has no row');
  // Closed in the last hour: queue engagements A (2 s), B (5 s), E (20 s, the caller left);
  // agent engagements: A, 100 s of handling. So μ̂ = 1/100 per second, θ̂ = 1 ÷ 27 s.
  const mu = 1 / 100;
  const theta = 1 / 27;
  // Two callers wait (C and D) and no slot is idle: a new caller needs three completions of the
  // one busy slot (B's, C's and D's), each stage faster by θ̂ per caller still waiting ahead.
  const expected = 1 / mu + 1 / (mu + theta) + 1 / (mu + 2 * theta);
  assert.deepEqual(
    [voice.task_queue_name, voice.tasks_waiting, voice.idle_slots, voice.busy_slots, voice.workers_staffed, voice.handled, voice.aht_s, voice.abandoned, voice.waited_s],
    ['Support', 2, 0, 1, 1, 1, 100, 1, 27],
  );
  assert.equal(voice.estimated_wait_time, Math.round(expected));
});

test('filters: TaskChannel and TaskQueueSid narrow the rows; a queue with nobody staffed has no estimate', async () => {
  const voice = await get('?TaskChannel=voice');
  assert.deepEqual(voice.body.wait_times.map((r: { task_queue_name: string; task_channel: string }) => `${r.task_queue_name}/${r.task_channel}`), ['Nobody/voice', 'Support/voice']);
  const nobody = await get(`?TaskChannel=voice&TaskQueueSid=${ids.empty}`);
  assert.equal(nobody.body.wait_times.length, 1);
  assert.equal(nobody.body.wait_times[0].estimated_wait_time, null);
  // A look-back of one minute (04:00–05:00) sees only E, who left after 20 s, and no service: μ̂
  // falls back to 1/180 per second (DEFAULT_AHT_SECONDS), θ̂ = 1 ÷ 20 s.
  const short = await get(`?TaskChannel=voice&TaskQueueSid=${ids.support}&Minutes=1`);
  const [mu, theta] = [1 / 180, 1 / 20];
  assert.deepEqual([short.body.wait_times[0].handled, short.body.wait_times[0].abandoned, short.body.wait_times[0].waited_s], [0, 1, 20]);
  assert.equal(short.body.wait_times[0].estimated_wait_time, Math.round(1 / mu + 1 / (mu + theta) + 1 / (mu + 2 * theta)));
});

test('bad input: a 400 naming the parameter', async () => {
  for (const [query, name] of [['?Minutes=0', 'Minutes'], ['?Minutes=1441', 'Minutes'], ['?Minutes=abc', 'Minutes'], ['?TaskChannel=fax', 'TaskChannel'], ['?TaskQueueSid=WQ1', 'TaskQueueSid']] as const) {
    const res = await get(query);
    assert.equal(res.status, 400, query);
    assert.match(res.body.message, new RegExp(name), query);
  }
});
