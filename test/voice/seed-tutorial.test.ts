/**
 * The seed tutorial end to end over the simulated telephone network, in virtual time (issue 12,
 * "What it must show"; voice spec A1): a caller dials the center's number, hears the welcome,
 * presses 1, becomes a task with `selected_language`, holds with music; the workflow's assignment
 * callback (a real HTTP receiver) answers `dequeue` with the center's caller ID and Wrap-Up as the
 * post-work activity; the Hindi worker's `contact_uri` rings, answers and is bridged; the agent
 * hangs up; the worker is in Wrap-Up and the task wrapping, then completed. Variants: the worker
 * does not answer (the next worker gets it), the caller hangs up while holding (`hangup`), the
 * caller takes the callback offer while holding (a callback is registered, the call ends).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { seedFlow } from '../../src/callflows/index.ts';
import { SimulatedVoiceNetwork } from '../../src/voice/simulated-voice.ts';
import { SEED_HOLD_MUSIC_URL } from '../../src/callflows/index.ts';
import { CENTER_NUMBER, ENGLISH_AGENT, HINDI_AGENT, startVoiceCenter, type VoiceCenter } from './support.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

/** An assignment-callback receiver that answers every reservation with a dequeue instruction. */
async function dequeueReceiver(reply: () => Record<string, string>): Promise<{ url: string; server: Server; hits: URLSearchParams[] }> {
  const hits: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push(new URLSearchParams(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/assignment`, server, hits };
}

test('the seed tutorial: dial, welcome, press 1, hold with music, the Hindi agent rings with our caller ID, bridged, hang-up, Wrap-Up, wrapping, completed', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 7, agentRingMinSeconds: 4, agentRingMaxSeconds: 4 });
  network.scriptAgent(HINDI_AGENT, ['answer']);
  let c: VoiceCenter | null = null;
  const receiver = await dequeueReceiver(() => ({ instruction: 'dequeue', from: CENTER_NUMBER, post_work_activity_sid: c?.activities.wrapUp ?? '' }));
  c = await startVoiceCenter(network, { scheduler });
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    // Put the agent on hold first so the caller really holds: Asha is busy in another activity.
    await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.offline });
    await wsApi.workflows(c.workflowSid).update({ assignmentCallbackUrl: receiver.url });
    const callSid = network.placeCall({ from: '+919811112222', to: CENTER_NUMBER, digits: ['1'], talkSeconds: 120 });
    await scheduler.advance(60_000);
    const rec = network.call(callSid)!;
    const heard = rec.heard.map((h) => (h.verb.verb === 'say' ? h.verb.text : h.verb.url));
    assert.deepEqual(heard.slice(0, 4), ['Thank you for calling. Your call is important to us.', 'Hindi ke liye ek dabaiye.', 'For English, press two, or stay on the line.', SEED_HOLD_MUSIC_URL], 'welcome, the language menu, then hold music');
    assert.equal(rec.pressed[0]?.digits, '1');
    assert.ok(rec.enqueuedAt !== null, 'holding');
    const [task] = await wsApi.tasks.list();
    const attrs = JSON.parse(task!.attributes) as Record<string, unknown>;
    assert.equal(attrs['selected_language'], 'hindi');
    assert.equal(attrs['call_sid'], callSid);
    assert.equal(task!.assignmentStatus, 'pending');

    // The agent comes back: a reservation, the dequeue reply, her phone rings with our caller ID.
    await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.available });
    await scheduler.advance(10_000);
    assert.equal(receiver.hits.length, 1);
    const legs = network.legs();
    assert.equal(legs.length, 1);
    assert.equal(legs[0]!.to, HINDI_AGENT);
    assert.equal(legs[0]!.from, CENTER_NUMBER);
    assert.equal(legs[0]!.outcome, 'answered');
    assert.ok(network.call(callSid)!.bridgedAt !== null, 'bridged');
    const [r] = await wsApi.tasks(task!.sid).reservations.list();
    assert.equal(r!.reservationStatus, 'accepted');
    const assigned = await wsApi.tasks(task!.sid).fetch();
    assert.equal(assigned.assignmentStatus, 'assigned');
    assert.equal((JSON.parse(assigned.attributes) as Record<string, unknown>)['worker_call_sid'], legs[0]!.callSid);

    // Two minutes of talk, then the agent hangs up.
    await scheduler.advance(130_000);
    assert.ok(network.call(callSid)!.endedAt !== null);
    assert.equal((await wsApi.workers(c.workers.hindi).fetch()).activitySid, c.activities.wrapUp);
    const wrapping = await wsApi.tasks(task!.sid).fetch();
    assert.equal(wrapping.assignmentStatus, 'wrapping');
    await wsApi.tasks(task!.sid).update({ assignmentStatus: 'completed', reason: 'resolved' });
    assert.equal((await wsApi.tasks(task!.sid).fetch()).assignmentStatus, 'completed');
    assert.equal(network.duplicates, 0);
    assert.equal(network.errors.length, 0, JSON.stringify(network.errors));
  } finally {
    await c.close();
    receiver.server.close();
  }
});

test('the worker does not answer: the reservation times out and the next worker is rung', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 3, agentRingMinSeconds: 3, agentRingMaxSeconds: 3 });
  network.scriptAgent(HINDI_AGENT, ['no-answer']);
  network.scriptAgent(ENGLISH_AGENT, ['answer']);
  const receiver = await dequeueReceiver(() => ({ instruction: 'dequeue', from: CENTER_NUMBER, timeout: '20' }));
  const c = await startVoiceCenter(network, { scheduler });
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    await wsApi.workers(c.workers.english).update({ attributes: JSON.stringify({ languages: ['english', 'hindi'], contact_uri: ENGLISH_AGENT }), activitySid: c.activities.offline });
    await wsApi.workflows(c.workflowSid).update({ assignmentCallbackUrl: receiver.url });
    const callSid = network.placeCall({ from: '+919811112222', to: CENTER_NUMBER, digits: ['1'], talkSeconds: 30 });
    await scheduler.advance(30_000);
    await wsApi.workers(c.workers.english).update({ activitySid: c.activities.available });
    await scheduler.advance(60_000);
    const legs = network.legs();
    assert.deepEqual(legs.map((l) => [l.to, l.outcome]), [[HINDI_AGENT, 'no-answer'], [ENGLISH_AGENT, 'answered']]);
    const [task] = await wsApi.tasks.list();
    const rs = await wsApi.tasks(task!.sid).reservations.list();
    const byWorker = new Map(rs.map((r) => [r.workerSid, r.reservationStatus]));
    assert.equal(byWorker.get(c.workers.hindi), 'timeout');
    assert.ok(['accepted', 'wrapping', 'completed'].includes(byWorker.get(c.workers.english) ?? ''), byWorker.get(c.workers.english));
    assert.ok(network.call(callSid)!.bridgedAt !== null);
  } finally {
    await c.close();
    receiver.server.close();
  }
});

test('the caller hangs up while holding: the task is canceled with reason hangup', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 5 });
  const c = await startVoiceCenter(network, { scheduler });
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    for (const w of [c.workers.hindi, c.workers.english]) await wsApi.workers(w).update({ activitySid: c.activities.offline });
    const callSid = network.placeCall({ from: '+919811112222', to: CENTER_NUMBER, digits: ['2'], patienceSeconds: 150 });
    await scheduler.advance(5 * 60_000);
    const rec = network.call(callSid)!;
    assert.equal(rec.endedBy, 'caller');
    const [task] = await wsApi.tasks.list();
    assert.equal(task!.assignmentStatus, 'canceled');
    assert.equal(task!.reason, 'hangup');
    assert.equal((JSON.parse(task!.attributes) as Record<string, unknown>)['selected_language'], 'english');
    // Announcements of the place in line every 60 s while holding (seed flow), music otherwise.
    const sayings = rec.heard.flatMap((h) => (h.verb.verb === 'say' && h.at >= (rec.enqueuedAt ?? Infinity) ? [h.verb.text] : []));
    assert.ok(sayings.some((t) => /number 1 in line/.test(t)), JSON.stringify(sayings));
  } finally {
    await c.close();
  }
});

test('the caller takes the callback offer while holding: a callback is registered for their number and the call ends', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 9 });
  const c = await startVoiceCenter(network, { scheduler });
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    const queues = await wsApi.taskQueues.list();
    const english = queues.find((q) => q.friendlyName === 'English')!;
    // Ben is busy on another call: the queue has staff but nobody free, so the wait is long.
    await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.offline });
    await wsApi.tasks.create({ workflowSid: c.workflowSid, taskChannel: 'voice', attributes: JSON.stringify({ selected_language: 'english' }) });
    const [busyRes] = await wsApi.workers(c.workers.english).reservations.list();
    await wsApi.workers(c.workers.english).reservations(busyRes!.sid).update({ reservationStatus: 'accepted' });
    const target = await c.api('POST', `/v1/Workspaces/${c.workspaceSid}/CallTargets`, { TaskQueueSid: english.sid, FriendlyName: 'English callbacks', MinimumCallbackDelay: '0' });
    assert.equal(target.status, 201, JSON.stringify(target.body));
    const flow = seedFlow(c.workflowSid);
    const queue = flow.steps[2] as unknown as { enqueue: { hold: Record<string, unknown> } };
    queue.enqueue.hold['callbackOffer'] = { callTargetSid: target.body['sid'], after: 30 };
    queue.enqueue.hold['announceEvery'] = 30;
    const put = await c.api('POST', `/v1/Workspaces/${c.workspaceSid}/CallFlows/${c.flowSid}`, { Definition: JSON.stringify(flow) });
    assert.equal(put.status, 200, JSON.stringify(put.body));

    const from = '+919833334444';
    const callSid = network.placeCall({ from, to: CENTER_NUMBER, digits: ['2'], acceptCallbackOffer: true });
    await scheduler.advance(3 * 60_000);
    const rec = network.call(callSid)!;
    assert.equal(rec.endedBy, 'flow', 'the flow said goodbye and hung up');
    const callbacks = await c.api('GET', `/v1/Workspaces/${c.workspaceSid}/Callbacks`);
    const list = (callbacks.body['callbacks'] as Array<Record<string, unknown>>) ?? [];
    assert.equal(list.length, 1, JSON.stringify(callbacks.body));
    assert.equal(list[0]!['phone_number'], from);
    const tasks = await wsApi.tasks.list({ assignmentStatus: ['pending', 'reserved'] });
    assert.ok(!tasks.some((t) => (JSON.parse(t.attributes) as Record<string, unknown>)['call_sid'] === callSid), 'the live task was given up for the callback');
  } finally {
    await c.close();
  }
});


test('an offer before the queue (offer_callback step): the caller presses the key, their number is registered, the call ends', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 4 });
  const c = await startVoiceCenter(network, { scheduler });
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    const english = (await wsApi.taskQueues.list()).find((q) => q.friendlyName === 'English')!;
    await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.offline });
    await wsApi.tasks.create({ workflowSid: c.workflowSid, taskChannel: 'voice', attributes: JSON.stringify({ selected_language: 'english' }) });
    const [busy] = await wsApi.workers(c.workers.english).reservations.list();
    await wsApi.workers(c.workers.english).reservations(busy!.sid).update({ reservationStatus: 'accepted' });
    const target = await c.api('POST', `/v1/Workspaces/${c.workspaceSid}/CallTargets`, { TaskQueueSid: english.sid, FriendlyName: 'English callbacks', MinimumCallbackDelay: '0' });
    const flow = seedFlow(c.workflowSid);
    flow.steps.splice(2, 0, { id: 'offer', offer_callback: { callTargetSid: String(target.body['sid']), key: '9' } });
    const put = await c.api('POST', `/v1/Workspaces/${c.workspaceSid}/CallFlows/${c.flowSid}`, { Definition: JSON.stringify(flow) });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const from = '+919855556666';
    const callSid = network.placeCall({ from, to: CENTER_NUMBER, digits: ['2', '9'] });
    await scheduler.advance(2 * 60_000);
    const rec = network.call(callSid)!;
    assert.equal(rec.enqueuedAt, null, 'never queued');
    assert.equal(rec.endedBy, 'flow');
    assert.ok(rec.heard.some((h) => h.verb.verb === 'say' && /press 9/.test(h.verb.text)), 'the offer quotes the key');
    const callbacks = await c.api('GET', `/v1/Workspaces/${c.workspaceSid}/Callbacks`);
    const list = callbacks.body['callbacks'] as Array<Record<string, unknown>>;
    assert.equal(list.length, 1);
    assert.equal(list[0]!['phone_number'], from);
    const tasks = await wsApi.tasks.list();
    assert.ok(!tasks.some((t) => (JSON.parse(t.attributes) as Record<string, unknown>)['call_sid'] === callSid), 'no live task for the caller');
  } finally {
    await c.close();
  }
});

test('conference: the agent joins the task’s conference, the task carries the conference and worker_call_sid', async () => {
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 8, agentRingMinSeconds: 2, agentRingMaxSeconds: 2 });
  network.scriptAgent(HINDI_AGENT, ['answer']);
  const receiver = await dequeueReceiver(() => ({ instruction: 'conference', from: CENTER_NUMBER }));
  const c = await startVoiceCenter(network, { scheduler });
  try {
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    await wsApi.workflows(c.workflowSid).update({ assignmentCallbackUrl: receiver.url });
    const callSid = network.placeCall({ from: '+919811112222', to: CENTER_NUMBER, digits: ['1'], talkSeconds: 60 });
    await scheduler.advance(30_000);
    const [task] = await wsApi.tasks.list();
    const [r] = await wsApi.tasks(task!.sid).reservations.list();
    assert.equal(r!.reservationStatus, 'accepted');
    const attrs = JSON.parse((await wsApi.tasks(task!.sid).fetch()).attributes) as Record<string, { sid?: string; participants?: Record<string, string> } | string>;
    const leg = network.legs()[0]!;
    assert.equal(leg.instruction, 'conference');
    assert.equal(attrs['worker_call_sid'], leg.callSid);
    assert.deepEqual(attrs['conference'], { sid: task!.sid, participants: { worker: leg.callSid, customer: callSid } });
    await scheduler.advance(90_000);
    assert.equal((await wsApi.tasks(task!.sid).fetch()).assignmentStatus, 'wrapping');
  } finally {
    await c.close();
    receiver.server.close();
  }
});
