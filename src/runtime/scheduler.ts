/**
 * The two schedulers (src/util/scheduler.ts): the wall clock for the live server, and virtual time
 * for tests that run the real server — HTTP, store, webhooks, callbacks — through hours of timers
 * in seconds of wall clock, with no sleep (the idea of Temporal's time-skipping test server: time
 * jumps to the next timer whenever nothing else is in flight).
 */
import { Heap } from '../engine/heap.ts';
import type { Scheduler, Timer } from '../util/scheduler.ts';

/** The wall clock (`Date.now`) and Node's timers, unref'd. */
export class SystemScheduler implements Scheduler {
  now(): number {
    return Date.now();
  }

  setTimer(callback: () => void, delayMs: number): Timer {
    const handle = setTimeout(callback, clampDelay(delayMs));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  }

  track<T>(work: Promise<T>): Promise<T> {
    return work;
  }
}

/** The process-wide wall-clock scheduler (the default everywhere). */
export const systemScheduler: Scheduler = new SystemScheduler();

interface VirtualTimer {
  dueAt: number;
  /** Arming order: timers due at the same instant fire in the order they were armed. */
  order: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * Virtual time: `now()` moves only when a test calls {@link VirtualScheduler.advance} or
 * {@link VirtualScheduler.advanceTo}. Between two timers the real event loop runs until the
 * system is quiet — no work passed to {@link track} still in flight, and a few turns of the event
 * loop without a new timer or new tracked work — so replies, commits and deliveries that a timer
 * set off complete at the instant it fired before time moves on.
 *
 * Real I/O still takes real (short) time; a virtual timer never fires while tracked work is in
 * flight, so a delivery's timeout in virtual time cannot race the real socket.
 */
export class VirtualScheduler implements Scheduler {
  private current: number;
  /** Armed timers by due time, then arming order; cancelled ones are dropped when they reach the top. */
  private readonly timers = new Heap<VirtualTimer>({ major: (t) => t.dueAt, minor: (t) => t.order, tieBefore: () => false });
  private armed = 0;
  private inFlight = 0;
  /** Bumped on every new timer and every tracked work settling: quiescence is "no change for a few turns". */
  private activity = 0;

  /** @param startMs the first instant, epoch ms (default 2026-01-05T09:00:00Z, a Monday). */
  constructor(startMs = Date.UTC(2026, 0, 5, 9)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  /** As the wall clock's: `now()` stays a whole number of ms (a fractional delay is rounded), as `Date.now()` is. */
  setTimer(callback: () => void, delayMs: number): Timer {
    const timer: VirtualTimer = { dueAt: this.current + Math.round(clampDelay(delayMs)), order: this.armed++, callback, cancelled: false };
    this.timers.push(timer);
    this.activity += 1;
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight += 1;
    this.activity += 1;
    const done = (): void => {
      this.inFlight -= 1;
      this.activity += 1;
    };
    work.then(done, done);
    return work;
  }

  /** Timers armed and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.unordered().filter((t) => !t.cancelled).length;
  }

  /** The instant of the earliest armed timer, epoch ms, or null. */
  nextDue(): number | null {
    const t = this.earliest();
    return t === undefined ? null : t.dueAt;
  }

  /** {@link advanceTo} `now() + ms`. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.current + ms);
  }

  /**
   * Fires, in order of due time (then arming order), every timer due at or before `target` (epoch
   * ms) — including timers those timers arm — setting the clock to each one's instant and letting
   * the system settle after each; then sets the clock to `target` and settles once more. Throws
   * RangeError for a target in the past.
   */
  async advanceTo(target: number): Promise<void> {
    if (!(target >= this.current)) throw new RangeError(`advanceTo: target ${target} is before now (${this.current})`);
    await this.settle();
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.dueAt > target) break;
      this.timers.pop();
      this.current = Math.max(this.current, next.dueAt);
      next.callback();
      await this.settle();
    }
    this.current = target;
    await this.settle();
  }

  /** How many real 1 ms waits {@link settle} has made for tracked work (real I/O) so far. */
  realWaits = 0;

  /**
   * Lets the real event loop run until nothing is in flight and no timer or tracked work appeared
   * for a few consecutive turns. Waits on real time (1 ms at a time) only for tracked work still
   * in flight after a few dozen turns: real I/O.
   */
  async settle(): Promise<void> {
    let quietTurns = 0;
    let busyTurns = 0;
    let seen = this.activity;
    while (quietTurns < 4) {
      // Tracked work in flight: most of it (a commit answered, an in-process reply) settles within a
      // few turns of the event loop, so turn it over at once; only work still in flight after
      // BUSY_TURNS turns (real I/O: a socket, a disk sync) is waited on with a real 1 ms sleep,
      // so a slow request does not spin the CPU.
      if (this.inFlight > 0 && ++busyTurns > BUSY_TURNS) {
        this.realWaits += 1;
        await new Promise((resolve) => setTimeout(resolve, 1));
      } else await new Promise((resolve) => setImmediate(resolve));
      if (this.inFlight === 0 && this.activity === seen) quietTurns += 1;
      else {
        quietTurns = 0;
        seen = this.activity;
      }
    }
  }

  /** The earliest armed timer (cancelled ones on top are dropped), left in the heap. */
  private earliest(): VirtualTimer | undefined {
    while (this.timers.peek()?.cancelled === true) this.timers.pop();
    return this.timers.peek();
  }

}

/** Turns of the event loop {@link VirtualScheduler.settle} spins while tracked work is in flight before it sleeps 1 ms at a time. */
const BUSY_TURNS = 64;

/** A delay as Node's timers accept it: 0 for negative or NaN, at most 2^31 − 1 ms. */
function clampDelay(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 2 ** 31 - 1) : ms > 0 ? 2 ** 31 - 1 : 0;
}
