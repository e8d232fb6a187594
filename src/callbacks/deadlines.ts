/**
 * The timers of the callbacks (spec callbacks-and-ewt §1.3, §2.2, §2.3, §1.4 hours of operation):
 * which callback has work next, and when. A callback's deadline is the earliest of its expiry
 * (until bridged), its slot join (scheduled), its reminder, its launch time and the end of its
 * quote (registered or waiting to retry, while still ahead), its AF acknowledgement and dial
 * timeouts — and, on a target with hours of operation, the next opening (a waiting callback
 * held over a closing) or closing (`onClose: expire`).
 *
 * Kept in a min-heap by (instant, callback SID) (src/engine/heap.ts), lazily: a callback that
 * changed is re-keyed before the next query ({@link CenterState.dirty}); between changes its
 * deadline can only move later as the center's time passes (a launch time or quote end that is
 * no longer ahead drops out), so every entry is a lower bound and the top is checked against a
 * fresh computation before it is believed. The hours-of-operation terms depend on the target's
 * calendar and can move earlier without any callback changing (an opening after a closing), so
 * they are computed at each query from the targets that have hours: O(their waiting callbacks).
 */
import { openingAt } from './call-target.ts';
import { activeOf, isTerminalStatus, type CallbackRequest, type CenterState } from './center-model.ts';
import { promiseDue } from './launch.ts';

/** The deadline of `c` without the hours-of-operation terms (epoch ms), or null. */
function ownDeadline(s: CenterState, c: CallbackRequest): number | null {
  if (isTerminalStatus(c.status)) return null;
  let d = Infinity;
  if (c.connectedAt === null) d = c.expiresAt;
  if (c.status === 'scheduled') d = Math.min(d, c.scheduledFor);
  if (c.reminderAt !== null) d = Math.min(d, c.reminderAt);
  if (c.status === 'registered' || c.status === 'retry_wait') {
    if (c.scheduledFor > s.now) d = Math.min(d, c.scheduledFor);
    // Wake up when a paced CF callback's quote is about to run out (see launch()).
    const due = promiseDue(s, c);
    if (due !== null && due > s.now) d = Math.min(d, due);
  }
  if (c.ackDeadline !== null) d = Math.min(d, c.ackDeadline);
  if (c.dialDeadline !== null) d = Math.min(d, c.dialDeadline);
  return d === Infinity ? null : d;
}

/** Re-keys the callbacks changed since the last query; drops stale entries when they outnumber the live ones. */
function flush(s: CenterState): void {
  for (const c of s.dirty) {
    const d = ownDeadline(s, c);
    if (d === null) s.deadlineOf.delete(c);
    else if (s.deadlineOf.get(c) !== d) {
      s.deadlineOf.set(c, d);
      s.deadlines.push({ at: d, c });
    }
  }
  s.dirty.clear();
  if (s.deadlines.size > 2 * s.deadlineOf.size + 1024) s.deadlines.filter((e) => s.deadlineOf.get(e.c) === e.at);
}

/** The callback whose own deadline comes first, by (instant, SID), checked against a fresh computation. */
function ownFirst(s: CenterState): { at: number; c: CallbackRequest } | null {
  flush(s);
  for (;;) {
    const e = s.deadlines.peek();
    if (e === undefined) return null;
    if (s.deadlineOf.get(e.c) !== e.at) {
      s.deadlines.pop();
      continue;
    }
    const d = ownDeadline(s, e.c);
    if (d === e.at) return e;
    // Time passed a launch time or a quote end of a callback that did not change: later now.
    s.deadlines.pop();
    if (d === null) s.deadlineOf.delete(e.c);
    else {
      s.deadlineOf.set(e.c, d);
      s.deadlines.push({ at: d, c: e.c });
    }
  }
}

/**
 * The callback with the earliest deadline now, ties broken by the smaller SID, and that instant
 * (epoch ms; it may be past); null when no callback has one. Re-keys what changed; changes no
 * callback.
 */
export function nextDue(s: CenterState): { at: number; c: CallbackRequest } | null {
  let best = ownFirst(s);
  for (const t of s.targets.values()) {
    if (t.hoursOfOperation === null) continue;
    const h = openingAt(t, s.now);
    for (const c of activeOf(s, t.sid)) {
      if (c.status !== 'registered' && c.status !== 'retry_wait') continue;
      let d: number | null = null;
      if (!h.open && h.opensAt !== null && c.scheduledFor <= s.now) d = h.opensAt;
      if (h.open && t.onClose === 'expire' && c.type === 'asap' && h.closesAt !== null) d = h.closesAt;
      if (d !== null && (best === null || d < best.at || (d === best.at && c.sid < best.c.sid))) best = { at: d, c };
    }
  }
  return best;
}
