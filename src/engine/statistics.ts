/**
 * Cumulative statistics (spec §10), kept incrementally from the events the engine emits.
 *
 * Counters live in one-minute buckets per scope (workspace, task queue, workflow, worker) and
 * task channel, so a window of any length within the retention (30 days, spec §10) is answered
 * by adding up buckets, without keeping events. Windows are aligned to whole minutes: the start
 * is rounded down and the end up (docs/compatibility.md). Waits are whole seconds, measured as
 * TaskRouter's `task_age` at the moment of the event.
 *
 * Worker activity durations come from an activity timeline per worker (one entry per change),
 * trimmed to the retention.
 */
import type { EngineEvent } from './events.ts';

export const STATISTICS_RETENTION_MS = 30 * 24 * 3_600_000;
const MINUTE_MS = 60_000;
const RETENTION_MINUTES = STATISTICS_RETENTION_MS / MINUTE_MS;

/**
 * Sum, count, minimum and maximum of a duration in whole seconds. `min` and `max` are 0 while
 * `count` is 0: with whole numbers only, V8 keeps every field an inline small integer, where an
 * initial ±Infinity would box both in separate heap numbers (there is one of these for every
 * bucket of every scope, channel and minute).
 */
export class DurationStats {
  count = 0;
  total = 0;
  min = 0;
  max = 0;

  add(value: number): void {
    if (this.count === 0 || value < this.min) this.min = value;
    if (this.count === 0 || value > this.max) this.max = value;
    this.count += 1;
    this.total += value;
  }

  merge(other: DurationStats): void {
    if (other.count === 0) return;
    if (this.count === 0 || other.min < this.min) this.min = other.min;
    if (this.count === 0 || other.max > this.max) this.max = other.max;
    this.count += other.count;
    this.total += other.total;
  }

  /** Twilio's `{avg, min, max, total}` in whole seconds; zeros when empty. */
  toJSON(): { avg: number; min: number; max: number; total: number } {
    if (this.count === 0) return { avg: 0, min: 0, max: 0, total: 0 };
    return { avg: Math.round(this.total / this.count), min: this.min, max: this.max, total: this.total };
  }
}

/** An empty duration, for a bucket that has none: frozen, as it is shared. */
const NO_DURATIONS: DurationStats = Object.freeze(new DurationStats());

type DurationField = (typeof DURATION_FIELDS)[number];

/**
 * Counters of one scope, one channel, one minute. There is one for every minute with activity
 * of every scope and channel, workers included, so the parts most of them never use (the
 * durations and wait histograms) are allocated at their first value.
 */
export class Counters {
  tasksCreated = 0;
  tasksEntered = 0;
  tasksCanceled = 0;
  tasksCompleted = 0;
  tasksDeleted = 0;
  tasksMoved = 0;
  tasksTimedOutInWorkflow = 0;
  reservationsCreated = 0;
  reservationsAccepted = 0;
  reservationsRejected = 0;
  reservationsTimedOut = 0;
  reservationsCanceled = 0;
  reservationsRescinded = 0;
  private accepted: DurationStats | null = null;
  private inQueue: DurationStats | null = null;
  private canceled: DurationStats | null = null;
  /** Accepted waits: seconds → count (for split_by_wait_time with any thresholds); null until the first. */
  acceptedWaits: Map<number, number> | null = null;
  canceledWaits: Map<number, number> | null = null;

  /** Waits until a reservation was accepted (read only: add through {@link durations}). */
  get waitUntilAccepted(): DurationStats {
    return this.accepted ?? NO_DURATIONS;
  }

  get waitInQueueUntilAccepted(): DurationStats {
    return this.inQueue ?? NO_DURATIONS;
  }

  get waitUntilCanceled(): DurationStats {
    return this.canceled ?? NO_DURATIONS;
  }

  /** The duration of this name to add to, created at the first use. */
  durations(field: DurationField): DurationStats {
    switch (field) {
      case 'waitUntilAccepted':
        return (this.accepted ??= new DurationStats());
      case 'waitInQueueUntilAccepted':
        return (this.inQueue ??= new DurationStats());
      case 'waitUntilCanceled':
        return (this.canceled ??= new DurationStats());
    }
  }

  merge(o: Counters): void {
    this.tasksCreated += o.tasksCreated;
    this.tasksEntered += o.tasksEntered;
    this.tasksCanceled += o.tasksCanceled;
    this.tasksCompleted += o.tasksCompleted;
    this.tasksDeleted += o.tasksDeleted;
    this.tasksMoved += o.tasksMoved;
    this.tasksTimedOutInWorkflow += o.tasksTimedOutInWorkflow;
    this.reservationsCreated += o.reservationsCreated;
    this.reservationsAccepted += o.reservationsAccepted;
    this.reservationsRejected += o.reservationsRejected;
    this.reservationsTimedOut += o.reservationsTimedOut;
    this.reservationsCanceled += o.reservationsCanceled;
    this.reservationsRescinded += o.reservationsRescinded;
    for (const f of DURATION_FIELDS) if (o[f].count > 0) this.durations(f).merge(o[f]);
    if (o.acceptedWaits !== null) for (const [k, v] of o.acceptedWaits) this.acceptedWaits = countWait(this.acceptedWaits, k, v);
    if (o.canceledWaits !== null) for (const [k, v] of o.canceledWaits) this.canceledWaits = countWait(this.canceledWaits, k, v);
  }
}

/** Adds `n` waits of `seconds` to a histogram, creating it if needed; returns the histogram. */
function countWait(histogram: Map<number, number> | null, seconds: number, n = 1): Map<number, number> {
  const h = histogram ?? new Map<number, number>();
  h.set(seconds, (h.get(seconds) ?? 0) + n);
  return h;
}

/** Minute buckets of one scope and channel, oldest first. */
class Series {
  /** The task channel SID, or '' for events without a channel. */
  readonly channel: string;
  /**
   * The same scope's series for the next channel it saw, if any. A scope sees a handful of
   * channels at most: a short chain, walked from the series the scope Map holds, costs fewer
   * memory reads than a second Map per scope.
   */
  next: Series | null = null;
  readonly buckets = new Map<number, Counters>();
  private lastMinute = -1;
  private last: Counters | null = null;

  constructor(channel: string) {
    this.channel = channel;
  }

  at(minute: number): Counters {
    if (minute === this.lastMinute && this.last !== null) return this.last;
    let bucket = this.buckets.get(minute);
    if (bucket === undefined) {
      bucket = new Counters();
      this.buckets.set(minute, bucket);
      for (const m of this.buckets.keys()) {
        if (m > minute - RETENTION_MINUTES) break;
        this.buckets.delete(m);
      }
    }
    this.lastMinute = minute;
    this.last = bucket;
    return bucket;
  }
}

/** Reservation counters a worker's statistics report (spec §10), in a {@link WorkerSeries} row's column order. */
const WORKER_COUNTERS = [
  'reservationsCreated', 'reservationsAccepted', 'reservationsRejected', 'reservationsTimedOut',
  'reservationsCanceled', 'reservationsRescinded',
] as const;

/** The column of each reservation event type in a worker row (1 + its WORKER_COUNTERS index). */
const WORKER_COLUMN: Partial<Record<EngineEvent['eventType'], number>> = {
  'reservation.created': 1,
  'reservation.accepted': 2,
  'reservation.rejected': 3,
  'reservation.timeout': 4,
  'reservation.canceled': 5,
  'reservation.rescinded': 6,
};

const WORKER_ROW = 1 + WORKER_COUNTERS.length;

/**
 * One worker's reservation counts for one task channel, one row per minute with activity:
 * `[minute, created, accepted, rejected, timed out, canceled, rescinded]`, oldest first, in one
 * growable Int32Array. Workers are the most numerous scope by far (15,000 of them, most busy in
 * every minute), and a worker's statistics are only these counts, so their minutes are kept as
 * rows of plain integers outside the garbage-collected heap rather than as bucket objects.
 * Minutes come in non-decreasing order (events are emitted in time order), so the current
 * minute is always the last row.
 */
class WorkerSeries {
  /** The worker's SID. */
  readonly worker: string;
  readonly channel: string;
  next: WorkerSeries | null = null;
  rows = new Int32Array(4 * WORKER_ROW);
  /** Offset of the oldest row still within the retention. */
  head = 0;
  /** Offset just past the last row. */
  end = 0;

  constructor(worker: string, channel: string) {
    this.worker = worker;
    this.channel = channel;
  }

  /** Adds `n` to `column` in `minute`'s row, opening the row if the minute is new. */
  count(minute: number, column: number, n = 1): void {
    if (this.end === this.head || (this.rows[this.end - WORKER_ROW] as number) !== minute) this.open(minute);
    (this.rows[this.end - WORKER_ROW + column] as number) += n;
  }

  private open(minute: number): void {
    while (this.head < this.end && (this.rows[this.head] as number) <= minute - RETENTION_MINUTES) this.head += WORKER_ROW;
    if (this.end + WORKER_ROW > this.rows.length) {
      // Drop the expired rows first; grow only if more than half of the array is live.
      const live = this.rows.subarray(this.head, this.end);
      const rows = live.length * 2 >= this.rows.length ? new Int32Array(this.rows.length * 2) : this.rows;
      rows.set(live);
      this.rows = rows;
      this.end -= this.head;
      this.head = 0;
    }
    this.rows.fill(0, this.end, this.end + WORKER_ROW);
    this.rows[this.end] = minute;
    this.end += WORKER_ROW;
  }

  /** Adds the counts of the minutes in [first, end) to `sum`. */
  addTo(sum: Counters, first: number, end: number): void {
    for (let i = this.head; i < this.end; i += WORKER_ROW) {
      const minute = this.rows[i] as number;
      if (minute < first) continue;
      if (minute >= end) break;
      for (let k = 0; k < WORKER_COUNTERS.length; k++) sum[WORKER_COUNTERS[k] as (typeof WORKER_COUNTERS)[number]] += this.rows[i + 1 + k] as number;
    }
  }

  /** The rows as snapshot buckets, in the format of the other scopes. */
  *buckets(): Generator<[number, Counters]> {
    for (let i = this.head; i < this.end; i += WORKER_ROW) {
      const c = new Counters();
      for (let k = 0; k < WORKER_COUNTERS.length; k++) c[WORKER_COUNTERS[k] as (typeof WORKER_COUNTERS)[number]] = this.rows[i + 1 + k] as number;
      yield [this.rows[i] as number, c];
    }
  }
}

/** The series of `first`'s worker for `channel`, added at the end of the chain if new. */
function workerSeriesIn(first: WorkerSeries, channel: string): WorkerSeries {
  let s = first;
  while (s.channel !== channel) {
    if (s.next === null) return (s.next = new WorkerSeries(first.worker, channel));
    s = s.next;
  }
  return s;
}

/** The series of `first`'s scope for `channel`, added at the end of the chain if new. */
function seriesIn(first: Series, channel: string): Series {
  let s = first;
  while (s.channel !== channel) {
    if (s.next === null) return (s.next = new Series(channel));
    s = s.next;
  }
  return s;
}

/**
 * A field the engine keeps on a worker record for the recorder (see StatisticsRecorder.record);
 * its content is the recorder's own business.
 */
export interface WorkerStatisticsSlot {
  statisticsSeries: unknown;
}

/**
 * A statistics window: [startMs, endMs) in epoch ms, optionally one task channel (SID), and the
 * instant the figures are taken at (spec §10: a window ends at the request, not at the
 * workspace's last command).
 */
export interface StatisticsWindow {
  startMs: number;
  endMs: number;
  taskChannelSid?: string;
  /**
   * Epoch ms: the request's instant. Time in a worker's current activity counts up to
   * min(endMs, asOfMs), never into the future. Absent: endMs.
   */
  asOfMs?: number;
}

/** One worker's activity timeline: `[activitySid, since]` pairs, oldest first. */
type Timeline = [string, number][];

/** Plain-data form of a {@link StatisticsRecorder}, for snapshots. */
export interface StatisticsSnapshot {
  series: [scope: string, channel: string, buckets: [minute: number, counters: CountersSnapshot][]][];
  timelines: [workerSid: string, spans: Timeline, endedAt: number | null][];
}

type CountersSnapshot = Record<string, number | number[] | [number, number][]>;

const COUNTER_FIELDS = [
  'tasksCreated', 'tasksEntered', 'tasksCanceled', 'tasksCompleted', 'tasksDeleted', 'tasksMoved',
  'tasksTimedOutInWorkflow', 'reservationsCreated', 'reservationsAccepted', 'reservationsRejected',
  'reservationsTimedOut', 'reservationsCanceled', 'reservationsRescinded',
] as const;
const DURATION_FIELDS = ['waitUntilAccepted', 'waitInQueueUntilAccepted', 'waitUntilCanceled'] as const;

function saveCounters(c: Counters): CountersSnapshot {
  const out: CountersSnapshot = {};
  for (const f of COUNTER_FIELDS) out[f] = c[f];
  // An empty duration is saved with the ±Infinity bounds it used to hold in memory.
  for (const f of DURATION_FIELDS) out[f] = c[f].count === 0 ? [0, 0, Infinity, -Infinity] : [c[f].count, c[f].total, c[f].min, c[f].max];
  out['acceptedWaits'] = [...(c.acceptedWaits ?? [])];
  out['canceledWaits'] = [...(c.canceledWaits ?? [])];
  return out;
}

function loadCounters(s: CountersSnapshot): Counters {
  const c = new Counters();
  for (const f of COUNTER_FIELDS) c[f] = s[f] as number;
  for (const f of DURATION_FIELDS) {
    const [count, total, min, max] = s[f] as (number | null)[];
    if (count) Object.assign(c.durations(f), { count, total, min, max });
  }
  for (const [k, v] of s['acceptedWaits'] as [number, number][]) c.acceptedWaits = countWait(c.acceptedWaits, k, v);
  for (const [k, v] of s['canceledWaits'] as [number, number][]) c.canceledWaits = countWait(c.canceledWaits, k, v);
  return c;
}

export class StatisticsRecorder {
  /** Plain data for a snapshot (JSON-safe except ±Infinity in empty minimums, kept as null). */
  save(): StatisticsSnapshot {
    const series: StatisticsSnapshot['series'] = [];
    for (const [scope, first] of this.series) {
      for (let s: Series | null = first; s !== null; s = s.next) series.push([scope, s.channel, [...s.buckets].map(([m, c]) => [m, saveCounters(c)])]);
    }
    for (const [worker, first] of this.workerSeries) {
      for (let s: WorkerSeries | null = first; s !== null; s = s.next) series.push([worker, s.channel, [...s.buckets()].map(([m, c]) => [m, saveCounters(c)])]);
    }
    const timelines: StatisticsSnapshot['timelines'] = [...this.timelines].map(([sid, t]) => [sid, t.spans.map((x) => [...x] as [string, number]), t.endedAt]);
    return { series, timelines };
  }

  /** Rebuilds a recorder from {@link save}'s output. */
  static load(snapshot: StatisticsSnapshot): StatisticsRecorder {
    const r = new StatisticsRecorder();
    for (const [scope, channel, buckets] of snapshot.series) {
      const worker = scope.startsWith('WK') ? r.workerSeriesOf(scope, channel) : null;
      for (const [minute, counters] of buckets) {
        const loaded = loadCounters(counters);
        if (worker === null) {
          r.bucket(scope, channel, minute).merge(loaded);
          continue;
        }
        for (let k = 0; k < WORKER_COUNTERS.length; k++) {
          const n = loaded[WORKER_COUNTERS[k] as (typeof WORKER_COUNTERS)[number]];
          if (n !== 0) worker.count(minute, k + 1, n);
        }
      }
    }
    for (const [sid, spans, endedAt] of snapshot.timelines) r.timelines.set(sid, { spans: spans.map((x) => [...x] as [string, number]), endedAt });
    return r;
  }

  /** By scope SID: the series of the first channel the scope saw (see Series.next). */
  private readonly series = new Map<string, Series>();
  /** By worker SID: the reservation counts of the first channel the worker saw. */
  private readonly workerSeries = new Map<string, WorkerSeries>();
  private readonly timelines = new Map<string, { spans: Timeline; endedAt: number | null }>();

  /**
   * Takes one event into account. Called by the engine for every event it emits, in order.
   * `workerSlot`, optional, is where the recorder may keep the series of the event's worker
   * (`worker_sid`) for its next event: the engine passes the worker record, saving a look-up in
   * a Map of every worker (a cache miss, for 15,000 workers). A slot must stay with one worker
   * and one recorder.
   */
  record(e: EngineEvent, workerSlot?: WorkerStatisticsSlot): void {
    const d = e.data;
    switch (e.eventType) {
      case 'worker.created':
        this.timelines.set(e.resourceSid, { spans: [[d['worker_activity_sid'] as string, e.at]], endedAt: null });
        return;
      case 'worker.activity.update': {
        const t = this.timelines.get(e.resourceSid);
        if (t === undefined) return;
        t.spans.push([d['worker_activity_sid'] as string, e.at]);
        while (t.spans.length > 1 && (t.spans[1] as [string, number])[1] <= e.at - STATISTICS_RETENTION_MS) t.spans.shift();
        return;
      }
      case 'worker.deleted': {
        const t = this.timelines.get(e.resourceSid);
        if (t !== undefined) t.endedAt = e.at;
        return;
      }
      default:
        break;
    }
    const counterUpdate = COUNTER_UPDATES[e.eventType];
    if (counterUpdate === undefined) return;
    const minute = Math.floor(e.at / MINUTE_MS);
    const channel = (d['task_channel_sid'] as string | undefined) ?? '';
    const ws = d['workspace_sid'] as string;
    const queue = d['task_queue_sid'] as string | null | undefined;
    const workflow = d['workflow_sid'] as string | null | undefined;
    const worker = d['worker_sid'] as string | null | undefined;
    counterUpdate(this.recentBucket(0, ws, channel, minute), e, 'workspace');
    if (queue) counterUpdate(this.recentBucket(1, queue, channel, minute), e, 'taskQueue');
    if (workflow) counterUpdate(this.recentBucket(2, workflow, channel, minute), e, 'workflow');
    if (worker && e.resourceType === 'reservation') {
      const column = WORKER_COLUMN[e.eventType];
      if (column !== undefined) {
        let first = workerSlot?.statisticsSeries as WorkerSeries | null | undefined;
        if (first === null || first === undefined || first.worker !== worker) {
          first = this.firstWorkerSeries(worker, channel);
          if (workerSlot !== undefined) workerSlot.statisticsSeries = first;
        }
        workerSeriesIn(first, channel).count(minute, column);
      }
    }
  }

  /** The counters of a scope (workspace, queue, workflow or worker SID) summed over a window. */
  cumulative(scopeSid: string, window: StatisticsWindow): Counters {
    const sum = new Counters();
    const first = Math.floor(window.startMs / MINUTE_MS);
    const end = Math.ceil(window.endMs / MINUTE_MS);
    for (let series = this.workerSeries.get(scopeSid) ?? null; series !== null; series = series.next) {
      if (window.taskChannelSid === undefined || series.channel === window.taskChannelSid) series.addTo(sum, first, end);
    }
    for (let series = this.series.get(scopeSid) ?? null; series !== null; series = series.next) {
      if (window.taskChannelSid !== undefined && series.channel !== window.taskChannelSid) continue;
      // Look the window's minutes up one by one when that is cheaper than walking every bucket.
      if (end - first < series.buckets.size) {
        for (let minute = first; minute < end; minute++) {
          const bucket = series.buckets.get(minute);
          if (bucket !== undefined) sum.merge(bucket);
        }
      } else {
        for (const [minute, bucket] of series.buckets) {
          if (minute >= first && minute < end) sum.merge(bucket);
        }
      }
    }
    return sum;
  }

  /**
   * Milliseconds each listed worker spent in each activity within [startMs, endMs): activity SID
   * → worker SID → ms. Workers not yet created or already deleted contribute only their lifetime.
   */
  activityTime(workerSids: Iterable<string>, startMs: number, endMs: number): Map<string, Map<string, number>> {
    const result = new Map<string, Map<string, number>>();
    for (const sid of workerSids) {
      const t = this.timelines.get(sid);
      if (t === undefined) continue;
      const stop = Math.min(endMs, t.endedAt ?? endMs);
      for (let i = 0; i < t.spans.length; i++) {
        const [activity, since] = t.spans[i] as [string, number];
        const until = i + 1 < t.spans.length ? (t.spans[i + 1] as [string, number])[1] : stop;
        const ms = Math.min(until, stop) - Math.max(since, startMs);
        if (ms <= 0) continue;
        let perWorker = result.get(activity);
        if (perWorker === undefined) result.set(activity, (perWorker = new Map()));
        perWorker.set(sid, (perWorker.get(sid) ?? 0) + ms);
      }
    }
    return result;
  }

  private bucket(scope: string, channel: string, minute: number): Counters {
    return seriesIn(this.firstSeries(scope, channel), channel).at(minute);
  }

  /** The series the scope Map holds for `scope`, created for `channel` if the scope is new. */
  private firstSeries(scope: string, channel: string): Series {
    let first = this.series.get(scope);
    if (first === undefined) this.series.set(scope, (first = new Series(channel)));
    return first;
  }

  /** The reservation counts of a worker for a channel, created at the first use. */
  private workerSeriesOf(worker: string, channel: string): WorkerSeries {
    return workerSeriesIn(this.firstWorkerSeries(worker, channel), channel);
  }

  /** The series the worker Map holds for `worker`, created for `channel` if the worker is new. */
  private firstWorkerSeries(worker: string, channel: string): WorkerSeries {
    let first = this.workerSeries.get(worker);
    if (first === undefined) this.workerSeries.set(worker, (first = new WorkerSeries(worker, channel)));
    return first;
  }

  /** For {@link recentBucket}: per scope kind, the scope last looked up and its first series. */
  private readonly recentSids = ['', '', ''];
  private readonly recentSeries: (Series | null)[] = [null, null, null];

  /**
   * {@link bucket}, remembering the last scope of each kind (`kind`: 0 workspace, 1 queue,
   * 2 workflow): the workspace, and often the workflow and queue, are the same from one
   * event to the next, so most events skip the Map lookups.
   */
  private recentBucket(kind: number, scope: string, channel: string, minute: number): Counters {
    let first = this.recentSeries[kind] ?? null;
    if (first === null || this.recentSids[kind] !== scope) {
      first = this.firstSeries(scope, channel);
      this.recentSids[kind] = scope;
      this.recentSeries[kind] = first;
    }
    return seriesIn(first, channel).at(minute);
  }
}

/** Which kind of scope a counter belongs to. */
export type ScopeKind = 'workspace' | 'taskQueue' | 'workflow';

/**
 * How each event type changes counters (spec §10): `tasks_created` belongs to the workspace,
 * `tasks_entered` counts task-queue.entered for a queue and workflow.entered for a workflow.
 */
const COUNTER_UPDATES: Partial<Record<EngineEvent['eventType'], (c: Counters, e: EngineEvent, scope: ScopeKind) => void>> = {
  'task.created': (c, _e, scope) => {
    if (scope === 'workspace') c.tasksCreated += 1;
  },
  'workflow.entered': (c, _e, scope) => {
    if (scope === 'workflow') c.tasksEntered += 1;
  },
  'task-queue.entered': (c, _e, scope) => {
    if (scope === 'taskQueue') c.tasksEntered += 1;
  },
  'task-queue.moved': (c) => {
    c.tasksMoved += 1;
  },
  'task.canceled': (c, e) => {
    c.tasksCanceled += 1;
    const wait = e.data['task_age'] as number;
    c.durations('waitUntilCanceled').add(wait);
    c.canceledWaits = countWait(c.canceledWaits, wait);
  },
  'task.completed': (c) => {
    c.tasksCompleted += 1;
  },
  'task.deleted': (c) => {
    c.tasksDeleted += 1;
  },
  'workflow.timeout': (c) => {
    c.tasksTimedOutInWorkflow += 1;
  },
  'reservation.created': (c) => {
    c.reservationsCreated += 1;
  },
  'reservation.accepted': (c, e) => {
    c.reservationsAccepted += 1;
    const wait = e.data['task_age'] as number;
    c.durations('waitUntilAccepted').add(wait);
    c.acceptedWaits = countWait(c.acceptedWaits, wait);
    const entered = e.data['task_queue_entered_date'] as number | null;
    if (entered !== null) c.durations('waitInQueueUntilAccepted').add(Math.max(0, Math.floor(e.at / 1000) - entered));
  },
  'reservation.rejected': (c) => {
    c.reservationsRejected += 1;
  },
  'reservation.timeout': (c) => {
    c.reservationsTimedOut += 1;
  },
  'reservation.canceled': (c) => {
    c.reservationsCanceled += 1;
  },
  'reservation.rescinded': (c) => {
    c.reservationsRescinded += 1;
  },
};
