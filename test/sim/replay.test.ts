/**
 * Shadow replay: every call goes to the agent who really answered it, at the moment it was
 * answered, and waits as a pending task until then.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineEvent } from '../../src/engine/index.ts';
import { checkInvariants } from '../../src/engine/invariants.ts';
import { importAnonymousBank, parseRow, type CallRecord } from '../../src/sim/anonymous-bank.ts';
import { replayCalls, UNIDENTIFIED_AGENT } from '../../src/sim/replay.ts';

const SAMPLE = fileURLToPath(new URL('../../../shared/data/anonymous-bank-1999-02-01_14.tsv', import.meta.url));

function call(fields: string): CallRecord {
  const c = parseRow(fields.split(' '), 2);
  if (typeof c === 'string') throw new Error(c);
  return c;
}

test('a queued call waits pending, then is reserved to and accepted by its real agent, then completes', () => {
  const calls = [
    call('AA0101 1 5 2 PS 990201 8:19:40 8:19:47 7 8:19:47 8:20:21 34 AGENT 8:20:20 8:22:04 104 MICHAL'),
    call('AA0101 2 6 1 PS 990201 8:19:50 8:19:55 5 8:19:55 8:20:30 35 HANG 0:00:00 0:00:00 0 NO_SERVER'),
    call('AA0101 3 7 0 NE 990201 8:20:00 8:20:10 10 0:00:00 0:00:00 0 AGENT 8:20:10 8:21:00 50 NO_SERVER'),
  ];
  const seen: EngineEvent[] = [];
  const states: string[] = [];
  const summary = replayCalls(calls, {
    onEvent: (e) => seen.push(e),
    onTaskCreated: (c, sid, engine) => {
      states.push(`${c.key}:${engine.tasks.get(sid)?.assignmentStatus}`);
      checkInvariants(engine);
    },
  });
  assert.deepEqual(states, ['AA0101-1:pending', 'AA0101-2:pending', 'AA0101-3:pending']);
  assert.equal(summary.agents, 2, 'MICHAL and the unidentified agent');
  const accepted = seen.filter((e) => e.eventType === 'reservation.accepted');
  assert.deepEqual(
    accepted.map((e) => [JSON.parse(e.data['task_attributes'] as string).call_key, e.data['worker_name'], e.data['task_age'], e.at]),
    [
      ['AA0101-3', UNIDENTIFIED_AGENT, 0, Date.UTC(1999, 1, 1, 8, 20, 10)],
      ['AA0101-1', 'MICHAL', 34, Date.UTC(1999, 1, 1, 8, 20, 21)],
    ],
  );
  const canceled = seen.filter((e) => e.eventType === 'task.canceled');
  assert.equal(canceled.length, 1);
  assert.equal(canceled[0]?.data['task_canceled_reason'], 'hangup');
  assert.equal(canceled[0]?.data['task_age'], 35);
  const created = seen.find((e) => e.eventType === 'task.created');
  assert.deepEqual(JSON.parse(created?.data['task_attributes'] as string), { type: 'PS', priority: 2, customer_id: '5', call_key: 'AA0101-1' });
  assert.equal(seen.filter((e) => e.eventType === 'reservation.created').length, 2, 'no reservation besides the real answers');
  assert.ok(checkInvariants(summary.engine) === undefined);
});

test('on the sample, every answered call is accepted by the agent who really answered it', async () => {
  const { calls } = await importAnonymousBank(SAMPLE);
  const byKey = new Map(calls.map((c) => [c.key, c]));
  let checked = 0;
  replayCalls(calls, {
    onEvent: (e) => {
      if (e.eventType === 'reservation.created') {
        const key = JSON.parse(e.data['task_attributes'] as string).call_key as string;
        const c = byKey.get(key);
        assert.ok(c !== undefined && c.outcome === 'AGENT', `${key} was reserved but not answered in the log`);
        assert.equal(e.data['worker_name'], c.server ?? UNIDENTIFIED_AGENT, `${key} went to the wrong agent`);
        assert.equal(e.data['task_age'], c.waitS, `${key} was reserved at the wrong moment`);
        checked += 1;
      }
    },
  });
  assert.equal(checked, calls.filter((c) => c.outcome === 'AGENT').length);
});
