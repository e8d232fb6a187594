/**
 * Per-day contact-center KPIs and engagements of a replay, computed from the analytics
 * projector's model (projector.ts; shared/specs/conversations-events-analytics.md §B7–§B8): the
 * replay feeds the engine's events to an {@link AnalyticsProjector} — the same core the live
 * runtime feeds — and reads the day figures off its engagements: one code path. (The simulations'
 * own per-task fold, {@link DailyKpiAccumulator}, is kept at the end of this file; see there.)
 *
 * Per day (field names as report.json has them):
 * - `offered`: queue engagements (QE) that ended other than `Moved` (§B8's `O`);
 * - `answered`: QEs `Accepted` (`A`); `abandoned`: QEs `CustomerLeft` (`B`, the caller hung up);
 * - `asa_s`: mean wait of the accepted QEs, seconds (§B8 ASA);
 * - `service_level_20s`: QEs accepted within 20 s ÷ offered — §B8's variant 2, "abandons count
 *   against" (`A_T ÷ (A + B)`), {@link REPLAY_SERVICE_LEVEL_VARIANT}; other failures (`X`:
 *   Timeout, Canceled, Expired, Deleted), which a replay never has, would count against it too;
 * - `aht_s`: mean handling time (engagement + wrap-up, §B7) of the day's calls' agent engagements,
 *   seconds — also when the call ended after midnight (unlike §B8's attribution to the close bucket);
 * - `max_wait_s`: the longest wait of any offered QE, seconds.
 *
 * A call belongs to the UTC day it started. The start is the task's virtual start time
 * (`task_virtual_start_time`, what the engine knows of when the caller entered the center — the
 * log's VRU entry in a replay) when the task carried one, else its conversation's start
 * (`task.created`, §B7), else the QE's open. The two differ for calls that entered before
 * midnight and queued after it (13 in the two-week sample): the log counts them on the day they
 * began, and so do we. The projector's conversation keeps it (`Conversation.virtualStart`).
 *
 * Pure: no clock, no I/O.
 */
import type { EngineEvent } from '../engine/events.ts';
import { DAY_MS, isoInstant } from '../util/time.ts';
import {
  AnalyticsProjector, type AgentEngagement, type InvitationEngagement, type InvitationOutcome, type QueueEngagement, type QueueOutcome, type ServiceLevelVariant,
} from './projector.ts';

/** KPIs of one day, with the field names report.json uses (see the module comment for each). */
export interface DailyKpis {
  /** YYYY-MM-DD (UTC), or "total". */
  date: string;
  offered: number;
  answered: number;
  abandoned: number;
  /** Seconds. */
  asa_s: number;
  /** Share 0–1. */
  service_level_20s: number;
  /** Seconds. */
  aht_s: number;
  /** Seconds. */
  max_wait_s: number;
}

/** Engagements of one day's calls (report.json `engagements`); durations in seconds, shares 0–1. */
export interface DailyEngagements {
  /** YYYY-MM-DD (UTC), or "total". */
  date: string;
  /** Queue engagements by outcome (§B7 table); every outcome present, 0 when none. */
  queue_engagements: Record<QueueOutcome, number>;
  /** Invitation engagements (reservations) by outcome (§B7). */
  invitations: Record<InvitationOutcome, number>;
  /** Agent engagements (accepted reservations) and their mean times over the closed ones (null when none). */
  agent_engagements: { count: number; mean_engagement_s: number | null; mean_wrapup_s: number | null; mean_handling_s: number | null };
  /**
   * Agent occupancy over the UTC day (§B8: busy ÷ (busy + available idle), ringing counted as
   * busy), null when no agent was available or when not asked for (`dailyEngagements` without
   * `occupancyOf`; the replay asks: {@link ReplayAnalytics.engagements}). A time figure: it covers
   * the day's clock hours, not the day's calls.
   */
  occupancy: number | null;
}

/** The service-level threshold, seconds. */
export const SERVICE_LEVEL_THRESHOLD_S = 20;
/** Which §B8 service-level variant `service_level_20s` is: `A_T ÷ (A + B)` (see the module comment). */
export const REPLAY_SERVICE_LEVEL_VARIANT: ServiceLevelVariant = 'abandons-count-against';

export const QUEUE_OUTCOMES: readonly QueueOutcome[] = ['Accepted', 'Moved', 'Deleted', 'CustomerLeft', 'Timeout', 'Canceled', 'Expired'];
export const INVITATION_OUTCOMES: readonly InvitationOutcome[] = ['Accepted', 'Rejected', 'Missed', 'Revoked', 'Failed'];


/** The projector's engagements, as {@link AnalyticsProjector.engagements} returns them. */
export interface EngagementModel {
  queue: readonly QueueEngagement[];
  invitation: readonly InvitationEngagement[];
  agent: readonly AgentEngagement[];
}

/**
 * The day (YYYY-MM-DD) each task's call counts on: `callStartMs(taskSid)` (epoch ms) when known,
 * else the day of the task's first QE open. Used by {@link dailyKpis} and {@link dailyEngagements}.
 */
function dayOfTasks(
  model: EngagementModel, callStartMs: (taskSid: string) => number | undefined, dayStarts?: Map<string, number>,
): (taskSid: string, fallbackMs: number) => string {
  const firstOpen = new Map<string, number>();
  for (const qe of model.queue) {
    const seen = firstOpen.get(qe.taskSid);
    if (seen === undefined || qe.open < seen) firstOpen.set(qe.taskSid, qe.open);
  }
  const cache = new Map<string, string>();
  /** Day number (epoch ms ÷ DAY_MS, floored) → YYYY-MM-DD: the date is formatted once per day, not per task. */
  const names = new Map<number, string>();
  return (taskSid, fallbackMs) => {
    let day = cache.get(taskSid);
    if (day === undefined) {
      const at = callStartMs(taskSid) ?? firstOpen.get(taskSid) ?? fallbackMs;
      const n = Math.floor(at / DAY_MS);
      day = names.get(n);
      if (day === undefined) {
        day = dayOfMs(n * DAY_MS);
        names.set(n, day);
        dayStarts?.set(day, n * DAY_MS);
      }
      cache.set(taskSid, day);
    }
    return day;
  };
}

interface DayTotals {
  offered: number;
  answered: number;
  abandoned: number;
  waitAnsweredS: number;
  answeredWithinT: number;
  handlingS: number;
  handled: number;
  maxWaitS: number;
}

/** A day's totals, all zero. */
function emptyDay(): DayTotals {
  return { offered: 0, answered: 0, abandoned: 0, waitAnsweredS: 0, answeredWithinT: 0, handlingS: 0, handled: 0, maxWaitS: 0 };
}

/** The days' totals as {@link DailyKpis}, in date order (answered within T ÷ offered: §B8 "abandons count against"). */
function dailyKpisOf(days: ReadonlyMap<string, DayTotals>): DailyKpis[] {
  return [...days.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([date, t]) => ({
      date,
      offered: t.offered,
      answered: t.answered,
      abandoned: t.abandoned,
      asa_s: t.answered === 0 ? 0 : t.waitAnsweredS / t.answered,
      service_level_20s: t.offered === 0 ? 0 : t.answeredWithinT / t.offered,
      aht_s: t.handled === 0 ? 0 : t.handlingS / t.handled,
      max_wait_s: t.maxWaitS,
    }));
}

/**
 * The KPIs per day (see the module comment), in date order, from the projector's engagements.
 * `callStartMs` gives a task's call start (epoch ms) when known (the task's virtual start time);
 * else the conversation's first QE open decides the day. Open QEs (no outcome yet) are not offered.
 */
export function dailyKpis(model: EngagementModel, callStartMs: (taskSid: string) => number | undefined = () => undefined): DailyKpis[] {
  const dayOf = dayOfTasks(model, callStartMs);
  const days = new Map<string, DayTotals>();
  const totals = (day: string): DayTotals => {
    let t = days.get(day);
    if (t === undefined) {
      t = emptyDay();
      days.set(day, t);
    }
    return t;
  };
  for (const qe of model.queue) {
    if (qe.outcome === null || qe.outcome === 'Moved') continue;
    const t = totals(dayOf(qe.taskSid, qe.open));
    const wait = qe.waitS ?? 0;
    t.offered += 1;
    if (wait > t.maxWaitS) t.maxWaitS = wait;
    if (qe.outcome === 'Accepted') {
      t.answered += 1;
      t.waitAnsweredS += wait;
      if (wait <= SERVICE_LEVEL_THRESHOLD_S) t.answeredWithinT += 1;
    } else if (qe.outcome === 'CustomerLeft') {
      t.abandoned += 1;
    }
  }
  for (const ae of model.agent) {
    if (ae.handlingS === null) continue;
    const t = totals(dayOf(ae.taskSid, ae.accept));
    t.handlingS += ae.handlingS;
    t.handled += 1;
  }
  return dailyKpisOf(days);
}

/** Queue, invitation and agent engagements counted per day of an empty day. */
function emptyEngagements(date: string): DailyEngagements & { sums: [number, number, number, number] } {
  return {
    date,
    queue_engagements: Object.fromEntries(QUEUE_OUTCOMES.map((o) => [o, 0])) as Record<QueueOutcome, number>,
    invitations: Object.fromEntries(INVITATION_OUTCOMES.map((o) => [o, 0])) as Record<InvitationOutcome, number>,
    agent_engagements: { count: 0, mean_engagement_s: null, mean_wrapup_s: null, mean_handling_s: null },
    occupancy: null,
    // [closed, Σ engagement, Σ wrap-up, Σ handling]
    sums: [0, 0, 0, 0],
  };
}

/**
 * Engagements per day of the calls (see {@link DailyEngagements}), in date order, with the same
 * day rule as {@link dailyKpis}. `occupancyOf(dayStartMs, dayEndMs)` gives the occupancy of a UTC
 * day (the projector's `kpis(...).occupancy`); omitted, occupancy stays null. Engagements still
 * open count, with no outcome, in no outcome column.
 */
export function dailyEngagements(
  model: EngagementModel,
  callStartMs: (taskSid: string) => number | undefined = () => undefined,
  occupancyOf?: (fromMs: number, toMs: number) => number | null,
): DailyEngagements[] {
  const dayStarts = new Map<string, number>();
  const dayOf = dayOfTasks(model, callStartMs, dayStarts);
  const days = new Map<string, ReturnType<typeof emptyEngagements>>();
  const day = (date: string): ReturnType<typeof emptyEngagements> => {
    let d = days.get(date);
    if (d === undefined) days.set(date, (d = emptyEngagements(date)));
    return d;
  };
  for (const qe of model.queue) {
    const d = day(dayOf(qe.taskSid, qe.open));
    if (qe.outcome !== null) d.queue_engagements[qe.outcome] += 1;
  }
  for (const ie of model.invitation) {
    const d = day(dayOf(ie.taskSid, ie.open ?? ie.close ?? 0));
    if (ie.outcome !== null) d.invitations[ie.outcome] += 1;
  }
  for (const ae of model.agent) {
    const d = day(dayOf(ae.taskSid, ae.accept));
    d.agent_engagements.count += 1;
    if (ae.handlingS === null) continue;
    d.sums[0] += 1;
    d.sums[1] += ae.engagementS ?? 0;
    d.sums[2] += ae.wrapupS ?? 0;
    d.sums[3] += ae.handlingS;
  }
  return [...days.values()]
    .sort((a, b) => (a.date < b.date ? -1 : 1))
    .map(({ sums: [n, engagement, wrapup, handling], ...d }) => {
      const start = dayStarts.get(d.date) as number;
      return {
        ...d,
        agent_engagements: {
          count: d.agent_engagements.count,
          mean_engagement_s: n === 0 ? null : engagement / n,
          mean_wrapup_s: n === 0 ? null : wrapup / n,
          mean_handling_s: n === 0 ? null : handling / n,
        },
        occupancy: occupancyOf === undefined ? null : occupancyOf(start, start + DAY_MS),
      };
    });
}

/**
 * Several days' engagements combined (sums; means weighted by the closed agent engagements — the
 * per-day means do not carry their count, so they are weighted by `count`, equal in a replay where
 * every call ends). `occupancy` is the total's own figure, given by the caller (null if unknown).
 */
export function combineEngagements(days: readonly DailyEngagements[], occupancy: number | null = null): DailyEngagements {
  const total = emptyEngagements('total');
  let n = 0;
  const mean = (f: (d: DailyEngagements) => number | null): number | null => {
    let s = 0;
    let w = 0;
    for (const d of days) {
      const v = f(d);
      if (v === null) continue;
      s += v * d.agent_engagements.count;
      w += d.agent_engagements.count;
    }
    return w === 0 ? null : s / w;
  };
  for (const d of days) {
    for (const o of QUEUE_OUTCOMES) total.queue_engagements[o] += d.queue_engagements[o];
    for (const o of INVITATION_OUTCOMES) total.invitations[o] += d.invitations[o];
    n += d.agent_engagements.count;
  }
  const { sums: _sums, ...rest } = total;
  return {
    ...rest,
    agent_engagements: {
      count: n,
      mean_engagement_s: mean((d) => d.agent_engagements.mean_engagement_s),
      mean_wrapup_s: mean((d) => d.agent_engagements.mean_wrapup_s),
      mean_handling_s: mean((d) => d.agent_engagements.mean_handling_s),
    },
    occupancy,
  };
}

/**
 * The replay's analytics: an {@link AnalyticsProjector} fed the engine's events in order; a call's
 * day comes from its conversation's virtual start (see the module comment). `observe` every
 * event, then read {@link days} and {@link engagements} (each flushes the projector first, so
 * every event is applied).
 */
export class ReplayAnalytics {
  readonly projector: AnalyticsProjector;
  private model: EngagementModel | null = null;
  /** The first event's instant, ms (the start of the per-day occupancy series). */
  private firstAt: number | null = null;

  /**
   * `projector` defaults to one with no lateness allowance: the engine hands its events over in
   * order, so each instant's events are applied as soon as a later instant is seen (same-instant
   * events still in the projector's canonical order), which keeps its buffer tiny.
   */
  constructor(projector: AnalyticsProjector = new AnalyticsProjector({ latenessMs: 0 })) {
    this.projector = projector;
  }

  /** Feeds one engine event to the projector (events arrive in order: the watermark follows them). */
  observe(e: EngineEvent): void {
    this.projector.observe(e);
    this.projector.advanceTo(e.at);
    this.firstAt ??= e.at;
    this.model = null;
  }

  /** The call start of a task (epoch ms): its conversation's virtual start, when its `task.created` was applied. */
  callStart = (taskSid: string): number | undefined => this.projector.virtualStartOf(taskSid);

  /** The KPIs per day, in date order ({@link dailyKpis}). */
  days(): DailyKpis[] {
    return dailyKpis(this.engagementModel(), this.callStart);
  }

  /**
   * The engagements per day, in date order ({@link dailyEngagements}); with `withOccupancy`, each
   * UTC day's occupancy too, from one pass over the model (the projector's `kpiSeries` by day over
   * the replay; a day outside it — a call that began before the first event — asks `kpis`).
   */
  engagements(withOccupancy = false): DailyEngagements[] {
    let byDay: Map<number, number | null> | null = null;
    const occupancy = (from: number, to: number): number | null => {
      if (byDay === null) {
        byDay = new Map();
        const end = this.projector.stats().watermark;
        if (this.firstAt !== null && end >= this.firstAt) {
          const start = Math.floor(this.firstAt / DAY_MS) * DAY_MS;
          for (const k of this.projector.kpiSeries({ from: start, to: (Math.floor(end / DAY_MS) + 1) * DAY_MS, intervalMs: DAY_MS })) byDay.set(k.from, k.occupancy);
        }
      }
      const known = byDay.get(from);
      return known !== undefined && to - from === DAY_MS ? known : this.projector.kpis({ from, to }).occupancy;
    };
    return dailyEngagements(this.engagementModel(), this.callStart, withOccupancy ? occupancy : undefined);
  }

  /** Occupancy over [fromMs, toMs) (§B8), from the projector. */
  occupancy(fromMs: number, toMs: number): number | null {
    this.engagementModel();
    return this.projector.kpis({ from: fromMs, to: toMs }).occupancy;
  }

  private engagementModel(): EngagementModel {
    if (this.model === null) {
      this.projector.flush();
      this.model = this.projector.engagementsView();
    }
    return this.model;
  }
}

/**
 * The simulations' per-task fold (`switchboard simulate`, `simulate --voice`): {@link DailyKpis}
 * from a stream of task events and `reservation.accepted` only — the simulations pick the live
 * calls' events out of the engine's and drop the cancellations that are callbacks taken, so they
 * have no queue events for the projector. Offered = tasks created; answered = reservations
 * accepted, waited `task_age`; abandoned = tasks canceled; AHT from acceptance to completion; a
 * task counts on the day of its `task_virtual_start_time`. The replay does not use it: its
 * figures come from the projector ({@link ReplayAnalytics}).
 */
export class DailyKpiAccumulator {
  private readonly days = new Map<string, DayTotals>();
  /** Task SID → [day, accepted at (ms)] for tasks answered and not yet completed. */
  private readonly inService = new Map<string, [string, number]>();
  /** Task SID → day, for tasks created and not yet ended. */
  private readonly dayOfTask = new Map<string, string>();

  observe(e: EngineEvent): void {
    switch (e.eventType) {
      case 'task.created': {
        const day = dayOf(e.data['task_virtual_start_time'] as number);
        this.dayOfTask.set(e.resourceSid, day);
        this.totals(day).offered += 1;
        return;
      }
      case 'reservation.accepted': {
        const taskSid = e.data['task_sid'] as string;
        const day = this.dayOfTask.get(taskSid);
        if (day === undefined) return;
        const wait = e.data['task_age'] as number;
        const t = this.totals(day);
        t.answered += 1;
        t.waitAnsweredS += wait;
        if (wait <= SERVICE_LEVEL_THRESHOLD_S) t.answeredWithinT += 1;
        if (wait > t.maxWaitS) t.maxWaitS = wait;
        this.inService.set(taskSid, [day, e.at]);
        return;
      }
      case 'task.completed': {
        const started = this.inService.get(e.resourceSid);
        if (started === undefined) return;
        this.inService.delete(e.resourceSid);
        this.dayOfTask.delete(e.resourceSid);
        const t = this.totals(started[0]);
        t.handlingS += (e.at - started[1]) / 1000;
        t.handled += 1;
        return;
      }
      case 'task.canceled': {
        const day = this.dayOfTask.get(e.resourceSid);
        if (day === undefined) return;
        this.dayOfTask.delete(e.resourceSid);
        const t = this.totals(day);
        t.abandoned += 1;
        const wait = e.data['task_age'] as number;
        if (wait > t.maxWaitS) t.maxWaitS = wait;
        return;
      }
      default:
        return;
    }
  }

  /** The KPIs per day, in date order. */
  result(): DailyKpis[] {
    return dailyKpisOf(this.days);
  }

  private totals(day: string): DayTotals {
    let t = this.days.get(day);
    if (t === undefined) {
      t = emptyDay();
      this.days.set(day, t);
    }
    return t;
  }
}

/** YYYY-MM-DD of an epoch-seconds instant (UTC), without Date (util/time.ts's civil calendar). */
export function dayOf(epochS: number): string {
  return isoInstant(epochS * 1000).slice(0, 10);
}

/** YYYY-MM-DD (UTC) of an epoch-milliseconds instant. */
export function dayOfMs(ms: number): string {
  return isoInstant(ms).slice(0, 10);
}
