/**
 * Event Streams v1 and the webhook sink (issue 14 items 1–2; spec CEA B1–B6, D), driven by the
 * official client (`client.events.baseUrl`): every response body validated against
 * twilio_events_v1.json; a webhook sink subscribed to every TaskRouter type but the rate-limit
 * one gets every event of a small scenario (task, reservation, accept, wrap-up, complete) exactly
 * once, as CloudEvents, in batches, signed so that `twilio.validateRequestWithBody` accepts them,
 * with Basic credentials from the destination; a receiver answering 500 for a (virtual) minute
 * gets everything once it recovers; one answering 400 gets each event once and no more.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { readStreamRow, streamRowPayload, STREAM_WEBHOOK_KIND, type StreamWebhookPayload } from '../../src/runtime/streams-hosting.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { EVENT_TYPES, RATE_LIMIT_TYPE, TASKROUTER_PREFIX } from '../../src/streams/streams.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { PostClient } from '../../src/webhooks/http-post.ts';
import { streamWebhookDeliverer, type StreamDrop } from '../../src/webhooks/stream-webhooks.ts';
import { openApiValidator } from '../support/openapi.ts';
import { testStoreOptions } from '../support/store.ts';

const { assertSchema, assertListBody } = openApiValidator('twilio_events_v1.json', 'events.v1.');

interface CloudEventJson {
  specversion: string;
  type: string;
  source: string;
  id: string;
  time: string;
  dataschema: string;
  datacontenttype: string;
  data: { sid: string; name: string; product_name: string; payload: Record<string, unknown> };
}

interface Request {
  path: string;
  body: string;
  signature: string;
  authorization: string;
  contentType: string;
  at: number;
}

async function startServer(options: { startDispatcher?: boolean } = {}) {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-streams-'));
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const failures: Array<{ attempts: number; final: boolean }> = [];
  const drops: StreamDrop[] = [];
  const dispatcher = new WebhookDispatcher(runtime, {
    scheduler,
    pollMs: 0,
    random: () => 0,
    backoffMs: 1_000,
    onAlert: () => undefined,
    onDeliveryFailure: (f) => void failures.push({ attempts: f.attempts, final: f.final }),
    deliverers: { 'stream.webhook': streamWebhookDeliverer(runtime, new PostClient(scheduler), (d) => void drops.push(d)) },
  });
  if (options.startDispatcher !== false) dispatcher.start();
  const account = await runtime.createAccount('Streams');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  client.events.baseUrl = base;
  client.conversations.baseUrl = base;
  const lastBody = (): unknown => {
    const data = (client.httpClient as unknown as { lastResponse?: { body: unknown } }).lastResponse?.body;
    return typeof data === 'string' ? (data === '' ? undefined : JSON.parse(data)) : data;
  };
  return {
    scheduler, runtime, base, account, client, lastBody, failures, drops, dispatcher,
    close: async () => {
      await dispatcher.stop();
      await app.close();
      await runtime.close();
    },
  };
}
type Server = Awaited<ReturnType<typeof startServer>>;

/** An HTTP receiver answering `status(request)`. */
async function receiver(scheduler: VirtualScheduler, status: (r: Request) => number = () => 200) {
  const got: Request[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const r: Request = { path: req.url ?? '', body, signature: String(req.headers['x-twilio-signature'] ?? ''), authorization: String(req.headers['authorization'] ?? ''), contentType: String(req.headers['content-type'] ?? ''), at: scheduler.now() };
      got.push(r);
      res.writeHead(status(r)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { port, url: `http://127.0.0.1:${port}`, got, events: () => got.flatMap((g) => JSON.parse(g.body) as CloudEventJson[]), close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Lets virtual time run in `step` ms steps until `done()` or `ms` have passed. */
async function until(s: Server, done: () => boolean, ms: number, step = 10): Promise<void> {
  for (let t = 0; t < ms && !done(); t += step) await s.scheduler.advance(step);
}

const TASKROUTER_TYPES = EVENT_TYPES.map((t) => t.type).filter((t) => t.startsWith(TASKROUTER_PREFIX));

/** A workspace with a queue, a workflow and an available worker. */
async function setUp(s: Server) {
  const ws = await s.client.taskrouter.v1.workspaces.create({ friendlyName: 'Streams' });
  const wsApi = s.client.taskrouter.v1.workspaces(ws.sid);
  const available = (await wsApi.activities.list()).find((a) => a.friendlyName === 'Available')!;
  const queue = await wsApi.taskQueues.create({ friendlyName: 'Support', targetWorkers: '1 == 1' });
  const workflow = await wsApi.workflows.create({ friendlyName: 'Support', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
  await wsApi.workers.create({ friendlyName: 'Ana', activitySid: available.sid });
  return { ws, wsApi, workflow };
}

/** Sink (batched or not) with credentials in the destination, and a subscription to every TaskRouter type but the rate-limit one. */
async function subscribe(s: Server, url: string, batch: boolean): Promise<string> {
  const types = (await s.client.events.v1.eventTypes.list({ schemaId: 'TaskRouter.WDSEvent' })).map((t) => t.type);
  assert.ok(!types.includes(RATE_LIMIT_TYPE));
  assert.deepEqual([...types].sort(), [...TASKROUTER_TYPES].sort());
  const destination = url.replace('http://', 'http://user:p%40ss@') + '/events?x=1';
  const sink = await s.client.events.v1.sinks.create({ description: 'analytics', sinkType: 'webhook', sinkConfiguration: { destination, method: 'POST', batch_events: batch } });
  await s.client.events.v1.subscriptions.create({ description: 'all of TaskRouter', sinkSid: sink.sid, types: types.map((type) => ({ type, schema_version: 4 })) });
  return sink.sid;
}

/**
 * The scenario: task → reservation → accept → wrap-up → complete. Returns the SIDs of the events
 * it made (in store order), and a function answering them again later (timers may add events).
 */
async function scenario(s: Server, setup: Awaited<ReturnType<typeof setUp>>): Promise<string[] & { now: () => Promise<string[]> }> {
  const before = new Set((await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).map((e) => e.sid));
  const task = await setup.wsApi.tasks.create({ workflowSid: setup.workflow.sid, attributes: JSON.stringify({ customer: 'c-1' }) });
  const reservation = (await setup.wsApi.tasks(task.sid).reservations.list())[0]!;
  await setup.wsApi.tasks(task.sid).reservations(reservation.sid).update({ reservationStatus: 'accepted' });
  await setup.wsApi.tasks(task.sid).update({ assignmentStatus: 'wrapping' });
  await setup.wsApi.tasks(task.sid).update({ assignmentStatus: 'completed', reason: 'resolved' });
  const made = async (): Promise<string[]> =>
    (await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).filter((e) => !before.has(e.sid) && TASKROUTER_TYPES.includes(TASKROUTER_PREFIX + e.eventType)).map((e) => e.sid);
  return Object.assign(await made(), { now: made });
}

const idOf = (eventSid: string): string => `EZ${eventSid.slice(2)}`;

test('a batched webhook sink gets every TaskRouter event once, as signed CloudEvents with Basic auth', async () => {
  const s = await startServer();
  const r = await receiver(s.scheduler);
  try {
    const setup = await setUp(s);
    await subscribe(s, r.url, true);
    const expected = await scenario(s, setup);
    assert.ok(expected.length >= 8, `scenario events: ${expected.length}`);
    await until(s, () => r.events().length >= expected.length, 5_000);
    await s.scheduler.advance(10_000);
    const events = r.events();
    assert.deepEqual(events.map((e) => e.id).sort(), expected.map(idOf).sort(), 'every event exactly once');
    assert.ok(r.got.some((g) => (JSON.parse(g.body) as unknown[]).length > 1), 'batched');
    assert.ok(r.got.length < expected.length);
    for (const g of r.got) {
      assert.match(g.path, /^\/events\?x=1&bodySHA256=[0-9a-f]{64}$/);
      assert.ok(twilio.validateRequestWithBody(s.account.secret, g.signature, `${r.url}${g.path}`, g.body), 'signature valid');
      assert.ok(!twilio.validateRequestWithBody(s.account.secret, g.signature, `${r.url}${g.path}`, g.body + ' '), 'a changed body fails');
      assert.equal(g.authorization, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
      assert.equal(g.contentType, 'application/json');
    }
    const created = events.find((e) => e.type === 'com.twilio.taskrouter.task.created')!;
    assert.equal(created.specversion, '1.0');
    assert.equal(created.datacontenttype, 'application/json');
    assert.equal(created.dataschema, 'https://events-schemas.twilio.com/TaskRouter.WDSEvent/4.json');
    assert.match(created.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(created.data.product_name, 'TaskRouter');
    assert.equal(created.data.payload['eventtype'], 'task.created');
    assert.equal(created.data.payload['workspace_sid'], setup.ws.sid);
    assert.equal(created.data.payload['account_sid'], s.account.sid);
    assert.equal(typeof created.data.payload['timestamp'], 'number');
    assert.equal(created.id, idOf(created.data.sid));
    const types = new Set(events.map((e) => e.type));
    for (const t of ['task.created', 'reservation.created', 'reservation.accepted', 'task.wrapup', 'task.completed', 'reservation.completed']) assert.ok(types.has(TASKROUTER_PREFIX + t), t);
  } finally {
    await s.close();
    await r.close();
  }
});

test('an unbatched sink gets one event per request', async () => {
  const s = await startServer();
  const r = await receiver(s.scheduler);
  try {
    const setup = await setUp(s);
    await subscribe(s, r.url, false);
    const expected = await scenario(s, setup);
    await until(s, () => r.events().length >= expected.length, 5_000);
    assert.ok(r.got.every((g) => (JSON.parse(g.body) as unknown[]).length === 1));
    assert.deepEqual(r.events().map((e) => e.id).sort(), expected.map(idOf).sort());
  } finally {
    await s.close();
    await r.close();
  }
});

test('a receiver answering 500 for a virtual minute gets everything once it recovers', async () => {
  const s = await startServer();
  let recoverAt = Infinity;
  const r = await receiver(s.scheduler, (req) => (req.at < recoverAt ? 500 : 200));
  try {
    const setup = await setUp(s);
    await subscribe(s, r.url, true);
    recoverAt = s.scheduler.now() + 60_000;
    const expected = await scenario(s, setup);
    await until(s, () => r.got.some((g) => g.at >= recoverAt) && new Set(r.got.filter((g) => g.at >= recoverAt).flatMap((g) => (JSON.parse(g.body) as CloudEventJson[]).map((e) => e.id))).size >= expected.length, 300_000, 1_000);
    await s.scheduler.advance(600_000);
    const delivered = r.got.filter((g) => g.at >= recoverAt).flatMap((g) => (JSON.parse(g.body) as CloudEventJson[]).map((e) => e.id));
    const all = (await expected.now()).map(idOf);
    assert.deepEqual([...new Set(delivered)].sort(), [...all].sort(), 'everything, after the recovery');
    assert.equal(delivered.length, all.length, 'each accepted once');
    assert.ok(s.failures.length > 0 && s.failures.every((f) => !f.final));
    const ids = new Set(r.events().map((e) => e.id));
    assert.equal(ids.size, all.length, 'retries carry the same ids');
  } finally {
    await s.close();
    await r.close();
  }
});

test('a receiver answering 400 gets each event once and no more', async () => {
  const s = await startServer();
  const r = await receiver(s.scheduler, () => 400);
  try {
    const setup = await setUp(s);
    const sinkSid = await subscribe(s, r.url, true);
    const expected = await scenario(s, setup);
    await until(s, () => r.events().length >= expected.length, 5_000);
    await s.scheduler.advance(3_600_000);
    assert.deepEqual(r.events().map((e) => e.id).sort(), (await expected.now()).map(idOf).sort());
    assert.equal(s.failures.length, 0);
    assert.deepEqual([...new Set(s.drops.map((d) => d.sinkSid))], [sinkSid]);
  } finally {
    await s.close();
    await r.close();
  }
});

test('Event Streams API: bodies match twilio_events_v1.json; kinesis refused; Test sends the test event; catalogue', async () => {
  const s = await startServer();
  const r = await receiver(s.scheduler);
  try {
    const ev = s.client.events.v1;
    await assert.rejects(() => ev.sinks.create({ description: 'k', sinkType: 'kinesis', sinkConfiguration: { arn: 'a', role_arn: 'r', external_id: 'e' } }), (e: { status: number; message: string }) => e.status === 400 && /supported: webhook and nats/.test(e.message));
    const sink = await ev.sinks.create({ description: 'hook', sinkType: 'webhook', sinkConfiguration: { destination: `${r.url}/t`, method: 'POST', batch_events: false } });
    assertSchema('sink', s.lastBody());
    assert.equal(sink.status, 'active');
    await ev.sinks(sink.sid).fetch();
    assertSchema('sink', s.lastBody());
    await ev.sinks(sink.sid).update({ description: 'hook 2' });
    assertSchema('sink', s.lastBody());
    await ev.sinks.list({ pageSize: 1 });
    assertListBody('sink', 'sinks', s.lastBody(), s.base);
    await ev.sinks(sink.sid).sinkTest.create();
    assertSchema('sink.sink_test', s.lastBody());
    await until(s, () => r.got.length >= 1, 2_000);
    const test = (JSON.parse(r.got[0]!.body) as CloudEventJson[])[0]!;
    assert.equal(test.type, 'com.twilio.eventstreams.test-event');
    assert.equal(test.dataschema, 'https://events-schemas.twilio.com/EventStreams.TestSink/1.json');
    const v = await ev.sinks(sink.sid).sinkValidate.create({ testId: String((test.data as unknown as { test_id: string }).test_id) });
    assertSchema('sink.sink_validate', s.lastBody());
    assert.equal(v.result, 'valid');

    const sub = await ev.subscriptions.create({ description: 'tasks', sinkSid: sink.sid, types: [{ type: 'com.twilio.taskrouter.task.created', schema_version: 3 }, { type: 'com.twilio.taskrouter.task.completed' }] });
    assertSchema('subscription', s.lastBody());
    await ev.subscriptions(sub.sid).fetch();
    assertSchema('subscription', s.lastBody());
    await ev.subscriptions(sub.sid).update({ description: 'tasks!' });
    assertSchema('subscription', s.lastBody());
    await ev.subscriptions.list();
    assertListBody('subscription', 'subscriptions', s.lastBody(), s.base);
    const se = ev.subscriptions(sub.sid).subscribedEvents;
    await se.list();
    const items = assertListBody('subscription.subscribed_event', 'types', s.lastBody(), s.base);
    assert.deepEqual(items.map((i) => [i['type'], i['schema_version']]), [['com.twilio.taskrouter.task.created', 3], ['com.twilio.taskrouter.task.completed', 4]]);
    await se.create({ type: 'com.twilio.taskrouter.reservation.accepted', schemaVersion: 2 });
    assertSchema('subscription.subscribed_event', s.lastBody());
    await se('com.twilio.taskrouter.reservation.accepted').fetch();
    assertSchema('subscription.subscribed_event', s.lastBody());
    await se('com.twilio.taskrouter.reservation.accepted').update({ schemaVersion: 4 });
    assertSchema('subscription.subscribed_event', s.lastBody());
    assert.equal((s.lastBody() as { schema_version: number }).schema_version, 4);
    await se('com.twilio.taskrouter.reservation.accepted').remove();
    await assert.rejects(() => se('com.twilio.taskrouter.reservation.accepted').fetch(), (e: { status: number }) => e.status === 404);
    await assert.rejects(() => se.create({ type: 'com.twilio.nope' }), (e: { status: number }) => e.status === 400);
    await assert.rejects(() => ev.sinks(sink.sid).remove(), (e: { status: number }) => e.status === 400);

    await ev.eventTypes.list({ pageSize: 5 });
    assertListBody('event_type', 'types', s.lastBody(), s.base);
    await ev.eventTypes('com.twilio.taskrouter.reservation.accepted').fetch();
    assertSchema('event_type', s.lastBody());
    const schema = await ev.schemas('TaskRouter.WDSEvent').fetch();
    assertSchema('schema', s.lastBody());
    assert.equal(schema.latestVersion, 4);
    await ev.schemas('TaskRouter.WDSEvent').versions.list();
    assertListBody('schema.schema_version', 'schema_versions', s.lastBody(), s.base);
    const v2 = await ev.schemas('TaskRouter.WDSEvent').versions(2).fetch();
    assertSchema('schema.schema_version', s.lastBody());
    const document = async (url: string) => {
      const res = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${s.account.sid}:${s.account.secret}`).toString('base64')}` } });
      assert.equal(res.status, 200);
      return (await res.json()) as { properties: { payload: { properties: Record<string, unknown> } } };
    };
    assert.ok('worker_time_in_previous_activity_ms' in (await document(v2.raw)).properties.payload.properties);
    const v1 = await ev.schemas('TaskRouter.WDSEvent').versions(1).fetch();
    assert.ok(!('worker_time_in_previous_activity_ms' in (await document(v1.raw)).properties.payload.properties));

    await ev.subscriptions(sub.sid).remove();
    await ev.sinks(sink.sid).remove();
    await assert.rejects(() => ev.sinks(sink.sid).fetch(), (e: { status: number }) => e.status === 404);
  } finally {
    await s.close();
    await r.close();
  }
});

test('sinks and subscriptions survive a restart', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-streams-'));
  let runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  const account = await runtime.createAccount('Streams');
  const sink = await runtime.streams.write(account.sid, (a, now, newSid) => a.createSink(newSid('DG'), { description: 'd', sinkType: 'webhook', sinkConfiguration: JSON.stringify({ destination: 'https://h/e', method: 'POST', batch_events: true }) }, now));
  await runtime.streams.write(account.sid, (a, now, newSid) => a.createSubscription(newSid('DF'), { description: 'd', sinkSid: sink.sid, types: [{ type: 'com.twilio.taskrouter.task.created', schemaVersion: 4 }] }, now));
  await runtime.close();
  runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  try {
    const a = runtime.streams.account(account.sid);
    assert.equal((a.sinks.get(sink.sid)?.sinkConfiguration as { batch_events?: boolean } | undefined)?.batch_events, true);
    assert.equal(a.subscriptions.size, 1);
    assert.equal(a.sinksFor('com.twilio.taskrouter.task.created').length, 1);
  } finally {
    await runtime.close();
  }
});

test('a receiver answering 500 for good: retries with backoff capped at 5 minutes, given up 4 hours after the event', async () => {
  const s = await startServer();
  const r = await receiver(s.scheduler, () => 503);
  try {
    const sink = await s.client.events.v1.sinks.create({ description: 'down', sinkType: 'webhook', sinkConfiguration: { destination: `${r.url}/down`, method: 'POST', batch_events: true } });
    const queuedAt = s.scheduler.now();
    await s.client.events.v1.sinks(sink.sid).sinkTest.create();
    await until(s, () => s.failures.some((f) => f.final), 5 * 3_600_000, 60_000);
    const count = r.got.length;
    await s.scheduler.advance(3_600_000);
    assert.equal(r.got.length, count, 'nothing after giving up');
    const last = r.got[r.got.length - 1]!;
    assert.ok(last.at - queuedAt >= 4 * 3_600_000 && last.at - queuedAt < 4 * 3_600_000 + 6 * 60_000, `last try ${(last.at - queuedAt) / 60_000} min after`);
    const gaps = r.got.slice(1).map((g, i) => g.at - r.got[i]!.at);
    assert.ok(Math.max(...gaps) <= 5 * 60_000, `gaps ${gaps.join(',')}`);
    assert.equal(s.failures.filter((f) => f.final).length, 1);
  } finally {
    await s.close();
    await r.close();
  }
});

test('a burst of more than 100 events goes out in batches of at most 100, the largest 100', async () => {
  const s = await startServer({ startDispatcher: false });
  const r = await receiver(s.scheduler);
  try {
    const setup = await setUp(s);
    await subscribe(s, r.url, true);
    const before = new Set((await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).map((e) => e.sid));
    // No worker is available for them: each task makes task.created, workflow.entered, task-queue.entered …
    for (let i = 0; i < 40; i++) await setup.wsApi.tasks.create({ workflowSid: setup.workflow.sid, attributes: JSON.stringify({ n: i }) });
    const expected = (await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).filter((e) => !before.has(e.sid) && TASKROUTER_TYPES.includes(TASKROUTER_PREFIX + e.eventType)).map((e) => idOf(e.sid));
    assert.ok(expected.length > 150, `a burst of ${expected.length} events`);
    s.dispatcher.start();
    await until(s, () => r.events().length >= expected.length, 5_000);
    await s.scheduler.advance(2_000);
    const sizes = r.got.map((g) => (JSON.parse(g.body) as unknown[]).length);
    assert.equal(Math.max(...sizes), 100, `batch sizes ${sizes.join(',')} failures ${JSON.stringify(s.failures)} drops ${s.drops.length}`);
    assert.ok(sizes.length < expected.length / 50, `batch sizes ${sizes.join(',')}`);
    assert.deepEqual(r.events().map((e) => e.id).sort(), [...expected].sort(), 'every event exactly once');
  } finally {
    await s.close();
    await r.close();
  }
});

test('the events of a batch share outbox rows of up to 100; a row is retried as a whole, each event still arrives, with its id', async () => {
  const s = await startServer({ startDispatcher: false });
  let requests = 0;
  // The second request fails: it holds the end of one row and the start of the next (the test event's row comes first).
  const r = await receiver(s.scheduler, () => (++requests === 2 ? 500 : 200));
  try {
    const setup = await setUp(s);
    for (let i = 0; i < 55; i++) await setup.wsApi.tasks.create({ workflowSid: setup.workflow.sid, attributes: JSON.stringify({ n: i }) });
    const made = (await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).filter((e) => TASKROUTER_TYPES.includes(TASKROUTER_PREFIX + e.eventType));
    assert.ok(made.length > 200, `${made.length} events`);
    const sinkSid = await subscribe(s, r.url, true);
    await s.client.events.v1.sinks(sinkSid).sinkTest.create();
    // Made elsewhere and handed over in one batch, as a replay's are: one row per 100 events.
    await s.runtime.streams.offerEngineEvents(s.account.sid, made);
    const rows = await s.runtime.store.outboxLane(s.account.sid, STREAM_WEBHOOK_KIND, 1_000);
    const sizes = rows.map((row) => readStreamRow<StreamWebhookPayload>(row.payload).ids.length);
    assert.deepEqual(sizes, [1, ...Array.from({ length: Math.floor(made.length / 100) }, () => 100), made.length % 100].filter((n) => n > 0));
    const rowIds = rows.map((row) => readStreamRow<StreamWebhookPayload>(row.payload).ids);
    s.dispatcher.start();
    const accepted = (): string[] => r.got.filter((_, i) => i !== 1).flatMap((g) => (JSON.parse(g.body) as CloudEventJson[]).map((e) => e.id));
    const expected = [s.account.sid, ...made.map((e) => idOf(e.sid))];
    await until(s, () => new Set(accepted()).size >= expected.length, 60_000, 100);
    await s.scheduler.advance(10_000);
    assert.deepEqual([...new Set(accepted())].sort(), [...expected].sort(), 'every event, de-duplicated by id');
    const failed = (JSON.parse(r.got[1]!.body) as CloudEventJson[]).map((e) => e.id);
    assert.equal(failed.length, 100);
    // The failed request held the end of rows[1] and the start of rows[2]: both rows are sent again whole.
    const count = (id: string): number => accepted().filter((x) => x === id).length;
    for (const id of [...rowIds[1]!, ...rowIds[2]!]) assert.equal(count(id), failed.includes(id) ? 1 : 2, `${id} of a retried row`);
    for (const id of [...rowIds[0]!, ...rowIds.slice(3).flat()]) assert.equal(count(id), 1, `${id} of a row delivered at once`);
    assert.equal(s.failures.length, 2, 'two rows failed once');
    assert.ok(s.failures.every((f) => f.attempts === 1 && !f.final));
    assert.equal(r.got.every((g) => (JSON.parse(g.body) as unknown[]).length <= 100), true);
    assert.deepEqual(await s.runtime.store.outboxLane(s.account.sid, STREAM_WEBHOOK_KIND, 1_000), [], 'every row done');
  } finally {
    await s.close();
    await r.close();
  }
});

test('a stream row is read back without parsing its events: their texts, ids and size as written; a one-event row of an earlier version too', () => {
  const head: StreamWebhookPayload = { accountSid: 'AC1', sinkSid: 'DG1', destination: 'http://x/"events":[', method: 'POST', batchEvents: true, queuedAt: 5 };
  const events = [{ id: 'EZ1', data: { name: 'Zoë, "events":[ ☎' } }, { id: 'EZ2', data: { events: [1, { events: [] }] } }];
  const texts = events.map((e) => JSON.stringify(e));
  const size = Buffer.byteLength(texts.join(','));
  const payload = streamRowPayload(head, ['EZ1', 'EZ2'], texts, size);
  assert.deepEqual((JSON.parse(payload) as { events: unknown }).events, events, 'the payload is JSON with the events in it');
  const row = readStreamRow<StreamWebhookPayload>(payload);
  assert.deepEqual(row.head, head);
  assert.deepEqual(row.ids, ['EZ1', 'EZ2']);
  assert.deepEqual(row.texts(), texts);
  assert.equal(row.joined, texts.join(','));
  assert.equal(row.size, size);
  const legacy = readStreamRow<StreamWebhookPayload>(JSON.stringify({ ...head, event: { id: 'EZ9', data: { x: 1, events: [] } } }));
  assert.deepEqual(legacy.head, head);
  assert.deepEqual(legacy.ids, ['EZ9']);
  assert.deepEqual(legacy.texts(), [JSON.stringify({ id: 'EZ9', data: { x: 1, events: [] } })]);
  assert.throws(() => readStreamRow('{"accountSid":"AC1"}'), SyntaxError);
});

test('conversation events go to the sinks subscribed to their types, as CloudEvents of their own schemas', async () => {
  const s = await startServer();
  const r = await receiver(s.scheduler);
  try {
    const types = (await s.client.events.v1.eventTypes.list()).map((t) => t.type).filter((t) => t.startsWith('com.twilio.conversations.'));
    assert.deepEqual([...types].sort(), EVENT_TYPES.filter((t) => t.type.startsWith('com.twilio.conversations.')).map((t) => t.type).sort());
    for (const t of ['conversation.added', 'conversation-state.updated', 'message.added', 'participant.added']) assert.ok(types.includes(`com.twilio.conversations.${t}`), t);
    const schema = await s.client.events.v1.schemas('Conversations.MessageAdded').fetch();
    assert.equal(schema.latestVersion, 2);
    const sink = await s.client.events.v1.sinks.create({ description: 'conversations', sinkType: 'webhook', sinkConfiguration: { destination: `${r.url}/c`, method: 'POST', batch_events: true } });
    await s.client.events.v1.subscriptions.create({
      description: 'messages and states', sinkSid: sink.sid,
      types: [{ type: 'com.twilio.conversations.conversation.added' }, { type: 'com.twilio.conversations.message.added' }, { type: 'com.twilio.conversations.participant.added' }, { type: 'com.twilio.conversations.conversation-state.updated', schema_version: 1 }],
    });
    const conversation = await s.client.conversations.v1.conversations.create({ friendlyName: 'Support chat' });
    await s.client.conversations.v1.conversations(conversation.sid).participants.create({ 'messagingBinding.address': '+15550001111', 'messagingBinding.proxyAddress': '+15550002222' });
    const message = await s.client.conversations.v1.conversations(conversation.sid).messages.create({ author: 'customer', body: 'Hello there' });
    await s.client.conversations.v1.conversations(conversation.sid).update({ state: 'inactive' });
    await s.client.conversations.v1.conversations(conversation.sid).update({ friendlyName: 'not subscribed' });
    const stored = (await s.runtime.store.events(s.account.sid, 0, Number.MAX_SAFE_INTEGER, 1_000)).filter((e) => e.eventType.startsWith('com.twilio.conversations.'));
    const wanted = stored.filter((e) => !e.eventType.endsWith('conversation.updated'));
    assert.ok(wanted.length >= 4 && wanted.length < stored.length, `stored ${stored.map((e) => e.eventType).join(',')}`);
    await until(s, () => r.events().length >= wanted.length, 5_000);
    await s.scheduler.advance(2_000);
    const events = r.events();
    assert.deepEqual(events.map((e) => e.id).sort(), wanted.map((e) => idOf(e.sid)).sort(), 'every subscribed conversations event once, nothing else');
    const added = events.find((e) => e.type === 'com.twilio.conversations.message.added')!;
    assert.equal(added.dataschema, 'https://events-schemas.twilio.com/Conversations.MessageAdded/2.json');
    assert.equal(added.source, `/v1/Conversations/${conversation.sid}`);
    const data = added.data as unknown as Record<string, unknown>;
    assert.equal(data['AccountSid'], s.account.sid);
    assert.equal(data['ConversationSid'], conversation.sid);
    assert.equal(data['MessageSid'], message.sid);
    assert.equal(data['MessageBody'], 'Hello there');
    assert.equal(typeof data['Index'], 'number');
    const participant = events.find((e) => e.type === 'com.twilio.conversations.participant.added')!.data as unknown as Record<string, unknown>;
    assert.deepEqual(participant['MessagingBinding'], { Address: '+15550001111', ProxyAddress: '+15550002222' });
    const state = events.find((e) => e.type === 'com.twilio.conversations.conversation-state.updated')!;
    assert.equal(state.dataschema, 'https://events-schemas.twilio.com/Conversations.ConversationStateUpdated/1.json');
    assert.equal((state.data as unknown as Record<string, unknown>)['StateTo'], 'inactive');
    for (const g of r.got) assert.ok(twilio.validateRequestWithBody(s.account.secret, g.signature, `${r.url}${g.path}`, g.body));
  } finally {
    await s.close();
    await r.close();
  }
});
