/**
 * Measures shared by the three columns of the simulation report (real, simulated without and
 * with callbacks): agent occupancy per day, from engine events. Pure accumulator: feed events in
 * order, read the result.
 *
 * Occupancy = agent time busy with an accepted task ÷ agent time logged in (in an available
 * activity), the usual contact-center definition (spec conversations-events-analytics.md §B8),
 * the same as {@link OccupancyAccumulator} in src/analytics/traffic.ts but split by calendar day
 * (UTC of the virtual clock) instead of hour of day. Callback tasks make an agent busy too.
 */
import { dayOf } from '../analytics/kpi.ts';
import type { EngineEvent } from '../engine/events.ts';

const DAY_MS = 86_400_000;

/** Agent hours of one day (or the total). */
export interface DayOccupancy {
  /** YYYY-MM-DD. */
  date: string;
  /** Agent-hours logged in (an available activity). */
  logged_in_hours: number;
  /** Agent-hours with an accepted task. */
  busy_hours: number;
  /** busy ÷ logged in, 0–1 (0 when nobody was logged in). */
  occupancy: number;
}

/** Occupancy per calendar day; workers whose name passes `exclude` are left out. */
export class DailyOccupancyAccumulator {
  private readonly available: Set<string>;
  private readonly exclude: (workerName: string) => boolean;
  private readonly loggedInSince = new Map<string, number>();
  private readonly busy = new Map<string, { count: number; since: number }>();
  private readonly accepted = new Set<string>();
  private readonly logged = new Map<string, number>();
  private readonly busyMs = new Map<string, number>();

  /** `availableActivityNames`: activities that count as logged in (e.g. "Available"). */
  constructor(availableActivityNames: Iterable<string>, exclude: (workerName: string) => boolean = () => false) {
    this.available = new Set(availableActivityNames);
    this.exclude = exclude;
  }

  observe(e: EngineEvent): void {
    const name = e.data['worker_name'] as string | undefined;
    if (name === undefined || this.exclude(name)) return;
    const worker = e.data['worker_sid'] as string;
    switch (e.eventType) {
      case 'worker.activity.update': {
        const since = this.loggedInSince.get(worker);
        const nowAvailable = this.available.has(e.data['worker_activity_name'] as string);
        if (since !== undefined && !nowAvailable) {
          spreadByDay(this.logged, since, e.at);
          this.loggedInSince.delete(worker);
        } else if (since === undefined && nowAvailable) {
          this.loggedInSince.set(worker, e.at);
        }
        return;
      }
      case 'reservation.accepted': {
        this.accepted.add(e.resourceSid);
        const b = this.busy.get(worker);
        if (b === undefined) this.busy.set(worker, { count: 1, since: e.at });
        else b.count += 1;
        return;
      }
      case 'reservation.completed':
      case 'reservation.canceled':
      case 'reservation.wrapup': {
        if (e.eventType === 'reservation.wrapup' || !this.accepted.delete(e.resourceSid)) return;
        const b = this.busy.get(worker);
        if (b === undefined) return;
        b.count -= 1;
        if (b.count === 0) {
          spreadByDay(this.busyMs, b.since, e.at);
          this.busy.delete(worker);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Occupancy per day in date order. Intervals still open are not counted. */
  result(): DayOccupancy[] {
    const dates = [...new Set([...this.logged.keys(), ...this.busyMs.keys()])].sort();
    return dates.map((date) => occupancyOf(date, this.logged.get(date) ?? 0, this.busyMs.get(date) ?? 0));
  }
}

/** Sums days into one (date "total"). */
export function totalOccupancy(days: readonly DayOccupancy[]): DayOccupancy {
  let logged = 0;
  let busy = 0;
  for (const d of days) {
    logged += d.logged_in_hours * 3_600_000;
    busy += d.busy_hours * 3_600_000;
  }
  return occupancyOf('total', logged, busy);
}

function occupancyOf(date: string, loggedMs: number, busyMs: number): DayOccupancy {
  return { date, logged_in_hours: loggedMs / 3_600_000, busy_hours: busyMs / 3_600_000, occupancy: loggedMs === 0 ? 0 : Math.min(1, busyMs / loggedMs) };
}

function spreadByDay(totals: Map<string, number>, from: number, to: number): void {
  let t = from;
  while (t < to) {
    const end = Math.min((Math.floor(t / DAY_MS) + 1) * DAY_MS, to);
    const date = dayOf(Math.floor(t / 1000));
    totals.set(date, (totals.get(date) ?? 0) + (end - t));
    t = end;
  }
}
