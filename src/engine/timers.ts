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

export class TimerQueue {
  private heap = new Heap<Timer>(timerBefore);

  get size(): number {
    return this.heap.size;
  }

  schedule(at: number, kind: TimerKind, sid: string): void {
    this.heap.push({ at, kind, rank: RANK[kind], sid });
  }

  /** The next timer due at or before `now`, removed from the queue; undefined if none. */
  popDue(now: number): Timer | undefined {
    const top = this.heap.peek();
    if (top === undefined || top.at > now) return undefined;
    return this.heap.pop();
  }

  /** When the earliest timer is due (epoch ms), or null. It may turn out stale. */
  nextDueAt(): number | null {
    return this.heap.peek()?.at ?? null;
  }

  /** Drops timers that `isLive` rejects; call when the queue outgrows the live records. */
  compact(isLive: (t: Timer) => boolean): void {
    this.heap.filter(isLive);
  }
}
