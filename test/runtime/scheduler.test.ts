import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

test('virtual time: timers fire in due order (then arming order) at their own instant, and may arm more', async () => {
  const s = new VirtualScheduler(1_000);
  const fired: Array<[string, number]> = [];
  s.setTimer(() => fired.push(['b', s.now()]), 200);
  s.setTimer(() => fired.push(['a', s.now()]), 100);
  s.setTimer(() => fired.push(['a2', s.now()]), 100);
  s.setTimer(() => {
    fired.push(['c', s.now()]);
    s.setTimer(() => fired.push(['d', s.now()]), 50);
  }, 300);
  const cancelled = s.setTimer(() => fired.push(['never', s.now()]), 150);
  cancelled.cancel();
  await s.advance(340);
  assert.deepEqual(fired, [['a', 1_100], ['a2', 1_100], ['b', 1_200], ['c', 1_300]]);
  assert.equal(s.now(), 1_340);
  await s.advance(10);
  assert.deepEqual(fired.at(-1), ['d', 1_350]);
  assert.equal(s.pendingTimers, 0);
  await assert.rejects(s.advanceTo(0), RangeError);
});

test('virtual time: tracked I/O settles before time moves on', async () => {
  const s = new VirtualScheduler(0);
  const log: string[] = [];
  s.setTimer(() => {
    log.push(`fired@${s.now()}`);
    // Real I/O a timer set off (here a real 20 ms wait) completes before the next timer fires.
    void s.track(new Promise<void>((resolve) => setTimeout(resolve, 20))).then(() => log.push(`io-done@${s.now()}`));
  }, 1_000);
  s.setTimer(() => log.push(`second@${s.now()}`), 1_001);
  await s.advance(3_600_000);
  assert.deepEqual(log, ['fired@1000', 'io-done@1000', 'second@1001']);
});

test('virtual time: a fractional delay is rounded, so now() stays whole milliseconds like Date.now(); in-process replies settle without real sleeps', async () => {
  const s = new VirtualScheduler(0);
  const at: number[] = [];
  s.setTimer(() => at.push(s.now()), 1_234.6);
  s.setTimer(() => at.push(s.now()), 0.4);
  // A reply chained over a few turns of the event loop (as a commit answered, then its caller's answer).
  s.setTimer(() => {
    void s.track(new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)))).then(() => at.push(-s.now()));
  }, 2_000);
  for (let i = 0; i < 200; i++) s.setTimer(() => void s.track(new Promise<void>((resolve) => setImmediate(resolve))), 3_000 + i);
  await s.advance(10_000);
  assert.deepEqual(at, [0, 1_235, -2_000]);
  // Each timer's tracked reply is in flight for a turn or two: turned over at once, never waited on 1 ms at a time.
  assert.equal(s.realWaits, 0, 'in-process replies took no real wait');
});
