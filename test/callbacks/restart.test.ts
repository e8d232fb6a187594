/**
 * Crash-restart in the middle of a scheduled callback, at the core level: the engine, the
 * center and the telephone network are snapshotted mid-way (while a dial is in flight, or in
 * retry_wait), serialized as JSON, restored into fresh objects and continued. The callback
 * completes, nothing is lost, and no attempt is dialed twice (spec callbacks-and-ewt §1.3; the
 * idempotency key is recorded before the dial effect leaves the center).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallbackCenter } from '../../src/callbacks/center.ts';
import { CallbackDriver, simpleAgents, type DriverSnapshot } from '../../src/sim/callback-driver.ts';
import { SequentialSids } from '../../src/util/sid.ts';
import { SimulatedNetwork } from '../../src/voice/simulated-network.ts';
import { at, cb, world, type World } from './helpers.ts';

const N1 = '+14155550101';
const N2 = '+14155550102';

function crash(w: World): { snap: DriverSnapshot; engineCounter: number; centerCounter: number } {
  const snap = JSON.parse(JSON.stringify(w.driver.snapshot())) as DriverSnapshot;
  return { snap, engineCounter: w.engineSids.counter, centerCounter: w.centerSids.counter };
}

function revive(c: ReturnType<typeof crash>, network?: SimulatedNetwork): CallbackDriver {
  const engineSids = new SequentialSids(1, c.engineCounter);
  const centerSids = new SequentialSids(2, c.centerCounter);
  return CallbackDriver.restore(c.snap, {
    engineSid: engineSids.next,
    center: { newSid: (p) => centerSids.next(p) },
    networkOptions: { seed: 7 },
    agents: simpleAgents({ acceptAfterSeconds: 2, handleSeconds: 120 }),
    ...(network !== undefined ? { network } : {}),
  });
}

test('center snapshot: exact JSON round trip', () => {
  const w = world();
  w.network.script(N1, ['no_answer', 'ready']);
  w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1, context: { FirstName: 'Ada' } });
  w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N2, appointmentTime: at(7200) });
  w.driver.runFor(200);
  const s1 = JSON.stringify(w.center.snapshot());
  const restored = CallbackCenter.restore(JSON.parse(s1), { newSid: (p) => w.centerSids.next(p) });
  assert.equal(JSON.stringify(restored.snapshot()), s1);
});

test('crash while the scheduled callback is being dialed: the restored network re-delivers the outcome, the call is placed once', () => {
  const w = world();
  w.network.script(N1, ['ready']);
  const slot = at(3600);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1, appointmentTime: slot });
  w.driver.runUntil(slot + 60_000);
  assert.equal(cb(w, c.sid).status, 'dialing');
  assert.equal(w.network.dials.length, 1);
  const saved = crash(w);
  // the original keeps running: it is the reference the restored run must match
  w.driver.runUntil(slot + 3600_000);
  assert.equal(cb(w, c.sid).status, 'completed');

  const d = revive(saved);
  assert.equal(d.center.getCallback(c.sid)?.status, 'dialing');
  d.runUntil(slot + 3600_000);
  const done = d.center.getCallback(c.sid);
  assert.equal(done?.status, 'completed');
  assert.equal(d.network.dials.length, 1, 'no second call');
  assert.equal(d.network.duplicates, 0);
  // the restored run is the same run
  assert.deepEqual(done, cb(w, c.sid));
  assert.deepEqual(d.callbackEvents.map((e) => [e.eventType, e.at]), w.driver.callbackEvents.filter((e) => e.at > saved.snap.now).map((e) => [e.eventType, e.at]));
});

test('crash while dialing and the telephone side lost the call: the attempt times out and a NEW attempt is dialed; the old key never again', () => {
  const w = world();
  w.network.script(N1, ['ready']);
  const slot = at(3600);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1, appointmentTime: slot });
  w.driver.runUntil(slot + 60_000);
  const firstKey = w.network.dials[0]?.key as string;
  const saved = crash(w);
  const fresh = new SimulatedNetwork({ seed: 9 });
  fresh.script(N1, ['ready']);
  const d = revive(saved, fresh);
  d.runUntil(slot + 3 * 3600_000);
  const done = d.center.getCallback(c.sid);
  assert.equal(done?.status, 'completed');
  assert.deepEqual(done?.attempts.map((a) => a.result), ['failed', 'completed']);
  assert.equal(fresh.dialCount(firstKey), 0, 'the in-flight attempt is never re-dialed');
  assert.deepEqual(fresh.dials.map((x) => x.key), [`${c.sid}:2`]);
  // timed out after ring timeout + grace, retried after the busy/telephony delay
  const a1 = done?.attempts[0];
  assert.equal(a1?.endedAt, (a1?.startedAt as number) + (30 + 120) * 1000);
});

test('crash in retry_wait: after restore the next attempt is dialed once, at its time', () => {
  const w = world();
  w.network.script(N1, ['busy', 'ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1, appointmentTime: at(1800) });
  w.driver.runUntil(at(1800) + 70_000);
  assert.equal(cb(w, c.sid).status, 'retry_wait');
  const retryAt = cb(w, c.sid).scheduledFor;
  const saved = crash(w);
  const d = revive(saved);
  d.runUntil(at(7200));
  const done = d.center.getCallback(c.sid);
  assert.equal(done?.status, 'completed');
  const keys = d.network.dials.map((x) => x.key);
  assert.deepEqual(keys, [`${c.sid}:1`, `${c.sid}:2`]);
  assert.equal(d.network.dials[1]?.at, retryAt);
  assert.equal(d.network.duplicates, 0);
});
