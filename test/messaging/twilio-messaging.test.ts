/**
 * The Twilio messaging adapter against a fake Messages API (test/support/fake-messaging.ts) through
 * the official `twilio` client, and the messaging webhooks (src/api/routes/messaging.ts) with
 * signed and forged requests, the inbound side a stub.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { messagingRoutes } from '../../src/api/routes/messaging.ts';
import { INBOUND_PATH, STATUS_PATH, TwilioMessaging } from '../../src/messaging/twilio-messaging.ts';
import type { InboundMessage, MessagingInbound, OutboundMessage } from '../../src/conversations/messaging-port.ts';
import { twilioSignature } from '../../src/runtime/signature.ts';
import { startFakeMessagingApi, type FakeMessagingApi } from '../support/fake-messaging.ts';

const TOKEN = 'f'.repeat(32);
const PUBLIC = 'https://sb.example.com';
const OUR_NUMBER = '+14155550100';
const CUSTOMER = '+14155550123';
const AT = 1_800_000_000_000;

/** The receiving side, scripted: records every message and answers `taken` (or throws `fail`). */
class StubInbound implements MessagingInbound {
  readonly messages: InboundMessage[] = [];
  taken = true;
  fail: Error | null = null;
  async received(message: InboundMessage): Promise<boolean> {
    this.messages.push(message);
    if (this.fail !== null) throw this.fail;
    return this.taken;
  }
}

let fake: FakeMessagingApi;
let sids = 0;

/** A fresh message for the customer (a new `IM…` SID each call). */
function outbound(extra: Partial<OutboundMessage> = {}): OutboundMessage {
  sids += 1;
  return {
    messageSid: 'IM' + String(sids).padStart(32, '0'),
    conversationSid: 'CH' + '0'.repeat(32),
    accountSid: fake.accountSid,
    to: CUSTOMER,
    from: OUR_NUMBER,
    body: `hello ${sids}`,
    mediaSid: null,
    ...extra,
  };
}

before(async () => {
  fake = await startFakeMessagingApi({ authToken: TOKEN });
});

after(async () => {
  await fake.close();
});

test('send: one Messages create with exactly To, From, Body and the status callback', async () => {
  const adapter = new TwilioMessaging({ client: fake.client(), publicUrl: PUBLIC + '/' });
  const from = fake.requests.length;
  const m = outbound();
  await adapter.send(m, AT);
  assert.deepEqual(fake.requests.slice(from).map((r) => r.params), [{ To: CUSTOMER, From: OUR_NUMBER, Body: m.body, StatusCallback: PUBLIC + STATUS_PATH }]);
  assert.equal(fake.requests.at(-1)?.accountSid, fake.accountSid);
  assert.ok(adapter.wasSent(m.messageSid));
  assert.equal(adapter.providerSidOf(m.messageSid), fake.requests.at(-1)?.sid);
});

test('send: without a public URL no status callback is asked for; a whatsapp: address goes as it is', async () => {
  const adapter = new TwilioMessaging({ client: fake.client() });
  const from = fake.requests.length;
  const m = outbound({ to: 'whatsapp:' + CUSTOMER, from: 'whatsapp:' + OUR_NUMBER });
  await adapter.send(m, AT);
  assert.deepEqual(fake.requests.slice(from).map((r) => r.params), [{ To: 'whatsapp:' + CUSTOMER, From: 'whatsapp:' + OUR_NUMBER, Body: m.body }]);
});

test('send: at most once per message SID, sequential or concurrent', async () => {
  const adapter = new TwilioMessaging({ client: fake.client() });
  const from = fake.requests.length;
  const a = outbound();
  await adapter.send(a, AT);
  await adapter.send(a, AT + 1);
  const b = outbound();
  await Promise.all([adapter.send(b, AT), adapter.send(b, AT), adapter.send({ ...b }, AT)]);
  assert.deepEqual(
    fake.requests.slice(from).map((r) => r.params['Body']),
    [a.body, b.body],
  );
});

test('send: rejects with the provider error and sends again on the retry', async () => {
  const adapter = new TwilioMessaging({ client: fake.client() });
  const bad = '+15005550001';
  fake.invalidTo.add(bad);
  const m = outbound({ to: bad });
  const from = fake.requests.length;
  await assert.rejects(adapter.send(m, AT), (err: { code?: number; status?: number }) => err.code === 21211 && err.status === 400);
  assert.equal(adapter.wasSent(m.messageSid), false);
  fake.invalidTo.delete(bad);
  await adapter.send(m, AT + 60_000);
  assert.equal(fake.requests.slice(from).length, 2);
  assert.equal(fake.requests.at(-1)?.sid !== null, true);
  assert.ok(adapter.wasSent(m.messageSid));
});

test('send: media through the resolver; nothing to send is a RangeError and no request', async () => {
  const adapter = new TwilioMessaging({ client: fake.client(), mediaUrl: (sid) => (sid === 'ME' + '1'.repeat(32) ? `https://media.example.com/${sid}` : null) });
  const from = fake.requests.length;
  await adapter.send(outbound({ body: null, mediaSid: 'ME' + '1'.repeat(32) }), AT);
  assert.deepEqual(fake.requests.slice(from).map((r) => r.params), [{ To: CUSTOMER, From: OUR_NUMBER, MediaUrl: `https://media.example.com/ME${'1'.repeat(32)}` }]);
  await assert.rejects(adapter.send(outbound({ body: null, mediaSid: 'ME' + '2'.repeat(32) }), AT), RangeError);
  await assert.rejects(new TwilioMessaging({ client: fake.client() }).send(outbound({ body: null }), AT), RangeError);
  assert.equal(fake.requests.length, from + 1);
});

test('send: only the most recent rememberSids SIDs are remembered', async () => {
  assert.throws(() => new TwilioMessaging({ client: fake.client(), rememberSids: 0 }), RangeError);
  const adapter = new TwilioMessaging({ client: fake.client(), rememberSids: 2 });
  const [a, b, c] = [outbound(), outbound(), outbound()];
  for (const m of [a, b, c]) await adapter.send(m, AT);
  assert.deepEqual([a, b, c].map((m) => adapter.wasSent(m.messageSid)), [false, true, true]);
});

test('handleInbound: Twilio parameters become the port message; no inbound attached throws', async () => {
  const adapter = new TwilioMessaging({ client: fake.client(), now: () => AT });
  await assert.rejects(adapter.handleInbound({ From: CUSTOMER, To: OUR_NUMBER, Body: 'hi' }), /attach/);
  const stub = new StubInbound();
  adapter.attach(stub);
  assert.equal(await adapter.handleInbound({ From: CUSTOMER, To: OUR_NUMBER, Body: 'hi', MessageSid: 'SM' + 'a'.repeat(32), NumMedia: '0' }), true);
  stub.taken = false;
  assert.equal(await adapter.handleInbound({ From: 'whatsapp:' + CUSTOMER, To: 'whatsapp:' + OUR_NUMBER, Body: '', SmsSid: 'SM' + 'b'.repeat(32), NumMedia: '1' }), false);
  await assert.rejects(adapter.handleInbound({ To: OUR_NUMBER, Body: 'x' }), RangeError);
  assert.deepEqual(stub.messages, [
    { from: CUSTOMER, to: OUR_NUMBER, body: 'hi', providerSid: 'SM' + 'a'.repeat(32), at: AT },
    { from: 'whatsapp:' + CUSTOMER, to: 'whatsapp:' + OUR_NUMBER, body: null, providerSid: 'SM' + 'b'.repeat(32), at: AT },
  ]);
});

/** A Fastify app with the messaging routes and a form parser (as app.ts has). */
async function routesApp(adapter: TwilioMessaging, publicUrl?: string): Promise<{ app: FastifyInstance; logs: Array<{ level: number; msg: string }> }> {
  const logs: Array<{ level: number; msg: string }> = [];
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => void logs.push(JSON.parse(line) as { level: number; msg: string }) } } });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  messagingRoutes(app, { twilio: adapter, authToken: TOKEN, ...(publicUrl === undefined ? {} : { publicUrl }) });
  await app.ready();
  return { app, logs };
}

/** POSTs `params` to `path`, signed for `base` + path (or with `signature` as given). */
function post(app: FastifyInstance, path: string, params: Record<string, string>, base: string, signature?: string) {
  return app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature ?? twilioSignature(TOKEN, base + path, params) },
    payload: new URLSearchParams(params).toString(),
  });
}

const incoming = (body: string): Record<string, string> => ({
  ToCountry: 'US',
  SmsMessageSid: 'SM' + 'c'.repeat(32),
  NumMedia: '0',
  SmsSid: 'SM' + 'c'.repeat(32),
  SmsStatus: 'received',
  Body: body,
  To: OUR_NUMBER,
  NumSegments: '1',
  MessageSid: 'SM' + 'c'.repeat(32),
  AccountSid: 'AC' + '2'.repeat(32),
  From: CUSTOMER,
  ApiVersion: '2010-04-01',
});

test('routes: the paths are the adapter\'s', () => {
  assert.equal(INBOUND_PATH, '/messaging/twilio/inbound');
  assert.equal(STATUS_PATH, '/messaging/twilio/status');
});

test('inbound route: a signed message reaches the inbound side and is answered with empty TwiML', async () => {
  const adapter = new TwilioMessaging({ client: fake.client(), publicUrl: 'https://ignored.example.com', now: () => AT });
  const stub = new StubInbound();
  adapter.attach(stub);
  const { app } = await routesApp(adapter, PUBLIC);
  try {
    const res = await post(app, INBOUND_PATH + '?n=1', incoming('Where is my order?'), PUBLIC);
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/xml/);
    assert.equal(res.body, '<?xml version="1.0" encoding="UTF-8"?><Response/>');
    assert.deepEqual(stub.messages, [{ from: CUSTOMER, to: OUR_NUMBER, body: 'Where is my order?', providerSid: 'SM' + 'c'.repeat(32), at: AT }]);
  } finally {
    await app.close();
  }
});

test('inbound route: a bad signature is a 403 in Twilio\'s shape and reaches nobody', async () => {
  const adapter = new TwilioMessaging({ client: fake.client(), now: () => AT });
  const stub = new StubInbound();
  adapter.attach(stub);
  const { app } = await routesApp(adapter, PUBLIC);
  try {
    const forged = await post(app, INBOUND_PATH, incoming('hi'), PUBLIC, twilioSignature('0'.repeat(32), PUBLIC + INBOUND_PATH, incoming('hi')));
    assert.equal(forged.statusCode, 403);
    assert.deepEqual(forged.json(), { code: 20403, message: 'X-Twilio-Signature does not match this request', more_info: 'https://www.twilio.com/docs/errors/20403', status: 403 });
    // Signed for another URL (the wrong public URL) is no better; nor is no signature at all.
    assert.equal((await post(app, INBOUND_PATH, incoming('hi'), 'https://other.example.com')).statusCode, 403);
    const unsigned = await app.inject({ method: 'POST', url: INBOUND_PATH, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(incoming('hi')).toString() });
    assert.equal(unsigned.statusCode, 403);
    // A signed body whose Body was changed afterwards.
    const sig = twilioSignature(TOKEN, PUBLIC + INBOUND_PATH, incoming('hi'));
    assert.equal((await post(app, INBOUND_PATH, incoming('pay me'), PUBLIC, sig)).statusCode, 403);
    assert.deepEqual(stub.messages, []);
  } finally {
    await app.close();
  }
});

test('inbound route: the base URL falls back to the adapter\'s; untaken, failing and incomplete messages', async () => {
  const adapter = new TwilioMessaging({ client: fake.client(), publicUrl: PUBLIC, now: () => AT });
  const stub = new StubInbound();
  adapter.attach(stub);
  const { app, logs } = await routesApp(adapter);
  try {
    stub.taken = false;
    const untaken = await post(app, INBOUND_PATH, incoming('anyone?'), PUBLIC);
    assert.equal(untaken.statusCode, 200);
    assert.match(untaken.body, /<Response\/>/);
    assert.ok(logs.some((l) => l.msg === 'incoming message taken by no conversation'));
    stub.fail = new Error('disk full');
    const failed = await post(app, INBOUND_PATH, incoming('again'), PUBLIC);
    assert.equal(failed.statusCode, 500);
    assert.equal(failed.json().code, 20500);
    assert.ok(logs.some((l) => l.level === 50 && l.msg.startsWith('incoming message failed')));
    stub.fail = null;
    const { From: _from, ...noFrom } = incoming('x');
    const incomplete = await post(app, INBOUND_PATH, noFrom, PUBLIC);
    assert.equal(incomplete.statusCode, 400);
    assert.equal(stub.messages.length, 2);
  } finally {
    await app.close();
  }
});

test('status route: signed callbacks are logged (a failure as a warning) and answered 204; forged ones 403', async () => {
  const adapter = new TwilioMessaging({ client: fake.client(), publicUrl: PUBLIC });
  adapter.attach(new StubInbound());
  const { app, logs } = await routesApp(adapter);
  try {
    const sent = { MessageSid: 'SM' + 'd'.repeat(32), MessageStatus: 'delivered', To: CUSTOMER, From: OUR_NUMBER, AccountSid: 'AC' + '2'.repeat(32) };
    assert.equal((await post(app, STATUS_PATH, sent, PUBLIC)).statusCode, 204);
    const undelivered = { ...sent, MessageStatus: 'undelivered', ErrorCode: '30003' };
    assert.equal((await post(app, STATUS_PATH, undelivered, PUBLIC)).statusCode, 204);
    assert.equal((await post(app, STATUS_PATH, sent, PUBLIC, 'bogus')).statusCode, 403);
    const warn = logs.find((l) => l.level === 40 && l.msg === 'outbound message undelivered') as unknown as Record<string, unknown> | undefined;
    assert.equal(warn?.['errorCode'], '30003');
    assert.ok(logs.some((l) => l.level === 30 && l.msg === 'outbound message status'));
  } finally {
    await app.close();
  }
});
