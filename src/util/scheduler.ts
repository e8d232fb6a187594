/**
 * The clock and timers of the shell, as an interface (DESIGN.md "Cores and the one runtime": "the
 * clock and the timers come from an injected scheduler"). The runtime, the webhook dispatcher and
 * every other shell read time and arm timers only through a {@link Scheduler}, so the whole server
 * can run in virtual time in tests (src/runtime/scheduler.ts: `SystemScheduler` for the wall clock,
 * `VirtualScheduler` for skipped time, after Temporal's time-skipping test server).
 *
 * Types only: pure cores never hold a scheduler (they are handed instants), and `util` stays free
 * of clocks.
 */

/** A timer armed with {@link Scheduler.setTimer}. */
export interface Timer {
  /** Disarms the timer; a no-op once it has fired or was cancelled. */
  cancel(): void;
}

/** The clock and timers a shell runs on. All times in milliseconds. */
export interface Scheduler {
  /** The current instant, epoch milliseconds. Never goes backwards within one scheduler. */
  now(): number;
  /**
   * Calls `callback` once, `delayMs` milliseconds of this scheduler's time from now (a negative or
   * NaN delay counts as 0). A real timer never keeps the process alive on its own (the server's
   * socket does that). The callback's exceptions are the caller's to catch.
   */
  setTimer(callback: () => void, delayMs: number): Timer;
  /**
   * Tells the scheduler that `work` (I/O the shell started: an HTTP delivery, a disk sync) is in
   * flight; a virtual scheduler waits for it to settle before it skips time. Returns `work`.
   */
  track<T>(work: Promise<T>): Promise<T>;
}
