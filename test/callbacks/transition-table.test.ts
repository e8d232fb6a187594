/**
 * The asserted transition table of the callback center (src/callbacks/transitions.ts):
 * (a) it is the table docs/callbacks.md "Statuses" gives, row by row;
 * (b) over many seeded random days — both strategies, loads from quiet to overloaded, agents who
 *     accept, reject or ignore, customers who answer, decline, hang up while waiting, voicemail
 *     policies, short expiries, hours of operation, cancels and reschedules, tasks canceled from
 *     outside, restarts from a snapshot — every status a callback goes through is a change the
 *     table allows, starting from an initial status;
 * (c) a change outside the table throws AssertionError and changes nothing. (The center itself throws AssertionError on
 *     any other change, which would fail the day.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CALLBACK_STATUSES, isTerminalStatus, type CallbackStatus, type CallbackEvent } from '../../src/callbacks/center.ts';
import { ALLOWED_TRANSITIONS, finish, INITIAL_STATUSES, transition } from '../../src/callbacks/transitions.ts';
import { newCenterState } from '../../src/callbacks/center-model.ts';
import { AssertionError } from '../../src/util/assert.ts';
import { CallbackDriver, type AgentPolicy } from '../../src/sim/callback-driver.ts';
import { CallbackError } from '../../src/callbacks/errors.ts';
import type { CallTargetInput } from '../../src/callbacks/call-target.ts';
import { Random } from '../../src/util/random.ts';
import { world, T0 } from './helpers.ts';

const DOCS = new URL('../../docs/callbacks.md', import.meta.url);

/** The "Statuses" table of docs/callbacks.md: each status of the first column → the statuses named (in backticks) in "leaves to". */
function documentedTable(): Map<CallbackStatus, Set<CallbackStatus>> {
  const text = readFileSync(DOCS, 'utf8');
  const section = text.slice(text.indexOf('### Statuses'));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  assert.ok(rows.length > 0, 'docs/callbacks.md has a Statuses table');
  const named = (cell: string): CallbackStatus[] =>
    [...cell.matchAll(/`([a-z_]+)(?:\([^`]*\))?`/g)].map((m) => m[1] as string).filter((s): s is CallbackStatus => (CALLBACK_STATUSES as readonly string[]).includes(s));
  const out = new Map<CallbackStatus, Set<CallbackStatus>>();
  for (const row of rows) {
    const cells = row.split('|').map((c) => c.trim());
    const [from, , to] = [cells[1] as string, cells[2] as string, cells[3] as string];
    for (const s of named(from)) {
      assert.ok(!out.has(s), `status ${s} has two rows in docs/callbacks.md`);
      out.set(s, new Set(named(to)));
    }
  }
  return out;
}

test('ALLOWED_TRANSITIONS is the Statuses table of docs/callbacks.md', () => {
  const docs = documentedTable();
  assert.deepEqual([...docs.keys()].sort(), [...CALLBACK_STATUSES].sort(), 'every status has exactly one row');
  for (const s of CALLBACK_STATUSES) {
    assert.deepEqual([...(docs.get(s) ?? [])].sort(), [...ALLOWED_TRANSITIONS[s]].sort(), `the statuses ${s} leaves to`);
  }
  // Terminal statuses lead nowhere; every other status leads somewhere and never to itself.
  for (const s of CALLBACK_STATUSES) {
    if (isTerminalStatus(s)) assert.equal(ALLOWED_TRANSITIONS[s].length, 0, s);
    else assert.ok(ALLOWED_TRANSITIONS[s].length > 0 && !ALLOWED_TRANSITIONS[s].includes(s), s);
  }
  // Every status is reachable from an initial one through the table.
  const reached = new Set<CallbackStatus>(INITIAL_STATUSES);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of [...reached]) for (const n of ALLOWED_TRANSITIONS[s]) {
      if (reached.has(n)) continue;
      reached.add(n);
      grew = true;
    }
  }
  assert.deepEqual([...reached].sort(), [...CALLBACK_STATUSES].sort());
});

test('a status change outside the table throws AssertionError and changes nothing', () => {
  const s = newCenterState({ newSid: (p) => `${p}1`, now: T0 });
  const w = world();
  const c = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550101' });
  const before = structuredClone(c);
  assert.throws(() => transition(s, c, 'agent_connected', null, {}), (e: unknown) => e instanceof AssertionError && /registered → agent_connected/.test(e.message));
  assert.throws(() => finish(s, c, 'completed', null), AssertionError);
  assert.deepEqual(c, before);
  assert.equal(s.events.length + s.effects.length, 0);
  // …and an allowed one goes through.
  transition(s, c, 'canceled', 'test', {});
  assert.equal(c.status, 'canceled');
  assert.deepEqual(s.events.map((e) => e.eventType), ['callback.canceled']);
});

/** Status history of each callback from its `callback.<status>` events (not the notices). */
function histories(events: CallbackEvent[]): Map<string, CallbackStatus[]> {
  const out = new Map<string, CallbackStatus[]>();
  for (const e of events) {
    const status = e.eventType.slice('callback.'.length);
    if (e.data['status'] !== status) continue;
    const h = out.get(e.resourceSid) ?? [];
    h.push(status as CallbackStatus);
    out.set(e.resourceSid, h);
  }
  return out;
}

/**
 * One seeded random day (about three busy hours, then everything left to settle). Returns every
 * callback event in order (across a restart from a snapshot half-way).
 */
function randomDay(seed: number): CallbackEvent[] {
  const r = new Random(seed);
  const strategy = r.chance(0.5) ? 'customer_first' : 'agent_first';
  const workers = r.int(2, 8);
  const load = 0.6 + r.next() * 0.8;
  const agents: AgentPolicy = {
    onReservation: () => {
      const x = r.next();
      if (x < 0.8) return { action: 'accept', afterSeconds: 1 + r.int(0, 30) };
      if (x < 0.9) return { action: 'reject', afterSeconds: 1 + r.int(0, 10) };
      return { action: 'ignore', afterSeconds: 0 };
    },
    handleSeconds: () => Math.max(1, Math.round(r.exponential(180))),
  };
  const voicemail = (['retry', 'complete', 'leave_message_then_complete'] as const)[r.int(0, 2)];
  const target: Partial<CallTargetInput> = {
    strategy,
    voicemailPolicy: voicemail,
    asapExpiryHours: r.chance(0.3) ? 1 : 24,
    retry: { onReturnAbandon: r.chance(0.5) },
    maxRequestedCallbacks: 1000,
    ...(r.chance(0.3)
      ? // Monday (T0 is Monday 12:00 UTC): open until a random minute of the afternoon, then closed.
        { hoursOfOperation: [{ day: 1, openMinute: 6 * 60, closeMinute: 12 * 60 + r.int(60, 180) }, { day: 2, openMinute: 6 * 60, closeMinute: 20 * 60 }], onClose: r.chance(0.5) ? 'expire' : 'hold_until_open' }
      : {}),
  };
  const network = { seed: seed + 1000, answerRate: 0.5 + r.next() * 0.3, voicemailRate: 0.05 + r.next() * 0.1, busyRate: r.next() * 0.05, readyRate: 0.7 + r.next() * 0.3 };
  const w = world({ workers, agents, target, network });
  let driver = w.driver;
  const events: CallbackEvent[] = [];
  const mayFail = (op: () => void): void => {
    try {
      op();
    } catch (e) {
      // Refusals of the API (a terminal or bridged callback, a bad slot) are fine; bugs are not.
      if (!(e instanceof CallbackError)) throw e;
    }
  };
  const someCallback = (statuses: readonly CallbackStatus[]) => {
    const xs = driver.center.listCallbacks().filter((c) => statuses.includes(c.status));
    return xs.length === 0 ? undefined : xs[r.int(0, xs.length - 1)];
  };
  let t = T0;
  const end = T0 + 3 * 3600_000;
  let restarted = false;
  while (t < end) {
    t += Math.max(1, Math.round(r.exponential(180 / (workers * load)) * 1000));
    driver.runUntil(t);
    if (!restarted && t > T0 + 90 * 60_000) {
      // A restart: the whole world from its snapshot, through JSON, into fresh objects.
      restarted = true;
      events.push(...driver.callbackEvents);
      const snap = JSON.parse(JSON.stringify(driver.snapshot())) as ReturnType<CallbackDriver['snapshot']>;
      driver = CallbackDriver.restore(snap, { engineSid: w.engineSids.next, center: { newSid: w.centerSid }, agents });
    }
    const x = r.next();
    const phone = `+1415${r.int(1_000_000, 9_999_999)}`;
    if (x < 0.25) {
      // Some customers follow a script: they decline, or the number does not exist.
      if (r.chance(0.1)) driver.network.script(phone, [r.chance(0.5) ? 'declined' : 'invalid_number']);
      mayFail(() => driver.register({ callTargetSid: w.targetSid, phoneNumber: phone }));
    } else if (x < 0.3) {
      // A slot 15–90 minutes ahead.
      const slot = (Math.floor(driver.now / 900_000) + r.int(1, 6)) * 900_000;
      mayFail(() => driver.register({ callTargetSid: w.targetSid, phoneNumber: phone, appointmentTime: slot }));
    } else if (x < 0.32) {
      const c = someCallback(['scheduled', 'registered', 'dialing', 'customer_waiting', 'dialing_customer', 'retry_wait']);
      if (c !== undefined) mayFail(() => driver.act((center, now) => center.cancel(c.sid, 'customer_ivr', now)));
    } else if (x < 0.34) {
      const c = someCallback(['scheduled', 'registered', 'retry_wait']);
      const slot = (Math.floor(driver.now / 900_000) + r.int(1, 8)) * 900_000;
      if (c !== undefined) mayFail(() => driver.act((center, now) => center.reschedule(c.sid, slot, now)));
    } else if (x < 0.37) {
      const c = someCallback(['customer_waiting']);
      if (c !== undefined) driver.act((center, now) => center.customerHungUp(c.sid, now));
    } else if (x < 0.39) {
      const c = someCallback(['dialing']);
      if (c !== undefined) driver.act((center, now) => center.agentAnswer(c.phoneNumber, now));
    } else if (x < 0.4) {
      // A callback's task canceled from outside the center (an admin, a TTL).
      const c = someCallback(['dialing', 'customer_waiting']);
      const task = c?.taskSid === null || c === undefined ? undefined : driver.engine.tasks.get(c.taskSid);
      if (task !== undefined && (task.assignmentStatus === 'pending' || task.assignmentStatus === 'reserved')) {
        driver.execute({ type: 'updateTask', at: driver.now, taskSid: task.sid, assignmentStatus: 'canceled', reason: 'admin' });
      }
    } else if (x < 0.405) {
      // An admin deletes a callback's task, whatever its state (also while an agent holds it).
      const c = someCallback(['dialing', 'customer_waiting', 'dialing_customer', 'agent_connected']);
      if (c?.taskSid !== null && c !== undefined && driver.engine.tasks.has(c.taskSid)) driver.execute({ type: 'deleteTask', at: driver.now, taskSid: c.taskSid });
    } else if (x < 0.41) {
      // Processing paused for a while, then back on (putCallTarget, then advance: docs/callbacks.md step 5).
      const on = driver.center.getCallTarget(w.targetSid)?.processCallbacks === false;
      driver.center.putCallTarget({ sid: w.targetSid, taskQueueSid: w.queueSid, processCallbacks: on });
      driver.act((center, now) => center.advanceTo(now));
    } else {
      driver.execute({ type: 'createTask', at: driver.now, taskQueueSid: w.queueSid, taskChannel: 'voice', attributes: '{}' });
    }
  }
  driver.center.putCallTarget({ sid: w.targetSid, taskQueueSid: w.queueSid, processCallbacks: true });
  driver.runUntil(end + 2 * 86_400_000);
  events.push(...driver.callbackEvents);
  for (const c of driver.center.listCallbacks()) assert.ok(isTerminalStatus(c.status) || c.type === 'scheduled', `seed ${seed}: ${c.sid} left ${c.status}`);
  return events;
}

test('seeded random days: every status change a callback makes is in ALLOWED_TRANSITIONS', (t) => {
  const observed = new Map<string, number>();
  let callbacks = 0;
  for (let seed = 1; seed <= 60; seed++) {
    for (const [sid, h] of histories(randomDay(seed))) {
      callbacks += 1;
      assert.ok(INITIAL_STATUSES.includes(h[0] as CallbackStatus), `seed ${seed}: ${sid} began ${h[0]}`);
      for (let i = 1; i < h.length; i++) {
        const from = h[i - 1] as CallbackStatus;
        const to = h[i] as CallbackStatus;
        assert.ok(ALLOWED_TRANSITIONS[from].includes(to), `seed ${seed}: ${sid} went ${from} → ${to} (${h.join(' → ')})`);
        observed.set(`${from} → ${to}`, (observed.get(`${from} → ${to}`) ?? 0) + 1);
      }
    }
  }
  assert.ok(callbacks > 3000, `${callbacks} callbacks`);
  // The days reach every status and most of the table (the rest needs a driver that reports a
  // task after its attempt ended, or an assigned task deleted: see transitions.ts).
  const from = new Set([...observed.keys()].map((k) => k.split(' → ')[0]));
  const to = new Set([...observed.keys()].map((k) => k.split(' → ')[1]));
  for (const s of CALLBACK_STATUSES) assert.ok(from.has(s) || to.has(s), `status ${s} never reached`);
  const edges = CALLBACK_STATUSES.reduce((n, s) => n + ALLOWED_TRANSITIONS[s].length, 0);
  t.diagnostic(`${callbacks} callbacks; ${observed.size} of ${edges} allowed changes observed: ${[...observed.entries()].sort().map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  assert.ok(observed.size >= 32, `${observed.size} of ${edges} allowed changes observed: ${[...observed.keys()].sort().join(', ')}`);
});
