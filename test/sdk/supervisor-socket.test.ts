/**
 * The supervisor WebSocket (routes/supervisor-socket.ts) with a `ws` client against the SDK
 * harness's server: refused before the upgrade without a supervisor or admin token of the
 * workspace (or with a bad filter); `init` first; every committed event of the workspace in
 * commit order with the Events API's `event_data`; the queue and event-type filters; the heartbeat
 * and the token's expiry in virtual time; a client that stops reading closed with 1013 while the
 * others keep receiving.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { supervisorSocketsOf, type SupervisorSockets } from '../../src/api/routes/supervisor-socket.ts';
import { startSdkHarness, type SdkHarness } from './harness.ts';

let h: SdkHarness;
let hub: SupervisorSockets;
let supervisorToken: string;
before(async () => {
  h = await startSdkHarness();
  hub = supervisorSocketsOf(h.app) as SupervisorSockets;
  supervisorToken = await mint({ Role: 'supervisor', Ttl: '86400' });
});
after(async () => {
  await h.close();
});

const auth = (): string => `Basic ${Buffer.from(`${h.account.sid}:${h.account.secret}`).toString('base64')}`;

/** Mints a token through the API (routes/access-tokens.ts). */
async function mint(form: Record<string, string>, workspaceSid = h.workspaceSid): Promise<string> {
  const res = await fetch(`${h.base}/v1/Workspaces/${workspaceSid}/AccessTokens`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  assert.equal(res.status, 201);
  return ((await res.json()) as { token: string }).token;
}

interface Frame {
  type: string;
  event_type?: string;
  sid?: string;
  resource_sid?: string;
  task_queue_sid?: string | null;
  worker_sid?: string | null;
  timestamp?: string;
  data?: Record<string, string | null>;
  [k: string]: unknown;
}

/** A connected supervisor socket and the frames it received, in order. */
interface Watcher {
  socket: WebSocket;
  frames: Frame[];
  /** Resolves with the first frame from index `from` on that satisfies `pred`. */
  until: (pred: (f: Frame) => boolean, from?: number) => Promise<Frame>;
  closed: Promise<number>;
}

const url = (query: string, workspaceSid = h.workspaceSid): string => `${h.base.replace('http', 'ws')}/v1/Workspaces/${workspaceSid}/Supervisor/Events?${query}`;

/** Opens the socket and resolves once its `init` frame arrived. */
async function watch(query = `token=${supervisorToken}`): Promise<Watcher> {
  const socket = new WebSocket(url(query));
  const frames: Frame[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (m: Buffer) => {
    frames.push(JSON.parse(m.toString()) as Frame);
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
  const until = (pred: (f: Frame) => boolean, from = 0): Promise<Frame> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = frames.slice(from).find(pred);
        if (found !== undefined) resolve(found);
        else if (socket.readyState >= WebSocket.CLOSING) reject(new Error(`closed before the frame came; got ${frames.map((f) => f.event_type ?? f.type).join(', ')}`));
        else waiters.push(check);
      };
      check();
    });
  void closed.then(() => {
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  await until((f) => f.type === 'init');
  return { socket, frames, until, closed };
}

/** The HTTP status a refused upgrade answered, with its body's message. */
function refusal(query: string, workspaceSid = h.workspaceSid): Promise<{ status: number; message: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url(query, workspaceSid));
    socket.once('open', () => {
      socket.close();
      reject(new Error('the upgrade was accepted'));
    });
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: (JSON.parse(body) as { message: string }).message }));
    });
    socket.once('error', () => undefined);
  });
}

const wsClient = () => h.client.taskrouter.v1.workspaces(h.workspaceSid);

test('refused before the upgrade: no or a bad token 401, a worker token or another workspace 403, a bad filter 400, an unknown queue or workspace 404, no upgrade 426', async () => {
  const worker = await h.newWorker('Refused');
  assert.equal((await refusal('')).status, 401);
  assert.equal((await refusal('token=not.a.jwt')).status, 401);
  const workerToken = await mint({ WorkerSid: worker });
  const asWorker = await refusal(`token=${workerToken}`);
  assert.equal(asWorker.status, 403);
  assert.match(asWorker.message, /supervisor or admin/);
  const other = await h.client.taskrouter.v1.workspaces.create({ friendlyName: 'Other' });
  assert.equal((await refusal(`token=${supervisorToken}`, other.sid)).status, 403);
  const bad = await refusal(`token=${supervisorToken}&TaskQueueSid=WQ1`);
  assert.deepEqual([bad.status, /TaskQueueSid/.test(bad.message)], [400, true]);
  const badTypes = await refusal(`token=${supervisorToken}&EventTypes=${encodeURIComponent('task.,RESERVATION!')}`);
  assert.deepEqual([badTypes.status, /EventTypes/.test(badTypes.message)], [400, true]);
  assert.equal((await refusal(`token=${supervisorToken}&TaskQueueSid=WQ${'0'.repeat(32)}`)).status, 404);
  const plain = await fetch(url(`token=${supervisorToken}`).replace('ws', 'http'));
  assert.deepEqual([plain.status, ((await plain.json()) as { message: string }).message], [426, 'This endpoint is a WebSocket: connect with Upgrade: websocket']);
  const expired = await mint({ Role: 'admin', Ttl: '60' });
  await h.advance(61_000);
  assert.equal((await refusal(`token=${expired}`)).status, 401);
  assert.equal(hub.size, 0, 'no socket was attached');
});

test('init first, then every committed event of the workspace in commit order, with the Events API\'s event data', async () => {
  const admin = await mint({ Role: 'admin' });
  const w = await watch(`token=${admin}`);
  const lifetime = (Math.floor(h.scheduler.now() / 1000) + 3600) * 1000 - h.scheduler.now();
  assert.deepEqual(w.frames[0], { type: 'init', workspace_sid: h.workspaceSid, account_sid: h.account.sid, token_lifetime: lifetime });
  const committed: string[] = [];
  const unsubscribe = h.runtime.onEvents(({ records }) => {
    for (const r of records) if (r.workspaceSid === h.workspaceSid) for (const e of r.events) committed.push(e.sid);
  });
  const worker = await h.newWorker('Carol');
  await wsClient().workers(worker).update({ activitySid: h.activities.Available });
  const task = await wsClient().tasks.create({ workflowSid: h.workflowSid, attributes: JSON.stringify({ customer: 'Dana' }) });
  const created = await w.until((f) => f.event_type === 'reservation.created');
  unsubscribe();
  const got = w.frames.filter((f) => f.type === 'event').map((f) => f.sid);
  assert.deepEqual(got, committed, 'the socket carries exactly the committed events, in commit order');
  assert.ok(committed.length >= 5);
  assert.equal(created.resource_sid?.startsWith('WR'), true);
  assert.deepEqual([created.task_queue_sid, created.worker_sid, created.data?.['task_sid']], [h.queueSid, worker, task.sid]);

  const listed = await fetch(`${h.base}/v1/Workspaces/${h.workspaceSid}/Events/${created.sid}`, { headers: { authorization: auth() } });
  const event = (await listed.json()) as { event_data: Record<string, string | null>; event_date_ms: number; resource_type: string };
  assert.deepEqual(created.data, event.event_data);
  assert.equal(created.timestamp, new Date(event.event_date_ms).toISOString());
  assert.equal(created['resource_type'], event.resource_type);
  const activity = w.frames.find((f) => f.event_type === 'worker.activity.update');
  assert.deepEqual([activity?.worker_sid, activity?.task_queue_sid, activity?.data?.['worker_activity_sid']], [worker, null, h.activities.Available]);
  w.socket.close();
  await w.closed;
});

test('filters: TaskQueueSid keeps the events of that queue; EventTypes keeps the types with those prefixes', async () => {
  const vip = await wsClient().taskQueues.create({ friendlyName: 'VIP', targetWorkers: 'vip == true' });
  const vipFlow = await wsClient().workflows.create({ friendlyName: 'VIP flow', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: vip.sid } } }) });
  const both = await watch(`token=${supervisorToken}&TaskQueueSid=${vip.sid}&TaskQueueSid=${h.queueSid}`);
  const onlyVip = await watch(`token=${supervisorToken}&TaskQueueSid=${vip.sid}`);
  const workers = await watch(`token=${supervisorToken}&EventTypes=${encodeURIComponent('worker.,task-queue.')}`);
  const worker = await h.newWorker('Erin');
  await wsClient().workers(worker).update({ activitySid: h.activities.Unavailable });
  const plain = await wsClient().tasks.create({ workflowSid: h.workflowSid, attributes: '{}' });
  const special = await wsClient().tasks.create({ workflowSid: vipFlow.sid, attributes: '{"vip":true}' });
  // Each socket's last expected frame, then what came before it.
  await both.until((f) => f.event_type === 'task-queue.entered' && f.data?.['task_sid'] === special.sid);
  await onlyVip.until((f) => f.event_type === 'task-queue.entered' && f.data?.['task_sid'] === special.sid);
  await workers.until((f) => f.event_type === 'task-queue.entered' && f.data?.['task_sid'] === special.sid);
  const events = (w: { frames: Frame[] }): Frame[] => w.frames.filter((f) => f.type === 'event');
  const tasksOf = (w: { frames: Frame[] }): Set<unknown> => new Set(events(w).map((f) => f.data?.['task_sid']).filter((s) => s !== undefined));
  assert.deepEqual(tasksOf(onlyVip), new Set([special.sid]));
  assert.ok(events(onlyVip).every((f) => f.task_queue_sid === vip.sid));
  assert.ok(events(onlyVip).some((f) => f.event_type === 'task.created'));
  assert.deepEqual(tasksOf(both), new Set([plain.sid, special.sid]));
  assert.ok(!events(both).some((f) => f.event_type?.startsWith('worker.')), 'worker events belong to no queue');
  assert.ok(events(workers).length > 0);
  assert.ok(events(workers).every((f) => f.event_type?.startsWith('worker.') === true || f.event_type?.startsWith('task-queue.') === true));
  assert.ok(events(workers).some((f) => f.event_type === 'worker.activity.update' && f.worker_sid === worker));
  for (const w of [both, onlyVip, workers]) w.socket.close();
  await Promise.all([both.closed, onlyVip.closed, workers.closed]);
});

test('a heartbeat every 15 s of server time; closed with 4001 when the token expires', async () => {
  const token = await mint({ Role: 'supervisor', Ttl: '100' });
  const w = await watch(`token=${token}`);
  await h.advance(14_000);
  assert.equal(w.frames.filter((f) => f.type === 'heartbeat').length, 0);
  await h.advance(1_000);
  await w.until((f) => f.type === 'heartbeat');
  await h.advance(15_000);
  const seen = w.frames.length;
  await w.until((f) => f.type === 'heartbeat', seen - 1);
  assert.equal(w.frames.filter((f) => f.type === 'heartbeat').length, 2);
  await h.advance(70_000);
  assert.equal(await w.closed, 4001);
});

test('a client that stops reading is closed with 1013 once its unsent frames pass 1 MiB; the others keep receiving', async () => {
  const slow = await watch();
  const fine = await watch(`token=${supervisorToken}&EventTypes=task.created`);
  slow.socket.pause();
  const slowClosed = new Promise<number>((resolve) => hub.once('slow', (_ws: string, bytes: number) => resolve(bytes)));
  let dropped: number | null = null;
  void slowClosed.then((bytes) => (dropped = bytes));
  const big = JSON.stringify({ note: 'x'.repeat(4_000) });
  let last = '';
  for (let i = 0; i < 2_000 && dropped === null; i++) {
    const res = await fetch(`${h.base}/v1/Workspaces/${h.workspaceSid}/Tasks`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ WorkflowSid: h.workflowSid, Attributes: big }).toString() });
    const body = (await res.json()) as { sid: string };
    assert.equal(res.status, 201, JSON.stringify(body));
    last = body.sid;
  }
  assert.notEqual(dropped, null, 'the slow socket was dropped');
  assert.ok((dropped as unknown as number) <= hub.maxBufferedBytes, 'never more than the limit buffered');
  slow.socket.resume();
  assert.equal(await slow.closed, 1013);
  await fine.until((f) => f.event_type === 'task.created' && f.resource_sid === last);
  assert.equal(fine.socket.readyState, WebSocket.OPEN);
  fine.socket.close();
  await fine.closed;
});
