import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineEvent } from '../../src/engine/index.ts';
import { connectionOverrides } from '../../src/webhooks/dispatcher.ts';
import { assignmentCallbackParams, eventCallbackParams, pascalCase, passesFilter } from '../../src/runtime/outbox.ts';

const event: EngineEvent = {
  sid: 'EV1',
  eventType: 'reservation.created',
  at: 1_700_000_000_123,
  resourceType: 'reservation',
  resourceSid: 'WR1',
  data: {
    workspace_sid: 'WS1', workspace_name: 'Support', task_sid: 'WT1', task_attributes: '{"a":1}', task_age: 3, task_priority: 0,
    task_canceled_reason: null, task_channel_sid: 'TC1', task_channel_unique_name: 'default', worker_sid: 'WK1', worker_name: 'Alice',
    worker_attributes: '{}', task_queue_sid: 'WQ1', workflow_sid: 'WW1', reservation_sid: 'WR1',
  },
};

test('snake_case → PascalCase; the events filter is a trimmed comma list, empty means all', () => {
  assert.equal(pascalCase('task_queue_target_expression'), 'TaskQueueTargetExpression');
  assert.ok(passesFilter(null, 'task.created'));
  assert.ok(passesFilter(' ', 'task.created'));
  assert.ok(passesFilter('worker.created , task.created', 'task.created'));
  assert.ok(!passesFilter('task.created', 'task.updated'));
});

test('event parameters: strings only, nulls left out, the common block of §9.2', () => {
  const p = eventCallbackParams('AC1', event);
  assert.ok(Object.values(p).every((v) => typeof v === 'string'));
  assert.equal(p['TaskCanceledReason'], undefined);
  assert.equal(p['TaskAge'], '3');
  assert.equal(p['TaskAttributes'], '{"a":1}');
  assert.equal(p['Timestamp'], '1700000000');
  assert.equal(p['TimestampMs'], '1700000000123');
  assert.equal(p['ResourceType'], 'reservation');
  assert.equal(p['WorkspaceName'], 'Support');
  assert.equal(p['ReservationSid'], 'WR1');
});

test('assignment parameters of §8', () => {
  assert.deepEqual(assignmentCallbackParams('AC1', event), {
    AccountSid: 'AC1', WorkspaceSid: 'WS1', WorkflowSid: 'WW1', TaskQueueSid: 'WQ1', TaskSid: 'WT1', TaskAttributes: '{"a":1}',
    TaskAge: '3', TaskPriority: '0', WorkerSid: 'WK1', WorkerAttributes: '{}', ReservationSid: 'WR1', TaskChannelSid: 'TC1',
    TaskChannelUniqueName: 'default', WorkerName: 'Alice', Timestamp: '1700000000',
  });
});

test('connection overrides from the URL fragment', () => {
  assert.deepEqual(connectionOverrides('https://x.test/cb'), {});
  assert.deepEqual(connectionOverrides('https://x.test/cb#tt=2000&rc=1'), { timeoutMs: 2000, retries: 1 });
  assert.deepEqual(connectionOverrides('https://x.test/cb#ct=500&rt=1000&rc=9&rp=all'), { timeoutMs: 1500, retries: 5, retryOn: new Set(['all']) });
});
