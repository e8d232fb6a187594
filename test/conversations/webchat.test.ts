/**
 * The web chat endpoint (issue 13 item 4; src/api/routes/webchat.ts; docs/conversations.md "Web
 * chat"), over real HTTP on the conversations harness in virtual time: a guest starts a session on
 * a routed `chat` address and its task appears (channel type `web`); the agent answers through the
 * REST API and the guest's poll sees it; the guest's message restarts the built-in inactive timer;
 * after the timeout the state is closed and a message is refused; bad tokens say nothing; the token
 * is stored only as its SHA-256 and survives a restart; CORS and the origin allow-list.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { buildApp } from '../../src/api/app.ts';
import { startConvServer, type ConvServer } from './harness.ts';

const ADDRESS = 'web:support';

interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function call(base: string, method: string, path: string, o: { token?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token !== undefined) headers['authorization'] = `Bearer ${o.token}`;
  if (o.form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  const res = await fetch(base + path, { method, headers, body: o.form === undefined ? undefined : new URLSearchParams(o.form).toString() });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function setUp(s: ConvServer) {
  const ws = await s.client.taskrouter.v1.workspaces.create({ friendlyName: 'Web' });
  const wsApi = s.client.taskrouter.v1.workspaces(ws.sid);
  const available = (await wsApi.activities.list()).find((a) => a.friendlyName === 'Available')!;
  const queue = await wsApi.taskQueues.create({ friendlyName: 'Chat', targetWorkers: '1 == 1' });
  const workflow = await wsApi.workflows.create({ friendlyName: 'Chats', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
  const worker = await wsApi.workers.create({ friendlyName: 'Ana', activitySid: available.sid });
  const chat = (await wsApi.taskChannels.list()).find((c) => c.uniqueName === 'chat')!;
  const policy = await s.raw('POST', `/v1/Workspaces/${ws.sid}/TaskChannels/${chat.sid}/InactivityTimeout`, { InactiveTimeout: 'PT2M', TimeoutMessage: 'We closed this chat after two quiet minutes.' });
  assert.equal(policy.status, 200, JSON.stringify(policy.body));
  const address = await s.raw('POST', '/v1/Configuration/Addresses', { Type: 'chat', Address: ADDRESS, 'AutoCreation.Enabled': 'true', 'AutoCreation.RoutingWorkflowSid': workflow.sid });
  assert.equal(address.status, 201, JSON.stringify(address.body));
  return { ws, wsApi, worker };
}

test('a guest chats with an agent on the web; the inactivity timeout closes the chat; the token is kept hashed and survives a restart', async () => {
  let s = await startConvServer();
  let token: string;
  try {
    const { wsApi, worker } = await setUp(s);
    // No session on an unknown address, nor on an address that is not a web chat (type sms).
    assert.equal((await call(s.base, 'POST', '/webchat/v1/Sessions', { form: { Address: 'web:nope' } })).status, 404);
    assert.equal((await s.raw('POST', '/v1/Configuration/Addresses', { Type: 'sms', Address: '+14155550100', 'AutoCreation.Enabled': 'true' })).status, 201);
    assert.equal((await call(s.base, 'POST', '/webchat/v1/Sessions', { form: { Address: '+14155550100' } })).status, 404);
    assert.equal((await call(s.base, 'POST', '/webchat/v1/Sessions', { form: {} })).status, 400);

    const started = await call(s.base, 'POST', '/webchat/v1/Sessions', { form: { Address: ADDRESS, Name: 'Dana', Body: 'Hi, where is my order?' }, headers: { origin: 'https://shop.example' } });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    assert.equal(started.headers.get('access-control-allow-origin'), '*');
    assert.equal(started.headers.get('cache-control'), 'no-store');
    token = String(started.body['session_token']);
    const identity = String(started.body['identity']);
    const conversationSid = String(started.body['conversation_sid']);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    assert.match(identity, /^guest-[0-9a-f]{24}$/);
    assert.match(conversationSid, /^CH[0-9a-f]{32}$/);

    // The built-in route made the task, channel type web, with the guest as the customer.
    const tasks = await wsApi.tasks.list({ evaluateTaskAttributes: `conversationSid == "${conversationSid}"` });
    assert.equal(tasks.length, 1);
    const attrs = JSON.parse(tasks[0]!.attributes) as Record<string, unknown>;
    assert.equal(attrs['channelType'], 'web');
    assert.equal(attrs['customerAddress'], identity);
    assert.equal(attrs['customerName'], 'Dana');
    assert.equal(attrs['initiatedBy'], 'customer');
    assert.equal(tasks[0]!.taskChannelUniqueName, 'chat');
    const participants = await s.client.conversations.v1.conversations(conversationSid).participants.list();
    assert.deepEqual(participants.map((p) => [p.identity, p.messagingBinding]), [[identity, null]]);
    assert.equal((JSON.parse(participants[0]!.attributes) as Record<string, unknown>)['friendlyName'], 'Dana');

    // The agent accepts and answers through the REST API; the guest's poll sees it.
    const [r] = await wsApi.tasks(tasks[0]!.sid).reservations.list();
    assert.equal(r!.workerSid, worker.sid);
    await wsApi.tasks(tasks[0]!.sid).reservations(r!.sid).update({ reservationStatus: 'accepted' });
    await s.client.conversations.v1.conversations(conversationSid).messages.create({ author: 'Ana', body: 'Let me check that for you.' });
    const all = await call(s.base, 'GET', '/webchat/v1/Session/Messages', { token });
    assert.equal(all.status, 200);
    assert.equal(all.body['state'], 'active');
    assert.deepEqual((all.body['messages'] as Array<Record<string, unknown>>).map((m) => [m['index'], m['author'], m['body']]), [
      [0, identity, 'Hi, where is my order?'],
      [1, 'Ana', 'Let me check that for you.'],
    ]);
    const after = await call(s.base, 'GET', '/webchat/v1/Session/Messages?After=0', { token });
    assert.deepEqual((after.body['messages'] as Array<Record<string, unknown>>).map((m) => m['index']), [1]);
    assert.equal(typeof (after.body['messages'] as Array<Record<string, unknown>>)[0]!['date_created'], 'string');

    // The guest's message is activity: it restarts the two-minute timer.
    await s.scheduler.advance(90_000);
    const said = await call(s.base, 'POST', '/webchat/v1/Session/Messages', { token, form: { Body: 'Order 1234.' } });
    assert.equal(said.status, 201, JSON.stringify(said.body));
    assert.equal(said.body['index'], 2);
    const [, , mine] = await s.client.conversations.v1.conversations(conversationSid).messages.list();
    assert.equal(mine!.author, identity);
    assert.equal(mine!.participantSid, participants[0]!.sid);
    await s.scheduler.advance(90_000); // 180 s after the accept, 90 s after the guest's message
    assert.equal((await call(s.base, 'GET', '/webchat/v1/Session/Messages?After=2', { token })).body['state'], 'active');
    assert.equal((await wsApi.tasks(tasks[0]!.sid).fetch()).assignmentStatus, 'assigned');
    const tooLong = await call(s.base, 'POST', '/webchat/v1/Session/Messages', { token, form: { Body: 'x'.repeat(1_601) } });
    assert.equal(tooLong.status, 400);
    await s.scheduler.advance(31_000);
    const closed = await call(s.base, 'GET', '/webchat/v1/Session/Messages?After=2', { token });
    assert.equal(closed.body['state'], 'closed');
    assert.deepEqual((closed.body['messages'] as Array<Record<string, unknown>>).map((m) => [m['author'], m['body']]), [['system', 'We closed this chat after two quiet minutes.']]);
    const task = await wsApi.tasks(tasks[0]!.sid).fetch();
    assert.equal(task.assignmentStatus, 'completed');
    assert.equal(task.reason, 'inactivity-timeout');
    const refused = await call(s.base, 'POST', '/webchat/v1/Session/Messages', { token, form: { Body: 'Hello?' } });
    assert.equal(refused.status, 400);
    assert.equal(refused.body['code'], 50377);

    // Bad tokens: a 401 that says nothing about why.
    const bad = [
      await call(s.base, 'GET', '/webchat/v1/Session/Messages'),
      await call(s.base, 'GET', '/webchat/v1/Session/Messages', { token: 'x' }),
      await call(s.base, 'GET', '/webchat/v1/Session/Messages', { token: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A') }),
      await call(s.base, 'POST', '/webchat/v1/Session/Messages', { token: 'A'.repeat(43), form: { Body: 'hi' } }),
    ];
    for (const b of bad) {
      assert.equal(b.status, 401);
      assert.deepEqual(b.body, bad[0]!.body);
      assert.match(String(b.headers.get('www-authenticate')), /^Bearer /);
    }
    assert.ok(!JSON.stringify(bad[0]!.body).includes(conversationSid));

    // Stored as its SHA-256 only.
    const rows = await s.runtime.store.loadCoreRows('conversations');
    assert.ok(rows.length > 0);
    for (const row of rows) assert.ok(!row.key.includes(token) && !(row.body ?? '').includes(token), `row ${row.key} holds the token`);
    const hash = createHash('sha256').update(token).digest('hex');
    const session = rows.find((row) => row.key === `webchat:${hash}`);
    assert.ok(session !== undefined);
    assert.deepEqual(JSON.parse(session.body!), { accountSid: s.account.sid, conversationSid, identity, dateCreated: JSON.parse(session.body!).dateCreated });
  } catch (error) {
    await s.close();
    throw error;
  }
  // A restart keeps the session.
  s = await s.reopen();
  try {
    const again = await call(s.base, 'GET', '/webchat/v1/Session/Messages', { token });
    assert.equal(again.status, 200);
    assert.equal(again.body['state'], 'closed');
    assert.equal((again.body['messages'] as unknown[]).length, 4);
  } finally {
    await s.close();
  }
});

test('CORS: preflight; an origin allow-list answers its origins and refuses others', async () => {
  const s = await startConvServer();
  const listed = buildApp({ runtime: s.runtime, clock: () => s.scheduler.now(), webchat: { origins: ['https://shop.example'] } });
  try {
    await setUp(s);
    const pre = await call(s.base, 'OPTIONS', '/webchat/v1/Session/Messages', { headers: { origin: 'https://anywhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(String(pre.headers.get('access-control-allow-headers')), /Authorization/);
    assert.match(String(pre.headers.get('access-control-allow-methods')), /POST/);

    await listed.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(listed.server.address() as AddressInfo).port}`;
    const ok = await call(base, 'POST', '/webchat/v1/Sessions', { form: { Address: ADDRESS }, headers: { origin: 'https://shop.example' } });
    assert.equal(ok.status, 201);
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://shop.example');
    const other = await call(base, 'POST', '/webchat/v1/Sessions', { form: { Address: ADDRESS }, headers: { origin: 'https://evil.example' } });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    // No session was started for it: one conversation (the allowed one) in the account.
    assert.equal((await s.client.conversations.v1.conversations.list()).length, 1);
    // JSON bodies too, and no Origin (a server-side client) is not refused.
    const res = await fetch(`${base}/webchat/v1/Sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Address: ADDRESS, Body: 'Hello' }) });
    assert.equal(res.status, 201);
  } finally {
    await listed.close();
    await s.close();
  }
});
