/**
 * Both dialing strategies end to end over the simulated telephone network, driven in virtual
 * time: engine + CallbackCenter + SimulatedNetwork + scripted agents (spec callbacks-and-ewt
 * §1.3, §2.1–2.4, acceptance tests §9.1–9.5, 9.10).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallbackError } from '../../src/callbacks/errors.ts';
import { CallbackCenter } from '../../src/callbacks/center.ts';
import type { AgentPolicy } from '../../src/sim/callback-driver.ts';
import { at, cb, history, world, T0 } from './helpers.ts';

const N1 = '+14155550101';
const N2 = '+14155550102';
const N3 = '+14155550103';

function dialsOf(w: ReturnType<typeof world>, to: string) {
  return w.network.dials.filter((d) => d.to === to);
}

test('CF: ready on the first attempt → return task with priority 5 and the callback attributes; completed after the bridge', () => {
  const w = world();
  w.network.script(N1, ['ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '(415) 555-0101'.replace('(', '+1 ('), context: { AccNum: '42' } });
  assert.equal(c.phoneNumber, N1);
  assert.equal(c.status, 'registered');
  w.driver.runFor(3600);
  assert.deepEqual(history(w.driver, c.sid), ['registered', 'dialing', 'customer_answered', 'customer_waiting', 'agent_connected', 'completed']);
  const created = w.driver.engineEvents.find((e) => e.eventType === 'task.created' && String(e.data['task_attributes']).includes(c.sid));
  assert.ok(created);
  assert.equal(created.data['task_priority'], 5);
  const attrs = JSON.parse(created.data['task_attributes'] as string) as Record<string, unknown>;
  assert.deepEqual(attrs, { type: 'callback_return', callback_sid: c.sid, from: N1, to: '+18005550100', call_target_sid: w.targetSid, context: { AccNum: '42' }, conference_name: `callback-${c.sid}-1` });
  // launched no earlier than the minimum callback delay, and the task appears only after "ready"
  const dial = dialsOf(w, N1)[0];
  assert.ok(dial !== undefined && dial.at >= c.createdAt + 60_000);
  assert.ok(created.at >= dial.due);
  assert.equal(dialsOf(w, N1).length, 1);
  const done = cb(w, c.sid);
  assert.ok(done.connectedAt !== null && done.connectedAt >= dial.due);
});

test('§9.3 CF, maxRetries 2, three no-answers: attempts at least retry.delaySeconds.noAnswer apart, then failed(max_attempts)', () => {
  const w = world();
  w.network.script(N1, ['no_answer', 'no_answer', 'no_answer', 'ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.driver.runFor(3 * 3600);
  const dials = dialsOf(w, N1);
  assert.equal(dials.length, 3);
  for (let i = 1; i < dials.length; i++) assert.ok((dials[i]?.at as number) - (dials[i - 1]?.at as number) >= 300_000, 'attempts at least 300 s apart');
  // ... measured from the end of the previous attempt, too
  for (let i = 1; i < dials.length; i++) assert.ok((dials[i]?.at as number) - (dials[i - 1]?.due as number) >= 300_000);
  const done = cb(w, c.sid);
  assert.equal(done.status, 'failed');
  assert.equal(done.statusReason, 'max_attempts');
  assert.deepEqual(history(w.driver, c.sid), ['registered', 'dialing', 'retry_wait', 'dialing', 'retry_wait', 'dialing', 'failed']);
  assert.deepEqual(done.attempts.map((a) => a.result), ['no_answer', 'no_answer', 'no_answer']);
  assert.equal(new Set(dials.map((d) => d.key)).size, 3);
});

test('CF: busy, voicemail and not-ready each wait their own delay; then ready completes', () => {
  const w = world();
  w.network.script(N1, ['busy', 'voicemail', 'not_ready', 'ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.center.putCallTarget({ sid: w.targetSid, taskQueueSid: w.queueSid, retry: { maxRetries: 3 } });
  w.driver.runFor(4 * 3600);
  const d = dialsOf(w, N1);
  assert.equal(d.length, 4);
  const gap = (i: number) => ((d[i]?.at as number) - (d[i - 1]?.due as number)) / 1000;
  assert.ok(gap(1) >= 120 && gap(1) < 300, `busy delay ${gap(1)}`);
  assert.ok(gap(2) >= 600, `voicemail delay ${gap(2)}`);
  assert.ok(gap(3) >= 600, `not-ready delay ${gap(3)}`);
  assert.equal(cb(w, c.sid).status, 'completed');
  assert.deepEqual(history(w.driver, c.sid), [
    'registered', 'dialing', 'retry_wait', 'dialing', 'retry_wait', 'dialing', 'customer_answered', 'retry_wait', 'dialing', 'customer_answered', 'customer_waiting', 'agent_connected', 'completed',
  ]);
  assert.deepEqual(cb(w, c.sid).attempts.map((a) => a.result), ['busy', 'voicemail', 'not_ready', 'completed']);
});

test('voicemail policy: complete, leave a message then complete', () => {
  for (const policy of ['complete', 'leave_message_then_complete'] as const) {
    const w = world({ target: { voicemailPolicy: policy } });
    w.network.script(N1, ['voicemail']);
    const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
    w.driver.runFor(3600);
    assert.equal(cb(w, c.sid).status, 'completed');
    assert.equal(cb(w, c.sid).statusReason, policy === 'complete' ? 'voicemail' : 'voicemail_message_left');
    assert.equal(dialsOf(w, N1).length, 1);
    assert.equal(w.driver.engineEvents.filter((e) => e.eventType === 'task.created').length, 0, 'no task for a voicemail');
  }
});

test('CF: declined → failed(customer_declined); invalid number → failed(invalid_number)', () => {
  const w = world();
  w.network.script(N1, ['declined']);
  w.network.script(N2, ['invalid_number']);
  const a = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  const b = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N2 });
  w.driver.runFor(3600);
  assert.deepEqual([cb(w, a.sid).status, cb(w, a.sid).statusReason], ['failed', 'customer_declined']);
  assert.deepEqual([cb(w, b.sid).status, cb(w, b.sid).statusReason], ['failed', 'invalid_number']);
  assert.equal(dialsOf(w, N1).length + dialsOf(w, N2).length, 2);
});

test('CF: the customer hangs up while waiting for an agent → task canceled, failed(customer_declined)', () => {
  // The only agent is busy with a long call: the return task waits.
  const agents: AgentPolicy = { onReservation: () => ({ action: 'accept', afterSeconds: 1 }), handleSeconds: (i) => (i.attributes['type'] === undefined ? 3600 : 60) };
  const w = world({ agents, target: { minimumCallbackDelaySeconds: 0 }, holdUntilQuote: false });
  w.driver.execute({ type: 'createTask', at: T0, taskQueueSid: w.queueSid, taskChannel: 'voice', attributes: '{}' });
  w.driver.runFor(5);
  w.network.script(N1, ['ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.driver.runFor(600);
  // pacing: μ unknown and no idle agent — nothing dialed while nobody can take the call
  assert.equal(dialsOf(w, N1).length, 0);
  assert.equal(cb(w, c.sid).status, 'registered');
  // a second agent comes: the customer is dialed and waits (the new agent is taken by nothing else)
  const agent2 = w.driver.execute({ type: 'createWorker', at: w.driver.now, friendlyName: 'late', activitySid: w.offline, attributes: '{}' }).sid as string;
  w.driver.execute({ type: 'updateWorker', at: w.driver.now, workerSid: agent2, activitySid: w.available });
  for (let i = 0; i < 120 && dialsOf(w, N1).length === 0; i++) w.driver.runFor(1);
  assert.equal(dialsOf(w, N1).length, 1);
  // …and leaves again before the customer has confirmed
  w.driver.execute({ type: 'updateWorker', at: w.driver.now, workerSid: agent2, activitySid: w.offline });
  w.driver.runFor(60);
  assert.equal(cb(w, c.sid).status, 'customer_waiting');
  const taskSid = cb(w, c.sid).taskSid as string;
  assert.ok(taskSid);
  w.driver.act((center, now) => center.customerHungUp(c.sid, now));
  assert.deepEqual([cb(w, c.sid).status, cb(w, c.sid).statusReason], ['failed', 'customer_declined']);
  const canceled = w.driver.engineEvents.find((e) => e.eventType === 'task.canceled' && e.resourceSid === taskSid);
  assert.equal(canceled?.data['task_canceled_reason'], 'customer_abandoned_return');
});

test('§9.4 + §9.10: in-queue acceptance cancels the live task as non-abandoned; the return task (priority 5, virtual start = original creation) is served before an older priority-0 task', () => {
  const agents: AgentPolicy = {
    onReservation: () => ({ action: 'accept', afterSeconds: 1 }),
    handleSeconds: (i) => (i.attributes['warm'] === true ? 40 : i.attributes['long'] === true ? 100 : 60),
  };
  const w = world({ agents, target: { minimumCallbackDelaySeconds: 0 }, holdUntilQuote: false });
  const task = (attrs: object) => w.driver.execute({ type: 'createTask', at: w.driver.now, taskQueueSid: w.queueSid, taskChannel: 'voice', attributes: JSON.stringify(attrs) }).sid as string;
  // warm up: three 40-s services teach the center the AHT (pacing needs μ̂)
  for (let i = 0; i < 3; i++) {
    task({ warm: true });
    w.driver.runFor(45);
  }
  task({ long: true }); // the agent is busy for 100 s
  w.driver.runFor(1);
  const older = task({ caller: 'A' });
  w.driver.runFor(5);
  const b = task({ caller: 'B' });
  const bCreated = w.engine.tasks.get(b)?.dateCreated as number;
  w.driver.runFor(5);
  w.network.script(N1, ['ready']);
  const bRecord = w.engine.tasks.get(b);
  assert.ok(bRecord);
  const out = w.driver.act((center, now) => center.acceptInQueue({ sid: b, dateCreated: bRecord.dateCreated, attributesJson: bRecord.attributesJson }, { callTargetSid: w.targetSid, phoneNumber: N1 }, now));
  assert.equal(out.effects[0]?.kind, 'engine');
  const canceled = w.engine.tasks.get(b);
  assert.equal(canceled?.assignmentStatus, 'canceled');
  assert.equal(canceled?.reason, 'Opted to request a callback');
  assert.deepEqual((JSON.parse(canceled?.attributesJson as string) as { conversations: unknown }).conversations, { abandoned: 'Follow-Up' });
  assert.equal(w.center.statsOf(w.targetSid).abandonments, 0, 'not counted as an abandonment');
  assert.equal(out.callback.virtualStartTime, bCreated);
  assert.equal(out.callback.originalTaskSid, b);
  w.driver.runFor(600);
  const ret = w.driver.engineEvents.find((e) => e.eventType === 'task.created' && String(e.data['task_attributes']).includes('callback_return'));
  assert.ok(ret);
  assert.equal(ret.data['task_priority'], 5);
  assert.equal(ret.data['task_virtual_start_time'], Math.floor(bCreated / 1000));
  const accepted = w.driver.engineEvents.filter((e) => e.eventType === 'reservation.accepted').map((e) => e.data['task_sid']);
  assert.ok(accepted.indexOf(ret.resourceSid) >= 0);
  assert.ok(accepted.indexOf(ret.resourceSid) < accepted.indexOf(older), 'the callback is served before the older priority-0 task');
  assert.equal(cb(w, out.callback.sid).status, 'completed');
});

test('AF: a task is routed first; the customer is dialed only after reservation.accepted (§9.5)', () => {
  const w = world({ target: { strategy: 'agent_first' } });
  w.network.script(N1, ['ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.driver.runFor(3600);
  assert.deepEqual(history(w.driver, c.sid), ['registered', 'dialing', 'agent_reserved', 'dialing_customer', 'agent_connected', 'completed']);
  const accepted = w.driver.engineEvents.find((e) => e.eventType === 'reservation.accepted');
  const created = w.driver.engineEvents.find((e) => e.eventType === 'task.created');
  assert.ok(accepted && created);
  assert.equal(JSON.parse(created.data['task_attributes'] as string).type, 'callback_agent_first');
  const dials = dialsOf(w, N1);
  assert.equal(dials.length, 1);
  assert.ok((dials[0]?.at as number) >= accepted.at, 'no outbound dial before reservation.accepted');
});

test('AF: the agent rejects → the task is offered again; the dial waits for an acceptance', () => {
  let offers = 0;
  const agents: AgentPolicy = { onReservation: () => (++offers === 1 ? { action: 'reject', afterSeconds: 3 } : { action: 'accept', afterSeconds: 2 }), handleSeconds: () => 60 };
  const w = world({ agents, workers: 2, target: { strategy: 'agent_first' } });
  w.network.script(N1, ['ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.driver.runFor(3600);
  const types = w.driver.engineEvents.map((e) => e.eventType).filter((t) => t.startsWith('reservation.'));
  assert.deepEqual(types.slice(0, 3), ['reservation.created', 'reservation.rejected', 'reservation.created']);
  const firstAccept = w.driver.engineEvents.find((e) => e.eventType === 'reservation.accepted');
  assert.ok((dialsOf(w, N1)[0]?.at as number) >= (firstAccept?.at as number));
  assert.equal(cb(w, c.sid).status, 'completed');
  assert.equal(w.driver.engineEvents.filter((e) => e.eventType === 'task.created').length, 1, 'the same task is re-offered');
});

test('AF §9.5: no acknowledgement within 20 s → the center rejects the reservation; the task waits again with the same ordering', () => {
  let offers = 0;
  const agents: AgentPolicy = { onReservation: () => (++offers === 1 ? { action: 'ignore', afterSeconds: 0 } : { action: 'accept', afterSeconds: 2 }), handleSeconds: () => 60 };
  const w = world({ agents, target: { strategy: 'agent_first' } });
  w.network.script(N1, ['ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.driver.runUntil(c.scheduledFor + 1000);
  const taskSid = cb(w, c.sid).taskSid as string;
  const before = { ...w.engine.tasks.get(taskSid) } as { priority: number; virtualStartTime: number };
  const created = w.driver.engineEvents.find((e) => e.eventType === 'reservation.created');
  assert.ok(created);
  w.driver.runUntil(created.at + 19_000);
  assert.equal(dialsOf(w, N1).length, 0);
  w.driver.runUntil(created.at + 21_000);
  const rejected = w.driver.engineEvents.find((e) => e.eventType === 'reservation.rejected');
  assert.ok(rejected, 'rejected by the center');
  assert.equal(rejected.at, created.at + 20_000);
  assert.ok(w.driver.callbackEvents.some((e) => e.eventType === 'callback.agent_ack_timeout'));
  const after = w.engine.tasks.get(taskSid);
  assert.equal(after?.priority, before.priority);
  assert.equal(after?.virtualStartTime, before.virtualStartTime);
  assert.equal(dialsOf(w, N1).length, 0, 'still no dial');
  w.driver.runFor(3600);
  assert.equal(cb(w, c.sid).status, 'completed');
  assert.equal(cb(w, c.sid).taskSid, taskSid);
});

test('AF: the customer does not answer → agent task wrapped up as callback_no_answer, retry with a new task', () => {
  const w = world({ target: { strategy: 'agent_first' } });
  w.network.script(N1, ['no_answer', 'ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.driver.runFor(3600);
  assert.deepEqual(history(w.driver, c.sid), [
    'registered', 'dialing', 'agent_reserved', 'dialing_customer', 'retry_wait', 'dialing', 'agent_reserved', 'dialing_customer', 'agent_connected', 'completed',
  ]);
  const tasks = w.driver.engineEvents.filter((e) => e.eventType === 'task.created').map((e) => e.resourceSid);
  assert.equal(tasks.length, 2);
  const first = w.driver.engineEvents.find((e) => e.eventType === 'task.completed' && e.resourceSid === tasks[0]);
  assert.equal(first?.data['task_completed_reason'], 'callback_no_answer');
  const d = dialsOf(w, N1);
  assert.ok((d[1]?.at as number) - (d[0]?.due as number) >= 300_000);
});

test('§9.1 duplicate request; §9.2 at maxRequestedCallbacks the status is display_ewt_only while pending ones still dial', () => {
  const w = world({ target: { maxRequestedCallbacks: 2 } });
  w.network.script(N1, ['ready']);
  w.network.script(N2, ['ready']);
  const a = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  assert.throws(() => w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+1 415-555-0101' }), (e: unknown) => e instanceof CallbackError && e.code === 'DuplicateRequest');
  const b = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N2 });
  const offer = w.center.offer(w.targetSid, { ewtSeconds: 900 }, w.driver.now);
  assert.equal(offer.widgetState, 'display_ewt_only');
  assert.equal(offer.reason, 'max_requested');
  assert.equal(offer.phrase, 'more than 10 minutes');
  assert.throws(() => w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N3 }), (e: unknown) => e instanceof CallbackError && e.code === 'RequestRefusedDueToOperationMode');
  assert.equal(w.center.listCallbacks().length, 2, 'a refused request changes nothing');
  w.driver.runFor(3600);
  assert.equal(cb(w, a.sid).status, 'completed');
  assert.equal(cb(w, b.sid).status, 'completed');
  // the same number may register again once the first is terminal
  assert.equal(w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 }).status, 'registered');
  assert.equal(w.center.offer(w.targetSid, { ewtSeconds: 900 }, w.driver.now).widgetState, 'offer_asap_callback');
});

test('registration errors name the field and change nothing', () => {
  const w = world({ target: { blockedNumbers: ['+14155550199'] } });
  const bad = (req: object, code: string, field: string | null) =>
    assert.throws(() => w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1, ...req }), (e: unknown) => e instanceof CallbackError && e.code === code && e.field === field);
  bad({ phoneNumber: '+0123' }, 'InvalidContact', 'PhoneNumber');
  bad({ phoneNumber: '1234567890123456' }, 'InvalidContact', 'PhoneNumber');
  bad({ phoneNumber: '' }, 'ContactRequired', 'PhoneNumber');
  bad({ phoneNumber: '+14155550199' }, 'InvalidContact', 'PhoneNumber');
  bad({ appointmentTime: T0 + 7 * 60_000 }, 'InvalidParameters', 'AppointmentTime');
  bad({ appointmentTime: T0 + 30 * 86_400_000 }, 'InvalidParameters', 'AppointmentTime');
  bad({ context: { a: 5 } }, 'InvalidParameters', 'Context.a');
  assert.throws(() => w.driver.register({ callTargetSid: 'nope', phoneNumber: N1 }), (e: unknown) => e instanceof CallbackError && e.code === 'NotFound');
  assert.equal(w.center.listCallbacks().length, 0);
});

test('scheduled: joins at slot start − lead time, reaches an agent inside the slot; reschedule and cancel', () => {
  const w = world();
  w.network.script(N1, ['ready']);
  const slot = at(3600);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1, appointmentTime: slot });
  assert.equal(c.status, 'scheduled');
  // joins (and launches) 60 s into the slot minus the usual launch → ring time (0 for CF)
  w.driver.runUntil(slot + 59_000);
  assert.equal(cb(w, c.sid).status, 'scheduled');
  w.driver.runUntil(slot + 3600_000);
  assert.deepEqual(history(w.driver, c.sid), ['scheduled', 'registered', 'dialing', 'customer_answered', 'customer_waiting', 'agent_connected', 'completed']);
  const dial = dialsOf(w, N1)[0];
  assert.equal(dial?.at, slot + 60_000);
  const done = cb(w, c.sid);
  assert.ok(done.connectedAt !== null && done.connectedAt >= slot && done.connectedAt <= done.window.end);
  assert.equal(CallbackCenter.punctuality(done)?.withinRange, true);
  assert.equal(CallbackCenter.punctuality(done)?.bridgeWithinRange, true);

  const r = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N2 });
  w.driver.act((center, now) => center.reschedule(r.sid, at(3 * 3600) + 15 * 60_000 * 2, now));
  assert.equal(cb(w, r.sid).status, 'scheduled');
  assert.deepEqual(history(w.driver, r.sid), ['registered', 'rescheduled', 'scheduled']);
  w.driver.act((center, now) => center.cancel(r.sid, 'customer_sms', now));
  assert.deepEqual([cb(w, r.sid).status, cb(w, r.sid).statusReason], ['canceled', 'customer_sms']);
  assert.throws(() => w.center.cancel(r.sid, 'again', w.driver.now), (e: unknown) => e instanceof CallbackError && e.code === 'InvalidRequest');
  assert.equal(dialsOf(w, N2).length, 0);
});

test('ASAP expiry: nobody staffed to take it → expired after asapExpiryHours; an AF task is taken back', () => {
  for (const strategy of ['customer_first', 'agent_first'] as const) {
    const w = world({ target: { strategy, asapExpiryHours: 0.5 } });
    w.driver.execute({ type: 'updateWorker', at: w.driver.now, workerSid: w.workers[0] as string, activitySid: w.offline });
    const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
    w.driver.runFor(3600);
    assert.deepEqual([cb(w, c.sid).status, cb(w, c.sid).statusReason], ['expired', 'asap_expiry']);
    assert.equal(w.network.dials.length, 0);
    assert.equal(cb(w, c.sid).updatedAt, c.createdAt + 1800_000);
    if (strategy === 'agent_first') {
      const task = w.driver.engineEvents.find((e) => e.eventType === 'task.created');
      assert.ok(w.driver.engineEvents.some((e) => e.eventType === 'task.canceled' && e.resourceSid === task?.resourceSid));
    }
  }
});

test('hours of operation: hold_until_open dials at the next opening; expire ends waiting ASAP callbacks at closing time', () => {
  // T0 is Monday 12:00 UTC; open Monday 12:00–12:30 and Tuesday 09:00–17:00
  const hours = [{ day: 1, openMinute: 720, closeMinute: 750 }, { day: 2, openMinute: 540, closeMinute: 1020 }];
  const hold = world({ target: { hoursOfOperation: hours } });
  hold.driver.execute({ type: 'updateWorker', at: T0, workerSid: hold.workers[0] as string, activitySid: hold.offline });
  hold.network.script(N1, ['ready']);
  const a = hold.driver.register({ callTargetSid: hold.targetSid, phoneNumber: N1 });
  hold.driver.runUntil(at(1800 + 60));
  hold.driver.execute({ type: 'updateWorker', at: hold.driver.now, workerSid: hold.workers[0] as string, activitySid: hold.available });
  hold.driver.runUntil(at(21 * 3600 - 1));
  assert.equal(cb(hold, a.sid).status, 'registered', 'closed: nobody is called');
  hold.driver.runUntil(at(22 * 3600));
  assert.equal(dialsOf(hold, N1)[0]?.at, at(21 * 3600), 'dialed at Tuesday 09:00');
  assert.equal(cb(hold, a.sid).status, 'completed');

  const exp = world({ target: { hoursOfOperation: hours, onClose: 'expire' } });
  exp.driver.execute({ type: 'updateWorker', at: T0, workerSid: exp.workers[0] as string, activitySid: exp.offline });
  const b = exp.driver.register({ callTargetSid: exp.targetSid, phoneNumber: N1 });
  exp.driver.runUntil(at(3600));
  assert.deepEqual([cb(exp, b.sid).status, cb(exp, b.sid).statusReason, cb(exp, b.sid).updatedAt], ['expired', 'closed', at(1800)]);
});

test('processCallbacks off: nothing is launched until it is turned back on', () => {
  const w = world({ target: { processCallbacks: false } });
  w.network.script(N1, ['ready']);
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.driver.runFor(1800);
  assert.equal(cb(w, c.sid).status, 'registered');
  assert.equal(w.network.dials.length, 0);
  w.center.putCallTarget({ sid: w.targetSid, taskQueueSid: w.queueSid, processCallbacks: true });
  // a target change takes effect at the next advance
  w.driver.act((center, now) => center.advanceTo(now));
  assert.equal(cb(w, c.sid).status, 'dialing');
  w.driver.runFor(600);
  assert.equal(cb(w, c.sid).status, 'completed');
});

test('callback.ecbt.changed when a pending callback\'s ECBT moves by more than 60 s; the quote stays', () => {
  const w = world({ target: { minimumCallbackDelaySeconds: 0 }, holdUntilQuote: false });
  // nobody is staffed: customer-first pacing dials nobody, the callback stays registered
  w.driver.execute({ type: 'updateWorker', at: w.driver.now, workerSid: w.workers[0] as string, activitySid: w.offline });
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  const quoted = c.ecbtSeconds as number;
  // urgent live calls (priority 9) queue ahead of it
  for (let i = 0; i < 3; i++) w.driver.execute({ type: 'createTask', at: w.driver.now, taskQueueSid: w.queueSid, taskChannel: 'voice', attributes: '{}', priority: 9 });
  const changed = w.driver.callbackEvents.filter((e) => e.eventType === 'callback.ecbt.changed' && e.resourceSid === c.sid);
  assert.ok(changed.length >= 1, 'an ecbt.changed event');
  for (const e of changed) assert.ok(Math.abs((e.data['ecbt'] as number) - (e.data['previous_ecbt'] as number)) > 60);
  assert.equal(w.center.position(c.sid)?.position, 3);
  assert.equal(w.center.position(c.sid)?.liveAhead, 3);
  assert.ok((cb(w, c.sid).currentEcbtSeconds as number) > quoted);
  assert.equal(cb(w, c.sid).ecbtSeconds, quoted, 'the quote given to the customer stays');
});

test('a callback keeps the strategy it was registered with when the target changes', () => {
  const w = world();
  w.network.script(N1, ['ready']);
  w.network.script(N2, ['ready']);
  const a = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1 });
  w.center.putCallTarget({ sid: w.targetSid, taskQueueSid: w.queueSid, strategy: 'agent_first' });
  const b = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N2 });
  w.driver.runFor(3600);
  assert.equal(cb(w, a.sid).strategy, 'customer_first');
  assert.equal(cb(w, b.sid).strategy, 'agent_first');
  assert.ok(history(w.driver, a.sid).includes('customer_waiting'));
  assert.ok(history(w.driver, b.sid).includes('agent_reserved'));
  assert.equal(cb(w, a.sid).status, 'completed');
  assert.equal(cb(w, b.sid).status, 'completed');
});

test('notices: reminder before a slot booked further ahead (not after a cancel), final attempt before the last dial', () => {
  const w = world();
  w.network.script(N1, ['ready']);
  w.network.script(N3, ['no_answer', 'no_answer', 'ready']);
  const booked = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N1, appointmentTime: at(3600) });
  const soon = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N2, appointmentTime: at(900) });
  const gone = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550104', appointmentTime: at(5400) });
  w.driver.act((c, now) => c.cancel(gone.sid, 'customer_sms', now));
  const retried = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: N3 });
  w.driver.runFor(3 * 3600);
  const reminders = w.driver.callbackEvents.filter((e) => e.eventType === 'callback.reminder.due');
  assert.deepEqual(reminders.map((e) => [e.resourceSid, e.at]), [[booked.sid, at(3600 - 900)]]);
  assert.equal(soon.reminderAt, null, 'booked 15 min ahead: no reminder');
  const finals = w.driver.callbackEvents.filter((e) => e.eventType === 'callback.final_attempt');
  assert.deepEqual(finals.map((e) => [e.resourceSid, e.data['attempt']]), [[retried.sid, 3]]);
  assert.equal(finals[0]?.at, cb(w, retried.sid).attempts[2]?.startedAt);
  assert.equal(cb(w, retried.sid).status, 'completed');
});
