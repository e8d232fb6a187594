// The conversations core (issue 13; spec conversations-events-analytics.md A1–A8, C): state timers,
// errors, inbound routing and auto-creation, webhooks and sends, changes, snapshot/restore, and a
// seeded random run of operations and time advances checked against the invariants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SequentialSids, type SidPrefix } from '../../src/util/sid.ts';
import {
  ConversationError,
  ConversationsCenter,
  formatDuration,
  keywordMatches,
  parseDuration,
  parseTimer,
  type CenterSnapshot,
  type Conversation,
  type ConversationEffect,
  type ConversationEvent,
  type ConversationOutcome,
  type WriteContext,
} from '../../src/conversations/index.ts';

const T0 = 1_704_110_400_000; // 2024-01-01T12:00:00Z
const MIN = 60_000;
const ACCOUNT = `AC${'a'.repeat(32)}`;
const SERVICE = `IS${'b'.repeat(32)}`;
const CUSTOMER = '+15550001111';
const OUR_NUMBER = '+15559990000';

function center(sids = new SequentialSids(7), now = T0): { c: ConversationsCenter; sids: SequentialSids } {
  return { c: new ConversationsCenter({ accountSid: ACCOUNT, chatServiceSid: SERVICE, newSid: (p) => sids.next(p as SidPrefix), now }), sids };
}

const api = (at: number, webhookEnabled?: boolean): WriteContext => (webhookEnabled === undefined ? { at, source: 'API' } : { at, source: 'API', webhookEnabled });
const sdk = (at: number): WriteContext => ({ at, source: 'SDK' });
const sys = (at: number): WriteContext => ({ at, source: 'SYSTEM' });

function refused(fn: () => unknown, status: number, code: number, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConversationError, `a ConversationError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.code, code, e.message);
    if (field !== undefined) assert.equal(e.field, field, e.message);
    return true;
  });
}

const stateEvents = (o: ConversationOutcome): ConversationEvent[] => o.events.filter((e) => e.eventType === 'onConversationStateUpdated');
const transitions = (o: ConversationOutcome): string[] => stateEvents(o).map((e) => `${e.params.StateFrom}>${e.params.StateTo}:${e.params.Reason}`);
const hooks = (o: ConversationOutcome): Array<Extract<ConversationEffect, { kind: 'webhook' }>> => o.effects.filter((e) => e.kind === 'webhook');
const sends = (o: ConversationOutcome): Array<Extract<ConversationEffect, { kind: 'send' }>> => o.effects.filter((e) => e.kind === 'send');

/** A conversation with timers, a customer on SMS and an agent in chat. */
function support(c: ConversationsCenter, at = T0, timers: { inactive?: string; closed?: string } = { inactive: 'PT5M', closed: 'PT30M' }, customer = CUSTOMER): Conversation {
  const { conversation } = c.createConversation(
    { friendlyName: 'support', state: 'active', ...(timers.inactive === undefined ? {} : { timersInactive: timers.inactive }), ...(timers.closed === undefined ? {} : { timersClosed: timers.closed }) },
    api(at),
  );
  c.addParticipant(conversation.sid, { address: customer, proxyAddress: OUR_NUMBER }, api(at));
  c.addParticipant(conversation.sid, { identity: 'agent' }, api(at));
  return c.conversation(conversation.sid) as Conversation;
}

// ───────────────────────────── durations ─────────────────────────────

test('ISO 8601 durations: PnDTnHnMnS and PnW to seconds; garbage refused naming the field', () => {
  const cases: Array<[string, number]> = [
    ['PT0S', 0],
    ['PT1M', 60],
    ['PT10M', 600],
    ['PT1H30M', 5400],
    ['P1D', 86_400],
    ['P1DT2H3M4S', 93_784],
    ['PT90S', 90],
    ['PT1.5S', 1.5],
    ['P2W', 14 * 86_400],
    ['pt5m', 300],
  ];
  for (const [text, seconds] of cases) assert.equal(parseDuration(text, 'X'), seconds, text);
  for (const bad of ['', 'P', 'PT', 'P1DT', '5M', 'PT-1M', 'P1Y', 'P1M', 'PT1.5M', 'P1W2D', 'PT1H ', 'T1M', 'PT1.1234S']) {
    refused(() => parseDuration(bad, 'Timers.Inactive'), 400, 20001, 'Timers.Inactive');
  }
  refused(() => parseDuration(60 as unknown as string, 'Timers.Closed'), 400, 20001, 'Timers.Closed');
  for (const s of [0, 60, 600, 5400, 86_400, 93_784, 1.5, 365 * 86_400]) assert.equal(parseDuration(formatDuration(s), 'X'), s);
  assert.equal(formatDuration(93_784), 'P1DT2H3M4S');
  assert.equal(formatDuration(0), 'PT0S');
});

test('timer bounds: PT0S (off), PT1M / PT10M minimum, P365D maximum', () => {
  assert.equal(parseTimer('PT0S', 'Timers.Inactive', 60), 0);
  assert.equal(parseTimer('PT1M', 'Timers.Inactive', 60), 60);
  refused(() => parseTimer('PT59S', 'Timers.Inactive', 60), 400, 20001, 'Timers.Inactive');
  assert.equal(parseTimer('P365D', 'Timers.Closed', 600), 365 * 86_400);
  refused(() => parseTimer('P365DT1S', 'Timers.Closed', 600), 400, 20001, 'Timers.Closed');
  const { c } = center();
  refused(() => c.createConversation({ state: 'active', timersInactive: 'PT30S' }, api(T0)), 400, 20001, 'Timers.Inactive');
  refused(() => c.createConversation({ state: 'active', timersClosed: 'PT5M' }, api(T0)), 400, 20001, 'Timers.Closed');
  refused(() => c.createConversation({ state: 'active', timersClosed: 'P366D' }, api(T0)), 400, 20001, 'Timers.Closed');
  refused(() => c.updateConfiguration({ defaultInactiveTimer: 'soon' }, api(T0)), 400, 20001, 'DefaultInactiveTimer');
  refused(() => c.updateConfiguration({ defaultClosedTimer: 'PT1M' }, api(T0)), 400, 20001, 'DefaultClosedTimer');
  assert.deepEqual(c.listConversations(), [], 'a refused request changes nothing');
});

// ───────────────────────────── conversations ─────────────────────────────

test('create: defaults, account default timers, 50382 timers without State, validation naming the REST field', () => {
  const { c } = center();
  const { conversation: plain, events } = c.createConversation({}, api(T0));
  assert.equal(plain.state, 'active');
  assert.equal(plain.attributes, '{}');
  assert.equal(plain.chatServiceSid, SERVICE);
  assert.equal(plain.dateInactive, null);
  assert.equal(plain.dateClosed, null);
  assert.deepEqual(
    events.map((e) => e.eventType),
    ['onConversationAdded'],
  );
  assert.equal(c.nextDeadline(), null);

  c.updateConfiguration({ defaultInactiveTimer: 'PT2M', defaultClosedTimer: 'PT1H', defaultMessagingServiceSid: `MG${'c'.repeat(32)}` }, api(T0));
  const { conversation: withDefaults } = c.createConversation({}, api(T0 + 1000));
  assert.equal(withDefaults.inactiveSeconds, 120);
  assert.equal(withDefaults.closedSeconds, 3600);
  assert.equal(withDefaults.dateInactive, T0 + 1000 + 2 * MIN);
  assert.equal(withDefaults.dateClosed, T0 + 1000 + 60 * MIN);
  assert.equal(withDefaults.messagingServiceSid, `MG${'c'.repeat(32)}`);
  assert.equal(plain.inactiveSeconds, 0, 'defaults apply at creation, not to existing conversations');

  refused(() => c.createConversation({ timersInactive: 'PT5M' }, api(T0)), 400, 50382, 'State');
  refused(() => c.createConversation({ timersClosed: 'PT10M' }, api(T0)), 400, 50382, 'State');
  const { conversation: explicit } = c.createConversation({ state: 'active', timersInactive: 'PT0S' }, api(T0 + 2000));
  assert.equal(explicit.inactiveSeconds, 0, 'PT0S overrides the default');
  assert.equal(explicit.dateInactive, null);
  assert.equal(explicit.closedSeconds, 3600, 'the other timer keeps the default');

  refused(() => c.createConversation({ attributes: '{nope' }, api(T0)), 400, 20001, 'Attributes');
  refused(() => c.createConversation({ friendlyName: 'x'.repeat(257) }, api(T0)), 400, 20001, 'FriendlyName');
  refused(() => c.createConversation({ messagingServiceSid: 'MGnope' }, api(T0)), 400, 20001, 'MessagingServiceSid');
  refused(() => c.createConversation({ state: 'initializing' }, api(T0)), 400, 20001, 'State');
  refused(() => c.createConversation({ state: 'open' as 'active' }, api(T0)), 400, 20001, 'State');
  refused(() => c.createConversation({ uniqueName: `CH${'0'.repeat(32)}` }, api(T0)), 400, 50390, 'UniqueName');

  const { conversation: named } = c.createConversation({ uniqueName: 'ticket-1', attributes: '{"a":1}' }, api(T0));
  refused(() => c.createConversation({ uniqueName: 'ticket-1' }, api(T0)), 409, 50353, 'UniqueName');
  assert.equal(c.conversation('ticket-1')?.sid, named.sid, 'a unique name addresses the conversation');
  c.updateConversation('ticket-1', { uniqueName: 'ticket-2' }, api(T0));
  assert.equal(c.conversation('ticket-1'), undefined);
  assert.equal(c.conversation('ticket-2')?.sid, named.sid);
  c.createConversation({ uniqueName: 'ticket-1' }, api(T0));

  refused(() => c.updateConversation(`CH${'9'.repeat(32)}`, {}, api(T0)), 404, 20404);
  refused(() => c.messages('nope'), 404, 20404);
  assert.equal(c.participant(named.sid, `MB${'9'.repeat(32)}`), undefined);
  refused(() => c.removeParticipant(named.sid, `MB${'9'.repeat(32)}`, api(T0)), 404, 20404);
  refused(() => c.removeMessage(named.sid, `IM${'9'.repeat(32)}`, api(T0)), 404, 20404);
});

test('listing: conversations newest first with state and date filters; messages by index asc/desc; participants by creation', () => {
  const { c } = center();
  const a = c.createConversation({}, api(T0)).conversation;
  const b = c.createConversation({}, api(T0 + 1000)).conversation;
  const d = c.createConversation({}, api(T0 + 1000)).conversation;
  c.updateConversation(a.sid, { state: 'closed' }, api(T0 + 2000));
  assert.deepEqual(
    c.listConversations().map((x) => x.sid),
    [d.sid, b.sid, a.sid],
  );
  assert.deepEqual(
    c.listConversations({ state: 'closed' }).map((x) => x.sid),
    [a.sid],
  );
  assert.deepEqual(
    c.listConversations({ startMs: T0 + 1, endMs: T0 + 1001 }).map((x) => x.sid),
    [d.sid, b.sid],
  );
  const m1 = c.addMessage(b.sid, { body: 'one' }, api(T0 + 3000)).message;
  const m2 = c.addMessage(b.sid, { body: 'two' }, api(T0 + 3000)).message;
  const m3 = c.addMessage(b.sid, { body: 'three' }, api(T0 + 3000)).message;
  c.removeMessage(b.sid, m2.sid, api(T0 + 3000));
  const m4 = c.addMessage(b.sid, { body: 'four' }, api(T0 + 3000)).message;
  assert.deepEqual(
    [m1, m3, m4].map((m) => m.index),
    [0, 2, 3],
    'indices strictly increase; a removed message leaves a gap',
  );
  assert.deepEqual(
    c.messages(b.sid).map((m) => m.body),
    ['one', 'three', 'four'],
  );
  assert.deepEqual(
    c.messages(b.sid, 'desc').map((m) => m.body),
    ['four', 'three', 'one'],
  );
  const p1 = c.addParticipant(b.sid, { identity: 'zed' }, api(T0 + 4000)).participant;
  const p2 = c.addParticipant(b.sid, { identity: 'amy' }, api(T0 + 4000)).participant;
  assert.deepEqual(
    c.participants(b.sid).map((p) => p.sid),
    [p1.sid, p2.sid],
  );
  assert.equal(c.participant(b.sid, 'amy')?.sid, p2.sid, 'a participant is found by identity too');
});

// ───────────────────────────── state timers (A2) ─────────────────────────────

test('timers: each message from either side resets the countdown; the inactive timer fires once; a message reactivates (EVENT); the closed timer closes', () => {
  const { c } = center();
  const conv = support(c);
  assert.equal(conv.dateInactive, T0 + 5 * MIN);
  assert.equal(conv.dateClosed, T0 + 30 * MIN);
  // The agent writes at +3 min, the customer at +7 min: each restarts both countdowns.
  c.advanceTo(T0 + 3 * MIN);
  c.addMessage(conv.sid, { author: 'agent', body: 'hello' }, sdk(T0 + 3 * MIN));
  assert.equal(c.conversation(conv.sid)?.dateInactive, T0 + 8 * MIN);
  assert.equal(c.conversation(conv.sid)?.lastActivityAt, T0 + 3 * MIN);
  assert.deepEqual(transitions(c.advanceTo(T0 + 7 * MIN)), [], 'not inactive yet: the agent reset the timer');
  c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'hi' }, sys(T0 + 7 * MIN));
  assert.equal(c.conversation(conv.sid)?.dateInactive, T0 + 12 * MIN);
  assert.equal(c.conversation(conv.sid)?.dateClosed, T0 + 37 * MIN, 'closed counts from the last activity, not from entering inactive');
  assert.equal(c.nextDeadline(), T0 + 12 * MIN);
  assert.deepEqual(transitions(c.advanceTo(T0 + 12 * MIN - 1)), []);
  const inactive = c.advanceTo(T0 + 20 * MIN);
  assert.deepEqual(transitions(inactive), ['active>inactive:TIMER'], 'exactly one state event');
  assert.equal(stateEvents(inactive)[0]?.params.StateUpdated, '2024-01-01T12:12:00.000Z', 'stamped with the deadline');
  assert.equal(stateEvents(inactive)[0]?.source, 'SYSTEM');
  assert.equal(c.conversation(conv.sid)?.state, 'inactive');
  assert.equal(c.conversation(conv.sid)?.dateInactive, null);
  assert.deepEqual(transitions(c.advanceTo(T0 + 21 * MIN)), [], 'no second event');
  // A system message (the A8 timeout message) reactivates: Reason EVENT, then the API closes.
  const back = c.addMessage(conv.sid, { body: 'Your session has timed out.' }, api(T0 + 21 * MIN));
  assert.deepEqual(transitions(back), ['inactive>active:EVENT']);
  assert.deepEqual(
    back.events.map((e) => e.eventType),
    ['onConversationStateUpdated', 'onMessageAdded'],
  );
  assert.equal(c.conversation(conv.sid)?.dateInactive, T0 + 26 * MIN);
  // Left alone: inactive at +26, closed at +51 (30 min after the last activity).
  assert.deepEqual(transitions(c.advanceTo(T0 + 60 * MIN)), ['active>inactive:TIMER', 'inactive>closed:TIMER']);
  const closed = c.conversation(conv.sid) as Conversation;
  assert.equal(closed.state, 'closed');
  assert.equal(closed.dateUpdated, T0 + 51 * MIN);
  assert.equal(c.nextDeadline(), null);
});

test('timers: PT0S disables; closed ≤ inactive closes straight from active; a closed timer alone closes an active conversation', () => {
  const { c } = center();
  const off = support(c, T0, { inactive: 'PT0S', closed: 'PT0S' });
  assert.equal(off.dateInactive, null);
  assert.equal(off.dateClosed, null);
  assert.equal(c.nextDeadline(), null);

  c.updateConversation(off.sid, { state: 'closed' }, api(T0));
  const shorter = support(c, T0, { inactive: 'PT20M', closed: 'PT10M' }, '+15550000001');
  const equal = support(c, T0, { inactive: 'PT10M', closed: 'PT10M' }, '+15550000002');
  const onlyClosed = support(c, T0, { inactive: 'PT0S', closed: 'PT15M' }, '+15550000003');
  const out = c.advanceTo(T0 + 60 * MIN);
  const bySid = (sid: string): string[] => transitions({ events: out.events.filter((e) => e.conversationSid === sid), effects: [] });
  assert.deepEqual(bySid(shorter.sid), ['active>closed:TIMER']);
  assert.deepEqual(bySid(equal.sid), ['active>closed:TIMER']);
  assert.deepEqual(bySid(onlyClosed.sid), ['active>closed:TIMER']);
  assert.deepEqual(bySid(off.sid), []);
  // Fired in order of instant, then SID.
  assert.deepEqual(
    stateEvents(out).map((e) => e.at),
    [T0 + 10 * MIN, T0 + 10 * MIN, T0 + 15 * MIN],
  );
  const [first, second] = stateEvents(out);
  assert.ok((first?.conversationSid as string) < (second?.conversationSid as string));
});

test('timers updated via the API count from now, not from the last activity; a participant added reactivates', () => {
  const { c } = center();
  const conv = support(c, T0, { inactive: 'PT5M', closed: 'PT0S' });
  c.advanceTo(T0 + 4 * MIN);
  const updated = c.updateConversation(conv.sid, { timersInactive: 'PT10M', timersClosed: 'PT20M' }, api(T0 + 4 * MIN)).conversation;
  assert.equal(updated.dateInactive, T0 + 14 * MIN);
  assert.equal(updated.dateClosed, T0 + 24 * MIN);
  assert.equal(updated.lastActivityAt, T0, 'a timer update is not activity');
  assert.deepEqual(transitions(c.advanceTo(T0 + 14 * MIN)), ['active>inactive:TIMER']);
  const joined = c.addParticipant(conv.sid, { identity: 'supervisor' }, api(T0 + 15 * MIN));
  assert.deepEqual(transitions(joined), ['inactive>active:EVENT']);
  assert.deepEqual(
    joined.events.map((e) => e.eventType),
    ['onConversationStateUpdated', 'onParticipantAdded'],
  );
  assert.equal(c.conversation(conv.sid)?.dateInactive, T0 + 25 * MIN);
  assert.equal(c.conversation(conv.sid)?.dateClosed, T0 + 35 * MIN);
  // Disabling both stops the clock.
  c.updateConversation(conv.sid, { timersInactive: 'PT0S', timersClosed: 'PT0S' }, api(T0 + 16 * MIN));
  assert.equal(c.nextDeadline(), null);
});

test('state via the API: Reason API, one event per transition, none when unchanged; closed is final (50377) but deletable', () => {
  const { c } = center();
  const conv = support(c);
  const toInactive = c.updateConversation(conv.sid, { state: 'inactive' }, api(T0 + MIN));
  assert.deepEqual(transitions(toInactive), ['active>inactive:API']);
  assert.deepEqual(
    toInactive.events.map((e) => e.eventType),
    ['onConversationStateUpdated', 'onConversationUpdated'],
  );
  assert.equal(c.conversation(conv.sid)?.dateClosed, T0 + 30 * MIN, 'the closed countdown keeps its base');
  assert.deepEqual(transitions(c.updateConversation(conv.sid, { state: 'inactive', friendlyName: 'x' }, api(T0 + MIN))), []);
  const back = c.updateConversation(conv.sid, { state: 'active' }, api(T0 + 2 * MIN));
  assert.deepEqual(transitions(back), ['inactive>active:API']);
  assert.equal(back.conversation.dateInactive, T0 + 7 * MIN, 'back to active: the countdowns restart from now');
  const close = c.updateConversation(conv.sid, { state: 'closed' }, api(T0 + 3 * MIN));
  assert.deepEqual(transitions(close), ['active>closed:API']);
  assert.equal(c.nextDeadline(), null);

  refused(() => c.addMessage(conv.sid, { body: 'late' }, api(T0 + 4 * MIN)), 400, 50377);
  refused(() => c.addParticipant(conv.sid, { identity: 'late' }, api(T0 + 4 * MIN)), 400, 50377);
  refused(() => c.updateConversation(conv.sid, { state: 'active' }, api(T0 + 4 * MIN)), 400, 50377);
  refused(() => c.updateConversation(conv.sid, { attributes: '{}' }, api(T0 + 4 * MIN)), 400, 50377);
  refused(() => c.updateConversation(conv.sid, { timersInactive: 'PT5M' }, api(T0 + 4 * MIN)), 400, 50377);
  refused(() => c.removeParticipant(conv.sid, 'agent', api(T0 + 4 * MIN)), 400, 50377);
  refused(() => c.addWebhook(conv.sid, { target: 'webhook', url: 'https://x.test/h' }, api(T0 + 4 * MIN)), 400, 50377);
  const removed = c.deleteConversation(conv.sid, api(T0 + 5 * MIN));
  assert.deepEqual(
    removed.events.map((e) => e.eventType),
    ['onConversationRemoved'],
  );
  assert.equal(c.conversation(conv.sid), undefined);
});

test('a deleted conversation drops its timers and frees its unique name', () => {
  const { c } = center();
  const conv = c.createConversation({ uniqueName: 'u', state: 'active', timersInactive: 'PT1M' }, api(T0)).conversation;
  assert.equal(c.nextDeadline(), T0 + MIN);
  c.deleteConversation('u', api(T0 + 1000));
  assert.equal(c.nextDeadline(), null);
  assert.deepEqual(c.advanceTo(T0 + 10 * MIN), { events: [], effects: [] });
  assert.notEqual(c.createConversation({ uniqueName: 'u' }, api(T0 + 2000)).conversation.sid, conv.sid);
});

// ───────────────────────────── participants and bindings (A3) ─────────────────────────────

test('participants: one kind each, unique identity (50433), the address pair unique among open conversations (50416) and free after close, removal or deletion', () => {
  const { c } = center();
  const one = c.createConversation({}, api(T0)).conversation;
  const two = c.createConversation({}, api(T0)).conversation;
  refused(() => c.addParticipant(one.sid, {}, api(T0)), 400, 20001, 'Identity');
  refused(() => c.addParticipant(one.sid, { identity: 'a', address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0)), 400, 20001, 'MessagingBinding.Address');
  refused(() => c.addParticipant(one.sid, { address: CUSTOMER }, api(T0)), 400, 20001, 'MessagingBinding.ProxyAddress');
  refused(() => c.addParticipant(one.sid, { identity: 'a', roleSid: 'RL1' }, api(T0)), 400, 20001, 'RoleSid');
  refused(() => c.addParticipant(one.sid, { identity: 'x'.repeat(257) }, api(T0)), 400, 20001, 'Identity');
  const sms = c.addParticipant(one.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0)).participant;
  assert.deepEqual(sms.messagingBinding, { type: 'sms', address: CUSTOMER, proxyAddress: OUR_NUMBER, projectedAddress: null });
  const wa = c.addParticipant(one.sid, { address: `whatsapp:${CUSTOMER}`, proxyAddress: `whatsapp:${OUR_NUMBER}` }, api(T0)).participant;
  assert.equal(wa.messagingBinding?.type, 'whatsapp');
  c.addParticipant(one.sid, { identity: 'agent' }, api(T0));
  refused(() => c.addParticipant(one.sid, { identity: 'agent' }, api(T0)), 409, 50433, 'Identity');
  refused(() => c.addParticipant(one.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0)), 409, 50416);
  refused(() => c.addParticipant(two.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0)), 409, 50416);
  c.addParticipant(two.sid, { address: CUSTOMER, proxyAddress: '+15559990001' }, api(T0)); // another proxy: another pair
  c.addParticipant(two.sid, { identity: 'agent' }, api(T0)); // identities are per conversation
  refused(() => c.updateParticipant(one.sid, sms.sid, { identity: 'x' }, api(T0)), 400, 50444, 'Identity');
  refused(() => c.updateParticipant(two.sid, c.participants(two.sid)[0]?.sid as string, { proxyAddress: OUR_NUMBER }, api(T0)), 409, 50416);

  // An inactive conversation still holds its pairs.
  c.updateConversation(one.sid, { state: 'inactive' }, api(T0));
  refused(() => c.addParticipant(two.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0)), 409, 50416);
  // Closing frees them: the pair may be bound again.
  c.updateConversation(one.sid, { state: 'closed' }, api(T0));
  const again = c.addParticipant(two.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0)).participant;
  // Removal frees a pair too, and so does deletion.
  c.removeParticipant(two.sid, again.sid, api(T0));
  const three = c.createConversation({}, api(T0)).conversation;
  c.addParticipant(three.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0));
  c.deleteConversation(three.sid, api(T0));
  c.addParticipant(two.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0));
  // Moving a proxy address frees the old pair.
  const moved = c.participants(two.sid).find((p) => p.messagingBinding?.proxyAddress === OUR_NUMBER) as { sid: string };
  c.updateParticipant(two.sid, moved.sid, { proxyAddress: '+15559990002' }, api(T0));
  const four = c.createConversation({}, api(T0)).conversation;
  c.addParticipant(four.sid, { address: CUSTOMER, proxyAddress: OUR_NUMBER }, api(T0));
  refused(() => c.addParticipant(four.sid, { address: CUSTOMER, proxyAddress: '+15559990002' }, api(T0)), 409, 50416);
});

test('participant limits: 50 messaging (50418)', () => {
  const { c } = center();
  const conv = c.createConversation({}, api(T0)).conversation;
  for (let i = 0; i < 50; i++) c.addParticipant(conv.sid, { address: `+1555000${String(i).padStart(4, '0')}`, proxyAddress: OUR_NUMBER }, api(T0));
  refused(() => c.addParticipant(conv.sid, { address: '+15551234567', proxyAddress: OUR_NUMBER }, api(T0)), 400, 50418);
  c.addParticipant(conv.sid, { identity: 'still-fine' }, api(T0));
});

// ───────────────────────────── messages, sends (A4) ─────────────────────────────

test('messages: validation; a message goes to every messaging participant but its author', () => {
  const { c } = center();
  const conv = support(c);
  const other = c.addParticipant(conv.sid, { address: '+15550002222', proxyAddress: OUR_NUMBER }, api(T0)).participant;
  refused(() => c.addMessage(conv.sid, { body: 'x'.repeat(1601) }, api(T0)), 400, 20001, 'Body');
  refused(() => c.addMessage(conv.sid, {}, api(T0)), 400, 20001, 'Body');
  refused(() => c.addMessage(conv.sid, { body: 'x', attributes: 'nope' }, api(T0)), 400, 20001, 'Attributes');
  refused(() => c.addMessage(conv.sid, { body: 'x', subject: 's'.repeat(257) }, api(T0)), 400, 20001, 'Subject');
  refused(() => c.addMessage(conv.sid, { mediaSid: 'ME1' }, api(T0)), 400, 20001, 'MediaSid');
  c.addMessage(conv.sid, { body: 'x'.repeat(1600) }, api(T0));

  const fromAgent = c.addMessage(conv.sid, { author: 'agent', body: 'How can I help?' }, sdk(T0 + 1000));
  assert.equal(fromAgent.message.participantSid, c.participant(conv.sid, 'agent')?.sid);
  assert.deepEqual(
    sends(fromAgent).map((s) => [s.to, s.from, s.body]),
    [
      [CUSTOMER, OUR_NUMBER, 'How can I help?'],
      ['+15550002222', OUR_NUMBER, 'How can I help?'],
    ],
  );
  const system = c.addMessage(conv.sid, { body: 'bye' }, api(T0 + 2000));
  assert.equal(system.message.author, 'system');
  assert.equal(system.message.participantSid, null);
  assert.equal(sends(system).length, 2);
  const inbound = c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'thanks' }, sys(T0 + 3000));
  assert.ok(inbound !== null);
  assert.equal(inbound.message.author, CUSTOMER);
  assert.deepEqual(
    sends(inbound).map((s) => s.to),
    ['+15550002222'],
    'not sent back to its author',
  );
  const asCustomer = c.addMessage(conv.sid, { author: '+15550002222', body: 'me too' }, api(T0 + 4000));
  assert.equal(asCustomer.message.participantSid, other.sid, 'an author naming a messaging address is that participant');
  assert.deepEqual(
    sends(asCustomer).map((s) => s.to),
    [CUSTOMER],
  );
  const content = c.addMessage(conv.sid, { body: 'ignored', mediaSid: `ME${'1'.repeat(32)}`, contentSid: `HX${'2'.repeat(32)}` }, api(T0 + 5000)).message;
  assert.equal(content.body, null, 'ContentSid overrides Body and MediaSid');
  assert.equal(content.mediaSid, null);

  const edited = c.updateMessage(conv.sid, fromAgent.message.sid, { body: 'edited' }, api(T0 + 6000));
  assert.deepEqual(
    edited.events.map((e) => e.eventType),
    ['onMessageUpdated'],
  );
  assert.equal(edited.message.index, fromAgent.message.index);
  assert.equal(sends(edited).length, 0);
  assert.equal(c.conversation(conv.sid)?.lastActivityAt, T0 + 5000, 'an edit is not activity');
  refused(() => c.updateMessage(conv.sid, fromAgent.message.sid, { mediaSid: null }, api(T0)), 400, 20001, 'MediaSid');
});

// ───────────────────────────── webhooks (A5, A6) ─────────────────────────────

test('scoped webhooks: at most 5 (50361); validation; filters, trigger keywords, studio; X-Twilio-Webhook-Enabled', () => {
  const { c } = center();
  const conv = support(c);
  refused(() => c.addWebhook(conv.sid, {}, api(T0)), 400, 20001, 'Target');
  refused(() => c.addWebhook(conv.sid, { target: 'webhook' }, api(T0)), 400, 20001, 'Configuration.Url');
  refused(() => c.addWebhook(conv.sid, { target: 'webhook', url: 'ftp://x' }, api(T0)), 400, 20001, 'Configuration.Url');
  refused(() => c.addWebhook(conv.sid, { target: 'webhook', url: 'https://x.test', filters: ['onConversationAdded'] }, api(T0)), 400, 20001, 'Configuration.Filters');
  refused(() => c.addWebhook(conv.sid, { target: 'trigger', url: 'https://x.test' }, api(T0)), 400, 20001, 'Configuration.Triggers');
  refused(() => c.addWebhook(conv.sid, { target: 'studio' }, api(T0)), 400, 20001, 'Configuration.FlowSid');
  refused(() => c.addWebhook(conv.sid, { target: 'webhook', url: 'https://x.test', method: 'PUT' as 'POST' }, api(T0)), 400, 20001, 'Configuration.Method');

  const state = c.addWebhook(conv.sid, { target: 'webhook', url: 'https://timeout.test/h', method: 'POST', filters: ['onConversationStateUpdated'] }, api(T0)).webhook;
  const msgs = c.addWebhook(conv.sid, { target: 'webhook', url: 'https://bot.test/m', method: 'get' as 'GET', filters: ['onMessageAdded', 'onParticipantAdded'] }, api(T0)).webhook;
  assert.equal(msgs.method, 'GET');
  const trigger = c.addWebhook(conv.sid, { target: 'trigger', url: 'https://help.test/t', triggers: ['help', 'talk to agent'] }, api(T0)).webhook;
  c.addWebhook(conv.sid, { target: 'studio', flowSid: `FW${'3'.repeat(32)}` }, api(T0));
  c.addWebhook(conv.sid, { target: 'webhook', url: 'https://x.test/5', filters: [] }, api(T0));
  refused(() => c.addWebhook(conv.sid, { target: 'webhook', url: 'https://x.test/6' }, api(T0)), 400, 50361);
  assert.equal(c.webhooks(conv.sid).length, 5);

  // A REST write without the header: events, but no webhooks. With it: webhooks.
  const quiet = c.addMessage(conv.sid, { body: 'HELP please' }, api(T0 + 1000));
  assert.equal(quiet.events.length, 1);
  assert.equal(hooks(quiet).length, 0);
  assert.equal(sends(quiet).length, 1, 'sends do not depend on the header');
  const loud = c.addMessage(conv.sid, { body: 'HELP please' }, api(T0 + 1000, true));
  assert.deepEqual(
    hooks(loud).map((h) => [h.url, h.method, h.webhookSid]),
    [
      ['https://bot.test/m', 'GET', msgs.sid],
      ['https://help.test/t', 'POST', trigger.sid],
    ],
  );
  const params = hooks(loud)[0]?.params;
  assert.deepEqual(params, {
    AccountSid: ACCOUNT,
    ChatServiceSid: SERVICE,
    ConversationSid: conv.sid,
    EventType: 'onMessageAdded',
    Source: 'API',
    RetryCount: '0',
    WebhookSid: msgs.sid,
    MessageSid: loud.message.sid,
    Index: String(loud.message.index),
    Author: 'system',
    Body: 'HELP please',
    Attributes: '{}',
    DateCreated: '2024-01-01T12:00:01.000Z',
    DateUpdated: '2024-01-01T12:00:01.000Z',
  });
  // Trigger: whole words, case-insensitive; SDK writes fire by default.
  assert.equal(hooks(c.addMessage(conv.sid, { body: 'so helpful' }, sdk(T0 + 2000))).length, 1, 'helpful is not help');
  assert.equal(hooks(c.addMessage(conv.sid, { body: 'I want to Talk to Agent!' }, sdk(T0 + 2000))).length, 2);
  assert.equal(hooks(c.addMessage(conv.sid, { body: 'help' }, { at: T0 + 2000, source: 'SDK', webhookEnabled: false })).length, 0);
  // The timer's state change always fires (source SYSTEM), with A6's params.
  const timedOut = c.advanceTo(T0 + 2000 + 5 * MIN);
  assert.deepEqual(
    hooks(timedOut).map((h) => h.webhookSid),
    [state.sid],
  );
  const sp = hooks(timedOut)[0]?.params ?? {};
  assert.deepEqual(
    [sp.EventType, sp.StateFrom, sp.StateTo, sp.Reason, sp.StateUpdated, sp.Source, sp.ConversationSid, sp.ChatServiceSid],
    ['onConversationStateUpdated', 'active', 'inactive', 'TIMER', '2024-01-01T12:05:02.000Z', 'SYSTEM', conv.sid, SERVICE],
  );
  // Updating and removing scoped webhooks.
  const moved = c.updateWebhook(conv.sid, state.sid, { url: 'https://timeout.test/v2' }, api(T0)).webhook;
  assert.equal(moved.url, 'https://timeout.test/v2');
  assert.deepEqual(moved.filters, ['onConversationStateUpdated']);
  refused(() => c.updateWebhook(conv.sid, state.sid, { target: 'studio' }, api(T0)), 400, 20001, 'Target');
  c.removeWebhook(conv.sid, trigger.sid, api(T0));
  assert.equal(c.webhook(conv.sid, trigger.sid), undefined);
  assert.equal(c.webhooks(conv.sid).length, 4);
});

test('keyword matching is whole-word and case-insensitive', () => {
  assert.equal(keywordMatches('Help!', 'help'), true);
  assert.equal(keywordMatches('helpful', 'help'), false);
  assert.equal(keywordMatches('unhelp', 'help'), false);
  assert.equal(keywordMatches('need HELP now', 'help'), true);
  assert.equal(keywordMatches('please talk  to agent', 'talk to agent'), false);
  assert.equal(keywordMatches('talk to agent.', 'Talk To Agent'), true);
  assert.equal(keywordMatches('anything', ' '), false);
  assert.equal(keywordMatches('café!', 'café'), true);
});

test('the account post-event webhook: URL, filters, method; target flex and pre-event URLs send nothing', () => {
  const { c } = center();
  refused(() => c.updateWebhookConfiguration({ postWebhookUrl: 'not a url' }, api(T0)), 400, 20001, 'PostWebhookUrl');
  refused(() => c.updateWebhookConfiguration({ filters: ['onNothing'] }, api(T0)), 400, 20001, 'Filters');
  c.updateWebhookConfiguration({ postWebhookUrl: 'https://account.test/post', preWebhookUrl: 'https://account.test/pre', filters: ['onConversationAdded', 'onMessageAdd', 'onMessageAdded'], method: 'POST' }, api(T0));
  const created = c.createConversation({}, api(T0, true));
  assert.deepEqual(
    hooks(created).map((h) => [h.url, h.webhookSid, h.params.EventType]),
    [['https://account.test/post', null, 'onConversationAdded']],
  );
  assert.equal('WebhookSid' in (hooks(created)[0]?.params ?? {}), false, 'WebhookSid is for scoped webhooks only');
  assert.equal(hooks(c.addParticipant(created.conversation.sid, { identity: 'a' }, api(T0, true))).length, 0, 'not in the filters');
  c.updateWebhookConfiguration({ target: 'flex' }, api(T0));
  assert.equal(hooks(c.addMessage(created.conversation.sid, { body: 'x' }, api(T0, true))).length, 0);
  assert.equal(c.takeChanges().configuration, true);
  assert.equal(c.takeChanges().configuration, false);
});

// ───────────────────────────── inbound and auto-creation (C) ─────────────────────────────

test('inbound: routed to the open conversation binding the pair; else auto-created per the address configuration; else nothing', () => {
  const { c } = center();
  c.takeChanges();
  assert.equal(c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'anyone?' }, sys(T0)), null);
  const untouched = c.takeChanges();
  assert.deepEqual([untouched.conversations.changed, untouched.messages.changed], [[], []], 'nothing changed');

  refused(() => c.putAddress(null, { type: 'sms' }, api(T0)), 400, 20001, 'Address');
  refused(() => c.putAddress(null, { type: 'fax', address: OUR_NUMBER }, api(T0)), 400, 20001, 'Type');
  refused(() => c.putAddress(null, { type: 'sms', address: OUR_NUMBER, autoCreation: { enabled: true, type: 'webhook' } }, api(T0)), 400, 20001, 'AutoCreation.WebhookUrl');
  refused(() => c.putAddress(null, { type: 'sms', address: OUR_NUMBER, autoCreation: { conversationServiceSid: `IS${'f'.repeat(32)}` } }, api(T0)), 400, 20001, 'AutoCreation.ConversationServiceSid');
  const disabled = c.putAddress(null, { type: 'sms', address: OUR_NUMBER, friendlyName: 'main line' }, api(T0)).address;
  refused(() => c.putAddress(null, { type: 'sms', address: OUR_NUMBER }, api(T0)), 409, 20001, 'Address');
  assert.equal(c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'anyone?' }, sys(T0)), null, 'auto-creation off');

  c.updateConfiguration({ defaultInactiveTimer: 'PT5M' }, api(T0));
  const enabled = c.putAddress(
    OUR_NUMBER,
    { autoCreation: { enabled: true, type: 'webhook', webhookUrl: 'https://bot.test/in', webhookMethod: 'POST', webhookFilters: ['onMessageAdded', 'onParticipantAdded'] } },
    api(T0),
  ).address;
  assert.equal(enabled.sid, disabled.sid);
  assert.equal(enabled.friendlyName, 'main line', 'fields not sent are kept');
  assert.equal(c.address(OUR_NUMBER)?.sid, enabled.sid);

  const first = c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'hello' }, sys(T0 + 1000));
  assert.ok(first !== null);
  assert.deepEqual(
    first.events.map((e) => e.eventType),
    ['onConversationAdded', 'onParticipantAdded', 'onMessageAdded'],
  );
  assert.equal(first.conversation.inactiveSeconds, 300, 'the account default timers apply');
  const [customer] = c.participants(first.conversation.sid);
  assert.deepEqual(customer?.messagingBinding, { type: 'sms', address: CUSTOMER, proxyAddress: OUR_NUMBER, projectedAddress: null });
  assert.equal(first.message.participantSid, customer?.sid);
  assert.equal(first.message.author, CUSTOMER);
  const [hook] = c.webhooks(first.conversation.sid);
  assert.deepEqual([hook?.target, hook?.url, hook?.filters], ['webhook', 'https://bot.test/in', ['onMessageAdded', 'onParticipantAdded']]);
  assert.deepEqual(
    hooks(first).map((h) => h.params.EventType),
    ['onParticipantAdded', 'onMessageAdded'],
    'the auto-created webhook hears the first message, even from an API-less inbound',
  );
  assert.equal(sends(first).length, 0, 'nothing is echoed to the customer');

  const second = c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'still there?' }, sys(T0 + 2000));
  assert.equal(second?.conversation.sid, first.conversation.sid, 'the pair routes to the open conversation');
  assert.equal(second?.message.index, 1);
  // Inactive: reactivated by the inbound message.
  c.advanceTo(T0 + 2000 + 5 * MIN);
  const third = c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'hello again' }, sys(T0 + 10 * MIN));
  assert.equal(third?.conversation.sid, first.conversation.sid);
  assert.deepEqual(transitions(third as ConversationOutcome), ['inactive>active:EVENT']);
  // Closed: the next message starts a new conversation (A8 acceptance: a new CH).
  c.updateConversation(first.conversation.sid, { state: 'closed' }, api(T0 + 11 * MIN));
  const fourth = c.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'new issue' }, sys(T0 + 12 * MIN));
  assert.ok(fourth !== null);
  assert.notEqual(fourth.conversation.sid, first.conversation.sid);
  assert.equal(fourth.message.index, 0);
  // A WhatsApp number configured without its prefix still matches; studio auto-creation adds a studio webhook that sends nothing.
  c.putAddress(null, { type: 'whatsapp', address: '+15557770000', autoCreation: { enabled: true, type: 'studio', studioFlowSid: `FW${'4'.repeat(32)}` } }, api(T0));
  const wa = c.inbound({ from: 'whatsapp:+15550003333', to: 'whatsapp:+15557770000', body: 'hola' }, sys(T0 + 13 * MIN));
  assert.ok(wa !== null);
  assert.equal(c.participants(wa.conversation.sid)[0]?.messagingBinding?.type, 'whatsapp');
  assert.deepEqual(
    c.webhooks(wa.conversation.sid).map((h) => [h.target, h.flowSid]),
    [['studio', `FW${'4'.repeat(32)}`]],
  );
  assert.equal(hooks(wa).length, 0);
  c.removeAddress('+15557770000', api(T0));
  assert.equal(c.address('whatsapp:+15557770000'), undefined);
  assert.equal(c.inbound({ from: 'whatsapp:+15550004444', to: 'whatsapp:+15557770000', body: 'x' }, sys(T0 + 14 * MIN)), null);
});

// ───────────────────────────── changes, snapshot, restore ─────────────────────────────

test('takeChanges names the records written and removed since the last call', () => {
  const { c } = center();
  c.takeChanges();
  const conv = support(c);
  const m = c.addMessage(conv.sid, { body: 'x' }, api(T0)).message;
  const ch = c.takeChanges();
  assert.deepEqual(
    ch.conversations.changed.map((x) => x.sid),
    [conv.sid],
  );
  assert.equal(ch.conversations.changed[0]?.nextIndex, 1, 'the current version');
  assert.equal(ch.participants.changed.length, 2);
  assert.deepEqual(
    ch.messages.changed.map((x) => x.sid),
    [m.sid],
  );
  assert.deepEqual(c.takeChanges().conversations, { changed: [], removed: [] });
  c.advanceTo(T0 + 5 * MIN);
  assert.deepEqual(
    c.takeChanges().conversations.changed.map((x) => x.state),
    ['inactive'],
    'a timer transition is a change',
  );
  c.deleteConversation(conv.sid, api(T0 + 6 * MIN));
  const gone = c.takeChanges();
  assert.deepEqual(gone.conversations.removed, [conv.sid]);
  assert.equal(gone.participants.removed.length, 2);
  assert.deepEqual(gone.messages.removed, [m.sid]);
});

test('snapshot/restore mid-timers: an exact JSON round trip, and the restored center continues exactly as the original', () => {
  const { c, sids } = center();
  c.updateConfiguration({ defaultInactiveTimer: 'PT3M', defaultClosedTimer: 'PT20M' }, api(T0));
  c.updateWebhookConfiguration({ postWebhookUrl: 'https://account.test/post', filters: ['onConversationStateUpdated', 'onMessageAdded'] }, api(T0));
  c.putAddress(null, { type: 'sms', address: OUR_NUMBER, autoCreation: { enabled: true, type: 'default' } }, api(T0));
  const a = support(c, T0, { inactive: 'PT5M', closed: 'PT10M' });
  c.addWebhook(a.sid, { target: 'webhook', url: 'https://h.test/a', filters: ['onConversationStateUpdated'] }, api(T0));
  c.inbound({ from: '+15550009999', to: OUR_NUMBER, body: 'hi' }, sys(T0 + MIN));
  c.advanceTo(T0 + 6 * MIN); // a is inactive, the inbound one too (3 min), closing later
  const snap = c.snapshot();
  const json = JSON.stringify(snap);
  const restored = ConversationsCenter.restore(JSON.parse(json) as CenterSnapshot, {
    accountSid: ACCOUNT,
    chatServiceSid: SERVICE,
    newSid: ((copy) => (p: string) => copy.next(p as SidPrefix))(new SequentialSids(7, sids.counter)),
  });
  assert.equal(JSON.stringify(restored.snapshot()), json, 'exact round trip');
  assert.equal(restored.nextDeadline(), c.nextDeadline());
  assert.equal(restored.now, c.now);
  const script = (x: ConversationsCenter): unknown[] => [
    x.advanceTo(T0 + 8 * MIN),
    x.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'back' }, sys(T0 + 9 * MIN)),
    x.advanceTo(T0 + 12 * MIN),
    x.inbound({ from: CUSTOMER, to: OUR_NUMBER, body: 'again' }, sys(T0 + 13 * MIN)),
    x.createConversation({ state: 'active', timersInactive: 'PT1M' }, api(T0 + 14 * MIN)),
    x.advanceTo(T0 + 120 * MIN),
    x.nextDeadline(),
    x.snapshot(),
  ];
  assert.deepEqual(script(restored), script(c));
  assert.throws(() => ConversationsCenter.restore({ ...snap, version: 2 as 1 }, { accountSid: ACCOUNT, chatServiceSid: SERVICE, newSid: () => 'x' }));
});

// ───────────────────────────── a seeded random run against the invariants ─────────────────────────────

type Op =
  | { kind: 'create'; inactive: string; closed: string; state: 'active' | 'inactive' | 'none'; webhook: boolean }
  | { kind: 'chat'; conv: number; identity: string }
  | { kind: 'sms'; conv: number; address: number; proxy: number }
  | { kind: 'message'; conv: number; author: string; enabled: boolean }
  | { kind: 'inbound'; address: number; proxy: number }
  | { kind: 'state'; conv: number; to: 'active' | 'inactive' | 'closed' }
  | { kind: 'timers'; conv: number; inactive: string; closed: string }
  | { kind: 'delete'; conv: number }
  | { kind: 'removeParticipant'; conv: number; index: number }
  | { kind: 'removeMessage'; conv: number; index: number }
  | { kind: 'advance'; ms: number };

const INACTIVE = ['PT0S', 'PT1M', 'PT5M', 'PT10M', 'PT30M'];
const CLOSED = ['PT0S', 'PT10M', 'PT30M', 'PT1H'];
const ADDRESSES = ['+15550000001', '+15550000002', 'whatsapp:+15550000003'];
const PROXIES = ['+15559990000', '+15559990001'];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('create' as const),
      inactive: fc.constantFrom(...INACTIVE),
      closed: fc.constantFrom(...CLOSED),
      state: fc.constantFrom('active' as const, 'inactive' as const, 'none' as const),
      webhook: fc.boolean(),
    }),
  },
  fc.record({ kind: fc.constant('chat' as const), conv: fc.nat(7), identity: fc.constantFrom('ann', 'bob') }),
  fc.record({ kind: fc.constant('sms' as const), conv: fc.nat(7), address: fc.nat(2), proxy: fc.nat(1) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('message' as const), conv: fc.nat(7), author: fc.constantFrom('system', 'ann', ...ADDRESSES), enabled: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('inbound' as const), address: fc.nat(2), proxy: fc.nat(1) }) },
  fc.record({ kind: fc.constant('state' as const), conv: fc.nat(7), to: fc.constantFrom('active' as const, 'inactive' as const, 'closed' as const) }),
  fc.record({ kind: fc.constant('timers' as const), conv: fc.nat(7), inactive: fc.constantFrom(...INACTIVE), closed: fc.constantFrom(...CLOSED) }),
  fc.record({ kind: fc.constant('delete' as const), conv: fc.nat(7) }),
  fc.record({ kind: fc.constant('removeParticipant' as const), conv: fc.nat(7), index: fc.nat(3) }),
  fc.record({ kind: fc.constant('removeMessage' as const), conv: fc.nat(7), index: fc.nat(3) }),
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 2 * MIN }), fc.integer({ min: 0, max: 90 * MIN })) }) },
);

/** Runs `op` at `t` as a host does (timers due by `t` first); returns the new time and what came out. */
function step(x: ConversationsCenter, op: Op, t: number): { t: number; outs: ConversationOutcome[]; trace: string } {
  if (op.kind === 'advance') {
    const out = x.advanceTo(t + op.ms);
    return { t: t + op.ms, outs: [out], trace: JSON.stringify(out) };
  }
  const due = x.advanceTo(t);
  const outs: ConversationOutcome[] = [due];
  const convs = x.listConversations();
  const conv = (i: number): string => convs[i % Math.max(1, convs.length)]?.sid ?? 'CH-none';
  try {
    let out: ConversationOutcome | null;
    switch (op.kind) {
      case 'create': {
        const r = x.createConversation(
          op.state === 'none' ? {} : { state: op.state, timersInactive: op.inactive, timersClosed: op.closed },
          api(t, true),
        );
        if (op.webhook) x.addWebhook(r.conversation.sid, { target: 'webhook', url: 'https://h.test/s', filters: ['onConversationStateUpdated', 'onMessageAdded'] }, api(t));
        out = r;
        break;
      }
      case 'chat':
        out = x.addParticipant(conv(op.conv), { identity: op.identity }, sdk(t));
        break;
      case 'sms':
        out = x.addParticipant(conv(op.conv), { address: ADDRESSES[op.address] as string, proxyAddress: PROXIES[op.proxy] as string }, api(t));
        break;
      case 'message':
        out = x.addMessage(conv(op.conv), { author: op.author, body: 'help me' }, api(t, op.enabled));
        break;
      case 'inbound':
        out = x.inbound({ from: ADDRESSES[op.address] as string, to: PROXIES[op.proxy] as string, body: 'hi' }, sys(t));
        break;
      case 'state':
        out = x.updateConversation(conv(op.conv), { state: op.to }, api(t, true));
        break;
      case 'timers':
        out = x.updateConversation(conv(op.conv), { timersInactive: op.inactive, timersClosed: op.closed }, api(t));
        break;
      case 'delete':
        out = x.deleteConversation(conv(op.conv), api(t, true));
        break;
      case 'removeParticipant': {
        const sid = conv(op.conv);
        const p = x.conversation(sid) === undefined ? undefined : x.participants(sid)[op.index];
        out = x.removeParticipant(sid, p?.sid ?? 'MB-none', api(t));
        break;
      }
      case 'removeMessage': {
        const sid = conv(op.conv);
        const m = x.conversation(sid) === undefined ? undefined : x.messages(sid)[op.index];
        out = x.removeMessage(sid, m?.sid ?? 'IM-none', api(t));
        break;
      }
    }
    if (out !== null) outs.push(out);
    return { t, outs, trace: JSON.stringify([due, out]) };
  } catch (e) {
    if (!(e instanceof ConversationError)) throw e;
    count(`refused ${e.code}`);
    return { t, outs, trace: JSON.stringify([due, `refused ${e.status}/${e.code}`]) };
  }
}

/** How often each transition and each refusal occurred in the random run (the run must cover them all). */
const coverage = new Map<string, number>();
const count = (key: string): void => void coverage.set(key, (coverage.get(key) ?? 0) + 1);

const LEGAL = new Set(['active>inactive:TIMER', 'active>inactive:API', 'inactive>active:EVENT', 'inactive>active:API', 'active>closed:TIMER', 'active>closed:API', 'inactive>closed:TIMER', 'inactive>closed:API']);

/** What a host sees: the states told by events, and the rows written from takeChanges. */
interface Observer {
  states: Map<string, string>;
  rows: Map<string, unknown>;
}

function observe(x: ConversationsCenter, obs: Observer, outs: ConversationOutcome[], t: number): void {
  for (const out of outs) {
    for (const e of out.events) {
      if (e.eventType === 'onConversationAdded') obs.states.set(e.conversationSid, e.params.State as string);
      else if (e.eventType === 'onConversationRemoved') obs.states.delete(e.conversationSid);
      else if (e.eventType === 'onConversationStateUpdated') {
        const from = e.params.StateFrom as string;
        assert.equal(obs.states.get(e.conversationSid), from, 'a state event starts where the last one ended');
        assert.ok(LEGAL.has(`${from}>${e.params.StateTo}:${e.params.Reason}`), `legal transition ${from}>${e.params.StateTo}:${e.params.Reason}`);
        obs.states.set(e.conversationSid, e.params.StateTo as string);
        count(`${from}>${e.params.StateTo}:${e.params.Reason}`);
      }
    }
  }
  const ch = x.takeChanges();
  for (const kind of ['conversations', 'participants', 'messages', 'webhooks', 'addresses'] as const) {
    for (const r of ch[kind].changed) obs.rows.set(r.sid, r);
    for (const sid of ch[kind].removed) obs.rows.delete(sid);
  }
  const snap = x.snapshot();
  const all = [...snap.conversations, ...snap.participants, ...snap.messages, ...snap.webhooks, ...snap.addresses];
  assert.equal(obs.rows.size, all.length, 'the rows written from takeChanges are the records');
  for (const r of all) assert.equal(obs.rows.get(r.sid), r);

  let earliest = Infinity;
  const pairs = new Set<string>();
  for (const c of snap.conversations) {
    assert.equal(obs.states.get(c.sid), c.state, 'every transition had exactly one event');
    const ms = snap.messages.filter((m) => m.conversationSid === c.sid);
    ms.forEach((m, i) => {
      assert.ok(m.index < c.nextIndex);
      if (i > 0) assert.ok(m.index > (ms[i - 1]?.index as number), 'indices strictly increase');
    });
    if (c.state === 'closed') assert.deepEqual([c.dateInactive, c.dateClosed], [null, null]);
    else {
      assert.equal(c.dateInactive === null, c.state === 'inactive' || c.inactiveSeconds === 0);
      assert.equal(c.dateClosed === null, c.closedSeconds === 0);
      const baseI = c.dateInactive === null ? null : c.dateInactive - c.inactiveSeconds * 1000;
      const baseC = c.dateClosed === null ? null : c.dateClosed - c.closedSeconds * 1000;
      for (const base of [baseI, baseC]) if (base !== null) assert.ok(base >= c.lastActivityAt && base <= t, 'the countdowns run from the last activity or a later timer update');
      if (baseI !== null && baseC !== null) assert.equal(baseI, baseC, 'both countdowns share their start');
      const d = c.state === 'active' ? Math.min(c.dateInactive ?? Infinity, c.dateClosed ?? Infinity) : (c.dateClosed ?? Infinity);
      assert.ok(d > x.now, 'no timer is left behind');
      earliest = Math.min(earliest, d);
      for (const p of snap.participants) {
        if (p.conversationSid !== c.sid || p.messagingBinding?.address == null) continue;
        const key = `${p.messagingBinding.address}|${p.messagingBinding.proxyAddress}`;
        assert.ok(!pairs.has(key), `pair ${key} bound once among open conversations`);
        pairs.add(key);
      }
    }
  }
  assert.equal(x.nextDeadline(), earliest === Infinity ? null : earliest);
}

test('a seeded random run of operations and time advances keeps the invariants, and restore(snapshot) at any point gives the same future', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }), fc.nat(), (ops, cutSeed) => {
      const sids = new SequentialSids(3);
      const { c } = center(sids);
      c.updateWebhookConfiguration({ postWebhookUrl: 'https://account.test/post', filters: ['onConversationStateUpdated'] }, sys(T0));
      c.putAddress(null, { type: 'sms', address: PROXIES[0] as string, autoCreation: { enabled: true, type: 'webhook', webhookUrl: 'https://h.test/auto', webhookFilters: ['onMessageAdded'] } }, sys(T0));
      const obs: Observer = { states: new Map(), rows: new Map() };
      observe(c, obs, [], T0);
      const cut = cutSeed % (ops.length + 1);
      let t = T0;
      let restored: { x: ConversationsCenter; t: number } | null = null;
      for (let i = 0; i < ops.length; i++) {
        if (i === cut) {
          const snap = JSON.parse(JSON.stringify(c.snapshot())) as CenterSnapshot;
          const copy = new SequentialSids(3, sids.counter);
          restored = { x: ConversationsCenter.restore(snap, { accountSid: ACCOUNT, chatServiceSid: SERVICE, newSid: (p) => copy.next(p as SidPrefix) }), t };
          restored.x.takeChanges();
        }
        const op = ops[i] as Op;
        const r = step(c, op, t);
        t = r.t;
        observe(c, obs, r.outs, t);
        if (restored !== null) {
          const rr = step(restored.x, op, restored.t);
          restored.t = rr.t;
          assert.equal(rr.trace, r.trace, `op ${i} (${op.kind}) after a restore at ${cut}`);
        }
      }
      if (restored !== null) assert.equal(JSON.stringify(restored.x.snapshot()), JSON.stringify(c.snapshot()));
    }),
    { seed: 1313, numRuns: 300 },
  );
  for (const key of [...LEGAL, 'refused 50377', 'refused 50416', 'refused 50433', 'refused 20404']) assert.ok((coverage.get(key) ?? 0) > 0, `the run covers ${key}`);
});
