/** The simulated telephone network: scripted then seeded random outcomes, virtual-time delivery, one call per key, snapshot. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedNetwork } from '../../src/voice/simulated-network.ts';
import type { DialResult } from '../../src/callbacks/telephony-port.ts';

const T0 = 1_704_110_400_000;
const req = (key: string, to = '+14155550101') => ({ key, callbackSid: key.split(':')[0] as string, to, from: null, ringTimeoutSeconds: 30 });

test('scripted outcomes first, delivered at their time in due order; one call per key', () => {
  const n = new SimulatedNetwork({ seed: 1, ringMinSeconds: 10, ringMaxSeconds: 10, promptSeconds: 5, busySeconds: 3 });
  n.script('+14155550101', ['no_answer', 'busy', 'ready', 'voicemail']);
  const got: DialResult[] = [];
  n.onOutcome((r) => got.push(r));
  n.dial(req('A:1'), T0);
  n.dial(req('A:1'), T0);
  n.dial(req('A:2'), T0);
  n.dial(req('A:3'), T0);
  n.dial(req('A:4'), T0);
  assert.equal(n.duplicates, 1);
  assert.equal(n.dials.length, 4);
  assert.equal(n.nextDue(), T0 + 3000);
  assert.deepEqual(n.deliverUntil(T0 + 2999), []);
  n.deliverUntil(T0 + 60_000);
  assert.deepEqual(got.map((r) => [r.key, r.outcome, (r.at - T0) / 1000]), [
    ['A:2', 'busy', 3],
    ['A:4', 'voicemail', 10],
    ['A:3', 'ready', 15],
    ['A:1', 'no_answer', 30],
  ]);
  assert.equal(n.nextDue(), null);
});

test('random outcomes follow the rates and the seed', () => {
  const run = (seed: number) => {
    const n = new SimulatedNetwork({ seed, answerRate: 0.6, voicemailRate: 0.2, busyRate: 0.1, readyRate: 0.5 });
    for (let i = 0; i < 4000; i++) n.dial(req(`K${i}:1`, `+1415555${String(i).padStart(4, '0')}`), T0);
    const count = (o: string) => n.dials.filter((d) => d.outcome === o).length / 4000;
    return { n, ready: count('ready'), notReady: count('not_ready'), vm: count('voicemail'), busy: count('busy'), none: count('no_answer') };
  };
  const a = run(11);
  assert.ok(Math.abs(a.ready - 0.3) < 0.03 && Math.abs(a.notReady - 0.3) < 0.03, `${a.ready} ${a.notReady}`);
  assert.ok(Math.abs(a.vm - 0.2) < 0.03 && Math.abs(a.busy - 0.1) < 0.02 && Math.abs(a.none - 0.1) < 0.02);
  assert.deepEqual(run(11).n.dials, a.n.dials, 'same seed, same calls');
  assert.notDeepEqual(run(12).n.dials, a.n.dials);
  assert.throws(() => new SimulatedNetwork({ answerRate: 0.8, voicemailRate: 0.3 }), /at most 1/);
});

test('snapshot: a restored network continues the same outcomes and still refuses dialed keys', () => {
  const a = new SimulatedNetwork({ seed: 4 });
  for (let i = 0; i < 10; i++) a.dial(req(`K${i}:1`), T0 + i);
  const b = SimulatedNetwork.restore(JSON.parse(JSON.stringify(a.snapshot())), { seed: 4 });
  for (let i = 10; i < 20; i++) {
    a.dial(req(`K${i}:1`), T0 + i);
    b.dial(req(`K${i}:1`), T0 + i);
  }
  b.dial(req('K3:1'), T0 + 30);
  assert.equal(b.duplicates, 1);
  assert.deepEqual(b.deliverUntil(T0 + 3600_000), a.deliverUntil(T0 + 3600_000));
});
