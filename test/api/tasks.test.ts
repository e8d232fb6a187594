/**
 * Tasks and Reservations through the official twilio client: create, fetch, update, list with
 * filters and pages, delete; a reservation accepted, rejected and completed; If-Match; errors.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assertListBody, assertRestError, assertSchema, startHarness } from './helpers.ts';

const h = await startHarness();
after(() => h.close());

interface Setup {
  wsSid: string;
  available: string;
  offline: string;
  unavailable: string;
  queue: string;
  workflow: string;
}

async function setup(name: string): Promise<Setup> {
  const tr = h.client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: name });
  const acts = await tr.workspaces(ws.sid).activities.list();
  const find = (n: string): string => acts.find((a) => a.friendlyName === n)?.sid as string;
  const queue = await tr.workspaces(ws.sid).taskQueues.create({ friendlyName: 'All' });
  const configuration = JSON.stringify({ task_routing: { filters: [{ expression: 'vip == true', targets: [{ queue: queue.sid, priority: 50 }] }], default_filter: { queue: queue.sid } } });
  const workflow = await tr.workspaces(ws.sid).workflows.create({ friendlyName: 'Main', configuration });
  return { wsSid: ws.sid, available: find('Available'), offline: find('Offline'), unavailable: find('Unavailable'), queue: queue.sid, workflow: workflow.sid };
}

test('tasks: create, fetch with ETag, update, list with filters and pages, cancel, delete', async () => {
  const s = await setup('Tasks');
  const ws = h.client.taskrouter.v1.workspaces(s.wsSid);
  const t1 = await ws.tasks.create({ workflowSid: s.workflow, attributes: JSON.stringify({ type: 'support' }), priority: 5, timeout: 3600 });
  assertSchema('workspace.task', h.lastBody());
  assert.equal(t1.assignmentStatus, 'pending');
  assert.equal(t1.priority, 5);
  assert.equal(t1.timeout, 3600);
  assert.equal(t1.taskQueueSid, s.queue);
  assert.equal(t1.taskQueueFriendlyName, 'All');
  assert.equal(t1.workflowFriendlyName, 'Main');
  assert.equal(t1.taskChannelUniqueName, 'default');
  assert.equal(t1.age, 0);
  assert.equal((t1.links as Record<string, string>)['reservations'], `${h.base}/v1/Workspaces/${s.wsSid}/Tasks/${t1.sid}/Reservations`);
  const t2 = await ws.tasks.create({ attributes: JSON.stringify({ vip: true }), taskChannel: 'chat' });
  assert.equal(t2.priority, 50, 'the workflow has one workflow: WorkflowSid may be left out; the target sets the priority');
  assert.equal(t2.taskChannelUniqueName, 'chat');
  const t3 = await ws.tasks.create({ workflowSid: s.workflow, priority: 1, virtualStartTime: new Date(h.clock.now() - 3_600_000) });
  assertSchema('workspace.task', h.lastBody());

  const fetched = await h.raw('GET', `/v1/Workspaces/${s.wsSid}/Tasks/${t1.sid}`);
  assertSchema('workspace.task', fetched.body);
  const tag = fetched.headers.get('etag');
  assert.ok(tag !== null);
  await h.clock.advance(5_000);
  const upd = await ws.tasks(t1.sid).update({ attributes: JSON.stringify({ type: 'billing' }), priority: 7, ifMatch: tag });
  assertSchema('workspace.task', h.lastBody());
  assert.equal(upd.attributes, JSON.stringify({ type: 'billing' }));
  assert.equal(upd.priority, 7);
  assert.ok(upd.age >= 5);
  await assertRestError(() => ws.tasks(t1.sid).update({ priority: 8, ifMatch: tag }), 412, 20412);
  assert.equal((await ws.tasks(t1.sid).fetch()).priority, 7, 'a refused update changes nothing');

  assert.deepEqual((await ws.tasks.list({ pageSize: 2 })).map((t) => t.sid), [t1.sid, t2.sid, t3.sid]);
  await ws.tasks.page({ pageSize: 2 });
  assertListBody('workspace.task', 'tasks', h.lastBody(), h.base);
  assert.deepEqual((await ws.tasks.list({ priority: 50 })).map((t) => t.sid), [t2.sid]);
  assert.deepEqual((await ws.tasks.list({ ordering: 'Priority:desc' })).map((t) => t.sid), [t2.sid, t1.sid, t3.sid]);
  assert.deepEqual((await ws.tasks.list({ ordering: 'VirtualStartTime:asc' }))[0]?.sid, t3.sid);
  assert.deepEqual((await ws.tasks.list({ evaluateTaskAttributes: 'vip == true' })).map((t) => t.sid), [t2.sid]);
  assert.equal((await ws.tasks.list({ taskQueueSid: s.queue })).length, 3);
  assert.equal((await ws.tasks.list({ taskQueueName: 'All', workflowName: 'Main', workflowSid: s.workflow })).length, 3);
  await assertRestError(() => ws.tasks.list({ ordering: 'DateCreated:asc,VirtualStartTime:desc' }), 400, 20001, /Ordering/);
  assert.equal((await ws.tasks.list({ assignmentStatus: ['lost'] })).length, 0, 'an unknown filter value gives an empty list');
  await assertRestError(() => ws.tasks.list({ priority: 'high' as unknown as number }), 400, 20001, /Priority/);

  const canceled = await ws.tasks(t3.sid).update({ assignmentStatus: 'canceled', reason: 'caller hung up' });
  assert.equal(canceled.assignmentStatus, 'canceled');
  assert.equal(canceled.reason, 'caller hung up');
  assert.deepEqual((await ws.tasks.list({ assignmentStatus: ['pending', 'reserved'] })).map((t) => t.sid), [t1.sid, t2.sid]);
  const comma = await h.raw('GET', `/v1/Workspaces/${s.wsSid}/Tasks?AssignmentStatus=pending%2Ccanceled&PageSize=1`);
  assert.equal((comma.body as { tasks: unknown[] }).tasks.length, 1);
  assert.ok((comma.body as { meta: { next_page_url: string } }).meta.next_page_url.includes('AssignmentStatus=pending%2Ccanceled'));
  await assertRestError(() => ws.tasks(t3.sid).update({ assignmentStatus: 'wrapping' }), 400, 20001);

  await assertRestError(() => ws.tasks.create({ attributes: '{x' }), 400, 20001, /Attributes/);
  await assertRestError(() => ws.tasks.create({ priority: -1 }), 400, 20001, /Priority/);
  await assertRestError(() => ws.tasks.create({ workflowSid: 'WW' + '0'.repeat(32) }), 400, 20001);
  await assertRestError(() => ws.tasks.create({ taskChannel: 'fax' }), 400, 20001, /TaskChannel/);
  const before = (await ws.tasks.list()).length;
  await assertRestError(() => ws.tasks.create({ timeout: 'soon' as unknown as number }), 400, 20001, /Timeout/);
  assert.equal((await ws.tasks.list()).length, before, 'nothing was created');
  await assertRestError(() => ws.tasks('WT' + '0'.repeat(32)).fetch(), 404, 20404);
  assert.equal(await ws.tasks(t2.sid).remove(), true);
  await assertRestError(() => ws.tasks(t2.sid).fetch(), 404, 20404);
});

test('reservations: accepted and completed, rejected with WorkerActivitySid, via task and worker paths', async () => {
  const s = await setup('Reservations');
  const ws = h.client.taskrouter.v1.workspaces(s.wsSid);
  const alice = await ws.workers.create({ friendlyName: 'Alice', activitySid: s.available });
  const task = await ws.tasks.create({ workflowSid: s.workflow, attributes: JSON.stringify({ n: 1 }) });
  assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'reserved');

  const viaTask = await ws.tasks(task.sid).reservations.list({ pageSize: 1 });
  assertListBody('workspace.task.task_reservation', 'reservations', (await h.raw('GET', `/v1/Workspaces/${s.wsSid}/Tasks/${task.sid}/Reservations`)).body, h.base);
  assert.equal(viaTask.length, 1);
  const r = viaTask[0];
  assert.ok(r !== undefined);
  assert.equal(r.reservationStatus, 'pending');
  assert.equal(r.workerName, 'Alice');
  assert.equal(r.workerSid, alice.sid);
  const fetched = await h.raw('GET', `/v1/Workspaces/${s.wsSid}/Tasks/${task.sid}/Reservations/${r.sid}`);
  assertSchema('workspace.task.task_reservation', fetched.body);
  assert.ok(fetched.headers.get('etag') !== null);
  const viaWorker = await ws.workers(alice.sid).reservations.list({ reservationStatus: 'pending' });
  assert.deepEqual(viaWorker.map((x) => x.sid), [r.sid]);
  assertListBody('workspace.worker.worker_reservation', 'reservations', (await h.raw('GET', `/v1/Workspaces/${s.wsSid}/Workers/${alice.sid}/Reservations`)).body, h.base);
  assert.equal((await ws.workers(alice.sid).reservations(r.sid).fetch()).sid, r.sid);
  assertSchema('workspace.worker.worker_reservation', h.lastBody());
  assert.equal((await ws.workers(alice.sid).reservations.list({ reservationStatus: 'sleeping' as 'pending' })).length, 0);

  await assertRestError(() => ws.tasks(task.sid).reservations(r.sid).update({ reservationStatus: 'sleeping' as 'accepted' }), 400, 20001, /ReservationStatus/);
  await assertRestError(() => ws.tasks(task.sid).reservations(r.sid).update({ reservationStatus: 'accepted', ifMatch: '999' }), 412, 20412);
  const accepted = await ws.tasks(task.sid).reservations(r.sid).update({ reservationStatus: 'accepted' });
  assertSchema('workspace.task.task_reservation', h.lastBody());
  assert.equal(accepted.reservationStatus, 'accepted');
  assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'assigned');
  await assertRestError(() => ws.tasks(task.sid).reservations(r.sid).update({ reservationStatus: 'rejected' }), 410, 20410);
  const completed = await ws.workers(alice.sid).reservations(r.sid).update({ reservationStatus: 'completed' });
  assertSchema('workspace.worker.worker_reservation', h.lastBody());
  assert.equal(completed.reservationStatus, 'completed');
  assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'completed');

  // A second task: Alice rejects it and goes to Unavailable.
  const task2 = await ws.tasks.create({ workflowSid: s.workflow });
  const r2 = (await ws.workers(alice.sid).reservations.list({ reservationStatus: 'pending' }))[0];
  assert.ok(r2 !== undefined && r2.taskSid === task2.sid);
  const rejected = await ws.workers(alice.sid).reservations(r2.sid).update({ reservationStatus: 'rejected', workerActivitySid: s.unavailable });
  assert.equal(rejected.reservationStatus, 'rejected');
  const aliceNow = await ws.workers(alice.sid).fetch();
  assert.equal(aliceNow.activityName, 'Unavailable');
  assert.equal((await ws.tasks(task2.sid).fetch()).assignmentStatus, 'pending');
  assert.deepEqual((await ws.tasks(task2.sid).reservations.list({ reservationStatus: 'rejected' })).map((x) => x.sid), [r2.sid]);

  // Wrong parent in the path, unknown reservation.
  await assertRestError(() => ws.tasks(task.sid).reservations(r2.sid).fetch(), 404, 20404);
  await assertRestError(() => ws.workers(alice.sid).reservations('WR' + '0'.repeat(32)).fetch(), 404, 20404);
  await assertRestError(() => ws.tasks(task2.sid).reservations(r2.sid).update({ reservationStatus: 'accepted' }), 410, 20410);
});

test('reservations: wrapping through the reservation, and worker delete refused while busy', async () => {
  const s = await setup('Wrapping');
  const ws = h.client.taskrouter.v1.workspaces(s.wsSid);
  const bo = await ws.workers.create({ friendlyName: 'Bo', activitySid: s.available });
  const task = await ws.tasks.create({});
  const r = (await ws.tasks(task.sid).reservations.list())[0];
  assert.ok(r !== undefined);
  await ws.tasks(task.sid).reservations(r.sid).update({ reservationStatus: 'accepted' });
  await assertRestError(() => ws.workers(bo.sid).remove(), 400, 20001);
  const wrapping = await ws.tasks(task.sid).reservations(r.sid).update({ reservationStatus: 'wrapping' });
  assert.equal(wrapping.reservationStatus, 'wrapping');
  assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'wrapping');
  const done = await ws.tasks(task.sid).update({ assignmentStatus: 'completed', reason: 'done' });
  assert.equal(done.assignmentStatus, 'completed');
  assert.equal((await ws.tasks(task.sid).reservations(r.sid).fetch()).reservationStatus, 'completed');
  assert.equal(await ws.workers(bo.sid).remove(), true);
});

test('reservations: Instruction accept and reject; a telephony instruction with a missing parameter is refused with 400', async () => {
  const s = await setup('Instructions');
  const ws = h.client.taskrouter.v1.workspaces(s.wsSid);
  const cy = await ws.workers.create({ friendlyName: 'Cy', activitySid: s.available });
  const t1 = await ws.tasks.create({});
  const r1 = (await ws.tasks(t1.sid).reservations.list())[0];
  assert.ok(r1 !== undefined);
  await assertRestError(() => ws.tasks(t1.sid).reservations(r1.sid).update({ instruction: 'dequeue', dequeueFrom: '+15550100' }), 400, 20001, /DequeueTo.*contact_uri/);
  await assertRestError(() => ws.tasks(t1.sid).reservations(r1.sid).update({ instruction: 'accept', reservationStatus: 'rejected' }), 400, 20001, /Instruction/);
  assert.equal((await ws.tasks(t1.sid).reservations(r1.sid).fetch()).reservationStatus, 'pending', 'refusals change nothing');
  const rejected = await ws.workers(cy.sid).reservations(r1.sid).update({ instruction: 'reject', workerActivitySid: s.available });
  assert.equal(rejected.reservationStatus, 'rejected');
  const r2 = (await ws.workers(cy.sid).reservations.list({ reservationStatus: 'pending' }))[0];
  assert.ok(r2 !== undefined, 'the task is offered again');
  const accepted = await ws.workers(cy.sid).reservations(r2.sid).update({ instruction: 'accept' });
  assert.equal(accepted.reservationStatus, 'accepted');
});
