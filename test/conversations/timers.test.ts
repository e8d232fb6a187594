/**
 * State timers on the real server in virtual time (issue 13, "What it must show"): every message,
 * the customer's and the agent's, restarts the inactive timer; `PT0S` turns it off; the closed
 * timer closes; a day of timers (500 conversations, random timers and messages over 24 virtual
 * hours) runs in seconds with every transition at its due instant — against a reference model,
 * both the stored `com.twilio.conversations.*` events and the state the server shows at each due
 * instant and the millisecond before; a restart (runtime closed, virtual time moved on, reopened
 * on the same data dir) keeps each timer's remaining time and fires what came due while down.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conversationEvents, startConvServer, type ConvServer } from './harness.ts';

const CUSTOMER = '+14155550111';
const OUR_NUMBER = '+14155550100';
const MIN = 60_000;

/** The server's state of a conversation, as the API shows it. */
async function stateOf(s: ConvServer, sid: string): Promise<string> {
  return (await s.client.conversations.v1.conversations(sid).fetch()).state;
}

/** The TIMER transitions stored for a conversation: [at, from, to]. */
async function timerTransitions(s: ConvServer, sid?: string): Promise<Array<[string, number, string, string]>> {
  return (await conversationEvents(s))
    .filter((e) => e.eventType === 'com.twilio.conversations.conversation-state.updated' && e.data['Reason'] === 'TIMER' && (sid === undefined || e.resourceSid === sid))
    .map((e) => [e.resourceSid, e.at, e.data['StateFrom'] ?? '', e.data['StateTo'] ?? '']);
}

test('every message, customer or agent, restarts the inactive timer; then it fires at last message + timer', async () => {
  const s = await startConvServer();
  try {
    const t0 = s.scheduler.now();
    const c = await s.client.conversations.v1.conversations.create({ friendlyName: 'Chat', state: 'active', 'timers.inactive': 'PT1M' });
    const conv = s.client.conversations.v1.conversations(c.sid);
    await conv.participants.create({ 'messagingBinding.address': CUSTOMER, 'messagingBinding.proxyAddress': OUR_NUMBER });
    await conv.participants.create({ identity: 'ana' });
    await s.scheduler.advance(50_000);
    await conv.messages.create({ author: CUSTOMER, body: 'still there?' });
    await s.scheduler.advance(50_000);
    await conv.messages.create({ author: 'ana', body: 'yes' });
    await s.scheduler.advance(50_000);
    const customerViaNetwork = await s.runtime.conversations.received({ from: CUSTOMER, to: OUR_NUMBER, body: 'ok thanks', at: s.scheduler.now() });
    assert.equal(customerViaNetwork, true, 'the inbound SMS reached the conversation');
    const last = s.scheduler.now();
    await s.scheduler.advance(MIN - 1);
    assert.equal(await stateOf(s, c.sid), 'active', '150 s after creation, a minute less 1 ms after the last message');
    await s.scheduler.advance(1);
    assert.equal(await stateOf(s, c.sid), 'inactive');
    assert.deepEqual(await timerTransitions(s, c.sid), [[c.sid, last + MIN, 'active', 'inactive']]);
    assert.ok(last + MIN > t0 + 3 * MIN - 1);
    // A message to the inactive conversation reactivates it, and the timer counts from it again.
    await conv.messages.create({ author: CUSTOMER, body: 'one more thing' });
    assert.equal(await stateOf(s, c.sid), 'active');
    await s.scheduler.advance(MIN);
    assert.equal(await stateOf(s, c.sid), 'inactive');
  } finally {
    await s.close();
  }
});

test('PT0S turns the inactive timer off', async () => {
  const s = await startConvServer();
  try {
    const c = await s.client.conversations.v1.conversations.create({ state: 'active', 'timers.inactive': 'PT1M' });
    await s.scheduler.advance(30_000);
    const off = await s.client.conversations.v1.conversations(c.sid).update({ 'timers.inactive': 'PT0S' });
    assert.deepEqual(off.timers, {});
    await s.scheduler.advance(24 * 60 * MIN);
    assert.equal(await stateOf(s, c.sid), 'active');
    assert.deepEqual(await timerTransitions(s), []);
  } finally {
    await s.close();
  }
});

test('the closed timer closes: from active, and from inactive at last activity + closed', async () => {
  const s = await startConvServer();
  try {
    const t0 = s.scheduler.now();
    const a = await s.client.conversations.v1.conversations.create({ state: 'active', 'timers.closed': 'PT10M' });
    const b = await s.client.conversations.v1.conversations.create({ state: 'active', 'timers.inactive': 'PT1M', 'timers.closed': 'PT15M' });
    await s.scheduler.advance(10 * MIN - 1);
    assert.equal(await stateOf(s, a.sid), 'active');
    await s.scheduler.advance(1);
    assert.equal(await stateOf(s, a.sid), 'closed');
    assert.equal(await stateOf(s, b.sid), 'inactive');
    await s.scheduler.advance(5 * MIN);
    assert.equal(await stateOf(s, b.sid), 'closed');
    assert.deepEqual((await timerTransitions(s)).sort((x, y) => x[1] - y[1]), [
      [b.sid, t0 + MIN, 'active', 'inactive'],
      [a.sid, t0 + 10 * MIN, 'active', 'closed'],
      [b.sid, t0 + 15 * MIN, 'inactive', 'closed'],
    ]);
    await assert.rejects(s.client.conversations.v1.conversations(a.sid).messages.create({ body: 'late' }), (e: { code?: number }) => e.code === 50377);
  } finally {
    await s.close();
  }
});

/** A deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The reference model of one conversation's timers (docs/conversations.md "State timers"). */
interface Model {
  sid: string;
  inactiveMs: number;
  closedMs: number;
  state: 'active' | 'inactive' | 'closed';
  base: number;
}

function dueOf(m: Model): { at: number; to: 'inactive' | 'closed' } | null {
  if (m.state === 'closed') return null;
  const closedAt = m.closedMs > 0 ? m.base + m.closedMs : Infinity;
  const inactiveAt = m.state === 'active' && m.inactiveMs > 0 ? m.base + m.inactiveMs : Infinity;
  if (closedAt === Infinity && inactiveAt === Infinity) return null;
  return closedAt <= inactiveAt ? { at: closedAt, to: 'closed' } : { at: inactiveAt, to: 'inactive' };
}

test('a day of timers in virtual time: 500 conversations, random timers and messages over 24 h, every transition at its due instant', { timeout: 120_000 }, async (t) => {
  const s = await startConvServer();
  const started = performance.now();
  try {
    const random = rng(13);
    const t0 = s.scheduler.now();
    const DAY = 24 * 60 * MIN;
    const models: Model[] = [];
    for (let i = 0; i < 500; i++) {
      // Whole seconds, so that messages land on due instants now and then (the timer fires first).
      const inactiveS = random() < 0.15 ? 0 : 60 + Math.floor(random() * 7_140);
      const closedS = random() < 0.3 ? 0 : 600 + Math.floor(random() * 43_200);
      const r = await s.raw('POST', '/v1/Conversations', { State: 'active', 'Timers.Inactive': `PT${inactiveS}S`, 'Timers.Closed': `PT${closedS}S` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      models.push({ sid: (r.body as { sid: string }).sid, inactiveMs: inactiveS * 1000, closedMs: closedS * 1000, state: 'active', base: t0 });
    }
    // Messages: each conversation gets 0–8 at random whole seconds of the day, alternately customer and agent.
    const messages: Array<{ at: number; m: Model; author: string }> = [];
    for (const m of models) {
      const n = Math.floor(random() * 9);
      for (let k = 0; k < n; k++) messages.push({ at: t0 + 1000 * Math.floor(random() * (DAY / 1000)), m, author: k % 2 === 0 ? CUSTOMER : 'ana' });
    }
    messages.sort((x, y) => x.at - y.at);
    const expected: Array<[string, number, string, string]> = [];
    const fireModel = (upTo: number): number[] => {
      const instants: number[] = [];
      for (;;) {
        let next: { m: Model; at: number; to: 'inactive' | 'closed' } | null = null;
        for (const m of models) {
          const d = dueOf(m);
          if (d !== null && d.at <= upTo && (next === null || d.at < next.at || (d.at === next.at && m.sid < next.m.sid))) next = { m, ...d };
        }
        if (next === null) return instants;
        expected.push([next.m.sid, next.at, next.m.state, next.to]);
        instants.push(next.at);
        next.m.state = next.to;
      }
    };
    const center = s.runtime.conversations.center(s.account.sid);
    const checkAll = (when: string): void => {
      for (const m of models) assert.equal(center.conversation(m.sid)?.state, m.state, `${m.sid} ${when} (+${(s.scheduler.now() - t0) / 1000} s)`);
    };
    // Walks virtual time to each message and each due instant (and the millisecond before it),
    // checking every conversation's state against the model at each.
    const walkTo = async (until: number): Promise<void> => {
      for (;;) {
        let next = Infinity;
        for (const m of models) next = Math.min(next, dueOf(m)?.at ?? Infinity);
        if (next > until) break;
        if (next - 1 > s.scheduler.now()) {
          await s.scheduler.advanceTo(next - 1);
          checkAll('the millisecond before a due instant');
        }
        await s.scheduler.advanceTo(next);
        fireModel(next);
        checkAll('at a due instant');
      }
      if (until > s.scheduler.now()) await s.scheduler.advanceTo(until);
    };
    let sent = 0;
    for (const msg of messages) {
      await walkTo(msg.at);
      fireModel(msg.at);
      if (msg.m.state === 'closed') continue;
      const r = await s.raw('POST', `/v1/Conversations/${msg.m.sid}/Messages`, { Author: msg.author, Body: 'hi' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      sent++;
      msg.m.state = 'active';
      msg.m.base = msg.at;
      checkAll('after a message');
    }
    await walkTo(t0 + DAY + 13 * 60 * MIN);
    assert.ok(sent > 1000, `${sent} messages`);
    const stored = await timerTransitions(s);
    assert.equal(stored.length, expected.length);
    assert.deepEqual(stored, expected, 'every TIMER transition stored, in order, at its due instant');
    assert.ok(expected.filter((e) => e[3] === 'closed').length > 100 && expected.filter((e) => e[3] === 'inactive').length > 300, 'both timers exercised');
    // How long a virtual day took is reported, not asserted: speed belongs to the benches.
    t.diagnostic(`a virtual day of timers took ${Math.round(performance.now() - started)} ms of wall clock`);
  } finally {
    await s.close();
  }
});

test('a restart keeps each timer’s remaining time and fires what came due while down', async () => {
  let s = await startConvServer();
  try {
    const t0 = s.scheduler.now();
    const mk = async (inactive: string, closed: string): Promise<string> => (await s.client.conversations.v1.conversations.create({ state: 'active', 'timers.inactive': inactive, 'timers.closed': closed })).sid;
    const soon = await mk('PT2M', 'PT0S'); // due t0+2m: comes due while down
    const later = await mk('PT10M', 'PT0S'); // due t0+10m: after the restart
    const closes = await mk('PT3M', 'PT20M'); // inactive while down, closed after the restart
    await s.scheduler.advance(MIN);
    const restarted = await s.client.conversations.v1.conversations.create({ state: 'active', 'timers.inactive': 'PT1M' });
    await s.scheduler.advance(30_000);
    await s.client.conversations.v1.conversations(restarted.sid).messages.create({ author: 'ana', body: 'x' }); // due t0+2.5m
    await s.close();
    // Down for four virtual minutes.
    await s.scheduler.advance(4 * MIN);
    s = await s.reopen();
    await s.scheduler.advance(0);
    assert.equal(await stateOf(s, soon), 'inactive');
    assert.equal(await stateOf(s, restarted.sid), 'inactive');
    assert.equal(await stateOf(s, closes), 'inactive');
    assert.equal(await stateOf(s, later), 'active');
    await s.scheduler.advanceTo(t0 + 10 * MIN - 1);
    assert.equal(await stateOf(s, later), 'active');
    await s.scheduler.advanceTo(t0 + 10 * MIN);
    assert.equal(await stateOf(s, later), 'inactive');
    await s.scheduler.advanceTo(t0 + 20 * MIN - 1);
    assert.equal(await stateOf(s, closes), 'inactive');
    await s.scheduler.advanceTo(t0 + 20 * MIN);
    assert.equal(await stateOf(s, closes), 'closed');
    assert.deepEqual((await timerTransitions(s)).sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0])), [
      [soon, t0 + 2 * MIN, 'active', 'inactive'],
      [restarted.sid, t0 + 2.5 * MIN, 'active', 'inactive'],
      [closes, t0 + 3 * MIN, 'active', 'inactive'],
      [later, t0 + 10 * MIN, 'active', 'inactive'],
      [closes, t0 + 20 * MIN, 'inactive', 'closed'],
    ]);
  } finally {
    await s.close();
  }
});
