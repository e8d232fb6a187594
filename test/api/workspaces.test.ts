/**
 * Workspaces, Activities and TaskChannels through the official twilio client; auth, errors,
 * paging and response shapes (OpenAPI schemas).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { assertListBody, assertRestError, assertSchema, startHarness } from './helpers.ts';

const h = await startHarness();
after(() => h.close());

test('healthz answers without credentials', async () => {
  const r = await h.raw('GET', '/healthz', { auth: null });
  assert.equal(r.status, 200);
});

test('workspace: create, fetch, update, list across pages, delete', async () => {
  const tr = h.client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: 'Support', eventCallbackUrl: 'https://example.com/events', multiTaskEnabled: true, template: 'FIFO' });
  assertSchema('workspace', h.lastBody());
  assert.match(ws.sid, /^WS[0-9a-f]{32}$/);
  assert.equal(ws.friendlyName, 'Support');
  assert.equal(ws.defaultActivityName, 'Offline');
  assert.equal(ws.timeoutActivityName, 'Offline');
  assert.equal(ws.prioritizeQueueOrder, 'FIFO');
  assert.equal(ws.url, `${h.base}/v1/Workspaces/${ws.sid}`);
  assert.equal((ws.links as Record<string, string>)['task_queues'], `${h.base}/v1/Workspaces/${ws.sid}/TaskQueues`);

  const fetched = await tr.workspaces(ws.sid).fetch();
  assertSchema('workspace', h.lastBody());
  assert.equal(fetched.sid, ws.sid);

  const available = (await tr.workspaces(ws.sid).activities.list({ friendlyName: 'Available' }))[0];
  assert.ok(available !== undefined);
  const updated = await tr.workspaces(ws.sid).update({ friendlyName: 'Support 2', timeoutActivitySid: available.sid, prioritizeQueueOrder: 'LIFO' });
  assertSchema('workspace', h.lastBody());
  assert.equal(updated.friendlyName, 'Support 2');
  assert.equal(updated.timeoutActivityName, 'Available');
  assert.equal(updated.prioritizeQueueOrder, 'LIFO');

  for (let i = 0; i < 4; i++) await tr.workspaces.create({ friendlyName: `Extra ${i}` });
  const all = await tr.workspaces.list({ pageSize: 2 });
  assert.equal(all.length, 5);
  assert.equal(new Set(all.map((w) => w.sid)).size, 5);
  const seen: string[] = [];
  await tr.workspaces.each({ pageSize: 2 }, (w) => void seen.push(w.sid));
  assert.deepEqual(seen, all.map((w) => w.sid));
  const limited = await tr.workspaces.list({ limit: 3, pageSize: 2 });
  assert.equal(limited.length, 3);
  const page = await tr.workspaces.page({ pageSize: 2 });
  const body = assertListBody('workspace', 'workspaces', h.lastBody(), h.base);
  assert.equal(body.length, 2);
  assert.ok(page.nextPageUrl?.startsWith(`${h.base}/v1/Workspaces?PageSize=2&Page=1&PageToken=PA`));
  const byName = await tr.workspaces.list({ friendlyName: 'Extra 2' });
  assert.equal(byName.length, 1);
  await tr.workspaces.page({ friendlyName: 'Extra 2', pageSize: 1 });
  const meta = (h.lastBody() as { meta: { url: string; first_page_url: string } }).meta;
  assert.equal(meta.url, `${h.base}/v1/Workspaces?FriendlyName=Extra%202&PageSize=1&Page=0`);
  assert.equal(meta.first_page_url, meta.url);

  assert.equal(await tr.workspaces(ws.sid).remove(), true);
  await assertRestError(() => tr.workspaces(ws.sid).fetch(), 404, 20404);
});

test('workspace: bad parameters are refused with 400/20001 naming the parameter, and change nothing', async () => {
  const tr = h.client.taskrouter.v1;
  await assertRestError(() => tr.workspaces.create({ friendlyName: '' }), 400, 20001, /FriendlyName/);
  await assertRestError(() => tr.workspaces.create({ friendlyName: 'x'.repeat(65) }), 400, 20001, /FriendlyName/);
  const ws = await tr.workspaces.create({ friendlyName: 'Params' });
  const r = await h.raw('POST', `/v1/Workspaces/${ws.sid}`, { body: 'FriendlyName=Changed&MultiTaskEnabled=maybe' });
  assert.equal(r.status, 400);
  assert.deepEqual(Object.keys(r.body as object).sort(), ['code', 'message', 'more_info', 'status']);
  assert.match((r.body as { message: string }).message, /MultiTaskEnabled/);
  assert.equal((await tr.workspaces(ws.sid).fetch()).friendlyName, 'Params', 'nothing changed');
  const yes = await h.raw('POST', `/v1/Workspaces/${ws.sid}`, { body: 'MultiTaskEnabled=YES' });
  assert.equal(yes.status, 200);
  assert.equal((yes.body as { multi_task_enabled: boolean }).multi_task_enabled, true);
  await assertRestError(() => tr.workspaces(ws.sid).update({ prioritizeQueueOrder: 'RANDOM' as 'FIFO' }), 400, 20001, /PrioritizeQueueOrder/);
  await assertRestError(() => tr.workspaces(ws.sid).update({ defaultActivitySid: 'WA' + '0'.repeat(32) }), 400, 20001);
  await assertRestError(() => tr.workspaces(ws.sid).update({ eventsFilter: 'task.created,task.exploded' }), 400, 20001, /task\.exploded/);
  const filtered = await tr.workspaces(ws.sid).update({ eventsFilter: 'task.created, task.canceled' });
  assert.equal(filtered.eventsFilter, 'task.created,task.canceled');
});

test('auth: bad credentials 401/20003; API keys work; another account sees 404', async () => {
  const ws = await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Mine' });
  const bad = h.newClient(h.account.sid, 'wrong');
  await assertRestError(() => bad.taskrouter.v1.workspaces.list(), 401, 20003);
  const none = await h.raw('GET', '/v1/Workspaces', { auth: null });
  assert.equal(none.status, 401);
  assert.equal((none.body as { code: number }).code, 20003);
  assert.ok(none.headers.get('www-authenticate')?.startsWith('Basic'));

  const key = await h.runtime.createApiKey(h.account.sid, 'ci');
  const viaKey = h.newClient(key.sid, key.secret, h.account.sid);
  assert.equal((await viaKey.taskrouter.v1.workspaces(ws.sid).fetch()).sid, ws.sid);

  const other = await h.runtime.createAccount('Other');
  const otherClient = h.newClient(other.sid, other.secret);
  await assertRestError(() => otherClient.taskrouter.v1.workspaces(ws.sid).fetch(), 404, 20404);
  await assertRestError(() => otherClient.taskrouter.v1.workspaces(ws.sid).activities.list(), 404, 20404);
  await assertRestError(() => otherClient.taskrouter.v1.workspaces(ws.sid).remove(), 404, 20404);
  assert.equal((await otherClient.taskrouter.v1.workspaces.list()).length, 0);
});

test('unknown paths are 404/20404, wrong methods 405/20004', async () => {
  const ws = await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Paths' });
  const nf = await h.raw('GET', `/v1/Workspaces/${ws.sid}/Nope`);
  assert.equal(nf.status, 404);
  assert.equal((nf.body as { code: number }).code, 20404);
  const na = await h.raw('DELETE', `/v1/Workspaces/${ws.sid}/Events`);
  assert.equal(na.status, 405);
  assert.equal((na.body as { code: number }).code, 20004);
});

test('activities: create, fetch, update, list with filters and pages, delete; errors', async () => {
  const ws = h.client.taskrouter.v1.workspaces((await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Activities' })).sid);
  const lunch = await ws.activities.create({ friendlyName: 'Lunch', available: false });
  assertSchema('workspace.activity', h.lastBody());
  assert.equal(lunch.available, false);
  const busy = await ws.activities.create({ friendlyName: 'Chatty', available: true });
  assert.equal(busy.available, true);
  assert.equal((await ws.activities(lunch.sid).fetch()).friendlyName, 'Lunch');
  assertSchema('workspace.activity', h.lastBody());
  const renamed = await ws.activities(lunch.sid).update({ friendlyName: 'Long lunch' });
  assertSchema('workspace.activity', h.lastBody());
  assert.equal(renamed.friendlyName, 'Long lunch');
  assert.equal(renamed.available, false);

  const all = await ws.activities.list({ pageSize: 2 });
  assert.deepEqual(all.map((a) => a.friendlyName), ['Offline', 'Available', 'Unavailable', 'Long lunch', 'Chatty']);
  await ws.activities.page({ pageSize: 2 });
  assertListBody('workspace.activity', 'activities', h.lastBody(), h.base);
  const availableOnes = await ws.activities.list({ available: 'true' });
  assert.deepEqual(availableOnes.map((a) => a.friendlyName), ['Available', 'Chatty']);
  assert.deepEqual((await ws.activities.list({ friendlyName: 'Nobody' })).length, 0);
  await assertRestError(() => ws.activities.list({ available: 'sometimes' }), 400, 20001, /Available/);

  await assertRestError(() => ws.activities.create({ friendlyName: 'Long lunch' }), 400, 20001);
  await assertRestError(() => ws.activities.create({ friendlyName: 'X', available: 'maybe' as unknown as boolean }), 400, 20001, /Available/);
  const offline = all[0];
  assert.ok(offline !== undefined);
  await assertRestError(() => ws.activities(offline.sid).remove(), 400, 20001);
  await assertRestError(() => ws.activities('WA' + 'f'.repeat(32)).fetch(), 404, 20404);
  assert.equal(await ws.activities(busy.sid).remove(), true);
  await assertRestError(() => ws.activities(busy.sid).fetch(), 404, 20404);
});

test('task channels: by SID or unique name; create, update, list, delete; errors', async () => {
  const wsSid = (await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Channels' })).sid;
  const ws = h.client.taskrouter.v1.workspaces(wsSid);
  const seeded = await ws.taskChannels.list({ pageSize: 2 });
  assert.deepEqual(seeded.map((c) => c.uniqueName), ['default', 'voice', 'chat', 'sms', 'video']);
  await ws.taskChannels.page({ pageSize: 2 });
  assertListBody('workspace.task_channel', 'channels', h.lastBody(), h.base);
  const email = await ws.taskChannels.create({ friendlyName: 'Email', uniqueName: 'email', channelOptimizedRouting: true });
  assertSchema('workspace.task_channel', h.lastBody());
  assert.equal(email.channelOptimizedRouting, true);
  assert.equal((await ws.taskChannels('email').fetch()).sid, email.sid);
  assertSchema('workspace.task_channel', h.lastBody());
  const upd = await ws.taskChannels(email.sid).update({ friendlyName: 'E-mail', channelOptimizedRouting: false });
  assert.equal(upd.friendlyName, 'E-mail');
  assert.equal(upd.channelOptimizedRouting, false);
  await assertRestError(() => ws.taskChannels.create({ friendlyName: 'Bad', uniqueName: '1bad' }), 400, 20001);
  await assertRestError(() => ws.taskChannels.create({ friendlyName: 'Dup', uniqueName: 'email' }), 400, 20001);
  const noName = await h.raw('POST', `/v1/Workspaces/${wsSid}/TaskChannels`, { body: 'FriendlyName=NoName' });
  assert.equal(noName.status, 400);
  assert.match((noName.body as { message: string }).message, /UniqueName/);
  assert.equal(await ws.taskChannels('email').remove(), true);
  await assertRestError(() => ws.taskChannels('email').fetch(), 404, 20404);
});
