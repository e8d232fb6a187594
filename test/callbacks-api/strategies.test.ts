/**
 * Both dialing strategies end to end through the HTTP API (spec callbacks-and-ewt §2.1, §2.3):
 * the service dials over the simulated network, the worker accepts the reservation with the
 * official twilio client, the callback is bridged and completed. Also: a no-answer retry,
 * cancel and reschedule, and the AgentAnswer acknowledgement.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { startCbHarness, type CbHarness } from './harness.ts';

let h: CbHarness | null = null;
afterEach(async () => {
  await h?.close();
  h = null;
});

async function target(x: CbHarness, form: Record<string, string>): Promise<string> {
  const r = await x.call('POST', `/v1/Workspaces/${x.ws}/CallTargets`, { TaskQueueSid: x.queueSid, MinimumCallbackDelay: '0', ...form });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.sid as string;
}

async function callback(x: CbHarness, sid: string): Promise<{ status: string; status_reason: string | null; task_sid: string | null; attempts: { result: string | null; dial_key: string | null }[] }> {
  const r = await x.call('GET', `/v1/Workspaces/${x.ws}/Callbacks/${sid}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

/** Steps the clock by 1 s until the callback reaches `status` (at most `seconds` steps). */
async function until(x: CbHarness, sid: string, status: string, seconds = 30): Promise<void> {
  for (let i = 0; i < seconds; i++) {
    if ((await callback(x, sid)).status === status) return;
    await x.step(1000);
  }
  assert.fail(`callback ${sid} never reached ${status}: ${JSON.stringify(await callback(x, sid))}`);
}

async function acceptReservation(x: CbHarness, taskSid: string): Promise<void> {
  const task = x.client.taskrouter.v1.workspaces(x.ws).tasks(taskSid);
  let reservations = await task.reservations.list({ reservationStatus: 'pending' });
  for (let i = 0; i < 20 && reservations.length === 0; i++) {
    await x.step(200);
    reservations = await task.reservations.list({ reservationStatus: 'pending' });
  }
  assert.equal(reservations.length, 1, 'a reservation is offered to the worker');
  assert.equal(reservations[0]!.workerSid, x.workerSid);
  await task.reservations(reservations[0]!.sid).update({ reservationStatus: 'accepted' });
}

async function complete(x: CbHarness, taskSid: string): Promise<void> {
  await x.client.taskrouter.v1.workspaces(x.ws).tasks(taskSid).update({ assignmentStatus: 'completed', reason: 'handled' });
}

async function eventTypes(x: CbHarness, sid: string): Promise<string[]> {
  const events = await x.client.taskrouter.v1.workspaces(x.ws).events.list({ minutes: 600 });
  return events.filter((e) => e.resourceSid === sid).map((e) => e.eventType).reverse();
}

test('customer-first: dial → ready → return task → reservation accepted with the twilio client → connected → completed', async () => {
  h = await startCbHarness();
  const ct = await target(h, { Strategy: 'customer_first' });
  h.network.script('+14155550111', ['ready']);
  const reg = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550111', Context: JSON.stringify({ topic: 'card' }) });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const sid = reg.body.sid as string;
  await until(h, sid, 'customer_waiting');
  const c = await callback(h, sid);
  assert.ok(c.task_sid !== null, 'the return task exists once the customer is ready');
  const task = await h.client.taskrouter.v1.workspaces(h.ws).tasks(c.task_sid).fetch();
  const attrs = JSON.parse(task.attributes) as Record<string, unknown>;
  assert.equal(attrs['type'], 'callback_return');
  assert.equal(attrs['callback_sid'], sid);
  assert.equal(task.priority, 5);
  await acceptReservation(h, c.task_sid);
  await until(h, sid, 'agent_connected');
  await complete(h, c.task_sid);
  await until(h, sid, 'completed');
  assert.equal(h.network.dials.length, 1);
  assert.equal(h.network.duplicates, 0);
  const types = await eventTypes(h, sid);
  for (const t of ['callback.registered', 'callback.dialing', 'callback.customer_answered', 'callback.customer_waiting', 'callback.agent_connected', 'callback.completed']) {
    assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
  }
});

test('agent-first: the task is routed first, the customer is dialed only after the reservation is accepted', async () => {
  h = await startCbHarness();
  const ct = await target(h, { Strategy: 'agent_first' });
  h.network.script('+14155550122', ['ready']);
  const reg = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550122' });
  const sid = reg.body.sid as string;
  await until(h, sid, 'dialing');
  let c = await callback(h, sid);
  for (let i = 0; i < 10 && c.task_sid === null; i++) {
    await h.step(200);
    c = await callback(h, sid);
  }
  assert.ok(c.task_sid !== null);
  assert.equal(h.network.dials.length, 0, 'nobody is dialed before an agent accepted');
  await acceptReservation(h, c.task_sid);
  await h.step(100);
  assert.equal(h.network.dials.length, 1, 'the customer is dialed after acceptance');
  await until(h, sid, 'agent_connected');
  await complete(h, c.task_sid);
  await until(h, sid, 'completed');
  const types = await eventTypes(h, sid);
  for (const t of ['callback.agent_reserved', 'callback.dialing_customer', 'callback.agent_connected', 'callback.completed']) assert.ok(types.includes(t), `${t} in ${types.join(', ')}`);
});

test('no answer → retry_wait → a new attempt with a new key; cancel and reschedule through the API', async () => {
  h = await startCbHarness({ available: false });
  const ct = await target(h, { Strategy: 'customer_first', Configuration: JSON.stringify({ retry: { maxRetries: 1, delaySeconds: { noAnswer: 5 } }, ringTimeoutSeconds: 5, maxConcurrentOutbound: 10 }) });
  // Nobody is available: CF pacing holds dials. Make the worker available so the dial goes out.
  const wsc = h.client.taskrouter.v1.workspaces(h.ws);
  const available = (await wsc.activities.list()).find((a) => a.friendlyName === 'Available')!;
  await wsc.workers(h.workerSid).update({ activitySid: available.sid });
  h.network.script('+14155550133', ['no_answer', 'no_answer']);
  const sid = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550133' })).body.sid as string;
  await until(h, sid, 'retry_wait');
  await until(h, sid, 'failed', 40);
  const c = await callback(h, sid);
  assert.equal(c.status_reason, 'max_attempts');
  const keys = c.attempts.map((a) => a.dial_key);
  assert.equal(new Set(keys).size, 2, 'each attempt has its own key');
  assert.deepEqual(h.network.dials.map((d) => d.key).sort(), [...keys].sort());

  // Reschedule then cancel another one.
  const slot = 15 * 60_000;
  const later = new Date(Math.ceil((h.now() + 2 * 3_600_000) / slot) * slot).toISOString();
  const other = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550144', AppointmentTime: later });
  assert.equal(other.status, 201, JSON.stringify(other.body));
  assert.equal(other.body.status, 'scheduled');
  const moved = await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${other.body.sid}`, { AppointmentTime: new Date(Math.ceil((h.now() + 3 * 3_600_000) / slot) * slot).toISOString() });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  assert.equal(moved.body.status, 'scheduled');
  assert.ok(Date.parse(moved.body.appointment_time) > Date.parse(later));
  const canceled = await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${other.body.sid}`, { Status: 'canceled' });
  assert.equal(canceled.body.status, 'canceled');
  const again = await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${other.body.sid}`, { Status: 'canceled' });
  assert.equal(again.status, 400);
  assert.match(again.body.message, /^InvalidRequest/);
  const neither = await h.call('POST', `/v1/Workspaces/${h.ws}/Callbacks/${other.body.sid}`, {});
  assert.equal(neither.status, 400);
  assert.equal((await h.call('GET', `/v1/Workspaces/${h.ws}/Callbacks/CB${'0'.repeat(32)}`)).status, 404);
});

test('AgentAnswer acknowledges the pending agent-first reservation for the number', async () => {
  h = await startCbHarness();
  const ct = await target(h, { Strategy: 'agent_first' });
  h.network.script('+14155550155', ['ready']);
  const sid = (await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550155' })).body.sid as string;
  let c = await callback(h, sid);
  for (let i = 0; i < 20 && (c as { reservation_sid?: string | null }).reservation_sid == null; i++) {
    await h.step(200);
    c = await callback(h, sid);
  }
  const ack = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/AgentAnswer`, { PhoneNumber: '+14155550155' });
  assert.equal(ack.status, 200, JSON.stringify(ack.body));
  assert.equal(ack.body.callback_sid, sid);
  await until(h, sid, 'agent_connected');
  const none = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/AgentAnswer`, { PhoneNumber: '+14155550199' });
  assert.equal(none.body.acknowledged, false);
  const bad = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/AgentAnswer`, { PhoneNumber: 'x' });
  assert.equal(bad.status, 400);
});

test('in-queue acceptance: OriginalTaskSid cancels the live task (not abandoned) and the callback keeps its place in line', async () => {
  h = await startCbHarness({ available: false });
  const ct = await target(h, { Strategy: 'customer_first' });
  const wsc = h.client.taskrouter.v1.workspaces(h.ws);
  const live = await wsc.tasks.create({ workflowSid: h.workflowSid, attributes: JSON.stringify({ from: '+14155550160' }) });
  const reg = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550160', OriginalTaskSid: live.sid });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  assert.equal(reg.body.original_task_sid, live.sid);
  assert.equal(Date.parse(reg.body.virtual_start_time), Date.parse(live.dateCreated.toISOString()));
  await h.step(100);
  const canceled = await wsc.tasks(live.sid).fetch();
  assert.equal(canceled.assignmentStatus, 'canceled');
  assert.equal(canceled.reason, 'Opted to request a callback');
  assert.equal((JSON.parse(canceled.attributes) as { conversations: { abandoned: string } }).conversations.abandoned, 'Follow-Up');
  // A task that is not waiting cannot be given up for a callback.
  const again = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550161', OriginalTaskSid: live.sid });
  assert.equal(again.status, 400);
  assert.match(again.body.message, /OriginalTaskSid|canceled/);
});

test('restart in the middle of a scheduled callback (dial in flight): nothing lost, the lost call is not re-dialed, a new attempt completes it', async () => {
  h = await startCbHarness();
  const ct = await target(h, { Strategy: 'customer_first', Configuration: JSON.stringify({ scheduling: { slotMinutes: 5 }, retry: { delaySeconds: { busy: 5 } } }) });
  const slot = 5 * 60_000;
  const appointment = Math.ceil((h.now() + 10 * 60_000) / slot) * slot;
  h.network.script('+14155550170', ['no_answer']);
  const reg = await h.call('POST', `/v1/Workspaces/${h.ws}/CallTargets/${ct}/Callbacks`, { PhoneNumber: '+14155550170', AppointmentTime: new Date(appointment).toISOString() });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const sid = reg.body.sid as string;
  assert.equal(reg.body.status, 'scheduled');
  // Restart while scheduled: still there.
  await h.restart();
  assert.equal((await callback(h, sid)).status, 'scheduled');
  // Into the slot: the call goes out (and would ring out).
  await h.step(appointment - h.now() + 60_000);
  await until(h, sid, 'dialing', 5);
  const inFlight = await callback(h, sid);
  assert.equal(inFlight.attempts.length, 1);
  assert.equal(h.dialedKeys().length, 1);
  // Crash with the call in flight: the new telephone never reports it.
  await h.restart();
  h.network.script('+14155550170', ['ready']);
  assert.equal((await callback(h, sid)).status, 'dialing');
  // Ring timeout + grace → telephony failure → retry as attempt 2 → ready → the return task.
  await h.step((30 + 120 + 1) * 1000);
  await until(h, sid, 'customer_waiting', 20);
  const c = await callback(h, sid);
  assert.equal(c.attempts[0]!.result, 'failed');
  await acceptReservation(h, c.task_sid!);
  await until(h, sid, 'agent_connected');
  await complete(h, c.task_sid!);
  await until(h, sid, 'completed');
  const keys = h.dialedKeys();
  assert.deepEqual(keys, [`${sid}:1`, `${sid}:2`], 'each attempt dialed once, none twice');
});
