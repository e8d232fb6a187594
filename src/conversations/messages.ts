/**
 * Messages (spec conversations-events-analytics.md A4) and conversation-scoped webhooks (A5). The
 * public contract is documented on `ConversationsCenter` (center.ts).
 */
import type { MessageInput, WebhookInput, WriteContext } from './center.ts';
import { ConversationError, type ConversationOutcome, type Message, type ScopedWebhook } from './model.ts';
import { authorOf, done, emit, newMessage, newWebhook, outcome, putMessage, putWebhook, writableRoom, writeOf, type CenterState, type WebhookConfig } from './state.ts';
import * as v from './validate.ts';
import { messageParams, SCOPED_FILTERS } from './webhooks.ts';

/** `Body` limit, characters (A4). */
export const MAX_BODY_LENGTH = 1600;
/** At most this many scoped webhooks per conversation (A5; the 6th → 50361). */
export const MAX_SCOPED_WEBHOOKS = 5;

const needsContent = (): ConversationError => v.badField('Body', 'a message needs a Body, MediaSid or ContentSid');

export function addMessage(s: CenterState, ref: string, input: MessageInput, ctx: WriteContext): { message: Message } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const author = input.author === undefined ? 'system' : v.nonEmpty(input.author, 'Author');
  let body = input.body === undefined || input.body === null ? null : v.text(input.body, 'Body', MAX_BODY_LENGTH);
  const attributes = input.attributes === undefined ? '{}' : v.attributes(input.attributes);
  let mediaSid = input.mediaSid === undefined || input.mediaSid === null ? null : v.sidOf(input.mediaSid, 'ME', 'MediaSid');
  const contentSid = input.contentSid === undefined || input.contentSid === null ? null : v.sidOf(input.contentSid, 'HX', 'ContentSid');
  const subject = input.subject === undefined || input.subject === null ? null : v.text(input.subject, 'Subject', 256);
  if (contentSid !== null) {
    body = null;
    mediaSid = null;
  }
  if (body === null && mediaSid === null && contentSid === null) throw needsContent();
  const dateCreated = input.dateCreated === undefined ? w.at : v.instant(input.dateCreated, 'DateCreated');
  const dateUpdated = input.dateUpdated === undefined ? dateCreated : v.instant(input.dateUpdated, 'DateUpdated');
  const out = outcome();
  const message = newMessage(s, out, room, w, { author, body, attributes, participantSid: authorOf(room, author), mediaSid, contentSid, subject, dateCreated, dateUpdated });
  return done(s, w, { message, ...out });
}

export function updateMessage(s: CenterState, ref: string, messageSid: string, input: MessageInput, ctx: WriteContext): { message: Message } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const before = room.messages.get(messageSid);
  if (before === undefined) throw v.notFound('Message', messageSid);
  if (input.mediaSid !== undefined) throw v.badField('MediaSid', "can't be updated");
  if (input.contentSid !== undefined) throw v.badField('ContentSid', "can't be updated");
  const next: Message = { ...before };
  if (input.author !== undefined) {
    next.author = v.nonEmpty(input.author, 'Author');
    next.participantSid = authorOf(room, next.author);
  }
  if (input.body !== undefined) next.body = input.body === null ? null : v.text(input.body, 'Body', MAX_BODY_LENGTH);
  if (input.attributes !== undefined) next.attributes = v.attributes(input.attributes);
  if (input.subject !== undefined) next.subject = input.subject === null ? null : v.text(input.subject, 'Subject', 256);
  if (next.body === null && next.mediaSid === null && next.contentSid === null) throw needsContent();
  if (input.dateCreated !== undefined) next.dateCreated = v.instant(input.dateCreated, 'DateCreated');
  next.dateUpdated = input.dateUpdated === undefined ? w.at : v.instant(input.dateUpdated, 'DateUpdated');
  putMessage(s, room, next);
  const out = outcome();
  emit(s, out, room, 'onMessageUpdated', messageParams(next), w);
  return done(s, w, { message: next, ...out });
}

export function removeMessage(s: CenterState, ref: string, messageSid: string, ctx: WriteContext): ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const m = room.messages.get(messageSid);
  if (m === undefined) throw v.notFound('Message', messageSid);
  room.messages.delete(messageSid);
  s.log.messages.remove(messageSid);
  const out = outcome();
  emit(s, out, room, 'onMessageRemoved', messageParams(m), w);
  return done(s, w, out);
}

/** The configuration of a scoped webhook: `base` with `input` applied, checked against its target. */
function webhookConfig(base: WebhookConfig, input: WebhookInput): WebhookConfig {
  const f = { ...base };
  if (input.url !== undefined) f.url = v.url(input.url, 'Configuration.Url');
  if (input.method !== undefined) f.method = v.method(input.method, 'Configuration.Method');
  if (input.filters !== undefined) f.filters = v.listOf(input.filters, SCOPED_FILTERS, 'Configuration.Filters');
  if (input.triggers !== undefined) {
    if (!Array.isArray(input.triggers)) throw v.badField('Configuration.Triggers', 'a list is expected');
    f.triggers = input.triggers.map((t) => v.nonEmpty(t, 'Configuration.Triggers'));
  }
  if (input.flowSid !== undefined) f.flowSid = v.sidOf(input.flowSid, 'FW', 'Configuration.FlowSid');
  if (input.replayAfter !== undefined) f.replayAfter = v.count(input.replayAfter, 'Configuration.ReplayAfter');
  if (f.target !== 'studio' && f.url === null) throw v.badField('Configuration.Url', `required for target ${f.target}`);
  if (f.target === 'trigger' && f.triggers.length === 0) throw v.badField('Configuration.Triggers', 'at least one keyword for target trigger');
  if (f.target === 'studio' && f.flowSid === null) throw v.badField('Configuration.FlowSid', 'required for target studio');
  return f;
}

export function addWebhook(s: CenterState, ref: string, input: WebhookInput, ctx: WriteContext): { webhook: ScopedWebhook } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  if (input.target === undefined) throw v.badField('Target', 'required: webhook, trigger or studio');
  const target = v.oneOf(input.target, ['webhook', 'trigger', 'studio'] as const, 'Target');
  const config = webhookConfig({ target, url: null, method: 'POST', filters: [], triggers: [], flowSid: null, replayAfter: null }, input);
  if (room.webhooks.size >= MAX_SCOPED_WEBHOOKS) throw new ConversationError(400, 50361, `A conversation has at most ${MAX_SCOPED_WEBHOOKS} scoped webhooks`);
  const webhook = newWebhook(s, room, w, config);
  return done(s, w, { webhook, ...outcome() });
}

export function updateWebhook(s: CenterState, ref: string, webhookSid: string, input: WebhookInput, ctx: WriteContext): { webhook: ScopedWebhook } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const before = room.webhooks.get(webhookSid);
  if (before === undefined) throw v.notFound('Webhook', webhookSid);
  if (input.target !== undefined && input.target !== before.target) throw v.badField('Target', "can't be changed: remove the webhook and add another");
  const next: ScopedWebhook = { ...before, ...webhookConfig(before, input), dateUpdated: w.at };
  putWebhook(s, room, next);
  return done(s, w, { webhook: next, ...outcome() });
}

export function removeWebhook(s: CenterState, ref: string, webhookSid: string, ctx: WriteContext): ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  if (!room.webhooks.has(webhookSid)) throw v.notFound('Webhook', webhookSid);
  room.webhooks.delete(webhookSid);
  s.log.webhooks.remove(webhookSid);
  return done(s, w, outcome());
}
