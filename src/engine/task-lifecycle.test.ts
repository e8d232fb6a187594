/**
 * Task lifecycle (spec §5.2): every transition with the exact event types in order, the status
 * rules (cancel only from pending/reserved, wrap only from assigned, terminal is immutable), TTL,
 * the 1,000-cycle cap, purge, delete, re-routing on update and If-Match.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskStatus } from './model.ts';
import { at, Fixture, oneFilter, types, type Cmd, type Row } from './test-helpers.ts';

/** One queue for everybody and a workflow with one filter sending every task there. */
function support(): { fx: Fixture; queue: string; workflow: string } {
  const fx = new Fixture();
  const queue = fx.queue('Support');
  const workflow = fx.workflow(oneFilter([{ queue }]));
  return { fx, queue, workflow };
}

const CREATED = ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered'] as const;

/** Asserts the task's status after a row. */
function statusIs(fx: Fixture, task: string, status: TaskStatus): () => void {
  return () => assert.equal(fx.status(task), status);
}

describe('task transitions (spec §5.2)', () => {
  test('pending → reserved → assigned → wrapping → completed → purged 5 minutes later', () => {
    const { fx } = support();
    const alice = fx.worker('alice', {}, 'Offline');
    const rows: Row[] = [
      [0, { type: 'createTask', attributes: '{"type":"support"}' }, CREATED, 't', statusIs(fx, 't', 'pending')],
      [5, fx.setActivity(alice, 'Available'), ['worker.activity.update', 'reservation.created'], undefined, statusIs(fx, 't', 'reserved')],
      [9, fx.accept('t', alice), ['reservation.accepted'], undefined, statusIs(fx, 't', 'assigned')],
      [60, fx.setStatus('t', 'wrapping'), ['task.wrapup', 'reservation.wrapup'], undefined, statusIs(fx, 't', 'wrapping')],
      [90, fx.setStatus('t', 'completed', 'resolved'), ['task.completed', 'reservation.completed'], undefined, statusIs(fx, 't', 'completed')],
      [389.999, 'tick', [], undefined, statusIs(fx, 't', 'completed')],
      [390, 'tick', ['task.system-deleted'], undefined, () => assert.equal(fx.engine.tasks.has(fx.$('t')), false)],
    ];
    const outcomes = fx.play(rows);
    const completed = outcomes[4]?.events[0];
    assert.equal(completed?.data['task_completed_reason'], 'resolved');
    assert.equal(completed?.data['task_assignment_status'], 'completed');
    assert.equal(completed?.data['task_age'], 90);
    // The purge also drops the reservations.
    assert.equal(fx.engine.reservations.size, 0);
  });

  test('creating a task while a worker is available reserves it at once', () => {
    const { fx, queue, workflow } = support();
    const alice = fx.worker('alice');
    const outcome = fx.task({ type: 'support' }, { at: at(3) });
    assert.deepEqual(types(outcome.events), [...CREATED, 'reservation.created']);
    const task = fx.taskRecord(outcome.sid as string);
    assert.equal(task.assignmentStatus, 'reserved');
    assert.equal(task.taskQueueSid, queue);
    assert.equal(task.taskQueueEnteredAt, at(3));
    const [r] = fx.reservations(task.sid);
    assert.deepEqual(
      { worker: r?.workerSid, status: r?.reservationStatus, queue: r?.taskQueueSid, workflow: r?.workflowSid, timeoutAt: r?.timeoutAt },
      { worker: alice, status: 'pending', queue, workflow, timeoutAt: at(3 + 120) },
    );
    const created = outcome.events[4];
    assert.equal(created?.resourceType, 'reservation');
    assert.equal(created?.resourceSid, r?.sid);
    assert.deepEqual(
      [created?.data['task_sid'], created?.data['worker_sid'], created?.data['reservation_sid'], created?.data['task_queue_sid'], created?.data['workflow_sid']],
      [task.sid, alice, r?.sid, queue, workflow],
    );
  });

  test('task.created carries the task group before it enters a queue', () => {
    const { fx } = support();
    const outcome = fx.task({ lang: 'en' }, { at: at(0), priority: 4 });
    const [created, entered, matched, queued] = outcome.events;
    assert.equal(created?.resourceType, 'task');
    assert.deepEqual(
      {
        age: created?.data['task_age'],
        priority: created?.data['task_priority'],
        status: created?.data['task_assignment_status'],
        attributes: created?.data['task_attributes'],
        channel: created?.data['task_channel_unique_name'],
        enteredQueue: created?.data['task_queue_entered_date'],
        version: created?.data['task_version'],
      },
      { age: 0, priority: 4, status: 'pending', attributes: '{"lang":"en"}', channel: 'default', enteredQueue: null, version: 0 },
    );
    assert.equal(entered?.data['workflow_name'], 'Workflow 1');
    assert.equal(matched?.data['filter_friendly_name'], 'F');
    assert.equal(matched?.data['target_index'], 0);
    assert.equal(queued?.data['task_queue_name'], 'Support');
    assert.equal(queued?.data['task_queue_entered_date'], Math.floor(at(0) / 1000));
  });

  test('reserved → pending when its only reservation ends unaccepted', () => {
    const cases: [how: string, row: (fx: Fixture, alice: string) => Row, activity: string][] = [
      ['rejected with an activity', (fx, alice) => [7, fx.setReservation('t', alice, 'rejected', 'Unavailable'), ['reservation.rejected', 'worker.activity.update']], 'Unavailable'],
      ['timed out', () => [120, 'tick', ['reservation.timeout', 'worker.activity.update']], 'Offline'],
    ];
    for (const [how, row, activity] of cases) {
      const { fx } = support();
      const alice = fx.worker('alice');
      fx.play([[0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'], row(fx, alice)]);
      assert.equal(fx.status('t'), 'pending', how);
      assert.equal(fx.activityOf(alice), activity, how);
      assert.equal(fx.taskRecord('t').listedIn, 'waiting', how);
    }
  });

  test('assigned → completed directly, with the reason stored', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [2, fx.accept('t', alice), ['reservation.accepted']],
      [30, fx.setStatus('t', 'completed', 'done'), ['task.completed', 'reservation.completed']],
    ]);
    assert.equal(fx.taskRecord('t').reason, 'done');
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'completed']]);
    // Completing frees the capacity: the next task goes straight to alice.
    assert.deepEqual(types(fx.task({}, { at: at(31) }).events), [...CREATED, 'reservation.created']);
  });

  test('wrapping and completion through ReservationStatus move the task with the reservation', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [2, fx.accept('t', alice), ['reservation.accepted']],
      [20, fx.setReservation('t', alice, 'wrapping'), ['task.wrapup', 'reservation.wrapup'], undefined, statusIs(fx, 't', 'wrapping')],
      [25, fx.setReservation('t', alice, 'completed'), ['task.completed', 'reservation.completed'], undefined, statusIs(fx, 't', 'completed')],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'completed']]);
  });

  test('an accepted reservation completes without wrapping', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [2, fx.accept('t', alice), ['reservation.accepted']],
      [25, fx.setReservation('t', alice, 'completed'), ['task.completed', 'reservation.completed'], undefined, statusIs(fx, 't', 'completed')],
    ]);
  });

  test('cancel from pending and from reserved (reservations canceled first)', () => {
    const { fx } = support();
    const alice = fx.worker('alice', {}, 'Offline');
    const bob = fx.worker('bob');
    const outcomes = fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 'waiting', statusIs(fx, 'waiting', 'reserved')],
      [1, { type: 'createTask' }, CREATED, 'queued', statusIs(fx, 'queued', 'pending')],
      [4, fx.setStatus('queued', 'canceled', 'hung up'), ['task.canceled'], undefined, statusIs(fx, 'queued', 'canceled')],
      [6, fx.setStatus('waiting', 'canceled'), ['reservation.canceled', 'task.canceled'], undefined, statusIs(fx, 'waiting', 'canceled')],
    ]);
    assert.equal(outcomes[2]?.events[0]?.data['task_canceled_reason'], 'hung up');
    assert.equal(fx.taskRecord('queued').reason, 'hung up');
    assert.equal(fx.taskRecord('waiting').reason, null);
    assert.deepEqual(fx.reservationSummary('waiting'), [['bob', 'canceled']]);
    assert.equal(fx.activityOf(bob), 'Available');
    assert.equal(fx.activityOf(alice), 'Offline');
    // Both left their queue: nothing is waiting any more.
    assert.equal([...fx.engine.queues.values()][0]?.tasks.size, 0);
  });
});

describe('refused status changes (spec §5.2 rules)', () => {
  /** Drives a fresh task to `status` and returns the fixture and task SID. */
  function taskIn(status: TaskStatus): { fx: Fixture; task: string } {
    const { fx } = support();
    const alice = fx.worker('alice', {}, status === 'pending' ? 'Offline' : 'Available');
    const task = fx.task({}, { at: at(0) }).sid as string;
    const steps: Record<TaskStatus, (() => Cmd)[]> = {
      pending: [],
      reserved: [],
      assigned: [fx.accept(task, alice)],
      wrapping: [fx.accept(task, alice), fx.setStatus(task, 'wrapping')],
      completed: [fx.accept(task, alice), fx.setStatus(task, 'completed')],
      canceled: [fx.setStatus(task, 'canceled')],
    };
    for (const step of steps[status]) fx.ok(step());
    assert.equal(fx.status(task), status);
    return { fx, task };
  }

  const cancel = (t: string, from: string): string => `Cannot cancel task ${t} because it is not pending or reserved (it is ${from})`;
  const wrap = (t: string, from: string): string => `Cannot wrap up task ${t} because it's not currently assigned (it is ${from})`;
  const complete = (t: string, from: string): string => `Cannot complete task ${t} because it is not assigned or wrapping (it is ${from})`;
  const notSettable = (_t: string, _from: string, to = ''): string => `AssignmentStatus can be set to canceled, wrapping or completed, not ${to}`;

  const rows: [from: TaskStatus, to: TaskStatus, code: string, message: (t: string, from: string, to?: string) => string][] = [
    ['assigned', 'canceled', 'invalid_state', cancel],
    ['wrapping', 'canceled', 'invalid_state', cancel],
    ['completed', 'canceled', 'invalid_state', cancel],
    ['canceled', 'canceled', 'invalid_state', cancel],
    ['pending', 'wrapping', 'invalid_state', wrap],
    ['reserved', 'wrapping', 'invalid_state', wrap],
    ['wrapping', 'wrapping', 'invalid_state', wrap],
    ['completed', 'wrapping', 'invalid_state', wrap],
    ['canceled', 'wrapping', 'invalid_state', wrap],
    ['pending', 'completed', 'invalid_state', complete],
    ['reserved', 'completed', 'invalid_state', complete],
    ['completed', 'completed', 'invalid_state', complete],
    ['canceled', 'completed', 'invalid_state', complete],
    ['pending', 'pending', 'invalid_parameter', notSettable],
    ['pending', 'reserved', 'invalid_parameter', notSettable],
    ['reserved', 'assigned', 'invalid_parameter', notSettable],
  ];
  for (const [from, to, code, message] of rows) {
    test(`${from} → ${to} is refused with ${code}`, () => {
      const { fx, task } = taskIn(from);
      const before = fx.engine.snapshot();
      const rejection = fx.refuse({ type: 'updateTask', taskSid: task, assignmentStatus: to });
      assert.deepEqual(rejection, { code, field: 'AssignmentStatus', message: message(task, from, to) });
      assert.deepEqual(fx.engine.snapshot(), before);
    });
  }

  const terminal: [status: TaskStatus, change: Partial<Extract<Cmd, { type: 'updateTask' }>>][] = [
    ['completed', { attributes: '{"x":1}' }],
    ['completed', { priority: 9 }],
    ['canceled', { attributes: '{"x":1}' }],
    ['canceled', { taskChannel: 'voice' }],
    ['canceled', { virtualStartTime: at(0) }],
  ];
  for (const [status, change] of terminal) {
    test(`a ${status} task is immutable: ${Object.keys(change).join()} is refused`, () => {
      const { fx, task } = taskIn(status);
      const before = fx.engine.snapshot();
      const rejection = fx.refuse({ type: 'updateTask', taskSid: task, ...change });
      assert.deepEqual(rejection, { code: 'invalid_state', message: `Task ${task} is ${status} and can no longer change` });
      assert.deepEqual(fx.engine.snapshot(), before);
    });
  }
});

describe('purge, assigned limit and delete', () => {
  test('a canceled task is purged 5 minutes later; afterwards it is unknown', () => {
    const { fx } = support();
    fx.play([
      [0, { type: 'createTask' }, CREATED, 't'],
      [10, fx.setStatus('t', 'canceled'), ['task.canceled']],
      [309.999, 'tick', []],
      [310, 'tick', ['task.system-deleted']],
      [311, fx.setStatus('t', 'canceled'), 'not_found'],
    ]);
    const rejection = fx.refuse({ type: 'deleteTask', taskSid: fx.$('t') });
    assert.deepEqual(rejection, { code: 'not_found', field: 'TaskSid', message: `Task ${fx.$('t')} was not found in workspace ${fx.engine.workspace.sid}` });
  });

  test('an assigned task is deleted by the system after 24 hours and frees its worker', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    const day = 24 * 3600;
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 'first'],
      [2, fx.accept('first', alice), ['reservation.accepted']],
      [3, { type: 'createTask', timeoutS: 1_209_600 }, CREATED, 'second'],
      [2 + day - 0.001, 'tick', []],
      [2 + day, 'tick', ['task.system-deleted', 'reservation.created']],
    ]);
    assert.equal(fx.engine.tasks.has(fx.$('first')), false);
    assert.deepEqual(fx.reservationSummary('second'), [['alice', 'pending']]);
  });

  test('a wrapping task is also deleted 24 hours after it was accepted', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [2, fx.accept('t', alice), ['reservation.accepted']],
      [100, fx.setStatus('t', 'wrapping'), ['task.wrapup', 'reservation.wrapup']],
      [2 + 24 * 3600, 'tick', ['task.system-deleted']],
    ]);
  });

  const deletions: [from: string, setup: (fx: Fixture) => void, events: Row[2]][] = [
    ['pending', () => undefined, ['task.deleted']],
    ['reserved', (fx) => fx.worker('alice'), ['reservation.canceled', 'task.deleted']],
    ['assigned', (fx) => fx.ok(fx.accept('t', fx.worker('alice'))()), ['task.deleted']],
    ['wrapping', (fx) => [fx.accept('t', fx.worker('alice')), fx.setStatus('t', 'wrapping')].forEach((c) => fx.ok(c())), ['task.deleted']],
    ['completed', (fx) => [fx.accept('t', fx.worker('alice')), fx.setStatus('t', 'completed')].forEach((c) => fx.ok(c())), ['task.deleted']],
    ['canceled', (fx) => fx.ok(fx.setStatus('t', 'canceled')()), ['task.deleted']],
  ];
  for (const [from, setup, events] of deletions) {
    test(`DELETE a ${from} task`, () => {
      const { fx } = support();
      fx.play([[0, { type: 'createTask' }, CREATED, 't']]);
      setup(fx);
      assert.equal(fx.status('t'), from);
      fx.play([[5, () => ({ type: 'deleteTask', taskSid: fx.$('t') }), events]]);
      assert.equal(fx.engine.tasks.has(fx.$('t')), false);
      assert.equal(fx.engine.reservations.size, 0);
    });
  }

  test('deleting an assigned task frees its worker for the next waiting task', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 'first'],
      [1, fx.accept('first', alice), ['reservation.accepted']],
      [2, { type: 'createTask' }, CREATED, 'second'],
      [3, () => ({ type: 'deleteTask', taskSid: fx.$('first') }), ['task.deleted', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('second'), [['alice', 'pending']]);
  });
});

describe('task TTL and the 1,000-cycle cap', () => {
  test('TTL cancels a pending task with "Task TTL Exceeded"', () => {
    const { fx } = support();
    const outcomes = fx.play([
      [0, { type: 'createTask', timeoutS: 60 }, CREATED, 't'],
      [59.999, 'tick', [], undefined, statusIs(fx, 't', 'pending')],
      [60, 'tick', ['task.canceled'], undefined, statusIs(fx, 't', 'canceled')],
    ]);
    assert.equal(outcomes[2]?.events[0]?.data['task_canceled_reason'], 'Task TTL Exceeded');
    assert.equal(fx.taskRecord('t').reason, 'Task TTL Exceeded');
  });

  test('TTL counts reserved time too: the open reservation is canceled and the worker keeps its activity', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask', timeoutS: 60 }, [...CREATED, 'reservation.created'], 't'],
      [60, 'tick', ['reservation.canceled', 'task.canceled'], undefined, statusIs(fx, 't', 'canceled')],
    ]);
    assert.equal(fx.activityOf(alice), 'Available');
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'canceled']]);
  });

  test('TTL runs from creation across several reservations', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    const bob = fx.worker('bob', {}, 'Offline');
    fx.play([
      [0, { type: 'createTask', timeoutS: 100 }, [...CREATED, 'reservation.created'], 't'],
      [40, fx.setReservation('t', alice, 'rejected', 'Offline'), ['reservation.rejected', 'worker.activity.update']],
      [50, fx.setActivity(bob, 'Available'), ['worker.activity.update', 'reservation.created']],
      [100, 'tick', ['reservation.canceled', 'task.canceled']],
    ]);
  });

  test('an assigned task is past TTL control', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask', timeoutS: 60 }, [...CREATED, 'reservation.created'], 't'],
      [10, fx.accept('t', alice), ['reservation.accepted']],
      [600, 'tick', [], undefined, statusIs(fx, 't', 'assigned')],
    ]);
  });

  test('the 1,000th pending→reserved cycle that ends unaccepted cancels the task', () => {
    const { fx } = support();
    const alice = fx.worker('alice');
    const task = fx.task({}, { at: at(0) }).sid as string;
    for (let cycle = 1; cycle < 1000; cycle++) {
      const outcome = fx.ok(fx.setReservation(task, alice, 'rejected')());
      assert.deepEqual(types(outcome.events), ['reservation.rejected', 'reservation.created'], `cycle ${cycle}`);
    }
    assert.equal(fx.taskRecord(task).reservationCycles, 1000);
    const last = fx.ok(fx.setReservation(task, alice, 'rejected')());
    assert.deepEqual(types(last.events), ['reservation.rejected', 'task.canceled']);
    assert.equal(fx.taskRecord(task).reason, 'Task TTL Exceeded or Max assignment count exceeded');
  });
});

describe('updates while waiting (spec §4.4, §5.2)', () => {
  /** Two filters by `type`: a → queue A (alice), b → queue B at priority 7 (bob). */
  function twoQueues(): { fx: Fixture; qa: string; qb: string; alice: string; bob: string } {
    const fx = new Fixture();
    const qa = fx.queue('A', { targetWorkers: 'skill == "a"' });
    const qb = fx.queue('B', { targetWorkers: 'skill == "b"' });
    fx.workflow({
      task_routing: {
        filters: [
          { filter_friendly_name: 'A', expression: 'type == "a"', targets: [{ queue: qa }] },
          { filter_friendly_name: 'B', expression: 'type == "b"', targets: [{ queue: qb, priority: 7 }] },
        ],
      },
    });
    const alice = fx.worker('alice', { skill: 'a' }, 'Offline');
    const bob = fx.worker('bob', { skill: 'b' });
    return { fx, qa, qb, alice, bob };
  }

  test('changing the attributes of a pending or reserved task re-routes it from the top', () => {
    const { fx, qa, qb, bob } = twoQueues();
    const attributes = (type: string) => () => ({ type: 'updateTask', taskSid: fx.$('t'), attributes: JSON.stringify({ type }) }) as Cmd;
    fx.play([
      [0, { type: 'createTask', attributes: '{"type":"a"}', priority: 2 }, CREATED, 't'],
      [
        5,
        attributes('b'),
        ['task.updated', 'task-queue.moved', 'workflow.target-matched', 'task-queue.entered', 'reservation.created'],
        undefined,
        () => assert.deepEqual([fx.taskRecord('t').taskQueueSid, fx.taskRecord('t').priority, fx.status('t')], [qb, 7, 'reserved']),
      ],
      [
        8,
        attributes('a'),
        ['task.updated', 'reservation.canceled', 'task-queue.moved', 'workflow.target-matched', 'task-queue.entered'],
        undefined,
        // Back to the create-time priority: the step that set 7 no longer applies.
        () => assert.deepEqual([fx.taskRecord('t').taskQueueSid, fx.taskRecord('t').priority, fx.status('t')], [qa, 2, 'pending']),
      ],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['bob', 'canceled']]);
    assert.equal(fx.activityOf(bob), 'Available');
    assert.equal(fx.taskRecord('t').taskQueueEnteredAt, at(8));
  });

  test('changing the channel of a pending task re-routes it and lets a worker with capacity there take it', () => {
    const { fx, qb, bob } = twoQueues();
    fx.ok({ type: 'updateWorkerChannel', workerSid: bob, workerChannel: 'chat', capacity: 0 });
    fx.play([
      [0, { type: 'createTask', attributes: '{"type":"b"}', taskChannel: 'chat' }, CREATED, 't'],
      [3, () => ({ type: 'updateTask', taskSid: fx.$('t'), taskChannel: 'voice' }), ['task.updated', 'workflow.target-matched', 'task-queue.entered', 'reservation.created']],
    ]);
    assert.deepEqual([fx.taskRecord('t').taskChannelSid, fx.taskRecord('t').taskQueueSid], [fx.channel('voice'), qb]);
  });

  test('changing the attributes of an assigned task does not re-route it', () => {
    const { fx, qb, bob } = twoQueues();
    fx.play([
      [0, { type: 'createTask', attributes: '{"type":"b"}' }, [...CREATED, 'reservation.created'], 't'],
      [1, fx.accept('t', bob), ['reservation.accepted']],
      [2, () => ({ type: 'updateTask', taskSid: fx.$('t'), attributes: '{"type":"a"}' }), ['task.updated']],
    ]);
    assert.deepEqual([fx.status('t'), fx.taskRecord('t').taskQueueSid, fx.taskRecord('t').attributesJson], ['assigned', qb, '{"type":"a"}']);
  });

  test('a priority update re-sorts the queue without re-routing', () => {
    const { fx } = support();
    const alice = fx.worker('alice', {}, 'Offline');
    fx.play([
      [0, { type: 'createTask' }, CREATED, 'old'],
      [1, { type: 'createTask' }, CREATED, 'middle'],
      [2, { type: 'createTask' }, CREATED, 'new'],
      [3, () => ({ type: 'updateTask', taskSid: fx.$('new'), priority: 5 }), ['task.updated']],
      [4, { type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'default', capacity: 3 }, ['worker.capacity.update']],
    ]);
    const served = fx.ok(fx.setActivity(alice, 'Available')());
    assert.deepEqual(types(served.events), ['worker.activity.update', 'reservation.created', 'reservation.created', 'reservation.created']);
    assert.deepEqual(
      served.events.slice(1).map((e) => e.data['task_sid']),
      [fx.$('new'), fx.$('old'), fx.$('middle')],
    );
    assert.equal(fx.taskRecord('new').priority, 5);
  });

  test('a VirtualStartTime update re-sorts the queue', () => {
    const { fx } = support();
    const alice = fx.worker('alice', {}, 'Offline');
    fx.play([
      [10, { type: 'createTask' }, CREATED, 'first'],
      [20, { type: 'createTask' }, CREATED, 'second'],
      [30, () => ({ type: 'updateTask', taskSid: fx.$('second'), virtualStartTime: at(5) }), ['task.updated']],
    ]);
    const served = fx.ok(fx.setActivity(alice, 'Available')());
    assert.equal(served.events[1]?.data['task_sid'], fx.$('second'));
  });

  test('If-Match: a stale task version is refused, the current one applies', () => {
    const { fx } = support();
    const task = fx.task({}, { at: at(0) }).sid as string;
    const version = fx.taskRecord(task).version;
    const before = fx.engine.snapshot();
    const stale = fx.refuse({ type: 'updateTask', taskSid: task, priority: 3, ifMatch: version - 1 });
    assert.deepEqual(stale, { code: 'version_mismatch', field: 'If-Match', message: `Task ${task} is at version ${version}, not ${version - 1} as If-Match requires` });
    assert.equal(fx.refuse({ type: 'deleteTask', taskSid: task, ifMatch: version + 1 }).code, 'version_mismatch');
    assert.deepEqual(fx.engine.snapshot(), before);
    fx.ok({ type: 'updateTask', taskSid: task, priority: 3, ifMatch: version });
    assert.equal(fx.taskRecord(task).version, version + 1);
    assert.equal(fx.refuse({ type: 'updateTask', taskSid: task, priority: 4, ifMatch: version }).code, 'version_mismatch');
    fx.ok({ type: 'deleteTask', taskSid: task, ifMatch: version + 1 });
  });
});

describe('priority (spec §4.3)', () => {
  const rows: [name: string, createPriority: number | undefined, target: object, expected: number][] = [
    ['neither sets it', undefined, {}, 0],
    ['create-time priority', 3, {}, 3],
    ['the target wins', 3, { priority: 10 }, 10],
    ['a numeric string target priority', undefined, { priority: '12' }, 12],
  ];
  for (const [name, createPriority, target, expected] of rows) {
    test(`${name} → ${expected}`, () => {
      const fx = new Fixture();
      const queue = fx.queue('Q');
      fx.workflow(oneFilter([{ queue, ...target }]));
      const sid = fx.task({}, createPriority === undefined ? {} : { priority: createPriority }).sid as string;
      assert.equal(fx.taskRecord(sid).priority, expected);
    });
  }

  test('the default filter priority applies too', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow({ task_routing: { default_filter: { queue, priority: 4 } } });
    const outcome = fx.task({}, { priority: 1 });
    assert.equal(fx.taskRecord(outcome.sid as string).priority, 4);
    assert.equal(outcome.events[3]?.data['task_priority'], 4);
  });
});
