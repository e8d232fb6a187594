/**
 * The engine's timers are data: a min-heap of due instants. Nothing here reads a clock; the
 * driver calls `advanceTo(now)` (live server: wall clock; replay: virtual clock) and the engine
 * fires what is due, in (due time, kind, SID) order so the result never depends on insertion order.
 *
 * A timer is not removed when it stops mattering; on firing, the engine checks that the record
 * still holds the same due time and status (lazy cancellation). That also makes restore exact:
 * timers are rebuilt from the records' own due-time fields.
 */
import { Heap } from './heap.ts';

/**
 * Kinds in firing order for equal due times. A task's TTL goes first: a task whose time is up
 * is canceled rather than moved or offered again in the same instant. A step deadline goes
 * before a reservation timeout due at the same instant: the step is then over while the
 * reservation is still open, so the task moves on once it ends (spec §5.2) instead of being
 * offered again inside the ended step.
 */
export type TimerKind = 'reservationTimeout' | 'stepTimeout' | 'taskTtl' | 'assignedLimit' | 'purge';

const RANK: Record<TimerKind, number> = {
  taskTtl: 0,
  stepTimeout: 1,
  reservationTimeout: 2,
  assignedLimit: 3,
  purge: 4,
};

export interface Timer {
  /** Due instant, epoch ms. */
  readonly at: number;
  readonly kind: TimerKind;
  /** RANK[kind], kept on the entry for fast comparison. */
  readonly rank: number;
  /** The reservation or task it belongs to. */
  readonly sid: string;
}

function timerBefore(a: Timer, b: Timer): boolean {
  if (a.at !== b.at) return a.at < b.at;
  if (a.rank !== b.rank) return a.rank < b.rank;
  return a.sid < b.sid;
}

/**
 * Timers grouped by the second they are due in: scheduling is a Map lookup and an array push,
 * and only the distinct seconds sit in a heap. When a second comes due its timers are sorted
 * once, in firing order. A timer scheduled into the second being drained is inserted in order.
 */
export class TimerQueue {
  private readonly buckets = new Map<number, Timer[]>();
  private readonly seconds = new Heap<number>({ major: (second) => second, minor: () => 0, tieBefore: () => false });
  /** Timers of the second being drained, in reverse firing order (next to fire is last). */
  private due: Timer[] = [];
  private dueSecond = -Infinity;
  private count = 0;

  get size(): number {
    return this.count;
  }

  schedule(at: number, kind: TimerKind, sid: string): void {
    const timer: Timer = { at, kind, rank: RANK[kind], sid };
    this.count += 1;
    const second = Math.floor(at / 1000);
    if (second <= this.dueSecond) {
      insertDescending(this.due, timer);
      return;
    }
    const bucket = this.buckets.get(second);
    if (bucket === undefined) {
      this.buckets.set(second, [timer]);
      this.seconds.push(second);
    } else {
      bucket.push(timer);
    }
  }

  /** The next timer due at or before `now`, removed from the queue; undefined if none. */
  popDue(now: number): Timer | undefined {
    for (;;) {
      const last = this.due[this.due.length - 1];
      if (last !== undefined) {
        if (last.at > now) return undefined;
        this.due.pop();
        this.count -= 1;
        return last;
      }
      if (!this.openNextSecond(now)) return undefined;
    }
  }

  /** When the earliest timer is due (epoch ms), or null. It may turn out stale. */
  nextDueAt(): number | null {
    const last = this.due[this.due.length - 1];
    if (last !== undefined) return last.at;
    const second = this.seconds.peek();
    if (second === undefined) return null;
    let min = Infinity;
    for (const t of this.buckets.get(second) as Timer[]) if (t.at < min) min = t.at;
    return min;
  }

  /** Drops timers that `isLive` rejects; call when the queue outgrows the live records. */
  compact(isLive: (t: Timer) => boolean): void {
    this.due = this.due.filter(isLive);
    this.count = this.due.length;
    for (const [second, bucket] of this.buckets) {
      const kept = bucket.filter(isLive);
      if (kept.length === 0) this.buckets.delete(second);
      else this.buckets.set(second, kept);
      this.count += kept.length;
    }
    this.seconds.filter((second) => this.buckets.has(second));
  }

  /** Moves the earliest second's timers into `due` if that second has started by `now`. */
  private openNextSecond(now: number): boolean {
    const second = this.seconds.peek();
    if (second === undefined || second * 1000 > now) return false;
    this.seconds.pop();
    const bucket = this.buckets.get(second) as Timer[];
    this.buckets.delete(second);
    bucket.sort((a, b) => (timerBefore(a, b) ? 1 : -1));
    this.due = bucket;
    this.dueSecond = second;
    return true;
  }
}

/** Inserts into an array kept in reverse firing order. */
function insertDescending(list: Timer[], timer: Timer): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timerBefore(list[mid] as Timer, timer)) hi = mid;
    else lo = mid + 1;
  }
  list.splice(lo, 0, timer);
}
