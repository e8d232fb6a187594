/**
 * Address configurations and inbound messages (spec conversations-events-analytics.md C:
 * `/v1/Configuration/Addresses`, auto-creation). The public contract is documented on
 * `ConversationsCenter` (center.ts).
 */
import { assert } from '../util/assert.ts';
import type { AddressInput, WriteContext } from './center.ts';
import { MAX_BODY_LENGTH } from './messages.ts';
import { ConversationError, type AddressConfiguration, type Conversation, type ConversationOutcome, type Message } from './model.ts';
import { channelOf, deepFreeze, pairKey } from './records.ts';
import { addressKey, done, emit, isOpen, newConversation, newMessage, newParticipant, newWebhook, outcome, sidFor, writeOf, type CenterState } from './state.ts';
import * as v from './validate.ts';
import { conversationParams, SCOPED_FILTERS } from './webhooks.ts';

/** `Type` values of an address configuration (OpenAPI `configuration_address_enum_type`). */
export const ADDRESS_TYPES = ['sms', 'whatsapp', 'messenger', 'gbm', 'email', 'rcs', 'apple', 'chat'] as const;

/** An address configuration by IG SID or by address (as configured, or as an inbound `to` spells it). */
export function findAddress(s: CenterState, sidOrAddress: string): AddressConfiguration | undefined {
  const bySid = s.addressBySid.get(sidOrAddress);
  if (bySid !== undefined) return bySid;
  const sid = s.addressKeys.get(sidOrAddress);
  if (sid !== undefined) return s.addressBySid.get(sid);
  for (const a of s.addressBySid.values()) if (a.address === sidOrAddress) return a;
  return undefined;
}

export function putAddress(s: CenterState, sid: string | null, input: AddressInput, ctx: WriteContext): { address: AddressConfiguration } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const before = sid === null ? undefined : findAddress(s, sid);
  if (sid !== null && before === undefined) throw v.notFound('AddressConfiguration', sid);
  let type: string;
  let address: string;
  if (before === undefined) {
    if (input.type === undefined) throw v.badField('Type', 'required');
    if (input.address === undefined) throw v.badField('Address', 'required');
    type = v.oneOf(input.type, ADDRESS_TYPES, 'Type');
    address = v.nonEmpty(input.address, 'Address');
    if (s.addressKeys.has(addressKey(type, address))) throw new ConversationError(409, 20001, `An address configuration for ${address} already exists`, 'Address');
  } else {
    if (input.type !== undefined && input.type !== before.type) throw v.badField('Type', "can't be updated");
    if (input.address !== undefined && input.address !== before.address) throw v.badField('Address', "can't be updated");
    type = before.type;
    address = before.address;
  }
  const a: AddressConfiguration['autoCreation'] = {
    ...(before?.autoCreation ?? {
      enabled: false,
      type: 'default',
      conversationServiceSid: null,
      webhookUrl: null,
      webhookMethod: 'POST',
      webhookFilters: [],
      studioFlowSid: null,
      studioRetryCount: null,
    }),
  };
  const ac = input.autoCreation ?? {};
  if (ac.enabled !== undefined) {
    if (typeof ac.enabled !== 'boolean') throw v.badField('AutoCreation.Enabled', 'true or false');
    a.enabled = ac.enabled;
  }
  if (ac.type !== undefined) a.type = v.oneOf(ac.type, ['webhook', 'studio', 'default'] as const, 'AutoCreation.Type');
  if (ac.conversationServiceSid !== undefined) {
    if (ac.conversationServiceSid !== null && ac.conversationServiceSid !== s.chatServiceSid) {
      throw v.badField('AutoCreation.ConversationServiceSid', `only this account's conversation service ${s.chatServiceSid} is hosted`);
    }
    a.conversationServiceSid = ac.conversationServiceSid;
  }
  if (ac.webhookUrl !== undefined) a.webhookUrl = ac.webhookUrl === null || ac.webhookUrl === '' ? null : v.url(ac.webhookUrl, 'AutoCreation.WebhookUrl');
  if (ac.webhookMethod !== undefined) a.webhookMethod = v.method(ac.webhookMethod, 'AutoCreation.WebhookMethod');
  if (ac.webhookFilters !== undefined) a.webhookFilters = v.listOf(ac.webhookFilters, SCOPED_FILTERS, 'AutoCreation.WebhookFilters');
  if (ac.studioFlowSid !== undefined) a.studioFlowSid = ac.studioFlowSid === null ? null : v.sidOf(ac.studioFlowSid, 'FW', 'AutoCreation.StudioFlowSid');
  if (ac.studioRetryCount !== undefined) a.studioRetryCount = ac.studioRetryCount === null ? null : v.count(ac.studioRetryCount, 'AutoCreation.StudioRetryCount');
  if (a.enabled && a.type === 'webhook' && a.webhookUrl === null) throw v.badField('AutoCreation.WebhookUrl', 'required for auto-creation of type webhook');
  if (a.enabled && a.type === 'studio' && a.studioFlowSid === null) throw v.badField('AutoCreation.StudioFlowSid', 'required for auto-creation of type studio');
  const friendlyName = input.friendlyName === undefined ? (before?.friendlyName ?? null) : v.optionalText(input.friendlyName, 'FriendlyName', 256);
  const addressCountry = input.addressCountry === undefined ? (before?.addressCountry ?? null) : v.optionalText(input.addressCountry, 'AddressCountry');
  let routing = before?.routing ?? null;
  if (input.routing !== undefined) {
    routing = input.routing === null ? null : {
      workspaceSid: v.sidOf(input.routing.workspaceSid, 'WS', 'AutoCreation.RoutingWorkspaceSid'),
      workflowSid: v.sidOf(input.routing.workflowSid, 'WW', 'AutoCreation.RoutingWorkflowSid'),
      taskChannel: v.nonEmpty(input.routing.taskChannel, 'AutoCreation.RoutingTaskChannel'),
    };
  }
  const record: AddressConfiguration = deepFreeze({
    sid: before?.sid ?? sidFor(s, 'IG'),
    accountSid: s.accountSid,
    type,
    address,
    friendlyName,
    autoCreation: a,
    addressCountry,
    ...(routing === null ? {} : { routing }),
    dateCreated: before?.dateCreated ?? w.at,
    dateUpdated: w.at,
  });
  s.addressBySid.set(record.sid, record);
  s.addressKeys.set(addressKey(type, address), record.sid);
  s.log.addresses.upsert(record);
  return done(s, w, { address: record, ...outcome() });
}

export function removeAddress(s: CenterState, sid: string, ctx: WriteContext): ConversationOutcome {
  const w = writeOf(s, ctx);
  const a = findAddress(s, sid);
  if (a === undefined) throw v.notFound('AddressConfiguration', sid);
  s.addressBySid.delete(a.sid);
  s.addressKeys.delete(addressKey(a.type, a.address));
  s.log.addresses.remove(a.sid);
  return done(s, w, outcome());
}

export function inbound(
  s: CenterState,
  input: { from: string; to: string; body: string | null; mediaSid?: string | null },
  ctx: WriteContext,
): ({ conversation: Conversation; message: Message } & ConversationOutcome) | null {
  const w = { ...writeOf(s, ctx), fire: true };
  const from = v.nonEmpty(input.from, 'From');
  const to = v.nonEmpty(input.to, 'To');
  const body = input.body === null ? null : v.text(input.body, 'Body', MAX_BODY_LENGTH);
  const mediaSid = input.mediaSid === undefined || input.mediaSid === null ? null : v.sidOf(input.mediaSid, 'ME', 'MediaSid');
  if (body === null && mediaSid === null) throw v.badField('Body', 'an inbound message needs a Body or MediaSid');
  const fields = { author: from, body, attributes: '{}', mediaSid, contentSid: null, subject: null, dateCreated: w.at, dateUpdated: w.at };
  const out = outcome();
  const bound = s.bindings.get(pairKey(from, to));
  if (bound !== undefined) {
    const room = s.rooms.get(bound.conversationSid);
    assert(room !== undefined && isOpen(room.c), 'a bound pair belongs to an open conversation');
    const message = newMessage(s, out, room, w, { ...fields, participantSid: bound.participantSid });
    return done(s, w, { conversation: room.c, message, ...out });
  }
  const config = findAddress(s, to);
  if (config === undefined || !config.autoCreation.enabled) return null;
  const ac = config.autoCreation;
  const room = newConversation(s, w, { fields: {} });
  emit(s, out, room, 'onConversationAdded', { ...conversationParams(room.c), 'MessagingBinding.Address': from, 'MessagingBinding.ProxyAddress': to }, w);
  if (ac.type === 'webhook' && ac.webhookUrl !== null) {
    newWebhook(s, room, w, { target: 'webhook', url: ac.webhookUrl, method: ac.webhookMethod, filters: [...ac.webhookFilters], triggers: [], flowSid: null, replayAfter: null });
  } else if (ac.type === 'studio' && ac.studioFlowSid !== null) {
    newWebhook(s, room, w, { target: 'studio', url: null, method: 'POST', filters: [], triggers: [], flowSid: ac.studioFlowSid, replayAfter: null });
  }
  const participant = newParticipant(s, out, room, w, {
    identity: null,
    attributes: '{}',
    messagingBinding: { type: channelOf(from), address: from, proxyAddress: to, projectedAddress: null },
    roleSid: null,
    lastReadMessageIndex: null,
    lastReadTimestamp: null,
    dateCreated: w.at,
    dateUpdated: w.at,
  });
  const message = newMessage(s, out, room, w, { ...fields, participantSid: participant.sid });
  return done(s, w, { conversation: room.c, message, ...out });
}

/**
 * A web chat started on an address configuration of type `chat` with auto-creation enabled (our
 * web chat endpoint; docs/conversations.md "Web chat"): the auto-creation path of {@link inbound}
 * with a chat participant (`identity`, chosen by the host) in place of a messaging one, then the
 * first message (authored by the identity) when `body` is given. Null when the address is not
 * configured, not of type `chat`, or does not auto-create; nothing changes then.
 */
export function startChat(
  s: CenterState,
  input: { to: string; identity: string; body: string | null; attributes?: string },
  ctx: WriteContext,
): ({ conversation: Conversation; message: Message | null } & ConversationOutcome) | null {
  const w = { ...writeOf(s, ctx), fire: true };
  const identity = v.nonEmpty(input.identity, 'Identity', 256);
  const body = input.body === null ? null : v.text(input.body, 'Body', MAX_BODY_LENGTH);
  const attributes = input.attributes === undefined ? '{}' : v.attributes(input.attributes);
  const config = findAddress(s, input.to);
  if (config === undefined || config.type !== 'chat' || !config.autoCreation.enabled) return null;
  const ac = config.autoCreation;
  const out = outcome();
  const room = newConversation(s, w, { fields: {} });
  emit(s, out, room, 'onConversationAdded', conversationParams(room.c), w);
  if (ac.type === 'webhook' && ac.webhookUrl !== null) {
    newWebhook(s, room, w, { target: 'webhook', url: ac.webhookUrl, method: ac.webhookMethod, filters: [...ac.webhookFilters], triggers: [], flowSid: null, replayAfter: null });
  } else if (ac.type === 'studio' && ac.studioFlowSid !== null) {
    newWebhook(s, room, w, { target: 'studio', url: null, method: 'POST', filters: [], triggers: [], flowSid: ac.studioFlowSid, replayAfter: null });
  }
  const participant = newParticipant(s, out, room, w, {
    identity,
    attributes,
    messagingBinding: null,
    roleSid: null,
    lastReadMessageIndex: null,
    lastReadTimestamp: null,
    dateCreated: w.at,
    dateUpdated: w.at,
  });
  const message = body === null ? null : newMessage(s, out, room, w, { author: identity, body, attributes: '{}', mediaSid: null, contentSid: null, subject: null, dateCreated: w.at, dateUpdated: w.at, participantSid: participant.sid });
  return done(s, w, { conversation: room.c, message, ...out });
}
