/**
 * The engine's timers are data: a min-heap of due instants. Nothing here reads a clock; the
 * driver calls `advanceTo(now)` (live server: wall clock; replay: virtual clock) and the engine
 * fires what is due, in (due time, kind, SID) order so the result never depends on insertion order.
 *
 * Each timer points at the record it belongs to. A task's status timer and a reservation's
 * timeout are held by their record and canceled when they stop mattering; a step deadline is
 * left in place and checked against the task when it comes due (lazy cancellation). Either way
 * the engine asks, on firing, whether the record still holds the timer. Restore is exact: timers
 * are rebuilt from the records' own due-time fields.
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
  /** Due instant, epoch ms (changed only by {@link TimerQueue.reschedule}). */
  at: number;
  kind: TimerKind;
  /** RANK[kind], kept on the entry for fast comparison. */
  rank: number;
  /** The SID of the reservation or task it belongs to (the tie-break of the firing order). */
  readonly sid: string;
  /** That reservation or task record itself, so that firing needs no lookup by SID. */
  readonly owner: object;
  /** Its index in its second's bucket; -1 once that second is being drained, or it fired or was canceled. */
  slot: number;
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
 *
 * A timer known to be dead can be canceled (`cancel`) while its second is still ahead: it leaves
 * its bucket at once instead of waiting there for a compaction. The engine does so for the
 * one-day timers of a task's status, which almost never fire.
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

  schedule(at: number, kind: TimerKind, sid: string, owner: object): Timer {
    return this.insert({ at, kind, rank: RANK[kind], sid, owner, slot: -1 });
  }

  /** Queues a timer that is in no bucket (`slot` -1). */
  private insert(timer: Timer): Timer {
    this.count += 1;
    const second = Math.floor(timer.at / 1000);
    if (second <= this.dueSecond) {
      insertDescending(this.due, timer);
      return timer;
    }
    const bucket = this.buckets.get(second);
    if (bucket === undefined) {
      this.buckets.set(second, [timer]);
      this.seconds.push(second);
      timer.slot = 0;
    } else {
      timer.slot = bucket.length;
      bucket.push(timer);
    }
    return timer;
  }

  /**
   * Moves a timer to a new due instant and kind, as `cancel` then `schedule` would, reusing the
   * object when it sits in a bucket (the usual case: a task's status timer, replaced long before
   * it is due). A timer in the second being drained, or already fired, may still come up as
   * stale and must stay as it is: a new timer is made then. Returns the timer now scheduled.
   */
  reschedule(timer: Timer, at: number, kind: TimerKind): Timer {
    if (timer.slot < 0) {
      this.cancel(timer);
      return this.schedule(at, kind, timer.sid, timer.owner);
    }
    this.cancel(timer);
    timer.at = at;
    timer.kind = kind;
    timer.rank = RANK[kind];
    return this.insert(timer);
  }

  /**
   * Removes a timer that can no longer fire. A no-op once its second is being drained (it is
   * then dropped when it comes up, as stale) or once it has fired.
   */
  cancel(timer: Timer): void {
    if (timer.slot < 0) return;
    const second = Math.floor(timer.at / 1000);
    const bucket = this.buckets.get(second) as Timer[];
    // Buckets are unordered until their second is opened: move the last timer into the gap.
    const last = bucket.pop() as Timer;
    if (last !== timer) {
      bucket[timer.slot] = last;
      last.slot = timer.slot;
    }
    timer.slot = -1;
    this.count -= 1;
    // Its second stays in the heap; openNextSecond and nextDueAt pass over a missing bucket.
    if (bucket.length === 0) this.buckets.delete(second);
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
    const second = this.nextSecond();
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
      const kept: Timer[] = [];
      for (const t of bucket) {
        if (isLive(t)) {
          t.slot = kept.length;
          kept.push(t);
        } else {
          t.slot = -1;
        }
      }
      if (kept.length === 0) this.buckets.delete(second);
      else this.buckets.set(second, kept);
      this.count += kept.length;
    }
    this.seconds.filter((second) => this.buckets.has(second));
  }

  /** The earliest second that still has timers, dropping those emptied by `cancel`. */
  private nextSecond(): number | undefined {
    let second = this.seconds.peek();
    while (second !== undefined && !this.buckets.has(second)) {
      this.seconds.pop();
      second = this.seconds.peek();
    }
    return second;
  }

  /** Moves the earliest second's timers into `due` if that second has started by `now`. */
  private openNextSecond(now: number): boolean {
    const second = this.nextSecond();
    if (second === undefined || second * 1000 > now) return false;
    this.seconds.pop();
    const bucket = this.buckets.get(second) as Timer[];
    this.buckets.delete(second);
    for (const t of bucket) t.slot = -1;
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
