/**
 * Seeded swarm simulation of the routing engine (STYLE.md test layers, "Simulation").
 *
 * For each seed, test/sim/swarm.ts builds a random workspace and drives thousands of random
 * commands through it in virtual time. After every step it runs `checkInvariants` and an
 * auditor's checks of the reply; refused commands must change nothing (some are compared with a
 * twin restored just before that only ticks); some accepted commands run on such a twin too and
 * must give the same events and state; at a few points the cumulative and real-time statistics
 * must equal an independent oracle's; a snapshot taken mid-run and restored must replay the rest
 * of the run to the same events; and the same seed run again must give a byte-identical event log.
 *
 * Default: 20 seeds × 2,500 steps, about 30 s on a 2-core machine (snapshots for the twin checks
 * are most of it). Re-run a failing seed with the line its failure prints, e.g.
 * `SIM_SEEDS=17 SIM_STEPS=2500 node --test test/sim/engine.sim.test.ts`. `SIM_SEEDS` takes a
 * comma list and ranges (`1-200,512`); `SIM_STEPS` the steps per seed. Long sweeps: for example
 * `SIM_SEEDS=1-500 SIM_STEPS=5000`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkInvariants, InvariantError } from '../../src/engine/invariants.ts';
import { defaultOnly, Fixture } from '../../src/engine/test-helpers.ts';
import { runSeed } from './swarm.ts';

const DEFAULT_SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
const DEFAULT_STEPS = 2_500;

function parseSeeds(value: string | undefined): number[] {
  if (value === undefined || value.trim() === '') return DEFAULT_SEEDS;
  return value.split(',').flatMap((part) => {
    const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
    if (range !== null) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      return Array.from({ length: to - from + 1 }, (_, i) => from + i);
    }
    const n = Number(part.trim());
    if (!Number.isSafeInteger(n)) throw new Error(`SIM_SEEDS: ${part} is not a whole number`);
    return [n];
  });
}

const seeds = parseSeeds(process.env['SIM_SEEDS']);
const steps = process.env['SIM_STEPS'] === undefined ? DEFAULT_STEPS : Number(process.env['SIM_STEPS']);
assert.ok(Number.isSafeInteger(steps) && steps > 0, 'SIM_STEPS must be a positive whole number');

for (const seed of seeds) {
  test(`swarm seed ${seed} (${steps} steps)`, () => {
    const first = runSeed({ seed, steps, checks: true });
    const again = runSeed({ seed, steps, checks: false });
    assert.equal(again.hash, first.hash, `seed ${seed}: the same seed gave a different event log (run it again with SIM_SEEDS=${seed})`);
    // The swarm must do real work, or the checks above prove little.
    assert.ok(first.tasksCreated > steps / 10, `seed ${seed}: only ${first.tasksCreated} tasks were created`);
    assert.ok(first.reservationsAccepted > 0, `seed ${seed}: no reservation was accepted`);
  });
}

/**
 * Canary (TigerBeetle's `canary` fuzzer): corrupt a healthy engine in ways the incremental
 * bookkeeping could go wrong, and require checkInvariants to name the broken invariant. If this
 * fails, the swarm's passing runs prove nothing.
 */
test('checkInvariants catches corrupted state (canary)', () => {
  const corruptions: [invariant: string, corrupt: (fx: Fixture, sids: { alice: string; bob: string; waiting: string; reserved: string }) => void][] = [
    ['channel-counts', (fx, s) => void ((fx.workerRecord(s.alice).channels[0] as { activeTasks: number }).activeTasks += 1)],
    ['channel-ready', (fx, s) => void ((fx.workerRecord(s.alice).channels[1] as { ready: boolean }).ready = true)],
    ['worker-queues', (fx, s) => void fx.workerRecord(s.bob).queues.clear()],
    ['pending-count', (fx, s) => void (fx.taskRecord(s.reserved).pendingReservations = 0)],
    ['task-status-matches-reservations', (fx, s) => void (fx.taskRecord(s.reserved).assignmentStatus = 'pending')],
    ['timer-overdue', (fx, s) => void (fx.taskRecord(s.waiting).timeoutS = 1)],
    [
      'work-conservation',
      (fx, s) => {
        // Bob becomes ready for the waiting voice task without the engine being told.
        fx.workerRecord(s.bob).activityAvailable = true;
        fx.workerRecord(s.bob).activitySid = fx.activity('Available');
        fx.workerRecord(s.bob).activityName = 'Available';
        for (const ch of fx.workerRecord(s.bob).channels) ch.ready = true;
        const q = fx.engine.queues.values().next().value;
        if (q !== undefined) (q as { availableMembers: number }).availableMembers += 1;
      },
    ],
  ];
  for (const [invariant, corrupt] of corruptions) {
    const fx = new Fixture();
    fx.workflow(defaultOnly(fx.queue('Q')));
    const alice = fx.worker('alice');
    fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'voice', capacity: 0 });
    const bob = fx.worker('bob', {}, 'Offline');
    const reserved = fx.task().sid as string;
    const waiting = fx.task({}, { taskChannel: 'voice', timeoutS: 600 }).sid as string;
    fx.ok({ type: 'tick', at: fx.engine.now + 5_000 });
    checkInvariants(fx.engine);
    assert.deepEqual([fx.status(reserved), fx.status(waiting)], ['reserved', 'pending']);
    corrupt(fx, { alice, bob, waiting, reserved });
    assert.throws(
      () => checkInvariants(fx.engine),
      (error: unknown) => error instanceof InvariantError && error.violations.some((v) => v.invariant === invariant),
      `corruption ${invariant} was not caught`,
    );
  }
});
