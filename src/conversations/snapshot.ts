/**
 * The center as plain data and back, and the change feed (`takeChanges`). Only records are kept:
 * the unique-name and address-pair indexes and the deadline queue are rebuilt from them, so a
 * restored center answers exactly as the original did (the deadline queue's order depends on the
 * deadlines alone).
 */
import type { CenterChanges, CenterOptions, CenterSnapshot } from './center.ts';
import { deadlineOf, deepFreeze, pairKey } from './records.ts';
import { addressKey, createState, isOpen, messagingPair, type CenterState, type Room } from './state.ts';

/** Records in creation order; participants, messages and webhooks grouped by conversation. Records are shared (frozen). */
export function snapshotOf(s: CenterState): CenterSnapshot {
  const rooms = [...s.rooms.values()];
  return {
    version: 1,
    now: s.now,
    configuration: s.config,
    conversations: rooms.map((r) => r.c),
    participants: rooms.flatMap((r) => [...r.participants.values()]),
    messages: rooms.flatMap((r) => [...r.messages.values()]),
    webhooks: rooms.flatMap((r) => [...r.webhooks.values()]),
    addresses: [...s.addressBySid.values()],
  };
}

/** A state from a snapshot (copied: the caller's objects are left alone). Throws on another version or a record of a missing conversation. */
export function restoreState(snapshot: CenterSnapshot, options: Omit<CenterOptions, 'now'>): CenterState {
  if (snapshot.version !== 1) throw new Error(`conversations snapshot version ${String(snapshot.version)} is not supported (expected 1)`);
  const copy = structuredClone(snapshot);
  const s = createState({ ...options, now: copy.now });
  s.config = deepFreeze(copy.configuration);
  for (const c of copy.conversations) {
    s.rooms.set(c.sid, { c: deepFreeze(c), participants: new Map(), messages: new Map(), webhooks: new Map() });
    if (c.uniqueName !== null) s.uniqueNames.set(c.uniqueName, c.sid);
    s.deadlines.set(c.sid, deadlineOf(c));
  }
  const roomFor = (sid: string, what: string): Room => {
    const room = s.rooms.get(sid);
    if (room === undefined) throw new Error(`conversations snapshot: ${what} of unknown conversation ${sid}`);
    return room;
  };
  for (const p of copy.participants) {
    const room = roomFor(p.conversationSid, `participant ${p.sid}`);
    room.participants.set(p.sid, deepFreeze(p));
    const pair = messagingPair(p);
    if (pair !== null && isOpen(room.c)) s.bindings.set(pairKey(pair.address, pair.proxyAddress), { conversationSid: room.c.sid, participantSid: p.sid });
  }
  for (const m of copy.messages) roomFor(m.conversationSid, `message ${m.sid}`).messages.set(m.sid, deepFreeze(m));
  for (const h of copy.webhooks) roomFor(h.conversationSid, `webhook ${h.sid}`).webhooks.set(h.sid, deepFreeze(h));
  for (const a of copy.addresses) {
    s.addressBySid.set(a.sid, deepFreeze(a));
    s.addressKeys.set(addressKey(a.type, a.address), a.sid);
  }
  return s;
}

/** The records changed (current versions, in order of first change) and removed since the last call; clears the log. */
export function takeChanges(s: CenterState): CenterChanges {
  const configuration = s.configChanged;
  s.configChanged = false;
  return {
    configuration,
    conversations: s.log.conversations.take(),
    participants: s.log.participants.take(),
    messages: s.log.messages.take(),
    webhooks: s.log.webhooks.take(),
    addresses: s.log.addresses.take(),
  };
}
