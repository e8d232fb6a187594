/**
 * Webhooks end to end: a real Runtime on SQLite, the WebhookDispatcher, and a real receiver on
 * 127.0.0.1 that validates every X-Twilio-Signature with twilio.validateRequest.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebhookDispatcher, type WebhookAlert } from '../../src/webhooks/dispatcher.ts';
import { createTasks, FAST, openRuntime, reply, routableWorkspace, startReceiver, TestClock, webhookBench } from './helpers.ts';

test('event callbacks: signed, in order, with the §9.2 parameters, and only the filtered types', async (ctx) => {
  const { runtime, account, rx, newDispatcher } = await webhookBench(ctx);
  const dispatcher = newDispatcher();
  dispatcher.start();
  const all = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/all') });
  const filtered = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/filtered'), eventsFilter: 'task.created, reservation.created' });
  const none = await routableWorkspace(runtime, account.sid);
  const created = await runtime.execute(all.ws, { type: 'createTask', attributes: '{"lang":"en"}' });
  await runtime.execute(filtered.ws, { type: 'createTask', attributes: '{"lang":"fr"}' });
  await runtime.execute(none.ws, { type: 'createTask', attributes: '{}' });
  await dispatcher.idle();
  await rx.waitFor((r) => r.some((x) => x.path === '/filtered' && x.params['EventType'] === 'reservation.created'));

  const allTypes = rx.received.filter((r) => r.path === '/all').map((r) => r.params['EventType']);
  const expected = created.events.map((e) => e.eventType);
  assert.deepEqual(allTypes.slice(-expected.length), expected, 'one workspace: commit order');
  assert.ok(allTypes.includes('worker.created') && allTypes.includes('workflow.created'));
  assert.equal(allTypes[0], 'workspace.created', 'the creation events are delivered too, first');
  const filteredTypes = rx.received.filter((r) => r.path === '/filtered').map((r) => r.params['EventType']);
  assert.deepEqual(filteredTypes, ['task.created', 'reservation.created']);
  assert.equal(rx.received.filter((r) => !['/all', '/filtered'].includes(r.path)).length, 0);

  const taskCreated = rx.received.find((r) => r.path === '/all' && r.params['EventType'] === 'task.created');
  assert.ok(taskCreated !== undefined);
  const p = taskCreated.params;
  assert.equal(p['AccountSid'], account.sid);
  assert.equal(p['WorkspaceSid'], all.ws);
  assert.equal(p['WorkspaceName'], 'Support');
  assert.equal(p['ResourceType'], 'task');
  assert.equal(p['ResourceSid'], created.sid);
  assert.equal(p['TaskSid'], created.sid);
  assert.equal(p['TaskAttributes'], '{"lang":"en"}');
  assert.match(p['Sid'] ?? '', /^EV/);
  assert.match(p['Timestamp'] ?? '', /^\d+$/);
  assert.equal(p['Timestamp'], String(Math.floor(Number(p['TimestampMs']) / 1000)));
  assert.ok((p['EventDescription'] ?? '').length > 0);
  assert.equal(taskCreated.headers['i-twilio-idempotency-token'], p['Sid']);
  assert.deepEqual(rx.invalid, []);
  assert.equal(await runtime.store.pendingOutbox(), 0);
});

test('assignment callback {"instruction":"accept"} accepts the reservation; reject moves the worker', async (ctx) => {
  const { runtime, account, rx, newDispatcher } = await webhookBench(ctx);
  rx.on('/accept', reply('{"instruction":"accept"}'));
  const dispatcher = newDispatcher();
  dispatcher.start();
  const w = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url('/accept') });
  const task = await runtime.execute(w.ws, { type: 'createTask', attributes: '{"x":1}' });
  const reservation = task.events.find((e) => e.eventType === 'reservation.created');
  assert.ok(reservation !== undefined);
  await rx.waitFor((r) => r.some((x) => x.path === '/accept'));
  await dispatcher.idle();
  const engine = runtime.workspace(account.sid, w.ws);
  assert.equal(engine?.tasks.get(task.sid as string)?.assignmentStatus, 'assigned');
  const p = rx.received.find((x) => x.path === '/accept')?.params ?? {};
  assert.equal(p['ReservationSid'], reservation.resourceSid);
  assert.equal(p['TaskSid'], task.sid);
  assert.equal(p['WorkerSid'], w.worker);
  assert.equal(p['WorkflowSid'], w.workflow);
  assert.equal(p['WorkerAttributes'], '{"skills":["en"]}');
  assert.equal(p['TaskAttributes'], '{"x":1}');
  for (const k of ['AccountSid', 'WorkspaceSid', 'TaskQueueSid', 'TaskAge', 'TaskPriority', 'Timestamp']) assert.ok(p[k] !== undefined, k);

  const r = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url('/reject') });
  rx.on('/reject', reply(JSON.stringify({ instruction: 'reject', activity_sid: r.offline })));
  const t2 = await runtime.execute(r.ws, { type: 'createTask', attributes: '{}' });
  await rx.waitFor((x) => x.some((y) => y.path === '/reject'));
  await dispatcher.idle();
  const e2 = runtime.workspace(account.sid, r.ws);
  assert.equal(e2?.workers.get(r.worker)?.activitySid, r.offline);
  assert.equal(e2?.tasks.get(t2.sid as string)?.assignmentStatus, 'pending');
  assert.deepEqual(rx.invalid, []);
});

test('assignment replies: fallback URL after a failure; unknown, invalid (dequeue without from) and malformed replies raise alerts', async (ctx) => {
  const { runtime, account, rx, newDispatcher } = await webhookBench(ctx);
  rx.on('/down', (_, res) => void res.writeHead(503).end());
  rx.on('/fallback', reply('{"instruction":"accept"}'));
  rx.on('/dequeue', reply('{"instruction":"dequeue"}'));
  rx.on('/teleport', reply('{"instruction":"teleport"}'));
  rx.on('/noinstr', reply('{"foo":1}'));
  rx.on('/text', reply('{"instruction":"accept"}', 'text/plain'));
  rx.on('/garbage', reply('{nope'));
  const alerts: WebhookAlert[] = [];
  const dispatcher = newDispatcher({ onAlert: (a) => alerts.push(a) });
  dispatcher.start();
  const fb = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url('/down'), fallbackAssignmentCallbackUrl: rx.url('/fallback') });
  const t = await runtime.execute(fb.ws, { type: 'createTask', attributes: '{}' });
  await rx.waitFor((r) => r.some((x) => x.path === '/fallback'));
  await dispatcher.idle();
  assert.equal(runtime.workspace(account.sid, fb.ws)?.tasks.get(t.sid as string)?.assignmentStatus, 'assigned');
  assert.equal(rx.received.filter((x) => x.path === '/down').length, 1, 'the primary URL is called once');

  const expectations: [string, number][] = [['/teleport', 55555], ['/dequeue', 40130], ['/noinstr', 40005], ['/text', 40000], ['/garbage', 40001]];
  for (const [path, code] of expectations) {
    const w = await routableWorkspace(runtime, account.sid, { assignmentCallbackUrl: rx.url(path) });
    const task = await runtime.execute(w.ws, { type: 'createTask', attributes: '{}' });
    await rx.waitFor((r) => r.some((x) => x.path === path));
    await dispatcher.idle();
    assert.ok(alerts.some((a) => a.code === code && a.workspaceSid === w.ws), `${path} → ${code}: ${JSON.stringify(alerts)}`);
    assert.equal(runtime.workspace(account.sid, w.ws)?.tasks.get(task.sid as string)?.assignmentStatus, 'reserved', `${path}: stays pending`);
  }
  assert.deepEqual(rx.invalid, []);
});

test('one at a time (eventPipelining 1), in virtual time: a receiver that fails twice then succeeds gets the event after 1 s and 2 s of backoff plus jitter; later events wait behind it unsent', async (ctx) => {
  const { runtime, account, rx, clock, newDispatcher } = await webhookBench(ctx, { virtual: true });
  assert.ok(clock !== null);
  let failures = 0;
  rx.on('/flaky', (r, res) => {
    if (r.params['EventType'] === 'task.created' && failures < 2) {
      failures += 1;
      res.writeHead(500).end();
    } else res.writeHead(204).end();
  });
  const draws = [0.2, 0.9];
  const dispatcher = newDispatcher({ eventPipelining: 1, random: () => draws.shift() ?? 0 });
  dispatcher.start();
  const w = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/flaky'), eventsFilter: 'task.created,reservation.created' });
  const t0 = clock.now();
  const task = await runtime.execute(w.ws, { type: 'createTask', attributes: '{}' });
  await clock.settle();
  assert.deepEqual(rx.received.map((x) => x.params['EventType']), ['task.created'], 'the first attempt failed; nothing behind it was sent');
  await clock.advance(1_099);
  assert.equal(rx.received.length, 1, 'the first retry waits 1 s × (1 + 0.2 / 2)');
  await clock.advance(1);
  assert.equal(rx.received.length, 2);
  await clock.advance(60_000);
  const types = rx.received.map((x) => x.params['EventType']);
  assert.deepEqual(types, ['task.created', 'task.created', 'task.created', 'reservation.created']);
  // Backoff 1 s then 2 s, each lengthened by the injected jitter draw (0.2, then 0.9) × 50 %.
  assert.deepEqual(rx.received.map((x) => x.at - t0), [0, 1_100, 1_100 + 2_900, 1_100 + 2_900]);
  const tokens = new Set(rx.received.slice(0, 3).map((x) => x.headers['i-twilio-idempotency-token']));
  assert.equal(tokens.size, 1, 'retries carry the same idempotency token');
  assert.equal(rx.received[0]?.params['TaskSid'], task.sid);
  assert.equal(await runtime.store.pendingOutbox(), 0);
  assert.deepEqual(rx.invalid, []);
});

test('one at a time (eventPipelining 1), in virtual time: a hanging receiver delays neither task creation nor other workspaces; it times out after 15 s and is retried', async (ctx) => {
  const { runtime, account, rx, clock, newDispatcher } = await webhookBench(ctx, { virtual: true });
  assert.ok(clock !== null);
  rx.on('/hang', () => clock.hung()); // never answers
  const dispatcher = newDispatcher({ eventRetries: 1, eventPipelining: 1, random: () => 0 });
  dispatcher.start();
  const slow = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/hang'), eventsFilter: 'task.created' });
  const quick = await routableWorkspace(runtime, account.sid, { eventCallbackUrl: rx.url('/quick'), eventsFilter: 'task.created' });
  const t0 = clock.now();
  await runtime.execute(slow.ws, { type: 'createTask', attributes: '{}' });
  await clock.settle();
  assert.equal(rx.received.filter((x) => x.path === '/hang').length, 1);
  const outcomes = await Promise.all(Array.from({ length: 20 }, () => runtime.execute(slow.ws, { type: 'createTask', attributes: '{}' })));
  assert.ok(outcomes.every((o) => o.rejection === null), 'commands are not held up by a hanging receiver');
  const t = await runtime.execute(quick.ws, { type: 'createTask', attributes: '{}' });
  await clock.settle();
  assert.ok(rx.received.some((x) => x.path === '/quick' && x.params['TaskSid'] === t.sid), 'another workspace is served at once');
  assert.equal(clock.now(), t0, 'all of it without virtual time moving');
  assert.equal(rx.received.filter((x) => x.path === '/hang').length, 1, 'the hanging lane stays on its head event');
  // 15 s timeout, then one retry of the head event after 1 s of backoff (jitter drawn as 0).
  await clock.advance(15_999);
  assert.equal(rx.received.filter((x) => x.path === '/hang').length, 1);
  await clock.advance(1);
  const hung = rx.received.filter((x) => x.path === '/hang');
  assert.deepEqual(hung.map((x) => x.at - t0), [0, 16_000]);
  assert.equal(new Set(hung.map((x) => x.params['Sid'])).size, 1, 'the retry is the head event again');
  assert.deepEqual(rx.invalid, []);
});

test('restart: rows committed but not delivered are delivered by the next process (at-least-once)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-wh-'));
  const first = await openRuntime(dataDir);
  const account = await first.createAccount('Acme');
  const rx = await startReceiver(() => account.secret);
  const w = await routableWorkspace(first, account.sid, { eventCallbackUrl: rx.url('/events#rc=1'), eventsFilter: 'task.created' });
  const tasks = await createTasks(first, w.ws, 3);
  rx.on('/assign', reply('{"instruction":"accept"}'));
  const a = await routableWorkspace(first, account.sid, { assignmentCallbackUrl: rx.url('/assign') });
  const assigned = (await first.execute(a.ws, { type: 'createTask', attributes: '{}' })).sid as string;
  assert.equal(await first.store.pendingOutbox(), 4, 'no dispatcher ran: three events and one assignment wait in the outbox');
  await first.close();
  assert.equal(rx.received.length, 0);

  const second = await openRuntime(dataDir);
  const dispatcher = new WebhookDispatcher(second, FAST);
  dispatcher.start();
  try {
    await rx.waitFor((r) => r.length === 4);
    await dispatcher.idle();
    const events = rx.received.filter((x) => x.path !== '/assign');
    assert.deepEqual(events.map((x) => x.params['TaskSid']), tasks);
    assert.ok(events.every((x) => x.path === '/events'), 'the fragment is not sent');
    assert.equal(second.workspace(account.sid, a.ws)?.tasks.get(assigned)?.assignmentStatus, 'assigned');
    assert.equal(await second.store.pendingOutbox(), 0);
    assert.deepEqual(rx.invalid, []);
  } finally {
    await dispatcher.stop();
    await rx.close();
    await second.close();
  }
});

test('restart, in virtual time: a retry left waiting by the previous process is sent when it is due, with no poll', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-wh-'));
  const clock = new TestClock();
  const first = await openRuntime(dataDir, clock);
  const account = await first.createAccount('Acme');
  const rx = await startReceiver(() => account.secret, () => clock.now());
  let failures = 0;
  rx.on('/events', (_, res) => void res.writeHead(failures++ === 0 ? 503 : 204).end());
  const w = await routableWorkspace(first, account.sid, { eventCallbackUrl: rx.url('/events'), eventsFilter: 'task.created' });
  const t0 = clock.now();
  const before = new WebhookDispatcher(first, { scheduler: clock, pollMs: 0, random: () => 0 });
  before.start();
  const task = (await first.execute(w.ws, { type: 'createTask', attributes: '{}' })).sid as string;
  await clock.settle();
  await before.stop();
  await first.close();
  assert.equal(rx.received.length, 1, 'the first attempt failed; its retry is due 1 s later');

  const second = await openRuntime(dataDir, clock);
  const after = new WebhookDispatcher(second, { scheduler: clock, pollMs: 0 });
  after.start();
  try {
    await clock.advance(999);
    assert.equal(rx.received.length, 1, 'not before it is due');
    await clock.advance(1);
    assert.deepEqual(rx.received.map((x) => [x.params['TaskSid'], x.at - t0]), [[task, 0], [task, 1_000]]);
    assert.equal(await second.store.pendingOutbox(), 0);
    assert.deepEqual(rx.invalid, []);
  } finally {
    await after.stop();
    await rx.close();
    await second.close();
  }
});
