/**
 * Request and response conventions (spec §0–§2) checked with Fastify's inject (no socket):
 * PUBLIC_BASE_URL in urls and paging links, PageSize bounds, PageToken back and forth,
 * booleans, case-insensitive SIDs, error bodies, ETag headers.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { testStoreOptions } from '../support/store.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { assertListBody, assertSchema } from './helpers.ts';

const PUBLIC = 'https://switchboard.example.com';
let runtime: Runtime;
let app: FastifyInstance;
let account: NewCredentials;
let auth: string;

before(async () => {
  runtime = await Runtime.open(testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-api-'))));
  app = buildApp({ runtime, publicBaseUrl: `${PUBLIC}/` });
  await app.ready();
  account = await runtime.createAccount('Acme');
  auth = `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}`;
});
after(async () => {
  await app.close();
  await runtime.close();
});

async function call(method: 'GET' | 'POST' | 'DELETE', url: string, form?: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }> {
  const res = await app.inject({
    method,
    url,
    headers: { authorization: auth, ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }), ...headers },
    payload: form,
  });
  return { status: res.statusCode, body: res.body === '' ? {} : (JSON.parse(res.body) as Record<string, unknown>), headers: res.headers };
}

test('public base URL is used for url, links and every paging link; PageToken goes forward and back', async () => {
  const ws = await call('POST', '/v1/Workspaces', 'FriendlyName=Public');
  assert.equal(ws.status, 201);
  assertSchema('workspace', ws.body);
  const wsSid = ws.body['sid'] as string;
  assert.equal(ws.body['url'], `${PUBLIC}/v1/Workspaces/${wsSid}`);
  for (let i = 0; i < 5; i++) assert.equal((await call('POST', `/v1/Workspaces/${wsSid}/Activities`, `FriendlyName=A${i}&Available=${i % 2 === 0 ? 'yes' : 'No'}`)).status, 201);

  const p0 = await call('GET', `/v1/Workspaces/${wsSid}/Activities?Available=false&PageSize=2`);
  assert.equal(p0.status, 200);
  const items0 = assertListBody('workspace.activity', 'activities', p0.body, PUBLIC);
  assert.deepEqual(items0.map((a) => a['friendly_name']), ['Offline', 'Unavailable']);
  const meta0 = p0.body['meta'] as Record<string, string | null>;
  assert.equal(meta0['previous_page_url'], null);
  assert.equal(meta0['first_page_url'], `${PUBLIC}/v1/Workspaces/${wsSid}/Activities?Available=false&PageSize=2&Page=0`);
  const next = meta0['next_page_url'] as string;
  assert.ok(next.startsWith(`${PUBLIC}/v1/Workspaces/${wsSid}/Activities?Available=false&PageSize=2&Page=1&PageToken=PA`));

  const p1 = await call('GET', next.slice(PUBLIC.length));
  const items1 = assertListBody('workspace.activity', 'activities', p1.body, PUBLIC);
  assert.deepEqual(items1.map((a) => a['friendly_name']), ['A1', 'A3']);
  const meta1 = p1.body['meta'] as Record<string, string | null>;
  assert.equal(meta1['page'], 1);
  assert.equal(meta1['url'], next);
  assert.equal(meta1['next_page_url'], null, 'last page');
  const back = await call('GET', (meta1['previous_page_url'] as string).slice(PUBLIC.length));
  assert.deepEqual((back.body['activities'] as Record<string, unknown>[]).map((a) => a['friendly_name']), ['Offline', 'Unavailable']);

  for (const size of ['0', '1001', 'ten']) {
    const bad = await call('GET', `/v1/Workspaces/${wsSid}/Activities?PageSize=${size}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body['code'], 20001);
    assert.match(bad.body['message'] as string, /PageSize/);
  }
  const defaults = await call('GET', `/v1/Workspaces/${wsSid}/Activities`);
  assert.equal((defaults.body['meta'] as Record<string, unknown>)['page_size'], 50);
});

test('SIDs are case-insensitive; ETag is sent on task and worker fetches; error bodies have Twilio shape', async () => {
  const ws = await call('POST', '/v1/Workspaces', 'FriendlyName=Cases&Template=FIFO');
  const wsSid = ws.body['sid'] as string;
  const upper = 'WS' + wsSid.slice(2).toUpperCase();
  assert.equal((await call('GET', `/v1/Workspaces/${upper}`)).status, 200);
  const worker = await call('POST', `/v1/Workspaces/${wsSid}/Workers`, 'FriendlyName=Eve&Attributes=%7B%22a%22%3A1%7D');
  assert.equal(worker.status, 201);
  const got = await call('GET', `/v1/Workspaces/${wsSid}/Workers/${worker.body['sid'] as string}`);
  assert.match(String(got.headers['etag']), /^"\d+"$/);
  const task = await call('POST', `/v1/Workspaces/${wsSid}/Tasks`, 'Attributes=%7B%7D');
  assert.equal(task.status, 201, JSON.stringify(task.body));
  const taskGot = await call('GET', `/v1/Workspaces/${wsSid}/Tasks/${task.body['sid'] as string}`);
  assert.match(String(taskGot.headers['etag']), /^"\d+"$/);
  const stale = await call('POST', `/v1/Workspaces/${wsSid}/Tasks/${task.body['sid'] as string}`, 'Priority=3', { 'if-match': '"12345"' });
  assert.equal(stale.status, 412);
  assert.deepEqual(stale.body, {
    code: 20412,
    message: stale.body['message'],
    more_info: 'https://www.twilio.com/docs/errors/20412',
    status: 412,
  });
  const del = await call('DELETE', `/v1/Workspaces/${wsSid}/Tasks/${task.body['sid'] as string}`);
  assert.equal(del.status, 204);
  const missing = await call('GET', `/v1/Workspaces/${wsSid}/Tasks/${task.body['sid'] as string}`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body['code'], 20404);
  assert.match(missing.body['message'] as string, /was not found/);
  const repeated = await call('POST', `/v1/Workspaces/${wsSid}/Activities`, 'FriendlyName=A&FriendlyName=B');
  assert.equal(repeated.status, 400);
  assert.match(repeated.body['message'] as string, /FriendlyName/);
});
