/**
 * Reservation lifecycle (spec §6): accept, reject (with and without WorkerActivitySid), timeout to
 * the workspace timeout activity, multi-reservation (first accept wins, rescinds, back to pending
 * only when all end), queue reservation/assignment activities and their undo, and
 * RejectPendingReservations.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Fixture, oneFilter, type Cmd } from './test-helpers.ts';

const CREATED = ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered'] as const;
const RESERVED = [...CREATED, 'reservation.created'] as const;

/** A queue for everybody (with these fields) and a one-filter workflow into it. */
function setup(
  queueFields: Parameters<Fixture['queue']>[1] = {},
  workflowFields: Parameters<Fixture['workflow']>[1] = {},
): { fx: Fixture; queue: string } {
  const fx = new Fixture();
  const queue = fx.queue('Support', queueFields);
  fx.workflow(oneFilter([{ queue }]), workflowFields);
  return { fx, queue };
}

describe('accept, reject and timeout (spec §6)', () => {
  test('accept consumes capacity; a second accept is refused as no longer pending', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, RESERVED, 't'],
      [4, fx.accept('t', alice), ['reservation.accepted']],
      [5, fx.accept('t', alice), 'reservation_not_pending'],
      [5, fx.setReservation('t', alice, 'rejected'), 'reservation_not_pending'],
    ]);
    const channel = fx.workerRecord(alice).channels[fx.engine.findChannel('default')?.index ?? -1];
    assert.deepEqual([channel?.activeTasks, channel?.assignedTasks, channel?.availableCapacityPercentage], [1, 1, 0]);
    const r = fx.reservation('t', alice);
    assert.deepEqual(fx.refuse(fx.accept('t', alice)()), {
      code: 'reservation_not_pending',
      field: 'ReservationStatus',
      message: `Reservation ${r.sid} is accepted, not pending, so it can no longer be accepted`,
    });
  });

  test('reject without an activity keeps the worker available; the longest-idle other worker is next', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    const bob = fx.worker('bob');
    fx.play([
      [5, { type: 'createTask' }, RESERVED, 't'],
      [10, fx.setReservation('t', alice, 'rejected'), ['reservation.rejected', 'reservation.created']],
      // bob rejects too: alice (idle since 5 s) has now waited longer than bob (since 10 s).
      [12, fx.setReservation('t', bob, 'rejected'), ['reservation.rejected', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [
      ['alice', 'rejected'],
      ['bob', 'rejected'],
      ['alice', 'pending'],
    ]);
    assert.deepEqual([fx.activityOf(alice), fx.activityOf(bob)], ['Available', 'Available']);
    assert.equal(fx.status('t'), 'reserved');
  });

  test('reject with WorkerActivitySid moves the worker there', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    const [, outcome] = fx.play([
      [0, { type: 'createTask' }, RESERVED, 't'],
      [6, fx.setReservation('t', alice, 'rejected', 'Unavailable'), ['reservation.rejected', 'worker.activity.update']],
    ]);
    const update = outcome?.events[1];
    assert.deepEqual(
      [update?.data['worker_activity_name'], update?.data['worker_previous_activity_name'], update?.data['worker_time_in_previous_activity']],
      ['Unavailable', 'Available', 6],
    );
    assert.equal(fx.status('t'), 'pending');
  });

  test('reject naming an unknown activity is refused and changes nothing', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    const task = fx.task().sid as string;
    const before = fx.engine.snapshot();
    const unknown = 'WA' + 'f'.repeat(32);
    const rejection = fx.refuse({ type: 'updateReservation', reservationSid: fx.reservation(task, alice).sid, reservationStatus: 'rejected', workerActivitySid: unknown });
    assert.deepEqual(rejection, {
      code: 'invalid_parameter',
      field: 'WorkerActivitySid',
      message: `WorkerActivitySid ${unknown} is not an activity of workspace ${fx.engine.workspace.sid}`,
    });
    assert.deepEqual(fx.engine.snapshot(), before);
  });

  test('a timed-out reservation moves its worker to the timeout activity and the task to the next worker', () => {
    const { fx } = setup({}, { taskReservationTimeoutS: 30 });
    const alice = fx.worker('alice');
    const bob = fx.worker('bob');
    fx.play([
      [0, { type: 'createTask' }, RESERVED, 't'],
      [29.999, 'tick', []],
      [30, 'tick', ['reservation.timeout', 'worker.activity.update', 'reservation.created']],
      // Every reservation gets the full timeout again.
      [59.999, 'tick', []],
      [60, 'tick', ['reservation.timeout', 'worker.activity.update']],
      [61, fx.accept('t', alice), 'reservation_not_pending'],
    ]);
    assert.deepEqual([fx.activityOf(alice), fx.activityOf(bob)], ['Offline', 'Offline']);
    assert.deepEqual(fx.reservationSummary('t'), [['alice', 'timeout'], ['bob', 'timeout']]);
    assert.equal(fx.status('t'), 'pending');
  });

  test('the timeout activity is the workspace setting', () => {
    const { fx } = setup({}, { taskReservationTimeoutS: 10 });
    fx.ok({ type: 'updateWorkspace', timeoutActivitySid: fx.activity('Unavailable') });
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, RESERVED, 't'],
      [10, 'tick', ['reservation.timeout', 'worker.activity.update']],
    ]);
    assert.equal(fx.activityOf(alice), 'Unavailable');
  });

  test('wrapping or completing a pending reservation is refused', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    const task = fx.task().sid as string;
    const r = fx.reservation(task, alice).sid;
    assert.deepEqual(fx.refuse(fx.setReservation(task, alice, 'wrapping')()), {
      code: 'invalid_state',
      field: 'ReservationStatus',
      message: `Reservation ${r} is pending; only an accepted reservation can wrap up`,
    });
    assert.deepEqual(fx.refuse(fx.setReservation(task, alice, 'completed')()), {
      code: 'invalid_state',
      field: 'ReservationStatus',
      message: `Reservation ${r} is pending; only an accepted or wrapping reservation can complete`,
    });
  });

  test('a reservation addressed through another task or worker is not found', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    const bob = fx.worker('bob');
    const first = fx.task().sid as string;
    const second = fx.task().sid as string;
    const r = fx.reservation(first, alice).sid;
    const viaTask = fx.refuse({ type: 'updateReservation', reservationSid: r, taskSid: second, reservationStatus: 'accepted' });
    const viaWorker = fx.refuse({ type: 'updateReservation', reservationSid: r, workerSid: bob, reservationStatus: 'accepted' });
    const expected = { code: 'not_found', field: 'ReservationSid', message: `Reservation ${r} was not found` };
    assert.deepEqual([viaTask, viaWorker], [expected, expected]);
    fx.ok({ type: 'updateReservation', reservationSid: r, taskSid: first, workerSid: alice, reservationStatus: 'accepted' });
  });

  test('If-Match on a reservation compares the task version', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    const task = fx.task().sid as string;
    const version = fx.taskRecord(task).version;
    const reservationSid = fx.reservation(task, alice).sid;
    const stale = fx.refuse({ type: 'updateReservation', reservationSid, reservationStatus: 'accepted', ifMatch: version + 1 });
    assert.deepEqual(stale, { code: 'version_mismatch', field: 'If-Match', message: `Task ${task} is at version ${version}, not ${version + 1} as If-Match requires` });
    fx.ok({ type: 'updateReservation', reservationSid, reservationStatus: 'accepted', ifMatch: version });
  });
});

describe('multi-reservation (MaxReservedWorkers 3)', () => {
  function three(workers: number): { fx: Fixture; w: string[] } {
    const { fx } = setup({ maxReservedWorkers: 3 }, { taskReservationTimeoutS: 60 });
    const w = ['ann', 'ben', 'cat', 'dan'].slice(0, workers).map((name) => fx.worker(name));
    return { fx, w };
  }

  test('up to three workers are reserved at once; the first accept wins and rescinds the others', () => {
    const { fx, w } = three(4);
    const [ann, ben] = w as [string, string];
    fx.play([
      [1, { type: 'createTask' }, [...CREATED, 'reservation.created', 'reservation.created', 'reservation.created'], 't'],
      [5, fx.accept('t', ben), ['reservation.accepted', 'reservation.rescinded', 'reservation.rescinded']],
      [6, fx.accept('t', ann), 'reservation_not_pending'],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['ann', 'rescinded'], ['ben', 'accepted'], ['cat', 'rescinded']]);
    assert.equal(fx.status('t'), 'assigned');
    assert.equal(fx.taskRecord('t').reservationCycles, 1);
  });

  test('the task returns to pending only when all its reservations ended unaccepted', () => {
    const { fx, w } = three(3);
    const [ann, ben] = w as [string, string];
    fx.play([
      [0, { type: 'createTask' }, [...RESERVED, 'reservation.created', 'reservation.created'], 't'],
      [10, fx.setReservation('t', ann, 'rejected', 'Unavailable'), ['reservation.rejected', 'worker.activity.update'], undefined, () => assert.equal(fx.status('t'), 'reserved')],
      [20, fx.setReservation('t', ben, 'rejected', 'Unavailable'), ['reservation.rejected', 'worker.activity.update'], undefined, () => assert.equal(fx.status('t'), 'reserved')],
      [60, 'tick', ['reservation.timeout', 'worker.activity.update'], undefined, () => assert.equal(fx.status('t'), 'pending')],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['ann', 'rejected'], ['ben', 'rejected'], ['cat', 'timeout']]);
    assert.equal(fx.taskRecord('t').reservationCycles, 1);
  });

  test('a slot freed by a reject goes to another free worker at once', () => {
    const { fx, w } = three(4);
    const [ann] = w as [string];
    fx.play([
      [0, { type: 'createTask' }, [...RESERVED, 'reservation.created', 'reservation.created'], 't'],
      [3, fx.setReservation('t', ann, 'rejected', 'Offline'), ['reservation.rejected', 'worker.activity.update', 'reservation.created']],
    ]);
    assert.deepEqual(fx.reservationSummary('t'), [['ann', 'rejected'], ['ben', 'pending'], ['cat', 'pending'], ['dan', 'pending']]);
  });

  test('a worker becoming available takes an open slot of a reserved task', () => {
    const { fx, w } = three(2);
    const cat = fx.worker('cat', {}, 'Offline');
    fx.play([
      [0, { type: 'createTask' }, [...RESERVED, 'reservation.created'], 't'],
      [2, fx.setActivity(cat, 'Available'), ['worker.activity.update', 'reservation.created']],
    ]);
    assert.equal(w.length, 2);
    assert.deepEqual(fx.reservationSummary('t').map(([name]) => name), ['ann', 'ben', 'cat']);
  });

  test('canceling the task cancels every open reservation first', () => {
    const { fx } = three(3);
    fx.play([
      [0, { type: 'createTask' }, [...RESERVED, 'reservation.created', 'reservation.created'], 't'],
      [9, fx.setStatus('t', 'canceled'), ['reservation.canceled', 'reservation.canceled', 'reservation.canceled', 'task.canceled']],
    ]);
  });
});

describe('queue reservation and assignment activities (spec §6)', () => {
  function withActivities(maxReservedWorkers = 1): { fx: Fixture; alice: string; bob: string } {
    const fx = new Fixture();
    const reserved = fx.ok({ type: 'createActivity', friendlyName: 'Reserved', available: false }).sid as string;
    const busy = fx.ok({ type: 'createActivity', friendlyName: 'Busy', available: false }).sid as string;
    const queue = fx.queue('Support', { reservationActivitySid: reserved, assignmentActivitySid: busy, maxReservedWorkers });
    fx.workflow(oneFilter([{ queue }]), { taskReservationTimeoutS: 30 });
    const alice = fx.worker('alice');
    const bob = fx.worker('bob', {}, 'Offline');
    return { fx, alice, bob };
  }
  const WITH_RESERVED = [...RESERVED, 'worker.activity.update'] as const;

  test('reserving sets the reservation activity; accepting sets the assignment activity', () => {
    const { fx, alice } = withActivities();
    fx.play([
      [5, { type: 'createTask' }, WITH_RESERVED, 't', () => assert.equal(fx.activityOf(alice), 'Reserved')],
      [7, fx.accept('t', alice), ['reservation.accepted', 'worker.activity.update'], undefined, () => assert.equal(fx.activityOf(alice), 'Busy')],
    ]);
  });

  test('reject without an activity undoes the reservation activity', () => {
    const { fx, alice, bob } = withActivities();
    fx.ok(fx.setActivity(bob, 'Available')());
    fx.play([
      [5, { type: 'createTask' }, WITH_RESERVED, 't'],
      [10, fx.setReservation('t', alice, 'rejected'), ['reservation.rejected', 'worker.activity.update', 'reservation.created', 'worker.activity.update']],
    ]);
    assert.deepEqual([fx.activityOf(alice), fx.activityOf(bob)], ['Available', 'Reserved']);
  });

  test('reject with WorkerActivitySid goes there instead of undoing', () => {
    const { fx, alice } = withActivities();
    fx.play([
      [0, { type: 'createTask' }, WITH_RESERVED, 't'],
      [3, fx.setReservation('t', alice, 'rejected', 'Offline'), ['reservation.rejected', 'worker.activity.update']],
    ]);
    assert.equal(fx.activityOf(alice), 'Offline');
  });

  test('cancel undoes the reservation activity', () => {
    const { fx, alice } = withActivities();
    fx.play([
      [0, { type: 'createTask' }, WITH_RESERVED, 't'],
      [3, fx.setStatus('t', 'canceled'), ['reservation.canceled', 'worker.activity.update', 'task.canceled']],
    ]);
    assert.equal(fx.activityOf(alice), 'Available');
  });

  test('timeout goes to the timeout activity, not back', () => {
    const { fx, alice } = withActivities();
    fx.play([
      [0, { type: 'createTask' }, WITH_RESERVED, 't'],
      [30, 'tick', ['reservation.timeout', 'worker.activity.update']],
    ]);
    assert.equal(fx.activityOf(alice), 'Offline');
  });

  test('rescinded reservations are undone like canceled ones', () => {
    const { fx, alice, bob } = withActivities(2);
    fx.play([
      [0, fx.setActivity(bob, 'Available'), ['worker.activity.update']],
      [1, { type: 'createTask' }, [...WITH_RESERVED, 'reservation.created', 'worker.activity.update'], 't'],
      [4, fx.accept('t', bob), ['reservation.accepted', 'reservation.rescinded', 'worker.activity.update', 'worker.activity.update']],
    ]);
    assert.deepEqual([fx.activityOf(alice), fx.activityOf(bob)], ['Available', 'Busy']);
  });

  test('an activity set by hand while reserved is kept on reject (OUR CHOICE)', () => {
    const { fx, alice } = withActivities();
    fx.play([
      [0, { type: 'createTask' }, WITH_RESERVED, 't'],
      [2, fx.setActivity(alice, 'Unavailable'), ['worker.activity.update']],
      [3, fx.setReservation('t', alice, 'rejected'), ['reservation.rejected']],
    ]);
    assert.equal(fx.activityOf(alice), 'Unavailable');
  });
});

describe('RejectPendingReservations (spec §6)', () => {
  test('moving to an unavailable activity with the flag rejects every pending reservation', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'default', capacity: 2 });
    fx.play([
      [0, { type: 'createTask' }, RESERVED, 'one'],
      [1, { type: 'createTask' }, RESERVED, 'two'],
      [5, fx.setActivity(alice, 'Offline', true), ['worker.activity.update', 'reservation.rejected', 'reservation.rejected']],
    ]);
    assert.deepEqual([fx.status('one'), fx.status('two')], ['pending', 'pending']);
  });

  test('without the flag the pending reservation survives the activity change and can be accepted', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'createTask' }, RESERVED, 't'],
      [5, fx.setActivity(alice, 'Offline'), ['worker.activity.update']],
      [6, fx.accept('t', alice), ['reservation.accepted']],
    ]);
  });

  test('the flag is refused with an available activity or without one', () => {
    const { fx } = setup();
    const alice = fx.worker('alice');
    fx.task();
    const before = fx.engine.snapshot();
    const expected = {
      code: 'invalid_parameter',
      field: 'RejectPendingReservations',
      message: 'RejectPendingReservations is allowed only with an ActivitySid of an unavailable activity',
    };
    const commands: Cmd[] = [
      { type: 'updateWorker', workerSid: alice, activitySid: fx.activity('Available'), rejectPendingReservations: true },
      { type: 'updateWorker', workerSid: alice, rejectPendingReservations: true },
    ];
    for (const c of commands) assert.deepEqual(fx.refuse(c), expected);
    assert.deepEqual(fx.engine.snapshot(), before);
  });
});
