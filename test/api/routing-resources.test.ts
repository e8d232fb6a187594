/**
 * TaskQueues, Workflows, Workers and their Channels through the official twilio client: CRUD,
 * list filters and paging, If-Match/ETag, response shapes (OpenAPI schemas) and errors.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assertListBody, assertRestError, assertSchema, startHarness } from './helpers.ts';

const h = await startHarness();
after(() => h.close());

async function workspace(name: string): Promise<{ sid: string; available: string; offline: string }> {
  const tr = h.client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: name });
  const acts = await tr.workspaces(ws.sid).activities.list();
  const find = (n: string): string => acts.find((a) => a.friendlyName === n)?.sid as string;
  return { sid: ws.sid, available: find('Available'), offline: find('Offline') };
}

test('task queues: create, fetch, update, list with filters and pages, delete; errors', async () => {
  const w = await workspace('Queues');
  const ws = h.client.taskrouter.v1.workspaces(w.sid);
  const sales = await ws.taskQueues.create({ friendlyName: 'Sales', targetWorkers: 'skills HAS "sales"', maxReservedWorkers: 2, taskOrder: 'LIFO', reservationActivitySid: w.offline });
  assertSchema('workspace.task_queue', h.lastBody());
  assert.equal(sales.targetWorkers, 'skills HAS "sales"');
  assert.equal(sales.maxReservedWorkers, 2);
  assert.equal(sales.taskOrder, 'LIFO');
  assert.equal(sales.reservationActivityName, 'Offline');
  assert.equal(sales.assignmentActivitySid, null);
  const links = sales.links as Record<string, string>;
  assert.equal(links['reservation_activity'], `${h.base}/v1/Workspaces/${w.sid}/Activities/${w.offline}`);
  assert.equal(links['bulk_real_time_statistics'], `${h.base}/v1/Workspaces/${w.sid}/TaskQueues/RealTimeStatistics`);
  const support = await ws.taskQueues.create({ friendlyName: 'Support' });
  assert.equal(support.targetWorkers, '1==1');
  await ws.taskQueues.create({ friendlyName: 'Billing', targetWorkers: 'skills HAS "billing"' });

  assert.equal((await ws.taskQueues(sales.sid).fetch()).friendlyName, 'Sales');
  assertSchema('workspace.task_queue', h.lastBody());
  const upd = await ws.taskQueues(sales.sid).update({ friendlyName: 'Sales EU', maxReservedWorkers: 3, assignmentActivitySid: w.available });
  assertSchema('workspace.task_queue', h.lastBody());
  assert.equal(upd.friendlyName, 'Sales EU');
  assert.equal(upd.maxReservedWorkers, 3);
  assert.equal(upd.assignmentActivityName, 'Available');

  const all = await ws.taskQueues.list({ pageSize: 2 });
  assert.deepEqual(all.map((q) => q.friendlyName), ['Sales EU', 'Support', 'Billing']);
  await ws.taskQueues.page({ pageSize: 2 });
  assertListBody('workspace.task_queue', 'task_queues', h.lastBody(), h.base);
  assert.deepEqual((await ws.taskQueues.list({ friendlyName: 'Support' })).map((q) => q.sid), [support.sid]);
  const forBilling = await ws.taskQueues.list({ evaluateWorkerAttributes: JSON.stringify({ skills: ['billing'] }) });
  assert.deepEqual(forBilling.map((q) => q.friendlyName), ['Support', 'Billing']);
  const ordered = await ws.taskQueues.list({ ordering: 'FriendlyName:desc' });
  assert.deepEqual(ordered.map((q) => q.friendlyName), ['Support', 'Sales EU', 'Billing']);
  const worker = await ws.workers.create({ friendlyName: 'Seller', attributes: JSON.stringify({ skills: ['sales'] }) });
  assert.deepEqual((await ws.taskQueues.list({ workerSid: worker.sid })).map((q) => q.friendlyName), ['Sales EU', 'Support']);

  await assertRestError(() => ws.taskQueues.create({ friendlyName: 'Support' }), 400, 20001, /Support/);
  await assertRestError(() => ws.taskQueues.create({ friendlyName: 'Bad', targetWorkers: 'skill-level > 3' }), 400, 20001);
  await assertRestError(() => ws.taskQueues.create({ friendlyName: 'Big', maxReservedWorkers: 51 }), 400, 20001, /MaxReservedWorkers/);
  await assertRestError(() => ws.taskQueues.create({ friendlyName: 'Order', taskOrder: 'RANDOM' as 'FIFO' }), 400, 20001, /TaskOrder/);
  await assertRestError(() => ws.taskQueues.list({ evaluateWorkerAttributes: '{nope' }), 400, 20001, /EvaluateWorkerAttributes/);
  await assertRestError(() => ws.taskQueues('WQ' + '0'.repeat(32)).fetch(), 404, 20404);
  assert.equal(await ws.taskQueues(sales.sid).remove(), true);
  await assertRestError(() => ws.taskQueues(sales.sid).fetch(), 404, 20404);
});

test('workflows: create, fetch, update, list, delete; bad configuration is 400', async () => {
  const w = await workspace('Workflows');
  const ws = h.client.taskrouter.v1.workspaces(w.sid);
  const q = await ws.taskQueues.create({ friendlyName: 'All' });
  const configuration = JSON.stringify({ task_routing: { filters: [{ expression: 'type == "x"', targets: [{ queue: q.sid, timeout: 30 }] }], default_filter: { queue: q.sid } } });
  const wf = await ws.workflows.create({ friendlyName: 'Main', configuration, assignmentCallbackUrl: 'https://example.com/assign', taskReservationTimeout: 60 });
  assertSchema('workspace.workflow', h.lastBody());
  assert.equal(wf.configuration, configuration);
  assert.equal(wf.taskReservationTimeout, 60);
  assert.equal(wf.documentContentType, 'application/json');
  assert.equal(wf.assignmentCallbackUrl, 'https://example.com/assign');
  assert.equal((await ws.workflows(wf.sid).fetch()).friendlyName, 'Main');
  assertSchema('workspace.workflow', h.lastBody());
  const upd = await ws.workflows(wf.sid).update({ friendlyName: 'Main 2', taskReservationTimeout: 90, reEvaluateTasks: 'true' });
  assertSchema('workspace.workflow', h.lastBody());
  assert.equal(upd.friendlyName, 'Main 2');
  assert.equal(upd.taskReservationTimeout, 90);
  await ws.workflows.create({ friendlyName: 'Second', configuration });
  await ws.workflows.create({ friendlyName: 'Third', configuration });
  assert.equal((await ws.workflows.list({ pageSize: 1 })).length, 3);
  await ws.workflows.page({ pageSize: 1 });
  assertListBody('workspace.workflow', 'workflows', h.lastBody(), h.base);
  assert.deepEqual((await ws.workflows.list({ friendlyName: 'Second' })).map((x) => x.friendlyName), ['Second']);

  await assertRestError(() => ws.workflows.create({ friendlyName: 'Bad', configuration: '{not json' }), 400, 20001, /Configuration/);
  await assertRestError(
    () => ws.workflows.create({ friendlyName: 'Unknown queue', configuration: JSON.stringify({ task_routing: { default_filter: { queue: 'WQ' + '0'.repeat(32) } } }) }),
    400,
    20001,
  );
  await assertRestError(() => ws.workflows.create({ friendlyName: 'T', configuration, taskReservationTimeout: 0 }), 400, 20001, /TaskReservationTimeout/);
  await assertRestError(() => ws.taskQueues(q.sid).remove(), 400, 20001);
  assert.equal(await ws.workflows(wf.sid).remove(), true);
  await assertRestError(() => ws.workflows(wf.sid).fetch(), 404, 20404);
});

test('workers: create, fetch with ETag, update with If-Match, list with filters across pages, delete', async () => {
  const w = await workspace('Workers');
  const ws = h.client.taskrouter.v1.workspaces(w.sid);
  const q = await ws.taskQueues.create({ friendlyName: 'Spanish', targetWorkers: 'languages HAS "es"' });
  const alice = await ws.workers.create({ friendlyName: 'Alice', attributes: JSON.stringify({ languages: ['es'], level: 3 }), activitySid: w.available });
  assertSchema('workspace.worker', h.lastBody());
  assert.equal(alice.activityName, 'Available');
  assert.equal(alice.available, true);
  assert.equal(alice.attributes, JSON.stringify({ languages: ['es'], level: 3 }));
  const bob = await ws.workers.create({ friendlyName: 'Bob' });
  assert.equal(bob.activityName, 'Offline');
  assert.equal(bob.attributes, '{}');
  await ws.workers.create({ friendlyName: 'Carol', attributes: JSON.stringify({ languages: ['en'], level: 5 }), activitySid: w.available });

  const fetched = await h.raw('GET', `/v1/Workspaces/${w.sid}/Workers/${alice.sid}`);
  assertSchema('workspace.worker', fetched.body);
  const tag = fetched.headers.get('etag');
  assert.ok(tag !== null && /^"\d+"$/.test(tag));

  const upd = await ws.workers(alice.sid).update({ friendlyName: 'Alice A', activitySid: w.offline, ifMatch: tag });
  assertSchema('workspace.worker', h.lastBody());
  assert.equal(upd.friendlyName, 'Alice A');
  assert.equal(upd.activityName, 'Offline');
  await assertRestError(() => ws.workers(alice.sid).update({ friendlyName: 'Stale', ifMatch: tag }), 412, 20412);
  assert.equal((await ws.workers(alice.sid).fetch()).friendlyName, 'Alice A');

  const all = await ws.workers.list({ pageSize: 2 });
  assert.deepEqual(all.map((x) => x.friendlyName), ['Alice A', 'Bob', 'Carol']);
  await ws.workers.page({ pageSize: 2 });
  assertListBody('workspace.worker', 'workers', h.lastBody(), h.base);
  assert.deepEqual((await ws.workers.list({ available: 'true' })).map((x) => x.friendlyName), ['Carol']);
  assert.deepEqual((await ws.workers.list({ activityName: 'Offline' })).map((x) => x.friendlyName), ['Alice A', 'Bob']);
  assert.deepEqual((await ws.workers.list({ activitySid: w.available })).map((x) => x.friendlyName), ['Carol']);
  assert.deepEqual((await ws.workers.list({ friendlyName: 'bob' })).map((x) => x.friendlyName), ['Bob']);
  assert.deepEqual((await ws.workers.list({ targetWorkersExpression: 'level > 4' })).map((x) => x.friendlyName), ['Carol']);
  assert.deepEqual((await ws.workers.list({ taskQueueSid: q.sid })).map((x) => x.friendlyName), ['Alice A']);
  assert.deepEqual((await ws.workers.list({ taskQueueName: 'Spanish' })).map((x) => x.friendlyName), ['Alice A']);
  assert.deepEqual((await ws.workers.list({ ordering: 'FriendlyName:desc' })).map((x) => x.friendlyName), ['Carol', 'Bob', 'Alice A']);
  await assertRestError(() => ws.workers.list({ ordering: 'Age:asc' }), 400, 20001, /Ordering/);
  await assertRestError(() => ws.workers.list({ targetWorkersExpression: 'a ==' }), 400, 20001, /TargetWorkersExpression/);

  await assertRestError(() => ws.workers.create({ friendlyName: 'X', attributes: '{bad' }), 400, 20001, /Attributes/);
  await assertRestError(() => ws.workers.create({ friendlyName: 'alice a' }), 400, 20001);
  await assertRestError(() => ws.workers.create({ friendlyName: 'Y', activitySid: 'nope' }), 400, 20001, /ActivitySid/);
  await assertRestError(() => ws.workers.create({ friendlyName: 'Z', activitySid: 'WA' + '0'.repeat(32) }), 400, 20001, /ActivitySid/);
  await assertRestError(() => ws.workers('WK' + '0'.repeat(32)).fetch(), 404, 20404);
  assert.equal(await ws.workers(bob.sid).remove(), true);
  await assertRestError(() => ws.workers(bob.sid).fetch(), 404, 20404);
});

test('worker channels: list, fetch by WC SID, TC SID or unique name, update capacity and availability', async () => {
  const w = await workspace('WorkerChannels');
  const ws = h.client.taskrouter.v1.workspaces(w.sid);
  const worker = await ws.workers.create({ friendlyName: 'Dana' });
  const channels = await ws.workers(worker.sid).workerChannels.list({ pageSize: 2 });
  assert.deepEqual(channels.map((c) => c.taskChannelUniqueName), ['default', 'voice', 'chat', 'sms', 'video']);
  await ws.workers(worker.sid).workerChannels.page({ pageSize: 2 });
  assertListBody('workspace.worker.worker_channel', 'channels', h.lastBody(), h.base);
  const chat = channels[2];
  assert.ok(chat !== undefined);
  assert.equal(chat.configuredCapacity, 1);
  assert.equal(chat.available, true);
  assert.equal((await ws.workers(worker.sid).workerChannels('chat').fetch()).sid, chat.sid);
  assertSchema('workspace.worker.worker_channel', h.lastBody());
  assert.equal((await ws.workers(worker.sid).workerChannels(chat.taskChannelSid).fetch()).sid, chat.sid);
  const upd = await ws.workers(worker.sid).workerChannels(chat.sid).update({ capacity: 4, available: false });
  assertSchema('workspace.worker.worker_channel', h.lastBody());
  assert.equal(upd.configuredCapacity, 4);
  assert.equal(upd.available, false);
  await assertRestError(() => ws.workers(worker.sid).workerChannels('chat').update({ capacity: 51 }), 400, 20001, /Capacity/);
  await assertRestError(() => ws.workers(worker.sid).workerChannels('chat').update({ capacity: 'lots' as unknown as number }), 400, 20001, /Capacity/);
  await assertRestError(() => ws.workers(worker.sid).workerChannels('fax').fetch(), 404, 20404);
});

test('WorkerChannels (an extension): every worker\'s channels in one list, in the per-worker list\'s shape, paged', async () => {
  const w = await workspace('AllChannels');
  const ws = h.client.taskrouter.v1.workspaces(w.sid);
  const [erin, finn] = [await ws.workers.create({ friendlyName: 'Erin' }), await ws.workers.create({ friendlyName: 'Finn' })];
  await ws.workers(finn.sid).workerChannels('voice').update({ capacity: 3 });
  const all = await h.raw('GET', `/v1/Workspaces/${w.sid}/WorkerChannels?PageSize=1000`);
  assert.equal(all.status, 200);
  const rows = (all.body as { channels: Array<{ worker_sid: string; task_channel_unique_name: string; configured_capacity: number }> }).channels;
  const bySid = [erin.sid, finn.sid].sort();
  assert.deepEqual(rows.map((r) => r.worker_sid), bySid.flatMap((sid) => Array(5).fill(sid)), 'in worker order, five channels each');
  assert.equal(rows.find((r) => r.worker_sid === finn.sid && r.task_channel_unique_name === 'voice')?.configured_capacity, 3);
  // The same objects as the per-worker list.
  const erins = (await h.raw('GET', `/v1/Workspaces/${w.sid}/Workers/${erin.sid}/Channels`)).body as { channels: unknown[] };
  assert.deepEqual(rows.filter((r) => r.worker_sid === erin.sid), erins.channels);
  // Paged like any list.
  const first = (await h.raw('GET', `/v1/Workspaces/${w.sid}/WorkerChannels?PageSize=4`)).body as { channels: unknown[]; meta: { next_page_url: string | null; key: string } };
  assert.deepEqual([first.channels.length, first.meta.key, first.meta.next_page_url !== null], [4, 'channels', true]);
});

test('workflows: a configuration near the 1,038,576-byte limit fits in a form body; one over it is 400', async () => {
  const w = await workspace('BigConfig');
  const ws = h.client.taskrouter.v1.workspaces(w.sid);
  const q = await ws.taskQueues.create({ friendlyName: 'All' });
  const base = { task_routing: { default_filter: { queue: q.sid } } };
  const pad = (bytes: number): string => JSON.stringify({ ...base, pad: 'x'.repeat(bytes - JSON.stringify({ ...base, pad: '' }).length) });
  const big = pad(1_000_000);
  const wf = await ws.workflows.create({ friendlyName: 'Big', configuration: big });
  assert.equal(wf.configuration.length, big.length);
  await assertRestError(() => ws.workflows.create({ friendlyName: 'Too big', configuration: pad(1_100_000) }), 400, 20001, /Configuration/);
});
