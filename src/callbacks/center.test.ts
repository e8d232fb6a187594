/** CallbackCenter on its own: no engine, no network — effects in, reports out (pure state machine). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SequentialSids } from '../util/sid.ts';
import type { EngineEvent } from '../engine/events.ts';
import { CallbackCenter, type CallbackEffect } from './center.ts';
import { ecbtRange } from './offer.ts';

const T0 = 1_704_110_400_000;
const WQ = 'WQ' + '0'.repeat(31) + '1';
const N1 = '+14155550101';

function center(extra: Record<string, unknown> = {}) {
  const sids = new SequentialSids(3);
  const c = new CallbackCenter({ newSid: (p) => sids.next(p), now: T0 });
  c.putCallTarget({ sid: 'CT', taskQueueSid: WQ, ...extra });
  return c;
}

function ev(eventType: EngineEvent['eventType'], resourceSid: string, at: number, data: Record<string, string | number | null>): EngineEvent {
  return { sid: 'EV' + resourceSid.slice(2), eventType, at, resourceType: eventType.startsWith('task.') ? 'task' : 'reservation', resourceSid, data: { task_queue_sid: WQ, ...data } };
}

test('events are shaped like the engine events; a dial key is recorded before the dial effect is handed out', () => {
  const c = center();
  const r = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0);
  assert.equal(r.effects.length, 0, 'nothing before the launch time');
  const e = r.events[0];
  assert.ok(e);
  assert.match(e.sid, /^EV[0-9a-f]{32}$/);
  assert.equal(e.eventType, 'callback.registered');
  assert.equal(e.at, T0);
  assert.equal(e.resourceType, 'callback');
  assert.equal(e.data['callback_sid'], r.callback.sid);
  assert.equal(e.data['phone_number'], N1);
  assert.equal(c.nextDeadline(), r.callback.scheduledFor);
  const launch = c.advanceTo(r.callback.scheduledFor);
  const dial = launch.effects[0] as Extract<CallbackEffect, { kind: 'dial' }>;
  assert.equal(dial.kind, 'dial');
  assert.equal(dial.key, `${r.callback.sid}:1`);
  assert.equal(dial.ringTimeoutSeconds, 30);
  // the key is already in the state the driver would persist before dialing
  const snap = c.snapshot();
  assert.equal(snap.callbacks[0]?.attempts[0]?.dialKey, dial.key);
  assert.equal(snap.callbacks[0]?.status, 'dialing');
});

test('a dial outcome is applied once; unknown keys and re-deliveries change nothing', () => {
  const c = center();
  const r = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0);
  const key = (c.advanceTo(r.callback.scheduledFor).effects[0] as { key: string }).key;
  const t1 = r.callback.scheduledFor + 15_000;
  assert.deepEqual(c.dialOutcome('CBnope:1', 'ready', t1), { events: [], effects: [] });
  const ready = c.dialOutcome(key, 'ready', t1);
  assert.deepEqual(ready.events.map((e) => e.eventType), ['callback.customer_answered', 'callback.customer_waiting']);
  const create = ready.effects[0] as Extract<CallbackEffect, { kind: 'engine' }>;
  assert.equal(create.purpose, 'create_task');
  assert.equal(create.command.type, 'createTask');
  if (create.command.type !== 'createTask') return;
  assert.equal(create.command.priority, 5);
  assert.equal(create.command.virtualStartTime, T0);
  assert.equal(create.command.taskQueueSid, WQ);
  assert.equal(JSON.parse(create.command.attributes as string).type, 'callback_return');
  assert.deepEqual(c.dialOutcome(key, 'ready', t1 + 1), { events: [], effects: [] });
  assert.deepEqual(c.dialOutcome(key, 'no_answer', t1 + 2), { events: [], effects: [] });
  assert.equal(c.getCallback(r.callback.sid)?.status, 'customer_waiting');
  // lead-time sample: dial → ready
  assert.deepEqual(c.statsOf('CT').leadSamples, [15]);
});

test('cancel while the task creation is in flight: the late task is taken back out', () => {
  const c = center();
  const r = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0);
  const key = (c.advanceTo(r.callback.scheduledFor).effects[0] as { key: string }).key;
  c.dialOutcome(key, 'ready', r.callback.scheduledFor + 10_000);
  const canceled = c.cancel(r.callback.sid, 'admin', r.callback.scheduledFor + 11_000);
  assert.deepEqual(canceled.events.map((e) => e.eventType), ['callback.canceled']);
  const late = c.taskCreated(r.callback.sid, 'WT' + '0'.repeat(31) + '9', r.callback.scheduledFor + 12_000);
  assert.equal(late.effects.length, 1);
  const eff = late.effects[0] as Extract<CallbackEffect, { kind: 'engine' }>;
  assert.equal(eff.purpose, 'cancel_task');
  assert.deepEqual([eff.command.type, (eff.command as { assignmentStatus?: string }).assignmentStatus], ['updateTask', 'canceled']);
});

test('AF: agent-answer acknowledges the newest pending reservation for the number', () => {
  const c = center({ strategy: 'agent_first', minimumCallbackDelaySeconds: 0 });
  const r = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0);
  const launch = c.advanceTo(r.callback.scheduledFor);
  assert.equal((launch.effects[0] as { purpose: string }).purpose, 'create_task');
  const task = 'WT' + '0'.repeat(31) + '1';
  const res = 'WR' + '0'.repeat(31) + '1';
  c.taskCreated(r.callback.sid, task, r.callback.scheduledFor);
  c.observe(ev('reservation.created', res, r.callback.scheduledFor + 1000, { task_sid: task, worker_sid: 'WK1' }));
  assert.equal(c.nextDeadline(), r.callback.scheduledFor + 21_000, 'acknowledgement deadline');
  const ack = c.agentAnswer('+1 415 555 0101', r.callback.scheduledFor + 5000);
  assert.equal(ack.callbackSid, r.callback.sid);
  const eff = ack.effects[0] as Extract<CallbackEffect, { kind: 'engine' }>;
  assert.equal(eff.purpose, 'accept_reservation');
  assert.deepEqual((eff.command as { reservationStatus: string }).reservationStatus, 'accepted');
  // the accepted event moves it on and dials
  const accepted = c.observe(ev('reservation.accepted', res, r.callback.scheduledFor + 5000, { task_sid: task, worker_sid: 'WK1', task_age: 5 }));
  assert.deepEqual(accepted.events.map((e) => e.eventType), ['callback.agent_reserved', 'callback.dialing_customer']);
  assert.equal(accepted.effects[0]?.kind, 'dial');
});

test('ECBT factor: a late first ring raises it (EWMA 0.05, clamped at 2); rings on time relax it; estimates scale with it', () => {
  const c = center({ minimumCallbackDelaySeconds: 0 });
  const blocked = { waiting: [], idleServers: 0, busyServers: 0, staffed: 0 };
  const open = { waiting: [], idleServers: 5, busyServers: 0, staffed: 5 };
  c.setQueueView('CT', blocked, T0);
  // nobody to take the call: customer-first pacing holds the dial for an hour
  const late = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0).callback;
  assert.equal(c.advanceTo(T0 + 3600_000).effects.length, 0);
  const dial = c.setQueueView('CT', open, T0 + 3600_000).effects.find((e) => e.kind === 'dial');
  assert.equal(dial?.callbackSid, late.sid);
  const f1 = Math.min(2, 0.95 + 0.05 * (3600 / (late.ecbtSeconds as number)));
  assert.ok(f1 > 1.5);
  assert.equal(c.statsOf('CT').factor, f1, 'EWMA of 3600 s ÷ quote');
  // a callback whose phone rings inside its range counts as ratio 1
  const onTime = c.register({ callTargetSid: 'CT', phoneNumber: '+14155550202' }, T0 + 3600_000).callback;
  c.advanceTo(onTime.scheduledFor);
  assert.equal(c.getCallback(onTime.sid)?.status, 'dialing');
  assert.equal(c.statsOf('CT').factor, 0.95 * f1 + 0.05);
  // later estimates are stretched by the factor: 35 s lead × factor on a free line
  assert.equal(Math.round(c.ecbt(onTime.sid) as number), Math.round(35 * (0.95 * f1 + 0.05)));
});

test('keeping the quote: a customer-first callback paced out by busy agents is dialed when its range is about to end, one per claimable busy slot', () => {
  const c = center({ minimumCallbackDelaySeconds: 0 });
  // Every member busy and staying on (available activity): pacing sees no agent free within the lead time.
  c.setQueueView('CT', { waiting: [], idleServers: 0, busyServers: 2, staffed: 2, busyAvailableServers: 2 }, T0);
  const numbers = ['+14155550101', '+14155550102', '+14155550103'];
  const cbs = numbers.map((n) => c.register({ callTargetSid: 'CT', phoneNumber: n }, T0).callback);
  const first = cbs[0];
  assert.ok(first !== undefined && first.ecbtSeconds !== null);
  const dueOf = (x: (typeof cbs)[number]): number => x.createdAt + ecbtRange(x.ecbtSeconds as number).highMinutes * 60_000;
  // Pacing holds every dial at its gate (a third into the range) and up to the range's end.
  const second = cbs[1] as (typeof cbs)[number];
  assert.ok(first.scheduledFor < second.scheduledFor && second.scheduledFor < dueOf(first));
  assert.equal(c.advanceTo(second.scheduledFor).effects.length, 0);
  assert.equal(c.getCallback(first.sid)?.status, 'registered');
  assert.equal(c.nextDeadline(), dueOf(first), 'the center wakes at the end of the range');
  // At the end of each range the callback is dialed while a busy slot is left to claim: two slots, so the first two.
  const dials: Array<{ sid: string; key: string; at: number }> = [];
  for (const x of cbs.slice(0, 2)) {
    for (const e of c.advanceTo(dueOf(x) - 1).effects) if (e.kind === 'dial') dials.push({ sid: e.callbackSid, key: e.key, at: dueOf(x) - 1 });
    for (const e of c.advanceTo(dueOf(x)).effects) if (e.kind === 'dial') dials.push({ sid: e.callbackSid, key: e.key, at: dueOf(x) });
  }
  assert.deepEqual(dials.map((d) => [d.sid, d.at]), cbs.slice(0, 2).map((x) => [x.sid, dueOf(x)]));
  for (const x of cbs.slice(0, 2)) assert.equal(CallbackCenter.punctuality(c.getCallback(x.sid) as typeof x)?.withinRange, true);
  // Both customers are ready: their return tasks wait for the two busy agents.
  const third = cbs[2] as (typeof cbs)[number];
  const at = dueOf(cbs[1] as (typeof cbs)[number]) + 30_000;
  const waiting = dials.map((d, i) => {
    const created = c.dialOutcome(d.key, 'ready', at).effects.find((e) => e.kind === 'engine' && e.purpose === 'create_task');
    assert.ok(created !== undefined);
    const taskSid = 'WT' + '0'.repeat(31) + String(i + 1);
    c.taskCreated(d.sid, taskSid, at);
    return { taskSid, priority: 5, virtualStartTime: T0 };
  });
  c.setQueueView('CT', { waiting, idleServers: 0, busyServers: 2, staffed: 2, busyAvailableServers: 2 }, at);
  assert.equal(c.advanceTo(dueOf(third)).effects.filter((e) => e.kind === 'dial').length, 0, 'both busy slots are claimed');
  assert.equal(c.getCallback(third.sid)?.status, 'registered');
  // A third agent busy (and staying) leaves a slot to claim: the last one is dialed at once, late.
  const more = c.setQueueView('CT', { waiting, idleServers: 0, busyServers: 3, staffed: 3, busyAvailableServers: 3 }, dueOf(third) + 1000);
  assert.deepEqual(more.effects.filter((e) => e.kind === 'dial').map((d) => d.callbackSid), [third.sid]);
});

test('keeping the quote: nobody is dialed for agents who are finishing their last calls, nor past the quote on a retry', () => {
  const c = center({ minimumCallbackDelaySeconds: 0 });
  // Both members are busy but already offline (end of shift): no slot will come back.
  c.setQueueView('CT', { waiting: [], idleServers: 0, busyServers: 2, staffed: 2, busyAvailableServers: 0 }, T0);
  const cb = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0).callback;
  const due = cb.createdAt + 4 * 60_000;
  assert.equal(c.advanceTo(due + 3600_000).effects.length, 0);
  assert.equal(c.getCallback(cb.sid)?.status, 'registered');
  // Agent-first callbacks are not paced by the center: their task is created at the gate.
  const af = center({ minimumCallbackDelaySeconds: 0, strategy: 'agent_first' });
  af.setQueueView('CT', { waiting: [], idleServers: 0, busyServers: 2, staffed: 2, busyAvailableServers: 2 }, T0);
  const a = af.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0).callback;
  const launched = af.advanceTo(a.scheduledFor);
  assert.deepEqual(launched.effects.map((e) => e.kind === 'engine' && e.purpose), ['create_task']);
});

test('retention: a terminal callback is pruned once it ended longer ago than terminalRetentionSeconds, on the center clock; changes report it', () => {
  const sids = new SequentialSids(4);
  const c = new CallbackCenter({ newSid: (p) => sids.next(p), now: T0, terminalRetentionSeconds: 600 });
  c.putCallTarget({ sid: 'CT', taskQueueSid: WQ, minimumCallbackDelaySeconds: 3000 });
  const a = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0).callback;
  const b = c.register({ callTargetSid: 'CT', phoneNumber: '+14155550102' }, T0 + 1000).callback;
  assert.deepEqual(c.takeChanges().changed.map((x) => x.sid), [a.sid, b.sid], 'new callbacks, in registration order');
  c.cancel(a.sid, 'api', T0 + 5000);
  assert.deepEqual(c.takeChanges(), { changed: [a], removed: [] });
  // A snapshot taken now and restored prunes at the same instant as the original.
  const restored = CallbackCenter.restore(JSON.parse(JSON.stringify(c.snapshot())), { newSid: (p) => sids.next(p), terminalRetentionSeconds: 600 });
  for (const center of [c, restored]) {
    center.advanceTo(T0 + 5000 + 599_000);
    assert.equal(center.getCallback(a.sid)?.status, 'canceled', 'kept within the retention');
    center.advanceTo(T0 + 5000 + 600_000);
    assert.equal(center.getCallback(a.sid), undefined, 'pruned at the retention');
    assert.equal(center.getCallback(b.sid)?.status, 'registered', 'a pending callback is never pruned');
    assert.deepEqual(center.listCallbacks().map((x) => x.sid), [b.sid]);
    assert.deepEqual(center.takeChanges().removed.map((x) => x.sid), [a.sid]);
    // The number may register again; the snapshot no longer holds the pruned callback.
    assert.equal(center.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0 + 700_000).callback.status, 'registered');
    assert.equal(center.snapshot().callbacks.some((x) => x.sid === a.sid), false);
  }
  assert.deepEqual(c.snapshot({ callbacks: false }).callbacks, []);
  assert.throws(() => new CallbackCenter({ newSid: (p) => sids.next(p), terminalRetentionSeconds: -1 }), /terminalRetentionSeconds/);
});

test('agent-first launch: the task is created at the start of the quoted range, not before — also after slow agents stretched the launch → ring time', () => {
  const c = center({ strategy: 'agent_first' });
  const launchOf = (sid: string): number => {
    const cb = c.getCallback(sid);
    return cb?.attempts[0]?.startedAt ?? Number.NaN;
  };
  const rangeStart = (cb: { createdAt: number; ecbtSeconds: number | null }): number => cb.createdAt + ecbtRange(cb.ecbtSeconds as number).lowMinutes * 60_000;
  // First callback: its agent accepts 200 s after the launch (a long launch → ring sample).
  const first = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0).callback;
  assert.equal(first.scheduledFor, rangeStart(first));
  assert.equal(c.advanceTo(first.scheduledFor - 1).effects.length, 0, 'nothing before the range starts');
  const created = c.advanceTo(first.scheduledFor).effects[0] as Extract<CallbackEffect, { kind: 'engine' }>;
  assert.equal(created.purpose, 'create_task');
  c.taskCreated(first.sid, 'WT1', first.scheduledFor);
  c.observe(ev('reservation.created', 'WR1', first.scheduledFor + 199_000, { task_sid: 'WT1', worker_sid: 'WK1' }));
  c.observe(ev('reservation.accepted', 'WR1', first.scheduledFor + 200_000, { task_sid: 'WT1', worker_sid: 'WK1', task_age: 200 }));
  assert.equal(c.ringSeconds(c.getCallTarget('CT')!), 200);
  // Second callback: still launched exactly at its range start (before, the gate subtracted the
  // 200 s median and launched it before the range, so an agent free at once rang the customer early).
  const t2 = T0 + 400_000;
  const second = c.register({ callTargetSid: 'CT', phoneNumber: '+14155550102' }, t2).callback;
  assert.equal(second.scheduledFor, rangeStart(second));
  c.advanceTo(second.scheduledFor - 1);
  assert.equal(c.getCallback(second.sid)?.status, 'registered');
  c.advanceTo(second.scheduledFor);
  assert.equal(launchOf(second.sid), rangeStart(second));
  // Customer-first keeps its own launch (35 % into the range, minus its launch → ring time).
  const cf = center({ strategy: 'customer_first' });
  const x = cf.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0).callback;
  const r = ecbtRange(x.ecbtSeconds as number);
  assert.equal(x.scheduledFor, T0 + (r.lowMinutes + 0.35 * (r.highMinutes - r.lowMinutes)) * 60_000);
});

test('a customer holding for an agent is hung up when the callback ends without them, not after they hung up', () => {
  const holding = () => {
    const c = center();
    const r = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0);
    const key = (c.advanceTo(r.callback.scheduledFor).effects[0] as { key: string }).key;
    const t1 = r.callback.scheduledFor + 15_000;
    c.dialOutcome(key, 'ready', t1);
    c.taskCreated(r.callback.sid, 'WT' + '0'.repeat(31) + '9', t1);
    assert.equal(c.getCallback(r.callback.sid)?.status, 'customer_waiting');
    return { c, sid: r.callback.sid, key, t1 };
  };
  const hangups = (effects: CallbackEffect[]) => effects.filter((e) => e.kind === 'hangup').map((e) => (e as { key: string }).key);

  const canceled = holding();
  const out = canceled.c.cancel(canceled.sid, 'admin', canceled.t1 + 1_000);
  assert.deepEqual(hangups(out.effects), [canceled.key], 'the holding customer is released');
  assert.ok(out.effects.some((e) => e.kind === 'engine' && e.purpose === 'cancel_task'), 'and the return task canceled');

  const gone = holding();
  const left = gone.c.customerHungUp(gone.sid, gone.t1 + 1_000);
  assert.deepEqual(hangups(left.effects), [], 'no hang-up for a customer who already left');
  assert.ok(['failed', 'retry_wait'].includes(gone.c.getCallback(gone.sid)?.status as string));
});

test('recordCallSid: the call id lands on the dialed attempt, survives snapshot/restore, reports the change once; old snapshots load with null', () => {
  const c = center();
  const r = c.register({ callTargetSid: 'CT', phoneNumber: N1 }, T0);
  const key = (c.advanceTo(r.callback.scheduledFor).effects[0] as { key: string }).key;
  c.takeChanges();
  const CA = 'CA' + '5'.repeat(32);
  assert.throws(() => c.recordCallSid(key, ''), /callSid must be a non-empty string/);
  assert.equal(c.recordCallSid('CBnope:1', CA), false, 'unknown key');
  assert.deepEqual(c.takeChanges().changed, [], 'a refused or unknown call id changes nothing');
  assert.equal(c.recordCallSid(key, CA), true);
  assert.deepEqual(c.takeChanges().changed.map((x) => x.attempts[0]?.callSid), [CA], 'the callback is reported changed (the store writes it)');
  assert.equal(c.recordCallSid(key, CA), false, 'the same id again');
  assert.deepEqual(c.takeChanges().changed, []);
  const restored = CallbackCenter.restore(JSON.parse(JSON.stringify(c.snapshot())), { newSid: (p) => p + '0'.repeat(32) });
  assert.equal(restored.getCallback(r.callback.sid)?.attempts[0]?.callSid, CA);
  // A snapshot written before attempts had `callSid`.
  const old = c.snapshot();
  for (const cb of old.callbacks) for (const a of cb.attempts) delete (a as Partial<typeof a>).callSid;
  const fromOld = CallbackCenter.restore(old, { newSid: (p) => p + '0'.repeat(32) });
  assert.equal(fromOld.getCallback(r.callback.sid)?.attempts[0]?.callSid, null);
  // The restored center still takes the outcome of that dial.
  assert.deepEqual(fromOld.dialOutcome(key, 'busy', r.callback.scheduledFor + 5_000).events.map((e) => e.eventType), ['callback.retry_wait']);
});
