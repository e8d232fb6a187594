/**
 * Bad input on every resource group, against a real server on 127.0.0.1: malformed form bodies,
 * invalid and oversized JSON attributes, broken expressions and workflow configurations, unknown
 * and foreign SIDs, wrong types, missing parameters, bad credentials and methods. Each request
 * must get the right 4xx with Twilio's error body (spec §2) and a message naming the field (or
 * the path), and must change nothing: every workspace's engine snapshot, stored event count and
 * workspace list are compared before and after.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { WorkspaceEngine } from '../../src/engine/index.ts';
import { startHarness, type Harness } from './helpers.ts';

let h: Harness;
/** Account B: its own credentials and workspace, to check cross-account isolation. */
let b: { sid: string; secret: string };

interface World {
  ws: string;
  available: string;
  offline: string;
  queue: string;
  workflow: string;
  worker: string;
  busyWorker: string;
  pendingTask: string;
  reservedTask: string;
  reservation: string;
  channel: string;
  workerChannel: string;
  event: string;
}
let A: World;
let B: World;

async function world(client: Harness['client'], name: string): Promise<World> {
  const tr = client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: name });
  const w = tr.workspaces(ws.sid);
  const acts = await w.activities.list();
  const act = (n: string): string => acts.find((a) => a.friendlyName === n)?.sid as string;
  const queue = await w.taskQueues.create({ friendlyName: 'Support', targetWorkers: 'skills HAS "support"' });
  const configuration = JSON.stringify({ task_routing: { filters: [{ expression: 'type == "support"', targets: [{ queue: queue.sid }] }], default_filter: { queue: queue.sid } } });
  const workflow = await w.workflows.create({ friendlyName: 'Main', configuration });
  const busyWorker = await w.workers.create({ friendlyName: 'Busy', attributes: JSON.stringify({ skills: ['support'] }), activitySid: act('Available') });
  const worker = await w.workers.create({ friendlyName: 'Idle', attributes: JSON.stringify({ skills: [] }), activitySid: act('Offline') });
  const reservedTask = await w.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify({ type: 'support' }) });
  const pendingTask = await w.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify({ type: 'support' }) });
  const reservations = await w.tasks(reservedTask.sid).reservations.list();
  assert.equal(reservations.length, 1, 'the setup reserves the first task');
  assert.equal(reservations[0]?.reservationStatus, 'pending');
  const channels = await w.taskChannels.list();
  const workerChannels = await w.workers(busyWorker.sid).workerChannels.list();
  const events = await w.events.list({ limit: 1 });
  return {
    ws: ws.sid,
    available: act('Available'),
    offline: act('Offline'),
    queue: queue.sid,
    workflow: workflow.sid,
    worker: worker.sid,
    busyWorker: busyWorker.sid,
    pendingTask: pendingTask.sid,
    reservedTask: reservedTask.sid,
    reservation: reservations[0]?.sid as string,
    channel: channels[0]?.sid as string,
    workerChannel: workerChannels[0]?.sid as string,
    event: events[0]?.sid as string,
  };
}

before(async () => {
  h = await startHarness();
  b = await h.runtime.createAccount('Other');
  A = await world(h.client, 'A');
  B = await world(h.newClient(b.sid, b.secret), 'B');
});
after(async () => {
  await h.close();
});

/** Everything a request could change: both workspaces' engine state, their stored events, the workspace lists. */
async function state(): Promise<string> {
  const engines = [...h.runtime.workspaces(h.account.sid), ...h.runtime.workspaces(b.sid)];
  const snap = (e: WorkspaceEngine): unknown => {
    const { now: _now, ...rest } = e.snapshot();
    return rest;
  };
  const events: number[] = [];
  for (const e of engines) events.push((await h.runtime.store.events(e.workspace.sid, 0, Number.MAX_SAFE_INTEGER, 1_000_000)).length);
  return JSON.stringify({
    workspaces: [h.runtime.workspaces(h.account.sid).map((e) => e.workspace.sid), h.runtime.workspaces(b.sid).map((e) => e.workspace.sid)],
    engines: engines.map(snap),
    events,
  });
}

interface Case {
  name: string;
  method: string;
  path: (w: World) => string;
  body?: string | ((w: World) => string);
  contentType?: string;
  headers?: Record<string, string>;
  auth?: [string, string] | null | 'B';
  status: number;
  code: number;
  /** Text the message must contain: the field at fault (or, for 404, the path: `PATH`). */
  names: string | RegExp;
}

const form = (o: Record<string, string>): string => new URLSearchParams(o).toString();
const ws = (w: World): string => `/v1/Workspaces/${w.ws}`;
const unknown = (prefix: string): string => `${prefix}${'0'.repeat(32)}`;
const configOf = (routing: unknown): string => form({ FriendlyName: 'Broken', Configuration: JSON.stringify(routing) });
const filterWith = (target: Record<string, unknown>, expression = '1 == 1'): unknown => ({ task_routing: { filters: [{ expression, targets: [target] }] } });
const big = JSON.stringify({ notes: 'x'.repeat(4_100) });

async function run(c: Case): Promise<void> {
  const before = await state();
  const body = typeof c.body === 'function' ? c.body(A) : c.body;
  const path = c.path(A);
  const auth = c.auth === 'B' ? ([b.sid, b.secret] as [string, string]) : c.auth;
  const res = await h.raw(c.method, path, { body, contentType: c.contentType, headers: c.headers, auth });
  const err = res.body as { code: number; message: string; more_info: string; status: number } | undefined;
  const label = `${c.name}: ${c.method} ${path} → ${res.status} ${JSON.stringify(err)}`;
  assert.equal(res.status, c.status, label);
  assert.ok(err !== undefined, label);
  assert.deepEqual(Object.keys(err).sort(), ['code', 'message', 'more_info', 'status'], label);
  assert.equal(err.code, c.code, label);
  assert.equal(err.status, c.status, label);
  assert.ok(err.more_info.endsWith(String(c.code)), label);
  const names = c.names === 'PATH' ? path.split('?')[0] as string : c.names;
  if (typeof names === 'string') assert.ok(err.message.includes(names), `${label}\nthe message must name ${names}`);
  else assert.match(err.message, names, label);
  assert.equal(await state(), before, `${c.name}: the state changed`);
}

const CASES: Record<string, Case[]> = {
  'form bodies': [
    { name: 'unsupported content type', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: 'Attributes={}', contentType: 'text/plain', status: 415, code: 20001, names: 'Content-Type' },
    { name: 'JSON instead of a form', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: '{"FriendlyName":"J"}', contentType: 'application/json', status: 415, code: 20001, names: 'Content-Type' },
    { name: 'XML', method: 'POST', path: (w) => `${ws(w)}/Activities`, body: '<a/>', contentType: 'application/xml', status: 415, code: 20001, names: /application\/xml/ },
    { name: 'broken percent-encoding', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: 'FriendlyName=%ZZbad', status: 400, code: 20001, names: 'FriendlyName' },
    { name: 'truncated UTF-8 sequence', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: 'Attributes=%7B%7D&Priority=%E0%A4', status: 400, code: 20001, names: 'Priority' },
    { name: 'broken encoding in a name', method: 'POST', path: (w) => `${ws(w)}/Activities`, body: 'Friendly%G1Name=x', status: 400, code: 20001, names: /parameter name/ },
    { name: 'body over the size limit', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Attributes: JSON.stringify({ x: 'y'.repeat(4_300_000) }) }), status: 413, code: 20001, names: /larger than the limit/ },
    { name: 'repeated single-valued parameter', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: 'FriendlyName=a&FriendlyName=b', status: 400, code: 20001, names: 'FriendlyName' },
  ],
  auth: [
    { name: 'no credentials', method: 'GET', path: () => '/v1/Workspaces', auth: null, status: 401, code: 20003, names: 'Authenticate' },
    { name: 'wrong token', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: form({ FriendlyName: 'X' }), auth: ['AC' + '1'.repeat(32), 'nope'], status: 401, code: 20003, names: 'Authenticate' },
    { name: "another account's workspace", method: 'POST', path: (w) => `${ws(w)}/Workers`, body: form({ FriendlyName: 'X' }), auth: 'B', status: 404, code: 20404, names: 'PATH' },
    { name: 'method not allowed', method: 'PUT', path: (w) => `${ws(w)}/Workers`, body: form({ FriendlyName: 'X' }), status: 405, code: 20004, names: 'PUT' },
  ],
  workspaces: [
    { name: 'missing FriendlyName', method: 'POST', path: () => '/v1/Workspaces', body: '', status: 400, code: 20001, names: 'FriendlyName' },
    { name: 'unknown Template', method: 'POST', path: () => '/v1/Workspaces', body: form({ FriendlyName: 'T', Template: 'BOGUS' }), status: 400, code: 20001, names: 'Template' },
    { name: 'EventCallbackUrl not a URL', method: 'POST', path: () => '/v1/Workspaces', body: form({ FriendlyName: 'T', EventCallbackUrl: 'notaurl' }), status: 400, code: 20001, names: 'EventCallbackUrl' },
    { name: 'MultiTaskEnabled not a boolean', method: 'POST', path: () => '/v1/Workspaces', body: form({ FriendlyName: 'T', MultiTaskEnabled: 'maybe' }), status: 400, code: 20001, names: 'MultiTaskEnabled' },
    { name: 'update: DefaultActivitySid unknown', method: 'POST', path: (w) => ws(w), body: form({ DefaultActivitySid: unknown('WA') }), status: 400, code: 20001, names: 'DefaultActivitySid' },
    { name: "update: another account's activity", method: 'POST', path: (w) => ws(w), body: () => form({ TimeoutActivitySid: B.offline }), status: 400, code: 20001, names: 'TimeoutActivitySid' },
    { name: 'unknown workspace', method: 'GET', path: () => `/v1/Workspaces/${unknown('WS')}`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's workspace (fetch)", method: 'GET', path: () => `/v1/Workspaces/${B.ws}`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's workspace (delete)", method: 'DELETE', path: () => `/v1/Workspaces/${B.ws}`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's workspace (update)", method: 'POST', path: () => `/v1/Workspaces/${B.ws}`, body: form({ FriendlyName: 'Mine' }), status: 404, code: 20404, names: 'PATH' },
  ],
  activities: [
    { name: 'missing FriendlyName', method: 'POST', path: (w) => `${ws(w)}/Activities`, body: form({ Available: 'true' }), status: 400, code: 20001, names: 'FriendlyName' },
    { name: 'Available not a boolean', method: 'POST', path: (w) => `${ws(w)}/Activities`, body: form({ FriendlyName: 'Lunch', Available: 'perhaps' }), status: 400, code: 20001, names: 'Available' },
    { name: 'duplicate FriendlyName', method: 'POST', path: (w) => `${ws(w)}/Activities`, body: form({ FriendlyName: 'Offline' }), status: 400, code: 20001, names: 'Offline' },
    { name: 'FriendlyName too long', method: 'POST', path: (w) => `${ws(w)}/Activities`, body: form({ FriendlyName: 'x'.repeat(65) }), status: 400, code: 20001, names: 'FriendlyName' },
    { name: 'unknown activity', method: 'POST', path: (w) => `${ws(w)}/Activities/${unknown('WA')}`, body: form({ FriendlyName: 'Z' }), status: 404, code: 20404, names: 'PATH' },
    { name: "another account's activity", method: 'GET', path: (w) => `${ws(w)}/Activities/${B.offline}`, status: 404, code: 20404, names: 'PATH' },
    { name: 'delete the default activity', method: 'DELETE', path: (w) => `${ws(w)}/Activities/${w.offline}`, status: 400, code: 20001, names: /activit/i },
  ],
  'task channels': [
    { name: 'missing UniqueName', method: 'POST', path: (w) => `${ws(w)}/TaskChannels`, body: form({ FriendlyName: 'Fax' }), status: 400, code: 20001, names: 'UniqueName' },
    { name: 'ChannelOptimizedRouting not a boolean', method: 'POST', path: (w) => `${ws(w)}/TaskChannels`, body: form({ FriendlyName: 'Fax', UniqueName: 'fax', ChannelOptimizedRouting: 'perhaps' }), status: 400, code: 20001, names: 'ChannelOptimizedRouting' },
    { name: 'unknown channel', method: 'GET', path: (w) => `${ws(w)}/TaskChannels/${unknown('TC')}`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's channel", method: 'DELETE', path: (w) => `${ws(w)}/TaskChannels/${B.channel}`, status: 404, code: 20404, names: 'PATH' },
  ],
  'task queues': [
    { name: 'missing FriendlyName', method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: form({ TargetWorkers: '1 == 1' }), status: 400, code: 20001, names: 'FriendlyName' },
    { name: 'broken TargetWorkers', method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: form({ FriendlyName: 'Q2', TargetWorkers: 'skills HAS' }), status: 400, code: 20001, names: 'TargetWorkers' },
    { name: 'update with broken TargetWorkers', method: 'POST', path: (w) => `${ws(w)}/TaskQueues/${w.queue}`, body: form({ TargetWorkers: 'languages IN ("en"' }), status: 400, code: 20001, names: 'TargetWorkers' },
    { name: 'MaxReservedWorkers 0', method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: form({ FriendlyName: 'Q2', MaxReservedWorkers: '0' }), status: 400, code: 20001, names: 'MaxReservedWorkers' },
    { name: 'MaxReservedWorkers 51', method: 'POST', path: (w) => `${ws(w)}/TaskQueues/${w.queue}`, body: form({ MaxReservedWorkers: '51' }), status: 400, code: 20001, names: 'MaxReservedWorkers' },
    { name: 'MaxReservedWorkers not a number', method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: form({ FriendlyName: 'Q2', MaxReservedWorkers: 'two' }), status: 400, code: 20001, names: 'MaxReservedWorkers' },
    { name: 'TaskOrder unknown', method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: form({ FriendlyName: 'Q2', TaskOrder: 'RANDOM' }), status: 400, code: 20001, names: 'TaskOrder' },
    { name: 'ReservationActivitySid unknown', method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: form({ FriendlyName: 'Q2', ReservationActivitySid: unknown('WA') }), status: 400, code: 20001, names: 'ReservationActivitySid' },
    { name: "AssignmentActivitySid from another account", method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: () => form({ FriendlyName: 'Q2', AssignmentActivitySid: B.available }), status: 400, code: 20001, names: 'AssignmentActivitySid' },
    { name: 'duplicate FriendlyName', method: 'POST', path: (w) => `${ws(w)}/TaskQueues`, body: form({ FriendlyName: 'Support' }), status: 400, code: 20001, names: 'Support' },
    { name: 'EvaluateWorkerAttributes not JSON', method: 'GET', path: (w) => `${ws(w)}/TaskQueues?EvaluateWorkerAttributes=${encodeURIComponent('{skills')}`, status: 400, code: 20001, names: 'EvaluateWorkerAttributes' },
    { name: "another account's queue", method: 'GET', path: (w) => `${ws(w)}/TaskQueues/${B.queue}`, status: 404, code: 20404, names: 'PATH' },
    { name: 'delete a queue in use by a workflow', method: 'DELETE', path: (w) => `${ws(w)}/TaskQueues/${w.queue}`, status: 400, code: 20001, names: /queue|TaskQueue/i },
  ],
  workflows: [
    { name: 'missing Configuration', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: form({ FriendlyName: 'W2' }), status: 400, code: 20001, names: 'Configuration' },
    { name: 'Configuration not JSON', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: form({ FriendlyName: 'W2', Configuration: '{task_routing' }), status: 400, code: 20001, names: 'Configuration' },
    { name: 'Configuration not an object', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: configOf([]), status: 400, code: 20001, names: 'Configuration' },
    { name: 'filters not an array', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: configOf({ task_routing: { filters: 'x' } }), status: 400, code: 20001, names: 'task_routing.filters' },
    { name: 'filter without expression', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: (w) => configOf({ task_routing: { filters: [{ targets: [{ queue: w.queue }] }] } }), status: 400, code: 20001, names: 'filters[0].expression' },
    { name: 'broken filter expression', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: (w) => configOf(filterWith({ queue: w.queue }, 'type ==')), status: 400, code: 20001, names: 'filters[0].expression' },
    { name: 'empty targets', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: configOf({ task_routing: { filters: [{ expression: '1 == 1', targets: [] }] } }), status: 400, code: 20001, names: 'targets' },
    { name: 'target queue unknown', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: configOf(filterWith({ queue: unknown('WQ') })), status: 400, code: 20001, names: 'targets[0].queue' },
    { name: "target queue of another account", method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: () => configOf(filterWith({ queue: B.queue })), status: 400, code: 20001, names: 'targets[0].queue' },
    { name: 'broken target expression', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: (w) => configOf(filterWith({ queue: w.queue, expression: 'worker.level >' })), status: 400, code: 20001, names: 'targets[0].expression' },
    { name: 'broken skip_if', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: (w) => configOf(filterWith({ queue: w.queue, skip_if: 'workers.available ==' })), status: 400, code: 20001, names: 'skip_if' },
    { name: 'broken order_by', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: (w) => configOf(filterWith({ queue: w.queue, order_by: 'worker.level SIDEWAYS' })), status: 400, code: 20001, names: 'order_by' },
    { name: 'negative target timeout', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: (w) => configOf(filterWith({ queue: w.queue, timeout: -5 })), status: 400, code: 20001, names: 'timeout' },
    { name: 'default_filter queue unknown', method: 'POST', path: (w) => `${ws(w)}/Workflows`, body: configOf({ task_routing: { filters: [], default_filter: { queue: unknown('WQ') } } }), status: 400, code: 20001, names: 'default_filter' },
    { name: 'TaskReservationTimeout 0', method: 'POST', path: (w) => `${ws(w)}/Workflows/${w.workflow}`, body: form({ TaskReservationTimeout: '0' }), status: 400, code: 20001, names: 'TaskReservationTimeout' },
    { name: 'TaskReservationTimeout over a day', method: 'POST', path: (w) => `${ws(w)}/Workflows/${w.workflow}`, body: form({ TaskReservationTimeout: '86401' }), status: 400, code: 20001, names: 'TaskReservationTimeout' },
    { name: 'AssignmentCallbackUrl not http', method: 'POST', path: (w) => `${ws(w)}/Workflows/${w.workflow}`, body: form({ AssignmentCallbackUrl: 'ftp://example.com/x' }), status: 400, code: 20001, names: 'AssignmentCallbackUrl' },
    { name: 'ReEvaluateTasks not a boolean', method: 'POST', path: (w) => `${ws(w)}/Workflows/${w.workflow}`, body: form({ ReEvaluateTasks: 'sure' }), status: 400, code: 20001, names: 'ReEvaluateTasks' },
    { name: 'update with a broken configuration', method: 'POST', path: (w) => `${ws(w)}/Workflows/${w.workflow}`, body: (w) => form({ Configuration: JSON.stringify(filterWith({ queue: w.queue }, 'a IN')) }), status: 400, code: 20001, names: 'filters[0].expression' },
    { name: "another account's workflow", method: 'POST', path: (w) => `${ws(w)}/Workflows/${B.workflow}`, body: form({ FriendlyName: 'Mine' }), status: 404, code: 20404, names: 'PATH' },
    { name: 'delete a workflow with tasks', method: 'DELETE', path: (w) => `${ws(w)}/Workflows/${w.workflow}`, status: 400, code: 20001, names: /workflow/i },
  ],
  workers: [
    { name: 'missing FriendlyName', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: form({ Attributes: '{}' }), status: 400, code: 20001, names: 'FriendlyName' },
    { name: 'Attributes not JSON', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: form({ FriendlyName: 'N', Attributes: '{"skills":' }), status: 400, code: 20001, names: 'Attributes' },
    { name: 'Attributes an array', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: form({ FriendlyName: 'N', Attributes: '[1]' }), status: 400, code: 20001, names: 'Attributes' },
    { name: 'Attributes over 4,096 characters', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.worker}`, body: form({ Attributes: big }), status: 400, code: 20001, names: 'Attributes' },
    { name: 'ActivitySid malformed', method: 'POST', path: (w) => `${ws(w)}/Workers`, body: form({ FriendlyName: 'N', ActivitySid: 'available' }), status: 400, code: 20001, names: 'ActivitySid' },
    { name: 'ActivitySid unknown', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.worker}`, body: form({ ActivitySid: unknown('WA') }), status: 400, code: 20001, names: 'ActivitySid' },
    { name: "ActivitySid of another account", method: 'POST', path: (w) => `${ws(w)}/Workers/${w.worker}`, body: () => form({ ActivitySid: B.available }), status: 400, code: 20001, names: 'ActivitySid' },
    { name: 'RejectPendingReservations not a boolean', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.busyWorker}`, body: (w) => form({ ActivitySid: w.offline, RejectPendingReservations: 'perhaps' }), status: 400, code: 20001, names: 'RejectPendingReservations' },
    { name: 'If-Match mismatch', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.worker}`, body: form({ FriendlyName: 'Renamed' }), headers: { 'if-match': '999' }, status: 412, code: 20412, names: /version|If-Match/i },
    { name: 'If-Match not a version', method: 'DELETE', path: (w) => `${ws(w)}/Workers/${w.worker}`, headers: { 'if-match': 'abc' }, status: 400, code: 20001, names: 'If-Match' },
    { name: 'broken TargetWorkersExpression filter', method: 'GET', path: (w) => `${ws(w)}/Workers?TargetWorkersExpression=${encodeURIComponent('skills HAS')}`, status: 400, code: 20001, names: 'TargetWorkersExpression' },
    { name: 'Available filter not a boolean', method: 'GET', path: (w) => `${ws(w)}/Workers?Available=perhaps`, status: 400, code: 20001, names: 'Available' },
    { name: "another account's worker", method: 'DELETE', path: (w) => `${ws(w)}/Workers/${B.worker}`, status: 404, code: 20404, names: 'PATH' },
    { name: 'unknown worker', method: 'GET', path: (w) => `${ws(w)}/Workers/${unknown('WK')}`, status: 404, code: 20404, names: 'PATH' },
  ],
  'worker channels': [
    { name: 'Capacity negative', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Channels/${w.workerChannel}`, body: form({ Capacity: '-1' }), status: 400, code: 20001, names: 'Capacity' },
    { name: 'Capacity over 50', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Channels/${w.workerChannel}`, body: form({ Capacity: '51' }), status: 400, code: 20001, names: 'Capacity' },
    { name: 'Capacity not a number', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Channels/${w.workerChannel}`, body: form({ Capacity: 'lots' }), status: 400, code: 20001, names: 'Capacity' },
    { name: 'Available not a boolean', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Channels/${w.workerChannel}`, body: form({ Available: 'perhaps' }), status: 400, code: 20001, names: 'Available' },
    { name: 'unknown worker channel', method: 'GET', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Channels/${unknown('WC')}`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's worker channel", method: 'GET', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Channels/${B.workerChannel}`, status: 404, code: 20404, names: 'PATH' },
  ],
  tasks: [
    { name: 'Attributes not JSON', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Attributes: "{'type': 'support'}" }), status: 400, code: 20001, names: 'Attributes' },
    { name: 'Attributes a string', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Attributes: '"support"' }), status: 400, code: 20001, names: 'Attributes' },
    { name: 'Attributes over 4,096 characters', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Attributes: big }), status: 400, code: 20001, names: 'Attributes' },
    { name: 'update: Attributes over 4,096 characters', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.pendingTask}`, body: form({ Attributes: big }), status: 400, code: 20001, names: 'Attributes' },
    { name: 'Priority not whole', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Priority: '1.5' }), status: 400, code: 20001, names: 'Priority' },
    { name: 'Priority a word', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Priority: 'high' }), status: 400, code: 20001, names: 'Priority' },
    { name: 'Priority negative', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.pendingTask}`, body: form({ Priority: '-1' }), status: 400, code: 20001, names: 'Priority' },
    { name: 'Priority over 2^31-1', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Priority: '2147483648' }), status: 400, code: 20001, names: 'Priority' },
    { name: 'Timeout 0', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Timeout: '0' }), status: 400, code: 20001, names: 'Timeout' },
    { name: 'Timeout over 14 days', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ Timeout: '1209601' }), status: 400, code: 20001, names: 'Timeout' },
    { name: 'VirtualStartTime not a date', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ VirtualStartTime: '2020-13-45' }), status: 400, code: 20001, names: 'VirtualStartTime' },
    { name: 'VirtualStartTime free text', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.pendingTask}`, body: form({ VirtualStartTime: 'yesterday' }), status: 400, code: 20001, names: 'VirtualStartTime' },
    { name: 'IgnoreCapacity not a boolean', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ IgnoreCapacity: 'maybe' }), status: 400, code: 20001, names: 'IgnoreCapacity' },
    { name: 'WorkflowSid malformed', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ WorkflowSid: 'Main' }), status: 400, code: 20001, names: 'WorkflowSid' },
    { name: 'WorkflowSid unknown', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ WorkflowSid: unknown('WW') }), status: 400, code: 20001, names: unknown('WW') },
    { name: "WorkflowSid of another account", method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: () => form({ WorkflowSid: B.workflow }), status: 400, code: 20001, names: /Workflow/ },
    { name: 'TaskChannel unknown', method: 'POST', path: (w) => `${ws(w)}/Tasks`, body: form({ TaskChannel: 'carrier-pigeon' }), status: 400, code: 20001, names: 'carrier-pigeon' },
    { name: 'AssignmentStatus unknown', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.pendingTask}`, body: form({ AssignmentStatus: 'done' }), status: 400, code: 20001, names: 'AssignmentStatus' },
    { name: 'AssignmentStatus wrapping on a pending task', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.pendingTask}`, body: form({ AssignmentStatus: 'wrapping' }), status: 400, code: 20001, names: /wrap|assigned/i },
    { name: 'If-Match mismatch', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.pendingTask}`, body: form({ Priority: '3' }), headers: { 'if-match': '"999"' }, status: 412, code: 20412, names: /version|If-Match/i },
    { name: 'EvaluateTaskAttributes broken', method: 'GET', path: (w) => `${ws(w)}/Tasks?EvaluateTaskAttributes=${encodeURIComponent('type IN')}`, status: 400, code: 20001, names: 'EvaluateTaskAttributes' },
    { name: 'Ordering unknown field', method: 'GET', path: (w) => `${ws(w)}/Tasks?Ordering=Age:asc`, status: 400, code: 20001, names: 'Ordering' },
    { name: 'Ordering DateCreated with VirtualStartTime', method: 'GET', path: (w) => `${ws(w)}/Tasks?Ordering=DateCreated:asc,VirtualStartTime:desc`, status: 400, code: 20001, names: 'Ordering' },
    { name: 'PageSize 0', method: 'GET', path: (w) => `${ws(w)}/Tasks?PageSize=0`, status: 400, code: 20001, names: 'PageSize' },
    { name: 'PageSize 1001', method: 'GET', path: (w) => `${ws(w)}/Tasks?PageSize=1001`, status: 400, code: 20001, names: 'PageSize' },
    { name: 'PageToken garbage', method: 'GET', path: (w) => `${ws(w)}/Tasks?PageToken=zz`, status: 400, code: 20001, names: 'PageToken' },
    { name: 'unknown task', method: 'POST', path: (w) => `${ws(w)}/Tasks/${unknown('WT')}`, body: form({ Priority: '3' }), status: 404, code: 20404, names: 'PATH' },
    { name: "another account's task", method: 'DELETE', path: (w) => `${ws(w)}/Tasks/${B.pendingTask}`, status: 404, code: 20404, names: 'PATH' },
    { name: 'malformed task SID', method: 'GET', path: (w) => `${ws(w)}/Tasks/not-a-sid`, status: 404, code: 20404, names: 'PATH' },
  ],
  reservations: [
    { name: 'ReservationStatus unknown', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.reservedTask}/Reservations/${w.reservation}`, body: form({ ReservationStatus: 'maybe' }), status: 400, code: 20001, names: 'ReservationStatus' },
    { name: 'Instruction unknown', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.reservedTask}/Reservations/${w.reservation}`, body: form({ Instruction: 'teleport' }), status: 400, code: 20001, names: 'Instruction' },
    { name: 'Instruction contradicts ReservationStatus', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.reservedTask}/Reservations/${w.reservation}`, body: form({ Instruction: 'accept', ReservationStatus: 'rejected' }), status: 400, code: 20001, names: 'Instruction' },
    { name: 'WorkerActivitySid malformed', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Reservations/${w.reservation}`, body: form({ ReservationStatus: 'rejected', WorkerActivitySid: 'offline' }), status: 400, code: 20001, names: 'WorkerActivitySid' },
    { name: 'WorkerActivitySid unknown', method: 'POST', path: (w) => `${ws(w)}/Workers/${w.busyWorker}/Reservations/${w.reservation}`, body: form({ ReservationStatus: 'rejected', WorkerActivitySid: unknown('WA') }), status: 400, code: 20001, names: 'WorkerActivitySid' },
    { name: 'WorkerActivitySid without rejected', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.reservedTask}/Reservations/${w.reservation}`, body: (w) => form({ WorkerActivitySid: w.offline }), status: 400, code: 20001, names: 'WorkerActivitySid' },
    { name: 'complete a pending reservation', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.reservedTask}/Reservations/${w.reservation}`, body: form({ ReservationStatus: 'completed' }), status: 400, code: 20001, names: /pending|accepted|complete/i },
    { name: 'If-Match mismatch', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.reservedTask}/Reservations/${w.reservation}`, body: form({ ReservationStatus: 'accepted' }), headers: { 'if-match': '999' }, status: 412, code: 20412, names: /version|If-Match/i },
    { name: 'reservation under the wrong task', method: 'POST', path: (w) => `${ws(w)}/Tasks/${w.pendingTask}/Reservations/${w.reservation}`, body: form({ ReservationStatus: 'accepted' }), status: 404, code: 20404, names: 'PATH' },
    { name: 'reservation under the wrong worker', method: 'GET', path: (w) => `${ws(w)}/Workers/${w.worker}/Reservations/${w.reservation}`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's reservation", method: 'POST', path: (w) => `${ws(w)}/Tasks/${B.reservedTask}/Reservations/${B.reservation}`, body: form({ ReservationStatus: 'accepted' }), status: 404, code: 20404, names: 'PATH' },
    { name: 'unknown reservation', method: 'GET', path: (w) => `${ws(w)}/Tasks/${w.reservedTask}/Reservations/${unknown('WR')}`, status: 404, code: 20404, names: 'PATH' },
  ],
  events: [
    { name: 'StartDate not a date', method: 'GET', path: (w) => `${ws(w)}/Events?StartDate=yesterday`, status: 400, code: 20001, names: 'StartDate' },
    { name: 'EndDate not a date', method: 'GET', path: (w) => `${ws(w)}/Events?EndDate=2020-02-30T99:00:00Z`, status: 400, code: 20001, names: 'EndDate' },
    { name: 'StartDate after EndDate', method: 'GET', path: (w) => `${ws(w)}/Events?StartDate=2026-01-02T00:00:00Z&EndDate=2026-01-01T00:00:00Z`, status: 400, code: 20001, names: 'StartDate' },
    { name: 'Minutes 0', method: 'GET', path: (w) => `${ws(w)}/Events?Minutes=0`, status: 400, code: 20001, names: 'Minutes' },
    { name: 'Minutes not a number', method: 'GET', path: (w) => `${ws(w)}/Events?Minutes=ten`, status: 400, code: 20001, names: 'Minutes' },
    { name: 'unknown event', method: 'GET', path: (w) => `${ws(w)}/Events/${unknown('EV')}`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's event", method: 'GET', path: (w) => `${ws(w)}/Events/${B.event}`, status: 404, code: 20404, names: 'PATH' },
  ],
  statistics: [
    { name: 'Minutes negative', method: 'GET', path: (w) => `${ws(w)}/Statistics?Minutes=-3`, status: 400, code: 20001, names: 'Minutes' },
    { name: 'StartDate not a date', method: 'GET', path: (w) => `${ws(w)}/CumulativeStatistics?StartDate=soon`, status: 400, code: 20001, names: 'StartDate' },
    { name: 'SplitByWaitTime not numbers', method: 'GET', path: (w) => `${ws(w)}/TaskQueues/${w.queue}/CumulativeStatistics?SplitByWaitTime=a,b`, status: 400, code: 20001, names: 'SplitByWaitTime' },
    { name: "another account's queue statistics", method: 'GET', path: (w) => `${ws(w)}/TaskQueues/${B.queue}/Statistics`, status: 404, code: 20404, names: 'PATH' },
    { name: "another account's workflow statistics", method: 'GET', path: (w) => `${ws(w)}/Workflows/${B.workflow}/Statistics`, status: 404, code: 20404, names: 'PATH' },
    { name: 'unknown worker statistics', method: 'GET', path: (w) => `${ws(w)}/Workers/${unknown('WK')}/Statistics`, status: 404, code: 20404, names: 'PATH' },
    { name: 'bulk real-time statistics: broken JSON', method: 'POST', path: (w) => `${ws(w)}/TaskQueues/RealTimeStatistics`, body: '{"task_queue_sids": [', contentType: 'application/json', status: 400, code: 20001, names: /JSON/ },
    { name: 'bulk real-time statistics: not SIDs', method: 'POST', path: (w) => `${ws(w)}/TaskQueues/RealTimeStatistics`, body: JSON.stringify({ task_queue_sids: ['nope'] }), contentType: 'application/json', status: 400, code: 20001, names: /nope|SID/ },
  ],
};

for (const [group, cases] of Object.entries(CASES)) {
  test(`bad input — ${group}: the right 4xx and code, a message naming the field, nothing changed`, async () => {
    for (const c of cases) await run(c);
  });
}

test('the bad-input world is intact afterwards and still routes', async () => {
  const w = h.client.taskrouter.v1.workspaces(A.ws);
  const r = await w.tasks(A.reservedTask).reservations(A.reservation).update({ reservationStatus: 'accepted' });
  assert.equal(r.reservationStatus, 'accepted');
  const queue = await w.taskQueues(A.queue).fetch();
  assert.equal(queue.targetWorkers, 'skills HAS "support"');
  const wf = await w.workflows(A.workflow).fetch();
  assert.match(wf.configuration, /type == \\?"support\\?"/);
});

test('the state comparison notices a change (control): an accepted update alters it', async () => {
  const before = await state();
  await h.client.taskrouter.v1.workspaces(A.ws).tasks(A.pendingTask).update({ priority: 7 });
  assert.notEqual(await state(), before);
  const again = await state();
  await h.newClient(b.sid, b.secret).taskrouter.v1.workspaces(B.ws).workers(B.worker).update({ friendlyName: 'Renamed in B' });
  assert.notEqual(await state(), again, 'a change in the other account is seen too');
});
