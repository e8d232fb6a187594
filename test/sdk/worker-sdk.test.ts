/**
 * The unmodified `twilio-taskrouter` worker SDK against the server (issue 15 item 2; spec
 * voice-worker-sdk-console.md B1–B4): connect, activity change, reservations accepted, rejected
 * with an activity, timed out, canceled and rescinded (multi-reservation), task wrap-up and
 * complete, `closeExistingSessions`, offline after disconnect, token expiry, each socket carrying
 * its own worker's events only, and a worker token refused on another worker's reservation.
 * Virtual time (harness.ts): nothing waits on the wall clock.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { next, OFFLINE_GRACE_MS, startSdkHarness, stopWorker, type SdkHarness, type SdkWorker } from './harness.ts';

let h: SdkHarness;
before(async () => {
  h = await startSdkHarness();
});
after(async () => {
  await h.close();
});

test('the SDK connects: init over the socket, then its worker, activities and channels over the envelope (ready)', async () => {
  const wk = await h.newWorker('Alice');
  const w = await h.connect(wk);
  assert.equal(w.sid, wk);
  assert.equal(w.workspaceSid, h.workspaceSid);
  assert.equal(w.accountSid, h.account.sid);
  assert.equal(w.activity.name, 'Offline');
  assert.deepEqual([...w.activities.values()].map((a) => a.name).sort(), ['Available', 'Offline', 'Unavailable']);
  assert.ok(w.channels.size >= 5);
  assert.equal(h.hub.connections(wk), 1);
  stopWorker(w);
});

type Reservation = Parameters<Parameters<SdkWorker['on']>[1]>[0] & { sid: string; status: string; task: { sid: string; status: string; attributes: Record<string, unknown>; queueSid: string; wrapUp: (o?: object) => Promise<unknown>; complete: (r: string) => Promise<unknown> }; accept: () => Promise<unknown>; reject: (o?: object) => Promise<unknown>; on: (e: string, f: (...a: unknown[]) => void) => unknown };

/** The workspace's tasks left open by a test are canceled, its workers set Offline: the next test starts clean. */
async function cleanUp(...workers: SdkWorker[]): Promise<void> {
  const ws = h.client.taskrouter.v1.workspaces(h.workspaceSid);
  for (const w of workers) stopWorker(w);
  for (const t of await ws.tasks.list()) {
    if (t.assignmentStatus === 'pending' || t.assignmentStatus === 'reserved') await ws.tasks(t.sid).update({ assignmentStatus: 'canceled', reason: 'test over' });
    else if (t.assignmentStatus === 'assigned' || t.assignmentStatus === 'wrapping') await ws.tasks(t.sid).update({ assignmentStatus: 'completed', reason: 'test over' });
  }
  for (const w of await ws.workers.list()) if (w.activitySid !== h.activities.Offline) await ws.workers(w.sid).update({ activitySid: h.activities.Offline });
}

/** Connects a new worker, makes it Available through the SDK, and creates a task that reserves it. */
async function reserved(name: string): Promise<{ w: SdkWorker; wk: string; reservation: Reservation; taskSid: string }> {
  const wk = await h.newWorker(name);
  const w = await h.connect(wk);
  await w.activities.get(h.activities.Available)?.setAsCurrent();
  const created = next<[Reservation]>(w, 'reservationCreated');
  const task = await h.client.taskrouter.v1.workspaces(h.workspaceSid).tasks.create({ workflowSid: h.workflowSid, attributes: JSON.stringify({ customer: name }) });
  const [reservation] = await created;
  return { w, wk, reservation, taskSid: task.sid };
}

test('an activity change through the SDK is the worker\'s, and an activity change over REST reaches the SDK', async () => {
  const wk = await h.newWorker('Bob');
  const w = await h.connect(wk);
  const available = w.activities.get(h.activities.Available);
  assert.ok(available !== undefined);
  await available.setAsCurrent();
  assert.equal(w.activity.sid, h.activities.Available);
  assert.equal((await h.client.taskrouter.v1.workspaces(h.workspaceSid).workers(wk).fetch()).activityName, 'Available');
  const updated = next(w, 'activityUpdated');
  await h.client.taskrouter.v1.workspaces(h.workspaceSid).workers(wk).update({ activitySid: h.activities.Unavailable });
  await updated;
  assert.equal(w.activity.name, 'Unavailable');
  await cleanUp(w);
});

test('a reservation is offered with its task, accepted, then its task is wrapped up and completed', async () => {
  const { w, reservation, taskSid } = await reserved('Carol');
  assert.equal(reservation.status, 'pending');
  assert.equal(reservation.task.sid, taskSid);
  assert.equal(reservation.task.queueSid, h.queueSid);
  assert.deepEqual(reservation.task.attributes, { customer: 'Carol' });
  const accepted = next(reservation, 'accepted');
  await reservation.accept();
  await accepted;
  assert.equal(reservation.status, 'accepted');
  assert.equal(reservation.task.status, 'assigned');
  const wrapping = next(reservation, 'wrapup');
  await reservation.task.wrapUp({ reason: 'call over' });
  await wrapping;
  assert.equal(reservation.task.status, 'wrapping');
  const completed = next(reservation, 'completed');
  await reservation.task.complete('resolved');
  await completed;
  assert.equal(reservation.task.status, 'completed');
  const task = await h.client.taskrouter.v1.workspaces(h.workspaceSid).tasks(taskSid).fetch();
  assert.equal(task.assignmentStatus, 'completed');
  assert.equal(task.reason, 'resolved');
  await cleanUp(w);
});

test('a reservation rejected with an activity moves the worker to it', async () => {
  const { w, wk, reservation } = await reserved('Dan');
  const rejected = next(reservation, 'rejected');
  const activity = next(w, 'activityUpdated');
  await reservation.reject({ activitySid: h.activities.Unavailable });
  await rejected;
  await activity;
  assert.equal(reservation.status, 'rejected');
  assert.equal(w.activity.name, 'Unavailable');
  assert.equal((await h.client.taskrouter.v1.workspaces(h.workspaceSid).workers(wk).fetch()).activityName, 'Unavailable');
  assert.equal(w.reservations.size, 0);
  await cleanUp(w);
});

test('a reservation left pending times out (virtual time), and one whose task is canceled is canceled', async () => {
  const { w, reservation, taskSid } = await reserved('Erin');
  const timedOut = next(reservation, 'timeout');
  await h.advance(121_000);
  await timedOut;
  assert.equal(reservation.status, 'timeout');
  // The workspace's timeout activity (Offline) took the worker out of routing; back to Available for the next offer.
  const offered = next<[Reservation]>(w, 'reservationCreated');
  await w.activities.get(h.activities.Available)?.setAsCurrent();
  const [again] = await offered;
  assert.equal(again.task.sid, taskSid);
  const canceled = next(again, 'canceled');
  await h.client.taskrouter.v1.workspaces(h.workspaceSid).tasks(taskSid).update({ assignmentStatus: 'canceled', reason: 'caller hung up' });
  await canceled;
  assert.equal(again.status, 'canceled');
  await cleanUp(w);
});

test('multi-reservation: two workers are offered the task at once; the first to accept wins, the other\'s reservation is rescinded', async () => {
  const ws = h.client.taskrouter.v1.workspaces(h.workspaceSid);
  // A queue that reserves up to two workers at once (MaxReservedWorkers, spec §6 multi-reservation).
  const queue = await ws.taskQueues.create({ friendlyName: 'Pair', targetWorkers: 'pair == true', maxReservedWorkers: 2 });
  const workflow = await ws.workflows.create({ friendlyName: 'Pair', configuration: JSON.stringify({ task_routing: { filters: [], default_filter: { queue: queue.sid } } }) });
  const workers = await Promise.all(['Pia', 'Quinn'].map(async (name) => {
    const wk = (await ws.workers.create({ friendlyName: name, activitySid: h.activities.Offline, attributes: JSON.stringify({ pair: true }) })).sid;
    const w = await h.connect(wk);
    await w.activities.get(h.activities.Available)?.setAsCurrent();
    return w;
  }));
  const [piaOffer, quinnOffer] = workers.map((w) => next<[Reservation]>(w, 'reservationCreated'));
  const task = await ws.tasks.create({ workflowSid: workflow.sid, attributes: JSON.stringify({ customer: 'both' }) });
  const [[pia], [quinn]] = await Promise.all([piaOffer as Promise<[Reservation]>, quinnOffer as Promise<[Reservation]>]);
  assert.equal(pia.task.sid, task.sid);
  assert.equal(quinn.task.sid, task.sid);
  const rescinded = next(quinn, 'rescinded');
  const accepted = next(pia, 'accepted');
  await pia.accept();
  await Promise.all([accepted, rescinded]);
  assert.equal(quinn.status, 'rescinded');
  assert.equal((await ws.tasks(task.sid).reservations(quinn.sid).fetch()).reservationStatus, 'rescinded');
  // Accepting a rescinded reservation is refused, and changes nothing.
  await assert.rejects(quinn.accept());
  assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'assigned');
  await cleanUp(...workers);
});

test('closeExistingSessions: a new session of the worker closes its other sockets', async () => {
  const wk = await h.newWorker('Fay');
  const first = await h.connect(wk);
  const dropped = next<[{ message: string }]>(first, 'disconnected');
  const second = await h.connect(wk, { closeExistingSessions: true });
  const [why] = await dropped;
  assert.match(why.message, /closeExistingSessions/);
  assert.equal(second.sid, wk);
  stopWorker(first);
  await cleanUp(second);
});

test('a worker whose last socket drops is set offline after the grace, not before; a reconnect within the grace keeps it', async () => {
  const wk = await h.newWorker('Gus');
  const rest = h.client.taskrouter.v1.workspaces(h.workspaceSid).workers(wk);
  let w = await h.connect(wk);
  await w.activities.get(h.activities.Available)?.setAsCurrent();
  let closed = next(h.hub, 'close');
  stopWorker(w);
  await closed;
  await h.advance(OFFLINE_GRACE_MS - 1_000);
  assert.equal((await rest.fetch()).activityName, 'Available', 'still within the grace');
  w = await h.connect(wk);
  await h.advance(OFFLINE_GRACE_MS);
  assert.equal((await rest.fetch()).activityName, 'Available', 'a socket came back within the grace');
  closed = next(h.hub, 'close');
  const offline = next<[string, string]>(h.hub, 'offline');
  stopWorker(w);
  await closed;
  await h.advance(OFFLINE_GRACE_MS);
  assert.deepEqual(await offline, [wk, h.activities.Offline]);
  assert.equal((await rest.fetch()).activityName, 'Offline');
  await cleanUp();
});

test('the socket is closed when its token expires, and the expired token is refused', async () => {
  const wk = await h.newWorker('Hal');
  const token = h.token(wk, { ttl: 60 });
  const w = await h.connect(wk, { token });
  const dropped = next<[{ message: string }]>(w, 'disconnected');
  await h.advance(61_000);
  const [why] = await dropped;
  assert.match(why.message, /expired/i);
  stopWorker(w);
  const read = (t: string): Promise<Response> => fetch(h.ebServer, { method: 'POST', body: JSON.stringify({ url: `Workspaces/${h.workspaceSid}/Workers/${wk}`, method: 'GET', params: {}, token: t }) });
  const refused = await read(token);
  assert.equal(refused.status, 401);
  assert.match(((await refused.json()) as { message: string }).message, /expired/);
  assert.equal(await upgradeStatus(`${h.wsServer}?token=${token}`), 401, 'the socket refuses the expired token on upgrade');
  assert.equal((await read(h.token(wk))).status, 200, 'a fresh token still works');
  await cleanUp();
});

test('a worker token is refused on another worker\'s reservation and task (403), and the reservation is unchanged', async () => {
  const { w, wk, reservation, taskSid } = await reserved('Ivy');
  const other = await h.newWorker('Jon');
  const token = h.token(other);
  const post = (url: string, params: Record<string, unknown>): Promise<Response> =>
    fetch(h.ebServer, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: JSON.stringify({ url, method: 'POST', params, token }) });
  for (const url of [`Workspaces/${h.workspaceSid}/Workers/${wk}/Reservations/${reservation.sid}`, `Workspaces/${h.workspaceSid}/Workers/${other}/Reservations/${reservation.sid}`, `Workspaces/${h.workspaceSid}/Tasks/${taskSid}`]) {
    const res = await post(url, { ReservationStatus: 'accepted', AssignmentStatus: 'canceled' });
    assert.equal(res.status, 403, url);
    assert.match(((await res.json()) as { message: string }).message, /worker token acts only on its own worker/);
  }
  // The colleague is in the directory (Workers/{WK} reads, docs/worker-sdk.md), their reservations are not.
  const read = (url: string): Promise<Response> => fetch(h.ebServer, { method: 'POST', body: JSON.stringify({ url, method: 'GET', token }) });
  assert.equal((await read(`Workspaces/${h.workspaceSid}/Workers/${wk}`)).status, 200, 'the colleague in the directory');
  assert.equal((await read(`Workspaces/${h.workspaceSid}/Workers/${wk}/Reservations`)).status, 403, 'another worker\'s reservations cannot even be read');
  const r = await h.client.taskrouter.v1.workspaces(h.workspaceSid).tasks(taskSid).reservations(reservation.sid).fetch();
  assert.equal(r.reservationStatus, 'pending');
  await cleanUp(w);
});

/** The HTTP status a WebSocket upgrade to `url` is refused with (101 when it is accepted). */
test('a worker\'s socket carries its own events only: a colleague\'s reservation and task never reach it', async () => {
  const { w, wk, reservation, taskSid } = await reserved('Sara');
  const other = await h.newWorker('Tom');
  const frames: string[] = [];
  const socket = new WebSocket(`${h.wsServer}?token=${h.token(other)}&closeExistingSessions=false&clientVersion=2.1.1`);
  socket.on('message', (data) => frames.push(data.toString()));
  await new Promise((resolve) => socket.once('message', resolve)); // init
  await reservation.accept();
  await reservation.task.complete('done');
  // Tom's own change reaches his socket: once it is there, everything before it was sent too.
  const own = new Promise((resolve) => socket.on('message', (data) => data.toString().includes('worker.activity.update') && resolve(undefined)));
  await h.client.taskrouter.v1.workspaces(h.workspaceSid).workers(other).update({ activitySid: h.activities.Unavailable });
  await own;
  const events = frames.filter((f) => f.trim() !== '').map((f) => JSON.parse(f) as { event_type: string; payload: Record<string, unknown> });
  assert.deepEqual(events.map((e) => e.event_type), ['init', 'worker.activity.update']);
  assert.equal(events[1]?.payload['sid'], other);
  assert.ok(!frames.some((f) => f.includes(taskSid) || f.includes(wk)), 'nothing of Sara\'s task or worker');
  socket.close();
  await cleanUp(w);
});

test('a plain GET of the socket URL with a good token is a 426 that says it is a WebSocket; without a token a 401', async () => {
  const wk = await h.newWorker('Rita');
  const plain = await fetch(`${h.ebServer}?token=${h.token(wk)}`);
  assert.equal(plain.status, 426);
  assert.equal(plain.headers.get('upgrade'), 'websocket');
  assert.match(((await plain.json()) as { message: string }).message, /WebSocket: open it with Upgrade: websocket/);
  assert.equal((await fetch(h.ebServer)).status, 401);
});

function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(101);
      socket.close();
    });
    socket.on('error', (e) => reject(e));
  });
}

/** The keys the SDK's descriptors require (twilio-taskrouter 2.1.1 `*Properties`; spec B4). */
const REQUIRED = {
  worker: ['account_sid', 'activity_name', 'activity_sid', 'attributes', 'available', 'date_created', 'date_status_changed', 'date_updated', 'friendly_name', 'sid', 'workspace_sid', 'version'],
  activity: ['account_sid', 'available', 'date_created', 'date_updated', 'friendly_name', 'sid', 'workspace_sid'],
  channel: ['account_sid', 'assigned_tasks', 'available', 'available_capacity_percentage', 'configured_capacity', 'date_created', 'date_updated', 'last_reserved_time', 'sid', 'task_channel_sid', 'task_channel_unique_name', 'worker_sid', 'workspace_sid'],
  reservation: ['account_sid', 'date_created', 'date_updated', 'reservation_status', 'sid', 'task', 'reservation_timeout', 'worker_sid', 'workspace_sid', 'version'],
  task: ['addons', 'age', 'attributes', 'date_created', 'date_updated', 'priority', 'queue_name', 'queue_sid', 'reason', 'routing_target', 'sid', 'assignment_status', 'task_channel_unique_name', 'task_channel_sid', 'timeout', 'workflow_name', 'workflow_sid', 'version', 'virtual_start_time'],
} as const;

function assertKeys(kind: keyof typeof REQUIRED, value: unknown): Record<string, unknown> {
  const o = value as Record<string, unknown>;
  for (const k of REQUIRED[kind]) assert.ok(k in o, `${kind} lacks ${k}`);
  return o;
}

test('the wire: init first, a whitespace heartbeat every 15 s, the envelope in the SDK\'s shapes with epoch-second dates and pages', async () => {
  const { w, wk, reservation } = await reserved('Kay');
  const token = h.token(wk);
  const socket = new WebSocket(`${h.wsServer}?token=${token}&closeExistingSessions=false&clientVersion=2.1.1`);
  const frames: string[] = [];
  const first = new Promise<void>((resolve) => socket.on('message', (m) => (frames.push(String(m)), frames.length === 1 && resolve())));
  await first;
  const init = JSON.parse(frames[0] as string) as { event_type: string; payload: Record<string, unknown> };
  assert.equal(init.event_type, 'init');
  assert.deepEqual({ ...init.payload, token_lifetime: undefined }, { channel_id: wk, account_sid: h.account.sid, workspace_sid: h.workspaceSid, token_lifetime: undefined });
  assert.ok(Math.abs((init.payload['token_lifetime'] as number) - 3_600_000) <= 2_000, String(init.payload['token_lifetime']));
  const beat = new Promise<string>((resolve) => socket.on('message', (m) => String(m).trim() === '' && resolve(String(m))));
  await h.advance(15_000);
  assert.equal((await beat).trim(), '');

  const eb = async (url: string, params: Record<string, unknown> = {}, apiVersion = 'v1'): Promise<Record<string, unknown>> => {
    const res = await fetch(h.ebServer, { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8', apiVersion }, body: JSON.stringify({ url, method: 'GET', params, token }) });
    assert.equal(res.status, 200, url);
    return ((await res.json()) as { payload: Record<string, unknown> }).payload;
  };
  const ws = `Workspaces/${h.workspaceSid}`;
  const worker = assertKeys('worker', await eb(`${ws}/Workers/${wk}`));
  assert.equal(typeof worker['date_created'], 'number');
  assert.ok(Math.abs((worker['date_created'] as number) * 1000 - h.scheduler.now()) < 600_000, 'epoch seconds');
  const activities = await eb(`${ws}/Activities`, { PageSize: 2 });
  assert.equal((activities['contents'] as unknown[]).length, 2);
  assert.equal(typeof activities['after_sid'], 'string');
  const rest = await eb(`${ws}/Activities`, { PageSize: 2, AfterSid: activities['after_sid'] });
  assert.equal(rest['after_sid'], null);
  for (const a of [...(activities['contents'] as unknown[]), ...(rest['contents'] as unknown[])]) assertKeys('activity', a);
  for (const c of (await eb(`${ws}/Workers/${wk}/WorkerChannels`, { PageSize: 1000 }))['contents'] as unknown[]) assertKeys('channel', c);
  const open = (await eb(`${ws}/Workers/${wk}/Reservations`, { Active: 'true', PageSize: 1000 }, 'v2'))['contents'] as unknown[];
  assert.equal(open.length, 1);
  const r = assertKeys('reservation', open[0]);
  assert.equal(r['sid'], reservation.sid);
  const task = assertKeys('task', r['task']);
  assert.equal(task['queue_sid'], h.queueSid);
  assert.equal(task['assignment_status'], 'reserved');
  socket.close();
  await cleanUp(w);
});
