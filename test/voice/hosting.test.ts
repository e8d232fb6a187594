/**
 * The voice core in the runtime (issue 12 items 1 and 3), driven through its caller side
 * (VoiceInbound) and a scripted telephone that records what it is asked to do: a caller runs the
 * seed flow into a task; the `dequeue` instruction places the worker's leg (outbox, at most once),
 * the bridge accepts the reservation and writes `worker_call_sid`, the worker's hang-up moves the
 * worker to Wrap-Up and the task to wrapping; a leg not answered times the reservation out; the
 * caller hanging up while holding cancels the task with reason `hangup`; 40140 without `call_sid`;
 * an outbound call restarted between its worker's leg in and its customer's answer (no second dial).
 * Real parts: store, HTTP API with the official client, dispatcher; virtual time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectRequest, HangupRequest, ParticipantRequest, VoiceInbound, VoicePort } from '../../src/callflows/voice-port.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { testStoreOptions } from '../support/store.ts';
import { CENTER_NUMBER, ENGLISH_AGENT, HINDI_AGENT, incomingParams, startVoiceCenter, type VoiceCenter } from './support.ts';

/** A telephone that records requests; the test plays the network's part through `inbound`. */
class ScriptedPort implements VoicePort {
  inbound!: VoiceInbound;
  readonly connects: ConnectRequest[] = [];
  readonly hangups: HangupRequest[] = [];
  attach(inbound: VoiceInbound): void {
    this.inbound = inbound;
  }
  async connect(request: ConnectRequest): Promise<void> {
    this.connects.push(request);
  }
  async hangup(request: HangupRequest): Promise<void> {
    this.hangups.push(request);
  }
  readonly participants: ParticipantRequest[] = [];
  async participant(request: ParticipantRequest): Promise<void> {
    this.participants.push(request);
  }
}

const CALLER = 'CA' + 'c'.repeat(32);
const WORKER_LEG = 'CA' + 'd'.repeat(32);

async function callIn(c: VoiceCenter, port: ScriptedPort, digits: string): Promise<string> {
  const first = await port.inbound.incoming({ callSid: CALLER, from: '+919811112222', to: CENTER_NUMBER, parameters: incomingParams(CALLER, '+919811112222', c.accountSid) });
  assert.deepEqual(first.verbs.map((v) => v.verb), ['say', 'gather']);
  const second = await port.inbound.gathered(CALLER, { digits });
  assert.deepEqual(second.verbs.map((v) => v.verb), ['enqueue']);
  const hold = await port.inbound.hold(CALLER);
  assert.equal(hold.verbs[0]?.verb, 'hold');
  const tasks = await c.client.taskrouter.v1.workspaces(c.workspaceSid).tasks.list();
  assert.equal(tasks.length, 1);
  return tasks[0]!.sid;
}

async function settle(c: VoiceCenter): Promise<void> {
  await c.scheduler.advance(10);
}

test('seed flow → task; dequeue places the leg once, the bridge accepts, the hang-up wraps up', async () => {
  const port = new ScriptedPort();
  const c = await startVoiceCenter(port);
  try {
    const taskSid = await callIn(c, port, '1');
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    const task = await wsApi.tasks(taskSid).fetch();
    const attrs = JSON.parse(task.attributes) as Record<string, unknown>;
    assert.equal(attrs['selected_language'], 'hindi');
    assert.equal(attrs['call_sid'], CALLER);
    assert.equal(attrs['from_city'], 'MUMBAI');
    const [r] = await wsApi.tasks(taskSid).reservations.list();
    assert.equal(r?.workerSid, c.workers.hindi);

    const updated = await wsApi.tasks(taskSid).reservations(r!.sid).update({ instruction: 'dequeue', dequeueFrom: CENTER_NUMBER, dequeuePostWorkActivitySid: c.activities.wrapUp });
    assert.equal(updated.reservationStatus, 'pending', 'dequeue accepts on the bridge, not at once');
    await settle(c);
    assert.equal(port.connects.length, 1);
    const req = port.connects[0]!;
    assert.equal(req.instruction, 'dequeue');
    assert.equal(req.to, HINDI_AGENT);
    assert.equal(req.from, CENTER_NUMBER);
    assert.equal(req.callerCallSid, CALLER);
    assert.equal(req.timeoutSeconds, 60);
    assert.equal(req.key, `${r!.sid}:dequeue`);

    // The same instruction again places nothing more.
    await port.inbound.legStatus({ key: req.key, callSid: WORKER_LEG, status: 'ringing', at: c.scheduler.now() });
    await port.inbound.legStatus({ key: req.key, callSid: WORKER_LEG, status: 'in-progress', at: c.scheduler.now() });
    assert.equal((await wsApi.tasks(taskSid).reservations(r!.sid).fetch()).reservationStatus, 'pending', 'answered is not yet bridged');
    await port.inbound.bridged(req.key, WORKER_LEG, c.scheduler.now());
    assert.equal((await wsApi.tasks(taskSid).reservations(r!.sid).fetch()).reservationStatus, 'accepted');
    const bridgedTask = await wsApi.tasks(taskSid).fetch();
    assert.equal(bridgedTask.assignmentStatus, 'assigned');
    assert.equal((JSON.parse(bridgedTask.attributes) as Record<string, unknown>)['worker_call_sid'], WORKER_LEG);
    assert.equal(c.runtime.voice.callState(CALLER), undefined, 'the caller left the flow');
    const events = await wsApi.events.list({ eventType: 'reservation.accepted' });
    assert.equal(events.length, 1);
    assert.equal((events[0]!.eventData as Record<string, unknown>)['instruction'], 'dequeue');

    // The agent hangs up: the worker's leg completes, then the caller's.
    await port.inbound.legStatus({ key: req.key, callSid: WORKER_LEG, status: 'completed', at: c.scheduler.now() });
    await port.inbound.legStatus({ callSid: CALLER, status: 'completed', at: c.scheduler.now() });
    assert.equal((await wsApi.workers(c.workers.hindi).fetch()).activitySid, c.activities.wrapUp);
    assert.equal((await wsApi.tasks(taskSid).fetch()).assignmentStatus, 'wrapping');
    await wsApi.tasks(taskSid).update({ assignmentStatus: 'completed', reason: 'done' });
    assert.equal(port.connects.length, 1);
  } finally {
    await c.close();
  }
});

test('a worker leg not answered times the reservation out and the task goes to the next worker', async () => {
  const port = new ScriptedPort();
  const c = await startVoiceCenter(port);
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    // Both workers can take it: make Ben speak Hindi too.
    await wsApi.workers(c.workers.english).update({ attributes: JSON.stringify({ languages: ['english', 'hindi'], contact_uri: '+919800000002' }) });
    const taskSid = await callIn(c, port, '1');
    const [r] = await wsApi.tasks(taskSid).reservations.list();
    await wsApi.tasks(taskSid).reservations(r!.sid).update({ instruction: 'dequeue', dequeueFrom: CENTER_NUMBER });
    await settle(c);
    const req = port.connects[0]!;
    await port.inbound.legStatus({ key: req.key, callSid: WORKER_LEG, status: 'no-answer', at: c.scheduler.now() });
    assert.equal((await wsApi.tasks(taskSid).reservations(r!.sid).fetch()).reservationStatus, 'timeout');
    const first = await wsApi.workers(r!.workerSid).fetch();
    assert.equal(first.activityName, 'Offline', 'the timeout activity');
    const all = await wsApi.tasks(taskSid).reservations.list();
    assert.equal(all.length, 2);
    assert.notEqual(all.find((x) => x.reservationStatus === 'pending')?.workerSid, r!.workerSid);
  } finally {
    await c.close();
  }
});

test('the caller hangs up while the worker rings: task canceled (hangup), the ringing leg hung up', async () => {
  const port = new ScriptedPort();
  const c = await startVoiceCenter(port);
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    const taskSid = await callIn(c, port, '2');
    const [r] = await wsApi.tasks(taskSid).reservations.list();
    await wsApi.tasks(taskSid).reservations(r!.sid).update({ instruction: 'dequeue', dequeueFrom: CENTER_NUMBER });
    await settle(c);
    const req = port.connects[0]!;
    await port.inbound.legStatus({ key: req.key, callSid: WORKER_LEG, status: 'ringing', at: c.scheduler.now() });
    await port.inbound.legStatus({ callSid: CALLER, status: 'completed', at: c.scheduler.now() });
    const task = await wsApi.tasks(taskSid).fetch();
    assert.equal(task.assignmentStatus, 'canceled');
    assert.equal(task.reason, 'hangup');
    assert.equal((await wsApi.tasks(taskSid).reservations(r!.sid).fetch()).reservationStatus, 'canceled');
    await settle(c);
    assert.deepEqual(port.hangups.map((h) => h.key), [req.key]);
  } finally {
    await c.close();
  }
});

test('dequeue for a task without call_sid is refused (40140); other instruction errors name the field', async () => {
  const port = new ScriptedPort();
  const c = await startVoiceCenter(port);
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    const task = await wsApi.tasks.create({ workflowSid: c.workflowSid, attributes: JSON.stringify({ selected_language: 'hindi' }) });
    const [r] = await wsApi.tasks(task.sid).reservations.list();
    const refused = await c.api('POST', `/v1/Workspaces/${c.workspaceSid}/Tasks/${task.sid}/Reservations/${r!.sid}`, { Instruction: 'dequeue', DequeueFrom: CENTER_NUMBER });
    assert.equal(refused.status, 400);
    assert.equal(refused.body['code'], 40140);
    assert.match(String(refused.body['message']), /call_sid/);
    const bad = await c.api('POST', `/v1/Workspaces/${c.workspaceSid}/Tasks/${task.sid}/Reservations/${r!.sid}`, { Instruction: 'dequeue', DequeueFrom: CENTER_NUMBER, DequeuePostWorkActivitySid: 'WA' + '0'.repeat(32) });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body['message']), /DequeuePostWorkActivitySid/);
    assert.equal((await wsApi.tasks(task.sid).reservations(r!.sid).fetch()).reservationStatus, 'pending', 'nothing changed');
    await settle(c);
    assert.equal(port.connects.length, 0);
  } finally {
    await c.close();
  }
});

test('call flows and phone numbers over REST: validation names the step and field; numbers are unique', async () => {
  const c = await startVoiceCenter(new ScriptedPort());
  try {
    const base = `/v1/Workspaces/${c.workspaceSid}`;
    const bad = await c.api('POST', `${base}/CallFlows`, { Definition: JSON.stringify({ steps: [{ id: 'menu', gather: { prompt: [{ say: { text: 'Hi' } }], choices: { '1': 'x' }, into: 'lang', timeout: 99 } }, { id: 'bye', hangup: {} }] }) });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body['message']), /steps\[0\]\.gather\.timeout/);
    assert.match(String(bad.body['message']), /step "menu"/);
    const wrongWf = await c.api('POST', `${base}/CallFlows`, { Definition: JSON.stringify({ steps: [{ id: 'q', enqueue: { workflowSid: 'WW' + '1'.repeat(32) } }] }) });
    assert.equal(wrongWf.status, 400);
    assert.match(String(wrongWf.body['message']), /steps\[0\]\.enqueue\.workflowSid/);
    const notJson = await c.api('POST', `${base}/CallFlows`, { Definition: '{' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body['more_info'] !== undefined, true);

    const list = await c.api('GET', `${base}/CallFlows`);
    assert.equal((list.body['call_flows'] as unknown[]).length, 1);
    const dup = await c.api('POST', `${base}/PhoneNumbers`, { PhoneNumber: CENTER_NUMBER, CallFlowSid: c.flowSid });
    assert.equal(dup.status, 409);
    const badNumber = await c.api('POST', `${base}/PhoneNumbers`, { PhoneNumber: '555-1234', CallFlowSid: c.flowSid });
    assert.equal(badNumber.status, 400);
    assert.equal(badNumber.body['message'] !== undefined && String(badNumber.body['message']).includes('PhoneNumber'), true);
    const inUse = await c.api('DELETE', `${base}/CallFlows/${c.flowSid}`);
    assert.equal(inUse.status, 409);
    const numbers = await c.api('GET', `${base}/PhoneNumbers`);
    const pn = (numbers.body['phone_numbers'] as Array<Record<string, unknown>>)[0]!;
    assert.equal(pn['phone_number'], CENTER_NUMBER);
    assert.equal(pn['call_flow_sid'], c.flowSid);
    assert.equal((await c.api('DELETE', `${base}/PhoneNumbers/${String(pn['sid'])}`)).status, 204);
    assert.equal((await c.api('DELETE', `${base}/CallFlows/${c.flowSid}`)).status, 204);
    // A number no flow answers: a polite refusal.
    const answer = await c.runtime.voice.incoming({ callSid: CALLER, from: '+1', to: CENTER_NUMBER, parameters: {} });
    assert.ok(answer.refused !== undefined);
    assert.deepEqual(answer.verbs.map((v) => v.verb), ['say', 'hangup']);
  } finally {
    await c.close();
  }
});

test('flows, numbers and a holding call survive a restart', async () => {
  const port = new ScriptedPort();
  const c = await startVoiceCenter(port);
  let taskSid: string;
  try {
    taskSid = await callIn(c, port, '1');
  } finally {
    await c.close();
  }
  const port2 = new ScriptedPort();
  const runtime = await Runtime.open({ ...testStoreOptions(c.dataDir), scheduler: c.scheduler, voice: { port: port2 } });
  try {
    assert.deepEqual(runtime.voice.listFlows(c.workspaceSid).map((f) => f.sid), [c.flowSid]);
    assert.deepEqual(runtime.voice.listNumbers(c.workspaceSid).map((n) => n.phoneNumber), [CENTER_NUMBER]);
    const call = runtime.voice.callState(CALLER);
    assert.equal(call?.phase, 'holding');
    assert.equal(call?.taskSid, taskSid);
    // The caller hangs up after the restart: the restored call cancels its task.
    await port2.inbound.legStatus({ callSid: CALLER, status: 'completed', at: c.scheduler.now() });
    const task = runtime.workspace(c.accountSid, c.workspaceSid)?.tasks.get(taskSid);
    assert.equal(task?.assignmentStatus, 'canceled');
    assert.equal(task?.reason, 'hangup');
  } finally {
    await runtime.close();
  }
});

test('participants of a conference bridge: refused while the worker rings, then a voice.participant row per change reaches the port with the room, the leg and only the fields given; a removed leg ends like any other', async () => {
  const port = new ScriptedPort();
  const c = await startVoiceCenter(port);
  try {
    const taskSid = await callIn(c, port, '1');
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    const [r] = await wsApi.tasks(taskSid).reservations.list();
    await wsApi.tasks(taskSid).reservations(r!.sid).update({ instruction: 'conference', from: CENTER_NUMBER, postWorkActivitySid: c.activities.wrapUp });
    await settle(c);
    const key = port.connects[0]!.key;
    assert.equal(key, `${r!.sid}:conference`);
    const voice = c.runtime.voice;
    await assert.rejects(voice.participant(c.workspaceSid, taskSid, { role: 'customer' }, { action: 'update', hold: true }), /not in progress.*placing/);

    await port.inbound.legStatus({ key, callSid: WORKER_LEG, status: 'in-progress', at: c.scheduler.now() });
    await port.inbound.bridged(key, WORKER_LEG, c.scheduler.now());
    await voice.participant(c.workspaceSid, taskSid, { role: 'customer' }, { action: 'update', hold: true, holdUrl: 'https://music.example.com/a.mp3' });
    await voice.participant(c.workspaceSid, taskSid, { role: 'worker', workerSid: c.workers.hindi }, { action: 'update', muted: true });
    await assert.rejects(voice.participant(c.workspaceSid, taskSid, { role: 'worker', workerSid: c.workers.english }, { action: 'remove' }), (e: Error & { status?: number; field?: string }) => e.status === 400 && e.field === 'TargetWorkerSid');
    await voice.participant(c.workspaceSid, taskSid, { role: 'worker', workerSid: c.workers.hindi }, { action: 'remove' });
    await settle(c);
    assert.deepEqual(port.participants, [
      { action: 'update', hold: true, holdUrl: 'https://music.example.com/a.mp3', key, conferenceName: taskSid, callSid: CALLER, role: 'customer' },
      { action: 'update', muted: true, key, conferenceName: taskSid, callSid: WORKER_LEG, role: 'worker' },
      { action: 'remove', key, conferenceName: taskSid, callSid: WORKER_LEG, role: 'worker' },
    ]);
    // The network reports the removed leg's end: post-work activity, the task to wrapping; the bridge is over.
    await port.inbound.legStatus({ key, callSid: WORKER_LEG, status: 'completed', at: c.scheduler.now() });
    assert.equal((await wsApi.tasks(taskSid).fetch()).assignmentStatus, 'wrapping');
    assert.equal((await wsApi.workers(c.workers.hindi).fetch()).activitySid, c.activities.wrapUp);
    await assert.rejects(voice.participant(c.workspaceSid, taskSid, { role: 'customer' }, { action: 'update', hold: false }), /has no call in progress/);
    assert.equal(port.participants.length, 3);
  } finally {
    await c.close();
  }
});

test('an outbound call survives a restart between "worker in" and "customer answered": the customer is not dialed again; their answer and hang-up reach the restored bridge, whose hang-up of the worker leg carries its call SID', async () => {
  const CUSTOMER_NUMBER = '+15557654321';
  const CUSTOMER_LEG = 'CA' + 'e'.repeat(32);
  const port = new ScriptedPort();
  const c = await startVoiceCenter(port);
  let taskSid: string;
  let customerKey: string;
  let workerKey: string;
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.offline });
    taskSid = (await wsApi.tasks.create({ workflowSid: c.workflowSid, attributes: JSON.stringify({ outbound_to: CUSTOMER_NUMBER, from: CENTER_NUMBER }) })).sid;
    await settle(c);
    const [r] = await wsApi.tasks(taskSid).reservations.list();
    await wsApi.tasks(taskSid).reservations(r!.sid).update({ instruction: 'conference', from: CENTER_NUMBER });
    await settle(c);
    workerKey = port.connects[0]!.key;
    assert.equal(port.connects[0]?.placement, 'outbound');
    await port.inbound.legStatus({ key: workerKey, callSid: WORKER_LEG, status: 'in-progress', at: c.scheduler.now() });
    await port.inbound.bridged(workerKey, WORKER_LEG, c.scheduler.now());
    await settle(c);
    assert.equal((await wsApi.tasks(taskSid).reservations(r!.sid).fetch()).reservationStatus, 'accepted');
    assert.deepEqual(port.connects.map((x) => [x.placement, x.to, x.accountSid]), [['outbound', ENGLISH_AGENT, c.accountSid], ['customer', CUSTOMER_NUMBER, c.accountSid]], 'the customer dialed once the worker is in');
    customerKey = port.connects[1]!.key;
  } finally {
    await c.close();
  }
  const port2 = new ScriptedPort();
  const runtime = await Runtime.open({ ...testStoreOptions(c.dataDir), scheduler: c.scheduler, voice: { port: port2 } });
  const dispatcher = new WebhookDispatcher(runtime, { scheduler: c.scheduler, pollMs: 0, backoffMs: 1_000, random: () => 0.5, onAlert: () => undefined, deliverers: { ...runtime.callbacks.deliverers(), ...runtime.voice.deliverers() } });
  dispatcher.start();
  try {
    await c.scheduler.advance(5_000);
    assert.deepEqual(port2.connects, [], 'no second dial after the restart');
    await port2.inbound.legStatus({ key: customerKey, callSid: CUSTOMER_LEG, status: 'in-progress', at: c.scheduler.now() });
    const task = () => runtime.workspace(c.accountSid, c.workspaceSid)?.tasks.get(taskSid);
    assert.equal(task()?.attributes['call_sid'], CUSTOMER_LEG);
    await port2.inbound.legStatus({ key: customerKey, callSid: CUSTOMER_LEG, status: 'completed', at: c.scheduler.now() });
    await c.scheduler.advance(10);
    assert.equal(task()?.assignmentStatus, 'wrapping');
    assert.deepEqual(port2.hangups, [{ key: workerKey, callSid: WORKER_LEG }], "the worker's leg hung up by key and call SID");
  } finally {
    await dispatcher.stop();
    await runtime.close();
  }
});
