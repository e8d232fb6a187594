/**
 * The account's configuration and the conversation resource (spec conversations-events-analytics.md
 * A1, A2): create, update (fields, timers, state), delete, list. The public contract and its
 * decisions are documented on `ConversationsCenter` (center.ts).
 */
import type { ConversationInput, WriteContext } from './center.ts';
import { MIN_CLOSED_SECONDS, MIN_INACTIVE_SECONDS, parseTimer } from './durations.ts';
import { ConversationError, type Conversation, type ConversationOutcome, type ConversationState } from './model.ts';
import { deepFreeze, timersFrom } from './records.ts';
import { done, emit, isOpen, newConversation, outcome, putConversation, releaseBindings, roomOrThrow, transition, writableRoom, writeOf, type CenterState } from './state.ts';
import * as v from './validate.ts';
import { ACCOUNT_FILTERS, conversationParams } from './webhooks.ts';

export function updateConfiguration(
  s: CenterState,
  input: { defaultInactiveTimer?: string; defaultClosedTimer?: string; defaultMessagingServiceSid?: string | null },
  ctx: WriteContext,
): ConversationOutcome {
  const w = writeOf(s, ctx);
  const next = { ...s.config };
  if (input.defaultInactiveTimer !== undefined) next.defaultInactiveSeconds = parseTimer(input.defaultInactiveTimer, 'DefaultInactiveTimer', MIN_INACTIVE_SECONDS);
  if (input.defaultClosedTimer !== undefined) next.defaultClosedSeconds = parseTimer(input.defaultClosedTimer, 'DefaultClosedTimer', MIN_CLOSED_SECONDS);
  if (input.defaultMessagingServiceSid !== undefined) {
    next.messagingServiceSid = input.defaultMessagingServiceSid === null ? null : v.sidOf(input.defaultMessagingServiceSid, 'MG', 'DefaultMessagingServiceSid');
  }
  s.config = deepFreeze(next);
  s.configChanged = true;
  return done(s, w, outcome());
}

export function updateWebhookConfiguration(
  s: CenterState,
  input: { preWebhookUrl?: string | null; postWebhookUrl?: string | null; method?: 'GET' | 'POST'; filters?: string[]; target?: 'webhook' | 'flex' },
  ctx: WriteContext,
): ConversationOutcome {
  const w = writeOf(s, ctx);
  const hooks = { ...s.config.webhooks };
  const optionalUrl = (value: string | null, field: string): string | null => (value === null || value === '' ? null : v.url(value, field));
  if (input.preWebhookUrl !== undefined) hooks.preWebhookUrl = optionalUrl(input.preWebhookUrl, 'PreWebhookUrl');
  if (input.postWebhookUrl !== undefined) hooks.postWebhookUrl = optionalUrl(input.postWebhookUrl, 'PostWebhookUrl');
  if (input.method !== undefined) hooks.method = v.method(input.method, 'Method');
  if (input.filters !== undefined) hooks.filters = v.listOf(input.filters, ACCOUNT_FILTERS, 'Filters');
  if (input.target !== undefined) hooks.target = v.oneOf(input.target, ['webhook', 'flex'] as const, 'Target');
  s.config = deepFreeze({ ...s.config, webhooks: hooks });
  s.configChanged = true;
  return done(s, w, outcome());
}

/** The validated fields of a conversation create/update; `timers` when a timer was sent. */
function conversationPatch(s: CenterState, input: ConversationInput, current: Conversation | null): { fields: Partial<Conversation>; state?: ConversationState; timers: boolean } {
  const fields: Partial<Conversation> = {};
  if (input.friendlyName !== undefined) fields.friendlyName = v.optionalText(input.friendlyName, 'FriendlyName', 256);
  if (input.uniqueName !== undefined) {
    const name = input.uniqueName === null || input.uniqueName === '' ? null : v.text(input.uniqueName, 'UniqueName');
    if (name !== null) {
      if (v.isSidOf(name, 'CH')) throw new ConversationError(400, 50390, 'Unique name should not match conversation sid pattern', 'UniqueName');
      const owner = s.uniqueNames.get(name);
      if (owner !== undefined && owner !== current?.sid) throw new ConversationError(409, 50353, `Conversation with provided unique name ${name} already exists`, 'UniqueName');
    }
    fields.uniqueName = name;
  }
  if (input.attributes !== undefined) fields.attributes = v.attributes(input.attributes);
  if (input.messagingServiceSid !== undefined) fields.messagingServiceSid = input.messagingServiceSid === null ? null : v.sidOf(input.messagingServiceSid, 'MG', 'MessagingServiceSid');
  let state: ConversationState | undefined;
  if (input.state !== undefined) {
    if (input.state === 'initializing') throw v.badField('State', 'initializing is set by the service only: active, inactive or closed');
    state = v.oneOf(input.state, ['active', 'inactive', 'closed'] as const, 'State');
  }
  if (input.timersInactive !== undefined) fields.inactiveSeconds = parseTimer(input.timersInactive, 'Timers.Inactive', MIN_INACTIVE_SECONDS);
  if (input.timersClosed !== undefined) fields.closedSeconds = parseTimer(input.timersClosed, 'Timers.Closed', MIN_CLOSED_SECONDS);
  if (input.dateCreated !== undefined) fields.dateCreated = v.instant(input.dateCreated, 'DateCreated');
  if (input.dateUpdated !== undefined) fields.dateUpdated = v.instant(input.dateUpdated, 'DateUpdated');
  if (input.emailAddress !== undefined || input.emailName !== undefined) {
    const address = input.emailAddress === undefined ? (current?.emailBinding?.address ?? null) : v.optionalText(input.emailAddress, 'Bindings.Email.Address');
    const name = input.emailName === undefined ? (current?.emailBinding?.name ?? null) : v.optionalText(input.emailName, 'Bindings.Email.Name');
    fields.emailBinding = address === null && name === null ? null : { address, name };
  }
  const timers = input.timersInactive !== undefined || input.timersClosed !== undefined;
  return state === undefined ? { fields, timers } : { fields, state, timers };
}

export function createConversation(s: CenterState, input: ConversationInput, ctx: WriteContext): { conversation: Conversation } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const p = conversationPatch(s, input, null);
  if ((input.timersInactive !== undefined || input.timersClosed !== undefined) && input.state === undefined) {
    throw new ConversationError(400, 50382, "Timer can't be set without state: send State with Timers.Inactive or Timers.Closed on creation", 'State');
  }
  const out = outcome();
  const room = newConversation(s, w, p);
  emit(s, out, room, 'onConversationAdded', conversationParams(room.c), w);
  return done(s, w, { conversation: room.c, ...out });
}

export function updateConversation(s: CenterState, ref: string, input: ConversationInput, ctx: WriteContext): { conversation: Conversation } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const p = conversationPatch(s, input, room.c);
  const out = outcome();
  const before = room.c;
  let next: Conversation = { ...before, ...p.fields, dateUpdated: p.fields.dateUpdated ?? w.at };
  if (p.timers) next = { ...next, ...timersFrom(next, w.at) };
  if (next.uniqueName !== before.uniqueName) {
    if (before.uniqueName !== null) s.uniqueNames.delete(before.uniqueName);
    if (next.uniqueName !== null) s.uniqueNames.set(next.uniqueName, next.sid);
  }
  putConversation(s, room, next);
  if (p.state !== undefined && p.state !== room.c.state) {
    transition(s, out, room, p.state, 'API', w);
    // The transition stamps dateUpdated with now; a DateUpdated sent with the request wins.
    if (p.fields.dateUpdated !== undefined) putConversation(s, room, { ...room.c, dateUpdated: p.fields.dateUpdated });
  }
  emit(s, out, room, 'onConversationUpdated', conversationParams(room.c), w);
  return done(s, w, { conversation: room.c, ...out });
}

export function deleteConversation(s: CenterState, ref: string, ctx: WriteContext): ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = roomOrThrow(s, ref);
  const out = outcome();
  emit(s, out, room, 'onConversationRemoved', conversationParams(room.c), w);
  const c = room.c;
  if (isOpen(c)) releaseBindings(s, room);
  if (c.uniqueName !== null) s.uniqueNames.delete(c.uniqueName);
  s.deadlines.set(c.sid, null);
  s.rooms.delete(c.sid);
  s.log.conversations.remove(c.sid);
  for (const sid of room.participants.keys()) s.log.participants.remove(sid);
  for (const sid of room.messages.keys()) s.log.messages.remove(sid);
  for (const sid of room.webhooks.keys()) s.log.webhooks.remove(sid);
  return done(s, w, out);
}

export function listConversations(s: CenterState, filter: { state?: ConversationState; startMs?: number; endMs?: number }): Conversation[] {
  const out: Conversation[] = [];
  for (const room of s.rooms.values()) {
    const c = room.c;
    if (filter.state !== undefined && c.state !== filter.state) continue;
    if (filter.startMs !== undefined && c.dateCreated < filter.startMs) continue;
    if (filter.endMs !== undefined && c.dateCreated >= filter.endMs) continue;
    out.push(c);
  }
  // Newest first; among equal creation dates, the most recently created first (sort is stable).
  out.reverse();
  return out.sort((a, b) => b.dateCreated - a.dateCreated);
}
