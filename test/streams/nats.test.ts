/**
 * The NATS JetStream sink (issue 14 item 2, "what it must show"; docs/event-streams.md), against
 * the NATS server on 127.0.0.1:4222 with JetStream on (`.ci/run` starts one). Without it the tests
 * skip with a message — but fail under CI=true, where NATS must be running.
 *
 * - In process, on virtual time: the official `twilio` client creates a `nats` sink and a
 *   subscription to every TaskRouter type except the rate-limit one; a consumer using the `nats`
 *   client reads every event of a scenario from the stream once, on the workspace's subject, the
 *   event id as `Nats-Msg-Id`; the test event goes to the account's subject; bad configurations
 *   are refused naming the setting; a sink whose server is down gets everything once it is up.
 * - `switchboard serve` as a child process, SIGKILLed in the middle of a scenario and restarted on
 *   the same data directory: every event the store holds arrives (at-least-once), each message
 *   carrying its event's id.
 *
 * Each test uses a stream and subject prefix of its own (parallel runs do not collide) and
 * deletes the stream at its end.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect, type NatsConnection } from 'nats';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { EVENT_TYPES, RATE_LIMIT_TYPE, TASKROUTER_PREFIX } from '../../src/streams/streams.ts';
import { WebhookDispatcher, type DeliveryFailure } from '../../src/webhooks/dispatcher.ts';
import { streamNatsDeliverer } from '../../src/webhooks/stream-nats.ts';
import { killServe, startServe } from '../support/serve-child.ts';
import { testStoreOptions } from '../support/store.ts';

const NATS_URL = 'nats://127.0.0.1:4222';
const TASKROUTER_TYPES = EVENT_TYPES.map((t) => t.type).filter((t) => t.startsWith(TASKROUTER_PREFIX));
const idOf = (eventSid: string): string => `EZ${eventSid.slice(2)}`;
let streamCount = 0;

/**
 * A connection to the test NATS server, or null after skipping the test when it does not answer
 * (throws under CI=true: there the server must run).
 */
async function natsOrSkip(t: TestContext, servers = NATS_URL): Promise<NatsConnection | null> {
  try {
    return await connect({ servers, timeout: 2_000, maxReconnectAttempts: 0 });
  } catch (error) {
    const why = `NATS with JetStream is not reachable at ${servers} (${(error as Error).message})`;
    if (process.env['CI'] === 'true') throw new Error(`${why}: .ci/run starts it; under CI the NATS sink tests may not be skipped`, { cause: error });
    t.skip(`${why}; start it with: nats-server -a 127.0.0.1 -p 4222 -js`);
    return null;
  }
}

/** A stream name and subject prefix no other test run uses. */
function uniqueStream(): { stream: string; prefix: string } {
  streamCount += 1;
  const tag = `${process.pid}_${Date.now().toString(36)}_${streamCount}`;
  return { stream: `SBTEST_${tag}`, prefix: `sbtest.${tag}` };
}

interface Received {
  subject: string;
  msgId: string;
  event: { id: string; type: string; source: string; specversion: string; data: { payload?: Record<string, unknown>; test_id?: string } };
}

/** Every message the stream holds, read by an ordered consumer of the `nats` client (waits up to `waitMs` for `want` of them). */
async function readStream(nc: NatsConnection, stream: string, want: (got: Received[]) => boolean, waitMs = 20_000): Promise<Received[]> {
  const js = nc.jetstream();
  const consumer = await js.consumers.get(stream);
  const got: Received[] = [];
  const deadline = Date.now() + waitMs;
  while (!want(got) && Date.now() < deadline) {
    // A fetch waits (up to `expires`) for messages to arrive: a wait on I/O, not a sleep.
    const batch = await consumer.fetch({ max_messages: 500, expires: 1_000 });
    for await (const m of batch) got.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') ?? '', event: m.json() });
  }
  return got;
}

async function deleteStream(nc: NatsConnection, stream: string): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(stream).catch(() => undefined);
}

async function startServer() {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-nats-'));
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const failures: DeliveryFailure[] = [];
  const nats = streamNatsDeliverer();
  const dispatcher = new WebhookDispatcher(runtime, { scheduler, pollMs: 0, random: () => 0, backoffMs: 1_000, onAlert: () => undefined, onDeliveryFailure: (f) => void failures.push(f), deliverers: { 'stream.nats': nats } });
  dispatcher.start();
  const account = await runtime.createAccount('Streams');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  client.events.baseUrl = base;
  return {
    scheduler, runtime, account, client, failures,
    close: async () => {
      await dispatcher.stop();
      await nats.close();
      await app.close();
      await runtime.close();
    },
  };
}

type Client = ReturnType<typeof twilio>;

/** A workspace with a queue, a workflow and an available worker. */
async function setUp(client: Client) {
  const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Streams' });
  const wsApi = client.taskrouter.v1.workspaces(ws.sid);
  const available = (await wsApi.activities.list()).find((a) => a.friendlyName === 'Available')!;
  const queue = await wsApi.taskQueues.create({ friendlyName: 'Support', targetWorkers: '1 == 1' });
  const workflow = await wsApi.workflows.create({ friendlyName: 'Support', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
  await wsApi.workers.create({ friendlyName: 'Ana', activitySid: available.sid });
  return { ws, wsApi, workflow };
}

/** A `nats` sink and a subscription to every TaskRouter type but the rate-limit one. */
async function subscribe(client: Client, configuration: Record<string, unknown>): Promise<string> {
  const types = (await client.events.v1.eventTypes.list({ schemaId: 'TaskRouter.WDSEvent' })).map((t) => t.type);
  assert.ok(!types.includes(RATE_LIMIT_TYPE));
  // `nats` is our extension: the client's SinkSinkType does not list it, the API takes it.
  const sink = await client.events.v1.sinks.create({ description: 'jetstream', sinkType: 'nats' as 'webhook', sinkConfiguration: configuration });
  assert.equal(sink.sinkType, 'nats');
  assert.equal(sink.status, 'active');
  await client.events.v1.subscriptions.create({ description: 'all of TaskRouter', sinkSid: sink.sid, types: types.map((type) => ({ type })) });
  return sink.sid;
}

/** Task → reservation → accept → wrap-up → complete. */
async function scenario(setup: Awaited<ReturnType<typeof setUp>>, customer: string): Promise<void> {
  const task = await setup.wsApi.tasks.create({ workflowSid: setup.workflow.sid, attributes: JSON.stringify({ customer }) });
  const reservation = (await setup.wsApi.tasks(task.sid).reservations.list())[0]!;
  await setup.wsApi.tasks(task.sid).reservations(reservation.sid).update({ reservationStatus: 'accepted' });
  await setup.wsApi.tasks(task.sid).update({ assignmentStatus: 'wrapping' });
  await setup.wsApi.tasks(task.sid).update({ assignmentStatus: 'completed', reason: 'resolved' });
}

test('a nats sink: every TaskRouter event of a scenario once on the workspace subject, the event id as message id', async (t) => {
  const nc = await natsOrSkip(t);
  if (nc === null) return;
  const { stream, prefix } = uniqueStream();
  const s = await startServer();
  try {
    const setup = await setUp(s.client);
    const sinkSid = await subscribe(s.client, { servers: NATS_URL, stream, subject_prefix: prefix });
    const before = new Set((await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).map((e) => e.sid));
    await scenario(setup, 'c-1');
    await s.client.events.v1.sinks(sinkSid).sinkTest.create();
    const expected = (await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).filter((e) => !before.has(e.sid) && TASKROUTER_TYPES.includes(TASKROUTER_PREFIX + e.eventType)).map((e) => idOf(e.sid));
    assert.ok(expected.length >= 8, `scenario events: ${expected.length}`);
    await s.scheduler.advance(1_000);
    const got = await readStream(nc, stream, (g) => g.length >= expected.length + 1);
    const taskRouter = got.filter((g) => g.event.type.startsWith(TASKROUTER_PREFIX));
    assert.deepEqual(taskRouter.map((g) => g.event.id).sort(), [...expected].sort(), 'every event exactly once');
    for (const g of taskRouter) {
      assert.equal(g.subject, `${prefix}.${setup.ws.sid}`);
      assert.equal(g.msgId, g.event.id);
      assert.equal(g.event.specversion, '1.0');
      assert.equal(g.event.data.payload?.['workspace_sid'], setup.ws.sid);
    }
    const testEvent = got.find((g) => g.event.type === 'com.twilio.eventstreams.test-event');
    assert.ok(testEvent !== undefined, 'the test event');
    assert.equal(testEvent.subject, `${prefix}.${s.account.sid}`);
    assert.equal(s.failures.length, 0);
    const info = await (await nc.jetstreamManager()).streams.info(stream);
    assert.deepEqual(info.config.subjects, [`${prefix}.>`]);
    assert.equal(info.config.duplicate_window, 600 * 1e9, 'the default duplicate window: 10 minutes (nanoseconds)');
  } finally {
    await s.close();
    await deleteStream(nc, stream);
    await nc.close();
  }
});

test('nats sink configurations are checked: each refusal names the setting', async () => {
  const s = await startServer();
  try {
    const refused = async (configuration: Record<string, unknown>, setting: RegExp): Promise<void> => {
      await assert.rejects(
        () => s.client.events.v1.sinks.create({ description: 'bad', sinkType: 'nats' as 'webhook', sinkConfiguration: configuration }),
        (e: { status: number; message: string }) => e.status === 400 && setting.test(e.message),
        JSON.stringify(configuration),
      );
    };
    await refused({}, /SinkConfiguration\.servers is required/);
    await refused({ servers: 'http://127.0.0.1:4222' }, /SinkConfiguration\.servers must be nats:\/\/host:port/);
    await refused({ servers: NATS_URL, stream: 'has.dot' }, /SinkConfiguration\.stream /);
    await refused({ servers: NATS_URL, subject_prefix: 'a.*' }, /SinkConfiguration\.subject_prefix /);
    await refused({ servers: NATS_URL, subject_prefix: 'a..b' }, /SinkConfiguration\.subject_prefix /);
    await refused({ servers: NATS_URL, duplicate_window_s: 0 }, /SinkConfiguration\.duplicate_window_s /);
    await refused({ servers: NATS_URL, destination: 'x' }, /SinkConfiguration\.destination is not a nats sink setting/);
    await assert.rejects(() => s.client.events.v1.sinks.create({ description: 'k', sinkType: 'segment', sinkConfiguration: { write_key: 'k' } }), (e: { status: number; message: string }) => e.status === 400 && /supported: webhook and nats/.test(e.message));
    assert.equal((await s.client.events.v1.sinks.list()).length, 0, 'nothing was created');
    const sink = await s.client.events.v1.sinks.create({ description: 'ok', sinkType: 'nats' as 'webhook', sinkConfiguration: { servers: `${NATS_URL}, nats://127.0.0.1:4223` } });
    assert.deepEqual(sink.sinkConfiguration, { servers: `${NATS_URL},nats://127.0.0.1:4223`, stream: 'SWITCHBOARD_EVENTS', subject_prefix: 'switchboard.events', duplicate_window_s: 600 });
  } finally {
    await s.close();
  }
});

/** A free TCP port on 127.0.0.1 (nothing listens on it once this resolves). */
async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

test('a nats sink whose server is down: retried with backoff, everything arrives once the server is up', async (t) => {
  const probe = await natsOrSkip(t);
  if (probe === null) return;
  await probe.close();
  const port = await freePort();
  const url = `nats://127.0.0.1:${port}`;
  const { stream, prefix } = uniqueStream();
  const s = await startServer();
  let server: ReturnType<typeof spawn> | null = null;
  try {
    const setup = await setUp(s.client);
    await subscribe(s.client, { servers: url, stream, subject_prefix: prefix });
    const before = new Set((await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).map((e) => e.sid));
    await scenario(setup, 'c-2');
    await s.scheduler.advance(60_000);
    const made = async (): Promise<string[]> => (await s.runtime.store.events(setup.ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).filter((e) => !before.has(e.sid) && TASKROUTER_TYPES.includes(TASKROUTER_PREFIX + e.eventType)).map((e) => idOf(e.sid));
    const expected = await made();
    assert.ok(s.failures.length >= expected.length, `failed attempts while down: ${s.failures.length}`);
    assert.ok(s.failures.every((f) => !f.final && f.kind === 'stream.nats'));
    const attempts = Math.max(...s.failures.map((f) => f.attempts));
    assert.ok(attempts >= 3 && attempts <= 8, `doubling backoff: ${attempts} attempts in a minute`);
    // The server comes up (a second nats-server of the machine's, on its own port and store).
    const storeDir = mkdtempSync(join(tmpdir(), 'switchboard-nats-store-'));
    const child = spawn(existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: ['ignore', 'ignore', 'pipe'] });
    server = child;
    // It logs to stderr; "Server is ready" once it listens.
    await new Promise<void>((resolve, reject) => {
      let log = '';
      child.stderr?.on('data', (c: Buffer) => {
        log += c.toString();
        if (/Server is ready/.test(log)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${log}`)));
    });
    const nc = await connect({ servers: url, timeout: 2_000 });
    try {
      await s.scheduler.advance(10 * 60_000);
      const all = await made(); // timers may have made more meanwhile
      const got = await readStream(nc, stream, (g) => g.length >= all.length);
      assert.ok(expected.every((id) => all.includes(id)));
      assert.deepEqual(got.map((g) => g.event.id).sort(), [...all].sort(), 'everything, once');
    } finally {
      await deleteStream(nc, stream);
      await nc.close();
    }
  } finally {
    await s.close();
    server?.kill('SIGTERM');
  }
});

test('killed with SIGKILL in the middle of a scenario and restarted: every event the store holds arrives, each with its id', { timeout: 60_000 }, async (t) => {
  const nc = await natsOrSkip(t);
  if (nc === null) return;
  const { stream, prefix } = uniqueStream();
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-nats-crash-'));
  let server = await startServe(dataDir, { firstStart: true });
  try {
    const { sid, token } = server.credentials!;
    const clientOf = (base: string): Client => {
      const c = twilio(sid, token);
      c.taskrouter.baseUrl = base;
      c.events.baseUrl = base;
      return c;
    };
    let client = clientOf(server.base);
    const setup = await setUp(client);
    await subscribe(client, { servers: NATS_URL, stream, subject_prefix: prefix });
    const before = new Set((await setup.wsApi.events.list({ pageSize: 1000 })).map((e) => e.sid));
    // Tasks created four at a time; the kill comes once 20 are acknowledged, with more in flight
    // and their events' rows not all delivered yet.
    let acknowledged = 0;
    let killed = false;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; acknowledged < 20; i++) {
      const create: Promise<void> = setup.wsApi.tasks.create({ workflowSid: setup.workflow.sid, attributes: JSON.stringify({ n: i }) }).then(
        () => void (acknowledged += 1),
        (error: unknown) => {
          if (!killed) throw error;
        },
      );
      const tracked = create.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= 4) await Promise.race(inFlight);
    }
    killed = true;
    await killServe(server);
    await Promise.allSettled(inFlight);
    server = await startServe(dataDir, { firstStart: false });
    client = clientOf(server.base);
    const wsApi = client.taskrouter.v1.workspaces(setup.ws.sid);
    for (let i = 0; i < 5; i++) await wsApi.tasks.create({ workflowSid: setup.workflow.sid, attributes: JSON.stringify({ after: i }) });
    const stored = (await wsApi.events.list({ pageSize: 1000 })).filter((e) => !before.has(e.sid) && TASKROUTER_TYPES.includes(TASKROUTER_PREFIX + e.eventType));
    const wanted = new Set(stored.map((e) => idOf(e.sid)));
    const got = await readStream(nc, stream, (g) => [...wanted].every((id) => g.some((m) => m.event.id === id)), 30_000);
    const ids = new Set(got.map((g) => g.event.id));
    const missing = [...wanted].filter((id) => !ids.has(id));
    assert.deepEqual(missing, [], `every event the store holds arrived (${wanted.size} stored, ${got.length} messages)`);
    for (const g of got) {
      assert.equal(g.msgId, g.event.id, 'the message id is the event id');
      assert.equal(g.subject, `${prefix}.${setup.ws.sid}`);
    }
    assert.ok(wanted.size > 20 * 3, `events across the crash: ${wanted.size}`);
  } finally {
    await killServe(server);
    await deleteStream(nc, stream);
    await nc.close();
  }
});
