/**
 * Which post-event webhooks an event fires, and with which form parameters (spec
 * conversations-events-analytics.md A5, A6):
 *
 * - the conversation's scoped webhooks, in creation order: target `webhook` when its filters name
 *   the event; target `trigger` on `onMessageAdded` only, when the message's body contains one of
 *   its keywords as a whole word, case-insensitively (its filters are not consulted); target
 *   `studio` never (Studio flows are not hosted: the webhook is kept as data, nothing is sent);
 * - then the account's post-event webhook (`/v1/Configuration/Webhooks`) when `PostWebhookUrl` is
 *   set, its target is `webhook` and its filters name the event. Target `flex` sends nothing (Flex
 *   is not a URL; the events carry the facts). Pre-event webhooks (`PreWebhookUrl`) are never
 *   called: the core has no way to wait for a reply that could block the action.
 *
 * The parameters are the common ones — `AccountSid, ChatServiceSid, ConversationSid,
 * MessagingServiceSid, EventType, Source, RetryCount ('0'), WebhookSid` (scoped only) — then the
 * event's own (A6). A parameter whose value is null is left out (a form has no null).
 */
import { isoInstant } from '../util/time.ts';
import type { AccountConfiguration, Conversation, ConversationEffect, ConversationEvent, Message, Participant, ScopedWebhook, StateReason } from './model.ts';

/** Post-event names (A5): what the center emits. */
export const POST_EVENTS = [
  'onMessageAdded',
  'onMessageUpdated',
  'onMessageRemoved',
  'onConversationAdded',
  'onConversationUpdated',
  'onConversationRemoved',
  'onConversationStateUpdated',
  'onParticipantAdded',
  'onParticipantUpdated',
  'onParticipantRemoved',
  'onDeliveryUpdated',
  'onUserAdded',
  'onUserUpdated',
] as const;

/** Pre-event names (A5): accepted in the account's filters, never fired. */
export const PRE_EVENTS = [
  'onMessageAdd',
  'onMessageUpdate',
  'onMessageRemove',
  'onConversationAdd',
  'onConversationUpdate',
  'onConversationRemove',
  'onParticipantAdd',
  'onParticipantUpdate',
  'onParticipantRemove',
  'onUserUpdate',
] as const;

/** Filters the account's webhook configuration accepts (`Filters`): pre- and post-events. */
export const ACCOUNT_FILTERS: readonly string[] = [...POST_EVENTS, ...PRE_EVENTS];

/**
 * Filters a conversation-scoped webhook accepts (`Configuration.Filters`,
 * `AutoCreation.WebhookFilters`): the post-events that apply to one existing conversation, as the
 * OpenAPI lists them for the address configuration.
 */
export const SCOPED_FILTERS: readonly string[] = [
  'onMessageAdded',
  'onMessageUpdated',
  'onMessageRemoved',
  'onConversationUpdated',
  'onConversationStateUpdated',
  'onConversationRemoved',
  'onParticipantAdded',
  'onParticipantUpdated',
  'onParticipantRemoved',
  'onDeliveryUpdated',
];

/** Sets `key` to `value` unless it is null. */
function put(params: Record<string, string>, key: string, value: string | number | null): void {
  if (value !== null) params[key] = String(value);
}

/** `onConversation{Added,Updated,Removed}`: the conversation's fields (A6). */
export function conversationParams(c: Conversation): Record<string, string> {
  const p: Record<string, string> = {};
  put(p, 'FriendlyName', c.friendlyName);
  put(p, 'UniqueName', c.uniqueName);
  p.Attributes = c.attributes;
  p.DateCreated = isoInstant(c.dateCreated);
  p.DateUpdated = isoInstant(c.dateUpdated);
  p.State = c.state;
  return p;
}

/** `onConversationStateUpdated` (A2, A6): `StateFrom, StateTo, Reason, StateUpdated` (ISO instant of the change). */
export function stateParams(from: string, to: string, reason: StateReason, at: number): Record<string, string> {
  return { StateFrom: from, StateTo: to, Reason: reason, StateUpdated: isoInstant(at) };
}

/** `onParticipant{Added,Updated,Removed}` (A6). */
export function participantParams(p: Participant): Record<string, string> {
  const out: Record<string, string> = { ParticipantSid: p.sid };
  put(out, 'Identity', p.identity);
  if (p.messagingBinding !== null) {
    put(out, 'MessagingBinding.Address', p.messagingBinding.address);
    put(out, 'MessagingBinding.ProxyAddress', p.messagingBinding.proxyAddress);
    put(out, 'MessagingBinding.ProjectedAddress', p.messagingBinding.projectedAddress);
  }
  put(out, 'RoleSid', p.roleSid);
  out.Attributes = p.attributes;
  put(out, 'LastReadMessageIndex', p.lastReadMessageIndex);
  out.DateCreated = isoInstant(p.dateCreated);
  out.DateUpdated = isoInstant(p.dateUpdated);
  return out;
}

/**
 * `onMessage{Added,Updated,Removed}` (A6): `MessageSid, Index, Author, Body, Attributes,
 * DateCreated, ParticipantSid, Media` — Media as JSON (`[{"Sid":"ME…"}]`: the core knows the media
 * SID only), left out without media.
 */
export function messageParams(m: Message): Record<string, string> {
  const out: Record<string, string> = { MessageSid: m.sid, Index: String(m.index), Author: m.author };
  put(out, 'Body', m.body);
  out.Attributes = m.attributes;
  out.DateCreated = isoInstant(m.dateCreated);
  out.DateUpdated = isoInstant(m.dateUpdated);
  put(out, 'ParticipantSid', m.participantSid);
  put(out, 'Subject', m.subject);
  put(out, 'ContentSid', m.contentSid);
  if (m.mediaSid !== null) out.Media = JSON.stringify([{ Sid: m.mediaSid }]);
  return out;
}

const WORD = /[\p{L}\p{N}_]/u;

/** True if `keyword` occurs in `body` as a whole word (or phrase), case-insensitively. */
export function keywordMatches(body: string, keyword: string): boolean {
  const k = keyword.trim().toLowerCase();
  if (k === '') return false;
  const b = body.toLowerCase();
  for (let i = b.indexOf(k); i !== -1; i = b.indexOf(k, i + 1)) {
    const left = i === 0 ? '' : (b[i - 1] as string);
    const right = b[i + k.length] ?? '';
    const wordStart = WORD.test(k[0] as string);
    const wordEnd = WORD.test(k[k.length - 1] as string);
    if ((!wordStart || !WORD.test(left)) && (!wordEnd || !WORD.test(right))) return true;
  }
  return false;
}

/** Whether a scoped webhook fires for `event` (see the module comment). */
export function scopedFires(w: ScopedWebhook, event: ConversationEvent): boolean {
  switch (w.target) {
    case 'webhook':
      return w.filters.includes(event.eventType);
    case 'trigger': {
      if (event.eventType !== 'onMessageAdded') return false;
      const body = event.params.Body;
      return body !== undefined && w.triggers.some((k) => keywordMatches(body, k));
    }
    case 'studio':
      return false;
  }
}

/**
 * The webhook effects of one event of conversation `c` (its scoped webhooks `hooks` in creation
 * order, then the account's post-event webhook), with their full form parameters.
 */
export function webhookEffects(
  event: ConversationEvent,
  c: Conversation,
  hooks: Iterable<ScopedWebhook>,
  config: AccountConfiguration,
  accountSid: string,
): ConversationEffect[] {
  const effects: ConversationEffect[] = [];
  const common = (webhookSid: string | null): Record<string, string> => {
    const p: Record<string, string> = { AccountSid: accountSid, ChatServiceSid: c.chatServiceSid, ConversationSid: c.sid };
    put(p, 'MessagingServiceSid', c.messagingServiceSid);
    p.EventType = event.eventType;
    p.Source = event.source;
    p.RetryCount = '0';
    put(p, 'WebhookSid', webhookSid);
    return { ...p, ...event.params };
  };
  for (const w of hooks) {
    if (w.url === null || !scopedFires(w, event)) continue;
    effects.push({ kind: 'webhook', url: w.url, method: w.method, params: common(w.sid), webhookSid: w.sid });
  }
  const account = config.webhooks;
  if (account.target === 'webhook' && account.postWebhookUrl !== null && account.filters.includes(event.eventType)) {
    effects.push({ kind: 'webhook', url: account.postWebhookUrl, method: account.method, params: common(null), webhookSid: null });
  }
  return effects;
}
