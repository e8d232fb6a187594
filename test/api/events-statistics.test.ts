/**
 * Events (list with filters, fetch) and the statistics resources through the official twilio
 * client, with every body checked against its OpenAPI response schema.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assertListBody, assertRestError, assertSchema, startHarness } from './helpers.ts';

const h = await startHarness();
after(() => h.close());

async function busyWorkspace(name: string): Promise<{ wsSid: string; queue: string; workflow: string; worker: string; task: string; reservation: string }> {
  const tr = h.client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: name });
  const w = tr.workspaces(ws.sid);
  const available = (await w.activities.list({ friendlyName: 'Available' }))[0]?.sid as string;
  const queue = await w.taskQueues.create({ friendlyName: 'All' });
  const workflow = await w.workflows.create({ friendlyName: 'Main', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }) });
  const worker = await w.workers.create({ friendlyName: 'Alice', activitySid: available });
  const task = await w.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify({ vip: true }) });
  const reservation = (await w.tasks(task.sid).reservations.list())[0]?.sid as string;
  await h.clock.advance(3_000);
  await w.tasks(task.sid).reservations(reservation).update({ reservationStatus: 'accepted' });
  await w.tasks.create({ workflowSid: workflow.sid, priority: 3 });
  return { wsSid: ws.sid, queue: queue.sid, workflow: workflow.sid, worker: worker.sid, task: task.sid, reservation };
}

test('events: list with filters across pages, fetch', async () => {
  const s = await busyWorkspace('Events');
  const ws = h.client.taskrouter.v1.workspaces(s.wsSid);
  const all = await ws.events.list({ pageSize: 5 });
  assert.ok(all.length > 10);
  assert.equal(new Set(all.map((e) => e.sid)).size, all.length);
  await ws.events.page({ pageSize: 5 });
  assertListBody('workspace.event', 'events', h.lastBody(), h.base);
  const types = all.map((e) => e.eventType);
  for (const t of ['workspace.created', 'task.created', 'reservation.created', 'reservation.accepted', 'worker.created']) assert.ok(types.includes(t), t);

  const created = await ws.events.list({ eventType: 'task.created' });
  assert.equal(created.length, 2);
  const forTask = await ws.events.list({ taskSid: s.task });
  assert.ok(forTask.length > 0 && forTask.every((e) => (e.eventData as Record<string, unknown>)['task_sid'] === s.task));
  const forReservation = await ws.events.list({ reservationSid: s.reservation });
  assert.deepEqual(forReservation.map((e) => e.eventType), ['reservation.created', 'reservation.accepted']);
  assert.ok((await ws.events.list({ workerSid: s.worker })).length > 0);
  assert.ok((await ws.events.list({ taskQueueSid: s.queue })).length > 0);
  assert.ok((await ws.events.list({ workflowSid: s.workflow })).length > 0);
  assert.equal((await ws.events.list({ eventType: 'task.created', taskChannel: 'voice' })).length, 0);
  assert.equal((await ws.events.list({ eventType: 'task.created', taskChannel: 'default' })).length, 2);
  assert.equal((await ws.events.list({ minutes: 1, startDate: new Date(h.clock.now() - 86_400_000), endDate: new Date(h.clock.now() - 3_600_000) })).length, 0);
  await assertRestError(() => ws.events.list({ startDate: new Date(h.clock.now() - 40 * 86_400_000) }), 400, 20001, /StartDate/);

  const first = all[0];
  assert.ok(first !== undefined);
  const one = await ws.events(first.sid).fetch();
  assertSchema('workspace.event', h.lastBody());
  assert.equal(one.eventType, first.eventType);
  assert.equal(one.url, `${h.base}/v1/Workspaces/${s.wsSid}/Events/${first.sid}`);
  const accepted = forReservation[1];
  assert.ok(accepted !== undefined);
  assert.equal(accepted.resourceUrl, `${h.base}/v1/Workspaces/${s.wsSid}/Tasks/${s.task}/Reservations/${s.reservation}`);
  assert.equal(typeof accepted.eventDateMs, 'number');
  await assertRestError(() => ws.events('EV' + '0'.repeat(32)).fetch(), 404, 20404);
});

test('statistics: workspace, task queue, workflow, workers and worker; realtime, cumulative and combined', async () => {
  const s = await busyWorkspace('Statistics');
  const ws = h.client.taskrouter.v1.workspaces(s.wsSid);

  const rt = await ws.realTimeStatistics().fetch();
  assertSchema('workspace.workspace_real_time_statistics', h.lastBody());
  assert.equal(rt.totalTasks, 2);
  assert.deepEqual(rt.tasksByStatus, { pending: 1, reserved: 0, assigned: 1, wrapping: 0 });
  assert.equal(rt.totalWorkers, 1);
  await h.clock.advance(61_000);
  const later = await ws.realTimeStatistics().fetch();
  assert.ok(later.longestTaskWaitingAge >= 61, `ages are as of now, not of the last command (${later.longestTaskWaitingAge})`);
  assert.ok((await ws.taskQueues(s.queue).realTimeStatistics().fetch()).longestRelativeTaskAgeInQueue >= 61);
  const cum = await ws.cumulativeStatistics().fetch({ minutes: 60, splitByWaitTime: '1,10' });
  assertSchema('workspace.workspace_cumulative_statistics', h.lastBody());
  assert.equal(cum.tasksCreated, 2);
  assert.equal(cum.reservationsAccepted, 1);
  assert.ok(cum.splitByWaitTime !== null);
  const both = await ws.statistics().fetch();
  assertSchema('workspace.workspace_statistics', h.lastBody());
  assert.equal((both.realtime as { total_tasks: number }).total_tasks, 2);
  await ws.realTimeStatistics().fetch({ taskChannel: 'voice' });
  assert.equal((h.lastBody() as { total_tasks: number }).total_tasks, 0);
  await assertRestError(() => ws.cumulativeStatistics().fetch({ startDate: new Date(h.clock.now() - 40 * 86_400_000) }), 400, 14241);
  await assertRestError(() => ws.cumulativeStatistics().fetch({ minutes: 'x' as unknown as number }), 400, 20001, /Minutes/);
  await assertRestError(() => ws.realTimeStatistics().fetch({ taskChannel: 'fax' }), 400, 20001, /TaskChannel/);

  const q = ws.taskQueues(s.queue);
  const qrt = await q.realTimeStatistics().fetch();
  assertSchema('workspace.task_queue.task_queue_real_time_statistics', h.lastBody());
  assert.equal(qrt.totalEligibleWorkers, 1);
  assert.equal(qrt.taskQueueSid, s.queue);
  await q.cumulativeStatistics().fetch();
  assertSchema('workspace.task_queue.task_queue_cumulative_statistics', h.lastBody());
  await q.statistics().fetch();
  assertSchema('workspace.task_queue.task_queue_statistics', h.lastBody());
  await ws.taskQueues.create({ friendlyName: 'Second' });
  const list = await ws.taskQueues.statistics.list({ pageSize: 1 });
  assert.equal(list.length, 2);
  await ws.taskQueues.statistics.page({ pageSize: 1 });
  assertListBody('workspace.task_queue.task_queues_statistics', 'task_queues_statistics', h.lastBody(), h.base);
  const bulk = await ws.taskQueues.bulkRealTimeStatistics.create([s.queue] as unknown as object);
  assertSchema('workspace.task_queue.task_queue_bulk_real_time_statistics', h.lastBody());
  assert.equal(bulk.taskQueueResponseCount, 1);
  await assertRestError(() => ws.taskQueues('WQ' + '0'.repeat(32)).realTimeStatistics().fetch(), 404, 20404);
  const badBulk = await h.raw('POST', `/v1/Workspaces/${s.wsSid}/TaskQueues/RealTimeStatistics`, { body: JSON.stringify({ task_queue_sids: ['nope'] }), contentType: 'application/json' });
  assert.equal(badBulk.status, 400);

  const wf = ws.workflows(s.workflow);
  assert.equal((await wf.realTimeStatistics().fetch()).totalTasks, 2);
  assertSchema('workspace.workflow.workflow_real_time_statistics', h.lastBody());
  await wf.cumulativeStatistics().fetch();
  assertSchema('workspace.workflow.workflow_cumulative_statistics', h.lastBody());
  await wf.statistics().fetch();
  assertSchema('workspace.workflow.workflow_statistics', h.lastBody());

  const wrt = await ws.workers.realTimeStatistics().fetch();
  assertSchema('workspace.worker.workers_real_time_statistics', h.lastBody());
  assert.equal(wrt.totalWorkers, 1);
  await ws.workers.cumulativeStatistics().fetch();
  assertSchema('workspace.worker.workers_cumulative_statistics', h.lastBody());
  await ws.workers.statistics().fetch({ taskQueueSid: s.queue });
  assertSchema('workspace.worker.worker_statistics', h.lastBody());
  const one = await ws.workers(s.worker).statistics().fetch();
  assertSchema('workspace.worker.worker_instance_statistics', h.lastBody());
  assert.equal((one.cumulative as { reservations_accepted: number }).reservations_accepted, 1);
});

test("statistics windows end at the request's instant, not at the workspace's last write (spec §10)", async () => {
  const tr = h.client.taskrouter.v1;
  const created = await tr.workspaces.create({ friendlyName: 'Quiet' });
  const ws = tr.workspaces(created.sid);
  const available = (await ws.activities.list({ friendlyName: 'Available' }))[0]?.sid as string;
  const queue = await ws.taskQueues.create({ friendlyName: 'All', targetWorkers: '1==2' });
  const workflow = await ws.workflows.create({ friendlyName: 'Main', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }) });
  const worker = await ws.workers.create({ friendlyName: 'Alice', activitySid: available });
  await ws.tasks.create({ workflowSid: workflow.sid });
  // The last write. From here on the workspace is quiet; only the (injected) clock moves.
  const lastWrite = h.clock.now();

  await h.clock.advance(65_000);
  const availableSeconds = (stats: { activity_durations: { friendly_name: string; total: number; min: number; max: number }[] }): [number, number, number] => {
    const d = stats.activity_durations.find((x) => x.friendly_name === 'Available');
    assert.ok(d !== undefined);
    return [d.total, d.min, d.max];
  };
  const one = await ws.workers(worker.sid).statistics().fetch();
  const [total, min, max] = availableSeconds(one.cumulative as never);
  assert.equal(total, 65, 'Alice has been Available for 65 s of virtual time');
  assert.deepEqual([min, max], [total, total]);
  await ws.workers.cumulativeStatistics().fetch();
  const [allTotal] = availableSeconds(h.lastBody() as never);
  assert.equal(allTotal, 65, 'the Workers resource counts the same time');
  const fetchedAt = h.clock.now();
  const end = Date.parse((h.lastBody() as { end_time: string }).end_time);
  assert.ok(end > lastWrite + 60_000 && end <= fetchedAt, `end_time is the request's instant (${(h.lastBody() as { end_time: string }).end_time})`);

  // Seven quiet minutes after the task was created: Minutes=5 no longer holds it, Minutes=10 does.
  await h.clock.advance(7 * 60_000 - 65_000);
  assert.equal((await ws.cumulativeStatistics().fetch({ minutes: 5 })).tasksCreated, 0, 'Minutes=5 is the five minutes before the request');
  assert.equal((await ws.cumulativeStatistics().fetch({ minutes: 10 })).tasksCreated, 1);
  assert.equal((await ws.taskQueues(queue.sid).cumulativeStatistics().fetch({ minutes: 5 })).tasksEntered, 0);
  assert.equal((await ws.taskQueues(queue.sid).cumulativeStatistics().fetch({ minutes: 10 })).tasksEntered, 1);
  assert.equal((await ws.workflows(workflow.sid).cumulativeStatistics().fetch({ minutes: 5 })).tasksEntered, 0);
  const recent = await ws.workers(worker.sid).statistics().fetch({ minutes: 5 });
  assert.equal(availableSeconds(recent.cumulative as never)[0], 300, 'the last five minutes were all Available');
  // An EndDate after the request counts nothing that has not happened yet.
  const future = await ws.workers(worker.sid).statistics().fetch({ startDate: new Date(lastWrite - 1_000), endDate: new Date(h.clock.now() + 3_600_000) });
  const [futureTotal] = availableSeconds(future.cumulative as never);
  assert.equal(futureTotal, 420, 'time in the current activity stops at the request');
});
