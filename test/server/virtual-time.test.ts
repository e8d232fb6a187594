/**
 * The real server in skipped time (issue 10 item 3): the runtime (engine and callback cores), the
 * store (a real SQLite file, or PostgreSQL: test/support/store.ts), the HTTP API driven by the official twilio client, the webhook
 * dispatcher posting to a real receiver, and the simulated telephone — all on one
 * VirtualScheduler. 48 virtual hours of reservation timeouts, task TTLs, workflow step timeouts, a
 * callback scheduled for the next day and event-callback retries with backoff run in a few seconds
 * of wall clock, with no sleep: time only moves when the test skips it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { CallbackService } from '../../src/runtime/callback-service.ts';
import { testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { SimulatedNetwork } from '../../src/voice/simulated-network.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';

const HOUR = 3_600_000;

test('48 virtual hours of the real server — timeouts, TTLs, workflow steps, a next-day callback, webhook retries — in seconds of wall clock', async () => {
  const wallStart = performance.now();
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9)); // Monday 09:00 UTC
  const start = scheduler.now();
  const network = new SimulatedNetwork({ seed: 3, ringMinSeconds: 5, ringMaxSeconds: 5, promptSeconds: 5 });
  const runtime = await Runtime.open({ ...testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-vt-'))), scheduler, callbacks: { telephony: network } });
  const app = buildApp({ runtime, clock: () => scheduler.now(), callbacks: new CallbackService(runtime) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  // The event-callback receiver answers 500 to the first two tries of every event (then 204), and
  // notes the virtual instant of each try.
  const tries = new Map<string, number[]>();
  const receiver: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const p = new URLSearchParams(body);
      const key = `${p.get('EventType')} ${p.get('ResourceSid')} ${p.get('Sid')}`;
      const list = tries.get(key) ?? [];
      list.push(scheduler.now());
      tries.set(key, list);
      res.writeHead(list.length <= 2 ? 500 : 204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`;
  const dispatcher = new WebhookDispatcher(runtime, { scheduler, pollMs: 0, backoffMs: 1_000, random: () => 0.5, onAlert: () => undefined, deliverers: runtime.callbacks.deliverers() });
  dispatcher.start();

  try {
    const account = await runtime.createAccount('Acme');
    const client = twilio(account.sid, account.secret);
    client.taskrouter.baseUrl = base;
    const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Virtual', eventCallbackUrl: hook, eventsFilter: 'task.canceled,reservation.timeout,task-queue.timeout' });
    const wsc = client.taskrouter.v1.workspaces(ws.sid);
    const activities = await wsc.activities.list();
    const available = activities.find((a) => a.friendlyName === 'Available')!;
    const sales = await wsc.taskQueues.create({ friendlyName: 'Sales', targetWorkers: "skills HAS 'sales'" });
    const support = await wsc.taskQueues.create({ friendlyName: 'Support', targetWorkers: '1==1' });
    // Step 1 waits 10 minutes for a sales agent (there is none), then the task moves on to Support.
    const workflow = await wsc.workflows.create({
      friendlyName: 'Escalate',
      taskReservationTimeout: 300,
      configuration: JSON.stringify({ task_routing: { filters: [{ filter_friendly_name: 'sales first', expression: '1==1', targets: [{ queue: sales.sid, timeout: 600 }, { queue: support.sid }] }] } }),
    });
    const worker = await wsc.workers.create({ friendlyName: 'Ada', activitySid: available.sid, attributes: JSON.stringify({ skills: ['support'] }) });

    // A task with a 1-hour TTL, and a second one for the callback's scheduled slot tomorrow.
    const routed = await wsc.tasks.create({ workflowSid: workflow.sid, attributes: '{"case":"routed"}', timeout: 7 * 24 * 3600 });
    await scheduler.advance(1_000); // the older task is the one routed first
    const ttl = await wsc.tasks.create({ workflowSid: workflow.sid, attributes: '{"case":"ttl"}', timeout: 3600 });
    const ct = await call(base, account, 'POST', `/v1/Workspaces/${ws.sid}/CallTargets`, { TaskQueueSid: support.sid, MinimumCallbackDelay: '0' });
    const tomorrow = new Date(start + 25 * HOUR).toISOString().replace('.000Z', 'Z');
    network.script('+14155550123', ['ready']);
    const cb = await call(base, account, 'POST', `/v1/Workspaces/${ws.sid}/CallTargets/${ct.sid}/Callbacks`, { PhoneNumber: '+14155550123', AppointmentTime: tomorrow });
    assert.equal(cb.status, 'scheduled', JSON.stringify(cb));

    // 10 minutes: the workflow step times out and the routed task reaches Support, where Ada is
    // reserved; nobody answers, so the reservation times out after 300 s and Ada goes Offline.
    await scheduler.advance(10 * 60_000 + 1_000);
    const reservations = await wsc.tasks(routed.sid).reservations.list();
    assert.equal(reservations.length, 1, 'reserved once the step timed out');
    assert.equal(reservations[0]!.reservationStatus, 'pending');
    await scheduler.advance(300_000);
    assert.equal((await wsc.tasks(routed.sid).reservations(reservations[0]!.sid).fetch()).reservationStatus, 'timeout');
    assert.equal((await wsc.workers(worker.sid).fetch()).activityName, 'Offline');

    // The TTL task is canceled an hour after it was created.
    await scheduler.advanceTo(start + HOUR + 1_000);
    const canceled = await wsc.tasks(ttl.sid).fetch();
    assert.equal(canceled.assignmentStatus, 'canceled');

    // The next day Ada is back (the old call is gone); the scheduled callback dials at its slot,
    // the customer is ready, and its return task is offered to Ada.
    await scheduler.advanceTo(start + 24 * HOUR);
    await wsc.tasks(routed.sid).update({ assignmentStatus: 'canceled', reason: 'caller gave up' });
    await wsc.workers(worker.sid).update({ activitySid: available.sid });
    await scheduler.advanceTo(start + 25 * HOUR + 5 * 60_000);
    const later = await call(base, account, 'GET', `/v1/Workspaces/${ws.sid}/Callbacks/${cb.sid}`);
    assert.equal(later.attempts.length, 1, JSON.stringify(later));
    assert.ok(Date.parse(later.attempts[0].started_at) >= start + 25 * HOUR, `dialed in its slot (${later.attempts[0].started_at})`);
    assert.equal(later.status, 'customer_waiting', JSON.stringify(later));
    assert.ok(later.task_sid !== null, `its return task exists: ${JSON.stringify(later)}`);
    const offered = await wsc.tasks(later.task_sid as string).reservations.list();
    assert.equal(offered.length, 1, 'the return task was offered to Ada');
    assert.equal(offered[0]!.workerSid, worker.sid);

    await scheduler.advanceTo(start + 48 * HOUR);
    assert.equal(scheduler.now(), start + 48 * HOUR);

    // Every filtered event reached the receiver: two failures, then a retry after 1 s and 2 s of
    // backoff, each lengthened by the jitter (+25 % with the random draw 0.5), at virtual instants.
    const count = (type: string): number => [...tries.keys()].filter((k) => k.startsWith(`${type} `)).length;
    const seen = [...tries.keys()].join('\n');
    assert.equal(count('task-queue.timeout'), 2, `both tasks left Sales at the step timeout:\n${seen}`);
    assert.equal(count('reservation.timeout'), 2, `Ada's two unanswered reservations:\n${seen}`);
    assert.equal(count('task.canceled'), 2, `the TTL and the canceled call:\n${seen}`);
    // The lane retries in order (docs/webhooks.md): an event behind a failing one is sent again
    // behind it, so only the first event's gaps are the bare backoff.
    for (const [key, at] of tries) {
      assert.equal(at.length, 3, `${key}: ${at.length} tries`);
      assert.ok(at[1]! - at[0]! >= 1_000 && at[2]! - at[1]! >= 1_000, `${key}: retried after a backoff (${at.join(', ')})`);
    }
    const [first] = tries.values();
    assert.deepEqual([first![1]! - first![0]!, first![2]! - first![1]!], [1_250, 2_500]);
  } finally {
    await dispatcher.stop();
    await app.close();
    await runtime.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
  const wallSeconds = (performance.now() - wallStart) / 1000;
  assert.ok(wallSeconds < 10, `48 virtual hours took ${wallSeconds.toFixed(1)} s of wall clock`);
});

/** A form request with Basic auth to the callbacks API; the JSON body (fails on a non-2xx answer). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are read field by field
async function call(base: string, account: { sid: string; secret: string }, method: string, path: string, form?: Record<string, string>): Promise<any> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}`, ...(form !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    ...(form !== undefined ? { body: new URLSearchParams(form).toString() } : {}),
  });
  const body: unknown = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}
