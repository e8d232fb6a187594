/**
 * The state of a `ConversationsCenter` (center.ts) and the primitives every operation is built from
 * (spec conversations-events-analytics.md A2–A6): finding conversations and participants, putting
 * records (frozen, logged for `takeChanges`, deadlines re-keyed), the state transitions with their
 * one event each, activity (reactivation and timer restart), the address-pair index, adding
 * participants and messages (with their `send` effects), and emitting events with their webhooks.
 * The operations themselves are in conversations.ts (with the account configuration),
 * participants.ts, messages.ts (with the scoped webhooks), addresses.ts (with inbound messages) and
 * snapshot.ts (with the change feed).
 */
import { assert } from '../util/assert.ts';
import type { CenterOptions, WriteContext } from './center.ts';
import { DeadlineQueue } from './deadlines.ts';
import {
  ConversationError,
  type AccountConfiguration,
  type AddressConfiguration,
  type Conversation,
  type ConversationEvent,
  type ConversationOutcome,
  type ConversationState,
  type Message,
  type Participant,
  type ScopedWebhook,
  type StateReason,
} from './model.ts';
import { ChangeLog, deadlineOf, deepFreeze, pairKey, timersFrom, timerTarget } from './records.ts';
import * as v from './validate.ts';
import { messageParams, participantParams, stateParams, webhookEffects } from './webhooks.ts';

/** One conversation and what hangs off it, each map in creation order (messages: index order). */
export interface Room {
  c: Conversation;
  participants: Map<string, Participant>;
  messages: Map<string, Message>;
  webhooks: Map<string, ScopedWebhook>;
}

/** A write's instant, source and whether its post-event webhooks fire. */
export interface Write {
  at: number;
  source: 'API' | 'SDK' | 'SYSTEM';
  fire: boolean;
}

/** The fields a scoped webhook is configured with. */
export type WebhookConfig = Pick<ScopedWebhook, 'target' | 'url' | 'method' | 'filters' | 'triggers' | 'flowSid' | 'replayAfter'>;

/** Everything a center holds; the indexes are derived from the records (rebuilt on restore). */
export interface CenterState {
  readonly accountSid: string;
  readonly chatServiceSid: string;
  readonly newSid: (prefix: string) => string;
  /** The center's time, epoch ms. */
  now: number;
  config: AccountConfiguration;
  configChanged: boolean;
  readonly rooms: Map<string, Room>;
  /** Unique name → CH SID. */
  readonly uniqueNames: Map<string, string>;
  /** (address, proxy) pairs of the messaging participants of open conversations. */
  readonly bindings: Map<string, { conversationSid: string; participantSid: string }>;
  readonly addressBySid: Map<string, AddressConfiguration>;
  /** {@link addressKey} → IG SID. */
  readonly addressKeys: Map<string, string>;
  readonly deadlines: DeadlineQueue;
  readonly log: {
    conversations: ChangeLog<Conversation>;
    participants: ChangeLog<Participant>;
    messages: ChangeLog<Message>;
    webhooks: ChangeLog<ScopedWebhook>;
    addresses: ChangeLog<AddressConfiguration>;
  };
}

/** An empty center's state: no conversation, the account's configuration at its defaults (timers off, POST, no URL). */
export function createState(options: CenterOptions): CenterState {
  assert(Number.isFinite(options.now), 'CenterOptions.now is an epoch-ms instant');
  return {
    accountSid: options.accountSid,
    chatServiceSid: options.chatServiceSid,
    newSid: options.newSid,
    now: options.now,
    config: deepFreeze({
      chatServiceSid: options.chatServiceSid,
      messagingServiceSid: null,
      defaultInactiveSeconds: 0,
      defaultClosedSeconds: 0,
      webhooks: { preWebhookUrl: null, postWebhookUrl: null, method: 'POST', filters: [], target: 'webhook' },
    }),
    configChanged: false,
    rooms: new Map(),
    uniqueNames: new Map(),
    bindings: new Map(),
    addressBySid: new Map(),
    addressKeys: new Map(),
    deadlines: new DeadlineQueue(),
    log: {
      conversations: new ChangeLog(),
      participants: new ChangeLog(),
      messages: new ChangeLog(),
      webhooks: new ChangeLog(),
      addresses: new ChangeLog(),
    },
  };
}

export function outcome(): ConversationOutcome {
  return { events: [], effects: [] };
}

export function isOpen(c: Conversation): boolean {
  return c.state !== 'closed';
}

/** The (address, proxy address) of a messaging participant, or null for a chat participant. */
export function messagingPair(p: Participant): { address: string; proxyAddress: string } | null {
  const b = p.messagingBinding;
  return b === null || b.address === null || b.proxyAddress === null ? null : { address: b.address, proxyAddress: b.proxyAddress };
}

/** The key an address configuration is found by for an inbound `to`: the address, with its channel prefix for a non-SMS type given without one. */
export function addressKey(type: string, address: string): string {
  return address.includes(':') || type === 'sms' || type === 'chat' ? address : `${type}:${address}`;
}

/** The write's instant (never before the center's time), source, and whether its webhooks fire (API: only with `webhookEnabled`). */
export function writeOf(s: CenterState, ctx: WriteContext): Write {
  assert(Number.isFinite(ctx.at), 'WriteContext.at is an epoch-ms instant');
  const fire = ctx.source === 'API' ? ctx.webhookEnabled === true : ctx.webhookEnabled !== false;
  return { at: Math.max(s.now, ctx.at), source: ctx.source, fire };
}

/** Ends a successful write: the center's time moves to its instant. */
export function done<T>(s: CenterState, w: Write, result: T): T {
  s.now = w.at;
  return result;
}

export function sidFor(s: CenterState, prefix: string): string {
  const sid = s.newSid(prefix);
  assert(v.isSidOf(sid, prefix), `newSid(${prefix}) returned ${sid}`);
  return sid;
}

/** A conversation by CH SID or unique name. */
export function roomOf(s: CenterState, ref: string): Room | undefined {
  const direct = s.rooms.get(ref);
  if (direct !== undefined) return direct;
  const sid = s.uniqueNames.get(ref);
  return sid === undefined ? undefined : s.rooms.get(sid);
}

/** The conversation `ref`, else 404/20404. */
export function roomOrThrow(s: CenterState, ref: string): Room {
  const room = roomOf(s, ref);
  if (room === undefined) throw v.notFound('Conversation', ref);
  return room;
}

/** The conversation `ref` if it exists (else 404/20404) and is not closed (else 400/50377). */
export function writableRoom(s: CenterState, ref: string): Room {
  const room = roomOrThrow(s, ref);
  if (!isOpen(room.c)) throw v.closedError(room.c.sid);
  return room;
}

/** A participant by MB SID or identity. */
export function participantOf(room: Room, ref: string): Participant | undefined {
  const direct = room.participants.get(ref);
  if (direct !== undefined) return direct;
  for (const p of room.participants.values()) if (p.identity === ref) return p;
  return undefined;
}

export function participantOrThrow(room: Room, ref: string): Participant {
  const p = participantOf(room, ref);
  if (p === undefined) throw v.notFound('Participant', ref);
  return p;
}

/** The participant an author names: its identity or messaging address (the first such participant); null for none. */
export function authorOf(room: Room, author: string): string | null {
  for (const p of room.participants.values()) {
    if (p.identity === author || messagingPair(p)?.address === author) return p.sid;
  }
  return null;
}

/** 409/50416 unless no open conversation binds (address, proxy) (A3). */
export function checkPairFree(s: CenterState, address: string, proxyAddress: string): void {
  const bound = s.bindings.get(pairKey(address, proxyAddress));
  if (bound !== undefined) {
    throw new ConversationError(409, 50416, `A binding for this participant and proxy address already exists in Conversation ${bound.conversationSid}`, 'MessagingBinding.Address');
  }
}

/** Frees the address pairs of a conversation that closes or goes away. */
export function releaseBindings(s: CenterState, room: Room): void {
  for (const p of room.participants.values()) {
    const pair = messagingPair(p);
    if (pair !== null) s.bindings.delete(pairKey(pair.address, pair.proxyAddress));
  }
}

/** A new conversation from validated fields (defaults: active, the account's timers and messaging service); deadlines from `w.at`. */
export function newConversation(s: CenterState, w: Write, p: { fields: Partial<Conversation>; state?: ConversationState }): Room {
  const sid = sidFor(s, 'CH');
  assert(!s.rooms.has(sid), `newSid returned ${sid} twice`);
  const dateCreated = p.fields.dateCreated ?? w.at;
  let c: Conversation = {
    sid,
    accountSid: s.accountSid,
    chatServiceSid: s.chatServiceSid,
    messagingServiceSid: s.config.messagingServiceSid,
    friendlyName: null,
    uniqueName: null,
    attributes: '{}',
    state: p.state ?? 'active',
    inactiveSeconds: s.config.defaultInactiveSeconds,
    closedSeconds: s.config.defaultClosedSeconds,
    dateInactive: null,
    dateClosed: null,
    lastActivityAt: w.at,
    nextIndex: 0,
    emailBinding: null,
    ...p.fields,
    dateCreated,
    dateUpdated: p.fields.dateUpdated ?? dateCreated,
  };
  c = { ...c, ...timersFrom(c, w.at) };
  const room: Room = { c, participants: new Map(), messages: new Map(), webhooks: new Map() };
  s.rooms.set(sid, room);
  if (c.uniqueName !== null) s.uniqueNames.set(c.uniqueName, sid);
  putConversation(s, room, c);
  return room;
}

/** Adds a participant (validated) to an open conversation: binds its pair, counts as activity, emits `onParticipantAdded`. */
export function newParticipant(s: CenterState, out: ConversationOutcome, room: Room, w: Write, f: Omit<Participant, 'sid' | 'accountSid' | 'conversationSid'>): Participant {
  const p: Participant = { sid: sidFor(s, 'MB'), accountSid: s.accountSid, conversationSid: room.c.sid, ...f };
  putParticipant(s, room, p);
  const pair = messagingPair(p);
  if (pair !== null) s.bindings.set(pairKey(pair.address, pair.proxyAddress), { conversationSid: room.c.sid, participantSid: p.sid });
  activity(s, out, room, w, {});
  emit(s, out, room, 'onParticipantAdded', participantParams(p), w);
  return p;
}

/**
 * Adds a message (validated) to an open conversation: the next index, activity, a `send` to every
 * messaging participant but its author, then `onMessageAdded`.
 */
export function newMessage(s: CenterState, out: ConversationOutcome, room: Room, w: Write, f: Omit<Message, 'sid' | 'accountSid' | 'conversationSid' | 'index'>): Message {
  const index = room.c.nextIndex;
  const m: Message = { sid: sidFor(s, 'IM'), accountSid: s.accountSid, conversationSid: room.c.sid, index, ...f };
  putMessage(s, room, m);
  activity(s, out, room, w, { nextIndex: index + 1 });
  for (const p of room.participants.values()) {
    const pair = messagingPair(p);
    if (pair === null || p.sid === m.participantSid) continue;
    out.effects.push({ kind: 'send', conversationSid: room.c.sid, messageSid: m.sid, to: pair.address, from: pair.proxyAddress, body: m.body, mediaSid: m.mediaSid });
  }
  emit(s, out, room, 'onMessageAdded', messageParams(m), w);
  return m;
}

/** Adds a scoped webhook (validated). No event. */
export function newWebhook(s: CenterState, room: Room, w: Write, f: WebhookConfig): ScopedWebhook {
  const h: ScopedWebhook = { sid: sidFor(s, 'WH'), accountSid: s.accountSid, conversationSid: room.c.sid, ...f, dateCreated: w.at, dateUpdated: w.at };
  putWebhook(s, room, h);
  return h;
}

/**
 * A message or participant was added at `w.at` (A2): an inactive conversation becomes active
 * (Reason EVENT), `lastActivityAt` moves to now and the timers count from now.
 */
export function activity(s: CenterState, out: ConversationOutcome, room: Room, w: Write, extra: Partial<Conversation>): void {
  if (room.c.state === 'inactive') transition(s, out, room, 'active', 'EVENT', w);
  const c = room.c;
  assert(c.state === 'active', `activity on a ${c.state} conversation`);
  putConversation(s, room, { ...c, ...extra, lastActivityAt: w.at, ...timersFrom(c, w.at) });
}

/**
 * One state change (A2) and its one `onConversationStateUpdated`: to active, the timers count
 * from now; to inactive, the closed deadline stays; to closed, no deadline, and the
 * conversation's address pairs are free again.
 */
export function transition(s: CenterState, out: ConversationOutcome, room: Room, to: ConversationState, reason: StateReason, w: Write): void {
  const before = room.c;
  const from = before.state;
  assert(from !== to && from !== 'closed' && to !== 'initializing', `illegal transition ${from} → ${to}`);
  let next: Conversation = { ...before, state: to, dateUpdated: w.at };
  if (to === 'active') next = { ...next, ...timersFrom(next, w.at) };
  else if (to === 'inactive') next = { ...next, dateInactive: null };
  else next = { ...next, dateInactive: null, dateClosed: null };
  putConversation(s, room, next);
  if (to === 'closed') releaseBindings(s, room);
  emit(s, out, room, 'onConversationStateUpdated', stateParams(from, to, reason, w.at), w);
}

/**
 * Fires the state timers due at or before `now` in order of instant, then SID (Reason TIMER,
 * source SYSTEM, webhooks always), each stamped with its deadline; then moves the center's time
 * to `now` (never backwards).
 */
export function fireDue(s: CenterState, now: number): ConversationOutcome {
  const out = outcome();
  for (;;) {
    const due = s.deadlines.peek();
    if (due === null || due.at > now) break;
    const room = s.rooms.get(due.sid);
    assert(room !== undefined, `a deadline belongs to a conversation (${due.sid})`);
    transition(s, out, room, timerTarget(room.c), 'TIMER', { at: due.at, source: 'SYSTEM', fire: true });
    assert(s.deadlines.get(due.sid) !== due.at, 'a timer moves its conversation on');
    s.now = Math.max(s.now, due.at);
  }
  if (Number.isFinite(now)) s.now = Math.max(s.now, now);
  return out;
}

/** An event of `room` at `w.at`, and its webhook effects when the write fires them. */
export function emit(s: CenterState, out: ConversationOutcome, room: Room, eventType: string, params: Record<string, string>, w: Write): void {
  const event: ConversationEvent = { eventType, at: w.at, conversationSid: room.c.sid, source: w.source, params: { ConversationSid: room.c.sid, ...params } };
  out.events.push(event);
  if (w.fire) out.effects.push(...webhookEffects(event, room.c, room.webhooks.values(), s.config, s.accountSid));
}

export function putConversation(s: CenterState, room: Room, c: Conversation): void {
  room.c = deepFreeze(c);
  s.log.conversations.upsert(room.c);
  s.deadlines.set(c.sid, deadlineOf(c));
}

export function putParticipant(s: CenterState, room: Room, p: Participant): void {
  room.participants.set(p.sid, deepFreeze(p));
  s.log.participants.upsert(p);
}

export function putMessage(s: CenterState, room: Room, m: Message): void {
  room.messages.set(m.sid, deepFreeze(m));
  s.log.messages.upsert(m);
}

export function putWebhook(s: CenterState, room: Room, h: ScopedWebhook): void {
  room.webhooks.set(h.sid, deepFreeze(h));
  s.log.webhooks.upsert(h);
}
