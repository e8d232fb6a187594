/**
 * Every status of spec callbacks-and-ewt §1.3 is reached, every transition observed is one the
 * table allows, and each transition emits exactly one `callback.<status>` event.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALLBACK_EVENT_TYPES, type CallbackStatus } from '../../src/callbacks/center.ts';
import { at, history, world } from './helpers.ts';

/** §1.3's table (→ next), plus the voicemail-policy completion from a dialing state (§1.4 `voicemailPolicy`). */
const ALLOWED: Record<CallbackStatus, CallbackStatus[]> = {
  scheduled: ['registered', 'canceled', 'expired', 'rescheduled'],
  registered: ['dialing', 'canceled', 'expired', 'rescheduled'],
  dialing: ['customer_answered', 'agent_reserved', 'retry_wait', 'failed', 'canceled', 'expired', 'completed'],
  agent_reserved: ['dialing_customer'],
  customer_answered: ['customer_waiting', 'retry_wait', 'rescheduled', 'canceled', 'failed'],
  customer_waiting: ['agent_connected', 'failed', 'canceled', 'retry_wait'],
  dialing_customer: ['agent_connected', 'retry_wait', 'failed', 'completed', 'canceled'],
  agent_connected: ['completed'],
  retry_wait: ['dialing', 'canceled', 'expired', 'rescheduled'],
  rescheduled: ['scheduled'],
  completed: [],
  failed: [],
  expired: [],
  canceled: [],
};

test('every §1.3 status is reached through allowed transitions only', () => {
  const seen = new Set<string>();
  const pairs = new Set<string>();
  const record = (h: string[]) => {
    h.forEach((s, i) => {
      seen.add(s);
      if (i > 0) pairs.add(`${h[i - 1]}→${s}`);
      // a status event is emitted once per transition: never twice in a row for the same status
      if (i > 0) assert.notEqual(s, h[i - 1], `status ${s} emitted twice in a row in ${h.join(' → ')}`);
    });
  };
  // CF: not ready, then ready; three no-answers
  {
    const w = world();
    w.network.script('+14155550101', ['not_ready', 'ready']);
    w.network.script('+14155550102', ['no_answer', 'no_answer', 'no_answer']);
    const a = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550101' });
    const b = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550102' });
    w.driver.runFor(4 * 3600);
    record(history(w.driver, a.sid));
    record(history(w.driver, b.sid));
  }
  // AF: happy path
  {
    const w = world({ target: { strategy: 'agent_first' } });
    w.network.script('+14155550101', ['ready']);
    const a = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550101' });
    w.driver.runFor(3600);
    record(history(w.driver, a.sid));
  }
  // scheduled, rescheduled, canceled; expired
  {
    const w = world({ target: { asapExpiryHours: 1 } });
    const s = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550103', appointmentTime: at(3600) });
    w.driver.act((c, now) => c.reschedule(s.sid, at(7200), now));
    w.driver.act((c, now) => c.cancel(s.sid, 'customer_ivr', now));
    record(history(w.driver, s.sid));
    w.driver.execute({ type: 'updateWorker', at: w.driver.now, workerSid: w.workers[0] as string, activitySid: w.offline });
    const e = w.driver.register({ callTargetSid: w.targetSid, phoneNumber: '+14155550104' });
    w.driver.runFor(2 * 3600);
    record(history(w.driver, e.sid));
    // one event per transition: every recorded callback event is a status change or a listed notice
    for (const ev of w.driver.callbackEvents) assert.match(ev.eventType, /^callback\.[a-z_.]+$/);
    for (const ev of w.driver.callbackEvents) assert.ok(CALLBACK_EVENT_TYPES.includes(ev.eventType), `${ev.eventType} is not a listed callback event type`);
  }
  assert.deepEqual([...seen].sort(), Object.keys(ALLOWED).sort());
  for (const p of pairs) {
    const [from, to] = p.split('→') as [CallbackStatus, CallbackStatus];
    assert.ok(ALLOWED[from].includes(to), `transition ${p} is not in the §1.3 table`);
  }
});
