/**
 * Rejections (rejections.ts): one row per refused command, each naming its code, the parameter
 * at fault and the message, JSON paths included for workflow configurations. Every row also
 * checks that the refused command changed nothing: same snapshot, no event, no SID drawn.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Rejection } from './rejections.ts';
import { at, Fixture, oneFilter, type Cmd } from './test-helpers.ts';

interface Context {
  fx: Fixture;
  ws: string;
  support: string;
  spare: string;
  w1: string;
  w2: string;
  alice: string;
  pending: string;
  assigned: string;
  reservation: string;
}

/**
 * Queues Support (routed by W1) and Spare (holding a task routed to it directly), workflows W1
 * and W2, workers alice (holding an accepted task) and bob, and a pending task.
 */
function context(): Context {
  const fx = new Fixture();
  const support = fx.queue('Support');
  const spare = fx.queue('Spare', { targetWorkers: 'spare == true' });
  const w1 = fx.workflow(oneFilter([{ queue: support }]), { friendlyName: 'W1' });
  const w2 = fx.workflow(oneFilter([{ queue: support }]), { friendlyName: 'W2' });
  const alice = fx.worker('alice');
  fx.worker('bob', {}, 'Offline');
  const assigned = fx.task({}, { workflowSid: w1 }).sid as string;
  const reservation = fx.reservation(assigned, alice).sid;
  fx.ok(fx.accept(assigned, alice)());
  const pending = fx.task({}, { workflowSid: w1 }).sid as string;
  fx.task({}, { taskQueueSid: spare });
  fx.tick(60);
  return { fx, ws: fx.engine.workspace.sid, support, spare, w1, w2, alice, pending, assigned, reservation };
}

type Expected = { code: Rejection['code']; field?: string; message: string | RegExp };
type Row = [name: string, build: (c: Context) => [Cmd, Expected]];

const UNKNOWN = (prefix: string): string => prefix + 'f'.repeat(32);
const config = (_c: Context, routing: object): string => JSON.stringify({ task_routing: routing });
const filters = (c: Context, ...f: object[]): string => config(c, { filters: f });
const target = (c: Context, t: object): string => filters(c, { expression: '1==1', targets: [{ queue: c.support, ...t }] });
const workflow = (configuration: string, more: object = {}): Cmd => ({ type: 'createWorkflow', friendlyName: 'New', configuration, ...more });
const path = (suffix: string, problem: string): RegExp => new RegExp('^' + `Configuration task_routing.${suffix} ${problem}`.replace(/[.[\]()]/g, '\\$&'));

const task = (c: Context, more: object): Cmd => ({ type: 'createTask', workflowSid: c.w1, ...more });
const invalid = (field: string, message: string | RegExp): Expected => ({ code: 'invalid_parameter', field, message });

const ROWS: Row[] = [
  // ── tasks ──
  ['task attributes that are not JSON', (c) => [task(c, { attributes: '{"a":' }), invalid('Attributes', /^Attributes is not valid JSON: /)]],
  ['task attributes that are a JSON array', (c) => [task(c, { attributes: '[1,2]' }), invalid('Attributes', 'Attributes must be a JSON object')]],
  [
    'task attributes of 4,097 characters',
    (c) => [task(c, { attributes: JSON.stringify({ x: 'a'.repeat(4089) }) }), invalid('Attributes', 'Attributes must be at most 4096 characters, white space included (got 4097)')],
  ],
  ['priority below 0', (c) => [task(c, { priority: -1 }), invalid('Priority', 'Priority must be a whole number from 0 to 2147483647 (got -1)')]],
  ['priority above 2^31−1', (c) => [task(c, { priority: 2 ** 31 }), invalid('Priority', 'Priority must be a whole number from 0 to 2147483647 (got 2147483648)')]],
  ['a fractional priority', (c) => [task(c, { priority: 1.5 }), invalid('Priority', 'Priority must be a whole number from 0 to 2147483647 (got 1.5)')]],
  ['TTL 0', (c) => [task(c, { timeoutS: 0 }), invalid('Timeout', 'Timeout must be a whole number from 1 to 1209600 (got 0)')]],
  ['TTL over two weeks', (c) => [task(c, { timeoutS: 1_209_601 }), invalid('Timeout', 'Timeout must be a whole number from 1 to 1209600 (got 1209601)')]],
  ['an unknown task channel', (c) => [task(c, { taskChannel: 'fax' }), invalid('TaskChannel', 'TaskChannel fax is not a task channel SID or unique name in this workspace')]],
  ['a VirtualStartTime in the future', (c) => [task(c, { virtualStartTime: at(61) }), invalid('VirtualStartTime', 'VirtualStartTime must be a date between 1900 and now')]],
  ['a VirtualStartTime before 1900', (c) => [task(c, { virtualStartTime: -2_208_988_800_001 }), invalid('VirtualStartTime', 'VirtualStartTime must be a date between 1900 and now')]],
  [
    'an unknown workflow',
    (c) => [task(c, { workflowSid: UNKNOWN('WW') }), { code: 'not_found', field: 'WorkflowSid', message: `Workflow ${UNKNOWN('WW')} was not found in workspace ${c.ws}` }],
  ],
  ['no workflow with two in the workspace', () => [{ type: 'createTask' }, invalid('WorkflowSid', 'WorkflowSid is required: the workspace has 2 workflows')]],
  ['a RoutingTarget of another kind', (c) => [task(c, { routingTarget: c.reservation }), invalid('RoutingTarget', 'RoutingTarget must be a Worker (WK), TaskQueue (WQ) or Workflow (WW) SID')]],
  [
    'an unknown RoutingTarget worker',
    (c) => [{ type: 'createTask', routingTarget: UNKNOWN('WK') }, { code: 'not_found', field: 'RoutingTarget', message: `Worker ${UNKNOWN('WK')} was not found in workspace ${c.ws}` }],
  ],
  [
    'an unknown RoutingTarget queue',
    (c) => [{ type: 'createTask', routingTarget: UNKNOWN('WQ') }, { code: 'not_found', field: 'RoutingTarget', message: `TaskQueue ${UNKNOWN('WQ')} was not found in workspace ${c.ws}` }],
  ],
  [
    'an unknown TaskQueueSid',
    (c) => [{ type: 'createTask', taskQueueSid: UNKNOWN('WQ') }, { code: 'not_found', field: 'TaskQueueSid', message: `TaskQueue ${UNKNOWN('WQ')} was not found in workspace ${c.ws}` }],
  ],
  ['WorkflowSid and a different WW RoutingTarget', (c) => [task(c, { routingTarget: c.w2 }), invalid('WorkflowSid', 'WorkflowSid and RoutingTarget name different workflows')]],
  ['IgnoreCapacity without a worker target', (c) => [task(c, { ignoreCapacity: true }), invalid('IgnoreCapacity', 'IgnoreCapacity applies only with a worker (WK) RoutingTarget')]],
  [
    'updating an unknown task',
    (c) => [{ type: 'updateTask', taskSid: UNKNOWN('WT'), priority: 1 }, { code: 'not_found', field: 'TaskSid', message: `Task ${UNKNOWN('WT')} was not found in workspace ${c.ws}` }],
  ],
  ['updating attributes to broken JSON', (c) => [{ type: 'updateTask', taskSid: c.pending, attributes: '{' }, invalid('Attributes', /^Attributes is not valid JSON: /)]],
  ['updating to an unknown channel', (c) => [{ type: 'updateTask', taskSid: c.pending, taskChannel: 'fax' }, invalid('TaskChannel', 'TaskChannel fax is not a task channel SID or unique name in this workspace')]],
  ['updating VirtualStartTime into the future', (c) => [{ type: 'updateTask', taskSid: c.pending, virtualStartTime: at(99) }, invalid('VirtualStartTime', 'VirtualStartTime must not be in the future')]],
  [
    'canceling an assigned task',
    (c) => [
      { type: 'updateTask', taskSid: c.assigned, assignmentStatus: 'canceled' },
      { code: 'invalid_state', field: 'AssignmentStatus', message: `Cannot cancel task ${c.assigned} because it is not pending or reserved (it is assigned)` },
    ],
  ],
  [
    'deleting an unknown task',
    (c) => [{ type: 'deleteTask', taskSid: UNKNOWN('WT') }, { code: 'not_found', field: 'TaskSid', message: `Task ${UNKNOWN('WT')} was not found in workspace ${c.ws}` }],
  ],

  // ── reservations ──
  [
    'an unknown reservation',
    () => [{ type: 'updateReservation', reservationSid: UNKNOWN('WR'), reservationStatus: 'accepted' }, { code: 'not_found', field: 'ReservationSid', message: `Reservation ${UNKNOWN('WR')} was not found` }],
  ],
  [
    'a ReservationStatus that cannot be set',
    (c) => [
      { type: 'updateReservation', reservationSid: c.reservation, reservationStatus: 'pending' as 'accepted' },
      invalid('ReservationStatus', 'ReservationStatus must be accepted, rejected, wrapping or completed'),
    ],
  ],

  // ── workers ──
  [
    'a worker name taken, in another case',
    (c) => [{ type: 'createWorker', friendlyName: 'ALICE' }, { code: 'duplicate', field: 'FriendlyName', message: `Worker named ALICE already exists in workspace ${c.ws}` }],
  ],
  ['an empty worker name', () => [{ type: 'createWorker', friendlyName: ' ' }, invalid('FriendlyName', 'FriendlyName is required and must not be empty')]],
  ['a 65-character worker name', () => [{ type: 'createWorker', friendlyName: 'x'.repeat(65) }, invalid('FriendlyName', 'FriendlyName must be at most 64 characters (got 65)')]],
  ['worker attributes that are not JSON', () => [{ type: 'createWorker', friendlyName: 'carl', attributes: 'nope' }, invalid('Attributes', /^Attributes is not valid JSON: /)]],
  [
    'a worker with an unknown activity',
    (c) => [{ type: 'createWorker', friendlyName: 'carl', activitySid: UNKNOWN('WA') }, invalid('ActivitySid', `ActivitySid ${UNKNOWN('WA')} is not an activity of workspace ${c.ws}`)],
  ],
  [
    'updating an unknown worker',
    (c) => [{ type: 'updateWorker', workerSid: UNKNOWN('WK'), attributes: '{}' }, { code: 'not_found', field: 'Sid', message: `Worker ${UNKNOWN('WK')} was not found in workspace ${c.ws}` }],
  ],
  ['renaming a worker to a taken name', (c) => [{ type: 'updateWorker', workerSid: c.alice, friendlyName: 'Bob' }, { code: 'duplicate', field: 'FriendlyName', message: 'Worker named Bob already exists in this workspace' }]],
  ['a channel capacity of 51', (c) => [{ type: 'updateWorkerChannel', workerSid: c.alice, workerChannel: 'chat', capacity: 51 }, invalid('Capacity', 'Capacity must be a whole number from 0 to 50 (got 51)')]],
  [
    'an unknown worker channel',
    (c) => [{ type: 'updateWorkerChannel', workerSid: c.alice, workerChannel: 'fax', capacity: 2 }, { code: 'not_found', field: 'Sid', message: `Worker channel fax was not found for worker ${c.alice}` }],
  ],

  // ── task queues ──
  ['a broken TargetWorkers', () => [{ type: 'createTaskQueue', friendlyName: 'New', targetWorkers: 'skill-level > 3' }, invalid('TargetWorkers', /^TargetWorkers is invalid: Unexpected "-" at position 5/)]],
  [
    'a queue name taken',
    (c) => [{ type: 'createTaskQueue', friendlyName: 'Support' }, { code: 'duplicate', field: 'FriendlyName', message: `Queue named Support already exists for workspace ${c.ws}` }],
  ],
  ['MaxReservedWorkers 0', () => [{ type: 'createTaskQueue', friendlyName: 'New', maxReservedWorkers: 0 }, invalid('MaxReservedWorkers', 'MaxReservedWorkers must be a whole number from 1 to 50 (got 0)')]],
  ['MaxReservedWorkers 51', () => [{ type: 'createTaskQueue', friendlyName: 'New', maxReservedWorkers: 51 }, invalid('MaxReservedWorkers', 'MaxReservedWorkers must be a whole number from 1 to 50 (got 51)')]],
  ['an unknown TaskOrder', () => [{ type: 'createTaskQueue', friendlyName: 'New', taskOrder: 'RANDOM' as 'FIFO' }, invalid('TaskOrder', 'TaskOrder must be FIFO or LIFO')]],
  [
    'an unknown ReservationActivitySid',
    (c) => [
      { type: 'createTaskQueue', friendlyName: 'New', reservationActivitySid: UNKNOWN('WA') },
      invalid('ReservationActivitySid', `ReservationActivitySid ${UNKNOWN('WA')} is not an activity of workspace ${c.ws}`),
    ],
  ],
  [
    'an unknown AssignmentActivitySid',
    (c) => [
      { type: 'updateTaskQueue', taskQueueSid: c.support, assignmentActivitySid: UNKNOWN('WA') },
      invalid('AssignmentActivitySid', `AssignmentActivitySid ${UNKNOWN('WA')} is not an activity of workspace ${c.ws}`),
    ],
  ],
  ['a broken TargetWorkers update', (c) => [{ type: 'updateTaskQueue', taskQueueSid: c.support, targetWorkers: 'a ==' }, invalid('TargetWorkers', /^TargetWorkers is invalid: /)]],
  [
    'updating an unknown queue',
    (c) => [{ type: 'updateTaskQueue', taskQueueSid: UNKNOWN('WQ'), maxReservedWorkers: 2 }, { code: 'not_found', field: 'Sid', message: `TaskQueue ${UNKNOWN('WQ')} was not found in workspace ${c.ws}` }],
  ],
  [
    'deleting a queue a workflow routes to',
    (c) => [{ type: 'deleteTaskQueue', taskQueueSid: c.support }, { code: 'in_use', message: 'TaskQueue Support is a target of workflow W1; change the workflow first' }],
  ],
  ['deleting a queue holding a task', (c) => [{ type: 'deleteTaskQueue', taskQueueSid: c.spare }, { code: 'in_use', message: 'TaskQueue Spare still holds 1 tasks' }]],

  // ── workflows ──
  ['a configuration that is not JSON', () => [workflow('{task_routing'), invalid('Configuration', /^Configuration is not valid JSON: /)]],
  ['a configuration that is an array', () => [workflow('[]'), invalid('Configuration', 'Configuration configuration must be a JSON object')]],
  ['a configuration without task_routing', () => [workflow('{}'), invalid('Configuration', 'Configuration task_routing must be a JSON object')]],
  ['a configuration with no route', (c) => [workflow(config(c, { filters: [] })), invalid('Configuration', 'Configuration task_routing needs at least one filter or a default_filter')]],
  ['filters that are not an array', (c) => [workflow(config(c, { filters: {} })), invalid('Configuration', 'Configuration task_routing.filters must be an array')]],
  ['a filter without expression', (c) => [workflow(filters(c, { targets: [{ queue: c.support }] })), invalid('Configuration', 'Configuration task_routing.filters[0].expression is required')]],
  [
    'a filter expression with a hyphenated key',
    (c) => [
      workflow(filters(c, { expression: '1==1', targets: [{ queue: c.support }] }, { expression: 'skill-level > 3', targets: [{ queue: c.support }] })),
      invalid('Configuration', path('filters[1].expression', 'is invalid: Unexpected "-" at position 5 in expression "skill-level > 3"')),
    ],
  ],
  ['a filter with no targets', (c) => [workflow(filters(c, { expression: '1==1', targets: [] })), invalid('Configuration', 'Configuration task_routing.filters[0].targets must be a non-empty array')]],
  ['a first target without queue', (c) => [workflow(filters(c, { expression: '1==1', targets: [{ timeout: 5 }] })), invalid('Configuration', 'Configuration task_routing.filters[0].targets[0].queue must be a TaskQueue SID')]],
  [
    'a target queue of no queue',
    (c) => [
      workflow(target(c, { queue: UNKNOWN('WQ') })),
      invalid('Configuration', `Configuration task_routing.filters[0].targets[0].queue names TaskQueue ${UNKNOWN('WQ')}, which does not exist in this workspace`),
    ],
  ],
  [
    'a timeout of 0 on the second target',
    (c) => [
      workflow(filters(c, { expression: '1==1', targets: [{ queue: c.support, timeout: 5 }, { timeout: 0 }] })),
      invalid('Configuration', 'Configuration task_routing.filters[0].targets[1].timeout must be a positive whole number of seconds'),
    ],
  ],
  ['a non-numeric timeout', (c) => [workflow(target(c, { timeout: 'soon' })), invalid('Configuration', 'Configuration task_routing.filters[0].targets[0].timeout must be a positive whole number of seconds')]],
  ['a negative target priority', (c) => [workflow(target(c, { priority: -1 })), invalid('Configuration', 'Configuration task_routing.filters[0].targets[0].priority must be a whole number ≥ 0')]],
  [
    'a target expression with a bare key',
    (c) => [workflow(target(c, { expression: 'lang == "en"' })), invalid('Configuration', path('filters[0].targets[0].expression', 'is invalid: Key not allowed "lang" at position 0'))],
  ],
  [
    'a skip_if reading something else than worker counts',
    (c) => [workflow(target(c, { skip_if: 'workers.busy > 1' })), invalid('Configuration', path('filters[0].targets[0].skip_if', 'is invalid: Unknown worker count "workers.busy"'))],
  ],
  ['a broken order_by', (c) => [workflow(target(c, { order_by: 'worker.level UP' })), invalid('Configuration', path('filters[0].targets[0].order_by', 'is invalid: Unexpected key "UP" at position 13'))]],
  [
    'both known-worker keys',
    (c) => [
      workflow(target(c, { known_worker_sid: 'task.a', known_worker_friendly_name: 'task.b' })),
      invalid('Configuration', 'Configuration task_routing.filters[0].targets[0] may set known_worker_sid or known_worker_friendly_name, not both'),
    ],
  ],
  [
    'a known-worker reference outside task.',
    (c) => [workflow(target(c, { known_worker_sid: 'agent' })), invalid('Configuration', path('filters[0].targets[0].known_worker_sid', 'is invalid: Key not allowed "agent"'))],
  ],
  [
    'a default filter into no queue',
    (c) => [
      workflow(config(c, { default_filter: { queue: UNKNOWN('WQ') } })),
      invalid('Configuration', `Configuration task_routing.default_filter.queue names TaskQueue ${UNKNOWN('WQ')}, which does not exist in this workspace`),
    ],
  ],
  ['a configuration over 1,038,576 bytes', (c) => [workflow(config(c, { default_filter: { queue: c.support }, pad: 'é'.repeat(520_000) })), invalid('Configuration', 'Configuration is larger than 1038576 bytes')]],
  [
    'TaskReservationTimeout 0',
    (c) => [workflow(config(c, { default_filter: { queue: c.support } }), { taskReservationTimeoutS: 0 }), invalid('TaskReservationTimeout', 'TaskReservationTimeout must be a whole number from 1 to 86400 (got 0)')],
  ],
  [
    'TaskReservationTimeout over a day',
    (c) => [
      workflow(config(c, { default_filter: { queue: c.support } }), { taskReservationTimeoutS: 86_401 }),
      invalid('TaskReservationTimeout', 'TaskReservationTimeout must be a whole number from 1 to 86400 (got 86401)'),
    ],
  ],
  [
    'a workflow name taken',
    (c) => [workflow(config(c, { default_filter: { queue: c.support } }), { friendlyName: 'W2' }), { code: 'duplicate', field: 'FriendlyName', message: 'Workflow named W2 already exists in this workspace' }],
  ],
  [
    'updating an unknown workflow',
    (c) => [{ type: 'updateWorkflow', workflowSid: UNKNOWN('WW'), friendlyName: 'X' }, { code: 'not_found', field: 'Sid', message: `Workflow ${UNKNOWN('WW')} was not found in workspace ${c.ws}` }],
  ],
  [
    'deleting a workflow with live tasks',
    (c) => [{ type: 'deleteWorkflow', workflowSid: c.w1 }, { code: 'in_use', message: `Workflow W1 still routes task ${c.assigned}; cancel or complete its tasks first` }],
  ],

  // ── activities, channels, workspace ──
  [
    'an activity name taken',
    (c) => [{ type: 'createActivity', friendlyName: 'Available' }, { code: 'duplicate', field: 'FriendlyName', message: `Activity named Available already exists in workspace ${c.ws}` }],
  ],
  [
    'deleting the default activity',
    (c) => [{ type: 'deleteActivity', activitySid: c.fx.activity('Offline') }, { code: 'in_use', message: "Activity Offline is the workspace's default or timeout activity and cannot be deleted" }],
  ],
  [
    'deleting an activity a worker holds',
    (c) => [{ type: 'deleteActivity', activitySid: c.fx.activity('Available') }, { code: 'in_use', message: 'Activity Available is held by worker alice and cannot be deleted' }],
  ],
  ['updating an unknown activity', () => [{ type: 'updateActivity', activitySid: UNKNOWN('WA'), friendlyName: 'X' }, { code: 'not_found', field: 'ActivitySid', message: `Activity ${UNKNOWN('WA')} was not found` }]],
  [
    'a channel unique name starting with a digit',
    () => [
      { type: 'createTaskChannel', friendlyName: 'Fax', uniqueName: '1fax' },
      invalid('UniqueName', 'UniqueName may contain only letters, digits, "_" and "$", and may not start with a digit'),
    ],
  ],
  ['a channel unique name taken', () => [{ type: 'createTaskChannel', friendlyName: 'Voice 2', uniqueName: 'voice' }, { code: 'duplicate', field: 'UniqueName', message: 'TaskChannel voice already exists in this workspace' }]],
  ['deleting a channel in use', () => [{ type: 'deleteTaskChannel', taskChannel: 'default' }, { code: 'in_use', message: /^TaskChannel default is used by task WT[0-9a-f]{32} and cannot be deleted$/ }]],
  ['an unknown PrioritizeQueueOrder', () => [{ type: 'updateWorkspace', prioritizeQueueOrder: 'NEWEST' as 'FIFO' }, invalid('PrioritizeQueueOrder', 'PrioritizeQueueOrder must be FIFO or LIFO')]],
  [
    'an unknown TimeoutActivitySid',
    (c) => [{ type: 'updateWorkspace', timeoutActivitySid: UNKNOWN('WA') }, invalid('TimeoutActivitySid', `TimeoutActivitySid ${UNKNOWN('WA')} is not an activity of workspace ${c.ws}`)],
  ],
];

describe('every rejection names its code, field and reason, and changes nothing', () => {
  for (const [name, build] of ROWS) {
    test(name, () => {
      const c = context();
      const [command, expected] = build(c);
      const before = c.fx.engine.snapshot();
      const sidsBefore = c.fx.sids.counter;
      const outcome = c.fx.exec(command);
      const rejection = outcome.rejection;
      assert.ok(rejection !== null, 'refused');
      const { message, ...rest } = expected;
      assert.deepEqual({ code: rejection.code, field: rejection.field }, { field: undefined, ...rest });
      if (typeof message === 'string') assert.equal(rejection.message, message);
      else assert.match(rejection.message, message);
      assert.deepEqual(outcome.events, []);
      assert.equal(c.fx.sids.counter, sidsBefore);
      assert.deepEqual(c.fx.engine.snapshot(), before);
    });
  }
});

describe('limits', () => {
  test('values at the limit are accepted', () => {
    const c = context();
    const { fx } = c;
    fx.ok({ type: 'createTask', workflowSid: c.w1, attributes: JSON.stringify({ x: 'a'.repeat(4088) }), priority: 2_147_483_647, timeoutS: 1_209_600 });
    fx.ok({ type: 'createTaskQueue', friendlyName: 'x'.repeat(64), maxReservedWorkers: 50 });
    fx.ok({ type: 'updateWorkerChannel', workerSid: c.alice, workerChannel: 'chat', capacity: 50 });
    fx.ok({ type: 'createWorkflow', friendlyName: 'Long', configuration: config(c, { default_filter: { queue: c.support } }), taskReservationTimeoutS: 86_400 });
    fx.ok({ type: 'createTask', workflowSid: c.w1, virtualStartTime: fx.engine.now });
  });

  test('100 activities and 15 task channels per workspace', () => {
    const fx = new Fixture();
    for (let i = fx.engine.activities.size; i < 100; i++) fx.ok({ type: 'createActivity', friendlyName: `A${i}` });
    assert.deepEqual(fx.refuse({ type: 'createActivity', friendlyName: 'One too many' }), { code: 'limit_exceeded', message: 'A workspace holds at most 100 activities' });
    for (let i = fx.engine.channelList.length; i < 15; i++) fx.ok({ type: 'createTaskChannel', friendlyName: `C${i}`, uniqueName: `c${i}` });
    assert.deepEqual(fx.refuse({ type: 'createTaskChannel', friendlyName: 'Extra', uniqueName: 'extra' }), {
      code: 'limit_exceeded',
      message: 'A workspace holds at most 15 task channels',
    });
  });
});

describe('a refused command does not fire anything else either', () => {
  test('timers due at the command instant fire; the refusal only adds its rejection', () => {
    const c = context();
    const { fx } = c;
    fx.ok({ type: 'createTask', workflowSid: c.w1, timeoutS: 90 });
    const outcome = fx.exec({ type: 'updateTask', taskSid: c.assigned, assignmentStatus: 'canceled', at: at(150) });
    assert.equal(outcome.rejection?.code, 'invalid_state');
    assert.deepEqual(outcome.events.map((e) => e.eventType), ['task.canceled']);
    const after = fx.engine.snapshot();
    assert.deepEqual(fx.exec({ type: 'updateTask', taskSid: c.assigned, assignmentStatus: 'canceled' }).events, []);
    assert.deepEqual(fx.engine.snapshot(), after);
  });
});
