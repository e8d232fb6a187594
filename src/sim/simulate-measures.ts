/**
 * Measures shared by the three columns of the simulation report (real, simulated without and
 * with callbacks): agent occupancy per day, from engine events. Pure accumulator: feed events in
 * order, read the result.
 *
 * Occupancy = agent time busy with an accepted task ÷ agent time logged in (in an available
 * activity), the usual contact-center definition (spec conversations-events-analytics.md §B8),
 * the same agent time as {@link OccupancyAccumulator} in src/analytics/traffic.ts but split by
 * calendar day (UTC of the virtual clock) instead of hour of day. Callback tasks make an agent busy too.
 */
import { dayOf } from '../analytics/kpi.ts';
import { AgentTimeAccumulator } from '../analytics/traffic.ts';
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

/**
 * Occupancy per calendar day (UTC of the virtual clock), the logged-in and busy time of
 * {@link AgentTimeAccumulator}; workers whose name passes `exclude` are left out.
 */
export class DailyOccupancyAccumulator {
  private readonly time: AgentTimeAccumulator<string>;

  /** `availableActivityNames`: activities that count as logged in (e.g. "Available"). */
  constructor(availableActivityNames: Iterable<string>, exclude: (workerName: string) => boolean = () => false) {
    const available = new Set(availableActivityNames);
    this.time = new AgentTimeAccumulator({
      isAvailable: (e) => available.has(e.data['worker_activity_name'] as string),
      exclude,
      bucketMs: DAY_MS,
      keyOf: (atMs) => dayOf(Math.floor(atMs / 1000)),
    });
  }

  observe(e: EngineEvent): void {
    this.time.observe(e);
  }

  /** Occupancy per day in date order. Intervals still open are not counted. */
  result(): DayOccupancy[] {
    const { loggedMs, busyMs } = this.time;
    const dates = [...new Set([...loggedMs.keys(), ...busyMs.keys()])].sort();
    return dates.map((date) => occupancyOf(date, loggedMs.get(date) ?? 0, busyMs.get(date) ?? 0));
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
