/**
 * Participants (spec conversations-events-analytics.md A3): chat participants (an identity) and
 * messaging participants (an address pair, unique among open conversations). The public contract
 * is documented on `ConversationsCenter` (center.ts).
 */
import type { ParticipantInput, WriteContext } from './center.ts';
import { ConversationError, type ConversationOutcome, type Participant } from './model.ts';
import { channelOf, pairKey } from './records.ts';
import {
  checkPairFree,
  done,
  emit,
  messagingPair,
  newParticipant,
  outcome,
  participantOrThrow,
  putParticipant,
  writableRoom,
  writeOf,
  type CenterState,
} from './state.ts';
import * as v from './validate.ts';
import { participantParams } from './webhooks.ts';

/** Non-chat (SMS, WhatsApp …) participants per conversation (A2; more → 50418). */
export const MAX_MESSAGING_PARTICIPANTS = 50;
/** Chat participants per conversation (A2; more → 50417). */
export const MAX_CHAT_PARTICIPANTS = 1000;

function duplicateIdentity(sid: string, identity: string): ConversationError {
  return new ConversationError(409, 50433, `Participant with identity ${identity} already exists in conversation ${sid}`, 'Identity');
}

export function addParticipant(s: CenterState, ref: string, input: ParticipantInput, ctx: WriteContext): { participant: Participant } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const identity = input.identity === undefined || input.identity === null ? null : v.nonEmpty(input.identity, 'Identity', 256);
  const messaging = input.address !== undefined;
  if (identity !== null && messaging) throw v.badField('MessagingBinding.Address', 'a participant has either an Identity (chat) or a MessagingBinding.Address (messaging), not both');
  if (identity === null && !messaging) throw v.badField('Identity', 'Identity or MessagingBinding.Address is required');
  let binding: Participant['messagingBinding'] = null;
  if (messaging) {
    const address = v.nonEmpty(input.address, 'MessagingBinding.Address');
    if (input.proxyAddress === undefined) throw v.badField('MessagingBinding.ProxyAddress', 'required with MessagingBinding.Address');
    const proxyAddress = v.nonEmpty(input.proxyAddress, 'MessagingBinding.ProxyAddress');
    if (input.projectedAddress !== undefined && input.projectedAddress !== null) throw v.badField('MessagingBinding.ProjectedAddress', 'only for a chat participant (Identity)');
    binding = { type: channelOf(address), address, proxyAddress, projectedAddress: null };
  } else {
    if (input.proxyAddress !== undefined) throw v.badField('MessagingBinding.ProxyAddress', 'only with MessagingBinding.Address');
    if (input.projectedAddress !== undefined && input.projectedAddress !== null) {
      binding = { type: 'sms', address: null, proxyAddress: null, projectedAddress: v.nonEmpty(input.projectedAddress, 'MessagingBinding.ProjectedAddress') };
    }
  }
  const attributes = input.attributes === undefined ? '{}' : v.attributes(input.attributes);
  const roleSid = input.roleSid === undefined || input.roleSid === null ? null : v.sidOf(input.roleSid, 'RL', 'RoleSid');
  const lastReadMessageIndex = input.lastReadMessageIndex === undefined || input.lastReadMessageIndex === null ? null : v.count(input.lastReadMessageIndex, 'LastReadMessageIndex');
  const lastReadTimestamp = input.lastReadTimestamp === undefined ? null : v.optionalText(input.lastReadTimestamp, 'LastReadTimestamp');
  const dateCreated = input.dateCreated === undefined ? w.at : v.instant(input.dateCreated, 'DateCreated');
  const dateUpdated = input.dateUpdated === undefined ? dateCreated : v.instant(input.dateUpdated, 'DateUpdated');
  let chat = 0;
  let nonChat = 0;
  for (const q of room.participants.values()) {
    if (messagingPair(q) === null) chat += 1;
    else nonChat += 1;
    if (identity !== null && q.identity === identity) throw duplicateIdentity(room.c.sid, identity);
  }
  if (binding !== null && binding.address !== null && binding.proxyAddress !== null) {
    checkPairFree(s, binding.address, binding.proxyAddress);
    if (nonChat >= MAX_MESSAGING_PARTICIPANTS) throw new ConversationError(400, 50418, `A conversation has at most ${MAX_MESSAGING_PARTICIPANTS} non-chat participants`);
  } else if (chat >= MAX_CHAT_PARTICIPANTS) {
    throw new ConversationError(400, 50417, `A conversation has at most ${MAX_CHAT_PARTICIPANTS} chat participants`);
  }
  const out = outcome();
  const participant = newParticipant(s, out, room, w, { identity, attributes, messagingBinding: binding, roleSid, lastReadMessageIndex, lastReadTimestamp, dateCreated, dateUpdated });
  return done(s, w, { participant, ...out });
}

export function updateParticipant(s: CenterState, ref: string, participantRef: string, input: ParticipantInput, ctx: WriteContext): { participant: Participant } & ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const before = participantOrThrow(room, participantRef);
  const pair = messagingPair(before);
  const next: Participant = { ...before };
  if (input.address !== undefined) throw v.badField('MessagingBinding.Address', "can't be updated: remove the participant and add another");
  if (input.identity !== undefined) {
    if (pair !== null) throw new ConversationError(400, 50444, 'A messaging participant can not have an identity', 'Identity');
    const identity = v.nonEmpty(input.identity, 'Identity', 256);
    for (const q of room.participants.values()) if (q.sid !== before.sid && q.identity === identity) throw duplicateIdentity(room.c.sid, identity);
    next.identity = identity;
  }
  let moved: string | null = null;
  if (input.proxyAddress !== undefined) {
    if (pair === null) throw v.badField('MessagingBinding.ProxyAddress', 'only a messaging participant has a proxy address');
    const proxyAddress = v.nonEmpty(input.proxyAddress, 'MessagingBinding.ProxyAddress');
    if (proxyAddress !== pair.proxyAddress) {
      checkPairFree(s, pair.address, proxyAddress);
      moved = proxyAddress;
      next.messagingBinding = { type: channelOf(pair.address), address: pair.address, proxyAddress, projectedAddress: null };
    }
  }
  if (input.projectedAddress !== undefined) {
    if (pair !== null) throw v.badField('MessagingBinding.ProjectedAddress', 'only for a chat participant (Identity)');
    next.messagingBinding =
      input.projectedAddress === null ? null : { type: 'sms', address: null, proxyAddress: null, projectedAddress: v.nonEmpty(input.projectedAddress, 'MessagingBinding.ProjectedAddress') };
  }
  if (input.attributes !== undefined) next.attributes = v.attributes(input.attributes);
  if (input.roleSid !== undefined) next.roleSid = input.roleSid === null ? null : v.sidOf(input.roleSid, 'RL', 'RoleSid');
  if (input.lastReadMessageIndex !== undefined) next.lastReadMessageIndex = input.lastReadMessageIndex === null ? null : v.count(input.lastReadMessageIndex, 'LastReadMessageIndex');
  if (input.lastReadTimestamp !== undefined) next.lastReadTimestamp = v.optionalText(input.lastReadTimestamp, 'LastReadTimestamp');
  if (input.dateCreated !== undefined) next.dateCreated = v.instant(input.dateCreated, 'DateCreated');
  next.dateUpdated = input.dateUpdated === undefined ? w.at : v.instant(input.dateUpdated, 'DateUpdated');
  if (moved !== null && pair !== null) {
    s.bindings.delete(pairKey(pair.address, pair.proxyAddress));
    s.bindings.set(pairKey(pair.address, moved), { conversationSid: room.c.sid, participantSid: before.sid });
  }
  putParticipant(s, room, next);
  const out = outcome();
  emit(s, out, room, 'onParticipantUpdated', participantParams(next), w);
  return done(s, w, { participant: next, ...out });
}

export function removeParticipant(s: CenterState, ref: string, participantRef: string, ctx: WriteContext): ConversationOutcome {
  const w = writeOf(s, ctx);
  const room = writableRoom(s, ref);
  const p = participantOrThrow(room, participantRef);
  const pair = messagingPair(p);
  if (pair !== null) s.bindings.delete(pairKey(pair.address, pair.proxyAddress));
  room.participants.delete(p.sid);
  s.log.participants.remove(p.sid);
  const out = outcome();
  emit(s, out, room, 'onParticipantRemoved', participantParams(p), w);
  return done(s, w, out);
}
