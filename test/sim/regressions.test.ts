/**
 * Regression tests for engine bugs the swarm simulation (engine.sim.test.ts) found. Each test is
 * the smallest scenario that failed, named after what went wrong, with the seed that found it
 * (seed numbers refer to the swarm as it was then: its command generator has changed since);
 * every one ends with `checkInvariants`, which is what caught most of them in the swarm.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkInvariants } from '../../src/engine/invariants.ts';
import { defaultOnly, Fixture, oneFilter } from '../../src/engine/test-helpers.ts';
import { WorkspaceEngine, type EngineEvent } from '../../src/engine/index.ts';
import { SequentialSids } from '../../src/util/sid.ts';

/** `type resource (task, worker)` per event. */
function summary(events: readonly EngineEvent[]): string[] {
  return events.map((e) => `${e.eventType} ${e.resourceSid} (${String(e.data['task_sid'] ?? '')}, ${String(e.data['worker_sid'] ?? '')})`);
}

// Seeds 2, 5, 6, 9: canceling the worker's pending reservation sent the task straight back to
// matching while the worker was still a ready member of the queue, so the task was reserved
// again for the worker being deleted (a pending reservation of a missing worker).
test('deleting a worker with a pending reservation does not offer the task back to that worker', () => {
  const fx = new Fixture();
  const q = fx.queue('Q');
  fx.workflow(defaultOnly(q));
  const alice = fx.worker('alice');
  const task = fx.task().sid as string;
  assert.equal(fx.status(task), 'reserved');
  const out = fx.ok({ type: 'deleteWorker', workerSid: alice });
  assert.deepEqual(
    out.events.map((e) => e.eventType),
    ['reservation.canceled', 'worker.deleted'],
    summary(out.events).join('\n'),
  );
  assert.equal(fx.status(task), 'pending');
  checkInvariants(fx.engine);
});

test('deleting a worker hands its canceled reservations to the other ready workers', () => {
  const fx = new Fixture();
  const q = fx.queue('Q');
  fx.workflow(defaultOnly(q));
  const alice = fx.worker('alice');
  const task = fx.task().sid as string;
  const bob = fx.worker('bob', {}, 'Offline');
  fx.ok({ type: 'updateWorker', workerSid: bob, activitySid: fx.activity('Available') });
  assert.equal(fx.reservations(task).length, 1, 'bob is idle: the task is already reserved for alice');
  fx.ok({ type: 'deleteWorker', workerSid: alice });
  assert.deepEqual(
    fx.reservations(task).map((r) => [r.workerSid, r.reservationStatus]),
    [
      [alice, 'canceled'],
      [bob, 'pending'],
    ],
  );
  checkInvariants(fx.engine);
});

// Seed 5: a task routed straight to the worker (RoutingTarget WK, IgnoreCapacity) and reserved
// for it was offered to the same, deleted, worker again instead of being canceled.
test('deleting a worker cancels the tasks routed straight to it, reserved ones included', () => {
  const fx = new Fixture();
  fx.workflow(defaultOnly(fx.queue('Q')));
  const alice = fx.worker('alice');
  const reserved = fx.task({}, { routingTarget: alice }).sid as string;
  assert.equal(fx.status(reserved), 'reserved');
  fx.ok({ type: 'deleteWorker', workerSid: alice });
  assert.equal(fx.status(reserved), 'canceled');
  assert.equal(fx.taskRecord(reserved).reason, 'Worker deleted');
  checkInvariants(fx.engine);
});

// Seeds 1, 4: renaming an activity changed the name workers in it show to TargetWorkers
// (`activity_name`), but queue membership was not evaluated again.
test('renaming an activity re-evaluates TargetWorkers that read activity_name', () => {
  const fx = new Fixture();
  const onlyAvailable = fx.queue('Available only', { targetWorkers: "activity_name == 'Available'" });
  const onlyReady = fx.queue('Ready only', { targetWorkers: "activity_name == 'Ready'" });
  fx.workflow(defaultOnly(onlyReady));
  const alice = fx.worker('alice');
  const task = fx.task().sid as string;
  assert.equal(fx.status(task), 'pending', 'nobody is in an activity named Ready yet');
  fx.ok({ type: 'updateActivity', activitySid: fx.activity('Available'), friendlyName: 'Ready' });
  assert.ok(!fx.workerRecord(alice).queues.has(onlyAvailable), 'alice left the queue for activity Available');
  assert.deepEqual([...fx.workerRecord(alice).queues], [onlyReady]);
  assert.equal(fx.status(task), 'reserved', 'alice now holds an activity named Ready');
  checkInvariants(fx.engine);
});

// Seed 7: a worker's new friendly name was not evaluated against TargetWorkers
// (`friendly_name` falls back to the worker's field, spec §3.1).
test('renaming a worker re-evaluates TargetWorkers that read friendly_name', () => {
  const fx = new Fixture();
  const q = fx.queue('Bob only', { targetWorkers: "friendly_name == 'bob'" });
  fx.workflow(defaultOnly(q));
  const alice = fx.worker('alice');
  const task = fx.task().sid as string;
  assert.equal(fx.status(task), 'pending');
  fx.ok({ type: 'updateWorker', workerSid: alice, friendlyName: 'bob' });
  assert.deepEqual([...fx.workerRecord(alice).queues], [q]);
  assert.equal(fx.status(task), 'reserved');
  fx.ok({ type: 'updateWorker', workerSid: alice, friendlyName: 'carol' });
  assert.deepEqual([...fx.workerRecord(alice).queues], []);
  checkInvariants(fx.engine);
});

// Seeds 2, 3 (found as a restore mismatch: the restored engine, with fresh heaps, chose another
// task). Waiting heaps compared entries through the live task record, so a stale entry (left
// behind by lazy deletion when a task's priority or virtual start time changed) moved its key
// while sitting in the heap and broke the heap order: a worker got the wrong task.
test('changing the priority of waiting tasks keeps the queue in priority order', () => {
  const fx = new Fixture();
  fx.workflow(defaultOnly(fx.queue('Q')));
  const tasks = [0, 0, 9, 5, 5].map((priority, i) => fx.task({}, { priority, at: 1_704_110_400_000 + (i + 1) * 1000 }).sid as string);
  fx.ok({ type: 'updateTask', taskSid: tasks[0] as string, priority: 9, at: 1_704_110_410_000 });
  fx.ok({ type: 'updateTask', taskSid: tasks[3] as string, priority: 0, at: 1_704_110_411_000 });
  fx.worker('alice');
  assert.deepEqual(
    tasks.map((t) => fx.status(t)),
    ['reserved', 'pending', 'pending', 'pending', 'pending'],
    'the oldest task of the highest priority goes first (spec §7.1)',
  );
  checkInvariants(fx.engine);
});

// Seed 9: RejectPendingReservations with the activity the queue's ReservationActivitySid had
// already set: the rejection put the worker back in the activity held before the reservation
// (Available), so the worker asked to go Unavailable was offered the task again at once.
test('RejectPendingReservations keeps the activity the worker asked for', () => {
  const fx = new Fixture();
  const q = fx.queue('Q', { reservationActivitySid: fx.activity('Unavailable') });
  fx.workflow(defaultOnly(q));
  const alice = fx.worker('alice');
  const task = fx.task().sid as string;
  assert.equal(fx.activityOf(alice), 'Unavailable', 'the reservation activity');
  const out = fx.ok({ type: 'updateWorker', workerSid: alice, activitySid: fx.activity('Unavailable'), rejectPendingReservations: true });
  assert.deepEqual(out.events.map((e) => e.eventType), ['reservation.rejected'], summary(out.events).join('\n'));
  assert.equal(fx.activityOf(alice), 'Unavailable');
  assert.equal(fx.status(task), 'pending');
  checkInvariants(fx.engine);
});

// Seed 19: a worker's new attributes made it eligible for a task waiting behind a target
// expression, but no matching pass ran (spec §4.4: one runs on every such change) because the
// worker's readiness did not change.
test('a worker attribute change runs a matching pass for tasks behind target expressions', () => {
  const fx = new Fixture();
  const q = fx.queue('Q');
  fx.workflow(oneFilter([{ queue: q, expression: 'task.lang IN worker.langs' }]));
  const alice = fx.worker('alice', { langs: ['en'] });
  const task = fx.task({ lang: 'fr' }).sid as string;
  assert.equal(fx.status(task), 'pending');
  fx.ok({ type: 'updateWorker', workerSid: alice, attributes: JSON.stringify({ langs: ['en', 'fr'] }) });
  assert.equal(fx.status(task), 'reserved');
  checkInvariants(fx.engine);
});

test('an activity change between available activities runs a matching pass', () => {
  const fx = new Fixture();
  const q = fx.queue('Q');
  fx.workflow(oneFilter([{ queue: q, expression: "worker.activity_name == 'OnCall'" }]));
  const onCall = fx.ok({ type: 'createActivity', friendlyName: 'OnCall', available: true }).sid as string;
  const alice = fx.worker('alice');
  const task = fx.task().sid as string;
  assert.equal(fx.status(task), 'pending');
  fx.ok({ type: 'updateWorker', workerSid: alice, activitySid: onCall });
  assert.equal(fx.status(task), 'reserved');
  checkInvariants(fx.engine);
});

// Seed 10: a task waiting behind `worker.channel.<name>.*` became eligible when the worker's
// count on another channel changed; only the channel that changed was served.
for (const chatCapacity of [1, 2]) {
  test(`a channel count change runs a matching pass on the worker's other channels (chat capacity ${chatCapacity})`, () => {
    const fx = new Fixture();
    const q = fx.queue('Q');
    fx.workflow(
      JSON.stringify({
        task_routing: {
          filters: [{ expression: 'kind == "mail"', targets: [{ queue: q, expression: 'worker.channel.chat.assigned_tasks == 0' }] }],
          default_filter: { queue: q },
        },
      }),
    );
    const alice = fx.worker('alice');
    fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', capacity: chatCapacity });
    const chat = fx.task({ kind: 'chat' }, { taskChannel: 'chat' }).sid as string;
    fx.ok({ type: 'updateReservation', reservationSid: fx.reservation(chat, alice).sid, reservationStatus: 'accepted' });
    const mail = fx.task({ kind: 'mail' }).sid as string;
    assert.equal(fx.status(mail), 'pending', 'alice has a chat task');
    fx.ok({ type: 'updateTask', taskSid: chat, assignmentStatus: 'completed' });
    assert.equal(fx.status(mail), 'reserved', 'alice has no chat task any more');
    checkInvariants(fx.engine);
  });
}

// Seed 23 (found as a restore mismatch): a TaskQueue update routed the queue's waiting tasks in
// the order they had entered the queue (a Set's insertion order, which a restored engine does
// not reproduce) instead of the queue's order, so a low-priority task took the worker.
test('a TargetWorkers update offers the queue\'s tasks in queue order', () => {
  const fx = new Fixture();
  const q = fx.queue('Q', { targetWorkers: 'team == "b"' });
  fx.workflow(defaultOnly(q));
  fx.worker('alice', { team: 'a' });
  const low = fx.task({}, { priority: 1 }).sid as string;
  const high = fx.task({}, { priority: 5 }).sid as string;
  fx.ok({ type: 'updateTaskQueue', taskQueueSid: q, targetWorkers: 'team == "a"' });
  assert.deepEqual([fx.status(low), fx.status(high)], ['pending', 'reserved'], 'the higher priority goes first (spec §7.1)');
  checkInvariants(fx.engine);
});

// Seed 22: when a step timed out while reservations were open, the task moved on only once they
// ended; if the next step's cumulative deadline had passed by then too, the task was still
// offered at that expired step (leaving its step timer overdue) instead of moving on.
test('a task reaching a step whose cumulative deadline has passed is not offered there', () => {
  const fx = new Fixture();
  const first = fx.queue('First');
  const second = fx.queue('Second');
  const third = fx.queue('Third');
  fx.workflow(oneFilter([{ queue: first, timeout: 10 }, { queue: second, timeout: 10 }, { queue: third }]), { taskReservationTimeoutS: 300 });
  const alice = fx.worker('alice');
  const task = fx.task().sid as string;
  fx.tick(30); // Both deadlines (10 s and 20 s) pass while alice's reservation is pending.
  assert.equal(fx.status(task), 'reserved');
  const out = fx.ok({ type: 'updateReservation', reservationSid: fx.reservation(task, alice).sid, reservationStatus: 'rejected', at: 1_704_110_400_000 + 31_000 });
  assert.equal(fx.taskRecord(task).taskQueueSid, third, out.events.map((e) => e.eventType).join(', '));
  checkInvariants(fx.engine);
});

// Found by the swarm once it updated configurations without ReEvaluateTasks: after such a
// change a waiting task kept its old step's restriction in memory, but a restore can
// only derive it from the current plan, so restoring the snapshot threw "a restored snapshot
// was not settled" (the restored engine wanted to route the task). Both now read the current
// plan at the task's filter and step.
test('a workflow configuration change without ReEvaluateTasks leaves a restorable state', () => {
  const fx = new Fixture();
  const q = fx.queue('Q');
  const wf = fx.workflow(oneFilter([{ queue: q, expression: 'worker.level >= 3' }]));
  fx.worker('alice', { level: 1 });
  const task = fx.task().sid as string;
  assert.equal(fx.status(task), 'pending');
  fx.ok({ type: 'updateWorkflow', workflowSid: wf, configuration: JSON.stringify(oneFilter([{ queue: q }])) });
  checkInvariants(fx.engine);
  const restored = WorkspaceEngine.restore(fx.engine.snapshot(), new SequentialSids(0, fx.sids.counter).next);
  assert.equal(restored.tasks.get(task)?.assignmentStatus, fx.status(task));
  assert.equal(JSON.stringify(restored.snapshot()), JSON.stringify(fx.engine.snapshot()));
});

// Seed 130 (5,000 steps; a restore mismatch): a queue's ready heap, built on first use, took in
// workers whose readiness had just changed and who had not been served yet, while a queue
// indexed earlier gets them only after serving. So a restored engine (no queue indexed yet)
// offered a just-rejected task straight back to the rejecting worker, where the original engine
// let that worker take the better task waiting for it.
test('a restored engine routes a rejected task as the original does', () => {
  const fx = new Fixture();
  fx.workflow(defaultOnly(fx.queue('Q')));
  const alice = fx.worker('alice');
  const first = fx.task({}, { priority: 0 }).sid as string;
  const urgent = fx.task({}, { priority: 5 }).sid as string;
  assert.deepEqual([fx.status(first), fx.status(urgent)], ['reserved', 'pending']);
  const restored = WorkspaceEngine.restore(fx.engine.snapshot(), new SequentialSids(0, fx.sids.counter).next);
  const reject = { type: 'updateReservation', reservationSid: fx.reservation(first, alice).sid, reservationStatus: 'rejected', at: fx.engine.now + 1000 } as const;
  const original = fx.ok(reject);
  assert.deepEqual(summary(restored.execute(reject).events), summary(original.events));
  assert.deepEqual([fx.status(first), fx.status(urgent)], ['pending', 'reserved'], 'alice takes the higher priority task (spec §7.1)');
  checkInvariants(fx.engine);
});

/** Runs `command` on the fixture's engine and on a restored copy; both must emit the same. */
function sameAfterRestore(fx: Fixture, command: Parameters<Fixture['ok']>[0]): EngineEvent[] {
  const restored = WorkspaceEngine.restore(fx.engine.snapshot(), new SequentialSids(0, fx.sids.counter).next);
  const original = fx.ok(command);
  const replayed = restored.execute({ ...command, at: command.at ?? fx.engine.now } as Parameters<WorkspaceEngine['execute']>[0]);
  assert.deepEqual(summary(replayed.events), summary(original.events), 'a restored engine emits what the original emitted');
  return original.events;
}

// Seed 2093 (1,000 steps): RejectPendingReservations rejected in the order of the worker's open
// reservation set, which a restore rebuilt in task order instead of reservation order.
test('RejectPendingReservations rejects in the same order after a restore', () => {
  const fx = new Fixture();
  fx.workflow(defaultOnly(fx.queue('Q')));
  const alice = fx.worker('alice');
  fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'default', capacity: 3 });
  fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', capacity: 0 });
  const older = fx.task({}, { taskChannel: 'chat' }).sid as string;
  const newer = fx.task().sid as string;
  fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', capacity: 1 });
  assert.deepEqual([fx.status(older), fx.status(newer)], ['reserved', 'reserved'], 'the newer task was reserved first');
  const events = sameAfterRestore(fx, { type: 'updateWorker', workerSid: alice, activitySid: fx.activity('Offline'), rejectPendingReservations: true });
  assert.deepEqual(events.map((e) => e.eventType), ['worker.activity.update', 'reservation.rejected', 'reservation.rejected']);
  checkInvariants(fx.engine);
});

// Seed 2426 (1,000 steps): deleting a worker canceled the tasks routed to it in the order of its
// direct-task set (the order they were last listed), which a restore does not reproduce.
test('deleting a worker cancels its direct tasks in the same order after a restore', () => {
  const fx = new Fixture();
  fx.workflow(defaultOnly(fx.queue('Q')));
  const alice = fx.worker('alice', {}, 'Offline');
  const first = fx.task({}, { routingTarget: alice, ignoreCapacity: false }).sid as string;
  const second = fx.task({}, { routingTarget: alice, ignoreCapacity: false }).sid as string;
  fx.ok({ type: 'updateTask', taskSid: first, priority: 3 }); // listed again, after the second
  const events = sameAfterRestore(fx, { type: 'deleteWorker', workerSid: alice });
  assert.deepEqual(events.map((e) => e.eventType), ['task.canceled', 'task.canceled', 'worker.deleted']);
  assert.deepEqual([fx.status(first), fx.status(second)], ['canceled', 'canceled']);
  checkInvariants(fx.engine);
});
