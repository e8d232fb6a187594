/**
 * The instructions' worker legs as a pure state machine (src/callflows/bridges.ts): each rule of
 * the module comment, then seeded random sequences of network and engine reports checked against
 * the invariants — one leg per bridge, an accept only on a bridge while the reservation is
 * pending, a timeout only before a bridge, the task wrapped at most once, nothing after the end.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { bridged, callerGone, customerLegStatus, handoverRequests, reservationEnded, startBridge, transferRefusal, workerLegStatus, type Bridge, type BridgeAction, type BridgeStart } from '../../src/callflows/bridges.ts';
import type { CallStatus, VoiceInstruction } from '../../src/callflows/voice-port.ts';

const WR = 'WR' + '1'.repeat(32);
const CALLER = 'CA' + 'c'.repeat(32);
const LEG = 'CA' + 'd'.repeat(32);
const WRAP_UP = 'WA' + '9'.repeat(32);

function start(instruction: VoiceInstruction, acceptedAtOnce = false, parameters: Record<string, string> = {}, extra: Partial<BridgeStart> = {}): { b: Bridge; actions: BridgeAction[] } {
  const { bridge, actions } = startBridge({
    instruction,
    accountSid: 'AC' + '0'.repeat(32),
    workspaceSid: 'WS' + '0'.repeat(32),
    reservationSid: WR,
    taskSid: 'WT' + '2'.repeat(32),
    workerSid: 'WK' + '3'.repeat(32),
    callerCallSid: CALLER,
    parameters: { to: '+15550001', from: '+15550002', timeout: '30', post_work_activity_sid: WRAP_UP, ...parameters },
    acceptedAtOnce,
    at: 1_000,
    ...extra,
  });
  return { b: bridge, actions };
}

const kinds = (a: BridgeAction[]): string[] => a.map((x) => x.kind);

test('dequeue: one connect, accepted on the bridge with worker_call_sid, post-work activity and wrapping when the leg ends', () => {
  const { b, actions } = start('dequeue');
  assert.deepEqual(kinds(actions), ['connect']);
  const connect = actions[0] as Extract<BridgeAction, { kind: 'connect' }>;
  assert.equal(connect.request.key, `${WR}:dequeue`);
  assert.equal(connect.request.timeoutSeconds, 30);
  assert.equal(connect.request.callerCallSid, CALLER);
  assert.deepEqual(workerLegStatus(b, LEG, 'ringing', 2_000, true), []);
  assert.deepEqual(workerLegStatus(b, LEG, 'in-progress', 3_000, true), [], 'answered is not yet bridged');
  const onBridge = bridged(b, LEG, 3_500, true);
  assert.deepEqual(kinds(onBridge), ['accept', 'task_attributes', 'caller_bridged']);
  assert.deepEqual((onBridge[1] as Extract<BridgeAction, { kind: 'task_attributes' }>).merge, { worker_call_sid: LEG });
  assert.deepEqual(bridged(b, LEG, 3_600, false), [], 'a repeated bridge report changes nothing');
  const end = workerLegStatus(b, LEG, 'completed', 60_000, false);
  assert.deepEqual(end, [{ kind: 'worker_activity', workerSid: b.workerSid, activitySid: WRAP_UP }, { kind: 'wrap_task', taskSid: b.taskSid }]);
  assert.equal(b.phase, 'ended');
  assert.deepEqual(callerGone(b), []);
});

test('a leg not answered, busy or failed before the bridge times a pending reservation out', () => {
  for (const status of ['no-answer', 'busy', 'failed', 'canceled'] as CallStatus[]) {
    const { b } = start('dequeue');
    assert.deepEqual(workerLegStatus(b, LEG, status, 5_000, true), [{ kind: 'timeout', reservationSid: WR }], status);
    const { b: gone } = start('dequeue');
    assert.deepEqual(workerLegStatus(gone, LEG, status, 5_000, false), [], `${status} after the reservation ended`);
  }
});

test('the caller hangs up while the worker rings, or the reservation ends: the leg is hung up', () => {
  const { b } = start('dequeue');
  workerLegStatus(b, LEG, 'ringing', 2_000, true);
  assert.deepEqual(callerGone(b), [{ kind: 'hangup', request: { key: `${WR}:dequeue`, callSid: LEG } }], 'the leg named: a restarted port can still end it');
  const { b: b2 } = start('conference');
  assert.deepEqual(reservationEnded(b2), [{ kind: 'hangup', request: { key: `${WR}:conference` } }]);
  // A bridge reported after the reservation ended is undone.
  const { b: b3 } = start('dequeue');
  assert.deepEqual(bridged(b3, LEG, 3_000, false), [{ kind: 'hangup', request: { key: `${WR}:dequeue`, callSid: LEG } }]);
});

test('the caller hangs up after the bridge: the task wraps once; the worker leg ending then moves the worker only', () => {
  const { b } = start('dequeue');
  bridged(b, LEG, 3_000, true);
  assert.deepEqual(callerGone(b), [{ kind: 'wrap_task', taskSid: b.taskSid }]);
  assert.deepEqual(kinds(workerLegStatus(b, LEG, 'completed', 9_000, false)), ['worker_activity']);
});

test('conference writes the conference attribute; call and redirect accept at once with accept=true', () => {
  const { b } = start('conference');
  const on = bridged(b, LEG, 3_000, true);
  const attrs = on.find((a) => a.kind === 'task_attributes') as Extract<BridgeAction, { kind: 'task_attributes' }>;
  assert.deepEqual(attrs.merge['conference'], { sid: b.taskSid, participants: { worker: LEG, customer: CALLER } });
  const call = start('call', true, { url: 'https://app.example.com/twiml' });
  assert.deepEqual(kinds(call.actions), ['connect', 'accept']);
  assert.equal((call.actions[0] as Extract<BridgeAction, { kind: 'connect' }>).request.url, 'https://app.example.com/twiml');
  // A call leg answered is as far as it goes: worker_call_sid, no second accept, no caller bridge.
  assert.deepEqual(kinds(workerLegStatus(call.b, LEG, 'in-progress', 2_000, false)), ['task_attributes']);
  const redirect = start('redirect', true, { call_sid: CALLER, url: 'https://app.example.com/r' });
  assert.deepEqual(kinds(redirect.actions), ['connect', 'accept']);
  assert.equal(redirect.b.callerCallSid, CALLER);
});

test('the caller leaving a conference ends the worker leg too (once), and the task wraps', () => {
  const { b } = start('conference');
  bridged(b, LEG, 3_000, true);
  assert.deepEqual(callerGone(b), [{ kind: 'hangup', request: { key: `${WR}:conference`, callSid: LEG } }, { kind: 'wrap_task', taskSid: b.taskSid }]);
  assert.deepEqual(callerGone(b), [], 'once');
});

test('a transfer joins the live conference: the connect names it (placement join), the bridge writes it as the conference, the caller is not handed over again', () => {
  const T = 'WT' + 'a'.repeat(32);
  const { b, actions } = start('dequeue', false, {}, { taskSid: 'WT' + 'b'.repeat(32), join: T });
  const connect = actions[0] as Extract<BridgeAction, { kind: 'connect' }>;
  assert.deepEqual([connect.request.conferenceName, connect.request.placement, connect.request.callerCallSid], [T, 'join', CALLER]);
  const on = bridged(b, LEG, 3_000, true);
  assert.deepEqual(kinds(on), ['accept', 'task_attributes']);
  assert.deepEqual((on[1] as Extract<BridgeAction, { kind: 'task_attributes' }>).merge['conference'], { sid: T, participants: { worker: LEG, customer: CALLER } });
  assert.equal(transferRefusal(b.taskSid, [b]), null, 'a conference leg can be transferred again');
});

test('handover: a COLD transfer removes the initiating leg; a leg that would end the conference on leaving is told not to', () => {
  const T = 'WT' + 'a'.repeat(32);
  const first = start('conference', false, { end_conference_on_exit: 'true' }, { taskSid: T, reservationSid: 'WR' + 'a'.repeat(32) }).b;
  bridged(first, 'CA' + 'e'.repeat(32), 2_000, true);
  const { b: joined } = start('conference', false, {}, { taskSid: 'WT' + 'b'.repeat(32), join: T });
  assert.deepEqual(handoverRequests(joined, [first, joined], null), [], 'not in yet');
  bridged(joined, LEG, 3_000, true);
  const base = { key: first.key, conferenceName: T, callSid: 'CA' + 'e'.repeat(32), role: 'worker' };
  assert.deepEqual(handoverRequests(joined, [first, joined], null), [{ ...base, action: 'update', endConferenceOnExit: false }]);
  assert.deepEqual(handoverRequests(joined, [first, joined], first.reservationSid), [{ ...base, action: 'update', endConferenceOnExit: false }, { ...base, action: 'remove' }]);
});

test('a call bridged directly cannot be transferred; the message names reservation.conference()', () => {
  const { b } = start('dequeue');
  assert.equal(transferRefusal(b.taskSid, [b]), null, 'not bridged yet');
  bridged(b, LEG, 3_000, true);
  assert.match(transferRefusal(b.taskSid, [b]) ?? '', /dequeue instruction.*no conference to move the caller through.*reservation\.conference\(\)/);
});

test('outbound: the worker first; once in, the customer is dialed into the conference; their answer is the call; their not answering or hanging up ends the call', () => {
  const outbound = { to: '+15557654321', from: '+18005550100' };
  const { b, actions } = start('conference', false, {}, { callerCallSid: null, outbound });
  const connect = actions[0] as Extract<BridgeAction, { kind: 'connect' }>;
  assert.deepEqual([connect.request.placement, connect.request.conferenceName, connect.request.callerCallSid], ['outbound', b.taskSid, null]);
  const on = bridged(b, LEG, 3_000, true);
  assert.deepEqual(kinds(on), ['accept', 'task_attributes', 'connect']);
  const dial = (on[2] as Extract<BridgeAction, { kind: 'connect' }>).request;
  assert.deepEqual([dial.key, dial.placement, dial.to, dial.from, dial.conferenceName, dial.timeoutSeconds], [`${WR}:customer`, 'customer', outbound.to, outbound.from, b.taskSid, 30]);
  const CUSTOMER = 'CA' + 'f'.repeat(32);
  assert.deepEqual(customerLegStatus(b, CUSTOMER, 'ringing'), []);
  assert.deepEqual(customerLegStatus(b, CUSTOMER, 'in-progress'), [
    { kind: 'task_attributes', taskSid: b.taskSid, merge: { call_sid: CUSTOMER, conference: { sid: b.taskSid, participants: { worker: LEG, customer: CUSTOMER } } } },
  ]);
  assert.equal(b.callerCallSid, CUSTOMER);
  assert.deepEqual(customerLegStatus(b, CUSTOMER, 'completed'), [{ kind: 'hangup', request: { key: `${WR}:conference`, callSid: LEG } }, { kind: 'wrap_task', taskSid: b.taskSid }]);
  assert.deepEqual(customerLegStatus(b, CUSTOMER, 'completed'), [], 'once');

  // Busy: the worker's leg is hung up and the task wraps; the worker's own end then moves the worker only.
  const busy = start('conference', false, {}, { callerCallSid: null, outbound }).b;
  bridged(busy, LEG, 3_000, true);
  assert.deepEqual(kinds(customerLegStatus(busy, '', 'busy')), ['hangup', 'wrap_task']);
  assert.deepEqual(kinds(workerLegStatus(busy, LEG, 'completed', 4_500, false)), ['worker_activity']);
  // The worker hangs up first: the customer is hung up.
  const first = start('conference', false, {}, { callerCallSid: null, outbound }).b;
  bridged(first, LEG, 3_000, true);
  customerLegStatus(first, CUSTOMER, 'in-progress');
  assert.deepEqual(workerLegStatus(first, LEG, 'completed', 6_000, false).filter((a) => a.kind === 'hangup'), [{ kind: 'hangup', request: { key: `${WR}:customer`, callSid: CUSTOMER } }]);
});

test('an outbound call cannot be transferred until its customer answered (waiting, dialing); once answered it can', () => {
  const { b } = start('conference', false, {}, { callerCallSid: null, outbound: { to: '+15557654321', from: '+18005550100' } });
  assert.match(transferRefusal(b.taskSid, [b]) ?? '', /cannot be transferred yet.*\+15557654321.*not been answered/, 'waiting for the worker');
  bridged(b, LEG, 3_000, true);
  assert.equal(b.customer?.phase, 'dialing');
  assert.match(transferRefusal(b.taskSid, [b]) ?? '', /not been answered/, 'dialing the customer');
  customerLegStatus(b, 'CA' + 'f'.repeat(32), 'in-progress');
  assert.equal(transferRefusal(b.taskSid, [b]), null);
});

test('an outbound call handed on: once a transfer target joined, its first worker leaving does not hang the customer up', () => {
  const { b } = start('conference', false, {}, { callerCallSid: null, outbound: { to: '+15557654321', from: '+18005550100' } });
  bridged(b, LEG, 3_000, true);
  const CUSTOMER = 'CA' + 'f'.repeat(32);
  customerLegStatus(b, CUSTOMER, 'in-progress');
  const { b: joined } = start('conference', false, {}, { reservationSid: 'WR' + 'b'.repeat(32), taskSid: 'WT' + 'b'.repeat(32), callerCallSid: CUSTOMER, join: b.taskSid });
  bridged(joined, 'CA' + '7'.repeat(32), 6_000, true);
  assert.deepEqual(handoverRequests(joined, [b, joined], b.reservationSid).map((r) => [r.action, r.callSid]), [['remove', LEG]]);
  assert.equal(b.customer?.phase, 'shared');
  assert.deepEqual(kinds(workerLegStatus(b, LEG, 'completed', 7_000, false)), ['worker_activity', 'wrap_task'], 'no hang-up of the customer');
});

test('seeded random report sequences keep the invariants', () => {
  type Step = { kind: 'leg'; status: CallStatus } | { kind: 'bridged' } | { kind: 'caller_gone' } | { kind: 'reservation_ended' };
  const step = fc.oneof(
    fc.constantFrom<CallStatus>('initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled').map((status) => ({ kind: 'leg', status }) as Step),
    fc.constant({ kind: 'bridged' } as Step),
    fc.constant({ kind: 'caller_gone' } as Step),
    fc.constant({ kind: 'reservation_ended' } as Step),
  );
  fc.assert(
    fc.property(fc.constantFrom<VoiceInstruction>('dequeue', 'conference'), fc.array(step, { maxLength: 12 }), (instruction, steps) => {
      const { b, actions } = start(instruction);
      const all = [...actions];
      let pending = true;
      let accepted = false;
      let wasBridged = false;
      let wraps = 0;
      let endedAt = -1;
      steps.forEach((s, i) => {
        const out =
          s.kind === 'leg' ? workerLegStatus(b, LEG, s.status, i, pending) : s.kind === 'bridged' ? bridged(b, LEG, i, pending) : s.kind === 'caller_gone' ? callerGone(b) : reservationEnded(b);
        if (endedAt >= 0) assert.deepEqual(out, [], 'nothing after the end');
        for (const a of out) {
          if (a.kind === 'accept') {
            assert.ok(pending && !accepted, 'accepted once, while pending');
            accepted = true;
            pending = false;
            wasBridged = true;
          }
          if (a.kind === 'timeout') {
            assert.ok(pending && !wasBridged, 'a timeout only before the bridge, while pending');
            pending = false;
          }
          if (a.kind === 'wrap_task') wraps += 1;
        }
        if (s.kind === 'reservation_ended' || s.kind === 'caller_gone') if (!accepted) pending = false;
        if (b.phase === 'ended' && endedAt < 0) endedAt = i;
        all.push(...out);
      });
      assert.equal(all.filter((a) => a.kind === 'connect').length, 1, 'one leg per bridge');
      assert.ok(wraps <= 1, 'wrapped at most once');
    }),
    { seed: 20261207, numRuns: 2_000 },
  );
});
