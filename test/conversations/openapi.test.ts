/**
 * Every response body of the Conversations API v1 (issue 13, "What it must show") validated
 * against Twilio's published OpenAPI description (/work/shared/specs/twilio_conversations_v1.json)
 * with ajv, and with exactly the schema's fields: conversations, participants (chat and
 * messaging), messages (asc and desc), conversation-scoped webhooks, the configuration, its
 * webhooks, address configurations, and the error bodies. Driven by the official `twilio` client
 * (its last response body is what is validated) and raw requests where the client has no call.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openApiValidator } from '../support/openapi.ts';
import { startConvServer, type ConvServer } from './harness.ts';

const { assertSchema, assertListBody } = openApiValidator('twilio_conversations_v1.json', 'conversations.v1.');
const CONVERSATION = 'conversation';
const PARTICIPANT = 'conversation.conversation_participant';
const MESSAGE = 'conversation.conversation_message';
const WEBHOOK = 'conversation.conversation_scoped_webhook';

let s: ConvServer;
before(async () => {
  s = await startConvServer();
});
after(async () => {
  await s.close();
});

/** Asserts a Twilio error body: exactly code, message, more_info, status. */
function assertErrorBody(body: unknown, status: number, code: number): void {
  const b = body as Record<string, unknown>;
  assert.deepEqual(Object.keys(b).sort(), ['code', 'message', 'more_info', 'status'], JSON.stringify(b));
  assert.equal(b['status'], status);
  assert.equal(b['code'], code);
  assert.equal(typeof b['message'], 'string');
  assert.match(String(b['more_info']), new RegExp(`^https://www\\.twilio\\.com/docs/errors/${code}$`));
}

test('conversations: create, fetch (by SID and unique name), update, list, delete', async () => {
  const conversations = s.client.conversations.v1.conversations;
  const c = await conversations.create({ friendlyName: 'Support', uniqueName: 'support-1', attributes: JSON.stringify({ topic: 'card' }), state: 'active', 'timers.inactive': 'PT5M', 'timers.closed': 'PT1H' });
  const created = s.lastBody() as Record<string, unknown>;
  assertSchema(CONVERSATION, created);
  assert.equal(created['state'], 'active');
  assert.deepEqual(Object.keys(created['timers'] as object).sort(), ['date_closed', 'date_inactive']);
  await conversations(c.sid).fetch();
  assertSchema(CONVERSATION, s.lastBody());
  await conversations('support-1').fetch();
  assertSchema(CONVERSATION, s.lastBody());
  assert.equal((s.lastBody() as Record<string, unknown>)['sid'], c.sid);
  await conversations(c.sid).update({ friendlyName: 'Support (renamed)', state: 'inactive' });
  const updated = s.lastBody() as Record<string, unknown>;
  assertSchema(CONVERSATION, updated);
  assert.equal(updated['state'], 'inactive');
  await conversations(c.sid).update({ state: 'closed' });
  assertSchema(CONVERSATION, s.lastBody());
  assert.deepEqual((s.lastBody() as Record<string, unknown>)['timers'], {});
  const bare = await conversations.create({});
  assertSchema(CONVERSATION, s.lastBody());
  await conversations.list({ pageSize: 1 });
  assertListBody(CONVERSATION, 'conversations', s.lastBody(), s.base);
  const listed = await s.raw('GET', '/v1/Conversations?PageSize=50');
  assert.equal(listed.status, 200);
  assert.ok(assertListBody(CONVERSATION, 'conversations', listed.body, s.base).length >= 2);
  const closedOnly = await s.raw('GET', '/v1/Conversations?State=closed');
  assert.deepEqual(assertListBody(CONVERSATION, 'conversations', closedOnly.body, s.base).map((x) => x['sid']), [c.sid]);
  await conversations(bare.sid).remove();
  assertErrorBody((await s.raw('GET', `/v1/Conversations/${bare.sid}`)).body, 404, 20404);
});

test('participants: chat identity and messaging binding — create, fetch, update, list', async () => {
  const conv = s.client.conversations.v1.conversations((await s.client.conversations.v1.conversations.create({ friendlyName: 'P' })).sid);
  const chat = await conv.participants.create({ identity: 'ana', attributes: JSON.stringify({ role: 'agent' }) });
  const chatBody = s.lastBody() as Record<string, unknown>;
  assertSchema(PARTICIPANT, chatBody);
  assert.equal(chatBody['messaging_binding'], null);
  const sms = await conv.participants.create({ 'messagingBinding.address': '+14155550111', 'messagingBinding.proxyAddress': '+14155550100' });
  const smsBody = s.lastBody() as Record<string, unknown>;
  assertSchema(PARTICIPANT, smsBody);
  assert.deepEqual(smsBody['messaging_binding'], { type: 'sms', address: '+14155550111', proxy_address: '+14155550100' });
  await conv.participants(chat.sid).fetch();
  assertSchema(PARTICIPANT, s.lastBody());
  await conv.participants(sms.sid).fetch();
  assertSchema(PARTICIPANT, s.lastBody());
  await conv.participants(chat.sid).update({ lastReadMessageIndex: 0, attributes: '{"role":"lead"}' });
  assertSchema(PARTICIPANT, s.lastBody());
  await conv.participants.list();
  assert.equal(assertListBody(PARTICIPANT, 'participants', s.lastBody(), s.base).length, 2);
  await conv.participants(sms.sid).remove();
  assertErrorBody((await s.raw('GET', `/v1/Conversations/${chat.conversationSid}/Participants/${sms.sid}`)).body, 404, 20404);
});

test('messages: create, fetch, update, list in ascending and descending order', async () => {
  const c = await s.client.conversations.v1.conversations.create({ friendlyName: 'M' });
  const conv = s.client.conversations.v1.conversations(c.sid);
  await conv.participants.create({ identity: 'ana' });
  const sids: string[] = [];
  for (const [author, body] of [['ana', 'Hello'], ['+14155550111', 'Hi'], ['ana', 'How can I help?']] as const) {
    sids.push((await conv.messages.create({ author, body, attributes: JSON.stringify({ n: sids.length }) })).sid);
    assertSchema(MESSAGE, s.lastBody());
  }
  await conv.messages(sids[0]!).fetch();
  const first = s.lastBody() as Record<string, unknown>;
  assertSchema(MESSAGE, first);
  assert.equal(first['index'], 0);
  assert.equal(typeof first['participant_sid'], 'string', 'ana is a participant');
  await conv.messages(sids[1]!).update({ body: 'Hi there' });
  assertSchema(MESSAGE, s.lastBody());
  await conv.messages.list({ order: 'asc' });
  assert.deepEqual(assertListBody(MESSAGE, 'messages', s.lastBody(), s.base).map((m) => m['sid']), sids);
  await conv.messages.list({ order: 'desc' });
  assert.deepEqual(assertListBody(MESSAGE, 'messages', s.lastBody(), s.base).map((m) => m['sid']), [...sids].reverse());
  await conv.messages(sids[2]!).remove();
  assertErrorBody((await s.raw('GET', `/v1/Conversations/${c.sid}/Messages/${sids[2]!}`)).body, 404, 20404);
});

test('conversation-scoped webhooks: create, fetch, update, list', async () => {
  const c = await s.client.conversations.v1.conversations.create({ friendlyName: 'W' });
  const conv = s.client.conversations.v1.conversations(c.sid);
  const w = await conv.webhooks.create({ target: 'webhook', 'configuration.url': 'https://example.com/hook', 'configuration.method': 'post', 'configuration.filters': ['onMessageAdded', 'onConversationStateUpdated'] });
  const body = s.lastBody() as Record<string, unknown>;
  assertSchema(WEBHOOK, body);
  assert.deepEqual(body['configuration'], { method: 'POST', filters: ['onMessageAdded', 'onConversationStateUpdated'], url: 'https://example.com/hook' });
  await conv.webhooks(w.sid).fetch();
  assertSchema(WEBHOOK, s.lastBody());
  await conv.webhooks(w.sid).update({ 'configuration.filters': ['onMessageAdded'] });
  assertSchema(WEBHOOK, s.lastBody());
  await conv.webhooks.list();
  assert.equal(assertListBody(WEBHOOK, 'webhooks', s.lastBody(), s.base).length, 1);
  await conv.webhooks(w.sid).remove();
  assertErrorBody((await s.raw('GET', `/v1/Conversations/${c.sid}/Webhooks/${w.sid}`)).body, 404, 20404);
});

test('configuration and its webhooks: fetch and update', async () => {
  await s.client.conversations.v1.configuration().fetch();
  assertSchema('configuration', s.lastBody());
  await s.client.conversations.v1.configuration().update({ defaultInactiveTimer: 'PT10M', defaultClosedTimer: 'PT2H' });
  const conf = s.lastBody() as Record<string, unknown>;
  assertSchema('configuration', conf);
  assert.equal(conf['default_inactive_timer'], 'PT10M');
  await s.client.conversations.v1.configuration.webhooks().fetch();
  assertSchema('configuration.configuration_webhook', s.lastBody());
  await s.client.conversations.v1.configuration.webhooks().update({ postWebhookUrl: 'https://example.com/post', method: 'POST', filters: ['onMessageAdded'], target: 'webhook' });
  const hooks = s.lastBody() as Record<string, unknown>;
  assertSchema('configuration.configuration_webhook', hooks);
  assert.equal(hooks['post_webhook_url'], 'https://example.com/post');
  // Back to no defaults, so the other tests' conversations have no timers of their own.
  await s.client.conversations.v1.configuration().update({ defaultInactiveTimer: 'PT0S', defaultClosedTimer: 'PT0S' });
  assertSchema('configuration', s.lastBody());
  await s.client.conversations.v1.configuration.webhooks().update({ postWebhookUrl: '' });
  assertSchema('configuration.configuration_webhook', s.lastBody());
});

test('address configurations: create, fetch, update, list, delete', async () => {
  const a = await s.client.conversations.v1.addressConfigurations.create({ type: 'sms', address: '+14155550100', friendlyName: 'Support line', 'autoCreation.enabled': true, 'autoCreation.type': 'webhook', 'autoCreation.webhookUrl': 'https://example.com/auto', 'autoCreation.webhookMethod': 'post', 'autoCreation.webhookFilters': ['onMessageAdded'] });
  assertSchema('configuration_address', s.lastBody());
  await s.client.conversations.v1.addressConfigurations(a.sid).fetch();
  assertSchema('configuration_address', s.lastBody());
  await s.client.conversations.v1.addressConfigurations(a.sid).update({ friendlyName: 'Support', 'autoCreation.enabled': false });
  assertSchema('configuration_address', s.lastBody());
  await s.client.conversations.v1.addressConfigurations.list({ type: 'sms' });
  assert.equal(assertListBody('configuration_address', 'address_configurations', s.lastBody(), s.base).length, 1);
  await s.client.conversations.v1.addressConfigurations(a.sid).remove();
  assertErrorBody((await s.raw('GET', `/v1/Configuration/Addresses/${a.sid}`)).body, 404, 20404);
});

test('error bodies: 404, bad parameter 400 naming the field, 50377, 50361, 50416, 401', async () => {
  assertErrorBody((await s.raw('GET', '/v1/Conversations/CH00000000000000000000000000000000')).body, 404, 20404);
  const bad = await s.raw('POST', '/v1/Conversations', { 'Timers.Inactive': 'five minutes' });
  assert.equal(bad.status, 400);
  assertErrorBody(bad.body, 400, 20001);
  const c = (await s.raw('POST', '/v1/Conversations', { State: 'closed' })).body as { sid: string };
  const closed = await s.raw('POST', `/v1/Conversations/${c.sid}/Messages`, { Body: 'late' });
  assertErrorBody(closed.body, closed.status, 50377);
  const open = (await s.raw('POST', '/v1/Conversations', {})).body as { sid: string };
  for (let i = 0; i < 5; i++) assert.equal((await s.raw('POST', `/v1/Conversations/${open.sid}/Webhooks`, { Target: 'webhook', 'Configuration.Url': `https://example.com/${i}` })).status, 201);
  const sixth = await s.raw('POST', `/v1/Conversations/${open.sid}/Webhooks`, { Target: 'webhook', 'Configuration.Url': 'https://example.com/6' });
  assertErrorBody(sixth.body, sixth.status, 50361);
  const binding = { 'MessagingBinding.Address': '+14155550199', 'MessagingBinding.ProxyAddress': '+14155550100' };
  assert.equal((await s.raw('POST', `/v1/Conversations/${open.sid}/Participants`, binding)).status, 201);
  const other = (await s.raw('POST', '/v1/Conversations', {})).body as { sid: string };
  const dup = await s.raw('POST', `/v1/Conversations/${other.sid}/Participants`, binding);
  assertErrorBody(dup.body, dup.status, 50416);
  const res = await fetch(`${s.base}/v1/Conversations`, { headers: { authorization: `Basic ${Buffer.from(`${s.account.sid}:wrong`).toString('base64')}` } });
  assertErrorBody(await res.json(), 401, 20003);
});
