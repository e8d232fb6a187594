/**
 * API keys (`/2010-04-01/Accounts/{AC}/Keys`, through the official twilio client) and access
 * tokens (`twilio.jwt.AccessToken`, verified as a Bearer token on the REST API and in the worker
 * SDK's envelope): the secret shown once and never stored in clear, durable across a restart on
 * either store, Basic auth with a key, a removed key refused at once, and each role's reach.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { testStoreOptions } from '../support/store.ts';
import { startSdkHarness, type SdkHarness } from './harness.ts';

let h: SdkHarness;
before(async () => {
  h = await startSdkHarness();
});
after(async () => {
  await h.close();
});

const keyClient = (sid: string, secret: string): ReturnType<typeof twilio> => {
  const c = twilio(sid, secret, { accountSid: h.account.sid });
  c.taskrouter.baseUrl = h.base;
  c.api.baseUrl = h.base;
  return c;
};

/** A REST call with `Authorization: Bearer <token>`. */
async function bearer(method: string, path: string, token: string, form?: Record<string, string>): Promise<{ status: number; body: { message?: string; code?: number } & Record<string, unknown> }> {
  const res = await fetch(h.base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
    ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as { message?: string }) };
}

test('keys: created with the secret once, listed, fetched and renamed without it, removed; Basic auth with a key works until then', async () => {
  const created = await h.client.newKeys.create({ friendlyName: 'desk' });
  assert.match(created.sid, /^SK[0-9a-f]{32}$/);
  assert.match(created.secret, /^[0-9a-f]{32}$/);
  assert.match(JSON.stringify(h.client.httpClient.lastResponse?.body), /"date_created\\?":\\?"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000/, 'RFC 2822 dates');
  assert.ok(Math.abs(created.dateCreated.getTime() - h.scheduler.now()) < 2_000);
  const listed = await h.client.keys.list();
  assert.deepEqual(listed.map((k) => k.friendlyName).sort(), ['agents', 'desk']);
  assert.ok(!JSON.stringify(h.client.httpClient.lastResponse?.body).includes(created.secret), 'the list never shows a secret');
  assert.equal((await h.client.keys(created.sid).fetch()).friendlyName, 'desk');
  assert.equal((await h.client.keys(created.sid).update({ friendlyName: 'front desk' })).friendlyName, 'front desk');
  await assert.rejects(h.client.newKeys.create({ friendlyName: 'x'.repeat(65) }), (e: { status?: number; message?: string }) => e.status === 400 && /FriendlyName/.test(e.message ?? ''));

  const viaKey = keyClient(created.sid, created.secret);
  assert.equal((await viaKey.taskrouter.v1.workspaces(h.workspaceSid).fetch()).sid, h.workspaceSid);
  await assert.rejects(viaKey.keys.list(), (e: { status?: number }) => e.status === 403, 'a key does not manage keys');
  await assert.rejects(keyClient(created.sid, 'f'.repeat(32)).taskrouter.v1.workspaces(h.workspaceSid).fetch(), (e: { status?: number }) => e.status === 401);

  assert.equal(await h.client.keys(created.sid).remove(), true);
  await assert.rejects(viaKey.taskrouter.v1.workspaces(h.workspaceSid).fetch(), (e: { status?: number }) => e.status === 401, 'a removed key is refused at once');
  await assert.rejects(h.client.keys(created.sid).fetch(), (e: { status?: number }) => e.status === 404);
});

test('keys survive a restart (store rows hold a hash and a sealed copy, never the secret), and tokens signed with them still verify', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-keys-'));
  let runtime = await Runtime.open(testStoreOptions(dir));
  const account = await runtime.createAccount('Restart');
  const key = await runtime.createApiKey(account.sid, 'kept');
  const stored = JSON.stringify(await runtime.store.loadCoreRows('keys'));
  assert.ok(stored.includes(key.sid));
  assert.ok(!stored.includes(key.secret), 'the secret is not stored in clear');
  await runtime.close();
  runtime = await Runtime.open(testStoreOptions(dir));
  try {
    assert.equal(runtime.authenticate(key.sid, key.secret), account.sid);
    assert.equal(runtime.authenticate(key.sid, 'nope'), null);
    assert.equal(runtime.keys.signingSecret(key.sid)?.secret, key.secret);
    const app = buildApp({ runtime });
    const ws = await app.inject({ method: 'POST', url: '/v1/Workspaces', headers: { authorization: `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'FriendlyName=R' });
    const wsSid = (JSON.parse(ws.body) as { sid: string }).sid;
    const t = new twilio.jwt.AccessToken(account.sid, key.sid, key.secret, { identity: 'boss', ttl: 600 });
    t.addGrant(new twilio.jwt.AccessToken.TaskRouterGrant({ workspaceSid: wsSid, role: 'admin' }));
    const res = await app.inject({ method: 'GET', url: `/v1/Workspaces/${wsSid}/Activities`, headers: { authorization: `Bearer ${t.toJwt()}` } });
    assert.equal(res.statusCode, 200, res.body);
    await app.close();
  } finally {
    await runtime.close();
  }
});

test('tokens: a bad signature, an unknown key, another account, an expired token and a missing grant are 401 with Twilio\'s codes', async () => {
  const wk = await h.newWorker('Kim');
  const path = `/v1/Workspaces/${h.workspaceSid}/Workers/${wk}`;
  assert.equal((await bearer('GET', path, h.token(wk))).status, 200);
  const forged = await bearer('GET', path, h.token(wk, { secret: 'f'.repeat(32) }));
  assert.deepEqual([forged.status, forged.body.code], [401, 20107]);
  const unknown = new twilio.jwt.AccessToken(h.account.sid, `SK${'0'.repeat(32)}`, h.key.secret, { identity: 'x' });
  unknown.addGrant(new twilio.jwt.AccessToken.TaskRouterGrant({ workspaceSid: h.workspaceSid, workerSid: wk, role: 'worker' }));
  assert.equal((await bearer('GET', path, unknown.toJwt())).body.code, 20103);
  const otherAccount = new twilio.jwt.AccessToken(`AC${'1'.repeat(32)}`, h.key.sid, h.key.secret, { identity: 'x' });
  otherAccount.addGrant(new twilio.jwt.AccessToken.TaskRouterGrant({ workspaceSid: h.workspaceSid, workerSid: wk, role: 'worker' }));
  assert.equal((await bearer('GET', path, otherAccount.toJwt())).body.code, 20103);
  const short = h.token(wk, { ttl: 10 });
  await h.advance(11_000);
  const expired = await bearer('GET', path, short);
  assert.deepEqual([expired.status, expired.body.code], [401, 20104]);
  const noGrant = new twilio.jwt.AccessToken(h.account.sid, h.key.sid, h.key.secret, { identity: 'x' });
  assert.equal((await bearer('GET', path, noGrant.toJwt())).body.code, 20106);
  const badRole = await bearer('GET', path, h.token(wk, { role: 'owner' }));
  assert.deepEqual([badRole.status, badRole.body.code], [401, 20106]);
});

test('roles: a worker token acts on itself only, a supervisor on the workspace\'s workers and tasks, an admin on everything in its workspace', async () => {
  const me = await h.newWorker('Lee');
  const other = await h.newWorker('Max');
  const ws = `/v1/Workspaces/${h.workspaceSid}`;
  const worker = h.token(me);
  assert.equal((await bearer('POST', `${ws}/Workers/${me}`, worker, { ActivitySid: h.activities.Unavailable })).status, 200);
  assert.equal((await bearer('GET', `${ws}/Activities`, worker)).status, 200);
  const denied = await bearer('POST', `${ws}/Workers/${other}`, worker, { ActivitySid: h.activities.Unavailable });
  assert.deepEqual([denied.status, denied.body.code], [403, 20403]);
  assert.match(denied.body.message ?? '', /own worker/);
  assert.equal((await bearer('DELETE', `${ws}/Workers/${me}`, worker)).status, 403);
  assert.equal((await bearer('POST', `${ws}/Tasks`, worker, { WorkflowSid: h.workflowSid, Attributes: '{}' })).status, 403, 'a task for anyone');
  assert.equal((await bearer('POST', `${ws}/Tasks`, worker, { WorkflowSid: h.workflowSid, Attributes: '{}', RoutingTarget: me })).status, 201, 'a task for itself');
  assert.equal((await bearer('GET', '/v1/Workspaces', worker)).status, 403, 'outside its workspace');

  const supervisor = h.token(me, { role: 'supervisor' });
  assert.equal((await bearer('POST', `${ws}/Workers/${other}`, supervisor, { ActivitySid: h.activities.Unavailable })).status, 200);
  assert.equal((await bearer('GET', `${ws}/Workers`, supervisor)).status, 200);
  assert.equal((await bearer('POST', `${ws}/Activities`, supervisor, { FriendlyName: 'Lunch' })).status, 403, 'no configuration changes');

  const admin = h.token(null, { role: 'admin' });
  assert.equal((await bearer('POST', `${ws}/Activities`, admin, { FriendlyName: 'Lunch', Available: 'false' })).status, 201);
  assert.equal((await bearer('GET', `/v1/Workspaces/WS${'0'.repeat(32)}/Workers`, admin)).status, 403, 'another workspace');
  const noWorker = await fetch(`${h.ebServer}`, { method: 'POST', body: JSON.stringify({ url: `Workspaces/${h.workspaceSid}/Workers/${me}`, method: 'GET', token: admin }) });
  assert.equal(noWorker.status, 200, 'an admin reads any worker over the envelope');
  for (const sid of [me, other]) await h.client.taskrouter.v1.workspaces(h.workspaceSid).workers(sid).update({ activitySid: h.activities.Offline });
  for (const t of await h.client.taskrouter.v1.workspaces(h.workspaceSid).tasks.list()) await h.client.taskrouter.v1.workspaces(h.workspaceSid).tasks(t.sid).update({ assignmentStatus: 'canceled' });
});

test('directory: a worker token lists and fetches colleagues, workflows and phone numbers, and nothing more of them', async () => {
  const me = await h.newWorker('Ana');
  const other = await h.newWorker('Bo');
  const ws = `/v1/Workspaces/${h.workspaceSid}`;
  const worker = h.token(me);
  const admin = h.token(null, { role: 'admin' });
  const flow = await bearer('POST', `${ws}/CallFlows`, admin, { FriendlyName: 'Main', Definition: JSON.stringify({ steps: [{ id: 'bye', hangup: {} }] }) });
  assert.equal(flow.status, 201, JSON.stringify(flow.body));
  const number = await bearer('POST', `${ws}/PhoneNumbers`, admin, { PhoneNumber: '+14155550199', CallFlowSid: String(flow.body['sid']), FriendlyName: 'Sales line' });
  assert.equal(number.status, 201, JSON.stringify(number.body));
  const numberSid = String(number.body['sid']);

  // Allowed: the lists and one item of each.
  const list = await bearer('GET', `${ws}/Workers?PageSize=50`, worker);
  assert.equal(list.status, 200);
  const names = (list.body['workers'] as Array<{ friendly_name: string }>).map((w) => w.friendly_name);
  assert.ok(names.includes('Bo') && names.includes('Ana'), names.join());
  const colleague = await bearer('GET', `${ws}/Workers/${other}`, worker);
  assert.deepEqual([colleague.status, colleague.body['friendly_name']], [200, 'Bo']);
  assert.equal((await bearer('GET', `${ws}/Workflows`, worker)).status, 200);
  assert.equal((await bearer('GET', `${ws}/Workflows/${h.workflowSid}`, worker)).status, 200);
  const numbers = await bearer('GET', `${ws}/PhoneNumbers`, worker);
  assert.equal(numbers.status, 200);
  assert.deepEqual((numbers.body['phone_numbers'] as Array<{ phone_number: string }>).map((n) => n.phone_number), ['+14155550199']);
  assert.equal((await bearer('GET', `${ws}/PhoneNumbers/${numberSid}`, worker)).status, 200);

  // Still forbidden: a colleague's sub-resources, workspace-wide statistics, writes, other collections.
  for (const [method, path] of [
    ['GET', `${ws}/Workers/${other}/Reservations`],
    ['GET', `${ws}/Workers/${other}/Channels`],
    ['GET', `${ws}/Workers/${other}/Statistics`],
    ['GET', `${ws}/Workers/Statistics`],
    ['GET', `${ws}/Workflows/${h.workflowSid}/Statistics`],
    ['POST', `${ws}/Workers/${other}`],
    ['DELETE', `${ws}/Workers/${other}`],
    ['POST', `${ws}/Workers`],
    ['POST', `${ws}/Workflows/${h.workflowSid}`],
    ['POST', `${ws}/PhoneNumbers`],
    ['DELETE', `${ws}/PhoneNumbers/${numberSid}`],
    ['GET', `${ws}/CallFlows`],
  ] as const) {
    const r = await bearer(method, path, worker, method === 'POST' ? { FriendlyName: 'x' } : undefined);
    assert.deepEqual([r.status, r.body.code], [403, 20403], `${method} ${path}`);
  }
  // Nothing changed.
  assert.equal((await h.client.taskrouter.v1.workspaces(h.workspaceSid).workers(other).fetch()).friendlyName, 'Bo');
  assert.equal((await bearer('GET', `${ws}/PhoneNumbers/${numberSid}`, admin)).body['friendly_name'], 'Sales line');
});
