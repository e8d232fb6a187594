/**
 * The simulated messaging network in virtual time (VirtualScheduler): first messages, scripts,
 * replies after their delay, customers who go silent, once per SID, tracked inbound work, and the
 * same logs for the same seed. No wall clock.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedMessagingNetwork, type CustomerBehaviour } from '../../src/messaging/simulated-messaging.ts';
import type { InboundMessage, MessagingInbound, OutboundMessage } from '../../src/conversations/messaging-port.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

const US = '+14155550100';
const ALICE = '+14155550111';
const BOB = 'whatsapp:+14155550122';
const S = 1000;

/** Records what arrives; answers `taken` after a few real turns of the event loop (as a store would). */
class StubInbound implements MessagingInbound {
  readonly messages: InboundMessage[] = [];
  taken = true;
  fail: Error | null = null;
  /** Called with each message once it "committed" (an auto-reply, say). */
  onReceived: ((m: InboundMessage) => Promise<void>) | null = null;
  async received(message: InboundMessage): Promise<boolean> {
    this.messages.push(message);
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    if (this.fail !== null) throw this.fail;
    if (this.onReceived !== null) await this.onReceived(message);
    return this.taken;
  }
}

let sids = 0;
function reply(to: string, body: string, from = US): OutboundMessage {
  sids += 1;
  return { messageSid: 'IM' + String(sids).padStart(32, '0'), conversationSid: 'CH' + '0'.repeat(32), accountSid: 'AC' + '0'.repeat(32), to, from, body, mediaSid: null };
}

function setup(seed = 1, options: { replyDelaySeconds?: number | [number, number]; replyProbability?: number } = {}) {
  const scheduler = new VirtualScheduler();
  const network = new SimulatedMessagingNetwork({ scheduler, seed, ...options });
  const inbound = new StubInbound();
  network.attach(inbound);
  return { scheduler, network, inbound, t0: scheduler.now() };
}

test('start: the first message goes to the inbound side at once, with an SM SID and the virtual time', async () => {
  const { network, inbound, t0 } = setup();
  assert.equal(await network.start(ALICE, US, 'Hi, my card is blocked'), true);
  assert.deepEqual(inbound.messages, [{ from: ALICE, to: US, body: 'Hi, my card is blocked', providerSid: 'SM' + '0'.repeat(31) + '1', at: t0 }]);
  assert.deepEqual(network.received().map((r) => [r.cause, r.outcome]), [['start', 'taken']]);
  assert.throws(() => network.start(ALICE, US, 'again'), RangeError);
  assert.throws(() => network.customer(ALICE, {}), RangeError);
  inbound.taken = false;
  assert.equal(await network.start(BOB, US, 'hola'), false);
  assert.equal(network.received()[1]?.outcome, 'refused');
});

test('script: messages on their own at their offsets from the first', async () => {
  const { scheduler, network, inbound, t0 } = setup();
  network.customer(ALICE, { script: [{ afterSeconds: 10, body: 'hello?' }, { afterSeconds: 95, body: 'anyone there?' }], replyProbability: 0 });
  await network.start(ALICE, US, 'first');
  await scheduler.advance(9 * S);
  assert.equal(inbound.messages.length, 1);
  await scheduler.advance(1 * S);
  assert.deepEqual(inbound.messages.map((m) => [m.body, m.at - t0]), [['first', 0], ['hello?', 10 * S]]);
  await scheduler.advance(100 * S);
  assert.deepEqual(network.received().map((r) => [r.message.body, r.message.at - t0, r.cause, r.outcome]), [
    ['first', 0, 'start', 'taken'],
    ['hello?', 10 * S, 'script', 'taken'],
    ['anyone there?', 95 * S, 'script', 'taken'],
  ]);
});

test('replies: a customer answers each message after their delay, to the address that wrote', async () => {
  const { scheduler, network, inbound, t0 } = setup();
  network.customer(BOB, { replyDelaySeconds: 20, replyBody: (m, n) => `re ${n}: ${m.body}` });
  await network.start(BOB, 'whatsapp:' + US, 'hola');
  await scheduler.advance(5 * S);
  await network.send(reply(BOB, 'How can I help?', 'whatsapp:' + US), scheduler.now());
  await scheduler.advance(19 * S);
  assert.equal(inbound.messages.length, 1);
  await scheduler.advance(1 * S);
  assert.deepEqual(inbound.messages.at(-1), { from: BOB, to: 'whatsapp:' + US, body: 're 1: How can I help?', providerSid: 'SM' + '0'.repeat(31) + '2', at: t0 + 25 * S });
  assert.deepEqual(network.sent().map((r) => [r.message.body, r.at - t0, r.toCustomer]), [['How can I help?', 5 * S, true]]);
  // A message to nobody is recorded and answered by nobody.
  await network.send(reply('+19995550000', 'wrong number'), scheduler.now());
  await scheduler.advance(3600 * S);
  assert.equal(inbound.messages.length, 2);
  assert.equal(network.sent().at(-1)?.toCustomer, false);
});

test('silence: replyProbability 0, and a customer gone after goneAfterSeconds sends and answers nothing more', async () => {
  const { scheduler, network, inbound } = setup();
  network.customer(ALICE, { replyProbability: 0 });
  network.customer(BOB, { replyDelaySeconds: 10, goneAfterSeconds: 60, script: [{ afterSeconds: 30, body: 'still here' }, { afterSeconds: 120, body: 'too late' }] });
  await network.start(ALICE, US, 'a');
  await network.start(BOB, US, 'b');
  await network.send(reply(ALICE, 'to alice'), scheduler.now());
  await network.send(reply(BOB, 'to bob 1'), scheduler.now());
  await scheduler.advance(55 * S);
  await network.send(reply(BOB, 'to bob 2 (reply would come after he left)'), scheduler.now());
  await scheduler.advance(10 * S);
  assert.ok(network.isGone(BOB));
  assert.equal(network.isGone(ALICE), false);
  await network.send(reply(BOB, 'to bob 3'), scheduler.now());
  await scheduler.advance(3600 * S);
  assert.deepEqual(inbound.messages.map((m) => `${m.from === ALICE ? 'alice' : 'bob'}:${m.body}`), ['alice:a', 'bob:b', 'bob:reply 1 to ' + network.sent()[1]?.message.messageSid, 'bob:still here']);
  assert.equal(network.sent().length, 4);
  assert.equal(scheduler.pendingTimers, 0);
});

test('once per SID: a repeated send is ignored and counted', async () => {
  const { scheduler, network, inbound } = setup();
  network.customer(ALICE, { replyDelaySeconds: 1 });
  await network.start(ALICE, US, 'a');
  const m = reply(ALICE, 'once');
  await network.send(m, scheduler.now());
  await network.send(m, scheduler.now());
  await network.send({ ...m }, scheduler.now());
  await scheduler.advance(60 * S);
  assert.equal(network.sent().length, 1);
  assert.equal(network.duplicates, 2);
  assert.equal(inbound.messages.length, 2);
});

test('tracked: a conversation that answers every message keeps talking until the customer leaves, in virtual time', async () => {
  const { scheduler, network, inbound, t0 } = setup(7, { replyDelaySeconds: [5, 15] });
  network.customer(ALICE, { goneAfterSeconds: 100 });
  inbound.onReceived = async (m) => {
    await network.send(reply(m.from, `ack ${m.providerSid}`, m.to), scheduler.now());
  };
  await network.start(ALICE, US, 'hi');
  await scheduler.advance(3600 * S);
  const got = network.received();
  assert.ok(got.length >= 7, `${got.length} messages`);
  assert.ok(got.every((r) => r.outcome === 'taken'));
  for (let i = 1; i < got.length; i++) {
    const gap = (got[i]!.message.at - got[i - 1]!.message.at) / S;
    assert.ok(gap >= 5 && gap <= 15, `gap ${gap}`);
  }
  assert.ok(got.at(-1)!.message.at - t0 < 100 * S);
  // Every message got its ack; the last ack went unanswered (the customer had left by then).
  assert.equal(network.sent().length, got.length);
});

test('failed inbound: the outcome is recorded, the start rejects, the network goes on', async () => {
  const { scheduler, network, inbound } = setup();
  inbound.fail = new Error('store down');
  network.customer(ALICE, { script: [{ afterSeconds: 1, body: 'later' }] });
  await assert.rejects(network.start(ALICE, US, 'a'), /store down/);
  inbound.fail = null;
  await scheduler.advance(2 * S);
  assert.deepEqual(network.received().map((r) => r.outcome), ['failed', 'taken']);
});

test('bad options are RangeErrors; start before attach is an Error', () => {
  const scheduler = new VirtualScheduler();
  assert.throws(() => new SimulatedMessagingNetwork({ scheduler, replyProbability: 2 }), RangeError);
  assert.throws(() => new SimulatedMessagingNetwork({ scheduler, replyDelaySeconds: [10, 5] }), RangeError);
  const network = new SimulatedMessagingNetwork({ scheduler });
  assert.throws(() => network.customer(ALICE, { replyDelaySeconds: -1 }), RangeError);
  assert.throws(() => network.customer(ALICE, { script: [{ afterSeconds: Number.NaN, body: 'x' }] }), RangeError);
  assert.throws(() => network.start(ALICE, US, 'x'), /attach/);
});

/** A day of ten customers with random delays and probabilities: the logs as plain data. */
async function run(seed: number): Promise<unknown> {
  const { scheduler, network, inbound, t0 } = setup(seed, { replyDelaySeconds: [2, 90], replyProbability: 0.7 });
  inbound.onReceived = async (m) => {
    await network.send(reply(m.from, `ack ${m.body}`, m.to), scheduler.now());
  };
  for (let i = 0; i < 10; i++) {
    const address = `+1415555${String(1000 + i)}`;
    const behaviour: CustomerBehaviour = { goneAfterSeconds: 300 + i * 60, script: [{ afterSeconds: 30 * i, body: `script ${i}` }] };
    network.customer(address, behaviour);
    await network.start(address, US, `start ${i}`);
    await scheduler.advance(7 * S);
  }
  await scheduler.advance(24 * 3600 * S);
  return {
    sent: network.sent().map((r) => [r.at - t0, r.message.to, r.message.body]),
    received: network.received().map((r) => [r.message.at - t0, r.message.from, r.message.body, r.message.providerSid, r.cause, r.outcome]),
  };
}

test('determinism: the same seed gives the same logs, another seed other ones', async () => {
  sids = 1000;
  const a = await run(42);
  sids = 1000;
  const b = await run(42);
  sids = 1000;
  const c = await run(43);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
