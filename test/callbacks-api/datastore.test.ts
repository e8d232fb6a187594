/**
 * The datastore over HTTP (spec callbacks-and-ewt §5, §9.7): templates created under a workspace
 * return their token once; `POST /api/v1/data_sets` and `GET /api/v1/data_sets/search` take it as
 * a Bearer token; unknown keys are dropped; one template's token cannot read another's data;
 * data is gone after its time to expire; the stored context is merged into callback tasks.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { queryTestDatabase } from '../support/store.ts';
import { startCbHarness, type CbHarness } from './harness.ts';

let h: CbHarness;
before(async () => {
  h = await startCbHarness();
});
after(async () => {
  await h.close();
});

async function ds(method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(h.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('templates: the token is shown once; bad input names the field', async () => {
  const path = `/v1/Workspaces/${h.ws}/DataSetTemplates`;
  const created = await h.call('POST', path, { FriendlyName: 'CRM', DataKeys: ['FirstName', 'AccNum'], TimeToExpire: '2' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.match(created.body.token, /^[0-9a-f]{64}$/);
  assert.deepEqual(created.body.data_keys, ['FirstName', 'AccNum']);
  const fetched = await h.call('GET', `${path}/${created.body.sid}`);
  assert.equal(fetched.status, 200);
  assert.equal(fetched.body.token, undefined, 'the token is not shown again');
  // Nor kept: the stored state holds its SHA-256, not the token (issue 11 item 7).
  const stored = await queryTestDatabase<{ datastore: string }>(dirname(h.databasePath), 'SELECT datastore FROM callback_state');
  assert.ok(stored.length > 0);
  for (const row of stored) assert.equal(row.datastore.includes(created.body.token as string), false, 'the token is not in the database');
  assert.ok(stored.some((row) => row.datastore.includes(createHash('sha256').update(created.body.token as string).digest('hex'))), 'its hash is');
  assert.equal((await h.call('GET', path)).body.data_set_templates.length >= 1, true);
  const badTtl = await h.call('POST', path, { FriendlyName: 'X', DataKeys: 'A', TimeToExpire: '49' });
  assert.equal(badTtl.status, 400);
  assert.match(badTtl.body.message, /TimeToExpire/);
  const noKeys = await h.call('POST', path, { FriendlyName: 'X' });
  assert.equal(noKeys.status, 400);
  assert.match(noKeys.body.message, /DataKeys/);
});

test('submit → search round trip, unknown keys dropped, token isolation, 401 InvalidToken, expiry', async () => {
  const path = `/v1/Workspaces/${h.ws}/DataSetTemplates`;
  const a = (await h.call('POST', path, { FriendlyName: 'A', DataKeys: 'FirstName,AccNum', TimeToExpire: '1' })).body;
  const b = (await h.call('POST', path, { FriendlyName: 'B', DataKeys: 'Secret' })).body;
  const sub = await ds('POST', '/api/v1/data_sets', a.token, { customer_contact_number: '+14155550166', data_values: { FirstName: 'Ada', AccNum: '42', Extra: 'x' } });
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  assert.equal(sub.body['FirstName'], 'Ada');
  assert.equal(sub.body['Extra'], undefined);
  assert.deepEqual(sub.body['dropped_keys'], ['Extra']);
  await ds('POST', '/api/v1/data_sets', b.token, { customer_contact_number: '+14155550177', data_values: { Secret: 's3' } });

  const found = await ds('GET', '/api/v1/data_sets/search?customer_contact_number=%2B14155550166', a.token);
  assert.equal(found.status, 200, JSON.stringify(found.body));
  assert.equal(found.body['AccNum'], '42');
  // B's token sees nothing of A's, and A's token nothing of B's.
  assert.equal((await ds('GET', '/api/v1/data_sets/search?customer_contact_number=%2B14155550166', b.token)).status, 404);
  assert.equal((await ds('GET', '/api/v1/data_sets/search?customer_contact_number=%2B14155550177', a.token)).status, 404);
  const bad = await ds('GET', '/api/v1/data_sets/search?customer_contact_number=%2B14155550166', 'nope');
  assert.equal(bad.status, 401);
  assert.deepEqual(bad.body, { error: 'InvalidToken' });
  assert.equal((await ds('POST', '/api/v1/data_sets', null, { customer_contact_number: '+1' })).status, 401);
  const badNumber = await ds('POST', '/api/v1/data_sets', a.token, { customer_contact_number: 'abc', data_values: {} });
  assert.equal(badNumber.status, 400);
  assert.equal(badNumber.body['error'], 'InvalidContact');

  // Time to expire 1 h: gone after it.
  await h.step(3_600_000 + 1_000);
  assert.equal((await ds('GET', '/api/v1/data_sets/search?customer_contact_number=%2B14155550166', a.token)).status, 404);
  assert.equal((await ds('GET', '/api/v1/data_sets/search?customer_contact_number=%2B14155550177', b.token)).status, 200, 'B (24 h) is still there');
});

test('a call target with a template merges the stored context into the callback task', async () => {
  const tpl = (await h.call('POST', `/v1/Workspaces/${h.ws}/DataSetTemplates`, { FriendlyName: 'Ctx', DataKeys: 'FirstName,Topic' })).body;
  await ds('POST', '/api/v1/data_sets', tpl.token, { customer_contact_number: '+14155550188', data_values: { FirstName: 'Grace', Topic: 'stored' } });
  const ct = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets`, { TaskQueueSid: h.queueSid, Strategy: 'agent_first', MinimumCallbackDelay: '0', DatastoreTemplateSid: tpl.sid });
  assert.equal(ct.status, 201, JSON.stringify(ct.body));
  const reg = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct.body.sid}/Callbacks`, { PhoneNumber: '+14155550188', Context: JSON.stringify({ Topic: 'given' }) });
  let cb = reg.body;
  for (let i = 0; i < 20 && cb.task_sid === null; i++) {
    await h.step(200);
    cb = (await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/${cb.sid}`)).body;
  }
  const task = await h.client.taskrouter.v1.workspaces(h.ws).tasks(cb.task_sid).fetch();
  const context = (JSON.parse(task.attributes) as { context: Record<string, string> }).context;
  assert.deepEqual(context, { FirstName: 'Grace', Topic: 'given' }, 'stored values, registration values win');
});
