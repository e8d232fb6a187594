/**
 * The caller model of `switchboard simulate` (docs/simulation.md, "Callers"): how long each
 * caller is willing to wait, and how long their call keeps an agent busy. Pure: the seeded
 * generator is passed in. Durations in SECONDS.
 *
 * Patience. A caller who hung up in reality (HANG) waited exactly their patience, so it is
 * their recorded wait. A served caller's patience is censored: all we know is that it exceeded
 * the wait they had. We model patience as exponential with rate θ̂ per call type, the
 * maximum-likelihood estimate under censoring — abandons ÷ total seconds waited by every queued
 * caller of the type (spec callbacks-and-ewt.md §7.3, "θ̂"); by memorylessness, conditioned on
 * exceeding the recorded wait w it is w + Exp(θ̂).
 *
 * Handle time. A served call keeps its recorded service time. A caller who never reached an
 * agent in reality gets one drawn uniformly from the recorded service times of served calls of
 * the same type (the empirical distribution), or of all types when the type has none.
 */
import type { Random } from '../util/random.ts';
import type { CallRecord } from './anonymous-bank.ts';

/** Abandonment rate per call type, per second (θ̂), with the pooled rate as fallback. */
export interface AbandonmentRates {
  byType: Record<string, number>;
  /** All types together. */
  pooled: number;
}

/**
 * θ̂ per call type = abandons ÷ seconds waited by all queued callers of the type (answered and
 * abandoned; spec §7.3). Callers who never queued (served at once, or hung up as they asked for
 * an agent) are left out. A type with no abandons or no waiting gets the pooled rate; the pooled
 * rate is 0 when nobody waited or abandoned (then served callers never abandon).
 */
export function estimateAbandonmentRates(calls: readonly CallRecord[]): AbandonmentRates {
  const per = new Map<string, { abandons: number; waited: number }>();
  let abandons = 0;
  let waited = 0;
  for (const c of calls) {
    // Only callers who queued: a hang-up as the call asked for an agent never waited.
    if (c.outcome === 'PHANTOM' || !c.queued) continue;
    let t = per.get(c.type);
    if (t === undefined) per.set(c.type, (t = { abandons: 0, waited: 0 }));
    t.waited += c.waitS;
    waited += c.waitS;
    if (c.outcome === 'HANG') {
      t.abandons += 1;
      abandons += 1;
    }
  }
  const pooled = waited > 0 ? abandons / waited : 0;
  const byType: Record<string, number> = {};
  for (const [type, t] of [...per.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    byType[type] = t.abandons > 0 && t.waited > 0 ? t.abandons / t.waited : pooled;
  }
  return { byType, pooled };
}

/**
 * Patience of one caller, seconds: the recorded wait for a hang-up; for a served caller the
 * recorded wait plus an exponential draw with rate θ̂ of the call's type (Infinity when θ̂ = 0).
 */
export function drawPatience(call: CallRecord, rates: AbandonmentRates, random: Random): number {
  if (call.outcome === 'HANG') return call.waitS;
  const theta = rates.byType[call.type] ?? rates.pooled;
  if (theta <= 0) return Number.POSITIVE_INFINITY;
  return call.waitS + random.exponential(1 / theta);
}

/** Recorded service times (seconds) of served calls, per type and pooled. */
export interface HandleTimeSamples {
  byType: Map<string, number[]>;
  pooled: number[];
}

/** Collects the empirical handle-time distributions from served calls. */
export function handleTimeSamples(calls: readonly CallRecord[]): HandleTimeSamples {
  const byType = new Map<string, number[]>();
  const pooled: number[] = [];
  for (const c of calls) {
    if (c.outcome !== 'AGENT') continue;
    let list = byType.get(c.type);
    if (list === undefined) byType.set(c.type, (list = []));
    list.push(c.serviceS);
    pooled.push(c.serviceS);
  }
  return { byType, pooled };
}

/**
 * Handle time of one call, seconds: the recorded service time when it was served; otherwise a
 * draw from the same type's served calls (pooled when the type has none; 0 when nobody was
 * served at all).
 */
export function drawHandleTime(call: CallRecord, samples: HandleTimeSamples, random: Random): number {
  if (call.outcome === 'AGENT') return call.serviceS;
  const list = samples.byType.get(call.type) ?? samples.pooled;
  return list.length === 0 ? 0 : random.pick(list);
}
