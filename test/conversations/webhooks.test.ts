/**
 * Conversations webhooks over real HTTP (issue 13, "What it must show"), the server in virtual
 * time: a conversation-scoped webhook and the account's post-event webhook deliver signed
 * requests that `twilio.validateRequest` accepts; `X-Twilio-Webhook-Enabled: true` on an API write
 * makes it fire and its absence does not; a receiver answering 500 gets retries with RetryCount
 * rising; and the Conversations error codes 50377, 50361, 50416 reach the official client as
 * RestExceptions.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import twilio from 'twilio';
import { assertRestError } from '../api/helpers.ts';
import { startConvServer, type ConvServer } from './harness.ts';

interface Received {
  path: string;
  params: Record<string, string>;
  signature: string;
}

/** An HTTP receiver answering `status(n)` to its n-th request (0-based; default 200). */
async function receiver(status: (n: number) => number = () => 200) {
  const got: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const n = got.length;
      got.push({ path: req.url ?? '', params: Object.fromEntries(new URLSearchParams(body)), signature: String(req.headers['x-twilio-signature'] ?? '') });
      res.writeHead(status(n)).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** Lets virtual time run (10 ms steps) until `done()` or `ms` have passed. */
async function until(s: ConvServer, done: () => boolean, ms = 2_000): Promise<void> {
  for (let t = 0; t < ms && !done(); t += 10) await s.scheduler.advance(10);
}

test('scoped and account post-event webhooks are signed so that twilio.validateRequest accepts them', async () => {
  const s = await startConvServer();
  const r = await receiver();
  try {
    await s.client.conversations.v1.configuration.webhooks().update({ postWebhookUrl: `${r.url}/post`, method: 'POST', filters: ['onConversationAdded', 'onMessageAdded'] });
    const c = await s.client.conversations.v1.conversations.create({ friendlyName: 'Signed', xTwilioWebhookEnabled: 'true' });
    const conv = s.client.conversations.v1.conversations(c.sid);
    await conv.webhooks.create({ target: 'webhook', 'configuration.url': `${r.url}/scoped?x=1`, 'configuration.method': 'post', 'configuration.filters': ['onMessageAdded'] });
    await conv.messages.create({ author: 'ana', body: 'hello', xTwilioWebhookEnabled: 'true' });
    await until(s, () => r.got.length >= 3);
    assert.deepEqual(r.got.map((g) => `${g.path} ${g.params['EventType']}`).sort(), ['/post onConversationAdded', '/post onMessageAdded', '/scoped?x=1 onMessageAdded']);
    for (const g of r.got) {
      assert.equal(g.params['AccountSid'], s.account.sid);
      assert.equal(g.params['ConversationSid'], c.sid);
      assert.ok(twilio.validateRequest(s.account.secret, g.signature, `${r.url}${g.path}`, g.params), `signature of ${g.path} ${g.params['EventType']}`);
      assert.ok(!twilio.validateRequest('0'.repeat(32), g.signature, `${r.url}${g.path}`, g.params), 'another token does not validate');
    }
    assert.equal(r.got.find((g) => g.params['EventType'] === 'onMessageAdded')?.params['Body'], 'hello');
  } finally {
    await s.close();
    await r.close();
  }
});

test('X-Twilio-Webhook-Enabled: true on an API write fires its webhooks; without it, none', async () => {
  const s = await startConvServer();
  const r = await receiver();
  try {
    await s.client.conversations.v1.configuration.webhooks().update({ postWebhookUrl: `${r.url}/post`, method: 'POST', filters: ['onConversationAdded', 'onMessageAdded', 'onParticipantAdded', 'onConversationUpdated'] });
    const quiet = await s.client.conversations.v1.conversations.create({ friendlyName: 'quiet' });
    await s.client.conversations.v1.conversations(quiet.sid).participants.create({ identity: 'ana' });
    await s.client.conversations.v1.conversations(quiet.sid).messages.create({ author: 'ana', body: 'no webhook' });
    const raw = await s.raw('POST', `/v1/Conversations/${quiet.sid}`, { FriendlyName: 'still quiet' }, { 'X-Twilio-Webhook-Enabled': 'false' });
    assert.equal(raw.status, 200);
    await until(s, () => r.got.length > 0, 3_000);
    assert.equal(r.got.length, 0, 'no webhook without the header');
    await s.client.conversations.v1.conversations(quiet.sid).messages.create({ author: 'ana', body: 'with webhook', xTwilioWebhookEnabled: 'true' });
    const loud = await s.raw('POST', `/v1/Conversations/${quiet.sid}/Participants`, { Identity: 'bob' }, { 'X-Twilio-Webhook-Enabled': 'true' });
    assert.equal(loud.status, 201);
    await until(s, () => r.got.length >= 2);
    await s.scheduler.advance(1_000);
    assert.deepEqual(r.got.map((g) => g.params['EventType']), ['onMessageAdded', 'onParticipantAdded']);
    assert.equal(r.got[0]!.params['Body'], 'with webhook');
    assert.equal(r.got[0]!.params['Source'], 'API');
    assert.equal(r.got[1]!.params['Identity'], 'bob');
  } finally {
    await s.close();
    await r.close();
  }
});

test('a receiver answering 500 gets retries with RetryCount rising, until it answers 200', async () => {
  const s = await startConvServer({ backoffMs: 1_000 });
  const r = await receiver((n) => (n < 2 ? 500 : 200));
  try {
    const c = await s.client.conversations.v1.conversations.create({});
    const conv = s.client.conversations.v1.conversations(c.sid);
    await conv.webhooks.create({ target: 'webhook', 'configuration.url': `${r.url}/hook`, 'configuration.method': 'post', 'configuration.filters': ['onMessageAdded'] });
    await conv.messages.create({ author: 'ana', body: 'retry me', xTwilioWebhookEnabled: 'true' });
    await until(s, () => r.got.length >= 3, 20_000);
    await s.scheduler.advance(20_000);
    assert.equal(r.got.length, 3, 'two failures, then one success: no more');
    assert.deepEqual(r.got.map((g) => g.params['RetryCount']), ['0', '1', '2']);
    for (const g of r.got) {
      assert.equal(g.params['MessageSid'], r.got[0]!.params['MessageSid']);
      assert.ok(twilio.validateRequest(s.account.secret, g.signature, `${r.url}${g.path}`, g.params), 'every try is signed');
    }
    assert.deepEqual(s.failures.map((f) => [f.kind, f.attempts, f.final]), [['conversation.webhook', 1, false], ['conversation.webhook', 2, false]]);
  } finally {
    await s.close();
    await r.close();
  }
});

test('errors through the official client: 50377 closed, 50361 sixth scoped webhook, 50416 binding pair in use', async () => {
  const s = await startConvServer();
  try {
    const conversations = s.client.conversations.v1.conversations;
    const closed = await conversations.create({ state: 'closed' });
    await assertRestError(() => conversations(closed.sid).messages.create({ author: 'ana', body: 'too late' }), 400, 50377);
    const open = await conversations.create({});
    for (let i = 0; i < 5; i++) await conversations(open.sid).webhooks.create({ target: 'webhook', 'configuration.url': `https://example.com/${i}` });
    await assertRestError(() => conversations(open.sid).webhooks.create({ target: 'webhook', 'configuration.url': 'https://example.com/6' }), 400, 50361);
    const binding = { 'messagingBinding.address': '+14155550111', 'messagingBinding.proxyAddress': '+14155550100' };
    await conversations(open.sid).participants.create(binding);
    const other = await conversations.create({});
    await assertRestError(() => conversations(other.sid).participants.create(binding), 409, 50416);
    // Closing the first frees the pair.
    await conversations(open.sid).update({ state: 'closed' });
    assert.ok((await conversations(other.sid).participants.create(binding)).sid.startsWith('MB'));
  } finally {
    await s.close();
  }
});
