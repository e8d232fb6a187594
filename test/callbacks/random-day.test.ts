/**
 * A seeded random working day per strategy: live calls and callbacks share 8 agents at about
 * 105 % load, the telephone network answers 75 % of calls. Checks the invariants that must hold
 * whatever happens, and the punctuality of first attempts against the quoted ECBT range.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallbackCenter, isTerminalStatus } from '../../src/callbacks/center.ts';
import type { AgentPolicy } from '../../src/sim/callback-driver.ts';
import { ecbtRange } from '../../src/callbacks/offer.ts';
import { CallbackError } from '../../src/callbacks/errors.ts';
import { Random } from '../../src/util/random.ts';
import { world, T0 } from './helpers.ts';

for (const strategy of ['customer_first', 'agent_first'] as const) {
  test(`random day, ${strategy}: nothing dialed twice, retries bounded, every callback settles, first rings punctual`, () => {
    const r = new Random(strategy === 'customer_first' ? 5 : 6);
    const agents: AgentPolicy = { onReservation: () => ({ action: 'accept', afterSeconds: 1 + r.int(0, 4) }), handleSeconds: () => Math.round(r.exponential(180)) };
    const w = world({ workers: 8, agents, target: { strategy }, network: { seed: 3, answerRate: 0.75, voicemailRate: 0.1, busyRate: 0.05 } });
    let t = T0;
    const end = T0 + 8 * 3600_000;
    let duplicates = 0;
    while (t < end) {
      t += Math.round(r.exponential(60 / 2.8) * 1000);
      w.driver.runUntil(t);
      if (r.chance(0.3)) {
        try {
          w.driver.register({ callTargetSid: w.targetSid, phoneNumber: `+1415${r.int(1_000_000, 9_999_999)}` });
        } catch (e) {
          assert.ok(e instanceof CallbackError && e.code === 'DuplicateRequest');
          duplicates += 1;
        }
      } else {
        w.driver.execute({ type: 'createTask', at: t, taskQueueSid: w.queueSid, taskChannel: 'voice', attributes: '{}' });
      }
    }
    w.driver.runUntil(end + 6 * 3600_000);
    const all = w.center.listCallbacks();
    assert.ok(all.length > 300, `${all.length} callbacks`);
    assert.ok(duplicates < 5);
    // nothing dialed twice
    assert.equal(w.network.duplicates, 0);
    const keys = w.network.dials.map((d) => d.key);
    assert.equal(new Set(keys).size, keys.length);
    const target = w.center.getCallTarget(w.targetSid);
    for (const c of all) {
      assert.ok(isTerminalStatus(c.status), `${c.sid} ended ${c.status}`);
      assert.ok(c.attempts.length <= (target?.retry.maxRetries ?? 2) + 1);
      if (c.status === 'completed') assert.ok(c.connectedAt !== null);
      for (let i = 1; i < c.attempts.length; i++) {
        assert.ok((c.attempts[i]?.startedAt as number) - (c.attempts[i - 1]?.endedAt as number) >= 30_000, 'retries wait their delay');
      }
    }
    // no callback task is left waiting in the engine
    for (const task of w.engine.tasks.values()) {
      if (task.attributesJson.includes('callback_')) assert.ok(task.assignmentStatus !== 'pending' && task.assignmentStatus !== 'reserved', `${task.sid} left ${task.assignmentStatus}`);
    }
    // punctuality: the first ring of completed callbacks against the quoted range (docs/callbacks.md)
    const completed = all.filter((c) => c.status === 'completed' && c.type === 'asap');
    const inside = completed.filter((c) => CallbackCenter.punctuality(c)?.withinRange === true).length;
    const early = completed.filter((c) => (c.attempts[0]?.dialedAt ?? Infinity) < c.createdAt + ecbtRange(c.ecbtSeconds as number).lowMinutes * 60_000).length;
    // measured at this seed and ~105 % load: CF 100 % (388/388: a callback paced out by busy agents
    // is dialed at the end of its range, "Keeping the quote" in docs/callbacks.md; 86.5 % before
    // that), AF 95.6 % (413/432, 0 early: its task is created at the start of the range and waits
    // for the first agent to free up, "Agent-first launch"; 95.4 % with some early rings before)
    const floor = strategy === 'customer_first' ? 0.95 : 0.85;
    assert.ok(inside / completed.length >= floor, `${inside}/${completed.length} rang inside the quoted range`);
    // Neither rings early: CF is held until its range, AF launches at the range start and rings
    // only after an agent accepted.
    assert.equal(early, 0, `${early} early`);
  });
}
