/**
 * Workflow routing (spec §4.2–§4.4): cumulative step deadlines, deadlines reached while
 * reserved, workflow timeout, skip_if, default_filter, known workers, target expressions,
 * order_by and re-evaluation on workflow update.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixture, type Row } from './test-helpers.ts';

const CREATED = ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered'] as const;
/** A step timeout into another queue (spec §5.2). */
const MOVED_ON = ['task-queue.timeout', 'task-queue.moved', 'workflow.target-matched', 'task-queue.entered'] as const;
/** A skip into another queue: no task-queue.timeout. */
const SKIPPED_ON = ['task-queue.moved', 'workflow.target-matched', 'task-queue.entered'] as const;
const WORKFLOW_TIMEOUT = ['task-queue.timeout', 'workflow.timeout', 'task.canceled'] as const;
const SKIP_IF_EMPTY = 'workers.available == 0';

/** Queues Q1–Q3, each for workers whose `skill` attribute names it. */
function queues(fx: Fixture): [string, string, string] {
  return [fx.queue('Q1', { targetWorkers: 'skill == "q1"' }), fx.queue('Q2', { targetWorkers: 'skill == "q2"' }), fx.queue('Q3', { targetWorkers: 'skill == "q3"' })];
}

function filter(expression: string, targets: object[], name = expression): object {
  return { filter_friendly_name: name, expression, targets };
}

describe('step deadlines (spec §4.2)', () => {
  test('three 10 s targets move the task at 10 s and 20 s and time the workflow out at 30 s', () => {
    const fx = new Fixture();
    const [q1, q2, q3] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 10 }, { queue: q2, timeout: 10 }, { queue: q3, timeout: 10 }])] } });
    const outcomes = fx.play([
      [0, { type: 'createTask' }, CREATED, 't'],
      [9.999, 'tick', []],
      [10, 'tick', MOVED_ON, undefined, () => assert.equal(fx.taskRecord('t').taskQueueSid, q2)],
      [20, 'tick', MOVED_ON, undefined, () => assert.equal(fx.taskRecord('t').taskQueueSid, q3)],
      [29.999, 'tick', []],
      [30, 'tick', WORKFLOW_TIMEOUT],
    ]);
    const [timeout, moved, matched, entered] = outcomes[2]?.events ?? [];
    assert.deepEqual(
      [timeout?.data['task_queue_sid'], moved?.data['task_queue_sid'], moved?.data['task_queue_moved_to_sid'], matched?.data['target_index'], entered?.data['task_queue_sid']],
      [q1, q1, q2, 1, q2],
    );
    assert.equal(fx.status('t'), 'canceled');
    assert.equal(fx.taskRecord('t').reason, 'Workflow Timeout');
  });

  test('deadlines are cumulative: a step entered at once by a skip still expires at the sum', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 10, skip_if: SKIP_IF_EMPTY }, { queue: q2, timeout: 10 }])] } });
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, ...SKIPPED_ON], 't'],
      [19.999, 'tick', []],
      [20, 'tick', WORKFLOW_TIMEOUT],
    ]);
  });

  test('a deadline reached while reserved is acted on when the reservation ends; the next step keeps its cumulative deadline', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 10 }, { queue: q2, timeout: 10 }])] } }, { taskReservationTimeoutS: 15 });
    fx.worker('alice', { skill: 'q1' });
    const late = fx.worker('late', { skill: 'q1' }, 'Offline');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [10, 'tick', [], undefined, () => assert.equal(fx.status('t'), 'reserved')],
      // The step is over: a worker of Q1 becoming available gets nothing.
      [12, fx.setActivity(late, 'Available'), ['worker.activity.update']],
      [15, 'tick', ['reservation.timeout', 'worker.activity.update', ...MOVED_ON], undefined, () => assert.equal(fx.taskRecord('t').taskQueueSid, q2)],
      // Entered step 2 at 15 s; it still ends at 10 + 10 = 20 s, not 30 s.
      [19.999, 'tick', []],
      [20, 'tick', WORKFLOW_TIMEOUT],
    ]);
  });

  test('a reservation timing out at the very instant of the step deadline moves the task on, not to another worker of the step', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 10 }, { queue: q2 }])] } }, { taskReservationTimeoutS: 10 });
    fx.worker('alice', { skill: 'q1' });
    fx.worker('bob', { skill: 'q1' });
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [10, 'tick', ['reservation.timeout', 'worker.activity.update', ...MOVED_ON]],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'timeout']]);
    assert.equal(fx.taskRecord('t').taskQueueSid, q2);
  });

  test('multi-reservation past the step deadline: no slot is refilled, the task moves when the last one ends', () => {
    const fx = new Fixture();
    const q1 = fx.queue('Q1', { targetWorkers: 'skill == "q1"', maxReservedWorkers: 2 });
    const q2 = fx.queue('Q2', { targetWorkers: 'skill == "q2"' });
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 10 }, { queue: q2 }])] } });
    const ann = fx.worker('ann', { skill: 'q1' });
    const ben = fx.worker('ben', { skill: 'q1' });
    const cat = fx.worker('cat', { skill: 'q1' }, 'Offline');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created', 'reservation.created'], 't'],
      [10, 'tick', []],
      [11, fx.setActivity(cat, 'Available'), ['worker.activity.update']],
      [12, fx.setReservation('t', ann, 'rejected'), ['reservation.rejected'], undefined, () => assert.equal(fx.status('t'), 'reserved')],
      [13, fx.setReservation('t', ben, 'rejected'), ['reservation.rejected', ...MOVED_ON], undefined, () => assert.equal(fx.taskRecord('t').taskQueueSid, q2)],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['ann', 'rejected'], ['ben', 'rejected']]);
  });

  test('a reservation accepted after its step deadline keeps the task in that step', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 10 }, { queue: q2 }])] } });
    const alice = fx.worker('alice', { skill: 'q1' });
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [10, 'tick', []],
      [12, fx.accept('t', alice), ['reservation.accepted']],
      [100, 'tick', []],
    ]);
    assert.deepEqual([fx.status('t'), fx.taskRecord('t').taskQueueSid], ['assigned', q1]);
  });

  test('the next filter after a timeout counts its steps from its own entry', () => {
    const fx = new Fixture();
    const [q1, q2, q3] = queues(fx);
    fx.workflow({
      task_routing: {
        filters: [
          filter('type == "x"', [{ queue: q3, timeout: 8 }], 'first'),
          filter('1==1', [{ queue: q1, timeout: 10, skip_if: SKIP_IF_EMPTY }, { queue: q2, timeout: 10 }], 'second'),
        ],
      },
    });
    const outcomes = fx.play([
      [0, { type: 'createTask', attributes: '{"type":"x"}' }, CREATED, 't'],
      [8, 'tick', [...MOVED_ON, ...SKIPPED_ON]],
      [27.999, 'tick', []],
      [28, 'tick', WORKFLOW_TIMEOUT],
    ]);
    assert.equal(outcomes[1]?.events[2]?.data['filter_friendly_name'], 'second');
  });

  test('a step without a timeout is terminal: the task waits there until its TTL', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 5 }, { queue: q2 }])] } });
    fx.play([
      [0, { type: 'createTask', timeoutS: 3600 }, CREATED, 't'],
      [5, 'tick', MOVED_ON],
      [3599, 'tick', []],
      [3600, 'tick', ['task.canceled']],
    ]);
    assert.equal(fx.taskRecord('t').reason, 'Task TTL Exceeded');
  });

  test('a later target without a queue inherits the previous one', () => {
    const fx = new Fixture();
    const [q1] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, timeout: 5 }, { priority: 9 }])] } });
    fx.play([
      [0, { type: 'createTask' }, CREATED, 't'],
      // Same queue: no task-queue.moved.
      [5, 'tick', ['task-queue.timeout', 'workflow.target-matched', 'task-queue.entered']],
    ]);
    assert.deepEqual([fx.taskRecord('t').taskQueueSid, fx.taskRecord('t').priority], [q1, 9]);
  });
});

describe('skip_if (spec §4.2)', () => {
  function skipping(config: (q: [string, string, string]) => object): Fixture {
    const fx = new Fixture();
    fx.workflow(config(queues(fx)));
    return fx;
  }

  const rows: [name: string, config: (q: [string, string, string]) => object, events: Row[2], reason: string | null][] = [
    [
      'to the next target',
      ([q1, q2]) => ({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: SKIP_IF_EMPTY }, { queue: q2 }])] } }),
      [...CREATED, ...SKIPPED_ON],
      null,
    ],
    [
      'at the last target to the next matching filter',
      ([q1, q2]) => ({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: SKIP_IF_EMPTY }]), filter('1==1', [{ queue: q2 }])] } }),
      [...CREATED, ...SKIPPED_ON],
      null,
    ],
    [
      'at the last target with no further filter to the default filter',
      ([q1, , q3]) => ({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: SKIP_IF_EMPTY }])], default_filter: { queue: q3 } } }),
      [...CREATED, ...SKIPPED_ON],
      null,
    ],
    [
      'at the last target with nowhere to go: workflow.skipped cancels the task',
      ([q1]) => ({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: SKIP_IF_EMPTY }])] } }),
      [...CREATED, 'workflow.skipped', 'task.canceled'],
      'Workflow Skipped',
    ],
    [
      'false: the task stays',
      ([q1, q2]) => ({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: 'workers.available > 0' }, { queue: q2 }])] } }),
      CREATED,
      null,
    ],
  ];
  for (const [name, config, events, reason] of rows) {
    test(`skip ${name}`, () => {
      const fx = skipping(config);
      fx.play([[0, { type: 'createTask' }, events, 't']]);
      assert.equal(fx.taskRecord('t').reason, reason);
    });
  }

  test('skip_if counts members in an available activity whatever their capacity', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    const other = fx.queue('Other', { targetWorkers: 'skill == "q1"' });
    const elsewhere = fx.workflow({ task_routing: { default_filter: { queue: other } } });
    const main = fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: SKIP_IF_EMPTY }, { queue: q2 }])] } });
    const alice = fx.worker('alice', { skill: 'q1' });
    fx.play([
      [0, { type: 'createTask', workflowSid: elsewhere }, [...CREATED, 'reservation.created'], 'busy'],
      [1, fx.accept('busy', alice), ['reservation.accepted']],
      // alice is busy but Available: Q1 has one available worker, so no skip.
      [2, { type: 'createTask', workflowSid: main }, CREATED, 't'],
      // skip_if is checked only at step entry: alice going Offline does not skip the task now.
      [3, fx.setActivity(alice, 'Offline'), ['worker.activity.update']],
    ]);
    assert.equal(fx.taskRecord('t').taskQueueSid, q1);
  });

  test('skip_if is not checked when a reservation was created at once', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: '1 == 1' }, { queue: q2 }])] } });
    fx.worker('alice', { skill: 'q1' });
    fx.play([[0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't']]);
    assert.equal(fx.taskRecord('t').taskQueueSid, q1);
  });

  test('skip_if reads workers.<ActivitySid> counts', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    fx.worker('alice', { skill: 'q1' }, 'Unavailable');
    const skipIf = `workers.${fx.activity('Unavailable')} == 1 AND workers.unavailable == 1`;
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue: q1, skip_if: skipIf }, { queue: q2 }])] } });
    fx.play([[0, { type: 'createTask' }, [...CREATED, ...SKIPPED_ON], 't']]);
  });
});

describe('filters and the default filter (spec §4.2)', () => {
  test('only the first matching filter is used; the default filter only when none matched', () => {
    const fx = new Fixture();
    const [q1, q2, q3] = queues(fx);
    fx.workflow({
      task_routing: {
        filters: [filter('type == "a"', [{ queue: q1, timeout: 10 }]), filter('type == "a" OR type == "b"', [{ queue: q2 }])],
        default_filter: { queue: q3 },
      },
    });
    fx.play([
      [0, { type: 'createTask', attributes: '{"type":"a"}' }, CREATED, 'a'],
      [0, { type: 'createTask', attributes: '{"type":"b"}' }, CREATED, 'b'],
      [0, { type: 'createTask', attributes: '{"type":"c"}' }, CREATED, 'c'],
      // "a" times out of its only target: the later filter that also matches is next, never the default.
      [10, 'tick', MOVED_ON],
    ]);
    assert.deepEqual(['a', 'b', 'c'].map((t) => fx.taskRecord(t).taskQueueSid), [q2, q2, q3]);
  });

  test('the default filter is no fallback after a timeout', () => {
    const fx = new Fixture();
    const [q1, , q3] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('type == "a"', [{ queue: q1, timeout: 10 }])], default_filter: { queue: q3 } } });
    fx.play([
      [0, { type: 'createTask', attributes: '{"type":"a"}' }, CREATED, 't'],
      [10, 'tick', WORKFLOW_TIMEOUT],
    ]);
  });

  test('no matching filter and no default filter cancels the task at once', () => {
    const fx = new Fixture();
    const [q1] = queues(fx);
    fx.workflow({ task_routing: { filters: [filter('type == "a"', [{ queue: q1 }])] } });
    const [created] = fx.play([[0, { type: 'createTask', attributes: '{"type":"z"}' }, ['task.created', 'workflow.entered', 'workflow.timeout', 'task.canceled'], 't']]);
    assert.equal(created?.events[3]?.data['task_canceled_reason'], 'No matching filter');
    assert.equal(fx.taskRecord('t').taskQueueSid, null);
  });

  test('filter expressions read task attributes; taskrouter.* reads the command time (UTC)', () => {
    const fx = new Fixture();
    const [q1, q2] = queues(fx);
    // T0 is a Monday, 12:00 UTC.
    fx.workflow({
      task_routing: {
        filters: [filter('taskrouter.dayOfWeek == "Mon" AND taskrouter.currentTime >= 1200 AND customer.tier == "gold"', [{ queue: q1 }])],
        default_filter: { queue: q2 },
      },
    });
    fx.play([
      [0, { type: 'createTask', attributes: '{"customer":{"tier":"gold"}}' }, CREATED, 'gold'],
      [0, { type: 'createTask', attributes: '{"customer":{"tier":"silver"}}' }, CREATED, 'silver'],
    ]);
    assert.deepEqual([fx.taskRecord('gold').taskQueueSid, fx.taskRecord('silver').taskQueueSid], [q1, q2]);
  });

  test('ReEvaluateTasks re-routes waiting tasks with the new configuration; without it they keep the old plan', () => {
    const fx = new Fixture();
    const [q1, q2, q3] = queues(fx);
    const wf = fx.workflow({ task_routing: { default_filter: { queue: q1 } } });
    fx.play([
      [0, { type: 'createTask' }, CREATED, 't'],
      [1, { type: 'updateWorkflow', workflowSid: wf, configuration: JSON.stringify({ task_routing: { default_filter: { queue: q2 } } }) }, ['workflow.updated']],
      [
        2,
        { type: 'updateWorkflow', workflowSid: wf, configuration: JSON.stringify({ task_routing: { default_filter: { queue: q3 } } }), reEvaluateTasks: true },
        ['workflow.updated', 'task-queue.moved', 'workflow.target-matched', 'task-queue.entered'],
      ],
    ]);
    assert.equal(fx.taskRecord('t').taskQueueSid, q3);
  });
});

describe('known workers (spec §4.2)', () => {
  /** One queue for everybody; step 1 is the known worker for 10 s, step 2 anyone. */
  function known(key: 'known_worker_sid' | 'known_worker_friendly_name', reference: string, extra: object = {}): { fx: Fixture; alice: string; bob: string } {
    const fx = new Fixture();
    const queue = fx.queue('Q', { targetWorkers: 'member == true' });
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue, timeout: 10, [key]: reference, ...extra }, { queue }])] } });
    const alice = fx.worker('alice', { member: true, level: 1 });
    const bob = fx.worker('bob', { member: true, level: 2 });
    return { fx, alice, bob };
  }
  const NEXT_STEP_SAME_QUEUE = ['task-queue.timeout', 'workflow.target-matched', 'task-queue.entered'] as const;

  test('known_worker_sid offers the task only to that worker', () => {
    const { fx, bob } = known('known_worker_sid', 'task.agent');
    fx.play([[0, { type: 'createTask', attributes: JSON.stringify({ agent: bob }) }, [...CREATED, 'reservation.created'], 't']]);
    assert.deepEqual(fx.reservationSummary('t'), [['bob', 'pending']]);
  });

  test('known_worker_friendly_name matches the name case-insensitively', () => {
    const { fx } = known('known_worker_friendly_name', 'task.agent_name');
    fx.play([[0, { type: 'createTask', attributes: '{"agent_name":"BOB"}' }, [...CREATED, 'reservation.created'], 't']]);
    assert.deepEqual(fx.reservationSummary('t'), [['bob', 'pending']]);
  });

  const waits: [name: string, attributes: (alice: string) => object][] = [
    ['an unknown worker SID', () => ({ agent: 'WK' + 'e'.repeat(32) })],
    ['a missing reference', () => ({})],
    ['a null reference', () => ({ agent: null })],
  ];
  for (const [name, attributes] of waits) {
    test(`${name} waits for the step timeout, then the next step offers it to anyone`, () => {
      const { fx, alice } = known('known_worker_sid', 'task.agent');
      fx.play([
        [0, { type: 'createTask', attributes: JSON.stringify(attributes(alice)) }, CREATED, 't'],
        [10, 'tick', [...NEXT_STEP_SAME_QUEUE, 'reservation.created']],
      ]);
      assert.deepEqual(fx.reservationSummary('t'), [['alice', 'pending']]);
    });
  }

  test('a busy known worker is waited for; nobody else takes the task', () => {
    const { fx, alice, bob } = known('known_worker_sid', 'task.agent');
    fx.ok(fx.setActivity(bob, 'Offline')());
    fx.play([
      [0, { type: 'createTask', attributes: JSON.stringify({ agent: bob }) }, CREATED, 't'],
      [3, fx.setActivity(alice, 'Unavailable'), ['worker.activity.update']],
      [4, fx.setActivity(alice, 'Available'), ['worker.activity.update']],
      [5, fx.setActivity(bob, 'Available'), ['worker.activity.update', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['bob', 'pending']]);
  });

  test('a known worker outside the step queue gets nothing', () => {
    const { fx } = known('known_worker_sid', 'task.agent');
    const outsider = fx.worker('outsider', { member: false });
    fx.play([[0, { type: 'createTask', attributes: JSON.stringify({ agent: outsider }) }, CREATED, 't']]);
  });

  test('the target expression applies to the known worker as well', () => {
    const { fx, bob } = known('known_worker_sid', 'task.agent', { expression: 'worker.level >= task.min_level' });
    fx.play([
      [0, { type: 'createTask', attributes: JSON.stringify({ agent: bob, min_level: 3 }) }, CREATED, 'too-high'],
      [0, { type: 'createTask', attributes: JSON.stringify({ agent: bob, min_level: 2 }) }, [...CREATED, 'reservation.created'], 'ok'],
    ]);
  });
});

describe('target expressions and order_by (spec §4.2, §3.4, §7.2)', () => {
  function targeted(target: object): Fixture {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow({ task_routing: { filters: [filter('1==1', [{ queue, ...target }])] } });
    return fx;
  }

  test('task. and worker. keys pick the worker; a non-matching ready worker is skipped', () => {
    const fx = targeted({ expression: 'task.lang IN worker.langs AND worker.activity_name == "Available"' });
    const alice = fx.worker('alice', { langs: ['en'] });
    fx.worker('bob', { langs: ['en', 'es'] });
    fx.play([
      [0, { type: 'createTask', attributes: '{"lang":"es"}' }, [...CREATED, 'reservation.created'], 'es'],
      [1, { type: 'createTask', attributes: '{"lang":"fr"}' }, CREATED, 'fr'],
      [2, () => ({ type: 'createWorker', friendlyName: 'carl', attributes: '{"langs":["fr"]}', activitySid: fx.activity('Available') }), ['worker.created', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('es'), [['bob', 'pending']]);
    assert.deepEqual(fx.reservationSummary('fr'), [['carl', 'pending']]);
    assert.equal(fx.workerRecord(alice).openReservations.size, 0);
  });

  test('worker.channel.* reads capacity state', () => {
    const fx = targeted({ expression: 'worker.channel.default.available_capacity_percentage >= 50' });
    const alice = fx.worker('alice');
    fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'default', capacity: 4 });
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 'one'],
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 'two'],
      // 2 of 4 active: 50 % left, still allowed; the fourth would need 25 % ≥ 50 %.
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 'three'],
      [0, { type: 'createTask' }, CREATED, 'four'],
    ]);
  });

  const orders: [orderBy: string, expected: string][] = [
    ['worker.level DESC', 'bob'],
    ['worker.level ASC', 'alice'],
    ['worker.level desc, worker.age ASC', 'bob'],
    ['worker.rank DESC', 'carl'],
    ['worker.rank ASC', 'carl'],
    ['worker.missing DESC', 'alice'],
  ];
  for (const [orderBy, expected] of orders) {
    test(`order_by "${orderBy}" reserves ${expected}`, () => {
      const fx = targeted({ order_by: orderBy });
      // alice is the longest idle; "rank" only carl has (missing sorts last both ways).
      fx.worker('alice', { level: 1, age: 30 });
      fx.worker('bob', { level: 5, age: 40 });
      fx.worker('carl', { level: 3, rank: 1 });
      const sid = fx.task().sid as string;
      assert.deepEqual(fx.reservationSummary(sid), [[expected, 'pending']]);
    });
  }
});
