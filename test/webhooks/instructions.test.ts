/**
 * Assignment instructions beyond accept/reject (spec §8), end to end: a real API server on
 * 127.0.0.1, the webhook dispatcher on its runtime, and a real receiver (signatures checked with
 * twilio.validateRequest) that answers the assignment callback with `dequeue`, `call`,
 * `redirect` or `conference`. Also the same instructions through the REST Reservation update
 * with the official twilio client. What must hold: TaskRouter's parameter checks (alerts for
 * callback replies, 400 naming the parameter for REST), acceptance exactly where TaskRouter
 * accepts, and the instruction with its parameters recorded on the reservation's events (Event
 * resource and event callback).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebhookDispatcher, type RecordedInstruction, type WebhookAlert } from '../../src/webhooks/dispatcher.ts';
import { assertRestError, assertSchema, startHarness, type Harness } from '../api/helpers.ts';
import { startReceiver, type Receiver } from './helpers.ts';

let h: Harness;
let rx: Receiver;
let dispatcher: WebhookDispatcher;
const alerts: WebhookAlert[] = [];
const recorded: RecordedInstruction[] = [];
/** Per assignment path: the JSON reply. */
const replies = new Map<string, unknown>();

before(async () => {
  h = await startHarness();
  rx = await startReceiver(() => h.account.secret, h.clock.now);
  // On the harness's virtual time: deliveries are tracked, so `settle()` returns once every
  // callback a command set off has been answered and its reply committed.
  dispatcher = new WebhookDispatcher(h.runtime, { scheduler: h.scheduler, pollMs: 0, onAlert: (a) => alerts.push(a), onInstruction: (r) => recorded.push(r) });
  dispatcher.start();
});
after(async () => {
  await dispatcher.stop();
  await rx.close();
  await h.close();
});

interface World {
  ws: string;
  workflow: string;
  worker: string;
  available: string;
  offline: string;
  wrapUp: string;
}

/** A workspace whose workflow's assignment callback answers with `reply` (null: 204, REST tests). */
async function world(name: string, reply: unknown, workerAttributes: Record<string, unknown> = { contact_uri: 'client:alice' }): Promise<World> {
  const path = `/assign/${name}`;
  if (reply !== null) rx.on(path, (_, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply)));
  replies.set(path, reply);
  const tr = h.client.taskrouter.v1;
  const ws = await tr.workspaces.create({ friendlyName: name, eventCallbackUrl: rx.url(`/events/${name}`) });
  const w = tr.workspaces(ws.sid);
  const acts = await w.activities.list();
  const act = (n: string): string => acts.find((a) => a.friendlyName === n)?.sid as string;
  const wrapUp = await w.activities.create({ friendlyName: 'Wrap-up', available: false });
  const queue = await w.taskQueues.create({ friendlyName: 'All' });
  const workflow = await w.workflows.create({
    friendlyName: 'Main',
    configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }),
    ...(reply === null ? {} : { assignmentCallbackUrl: rx.url(path) }),
  });
  const worker = await w.workers.create({ friendlyName: 'Alice', attributes: JSON.stringify(workerAttributes), activitySid: act('Available') });
  return { ws: ws.sid, workflow: workflow.sid, worker: worker.sid, available: act('Available'), offline: act('Offline'), wrapUp: wrapUp.sid };
}

async function reservationOf(w: World, taskSid: string): Promise<{ sid: string; status: string }> {
  const list = await h.client.taskrouter.v1.workspaces(w.ws).tasks(taskSid).reservations.list();
  assert.equal(list.length, 1);
  return { sid: list[0]?.sid as string, status: list[0]?.reservationStatus as string };
}

/**
 * Lets every callback in flight be delivered and answered and every reply be committed, without
 * moving virtual time; then `predicate` must hold (it is not polled: the system is quiet).
 */
async function settled(what: string, predicate: () => boolean | Promise<boolean>): Promise<void> {
  await h.scheduler.settle();
  assert.ok(await predicate(), `${what}; alerts ${JSON.stringify(alerts)}`);
}

/** The reservation's events as the twilio client lists them. */
async function reservationEvents(w: World, reservationSid: string): Promise<{ eventType: string; eventData: Record<string, string>; actorSid: string; actorType: string; actorUrl: string | null }[]> {
  return (await h.client.taskrouter.v1.workspaces(w.ws).events.list({ reservationSid })) as never;
}

test('dequeue from the assignment callback: accepted; the instruction and its parameters are on the reservation.accepted event and its callback', async () => {
  const w = await world('dequeue', null);
  const reply = { instruction: 'dequeue', from: '+15550001111', post_work_activity_sid: w.wrapUp, record: 'record-from-answer', status_callback_url: 'https://example.com/status', status_callback_events: 'initiated,completed' };
  rx.on('/assign/dequeue2', (_, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply)));
  await h.client.taskrouter.v1.workspaces(w.ws).workflows(w.workflow).update({ assignmentCallbackUrl: rx.url('/assign/dequeue2') });
  const task = await h.client.taskrouter.v1.workspaces(w.ws).tasks.create({ attributes: JSON.stringify({ type: 'call' }) });
  await settled('the task is assigned', async () => (await h.client.taskrouter.v1.workspaces(w.ws).tasks(task.sid).fetch()).assignmentStatus === 'assigned');
  const r = await reservationOf(w, task.sid);
  assert.equal(r.status, 'accepted');

  const events = await reservationEvents(w, r.sid);
  for (const e of (h.lastBody() as { events: unknown[] }).events) assertSchema('workspace.event', e);
  const accepted = events.find((e) => e.eventType === 'reservation.accepted');
  assert.ok(accepted !== undefined, JSON.stringify(events.map((e) => e.eventType)));
  assert.equal(accepted.eventData['instruction'], 'dequeue');
  assert.equal(accepted.eventData['instruction_from'], '+15550001111');
  assert.equal(accepted.eventData['instruction_to'], 'client:alice', "`to` defaults to the worker's contact_uri");
  assert.equal(accepted.eventData['instruction_timeout'], '60', 'timeout defaults to 60 s');
  assert.equal(accepted.eventData['instruction_post_work_activity_sid'], w.wrapUp);
  assert.equal(accepted.eventData['instruction_record'], 'record-from-answer');
  assert.equal(accepted.eventData['instruction_status_callback_events'], 'initiated,completed');
  assert.equal(accepted.actorType, 'workflow', 'the workflow assignment callback caused it');
  assert.equal(accepted.actorSid, w.workflow);
  assert.equal(accepted.actorUrl, `${h.base}/v1/Workspaces/${w.ws}/Workflows/${w.workflow}`);
  const created = events.find((e) => e.eventType === 'reservation.created');
  assert.equal(created?.eventData['instruction'], undefined, 'only the accepting command carries the instruction');
  assert.ok(recorded.some((x) => x.reservationSid === r.sid && x.instruction === 'dequeue' && x.accepted));

  assert.ok(rx.received.some((x) => x.path === '/events/dequeue' && x.params['EventType'] === 'reservation.accepted'), 'the event callback was sent');
  const callback = rx.received.find((x) => x.path === '/events/dequeue' && x.params['EventType'] === 'reservation.accepted');
  assert.equal(callback?.params['Instruction'], 'dequeue');
  assert.equal(callback?.params['InstructionFrom'], '+15550001111');
  assert.equal(callback?.params['InstructionTo'], 'client:alice');
  assert.deepEqual(rx.invalid, [], 'every callback is signed correctly');
});

test('call: accepts only with accept=true; redirect: likewise; conference: accepted with from/to defaults', async () => {
  const cases: { name: string; reply: Record<string, unknown>; accepts: boolean; check: (data: Record<string, string>) => void; taskAttributes?: Record<string, unknown> }[] = [
    { name: 'call-no-accept', reply: { instruction: 'call', from: '+15550002222', url: 'https://example.com/twiml' }, accepts: false, check: () => undefined },
    {
      name: 'call-accept',
      reply: { instruction: 'call', from: '+15550002222', to: '+15559990000', url: 'https://example.com/twiml', accept: true, timeout: 30 },
      accepts: true,
      check: (d) => {
        assert.equal(d['instruction'], 'call');
        assert.equal(d['instruction_to'], '+15559990000', 'an explicit to wins over contact_uri');
        assert.equal(d['instruction_url'], 'https://example.com/twiml');
        assert.equal(d['instruction_accept'], 'true');
        assert.equal(d['instruction_timeout'], '30');
      },
    },
    { name: 'redirect-no-accept', reply: { instruction: 'redirect', call_sid: `CA${'a'.repeat(32)}`, url: 'https://example.com/hold' }, accepts: false, check: () => undefined },
    {
      name: 'redirect-accept',
      reply: { instruction: 'redirect', call_sid: `CA${'b'.repeat(32)}`, url: 'https://example.com/agent', accept: 'true' },
      accepts: true,
      check: (d) => {
        assert.equal(d['instruction'], 'redirect');
        assert.equal(d['instruction_call_sid'], `CA${'b'.repeat(32)}`);
        assert.equal(d['instruction_url'], 'https://example.com/agent');
      },
    },
    {
      name: 'conference',
      reply: { instruction: 'conference', beep: 'onEnter', end_conference_on_exit: true, max_participants: 3, sip_auth_password: 'hunter2' },
      accepts: true,
      taskAttributes: { to: '+15551230000', from: '+15557654321' },
      check: (d) => {
        assert.equal(d['instruction'], 'conference');
        assert.equal(d['instruction_from'], '+15551230000', "from defaults to the task's `to` (the number called)");
        assert.equal(d['instruction_to'], 'client:alice');
        assert.equal(d['instruction_beep'], 'onEnter');
        assert.equal(d['instruction_end_conference_on_exit'], 'true');
        assert.equal(d['instruction_max_participants'], '3');
        assert.equal(d['instruction_sip_auth_password'], '[redacted]', 'secrets are not recorded');
      },
    },
  ];
  for (const c of cases) {
    const w = await world(c.name, c.reply);
    const ws = h.client.taskrouter.v1.workspaces(w.ws);
    const task = await ws.tasks.create({ attributes: JSON.stringify(c.taskAttributes ?? {}) });
    await settled(`${c.name}: the assignment callback was answered and its instruction taken`, () => rx.received.some((x) => x.path === `/assign/${c.name}`) && recorded.some((x) => x.workspaceSid === w.ws));
    const r = await reservationOf(w, task.sid);
    assert.equal(r.status, c.accepts ? 'accepted' : 'pending', c.name);
    assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, c.accepts ? 'assigned' : 'reserved', c.name);
    const rec = recorded.find((x) => x.workspaceSid === w.ws);
    assert.equal(rec?.accepted, c.accepts, c.name);
    const events = await reservationEvents(w, r.sid);
    const accepted = events.find((e) => e.eventType === 'reservation.accepted');
    if (c.accepts) {
      assert.ok(accepted !== undefined, c.name);
      c.check(accepted.eventData);
    } else {
      assert.equal(accepted, undefined, `${c.name}: not accepted`);
      assert.ok(events.every((e) => e.eventData['instruction'] === undefined), `${c.name}: nothing recorded on events without acceptance`);
    }
  }
  assert.deepEqual(alerts.filter((a) => a.code !== 11200), [], 'no alerts for valid instructions');
});

test('invalid instruction parameters raise TaskRouter alerts and leave the reservation pending', async () => {
  const cases: [string, Record<string, unknown>, number, RegExp, Record<string, unknown>?][] = [
    ['call-no-url', { instruction: 'call', from: '+1555' }, 40110, /url is required/],
    ['call-bad-url', { instruction: 'call', from: '+1555', url: 'ftp://x' }, 40110, /url must be an http/],
    ['call-no-to', { instruction: 'call', from: '+1555', url: 'https://e.com/' }, 40111, /to is required.*contact_uri/, {}],
    ['redirect-no-url', { instruction: 'redirect', call_sid: `CA${'c'.repeat(32)}` }, 40120, /url is required/],
    ['redirect-bad-call-sid', { instruction: 'redirect', call_sid: 'CA123', url: 'https://e.com/' }, 40121, /call_sid must be a call SID/],
    ['dequeue-no-from', { instruction: 'dequeue' }, 40130, /from is required/],
    ['dequeue-bad-activity', { instruction: 'dequeue', from: '+1555', post_work_activity_sid: `WA${'d'.repeat(32)}` }, 40132, /post_work_activity_sid .* is not an activity/],
    ['dequeue-timeout', { instruction: 'dequeue', from: '+1555', timeout: 1000 }, 40133, /timeout must be a whole number from 1 to 999/],
    ['conference-no-from', { instruction: 'conference' }, 40136, /from is required.*'to' in the task's attributes/],
    ['conference-bad-beep', { instruction: 'conference', from: '+1555', beep: 'loud' }, 40141, /beep must be one of/],
  ];
  for (const [name, reply, code, message, workerAttributes] of cases) {
    const w = await world(name, reply, workerAttributes);
    const task = await h.client.taskrouter.v1.workspaces(w.ws).tasks.create({ attributes: '{}' });
    await settled(`${name}: the assignment callback was answered with an alert`, () => rx.received.some((x) => x.path === `/assign/${name}`) && alerts.some((a) => a.workspaceSid === w.ws));
    const alert = alerts.find((a) => a.workspaceSid === w.ws);
    assert.equal(alert?.code, code, `${name}: ${JSON.stringify(alert)}`);
    assert.match(alert?.message ?? '', message, name);
    assert.equal((await reservationOf(w, task.sid)).status, 'pending', `${name}: stays pending`);
  }
});

test('REST Instruction=dequeue/call/redirect/conference through the twilio client: checked, accepted where TaskRouter accepts, recorded with the caller as actor', async () => {
  const w = await world('rest', null);
  const ws = h.client.taskrouter.v1.workspaces(w.ws);
  const newTask = async (): Promise<{ task: string; reservation: string }> => {
    await ws.workers(w.worker).update({ activitySid: w.available });
    const t = await ws.tasks.create({ attributes: JSON.stringify({ to: '+15550100' }) });
    const r = await reservationOf(w, t.sid);
    assert.equal(r.status, 'pending');
    return { task: t.sid, reservation: r.sid };
  };
  const finish = async (t: { task: string }): Promise<void> => {
    await ws.tasks(t.task).update({ assignmentStatus: 'completed', reason: 'done' });
  };

  // Bad parameters: 400 naming the REST parameter; nothing changes.
  const t1 = await newTask();
  const res = ws.tasks(t1.task).reservations(t1.reservation);
  await assertRestError(() => res.update({ instruction: 'redirect', redirectCallSid: `CA${'e'.repeat(32)}` }), 400, 20001, /RedirectUrl/);
  await assertRestError(() => res.update({ instruction: 'redirect', redirectCallSid: 'nope', redirectUrl: 'https://e.com/' }), 400, 20001, /RedirectCallSid/);
  await assertRestError(() => res.update({ instruction: 'dequeue', dequeueFrom: '+1555', dequeueTimeout: 0 }), 400, 20001, /DequeueTimeout/);
  await assertRestError(() => res.update({ instruction: 'call', callFrom: '+1555', callUrl: 'nope' }), 400, 20001, /CallUrl/);
  await assertRestError(() => res.update({ instruction: 'conference', from: '+1555', maxParticipants: 1 }), 400, 20001, /MaxParticipants/);
  await assertRestError(() => res.update({ instruction: 'dequeue', dequeueFrom: '+1555', reservationStatus: 'accepted' }), 400, 20001, /Instruction/);
  assert.equal((await res.fetch()).reservationStatus, 'pending');

  // call without CallAccept: checked, but the reservation stays pending.
  const stillPending = await res.update({ instruction: 'call', callFrom: '+1555', callUrl: 'https://e.com/twiml' });
  assert.equal(stillPending.reservationStatus, 'pending');

  // dequeue accepts; the event carries the instruction and the account as actor.
  const accepted = await res.update({ instruction: 'dequeue', dequeueFrom: '+15550001111', dequeueStatusCallbackEvent: ['initiated', 'completed'] });
  assert.equal(accepted.reservationStatus, 'accepted');
  const events = await reservationEvents(w, t1.reservation);
  const ev = events.find((e) => e.eventType === 'reservation.accepted');
  assert.equal(ev?.eventData['instruction'], 'dequeue');
  assert.equal(ev?.eventData['instruction_from'], '+15550001111');
  assert.equal(ev?.eventData['instruction_to'], 'client:alice');
  assert.equal(ev?.eventData['instruction_status_callback_events'], 'initiated,completed');
  assert.equal(ev?.actorType, 'account');
  assert.equal(ev?.actorSid, h.account.sid);
  // A second instruction on the accepted reservation: 410, as for accept.
  await assertRestError(() => res.update({ instruction: 'conference', from: '+1555' }), 410, 20410);
  await finish(t1);

  // redirect with RedirectAccept, conference with the task's `to` as from.
  const t2 = await newTask();
  const r2 = await ws.tasks(t2.task).reservations(t2.reservation).update({ instruction: 'redirect', redirectCallSid: `CA${'f'.repeat(32)}`, redirectUrl: 'https://e.com/agent', redirectAccept: true });
  assert.equal(r2.reservationStatus, 'accepted');
  await finish(t2);
  const t3 = await newTask();
  const r3 = await ws.workers(w.worker).reservations(t3.reservation).update({ instruction: 'conference', endConferenceOnExit: true, conferenceStatusCallbackEvent: ['start', 'end'] });
  assert.equal(r3.reservationStatus, 'accepted');
  const ev3 = (await reservationEvents(w, t3.reservation)).find((e) => e.eventType === 'reservation.accepted');
  assert.equal(ev3?.eventData['instruction'], 'conference');
  assert.equal(ev3?.eventData['instruction_from'], '+15550100');
  assert.equal(ev3?.eventData['instruction_conference_status_callback_event'], 'start,end');
  assert.equal(ev3?.eventData['instruction_end_conference_on_exit'], 'true');
});

/**
 * A workspace whose assignment callback answers `reply(world)` (the reply may name the world's
 * activities); the receiver counts the callbacks on `/assign/<name>`.
 */
async function replyingWorld(name: string, reply: (w: World) => unknown): Promise<World & { callbacks: () => number }> {
  const w = await world(name, null);
  const path = `/assign/${name}`;
  rx.on(path, (_, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply(w))));
  await h.client.taskrouter.v1.workspaces(w.ws).workflows(w.workflow).update({ assignmentCallbackUrl: rx.url(path) });
  return { ...w, callbacks: () => rx.received.filter((x) => x.path === path).length };
}

test('a reject reply that would offer the task straight back is refused with alert 40100: one reservation, one callback, pending until its timeout', async () => {
  // Before this check, each of these replies drove 1,000 reservations and 1,000 callbacks in
  // about 3 s, then the task was canceled ("Max assignment count exceeded").
  const cases: [name: string, reply: (w: World) => Record<string, unknown>, direct: boolean, message: RegExp][] = [
    ['reject-bare', () => ({ instruction: 'reject' }), false, /does not include a valid activity_sid parameter: activity_sid is missing/],
    ['reject-empty', () => ({ instruction: 'reject', activity_sid: '' }), false, /activity_sid is missing/],
    ['reject-by-name', () => ({ instruction: 'reject', activity_sid: 'Offline' }), false, /activity_sid must be an activity SID .*"Offline"/],
    ['reject-unknown', () => ({ instruction: 'reject', activity_sid: `WA${'e'.repeat(32)}` }), false, /WAe{32} is not an activity of this workspace/],
    ['reject-available', (w) => ({ instruction: 'reject', activity_sid: w.available }), false, /is an available activity: the worker would stay eligible/],
    // RoutingTarget=WK with a workflow: IgnoreCapacity (default true) offers it to the worker whatever the activity.
    ['reject-ignore-capacity', (w) => ({ instruction: 'reject', activity_sid: w.offline }), true, /routed to this worker with IgnoreCapacity/],
  ];
  for (const [name, reply, direct, message] of cases) {
    const w = await replyingWorld(name, reply);
    const ws = h.client.taskrouter.v1.workspaces(w.ws);
    const task = await ws.tasks.create({ workflowSid: w.workflow, ...(direct ? { routingTarget: w.worker } : {}) });
    await settled(`${name}: the 40100 alert`, () => alerts.some((a) => a.workspaceSid === w.ws));
    const mine = alerts.filter((a) => a.workspaceSid === w.ws);
    assert.deepEqual(mine.map((a) => [a.code, a.url]), [[40100, rx.url(`/assign/${name}`)]], name);
    assert.match(mine[0]?.message ?? '', /^reject: Your Reject instruction does not include a valid activity_sid parameter: /, name);
    assert.match(mine[0]?.message ?? '', message, name);
    assert.match(mine[0]?.message ?? '', /the reservation stays pending$/, name);
    const reservations = await ws.tasks(task.sid).reservations.list();
    assert.deepEqual(reservations.map((r) => r.reservationStatus), ['pending'], `${name}: the reply changed nothing`);
    assert.equal(w.callbacks(), 1, `${name}: one assignment callback`);
    assert.equal((await ws.workers(w.worker).fetch()).activitySid, w.available, `${name}: the worker keeps its activity`);

    // The reservation times out (the workflow's 120 s) like any unanswered one, on its own timer:
    // the worker goes to the workspace's timeout activity (Offline) and is no longer offered the task.
    await h.clock.advance(119_999);
    assert.equal((await ws.tasks(task.sid).reservations(reservations[0]?.sid as string).fetch()).reservationStatus, 'pending', `${name}: not before 120 s`);
    await h.clock.advance(1_001);
    const after = await ws.tasks(task.sid).reservations.list();
    assert.equal(after.find((r) => r.sid === reservations[0]?.sid)?.reservationStatus, 'timeout', name);
    assert.equal((await ws.workers(w.worker).fetch()).activitySid, w.offline, name);
    if (direct) {
      // IgnoreCapacity offers it to the Offline worker again: once per reservation timeout, not at once.
      assert.deepEqual(after.map((r) => r.reservationStatus).sort(), ['pending', 'timeout'], name);
    } else {
      assert.equal(after.length, 1, name);
      assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'pending', name);
    }
  }
});

test('a reject reply naming an unavailable activity is applied: the worker moves to it and the task is not offered again', async () => {
  const w = await replyingWorld('reject-wrap-up', (x) => ({ instruction: 'reject', activity_sid: ` ${x.wrapUp.toUpperCase()} ` }));
  const ws = h.client.taskrouter.v1.workspaces(w.ws);
  const task = await ws.tasks.create({ workflowSid: w.workflow });
  await settled('the reservation is rejected', async () => (await ws.tasks(task.sid).reservations.list())[0]?.reservationStatus === 'rejected');
  const worker = await ws.workers(w.worker).fetch();
  assert.equal(worker.activitySid, w.wrapUp, 'the SID is read in any letter case, spaces trimmed');
  assert.equal(worker.available, false);
  assert.equal((await ws.tasks(task.sid).fetch()).assignmentStatus, 'pending');
  assert.equal((await ws.tasks(task.sid).reservations.list()).length, 1);
  assert.equal(w.callbacks(), 1);
  const rejected = (await reservationEvents(w, (await reservationOf(w, task.sid)).sid)).find((e) => e.eventType === 'reservation.rejected');
  assert.equal(rejected?.actorType, 'workflow', 'the workflow assignment callback caused it');
  assert.deepEqual(alerts.filter((a) => a.workspaceSid === w.ws), []);
});
