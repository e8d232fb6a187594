/**
 * Statistics (spec §10): cumulative counts and waits per workspace, queue and workflow,
 * split_by_wait_time, windows, real-time task and worker figures, and worker activity durations.
 * One scenario (below) feeds every expectation, so each number can be traced to a row.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  resolveWindow,
  taskQueueCumulative,
  taskQueueRealtime,
  workerInstanceCumulative,
  workersCumulative,
  workersRealtime,
  workflowCumulative,
  workflowRealtime,
  workspaceCumulative,
  workspaceRealtime,
} from './statistics-query.ts';
import type { StatisticsWindow } from './statistics.ts';
import { at, Fixture, T0 } from './test-helpers.ts';

const CREATED = ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered'] as const;

/**
 * Sales (everybody) for 100 s, then Overflow (bob) for 100 s. alice takes t1; bob is Available
 * with capacity 0, so he counts as available but never gets a task.
 *
 * | s   | what                                   | waits                          |
 * |-----|----------------------------------------|--------------------------------|
 * | 0   | t1 created, reserved to alice          |                                |
 * | 30  | alice accepts t1                       | accepted after 30 s (queue 30) |
 * | 40  | t2 created; 50: t3 created             |                                |
 * | 90  | t2 canceled over REST                  | canceled after 50 s            |
 * | 100 | t1 completed; t3 reserved to alice     |                                |
 * | 110 | alice rejects t3, goes Unavailable     |                                |
 * | 150 | t3's step times out: Sales → Overflow  |                                |
 * | 160 | t4 created at priority 5 (waits)      |                                |
 * | 250 | t3's workflow times out, canceled      | canceled after 200 s           |
 *
 * The figures are read at 255 s, before t4 would leave Sales at 260 s.
 */
function scenario(): { fx: Fixture; sales: string; overflow: string; workflow: string; alice: string; bob: string } {
  const fx = new Fixture();
  const sales = fx.queue('Sales');
  const overflow = fx.queue('Overflow', { targetWorkers: 'overflow == true' });
  const workflow = fx.workflow({ task_routing: { filters: [{ expression: '1==1', targets: [{ queue: sales, timeout: 100 }, { queue: overflow, timeout: 100 }] }] } });
  const alice = fx.worker('alice');
  const bob = fx.worker('bob', { overflow: true });
  fx.ok({ type: 'updateWorkerChannel', workerSid: bob, workerChannel: 'default', capacity: 0 });
  fx.play([
    [0, { type: 'createTask' }, [...CREATED, 'reservation.created'], 't1'],
    [30, fx.accept('t1', alice), ['reservation.accepted']],
    [40, { type: 'createTask' }, CREATED, 't2'],
    [50, { type: 'createTask' }, CREATED, 't3'],
    [90, fx.setStatus('t2', 'canceled'), ['task.canceled']],
    [100, fx.setStatus('t1', 'completed'), ['task.completed', 'reservation.completed', 'reservation.created']],
    [110, fx.setReservation('t3', alice, 'rejected', 'Unavailable'), ['reservation.rejected', 'worker.activity.update']],
    [150, 'tick', ['task-queue.timeout', 'task-queue.moved', 'workflow.target-matched', 'task-queue.entered']],
    [160, { type: 'createTask', priority: 5 }, CREATED, 't4'],
    [250, 'tick', ['task-queue.timeout', 'workflow.timeout', 'task.canceled']],
    [255, 'tick', []],
  ]);
  return { fx, sales, overflow, workflow, alice, bob };
}

/** The last 15 minutes at 255 s: the whole scenario. */
const WHOLE: StatisticsWindow = { startMs: at(255) - 15 * 60_000, endMs: at(255) };
const NO_RESERVATIONS = {
  reservations_created: 0,
  reservations_accepted: 0,
  reservations_rejected: 0,
  reservations_timed_out: 0,
  reservations_canceled: 0,
  reservations_rescinded: 0,
};
const NO_WAIT = { avg: 0, min: 0, max: 0, total: 0 };

describe('cumulative statistics (spec §10)', () => {
  test('workspace: counts, waits and split_by_wait_time', () => {
    const { fx } = scenario();
    assert.deepEqual(workspaceCumulative(fx.engine, WHOLE, [30, 60]), {
      avg_task_acceptance_time: 30,
      start_time: WHOLE.startMs,
      end_time: WHOLE.endMs,
      ...NO_RESERVATIONS,
      reservations_created: 2,
      reservations_accepted: 1,
      reservations_rejected: 1,
      split_by_wait_time: {
        // A wait equal to the threshold counts as below it (OUR CHOICE).
        '30': { above: { tasks_canceled: 2, reservations_accepted: 0 }, below: { tasks_canceled: 0, reservations_accepted: 1 } },
        '60': { above: { tasks_canceled: 1, reservations_accepted: 0 }, below: { tasks_canceled: 1, reservations_accepted: 1 } },
      },
      wait_duration_until_accepted: { avg: 30, min: 30, max: 30, total: 30 },
      wait_duration_until_canceled: { avg: 125, min: 50, max: 200, total: 250 },
      tasks_canceled: 2,
      tasks_completed: 1,
      tasks_deleted: 0,
      tasks_moved: 1,
      tasks_created: 4,
      tasks_timed_out_in_workflow: 1,
    });
  });

  test('task queues: entered, moved away, waits in queue', () => {
    const { fx, sales, overflow } = scenario();
    const salesStats = taskQueueCumulative(fx.engine, sales, WHOLE);
    assert.deepEqual(
      [salesStats['tasks_entered'], salesStats['tasks_moved'], salesStats['tasks_canceled'], salesStats['tasks_completed'], salesStats['reservations_created']],
      [4, 1, 1, 1, 2],
    );
    assert.deepEqual(salesStats['wait_duration_in_queue_until_accepted'], { avg: 30, min: 30, max: 30, total: 30 });
    assert.equal(salesStats['split_by_wait_time'], null);
    const overflowStats = taskQueueCumulative(fx.engine, overflow, WHOLE);
    assert.deepEqual(
      [overflowStats['tasks_entered'], overflowStats['tasks_moved'], overflowStats['tasks_canceled'], overflowStats['reservations_created']],
      [1, 0, 1, 0],
    );
    assert.deepEqual(overflowStats['wait_duration_until_canceled'], { avg: 200, min: 200, max: 200, total: 200 });
    assert.deepEqual(overflowStats['wait_duration_in_queue_until_accepted'], NO_WAIT);
  });

  test('workflow: entered and timed out', () => {
    const { fx, workflow } = scenario();
    const stats = workflowCumulative(fx.engine, workflow, WHOLE);
    assert.deepEqual(
      [stats['tasks_entered'], stats['tasks_timed_out_in_workflow'], stats['tasks_canceled'], stats['reservations_accepted'], stats['avg_task_acceptance_time']],
      [4, 1, 2, 1, 30],
    );
  });

  test('a window counts only its own minutes; a channel filter only that channel', () => {
    const { fx } = scenario();
    const late = workspaceCumulative(fx.engine, { startMs: at(120), endMs: at(255) });
    assert.deepEqual(
      [late['tasks_created'], late['tasks_canceled'], late['tasks_moved'], late['reservations_created'], late['wait_duration_until_canceled']],
      [1, 1, 1, 0, { avg: 200, min: 200, max: 200, total: 200 }],
    );
    const voice = workspaceCumulative(fx.engine, { ...WHOLE, taskChannelSid: fx.channel('voice') });
    assert.deepEqual([voice['tasks_created'], voice['tasks_canceled'], voice['reservations_created']], [0, 0, 0]);
    const byDefault = workspaceCumulative(fx.engine, { ...WHOLE, taskChannelSid: fx.channel('default') });
    assert.equal(byDefault['tasks_created'], 4);
  });

  test('deleted tasks are counted', () => {
    const fx = new Fixture();
    fx.workflow({ task_routing: { default_filter: { queue: fx.queue('Q') } } });
    const task = fx.task().sid as string;
    fx.ok({ type: 'deleteTask', taskSid: task });
    assert.equal(workspaceCumulative(fx.engine, { startMs: T0, endMs: T0 + 60_000 })['tasks_deleted'], 1);
  });
});

describe('real-time statistics (spec §10)', () => {
  test('workspace: tasks by status and priority, longest waiting, workers per activity', () => {
    const { fx } = scenario();
    assert.deepEqual(workspaceRealtime(fx.engine), {
      tasks_by_status: { pending: 1, reserved: 0, assigned: 0, wrapping: 0 },
      tasks_by_priority: { '5': 1 },
      total_tasks: 1,
      longest_task_waiting_age: 95,
      longest_task_waiting_sid: fx.$('t4'),
      activity_statistics: [
        { sid: fx.activity('Offline'), friendly_name: 'Offline', workers: 0 },
        { sid: fx.activity('Available'), friendly_name: 'Available', workers: 1 },
        { sid: fx.activity('Unavailable'), friendly_name: 'Unavailable', workers: 1 },
      ],
      total_workers: 2,
    });
  });

  test('task queue: oldest by queue entry, eligible and available workers', () => {
    const { fx, sales, overflow } = scenario();
    const s = taskQueueRealtime(fx.engine, sales);
    assert.deepEqual(
      [s['total_tasks'], s['longest_relative_task_age_in_queue'], s['longest_relative_task_sid_in_queue'], s['total_eligible_workers'], s['total_available_workers']],
      [1, 95, fx.$('t4'), 2, 1],
    );
    assert.deepEqual(
      (s['activity_statistics'] as { friendly_name: string; workers: number }[]).map((a) => [a.friendly_name, a.workers]),
      [['Offline', 0], ['Available', 1], ['Unavailable', 1]],
    );
    const o = taskQueueRealtime(fx.engine, overflow);
    assert.deepEqual([o['total_tasks'], o['longest_relative_task_sid_in_queue'], o['total_eligible_workers'], o['total_available_workers']], [0, null, 1, 1]);
  });

  test('reserved, assigned and wrapping tasks; priorities of waiting tasks only', () => {
    const fx = new Fixture();
    const queue = fx.queue('Q');
    fx.workflow({ task_routing: { default_filter: { queue } } });
    const [a, b] = ['a', 'b', 'c'].map((name) => fx.worker(name));
    const tasks = [0, 1, 2, 3].map((i) => fx.task({}, { at: at(i * 10), priority: i }).sid as string);
    fx.ok(fx.accept(tasks[0] as string, a as string)());
    fx.ok(fx.accept(tasks[1] as string, b as string)());
    fx.ok(fx.setStatus(tasks[1] as string, 'wrapping')());
    fx.tick(100);
    const expected = {
      tasks_by_status: { pending: 1, reserved: 1, assigned: 1, wrapping: 1 },
      tasks_by_priority: { '2': 1, '3': 1 },
      total_tasks: 4,
      longest_task_waiting_age: 80,
      longest_task_waiting_sid: tasks[2],
    };
    const { activity_statistics: _a, total_workers: _w, ...figures } = workspaceRealtime(fx.engine);
    assert.deepEqual(figures, expected);
    assert.equal(fx.reservationSummary(tasks[2] as string)[0]?.[0], 'c');
    // The channel filter narrows the task figures.
    const voice = workspaceRealtime(fx.engine, fx.channel('voice'));
    assert.deepEqual([voice['total_tasks'], voice['longest_task_waiting_sid']], [0, null]);
  });

  test('workflow real-time counts only its own tasks', () => {
    const { fx, workflow } = scenario();
    const other = fx.workflow({ task_routing: { default_filter: { queue: fx.queue('Other', { targetWorkers: '' }) } } });
    fx.task({}, { workflowSid: other, priority: 1 });
    const mine = workflowRealtime(fx.engine, workflow);
    assert.deepEqual([mine['total_tasks'], mine['tasks_by_priority']], [1, { '5': 1 }]);
    const theirs = workflowRealtime(fx.engine, other);
    assert.deepEqual([theirs['total_tasks'], theirs['tasks_by_priority'], theirs['longest_task_waiting_age']], [1, { '1': 1 }, 0]);
  });

  test('workers real-time, filtered by queue and name', () => {
    const { fx, overflow } = scenario();
    assert.equal(workersRealtime(fx.engine)['total_workers'], 2);
    const inOverflow = workersRealtime(fx.engine, { taskQueueSid: overflow });
    assert.deepEqual(
      [inOverflow['total_workers'], (inOverflow['activity_statistics'] as { workers: number }[]).map((a) => a.workers)],
      [1, [0, 1, 0]],
    );
    assert.equal(workersRealtime(fx.engine, { taskQueueName: 'Overflow', friendlyName: 'ALICE' })['total_workers'], 0);
    assert.equal(workersRealtime(fx.engine, { friendlyName: 'ALICE' })['total_workers'], 1);
  });
});

describe('worker statistics (spec §10)', () => {
  const UNTIL_NOW: StatisticsWindow = { startMs: T0, endMs: at(255) };

  test('one worker: seconds per activity and reservation counts', () => {
    const { fx, alice } = scenario();
    assert.deepEqual(workerInstanceCumulative(fx.engine, alice, UNTIL_NOW), {
      start_time: T0,
      end_time: at(255),
      activity_durations: [
        { sid: fx.activity('Offline'), friendly_name: 'Offline', avg: 0, min: 0, max: 0, total: 0 },
        { sid: fx.activity('Available'), friendly_name: 'Available', avg: 110, min: 110, max: 110, total: 110 },
        { sid: fx.activity('Unavailable'), friendly_name: 'Unavailable', avg: 145, min: 145, max: 145, total: 145 },
      ],
      ...NO_RESERVATIONS,
      reservations_created: 2,
      reservations_accepted: 1,
      reservations_rejected: 1,
    });
  });

  test('all workers: total, least, most and mean per activity', () => {
    const { fx } = scenario();
    const stats = workersCumulative(fx.engine, UNTIL_NOW);
    assert.deepEqual(
      (stats['activity_durations'] as { friendly_name: string; avg: number; min: number; max: number; total: number }[]).map((d) => [
        d.friendly_name,
        d.avg,
        d.min,
        d.max,
        d.total,
      ]),
      [
        ['Offline', 0, 0, 0, 0],
        // avg rounds half up: 365 / 2 and 145 / 2.
        ['Available', 183, 110, 255, 365],
        ['Unavailable', 73, 0, 145, 145],
      ],
    );
    assert.equal(stats['reservations_created'], 2);
  });

  test("the current activity counts up to the request's instant, never beyond it", () => {
    const { fx, alice } = scenario();
    // alice has been Unavailable since 110 s; the engine's last command was at 250 s.
    const durations = (w: StatisticsWindow): number[] => (workerInstanceCumulative(fx.engine, alice, w)['activity_durations'] as { total: number }[]).map((d) => d.total);
    assert.deepEqual(durations({ startMs: T0, endMs: at(400), asOfMs: at(400) }), [0, 110, 290]);
    // EndDate after the request: the time after the request has not happened yet.
    assert.deepEqual(durations({ startMs: T0, endMs: at(1000), asOfMs: at(400) }), [0, 110, 290]);
    // Through resolveWindow, as the API calls it: Minutes=1 at 400 s is 60 s of Unavailable.
    const window = resolveWindow(fx.engine, { minutes: 1 }, at(400));
    assert.ok(!('code' in window));
    assert.deepEqual(durations(window), [0, 0, 60]);
  });

  test('a window inside the timeline is clipped to it', () => {
    const { fx, alice } = scenario();
    const stats = workerInstanceCumulative(fx.engine, alice, { startMs: at(100), endMs: at(200) });
    assert.deepEqual(
      (stats['activity_durations'] as { total: number }[]).map((d) => d.total),
      [0, 10, 90],
    );
  });
});

describe('statistics windows (spec §10)', () => {
  test('defaults to the last 15 minutes', () => {
    const fx = new Fixture();
    fx.tick(3600);
    assert.deepEqual(resolveWindow(fx.engine, {}, at(3600)), { startMs: at(3600) - 15 * 60_000, endMs: at(3600), asOfMs: at(3600) });
    assert.deepEqual(resolveWindow(fx.engine, { minutes: 60, taskChannel: 'chat' }, at(3600)), {
      startMs: T0,
      endMs: at(3600),
      asOfMs: at(3600),
      taskChannelSid: fx.channel('chat'),
    });
  });

  test("ends at the request's instant, not at the engine's last command", () => {
    const fx = new Fixture();
    fx.tick(3600);
    // Quiet for 10 minutes after the last command: Minutes=5 is the 5 minutes before the request.
    assert.deepEqual(resolveWindow(fx.engine, { minutes: 5 }, at(4200)), { startMs: at(3900), endMs: at(4200), asOfMs: at(4200) });
    // An explicit EndDate stays; the figures are still taken as of the request.
    assert.deepEqual(resolveWindow(fx.engine, { startMs: at(0), endMs: at(100) }, at(4200)), { startMs: at(0), endMs: at(100), asOfMs: at(4200) });
    // An instant before the engine's clock is the engine's clock (time never goes back).
    assert.deepEqual(resolveWindow(fx.engine, {}, at(3000)), { startMs: at(3600) - 15 * 60_000, endMs: at(3600), asOfMs: at(3600) });
    // The 30-day retention counts back from the request.
    const month = 30 * 86_400_000;
    assert.equal('code' in resolveWindow(fx.engine, { startMs: at(3600) - month + 60_000 }, at(3600)), false);
    assert.deepEqual(resolveWindow(fx.engine, { startMs: at(3600) - month + 60_000 }, at(3600) + 120_000), {
      code: 'window_too_old',
      field: 'StartDate',
      message: 'StartDate must be within the last 30 days',
    });
  });

  const refusals: [name: string, query: Parameters<typeof resolveWindow>[1], rejection: object][] = [
    ['Minutes 0', { minutes: 0 }, { code: 'invalid_parameter', field: 'Minutes', message: 'Minutes must be a positive whole number' }],
    ['start after end', { startMs: at(20), endMs: at(10) }, { code: 'invalid_parameter', field: 'StartDate', message: 'StartDate must be before EndDate' }],
    [
      'start 30 days and a minute ago',
      { startMs: at(3600) - 30 * 86_400_000 - 60_000 },
      { code: 'window_too_old', field: 'StartDate', message: 'StartDate must be within the last 30 days' },
    ],
    ['unknown channel', { taskChannel: 'fax' }, { code: 'invalid_parameter', field: 'TaskChannel', message: 'TaskChannel fax does not exist' }],
  ];
  for (const [name, query, rejection] of refusals) {
    test(`refused: ${name}`, () => {
      const fx = new Fixture();
      fx.tick(3600);
      assert.deepEqual(resolveWindow(fx.engine, query, at(3600)), rejection);
    });
  }
});
