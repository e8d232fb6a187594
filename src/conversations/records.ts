/**
 * Small pure helpers of the center over its records: the state timers' arithmetic (spec
 * conversations-events-analytics.md A2), channel types of addresses, freezing (records are
 * replaced, never mutated: a record handed out stays as it was), and the change log behind
 * `takeChanges`.
 */
import type { Conversation } from './model.ts';

/**
 * The timer deadlines of `c` counted from `base` (epoch ms) in its current state: `date_inactive`
 * while active with an inactive timer, `date_closed` while active or inactive with a closed timer;
 * null otherwise (a timer of 0 seconds is off).
 */
export function timersFrom(c: Conversation, base: number): { dateInactive: number | null; dateClosed: number | null } {
  const open = c.state === 'active' || c.state === 'inactive';
  return {
    dateInactive: c.state === 'active' && c.inactiveSeconds > 0 ? base + Math.round(c.inactiveSeconds * 1000) : null,
    dateClosed: open && c.closedSeconds > 0 ? base + Math.round(c.closedSeconds * 1000) : null,
  };
}

/** The instant of the next state change of `c` (epoch ms), or null: what the deadline queue holds. */
export function deadlineOf(c: Conversation): number | null {
  if (c.state === 'active') {
    const d = Math.min(c.dateInactive ?? Infinity, c.dateClosed ?? Infinity);
    return d === Infinity ? null : d;
  }
  if (c.state === 'inactive') return c.dateClosed;
  return null;
}

/**
 * What the due timer of an active or inactive conversation does: an active conversation closes
 * when its closed deadline comes no later than its inactive one (A2: "closed ≤ inactive → straight
 * to closed"; also "closed timer when inactive timer off"), else goes inactive; an inactive one closes.
 */
export function timerTarget(c: Conversation): 'inactive' | 'closed' {
  if (c.state === 'active' && (c.dateClosed === null || (c.dateInactive !== null && c.dateInactive < c.dateClosed))) return 'inactive';
  return 'closed';
}

const CHANNELS = ['whatsapp', 'messenger', 'gbm', 'rcs', 'apple', 'email'];

/** The binding type of a messaging address: its channel prefix (`whatsapp:+1…` → `whatsapp`), `sms` otherwise. */
export function channelOf(address: string): string {
  const i = address.indexOf(':');
  const prefix = i > 0 ? address.slice(0, i).toLowerCase() : '';
  return CHANNELS.includes(prefix) ? prefix : 'sms';
}

/** The key of a (participant address, proxy address) pair. */
export function pairKey(address: string, proxyAddress: string): string {
  return `${address}\u0000${proxyAddress}`;
}

/** Freezes `value` and every object and array inside it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Records of one kind changed or removed since the last take, in order of first change. */
export class ChangeLog<T extends { sid: string }> {
  private changed = new Map<string, T>();
  private removed = new Set<string>();

  upsert(record: T): void {
    this.changed.set(record.sid, record);
  }

  remove(sid: string): void {
    this.changed.delete(sid);
    this.removed.add(sid);
  }

  take(): { changed: T[]; removed: string[] } {
    const out = { changed: [...this.changed.values()], removed: [...this.removed] };
    this.changed = new Map();
    this.removed = new Set();
    return out;
  }
}
