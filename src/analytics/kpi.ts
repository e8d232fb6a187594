/**
 * Daily contact-center KPIs computed from the engine's event stream alone
 * (shared/specs/conversations-events-analytics.md §B8 gives the definitions):
 *
 * - `offered`: tasks created (calls that asked for an agent);
 * - `answered`: reservations accepted; `abandoned`: tasks canceled (the caller hung up);
 * - `asa_s`: mean wait of answered calls, the task's age when its reservation was accepted;
 * - `service_level_20s`: answered within 20 s ÷ offered;
 * - `aht_s`: mean handle time of answered calls, from acceptance to completion;
 * - `max_wait_s`: the longest wait of any offered call (answered or abandoned).
 *
 * A call belongs to the day of its virtual start time (`task_virtual_start_time`, the moment it
 * entered the center), so a call that began before midnight counts on its own day. Days are UTC
 * dates of the virtual clock. Pure: feed events in order, read the result.
 */
import type { EngineEvent } from '../engine/events.ts';
import { isoInstant } from '../util/time.ts';

/** KPIs of one day, with the field names report.json uses. */
export interface DailyKpis {
  /** YYYY-MM-DD. */
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

interface DayTotals {
  offered: number;
  answered: number;
  abandoned: number;
  waitAnsweredS: number;
  answeredWithin20: number;
  handleS: number;
  completed: number;
  maxWaitS: number;
}

/** The service-level threshold, seconds. */
export const SERVICE_LEVEL_THRESHOLD_S = 20;

/** Accumulates {@link DailyKpis} from engine events. */
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
        if (wait <= SERVICE_LEVEL_THRESHOLD_S) t.answeredWithin20 += 1;
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
        t.handleS += (e.at - started[1]) / 1000;
        t.completed += 1;
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
    return [...this.days.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([date, t]) => ({
        date,
        offered: t.offered,
        answered: t.answered,
        abandoned: t.abandoned,
        asa_s: t.answered === 0 ? 0 : t.waitAnsweredS / t.answered,
        service_level_20s: t.offered === 0 ? 0 : t.answeredWithin20 / t.offered,
        aht_s: t.completed === 0 ? 0 : t.handleS / t.completed,
        max_wait_s: t.maxWaitS,
      }));
  }

  private totals(day: string): DayTotals {
    let t = this.days.get(day);
    if (t === undefined) {
      t = { offered: 0, answered: 0, abandoned: 0, waitAnsweredS: 0, answeredWithin20: 0, handleS: 0, completed: 0, maxWaitS: 0 };
      this.days.set(day, t);
    }
    return t;
  }
}

/** YYYY-MM-DD of an epoch-seconds instant (UTC), without Date (util/time.ts's civil calendar). */
export function dayOf(epochS: number): string {
  return isoInstant(epochS * 1000).slice(0, 10);
}
