/**
 * `POST /v1/Workspaces/{WS}/AccessTokens` (routes/access-tokens.ts): each role, the bounds of Ttl,
 * the 400s naming their parameter and the 404 for an unknown worker, who may mint (account
 * credentials and keys any role; supervisor and admin tokens worker tokens only; a worker token
 * nothing), the signing key made once and kept across a restart, and the minted tokens accepted
 * where any access token is: the worker SDK (the unmodified `twilio-taskrouter` package) and REST
 * with Bearer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { buildApp } from '../../src/api/app.ts';
import { CONSOLE_KEY_NAME } from '../../src/runtime/keys-hosting.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { testStoreOptions } from '../support/store.ts';
import { startSdkHarness, type SdkHarness } from './harness.ts';

let h: SdkHarness;
let worker: string;
before(async () => {
  h = await startSdkHarness();
  worker = await h.newWorker('Alice');
});
after(async () => {
  await h.close();
});

type Json = Record<string, unknown> & { message?: string; code?: number; token?: string };

/** POSTs a form to `path` with `auth` (a whole Authorization header); the status and parsed body. */
async function post(path: string, auth: string, form: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(h.base + path, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Json) };
}

const basic = (user: string, secret: string): string => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`;
const account = (): string => basic(h.account.sid, h.account.secret);
const mintPath = (): string => `/v1/Workspaces/${h.workspaceSid}/AccessTokens`;

/** Mints with the account's credentials; asserts 201 and returns the body. */
async function mint(form: Record<string, string>, auth = account()): Promise<Json & { token: string }> {
  const res = await post(mintPath(), auth, form);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as Json & { token: string };
}

const decode = (jwt: string): [Record<string, unknown>, Record<string, unknown>] => {
  const [header, payload] = jwt.split('.') as [string, string];
  return [JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>, JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>];
};

async function bearerGet(path: string, token: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(h.base + path, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Json };
}

test('a worker token: 201 with its description, Twilio\'s JWT shape, signed by the one console key made on first use', async () => {
  const before = (await h.client.keys.list()).filter((k) => k.friendlyName === CONSOLE_KEY_NAME);
  assert.equal(before.length, 0, 'no console key before the first mint');
  const body = await mint({ WorkerSid: worker });
  const [header, payload] = decode(body.token);
  assert.deepEqual(header, { typ: 'JWT', alg: 'HS256', cty: 'twilio-fpa;v=1' });
  const keys = (await h.client.keys.list()).filter((k) => k.friendlyName === CONSOLE_KEY_NAME);
  assert.equal(keys.length, 1, 'the console key is made on first use');
  const keySid = keys[0]?.sid as string;
  const iat = Math.floor(h.scheduler.now() / 1000);
  assert.deepEqual(payload, {
    jti: `${keySid}-${iat}`,
    grants: { identity: worker, task_router: { workspace_sid: h.workspaceSid, worker_sid: worker, role: 'worker' } },
    iat,
    exp: iat + 3600,
    iss: keySid,
    sub: h.account.sid,
  });
  assert.deepEqual({ ...body, token: undefined }, {
    token: undefined,
    identity: worker,
    role: 'worker',
    workspace_sid: h.workspaceSid,
    worker_sid: worker,
    expires_at: new Date((iat + 3600) * 1000).toISOString(),
    account_sid: h.account.sid,
  });
  await Promise.all([mint({ WorkerSid: worker }), mint({ WorkerSid: worker, Role: 'admin' })]);
  assert.equal((await h.client.keys.list()).filter((k) => k.friendlyName === CONSOLE_KEY_NAME).length, 1, 'later mints reuse the key');
});

test('the minted worker token connects the unmodified worker SDK and acts over REST with Bearer, on itself only', async () => {
  const other = await h.newWorker('Bob');
  const { token } = await mint({ WorkerSid: worker, Ttl: '600' });
  const sdk = await h.connect(worker, { token });
  assert.equal(sdk.sid, worker);
  assert.equal((await bearerGet(`/v1/Workspaces/${h.workspaceSid}/Workers/${worker}`, token)).status, 200);
  assert.equal((await bearerGet(`/v1/Workspaces/${h.workspaceSid}/Workers/${other}`, token)).status, 200, 'a colleague in the directory');
  assert.equal((await bearerGet(`/v1/Workspaces/${h.workspaceSid}/Workers/${other}/Reservations`, token)).status, 403, 'not their reservations');
  assert.equal((await post(`/v1/Workspaces/${h.workspaceSid}/Workers/${worker}`, `Bearer ${token}`, { ActivitySid: h.activities.Available })).body['activity_sid'], h.activities.Available);
});

test('supervisor and admin tokens, with or without a worker: a supervisor reads the workspace and changes workers, not configuration', async () => {
  const sup = await mint({ Role: 'supervisor', Ttl: '60' });
  assert.equal(sup.worker_sid, null);
  assert.equal(sup.role, 'supervisor');
  assert.equal(sup.identity, h.account.sid, 'the caller\'s credential when no worker and no Identity');
  assert.equal(Date.parse(String(sup.expires_at)), (Math.floor(h.scheduler.now() / 1000) + 60) * 1000);
  assert.equal((decode(sup.token)[1]['grants'] as { task_router: Record<string, unknown> }).task_router['worker_sid'], undefined, 'no worker_sid claim');
  assert.equal((await bearerGet(`/v1/Workspaces/${h.workspaceSid}/Workers`, sup.token)).status, 200);
  assert.equal((await post(`/v1/Workspaces/${h.workspaceSid}/Workers/${worker}`, `Bearer ${sup.token}`, { ActivitySid: h.activities.Unavailable })).status, 200);
  assert.equal((await post(`/v1/Workspaces/${h.workspaceSid}/Activities`, `Bearer ${sup.token}`, { FriendlyName: 'Lunch' })).status, 403);

  const supAsWorker = await mint({ Role: 'supervisor', WorkerSid: worker, Identity: 'pat@example.com' });
  assert.deepEqual([supAsWorker.worker_sid, supAsWorker.identity], [worker, 'pat@example.com']);
  const admin = await mint({ Role: 'admin', Ttl: '86400' });
  assert.equal((await post(`/v1/Workspaces/${h.workspaceSid}/Activities`, `Bearer ${admin.token}`, { FriendlyName: 'Training', Available: 'false' })).status, 201);
  assert.equal(Date.parse(String(admin.expires_at)), (Math.floor(h.scheduler.now() / 1000) + 86_400) * 1000);
});

test('bad input is a 400 naming the parameter; an unknown worker or workspace a 404; nothing is minted', async () => {
  const cases: [Record<string, string>, number, string][] = [
    [{ WorkerSid: worker, Ttl: '59' }, 400, 'Ttl'],
    [{ WorkerSid: worker, Ttl: '86401' }, 400, 'Ttl'],
    [{ WorkerSid: worker, Ttl: 'soon' }, 400, 'Ttl'],
    [{ WorkerSid: worker, Role: 'boss' }, 400, 'Role'],
    [{}, 400, 'WorkerSid'],
    [{ WorkerSid: 'WK123' }, 400, 'WorkerSid'],
    [{ WorkerSid: worker, Identity: 'x'.repeat(257) }, 400, 'Identity'],
    [{ WorkerSid: `WK${'0'.repeat(32)}` }, 404, `Workers/WK${'0'.repeat(32)}`],
  ];
  for (const [form, status, named] of cases) {
    const res = await post(mintPath(), account(), form);
    assert.equal(res.status, status, JSON.stringify(form));
    assert.ok(res.body.message?.includes(named), `${JSON.stringify(form)} → ${res.body.message}`);
    assert.equal(res.body.token, undefined);
  }
  assert.equal((await post(`/v1/Workspaces/WS${'0'.repeat(32)}/AccessTokens`, account(), { WorkerSid: worker })).status, 404);
  assert.equal((await post(mintPath(), basic(h.account.sid, 'wrong'), { WorkerSid: worker })).status, 401);
});

test('who may mint: an API key any role; supervisor and admin tokens worker tokens of their workspace; a worker token nothing', async () => {
  const viaKey = await mint({ Role: 'supervisor' }, basic(h.key.sid, h.key.secret));
  assert.equal(viaKey.identity, h.key.sid);

  const sup = await mint({ Role: 'supervisor' });
  const minted = await mint({ WorkerSid: worker }, `Bearer ${sup.token}`);
  assert.equal(minted.role, 'worker');
  const escalate = await post(mintPath(), `Bearer ${sup.token}`, { Role: 'admin' });
  assert.equal(escalate.status, 403);
  const admin = await mint({ Role: 'admin' });
  assert.equal((await post(mintPath(), `Bearer ${admin.token}`, { Role: 'supervisor' })).status, 403);
  assert.equal((await mint({ WorkerSid: worker }, `Bearer ${admin.token}`)).worker_sid, worker);

  const workerToken = await mint({ WorkerSid: worker });
  const refused = await post(mintPath(), `Bearer ${workerToken.token}`, { WorkerSid: worker });
  assert.deepEqual([refused.status, refused.body.code], [403, 20403]);
  assert.match(refused.body.message ?? '', /worker token may not mint/);

  const elsewhere = await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Elsewhere' });
  assert.equal((await post(`/v1/Workspaces/${elsewhere.sid}/AccessTokens`, `Bearer ${sup.token}`, { WorkerSid: worker })).status, 403, 'another workspace');
});

test('a minted token expires after its Ttl of server time: REST refuses it (20104), the worker socket is closed with 4001', async () => {
  const { token } = await mint({ WorkerSid: worker, Ttl: '60' });
  const socket = new WebSocket(`${h.wsServer}?token=${token}&closeExistingSessions=false`);
  const first = await new Promise<string>((resolve, reject) => {
    socket.once('message', (m: Buffer) => resolve(m.toString()));
    socket.once('error', reject);
  });
  assert.equal((JSON.parse(first) as { event_type: string }).event_type, 'init');
  const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
  await h.advance(61_000);
  assert.equal(await closed, 4001);
  const res = await bearerGet(`/v1/Workspaces/${h.workspaceSid}/Workers/${worker}`, token);
  assert.deepEqual([res.status, res.body.code], [401, 20104]);
});

test('the console key is made once even by concurrent first uses, and survives a restart: a token minted before it still verifies, the same key signs after', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-mint-'));
  const scheduler = new VirtualScheduler(Date.now());
  let runtime = await Runtime.open({ ...testStoreOptions(dir), scheduler });
  const acct = await runtime.createAccount('Restart');
  const auth = { authorization: basic(acct.sid, acct.secret), 'content-type': 'application/x-www-form-urlencoded' };
  let app = buildApp({ runtime, clock: () => scheduler.now() });
  const wsSid = (JSON.parse((await app.inject({ method: 'POST', url: '/v1/Workspaces', headers: auth, payload: 'FriendlyName=R' })).body) as { sid: string }).sid;
  // Two first uses at once make one key.
  const [res, twin] = await Promise.all([1, 2].map(() => app.inject({ method: 'POST', url: `/v1/Workspaces/${wsSid}/AccessTokens`, headers: auth, payload: 'Role=admin' })));
  assert.equal(res?.statusCode, 201, res?.body);
  assert.equal(runtime.keys.list(acct.sid).length, 1);
  assert.equal(decode((JSON.parse(twin?.body ?? '{}') as { token: string }).token)[1]['iss'], decode((JSON.parse(res?.body ?? '{}') as { token: string }).token)[1]['iss']);
  const token = (JSON.parse(res?.body ?? '{}') as { token: string }).token;
  const iss = decode(token)[1]['iss'];
  await app.close();
  await runtime.close();
  runtime = await Runtime.open({ ...testStoreOptions(dir), scheduler });
  app = buildApp({ runtime, clock: () => scheduler.now() });
  try {
    const read = await app.inject({ method: 'GET', url: `/v1/Workspaces/${wsSid}/Workers`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(read.statusCode, 200, read.body);
    const again = await app.inject({ method: 'POST', url: `/v1/Workspaces/${wsSid}/AccessTokens`, headers: auth, payload: 'Role=admin' });
    assert.equal(decode((JSON.parse(again.body) as { token: string }).token)[1]['iss'], iss);
    assert.equal(runtime.keys.list(acct.sid).length, 1);
  } finally {
    await app.close();
    await runtime.close();
  }
});
