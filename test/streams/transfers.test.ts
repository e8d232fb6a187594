/**
 * Event Streams and task transfers (spec conversations-events-analytics.md §B5 `task.transfer-*`
 * types, §B6 transfer fields; voice-worker-sdk-console.md B5): the five transfer types are in the
 * catalogue (`/v1/Types`, schema `TaskRouter.WDSEvent`) whose published JSON Schema has the
 * transfer fields, and a webhook sink subscribed to exactly those five types, driven by the
 * official `twilio` client, receives every transfer event of a scenario once (a transfer that
 * fails after a rejection, one canceled by its worker, one completed) — and nothing else — each
 * valid against that schema and carrying `task_transfer_sid` and the `transfer_*` fields.
 * Transfers are made with the engine command through the runtime (their only route is the
 * worker SDK's envelope); everything else through REST. Virtual time.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { TASKROUTER_PREFIX } from '../../src/streams/streams.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { PostClient } from '../../src/webhooks/http-post.ts';
import { streamWebhookDeliverer } from '../../src/webhooks/stream-webhooks.ts';
import { testStoreOptions } from '../support/store.ts';

const TRANSFER_TYPES = ['initiated', 'attempt-failed', 'failed', 'canceled', 'completed'].map((x) => `${TASKROUTER_PREFIX}task.transfer-${x}`);
const TRANSFER_FIELDS = ['task_transfer_sid', 'transfer_initiating_reservation_sid', 'transfer_initiating_worker_sid', 'transfer_mode', 'transfer_type', 'transfer_status', 'transfer_started', 'transfer_to'];

interface CloudEventJson {
  type: string;
  id: string;
  dataschema: string;
  data: { sid: string; name: string; payload: Record<string, unknown> };
}

test('the task.transfer-* types are in the catalogue with the transfer fields, and a subscription to them gets each transfer event once', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const runtime = await Runtime.open({ ...testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-stream-transfers-'))), scheduler });
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const dispatcher = new WebhookDispatcher(runtime, {
    scheduler,
    pollMs: 0,
    random: () => 0,
    backoffMs: 1_000,
    onAlert: () => undefined,
    deliverers: { 'stream.webhook': streamWebhookDeliverer(runtime, new PostClient(scheduler), () => undefined) },
  });
  dispatcher.start();
  const got: CloudEventJson[] = [];
  const receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      got.push(...(JSON.parse(body) as CloudEventJson[]));
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  try {
    const account = await runtime.createAccount('Transfers');
    const client = twilio(account.sid, account.secret);
    client.taskrouter.baseUrl = base;
    client.events.baseUrl = base;

    // The catalogue: each transfer type, its schema, and the schema's transfer fields.
    const schemaIds = new Set<string>();
    for (const type of TRANSFER_TYPES) {
      const t = await client.events.v1.eventTypes(type).fetch();
      assert.equal(t.type, type);
      schemaIds.add(t.schemaId);
    }
    assert.deepEqual([...schemaIds], ['TaskRouter.WDSEvent']);
    const version = await client.events.v1.schemas('TaskRouter.WDSEvent').versions(4).fetch();
    const raw = await fetch(version.raw, { headers: { authorization: `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}` } });
    assert.equal(raw.status, 200, `the schema document at ${version.raw}`);
    const schema = (await raw.json()) as { properties: { payload: { properties: Record<string, unknown> } } };
    for (const f of [...TRANSFER_FIELDS, 'transfer_failed_reason']) assert.ok(f in schema.properties.payload.properties, `schema v4 has ${f}`);
    const validate = new Ajv2020({ strict: false }).compile(schema);

    // A sink subscribed to the five transfer types only.
    const port = (receiver.address() as AddressInfo).port;
    const sink = await client.events.v1.sinks.create({ description: 'transfers', sinkType: 'webhook', sinkConfiguration: { destination: `http://127.0.0.1:${port}/events`, method: 'POST', batch_events: true } });
    await client.events.v1.subscriptions.create({ description: 'transfers', sinkSid: sink.sid, types: TRANSFER_TYPES.map((type) => ({ type, schema_version: 4 })) });
    const subscribed = await client.events.v1.subscriptions.list().then(async ([s]) => client.events.v1.subscriptions(s?.sid as string).subscribedEvents.list());
    assert.deepEqual(subscribed.map((e) => e.type).sort(), [...TRANSFER_TYPES].sort());

    // The scenario: Ana holds a task; a transfer to Ben fails (he rejects), one is canceled, one completes.
    const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Transfers' });
    const wsApi = client.taskrouter.v1.workspaces(ws.sid);
    const activity = Object.fromEntries((await wsApi.activities.list()).map((a) => [a.friendlyName, a.sid]));
    const queue = await wsApi.taskQueues.create({ friendlyName: 'Support', targetWorkers: '1 == 1' });
    const workflow = await wsApi.workflows.create({ friendlyName: 'Support', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
    const ana = await wsApi.workers.create({ friendlyName: 'Ana', activitySid: activity['Available'] });
    const ben = await wsApi.workers.create({ friendlyName: 'Ben', activitySid: activity['Offline'] });
    const task = await wsApi.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify({ customer: 'c-1' }) });
    const reservation = (await wsApi.tasks(task.sid).reservations.list())[0]!;
    await wsApi.tasks(task.sid).reservations(reservation.sid).update({ reservationStatus: 'accepted' });
    await wsApi.workers(ben.sid).update({ activitySid: activity['Available'] });
    const transfer = async (mode: 'WARM' | 'COLD'): Promise<{ tt: string; task: string }> => {
      await scheduler.advance(1_000);
      const out = await runtime.execute(ws.sid, { type: 'transferTask', workerSid: ana.sid, reservationSid: reservation.sid, taskSid: task.sid, to: ben.sid, mode });
      assert.equal(out.rejection, null);
      const tt = String(out.events.find((e) => e.eventType === 'task.transfer-initiated')?.data['task_transfer_sid']);
      return { tt, task: String(out.events.find((e) => e.eventType === 'task.created')?.resourceSid) };
    };
    const bensReservation = async (t: string): Promise<string> => (await wsApi.tasks(t).reservations.list())[0]?.sid as string;

    const failed = await transfer('WARM');
    await wsApi.tasks(failed.task).reservations(await bensReservation(failed.task)).update({ reservationStatus: 'rejected' });
    const canceled = await transfer('WARM');
    const out = await runtime.execute(ws.sid, { type: 'updateTransfer', transferSid: canceled.tt, workerSid: ana.sid, transferStatus: 'canceled' });
    assert.equal(out.rejection, null);
    const completed = await transfer('COLD');
    await wsApi.tasks(completed.task).reservations(await bensReservation(completed.task)).update({ reservationStatus: 'accepted' });
    assert.equal((await wsApi.tasks(task.sid).fetch()).assignmentStatus, 'wrapping');

    const stored = (await runtime.store.events(ws.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).filter((e) => e.eventType.startsWith('task.transfer-'));
    assert.deepEqual(stored.map((e) => e.eventType).sort(), ['task.transfer-attempt-failed', 'task.transfer-canceled', 'task.transfer-completed', 'task.transfer-failed', 'task.transfer-initiated', 'task.transfer-initiated', 'task.transfer-initiated'].sort());
    for (let i = 0; i < 500 && got.length < stored.length; i++) await scheduler.advance(10);
    await scheduler.advance(5_000);

    assert.deepEqual(got.map((e) => e.id).sort(), stored.map((e) => `EZ${e.sid.slice(2)}`).sort(), 'every transfer event once, nothing else');
    for (const e of got) {
      assert.ok(TRANSFER_TYPES.includes(e.type), e.type);
      assert.equal(e.dataschema, 'https://events-schemas.twilio.com/TaskRouter.WDSEvent/4.json');
      assert.ok(validate(e.data), `${e.type} valid against the published schema: ${JSON.stringify(validate.errors)}`);
      const p = e.data.payload;
      for (const f of TRANSFER_FIELDS) assert.notEqual(p[f], undefined, `${e.type} carries ${f}`);
      assert.deepEqual([p['task_sid'], p['resource_sid'], p['transfer_initiating_reservation_sid'], p['transfer_initiating_worker_sid'], p['transfer_to'], p['transfer_type']], [task.sid, task.sid, reservation.sid, ana.sid, ben.sid, 'WORKER']);
    }
    const byTransfer = (tt: string): string[] => got.filter((e) => e.data.payload['task_transfer_sid'] === tt).map((e) => `${e.type.slice(TASKROUTER_PREFIX.length)}:${String(e.data.payload['transfer_status'])}`).sort();
    assert.deepEqual(byTransfer(failed.tt), ['task.transfer-attempt-failed:initiated', 'task.transfer-failed:failed', 'task.transfer-initiated:initiated']);
    assert.deepEqual(byTransfer(canceled.tt), ['task.transfer-canceled:canceled', 'task.transfer-initiated:initiated']);
    assert.deepEqual(byTransfer(completed.tt), ['task.transfer-completed:completed', 'task.transfer-initiated:initiated']);
    assert.match(String(got.find((e) => e.type.endsWith('transfer-failed'))?.data.payload['transfer_failed_reason']), /rejected the transfer/);
    assert.equal(got.find((e) => e.type.endsWith('transfer-completed'))?.data.payload['transfer_mode'], 'COLD');
  } finally {
    await dispatcher.stop();
    await app.close();
    await runtime.close();
    await new Promise<void>((r) => receiver.close(() => r()));
  }
});
