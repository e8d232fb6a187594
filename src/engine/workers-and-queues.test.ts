/**
 * Workers, queues and routing targets: membership changes that start matching (spec §4.4 last
 * rule), queue updates, RoutingTarget WK/WQ/WW (spec §5.1), worker deletion (spec §6 OUR CHOICE)
 * and the seeded workspace (spec §1.4).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SequentialSids } from '../util/sid.ts';
import { WorkspaceEngine } from './engine.ts';
import { at, defaultOnly, Fixture, T0, types } from './test-helpers.ts';

const CREATED = ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered'] as const;

describe('the seeded workspace (spec §1.4)', () => {
  test('activities Offline/Available/Unavailable, Offline as default and timeout activity, five channels', () => {
    const fx = new Fixture();
    const ws = fx.engine.workspace;
    assert.deepEqual(
      [...fx.engine.activities.values()].map((a) => [a.friendlyName, a.available]),
      [['Offline', false], ['Available', true], ['Unavailable', false]],
    );
    assert.deepEqual([ws.defaultActivitySid, ws.timeoutActivitySid], [fx.activity('Offline'), fx.activity('Offline')]);
    assert.deepEqual(fx.engine.channelList.map((c) => c.uniqueName), ['default', 'voice', 'chat', 'sms', 'video']);
    assert.deepEqual([ws.multiTaskEnabled, ws.prioritizeQueueOrder], [true, 'FIFO']);
    assert.deepEqual(types(fx.created), [
      'workspace.created',
      'activity.created',
      'activity.created',
      'activity.created',
      'task-channel.created',
      'task-channel.created',
      'task-channel.created',
      'task-channel.created',
      'task-channel.created',
    ]);
  });

  test('defaults: a worker starts in the default activity with capacity 1 on every channel; a queue takes everybody', () => {
    const fx = new Fixture();
    const queue = fx.engine.queues.get(fx.ok({ type: 'createTaskQueue', friendlyName: 'Q' }).sid as string)?.record;
    assert.deepEqual([queue?.targetWorkers, queue?.maxReservedWorkers, queue?.taskOrder, queue?.reservationActivitySid], ['1==1', 1, 'FIFO', null]);
    const w = fx.workerRecord(fx.ok({ type: 'createWorker', friendlyName: 'alice' }).sid as string);
    assert.deepEqual([w.activityName, w.attributesJson, w.queues.size], ['Offline', '{}', 1]);
    assert.deepEqual(w.channels.map((c) => [c.configuredCapacity, c.available]), Array(5).fill([1, true]));
    const wf = fx.engine.workflows.get(fx.workflow(defaultOnly(queue?.sid as string)));
    assert.equal(wf?.taskReservationTimeoutS, 120);
  });

  test('the FIFO template adds a queue for everybody and a workflow into it', () => {
    const { engine, events } = WorkspaceEngine.create({ friendlyName: 'Templated', at: T0, newSid: new SequentialSids().next, template: 'FIFO' });
    assert.deepEqual(types(events).slice(-2), ['task-queue.created', 'workflow.created']);
    const [queue] = [...engine.queues.values()].map((q) => q.record);
    const [workflow] = [...engine.workflows.values()];
    assert.deepEqual([queue?.friendlyName, queue?.targetWorkers], ['Sample Queue', '1==1']);
    assert.equal(workflow?.friendlyName, 'Default Fifo Workflow');
    assert.deepEqual(JSON.parse(workflow?.configuration ?? ''), { task_routing: { filters: [], default_filter: { queue: queue?.sid } } });
    // With one workflow, WorkflowSid may be left out.
    const outcome = engine.execute({ type: 'createTask', at: T0 });
    assert.deepEqual(types(outcome.events), CREATED);
  });
});

describe('membership changes start matching (spec §4.4)', () => {
  function skilled(): { fx: Fixture; queue: string } {
    const fx = new Fixture();
    const queue = fx.queue('Spanish', { targetWorkers: 'languages HAS "es"' });
    fx.workflow(defaultOnly(queue));
    return { fx, queue };
  }

  test('a worker attribute change moves the worker into the queue and it takes the waiting task', () => {
    const { fx } = skilled();
    const alice = fx.worker('alice', { languages: ['en'] });
    fx.play([
      [0, { type: 'createTask' }, CREATED, 't'],
      [5, { type: 'updateWorker', workerSid: alice, attributes: '{"languages":["en","es"]}' }, ['worker.attributes.update', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'pending']]);
  });

  test('leaving the queue keeps a pending reservation (it moves no task)', () => {
    const { fx } = skilled();
    const alice = fx.worker('alice', { languages: ['es'] });
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [5, { type: 'updateWorker', workerSid: alice, attributes: '{"languages":[]}' }, ['worker.attributes.update']],
      [6, fx.accept('t', alice), ['reservation.accepted']],
    ]);
    assert.equal(fx.workerRecord(alice).queues.size, 0);
  });

  test('a TargetWorkers update brings new members to waiting tasks', () => {
    const { fx, queue } = skilled();
    fx.worker('alice', { languages: ['en'] });
    fx.play([
      [0, { type: 'createTask' }, CREATED, 't'],
      [5, { type: 'updateTaskQueue', taskQueueSid: queue, targetWorkers: 'languages HAS "en"' }, ['task-queue.updated', 'task-queue.expression.updated', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'pending']]);
  });

  test('an empty TargetWorkers admits nobody', () => {
    const { fx, queue } = skilled();
    const alice = fx.worker('alice', { languages: ['es'] });
    fx.play([
      [0, { type: 'updateTaskQueue', taskQueueSid: queue, targetWorkers: '' }, ['task-queue.updated', 'task-queue.expression.updated']],
      [1, { type: 'createTask' }, CREATED, 't'],
    ]);
    assert.equal(fx.workerRecord(alice).queues.size, 0);
  });

  test('a TargetWorkers expression on activity_name follows the worker activity', () => {
    const fx = new Fixture();
    const queue = fx.queue('Available only', { targetWorkers: 'activity_name == "Available"' });
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice', {}, 'Offline');
    fx.play([
      [0, { type: 'createTask' }, CREATED, 't'],
      [1, fx.setActivity(alice, 'Available'), ['worker.activity.update', 'reservation.created']],
    ]);
  });

  test('raising MaxReservedWorkers opens slots for a reserved task', () => {
    const { fx, queue } = skilled();
    fx.worker('alice', { languages: ['es'] });
    fx.worker('bob', { languages: ['es'] });
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [1, { type: 'updateTaskQueue', taskQueueSid: queue, maxReservedWorkers: 2 }, ['task-queue.updated', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'pending'], ['bob', 'pending']]);
  });
});

describe('RoutingTarget (spec §5.1)', () => {
  test('WK with IgnoreCapacity (default true) reserves the worker even when Offline and busy', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice', {}, 'Offline');
    fx.play([
      [0, { type: 'createTask', routingTarget: alice }, ['task.created', 'reservation.created'], 'first'],
      [1, { type: 'createTask', routingTarget: alice }, ['task.created', 'reservation.created'], 'second'],
    ]);
    assert.deepEqual(
      [fx.taskRecord('first').ignoreCapacity, fx.taskRecord('first').workflowSid, fx.taskRecord('first').taskQueueSid, fx.taskRecord('first').routingTarget],
      [true, null, null, alice],
    );
    assert.deepEqual(fx.reservationSummary('second'), [['alice', 'pending']]);
    // Offered only to alice: rejecting re-offers it to her, never to anyone else.
    fx.worker('bob');
    fx.play([[2, fx.setReservation('first', alice, 'rejected'), ['reservation.rejected', 'reservation.created']]]);
    assert.deepEqual(fx.reservationSummary('first'), [['alice', 'rejected'], ['alice', 'pending']]);
  });

  test('WK with IgnoreCapacity false waits until the worker is available', () => {
    const fx = new Fixture();
    const alice = fx.worker('alice', {}, 'Offline');
    fx.play([
      [0, { type: 'createTask', routingTarget: alice, ignoreCapacity: false }, ['task.created'], 't'],
      [5, fx.setActivity(alice, 'Available'), ['worker.activity.update', 'reservation.created']],
    ]);
    assert.equal(fx.reservation('t', alice).timeoutAt, at(5 + 120));
  });

  test('WQ skips the workflow and queues the task directly (TaskQueueSid alike)', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.worker('alice');
    fx.play([
      [0, { type: 'createTask', routingTarget: queue }, ['task.created', 'task-queue.entered', 'reservation.created'], 'byTarget'],
      [1, { type: 'createTask', taskQueueSid: queue }, ['task.created', 'task-queue.entered'], 'byQueue'],
    ]);
    assert.deepEqual([fx.taskRecord('byTarget').workflowSid, fx.taskRecord('byTarget').taskQueueSid], [null, queue]);
  });

  test('WW is the same as WorkflowSid', () => {
    const fx = new Fixture();
    const q1 = fx.queue('Q1');
    const q2 = fx.queue('Q2');
    fx.workflow(defaultOnly(q1));
    const second = fx.workflow(defaultOnly(q2));
    fx.play([[0, { type: 'createTask', routingTarget: second }, CREATED, 't']]);
    assert.deepEqual([fx.taskRecord('t').workflowSid, fx.taskRecord('t').taskQueueSid], [second, q2]);
  });

  test('deleting the target worker cancels its direct tasks', () => {
    const fx = new Fixture();
    const alice = fx.worker('alice', {}, 'Offline');
    fx.play([
      [0, { type: 'createTask', routingTarget: alice, ignoreCapacity: false }, ['task.created'], 'waiting'],
      [1, { type: 'createTask', routingTarget: alice }, ['task.created', 'reservation.created'], 'reserved'],
      [2, { type: 'deleteWorker', workerSid: alice }, ['reservation.canceled', 'task.canceled', 'task.canceled', 'worker.deleted']],
    ]);
    assert.deepEqual([fx.taskRecord('waiting').reason, fx.taskRecord('reserved').reason], ['Worker deleted', 'Worker deleted']);
  });
});

describe('deleting a worker (spec §6 OUR CHOICE)', () => {
  test('its pending reservation is canceled and the task goes to another worker, never back to it', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue), { taskReservationTimeoutS: 30 });
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [5, { type: 'deleteWorker', workerSid: alice }, ['reservation.canceled', 'worker.deleted'], undefined, () => assert.equal(fx.status('t'), 'pending')],
      [6, () => ({ type: 'createWorker', friendlyName: 'bob', activitySid: fx.activity('Available') }), ['worker.created', 'reservation.created']],
      // Nothing of alice is left to time out.
      [40, 'tick', ['reservation.timeout', 'worker.activity.update']],
    ]);
    assert.equal(fx.reservations('t').filter((r) => r.workerSid === alice).length, 1);
  });

  test('with another worker free, the task moves on in the same command', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice');
    fx.worker('bob');
    fx.play([
      [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't'],
      [5, { type: 'deleteWorker', workerSid: alice }, ['reservation.canceled', 'worker.deleted', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservations('t').map((r) => r.reservationStatus), ['canceled', 'pending']);
    assert.equal(fx.reservations('t')[1]?.workerSid !== alice, true);
  });

  test('a worker with an accepted task cannot be deleted', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice');
    const task = fx.task().sid as string;
    fx.ok(fx.accept(task, alice)());
    const r = fx.reservation(task, alice).sid;
    const before = fx.engine.snapshot();
    assert.deepEqual(fx.refuse({ type: 'deleteWorker', workerSid: alice }), {
      code: 'in_use',
      message: `Worker alice has accepted reservation ${r}; complete its task first`,
    });
    assert.deepEqual(fx.engine.snapshot(), before);
  });

  test('If-Match on a worker compares its version', () => {
    const fx = new Fixture();
    const alice = fx.worker('alice');
    const version = fx.workerRecord(alice).version;
    assert.deepEqual(fx.refuse({ type: 'updateWorker', workerSid: alice, attributes: '{"x":1}', ifMatch: version + 1 }), {
      code: 'version_mismatch',
      field: 'If-Match',
      message: `Worker ${alice} is at version ${version}, not ${version + 1} as If-Match requires`,
    });
    assert.equal(fx.refuse({ type: 'deleteWorker', workerSid: alice, ifMatch: version + 1 }).code, 'version_mismatch');
    fx.ok({ type: 'updateWorker', workerSid: alice, attributes: '{"x":1}', ifMatch: version });
    assert.equal(fx.workerRecord(alice).version, version + 1);
  });
});
