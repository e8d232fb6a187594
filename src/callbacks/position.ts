/**
 * The virtual queue of a call target, and what the center tells customers from it (spec
 * callbacks-and-ewt §3.3): a callback's position among the queue's waiting tasks and the pending
 * ASAP callbacks, its ECBT (estimated callback time, seconds), the recomputation of every pending
 * ECBT when the queue view changes, and punctuality against the quote (§1.6).
 *
 * Functions of the center state ({@link CenterState}); they change nothing but the ECBTs and
 * events of {@link recomputeEcbts}.
 */
import type { CallTarget } from './call-target.ts';
import {
  activeOf,
  ANSWER_WINDOW_MS,
  before,
  DEFAULT_LEAD_SECONDS,
  ECBT_CHANGE_SECONDS,
  emitEvent,
  emptyStats,
  isTerminalStatus,
  median,
  touch,
  type CallbackRequest,
  type CenterState,
  type LineKey,
  type QueueView,
} from './center-model.ts';
import { computeEcbt, ecbtRange, rangePhrase } from './offer.ts';

/** CF lead time of a target: median dial → ready over the last 21 samples, 35 s before any (§2.2). Seconds. */
export function leadSeconds(s: CenterState, targetSid: string): number {
  const st = s.stats.get(targetSid);
  return st === undefined || st.leadSamples.length === 0 ? DEFAULT_LEAD_SECONDS : median(st.leadSamples);
}

/** Usual launch → customer ring of a target, s: median of recent first attempts; before any, 0 (CF dials at launch) or 30 s (AF). */
export function ringSeconds(s: CenterState, t: CallTarget): number {
  const st = s.stats.get(t.sid);
  if (st !== undefined && st.ringSamples.length > 0) return median(st.ringSamples);
  return t.strategy === 'customer_first' ? 0 : 30;
}

/** Mean of the last service times of a target (§3.3 μ̂ = 1 / it), s; 0 before any. */
export function meanServiceSeconds(s: CenterState, targetSid: string): number {
  const st = s.stats.get(targetSid) ?? emptyStats();
  return st.services.length === 0 ? 0 : st.services.reduce((a, b) => a + b, 0) / st.services.length;
}

/**
 * Does callback `c` stand in the virtual queue as an entry of its own (§3.3)? A pending ASAP
 * callback without a task yet: registered, waiting to retry, or being dialed (CF, or AF before its
 * task exists). Once it has a task, the task stands for it among the waiting tasks.
 */
function inLine(c: CallbackRequest): boolean {
  if (c.type !== 'asap' || c.taskSid !== null || isTerminalStatus(c.status)) return false;
  return c.status === 'registered' || c.status === 'retry_wait' || c.status === 'dialing' || c.status === 'customer_answered';
}

/**
 * Virtual queue position of `me` on target `t` (§3.3): the entries ordered before it by
 * (priority desc, virtual start asc, SID) among the waiting tasks of the target's queue view
 * (not counting `me`'s own tasks) and the callbacks in line; `liveAhead` counts the live callers
 * among them (tasks that are not a callback's). O(waiting + the target's callbacks).
 */
export function ahead(s: CenterState, t: CallTarget, me: LineKey): { position: number; liveAhead: number } {
  let position = 0;
  let liveAhead = 0;
  const view = s.views.get(t.sid);
  if (view !== undefined) {
    for (const w of view.waiting) {
      const cbSid = s.byTask.get(w.taskSid);
      if (cbSid === me.sid) continue;
      if (before({ priority: w.priority, virtualStartTime: w.virtualStartTime, sid: w.taskSid }, me)) {
        position += 1;
        if (cbSid === undefined) liveAhead += 1;
      }
    }
  }
  for (const c of activeOf(s, t.sid)) {
    if (c === me || !inLine(c)) continue;
    if (before(c, me)) position += 1;
  }
  return { position, liveAhead };
}

/** What the ECBT of every entry of one target's line shares: the queue view and the statistics, read once. */
interface LineInputs {
  view: QueueView | undefined;
  muPerSecond: number;
  thetaPerSecond: number;
  answerRatePerSecond: number;
  leadTimeSeconds: number;
  factor: number;
}

function lineInputs(s: CenterState, t: CallTarget): LineInputs {
  const st = s.stats.get(t.sid) ?? emptyStats();
  const ahtMean = meanServiceSeconds(s, t.sid);
  const recent = st.answers.filter((a) => a > s.now - ANSWER_WINDOW_MS).length;
  return {
    view: s.views.get(t.sid),
    muPerSecond: ahtMean > 0 ? 1 / ahtMean : 0,
    thetaPerSecond: st.waitedSeconds > 0 ? st.abandonments / st.waitedSeconds : 0,
    answerRatePerSecond: recent >= 5 ? recent / (ANSWER_WINDOW_MS / 1000) : 0,
    leadTimeSeconds: t.strategy === 'customer_first' ? leadSeconds(s, t.sid) : 0,
    factor: st.factor,
  };
}

function ecbtOf(s: CenterState, i: LineInputs, at: { position: number; liveAhead: number }, delayUntil: number): number {
  return computeEcbt({
    position: at.position,
    liveAhead: at.liveAhead,
    busyServers: i.view?.busyServers ?? 0,
    idleServers: i.view?.idleServers ?? 0,
    staffed: i.view?.staffed ?? 1,
    muPerSecond: i.muPerSecond,
    thetaPerSecond: i.thetaPerSecond,
    answerRatePerSecond: i.answerRatePerSecond,
    minimumDelaySeconds: Math.max(0, (delayUntil - s.now) / 1000),
    leadTimeSeconds: i.leadTimeSeconds,
    factor: i.factor,
  }).seconds;
}

/**
 * ECBT of `me` on target `t` now, seconds, not rounded or clamped (§3.3 `computeEcbt`): its
 * position, the queue view, μ̂, θ̂, the answer rate, the CF lead time, the learned factor, and the
 * minimum callback delay still to run until `delayUntil` (epoch ms).
 */
export function estimate(s: CenterState, t: CallTarget, me: LineKey, delayUntil: number): number {
  return ecbtOf(s, lineInputs(s, t), ahead(s, t, me), delayUntil);
}

/**
 * The virtual queue of one target sorted once, for the positions of many of its entries
 * ({@link recomputeEcbts}): the same counts as {@link ahead}, O(log n) each.
 */
class SortedLine {
  private readonly keys: LineKey[] = [];
  /** liveBefore[i] = live callers among keys[0..i). */
  private readonly liveBefore: number[] = [0];
  /** Callback SID → its own waiting tasks (not counted in its own position). */
  private readonly ownTasks = new Map<string, LineKey[]>();

  constructor(s: CenterState, t: CallTarget) {
    const live = new Set<LineKey>();
    const view = s.views.get(t.sid);
    for (const w of view?.waiting ?? []) {
      const key: LineKey = { priority: w.priority, virtualStartTime: w.virtualStartTime, sid: w.taskSid };
      const cbSid = s.byTask.get(w.taskSid);
      if (cbSid === undefined) live.add(key);
      else {
        const own = this.ownTasks.get(cbSid);
        if (own === undefined) this.ownTasks.set(cbSid, [key]);
        else own.push(key);
      }
      this.keys.push(key);
    }
    for (const c of activeOf(s, t.sid)) if (inLine(c)) this.keys.push(c);
    this.keys.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    for (const k of this.keys) this.liveBefore.push((this.liveBefore[this.liveBefore.length - 1] as number) + (live.has(k) ? 1 : 0));
  }

  /** Position and live callers ahead of `me` (see {@link ahead}). */
  ahead(me: LineKey): { position: number; liveAhead: number } {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(this.keys[mid] as LineKey, me)) lo = mid + 1;
      else hi = mid;
    }
    let position = lo;
    for (const own of this.ownTasks.get(me.sid) ?? []) if (before(own, me)) position -= 1;
    return { position, liveAhead: this.liveBefore[lo] as number };
  }
}

/**
 * After a queue view change (§3.3 "recompute"): the current ECBT of every pending ASAP callback
 * of `t` (registered or waiting to retry), in registration order; `callback.ecbt.changed` for
 * each that moved by more than 60 s (or had none). The line is sorted once for all of them.
 */
export function recomputeEcbts(s: CenterState, t: CallTarget): void {
  let line: SortedLine | null = null;
  let inputs: LineInputs | null = null;
  for (const c of activeOf(s, t.sid)) {
    if (c.type !== 'asap' || (c.status !== 'registered' && c.status !== 'retry_wait')) continue;
    line ??= new SortedLine(s, t);
    inputs ??= lineInputs(s, t);
    const e = Math.ceil(ecbtOf(s, inputs, line.ahead(c), c.createdAt + t.minimumCallbackDelaySeconds * 1000));
    if (c.currentEcbtSeconds === null || Math.abs(e - c.currentEcbtSeconds) > ECBT_CHANGE_SECONDS) {
      emitEvent(s, c, 'callback.ecbt.changed', { previous_ecbt: c.currentEcbtSeconds, ecbt: e });
      c.currentEcbtSeconds = e;
      touch(s, c);
    }
  }
}

/**
 * Callback punctuality (§1.6, first attempt): when the customer's phone first rang against the
 * quote. `lateSeconds` = first ring − quoted instant (negative = early); `withinRange` = the
 * first ring fell inside [createdAt + low min, createdAt + high min] (scheduled: inside the
 * slot). `bridgeWithinRange` applies the same test to the bridge to an agent (false when never
 * bridged). Null until the customer was dialed.
 */
export function punctuality(c: CallbackRequest): { lateSeconds: number; withinRange: boolean; quoted: string | null; bridgeWithinRange: boolean } | null {
  const ring = c.attempts.find((a) => a.dialedAt !== null)?.dialedAt ?? null;
  if (ring === null) return null;
  let lo: number;
  let hi: number;
  let quoted: string | null = null;
  if (c.type === 'scheduled' || c.ecbtSeconds === null) {
    lo = c.window.start;
    hi = c.window.end;
  } else {
    const r = ecbtRange(c.ecbtSeconds);
    lo = c.createdAt + r.lowMinutes * 60_000;
    hi = c.createdAt + r.highMinutes * 60_000;
    quoted = rangePhrase(c.ecbtSeconds);
  }
  const bridge = c.connectedAt;
  return { lateSeconds: (ring - c.estimatedFor) / 1000, withinRange: ring >= lo && ring <= hi, quoted, bridgeWithinRange: bridge !== null && bridge >= lo && bridge <= hi };
}
