/**
 * The Event resource's `actor_sid`/`actor_type`/`actor_url` and `source_ip_address` (spec §9.3),
 * read through the official twilio client's events list: events caused by a REST request carry
 * the credential that made it (the Account SID, or the API key), events caused by a timer carry
 * the workspace. Every body is validated against the OpenAPI Event schema.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assertSchema, startHarness } from './helpers.ts';

const h = await startHarness();
after(() => h.close());

interface Ev {
  sid: string;
  eventType: string;
  resourceSid: string;
  actorSid: string | null;
  actorType: string | null;
  actorUrl: string | null;
  sourceIpAddress: string | null;
}

async function events(wsSid: string, filter: Record<string, string> = {}): Promise<Ev[]> {
  const list = (await h.client.taskrouter.v1.workspaces(wsSid).events.list({ ...filter, pageSize: 1000 })) as unknown as Ev[];
  for (const e of (h.lastBody() as { events: unknown[] }).events) assertSchema('workspace.event', e);
  return list;
}

test('REST-caused events carry the account or API key that sent the request; timer-caused events carry the workspace', { timeout: 20_000 }, async () => {
  const tr = h.client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: 'Actors' });
  const w = tr.workspaces(ws.sid);
  const acts = await w.activities.list();
  const available = acts.find((a) => a.friendlyName === 'Available')?.sid as string;
  const queue = await w.taskQueues.create({ friendlyName: 'All' });
  const workflow = await w.workflows.create({ friendlyName: 'Fast', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }), taskReservationTimeout: 1 });

  // With the Account SID: the worker's creation.
  const worker = await w.workers.create({ friendlyName: 'Ann' });
  const created = (await events(ws.sid, { workerSid: worker.sid })).find((e) => e.eventType === 'worker.created');
  assert.ok(created !== undefined);
  assert.equal(created.actorType, 'account');
  assert.equal(created.actorSid, h.account.sid);
  assert.equal(created.actorUrl, null, 'accounts are not a resource this server serves');
  assert.equal(created.sourceIpAddress, '127.0.0.1', 'the caller IP');

  // With an API key of the same account: the activity change and the routing it causes.
  const key = await h.runtime.createApiKey(h.account.sid, 'ci');
  const viaKey = h.newClient(key.sid, key.secret, h.account.sid).taskrouter.v1.workspaces(ws.sid);
  await viaKey.workers(worker.sid).update({ activitySid: available });
  const task = await viaKey.tasks.create({ workflowSid: workflow.sid, attributes: '{}' });
  const byKey = await events(ws.sid, { taskSid: task.sid });
  const taskCreated = byKey.find((e) => e.eventType === 'task.created');
  assert.equal(taskCreated?.actorType, 'api_key');
  assert.equal(taskCreated?.actorSid, key.sid);
  const reserved = byKey.find((e) => e.eventType === 'reservation.created');
  assert.equal(reserved?.actorSid, key.sid, 'routing done by the same command is caused by the same request');
  const activity = (await events(ws.sid, { workerSid: worker.sid, eventType: 'worker.activity.update' }))[0];
  assert.equal(activity?.actorType, 'api_key');
  assert.equal(activity?.actorSid, key.sid);

  // A timer: the reservation times out after 1 s (virtual) without anyone sending a command.
  const timeoutOf = async (): Promise<Ev | undefined> => (await events(ws.sid, { taskSid: task.sid })).find((e) => e.eventType === 'reservation.timeout');
  await h.clock.advance(999);
  assert.equal(await timeoutOf(), undefined, 'not before the 1 s reservation timeout');
  await h.clock.advance(1);
  const timedOut = await timeoutOf();
  assert.ok(timedOut !== undefined, 'the reservation timed out');
  assert.equal(timedOut.actorType, 'workspace');
  assert.equal(timedOut.actorSid, ws.sid);
  assert.equal(timedOut.actorUrl, `${h.base}/v1/Workspaces/${ws.sid}`);
  assert.equal(timedOut.sourceIpAddress, null);

  // The single-event fetch says the same.
  const one = await w.events(taskCreated?.sid as string).fetch();
  assertSchema('workspace.event', h.lastBody());
  assert.equal(one.actorSid, key.sid);
  assert.equal(one.actorType, 'api_key');
});

test('workspace creation events name the account that created the workspace', async () => {
  const ws = await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Created' });
  const all = await events(ws.sid, { minutes: '5' });
  assert.ok(all.length > 0, 'creating a workspace records events (its default activities)');
  for (const e of all) {
    assert.equal(e.actorType, 'account', e.eventType);
    assert.equal(e.actorSid, h.account.sid, e.eventType);
  }
});
