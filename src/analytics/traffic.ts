/**
 * Traffic and workforce measures from the engine's event stream, for reports: calls offered
 * per hour, the distribution of waits, and agent occupancy by hour (busy time ÷ logged-in
 * time, the usual contact-center definition; see conversations-events-analytics.md §B8).
 * Pure accumulators: feed events in order, read the results. Hours are of the virtual clock.
 */
import type { EngineEvent } from '../engine/events.ts';
import { dayOf } from './kpi.ts';

const HOUR_MS = 3_600_000;

/** Offered calls of one hour of one day. */
export interface HourCount {
  date: string;
  /** 0–23. */
  hour: number;
  offered: number;
}

/** One bin of the wait distribution: waits in [fromS, toS) seconds; `toS` null = no upper bound. */
export interface WaitBin {
  fromS: number;
  toS: number | null;
  answered: number;
  abandoned: number;
}

/** Counts offered calls per hour (by virtual start time) and bins waits. */
export class TrafficAccumulator {
  private readonly perHour = new Map<string, HourCount>();
  private readonly bins: WaitBin[];
  private readonly binS: number;

  /** `binS`: width of a wait bin, seconds; `maxS`: waits at or above this share the last bin. */
  constructor(binS = 15, maxS = 600) {
    this.binS = binS;
    this.bins = [];
    for (let s = 0; s < maxS; s += binS) this.bins.push({ fromS: s, toS: s + binS, answered: 0, abandoned: 0 });
    this.bins.push({ fromS: maxS, toS: null, answered: 0, abandoned: 0 });
  }

  observe(e: EngineEvent): void {
    if (e.eventType === 'task.created') {
      const startS = e.data['task_virtual_start_time'] as number;
      const date = dayOf(startS);
      const hour = Math.floor((startS % 86_400) / 3600);
      const key = `${date} ${hour}`;
      let h = this.perHour.get(key);
      if (h === undefined) this.perHour.set(key, (h = { date, hour, offered: 0 }));
      h.offered += 1;
    } else if (e.eventType === 'reservation.accepted' || e.eventType === 'task.canceled') {
      const wait = e.data['task_age'] as number;
      const bin = this.bins[Math.min(Math.floor(wait / this.binS), this.bins.length - 1)] as WaitBin;
      if (e.eventType === 'reservation.accepted') bin.answered += 1;
      else bin.abandoned += 1;
    }
  }

  /** Offered calls per date and hour, in time order. */
  offeredByHour(): HourCount[] {
    return [...this.perHour.values()].sort((a, b) => (a.date === b.date ? a.hour - b.hour : a.date < b.date ? -1 : 1));
  }

  waitDistribution(): WaitBin[] {
    return this.bins.map((b) => ({ ...b }));
  }
}

/** What {@link AgentTimeAccumulator} needs to know: which activities count, who is left out, how time is bucketed. */
export interface AgentTimeOptions<K> {
  /** True when the activity a `worker.activity.update` event moves the worker to counts as logged in. */
  isAvailable: (e: EngineEvent) => boolean;
  /** True for workers (by friendly name) left out of the measure. */
  exclude: (workerName: string) => boolean;
  /** Bucket width, milliseconds; buckets start at multiples of it since the epoch (UTC). */
  bucketMs: number;
  /** The bucket of the piece of an interval that starts at `atMs` (epoch ms). */
  keyOf: (atMs: number) => K;
}

/**
 * Agent time from the event stream, the raw material of occupancy (busy time ÷ logged-in time,
 * the usual contact-center definition; conversations-events-analytics.md §B8). A worker is
 * logged in while in an available activity, and busy from the first `reservation.accepted` it
 * holds until its last such reservation is `reservation.completed` (wrap-up counts as busy).
 * The engine cancels only pending reservations, so `reservation.canceled` never ends busy time.
 * A closed interval is cut at bucket boundaries and each piece added (milliseconds) to
 * `loggedMs` or `busyMs` under its bucket's key; intervals still open are not counted.
 */
export class AgentTimeAccumulator<K> {
  /** Logged-in milliseconds per bucket. */
  readonly loggedMs = new Map<K, number>();
  /** Busy milliseconds per bucket. */
  readonly busyMs = new Map<K, number>();
  private readonly loggedInSince = new Map<string, number>();
  private readonly busy = new Map<string, { count: number; since: number }>();
  private readonly options: AgentTimeOptions<K>;

  constructor(options: AgentTimeOptions<K>) {
    this.options = options;
  }

  observe(e: EngineEvent): void {
    const name = e.data['worker_name'] as string | undefined;
    if (name === undefined || this.options.exclude(name)) return;
    const worker = e.data['worker_sid'] as string;
    switch (e.eventType) {
      case 'worker.activity.update': {
        const since = this.loggedInSince.get(worker);
        const nowAvailable = this.options.isAvailable(e);
        if (since !== undefined && !nowAvailable) {
          this.spread(this.loggedMs, since, e.at);
          this.loggedInSince.delete(worker);
        } else if (since === undefined && nowAvailable) {
          this.loggedInSince.set(worker, e.at);
        }
        return;
      }
      case 'reservation.accepted': {
        const b = this.busy.get(worker);
        if (b === undefined) this.busy.set(worker, { count: 1, since: e.at });
        else b.count += 1;
        return;
      }
      case 'reservation.completed': {
        const b = this.busy.get(worker);
        if (b === undefined) return;
        b.count -= 1;
        if (b.count === 0) {
          this.spread(this.busyMs, b.since, e.at);
          this.busy.delete(worker);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Adds the interval [from, to) (epoch ms) to `totals`, split at bucket boundaries. */
  private spread(totals: Map<K, number>, from: number, to: number): void {
    const { bucketMs, keyOf } = this.options;
    let t = from;
    while (t < to) {
      const end = Math.min((Math.floor(t / bucketMs) + 1) * bucketMs, to);
      const key = keyOf(t);
      totals.set(key, (totals.get(key) ?? 0) + (end - t));
      t = end;
    }
  }
}

/** Occupancy of one hour of the day, over all days. */
export interface HourOccupancy {
  hour: number;
  /** Agent-hours logged in (in an available activity) and busy with an accepted task. */
  loggedInHours: number;
  busyHours: number;
  /** busy ÷ logged in, 0–1 (0 when nobody was logged in). */
  occupancy: number;
}

/**
 * Agent occupancy by hour of day (UTC of the virtual clock), over all days: time with an
 * accepted or wrapping task ÷ time logged in (an available activity); see
 * {@link AgentTimeAccumulator}. `excludeWorkers` names workers left out (e.g. a pseudo-agent
 * that stands for unidentified agents and may hold many calls at once).
 */
export class OccupancyAccumulator {
  private readonly time: AgentTimeAccumulator<number>;

  /**
   * `availableActivitySids`: the activities that count as logged in; `excludeWorkerNames`:
   * workers left out of the measure.
   */
  constructor(availableActivitySids: Iterable<string>, excludeWorkerNames: Iterable<string> = []) {
    const available = new Set(availableActivitySids);
    const exclude = new Set(excludeWorkerNames);
    this.time = new AgentTimeAccumulator({
      isAvailable: (e) => available.has(e.data['worker_activity_sid'] as string),
      exclude: (name) => exclude.has(name),
      bucketMs: HOUR_MS,
      keyOf: (atMs) => Math.floor((atMs % 86_400_000) / HOUR_MS),
    });
  }

  observe(e: EngineEvent): void {
    this.time.observe(e);
  }

  /** Occupancy per hour of day, 0–23. Intervals still open are not counted. */
  result(): HourOccupancy[] {
    return Array.from({ length: 24 }, (_, hour) => {
      const logged = this.time.loggedMs.get(hour) ?? 0;
      const busy = this.time.busyMs.get(hour) ?? 0;
      return { hour, loggedInHours: logged / HOUR_MS, busyHours: busy / HOUR_MS, occupancy: logged === 0 ? 0 : Math.min(1, busy / logged) };
    });
  }
}
