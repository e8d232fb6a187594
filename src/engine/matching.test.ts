/**
 * Matching (spec §7): which task a worker gets (FIFO by priority then age, LIFO newest first,
 * the workspace's prioritize_queue_order across kinds of queue), which worker a task gets
 * (longest idle first, channel-optimized routing), and multitasking capacity per channel.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EngineEvent } from './events.ts';
import { at, defaultOnly, Fixture, oneFilter, types, type FixtureOptions } from './test-helpers.ts';

/** The task SIDs of the reservation.created events, in order. */
function reservedTasks(events: readonly EngineEvent[]): unknown[] {
  return events.filter((e) => e.eventType === 'reservation.created').map((e) => e.data['task_sid']);
}

/** A queue of the given order and one worker who is Offline with capacity 10 on the default channel. */
function oneQueue(taskOrder: 'FIFO' | 'LIFO', options: FixtureOptions = {}): { fx: Fixture; alice: string; queue: string } {
  const fx = new Fixture(options);
  const queue = fx.queue('Q', { taskOrder });
  fx.workflow(defaultOnly(queue));
  const alice = fx.worker('alice', {}, 'Offline');
  fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'default', capacity: 10 });
  return { fx, alice, queue };
}

describe('which task first (spec §7.1)', () => {
  /** Tasks created one second apart with these priorities; returns their SIDs. */
  function tasks(fx: Fixture, priorities: number[]): string[] {
    return priorities.map((priority, i) => fx.task({}, { at: at(i), priority }).sid as string);
  }

  test('FIFO: priority high to low, then oldest first', () => {
    const { fx, alice } = oneQueue('FIFO');
    const [p0old, p5old, p5new, p0new] = tasks(fx, [0, 5, 5, 0]);
    const served = fx.ok({ ...fx.setActivity(alice, 'Available')(), at: at(10) });
    assert.deepEqual(reservedTasks(served.events), [p5old, p5new, p0old, p0new]);
  });

  test('FIFO: VirtualStartTime stands in for the creation time', () => {
    const { fx, alice } = oneQueue('FIFO');
    const first = fx.task({}, { at: at(10) }).sid;
    const backdated = fx.task({}, { at: at(20), virtualStartTime: at(5) }).sid;
    const served = fx.ok({ ...fx.setActivity(alice, 'Available')(), at: at(30) });
    assert.deepEqual(reservedTasks(served.events), [backdated, first]);
  });

  test('LIFO: newest first, priority ignored', () => {
    const { fx, alice } = oneQueue('LIFO');
    const [a, b, c, d] = tasks(fx, [0, 5, 5, 0]);
    const served = fx.ok({ ...fx.setActivity(alice, 'Available')(), at: at(10) });
    assert.deepEqual(reservedTasks(served.events), [d, c, b, a]);
  });

  test('changing a queue to LIFO re-sorts its waiting tasks', () => {
    const { fx, alice, queue } = oneQueue('FIFO');
    const [a, b] = tasks(fx, [0, 0]);
    fx.ok({ type: 'updateTaskQueue', taskQueueSid: queue, taskOrder: 'LIFO' });
    const served = fx.ok(fx.setActivity(alice, 'Available')());
    assert.deepEqual(reservedTasks(served.events), [b, a]);
  });

  const across: [workspaceOrder: 'FIFO' | 'LIFO', expected: string[]][] = [
    ['FIFO', ['fifo-old', 'fifo-new', 'lifo-new', 'lifo-old']],
    ['LIFO', ['lifo-new', 'lifo-old', 'fifo-old', 'fifo-new']],
  ];
  for (const [prioritizeQueueOrder, expected] of across) {
    test(`prioritize_queue_order ${prioritizeQueueOrder} serves that kind of queue first`, () => {
      const fx = new Fixture({ prioritizeQueueOrder });
      const fifo = fx.queue('FIFO queue', { taskOrder: 'FIFO' });
      const lifo = fx.queue('LIFO queue', { taskOrder: 'LIFO' });
      const alice = fx.worker('alice', {}, 'Offline');
      fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'default', capacity: 10 });
      const names = new Map<unknown, string>();
      // The LIFO queue's tasks have the higher priority and the older ones: the kind still decides.
      const make = (name: string, queue: string, seconds: number, priority: number): void => {
        names.set(fx.task({}, { at: at(seconds), taskQueueSid: queue, priority }).sid, name);
      };
      make('lifo-old', lifo, 0, 9);
      make('fifo-old', fifo, 1, 1);
      make('fifo-new', fifo, 2, 1);
      make('lifo-new', lifo, 3, 9);
      const served = fx.ok(fx.setActivity(alice, 'Available')());
      assert.deepEqual(reservedTasks(served.events).map((sid) => names.get(sid)), expected);
    });
  }

  test('across FIFO queues: higher priority first, then older', () => {
    const fx = new Fixture();
    const qa = fx.queue('A');
    const qb = fx.queue('B');
    const alice = fx.worker('alice', {}, 'Offline');
    fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'default', capacity: 10 });
    const a1 = fx.task({}, { at: at(0), taskQueueSid: qa }).sid;
    const b1 = fx.task({}, { at: at(1), taskQueueSid: qb }).sid;
    const b2 = fx.task({}, { at: at(2), taskQueueSid: qb, priority: 2 }).sid;
    const a2 = fx.task({}, { at: at(3), taskQueueSid: qa, priority: 2 }).sid;
    const served = fx.ok(fx.setActivity(alice, 'Available')());
    assert.deepEqual(reservedTasks(served.events), [b2, a2, a1, b1]);
  });

  test('a task nobody free can take does not block lower tasks for other workers', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(oneFilter([{ queue, expression: 'task.lang IN worker.langs' }]));
    const alice = fx.worker('alice', { langs: ['en'] }, 'Offline');
    const spanish = fx.task({ lang: 'es' }, { at: at(0), priority: 9 }).sid as string;
    const english = fx.task({ lang: 'en' }, { at: at(1) }).sid as string;
    const served = fx.ok({ ...fx.setActivity(alice, 'Available')(), at: at(2) });
    assert.deepEqual(reservedTasks(served.events), [english]);
    assert.equal(fx.status(spanish), 'pending');
  });
});

describe('which worker first (spec §7.2)', () => {
  test('longest idle first: never-reserved workers count from creation, the others from their last reservation', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice');
    fx.ok({ type: 'createWorker', friendlyName: 'bob', activitySid: fx.activity('Available'), at: at(1) });
    fx.ok({ type: 'createWorker', friendlyName: 'carl', activitySid: fx.activity('Available'), at: at(2) });
    fx.play([
      [5, { type: 'createTask' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered', 'reservation.created'], 't1'],
      [6, { type: 'createTask' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered', 'reservation.created'], 't2'],
      [7, fx.accept('t1', alice), ['reservation.accepted']],
      [8, fx.setStatus('t1', 'completed'), ['task.completed', 'reservation.completed']],
      // alice is free again but was reserved at 5 s; carl has been idle since he was created at 2 s.
      [9, { type: 'createTask' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered', 'reservation.created'], 't3'],
      [10, { type: 'createTask' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered', 'reservation.created'], 't4'],
    ]);
    assert.deepEqual(
      ['t1', 't2', 't3', 't4'].map((t) => fx.reservationSummary(t)[0]?.[0]),
      ['alice', 'bob', 'carl', 'alice'],
    );
  });

  test('a worker becoming available takes the oldest highest-priority task across its queues', () => {
    const fx = new Fixture();
    const sales = fx.queue('Sales', { targetWorkers: 'sales == true' });
    const support = fx.queue('Support', { targetWorkers: 'support == true' });
    const alice = fx.worker('alice', { sales: true, support: true }, 'Offline');
    const t1 = fx.task({}, { at: at(0), taskQueueSid: sales, priority: 1 }).sid as string;
    const t2 = fx.task({}, { at: at(1), taskQueueSid: support, priority: 1 }).sid as string;
    const t3 = fx.task({}, { at: at(2), taskQueueSid: support }).sid as string;
    const order: unknown[] = [];
    order.push(...reservedTasks(fx.ok(fx.setActivity(alice, 'Available')()).events));
    for (const t of [t1, t2]) {
      fx.ok(fx.accept(t, alice)());
      order.push(...reservedTasks(fx.ok(fx.setStatus(t, 'completed')()).events));
    }
    assert.deepEqual(order, [t1, t2, t3]);
  });

  test('channel-optimized routing ranks workers with no task before busy ones', () => {
    const fx = new Fixture();
    fx.ok({ type: 'updateTaskChannel', taskChannel: 'chat', channelOptimizedRouting: true });
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice');
    const voice = fx.task({}, { taskChannel: 'voice' }).sid as string;
    fx.ok(fx.accept(voice, alice)());
    fx.ok({ type: 'createWorker', friendlyName: 'bob', activitySid: fx.activity('Available'), at: at(5) });
    // alice has been idle on chat longer, but she is busy on voice.
    const chat = fx.task({}, { at: at(6), taskChannel: 'chat' }).sid as string;
    assert.deepEqual(fx.reservationSummary(chat), [['bob', 'pending']]);
  });
});

describe('multitasking (spec §7.3)', () => {
  test('capacity is per channel: voice 1, chat 3', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice', {}, 'Offline');
    fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', capacity: 3 });
    const chats = [0, 1, 2, 3].map((i) => fx.task({}, { at: at(i), taskChannel: 'chat' }).sid as string);
    const calls = [4, 5].map((i) => fx.task({}, { at: at(i), taskChannel: fx.channel('voice') }).sid as string);
    const served = fx.ok({ ...fx.setActivity(alice, 'Available')(), at: at(10) });
    // Capacities are independent, so each channel is served in turn (channel index order: voice
    // before chat); within a channel, queue order.
    assert.deepEqual(reservedTasks(served.events), [calls[0], ...chats.slice(0, 3)]);
    const [chat0, , , chat3] = chats as [string, string, string, string];
    // Accepting keeps the slot; wrapping still holds it; completing frees it for the fourth chat.
    fx.ok(fx.accept(chat0, alice)());
    const channel = fx.workerRecord(alice).channels[fx.engine.findChannel('chat')?.index ?? -1];
    assert.deepEqual([channel?.configuredCapacity, channel?.activeTasks, channel?.assignedTasks, channel?.availableCapacityPercentage], [3, 3, 1, 0]);
    assert.deepEqual(types(fx.ok(fx.setStatus(chat0, 'wrapping')()).events), ['task.wrapup', 'reservation.wrapup']);
    assert.deepEqual(types(fx.ok(fx.setStatus(chat0, 'completed')()).events), ['task.completed', 'reservation.completed', 'reservation.created']);
    assert.equal(fx.status(chat3), 'reserved');
    assert.equal(channel?.availableCapacityPercentage, 0);
  });

  test('a channel made unavailable or set to capacity 0 takes no new tasks; other channels go on', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice');
    fx.play([
      [0, { type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', available: false }, ['worker.channel.availability.update']],
      [0, { type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'sms', capacity: 0 }, ['worker.capacity.update']],
      [1, { type: 'createTask', taskChannel: 'chat' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered'], 'chat'],
      [2, { type: 'createTask', taskChannel: 'sms' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered'], 'sms'],
      [3, { type: 'createTask', taskChannel: 'voice' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered', 'reservation.created'], 'voice'],
      [4, { type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', available: true }, ['worker.channel.availability.update', 'reservation.created']],
      [5, { type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'sms', capacity: 1 }, ['worker.capacity.update', 'reservation.created']],
    ]);
  });

  test('worker.capacity.update carries the channel fields', () => {
    const fx = new Fixture();
    const alice = fx.worker('alice');
    const [event] = fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', capacity: 4 }).events;
    assert.deepEqual(
      [
        event?.data['worker_channel_previous_capacity'],
        event?.data['worker_channel_available_capacity'],
        event?.data['worker_channel_task_count'],
        event?.data['worker_channel_available'],
        event?.data['task_channel_unique_name'],
      ],
      [1, 4, 0, true, 'chat'],
    );
  });

  test('single-tasking workspace: one task at a time over all channels', () => {
    const fx = new Fixture({ multiTaskEnabled: false });
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice', {}, 'Offline');
    fx.ok({ type: 'updateWorkerChannel', workerSid: alice, workerChannel: 'chat', capacity: 3 });
    const first = fx.task({}, { at: at(0), taskChannel: 'chat' }).sid as string;
    const second = fx.task({}, { at: at(1), taskChannel: 'chat' }).sid as string;
    fx.task({}, { at: at(2), taskChannel: 'voice' });
    assert.deepEqual(reservedTasks(fx.ok({ ...fx.setActivity(alice, 'Available')(), at: at(3) }).events), [first]);
    fx.ok(fx.accept(first, alice)());
    assert.deepEqual(reservedTasks(fx.ok(fx.setStatus(first, 'completed')()).events), [second]);
  });

  test('turning multitasking off stops new reservations for a busy worker', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow(defaultOnly(queue));
    const alice = fx.worker('alice');
    fx.task({}, { taskChannel: 'chat' });
    fx.ok({ type: 'updateWorkspace', multiTaskEnabled: false });
    const voice = fx.task({}, { taskChannel: 'voice' });
    assert.deepEqual(types(voice.events), ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered']);
    assert.equal(fx.workerRecord(alice).openReservations.size, 1);
  });
});
