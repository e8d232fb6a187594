// The call-flow interpreter (src/callflows) with real parts behind it (test/callflows/host.ts: a
// WorkspaceEngine and a CallbackCenter answering its effects): the seed flow of spec
// voice-worker-sdk-console.md A1 end to end at the core level, callback offers before and while
// holding, snapshot/restore mid-flow, and seeded random callers in virtual time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CallFlowInterpreter, seedFlow, type CallFlow, type FlowEffect, type FlowInput, type Verb } from '../../src/callflows/index.ts';
import { Random } from '../../src/util/random.ts';
import { callParams, Host, T0, TARGET } from './host.ts';

const s = (seconds: number): number => T0 + seconds * 1000;
const FLOW = 'FW-seed';

function start(h: Host, callSid: string, from: string, at: number, flowSid = FLOW): FlowEffect[] {
  return h.send({ type: 'call_started', at, callSid, flowSid, from, to: '+18005550100', parameters: callParams(callSid, from) });
}

const verbsOf = (effects: FlowEffect[]): Verb[][] => effects.flatMap((e) => (e.kind === 'respond' ? [e.verbs] : []));

test('seed flow: welcome, 1 for Hindi, a task with selected_language and the call parameters, hold announcements at their period, hang-up cancels the task', () => {
  const h = new Host();
  h.core.putFlow(FLOW, seedFlow(h.workflowSid));

  // 1. The call comes in: the welcome, then the menu inside a gather (A1 step 1).
  const first = start(h, 'CA1', '+919800000001', s(0));
  assert.deepEqual(verbsOf(first), [
    [
      { verb: 'say', text: 'Thank you for calling. Your call is important to us.', language: 'en-US' },
      {
        verb: 'gather',
        step: 'language',
        input: 'dtmf',
        timeoutSeconds: 5,
        numDigits: 1,
        prompt: [
          { verb: 'say', text: 'Hindi ke liye ek dabaiye.', language: 'hi-IN' },
          { verb: 'say', text: 'For English, press two, or stay on the line.', language: 'en-US' },
        ],
      },
    ],
  ]);

  // 2. The caller presses 1: a task in the workflow, then the caller is enqueued with hold music (A1 steps 2–3).
  const second = h.send({ type: 'gathered', at: s(6), callSid: 'CA1', digits: '1' });
  const create = second.find((e) => e.kind === 'create_task');
  assert.ok(create !== undefined && create.kind === 'create_task');
  assert.equal(create.command.workflowSid, h.workflowSid);
  assert.equal(create.command.taskChannel, 'voice');
  const attributes = JSON.parse(create.command.attributes as string) as Record<string, unknown>;
  assert.deepEqual(attributes, {
    call_sid: 'CA1',
    account_sid: 'AC' + '0'.repeat(32),
    from: '+919800000001',
    to: '+18005550100',
    call_status: 'ringing',
    direction: 'inbound',
    api_version: '2010-04-01',
    caller: '+919800000001',
    called: '+18005550100',
    from_city: 'MUMBAI',
    from_country: 'IN',
    type: 'inbound_call',
    selected_language: 'hindi',
  });
  const taskSid = h.core.call('CA1')?.taskSid as string;
  const task = h.engine.tasks.get(taskSid);
  assert.equal(task?.taskQueueSid, h.hindiQueue, 'the workflow routed the Hindi caller to the Hindi queue');
  assert.deepEqual(verbsOf(second), [
    [
      { verb: 'enqueue', taskSid, workflowSid: h.workflowSid },
      { verb: 'hold', parts: [], musicUrl: 'http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3' },
    ],
  ]);

  // 3. While holding: position and EWT announced every 60 s from the enqueue.
  assert.equal(h.core.nextDeadline(), s(66));
  h.send({ type: 'queue_update', at: s(30), callSid: 'CA1', position: 3, ewtSeconds: 200 });
  assert.deepEqual(verbsOf(h.advance(s(65))), []);
  const announced = verbsOf(h.advance(s(66)));
  assert.deepEqual(announced, [
    [
      {
        verb: 'hold',
        parts: [
          { verb: 'say', text: 'You are number 3 in line.' },
          { verb: 'say', text: 'Your expected wait is about 4 minutes.' },
        ],
        musicUrl: 'http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3',
      },
    ],
  ]);
  h.send({ type: 'queue_update', at: s(100), callSid: 'CA1', position: 1, ewtSeconds: 30 });
  assert.equal(h.core.nextDeadline(), s(126));
  assert.deepEqual(
    verbsOf(h.advance(s(126)))[0]?.[0],
    { verb: 'hold', parts: [{ verb: 'say', text: 'You are number 1 in line.' }, { verb: 'say', text: 'Your expected wait is about 1 minute.' }], musicUrl: 'http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3' },
  );

  // 4. The caller hangs up while holding: the task is canceled with reason hangup (A4), the call ends.
  const last = h.send({ type: 'hangup', at: s(150), callSid: 'CA1' });
  assert.deepEqual(last, [
    { kind: 'cancel_task', callSid: 'CA1', taskSid, command: { type: 'updateTask', at: s(150), taskSid, assignmentStatus: 'canceled', reason: 'hangup' } },
    { kind: 'end_call', callSid: 'CA1', outcome: 'hung_up', by: 'caller' },
  ]);
  assert.equal(h.engine.tasks.get(taskSid)?.assignmentStatus, 'canceled');
  assert.equal(h.engine.tasks.get(taskSid)?.reason, 'hangup');
  assert.equal(h.core.activeCalls, 0);
  assert.equal(h.core.nextDeadline(), null);
  assert.deepEqual(
    h.events.map((e) => e.eventType),
    ['callflow.started', 'callflow.step', 'callflow.step', 'callflow.gathered', 'callflow.step', 'callflow.enqueued', 'callflow.ended'],
  );
});

test('seed flow: silence means English, a wrong key repeats the menu, and after the last attempt the call is enqueued with nothing chosen', () => {
  const h = new Host();
  h.core.putFlow(FLOW, seedFlow(h.workflowSid));
  start(h, 'CA1', '+15550000001', s(0));
  h.send({ type: 'gather_timeout', at: s(10), callSid: 'CA1' });
  const t1 = h.engine.tasks.get(h.core.call('CA1')?.taskSid as string);
  assert.equal(JSON.parse(t1?.attributesJson as string).selected_language, 'english');
  assert.equal(t1?.taskQueueSid, h.englishQueue);

  start(h, 'CA2', '+15550000002', s(20));
  const again = h.send({ type: 'gathered', at: s(25), callSid: 'CA2', digits: '9' });
  assert.equal(verbsOf(again)[0]?.[0]?.verb, 'gather', 'the menu again');
  h.send({ type: 'gathered', at: s(30), callSid: 'CA2', digits: '7' });
  const t2 = h.engine.tasks.get(h.core.call('CA2')?.taskSid as string);
  assert.equal(JSON.parse(t2?.attributesJson as string).selected_language, undefined);
  // A bridged caller leaves the flow enqueued.
  assert.deepEqual(h.send({ type: 'bridged', at: s(40), callSid: 'CA2' }), [{ kind: 'end_call', callSid: 'CA2', outcome: 'enqueued', by: null }]);
  // Inputs for a call that left are ignored.
  assert.match(h.core.execute({ type: 'hangup', at: s(41), callSid: 'CA2' }).ignored ?? '', /no call CA2/);
});

function offerFlow(workflowSid: string): CallFlow {
  return {
    steps: [
      { id: 'offer', offer_callback: { callTargetSid: TARGET, minEwtSeconds: 240 } },
      { id: 'queue', enqueue: { workflowSid, hold: { announceEvery: 30, callbackOffer: { callTargetSid: TARGET, after: 60 } } } },
    ],
  };
}

test('offer_callback: with a long wait the caller presses 1, a callback is registered for their number and the call ends; with a short wait the flow goes on', () => {
  const h = new Host();
  h.core.putFlow(FLOW, offerFlow(h.workflowSid));
  h.ewtOf = () => 400;
  const out = start(h, 'CA1', '+15550000001', s(0));
  const gather = verbsOf(out)[0]?.[0];
  assert.ok(gather?.verb === 'gather');
  assert.match((gather.prompt[0] as { text: string }).text, /^Your expected wait is about 7 minutes\. To be called back instead, press 1\.$/);
  const taken = h.send({ type: 'gathered', at: s(8), callSid: 'CA1', digits: '1' });
  assert.deepEqual(
    taken.map((e) => e.kind),
    ['register_callback', 'respond', 'end_call'],
  );
  const cb = h.center.listCallbacks().find((c) => c.phoneNumber === '+15550000001');
  assert.ok(cb !== undefined, 'registered with the callback core');
  assert.deepEqual(verbsOf(taken)[0]?.at(-1), { verb: 'hangup' });
  assert.deepEqual(taken.at(-1), { kind: 'end_call', callSid: 'CA1', outcome: 'callback', by: 'flow' });

  // A short wait (under the step's 240 s): no offer, straight to the queue.
  h.ewtOf = () => 150;
  const next = start(h, 'CA2', '+15550000002', s(20));
  assert.deepEqual(
    next.map((e) => e.kind),
    ['decide_offer', 'create_task', 'respond'],
  );
});

test('second-chance offer while holding: taken, the live task is given up by the callback core (not canceled as a hang-up) and the call ends', () => {
  const h = new Host();
  h.core.putFlow(FLOW, offerFlow(h.workflowSid));
  h.ewtOf = () => 100; // no offer before queueing
  start(h, 'CA1', '+15550000001', s(0));
  const taskSid = h.core.call('CA1')?.taskSid as string;
  assert.ok(taskSid !== null);
  // At 30 s: too early for the offer (after 60 s); nothing known to announce, so nothing is said.
  assert.deepEqual(verbsOf(h.advance(s(30))), []);
  h.ewtOf = () => 500;
  const offered = verbsOf(h.advance(s(60)));
  assert.equal(offered.length, 1);
  const hold = offered[0]?.[0];
  assert.ok(hold?.verb === 'hold' && hold.parts.at(-1)?.verb === 'gather');
  const taken = h.send({ type: 'gathered', at: s(65), callSid: 'CA1', digits: '1' });
  assert.deepEqual(
    taken.map((e) => e.kind),
    ['register_callback', 'respond', 'end_call'],
  );
  const task = h.engine.tasks.get(taskSid);
  assert.equal(task?.assignmentStatus, 'canceled');
  assert.equal(task?.reason, 'Opted to request a callback');
  assert.equal(h.core.activeCalls, 0);
});

// ───────────────────────── seeded random callers ─────────────────────────

interface Scheduled {
  at: number;
  seq: number;
  input: FlowInput;
}

/**
 * Drives `callers` random callers through a flow with menus, an offer before queueing and a
 * second-chance offer while holding, in virtual time. Callers answer, mistype, stay silent, take
 * or ignore offers, hang up at any moment; agents bridge holders after a random wait. When
 * `restoreEvery` is set, the core is replaced by a restore of its JSON snapshot every that many
 * inputs. Returns every effect in order, and each call's end effects.
 */
function randomDay(seed: number, callers: number, restoreEvery: number | null): { effects: FlowEffect[]; ends: Map<string, FlowEffect[]>; host: Host } {
  const h = new Host();
  const flow: CallFlow = {
    steps: [
      { id: 'welcome', say: { text: 'Welcome.' } },
      {
        id: 'menu',
        gather: { numDigits: 1, timeout: 5, prompt: [{ say: { text: '1 Hindi, 2 English, 3 to leave a callback request.' } }], into: 'selected_language', choices: { '1': 'hindi', '2': 'english', '3': { next: 'offer' } }, attempts: 2 },
        next: 'queue',
      },
      { id: 'offer', offer_callback: { callTargetSid: TARGET }, next: 'queue' },
      { id: 'queue', enqueue: { workflowSid: h.workflowSid, hold: { announceEvery: 20, callbackOffer: { callTargetSid: TARGET, after: 40 } } } },
    ],
  };
  h.core.putFlow(FLOW, flow);
  const rnd = new Random(seed);
  h.ewtOf = (callSid) => 60 + (Number(callSid.slice(2)) * 97) % 600;
  const agenda: Scheduled[] = [];
  let seq = 0;
  const at = (input: FlowInput): void => {
    agenda.push({ at: input.at, seq: seq++, input });
  };
  for (let i = 0; i < callers; i++) {
    const callSid = `CA${i}`;
    const t = s(i * rnd.int(1, 6));
    at({ type: 'call_started', at: t, callSid, flowSid: FLOW, from: `+1555${String(1_000_000 + i)}`, to: '+18005550100', parameters: callParams(callSid, `+1555${String(1_000_000 + i)}`) });
    if (rnd.chance(0.1)) at({ type: 'hangup', at: t + rnd.int(1, 20_000), callSid }); // impatient at any moment
  }
  const react = (effects: FlowEffect[], now: number): void => {
    for (const e of effects) {
      if (e.kind !== 'respond') continue;
      for (const v of e.verbs) {
        const gather = v.verb === 'gather' ? v : v.verb === 'hold' ? v.parts.find((p) => p.verb === 'gather') : undefined;
        if (gather !== undefined && gather.verb === 'gather') {
          const think = rnd.int(1_000, 8_000);
          const r = rnd.next();
          if (r < 0.55) at({ type: 'gathered', at: now + think, callSid: e.callSid, digits: String(rnd.int(1, 3)) });
          else if (r < 0.7) at({ type: 'gathered', at: now + think, callSid: e.callSid, digits: String(rnd.int(4, 9)) });
          else if (r < 0.95) at({ type: 'gather_timeout', at: now + gather.timeoutSeconds * 1000 + 3_000, callSid: e.callSid });
          else at({ type: 'hangup', at: now + think, callSid: e.callSid });
        }
        if (v.verb === 'enqueue') {
          at({ type: 'bridged', at: now + rnd.int(5_000, 300_000), callSid: e.callSid });
          at({ type: 'hangup', at: now + rnd.int(10_000, 400_000), callSid: e.callSid });
          for (let k = 1; k <= 10; k++) at({ type: 'queue_update', at: now + k * 15_000, callSid: e.callSid, position: rnd.int(1, 20), ewtSeconds: rnd.int(0, 900) });
        }
      }
    }
  };
  let inputs = 0;
  for (;;) {
    agenda.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const nextInput = agenda[0];
    const deadline = h.core.nextDeadline();
    if (nextInput === undefined && deadline === null) break;
    if (deadline !== null && (nextInput === undefined || deadline < nextInput.at)) {
      react(h.advance(deadline), deadline);
      continue;
    }
    agenda.shift();
    const input = (nextInput as Scheduled).input;
    react(h.send(input), input.at);
    if (restoreEvery !== null && ++inputs % restoreEvery === 0) h.core = CallFlowInterpreter.restore(JSON.parse(JSON.stringify(h.core.snapshot())));
  }
  const ends = new Map<string, FlowEffect[]>();
  for (const e of h.effects) if (e.kind === 'end_call') ends.set(e.callSid, [...(ends.get(e.callSid) ?? []), e]);
  return { effects: h.effects, ends, host: h };
}

test('seeded random callers: each ends exactly once, as enqueued, hung up or callback; hang-ups while holding cancel the task; deadlines keep their period', () => {
  for (const seed of [1, 2, 3]) {
    const { ends, host, effects } = randomDay(seed, 300, null);
    assert.equal(ends.size, 300, `seed ${seed}: every caller ended`);
    const outcomes = { enqueued: 0, hung_up: 0, callback: 0 };
    for (const [callSid, list] of ends) {
      assert.equal(list.length, 1, `seed ${seed}: ${callSid} ended once`);
      const end = list[0] as Extract<FlowEffect, { kind: 'end_call' }>;
      outcomes[end.outcome]++;
      const own = effects.filter((e) => e.callSid === callSid);
      assert.equal(own.at(-1), end, `seed ${seed}: nothing after ${callSid}'s end`);
      const created = own.filter((e) => e.kind === 'create_task').length;
      const cancels = own.filter((e) => e.kind === 'cancel_task');
      assert.ok(created <= 1, `seed ${seed}: ${callSid} made one task at most`);
      if (end.outcome === 'hung_up' && end.by === 'caller' && created === 1) {
        assert.equal(cancels.length, 1, `seed ${seed}: ${callSid} hung up holding: its task is canceled`);
      } else {
        assert.equal(cancels.length, 0, `seed ${seed}: ${callSid} (${end.outcome}) cancels nothing itself`);
      }
    }
    for (const k of ['enqueued', 'hung_up', 'callback'] as const) assert.ok(outcomes[k] > 10, `seed ${seed}: some ${k} (${JSON.stringify(outcomes)})`);
    assert.equal(host.core.activeCalls, 0);
    for (const t of host.engine.tasks.values()) assert.ok(t.assignmentStatus === 'pending' || t.assignmentStatus === 'canceled' || t.assignmentStatus === 'reserved', t.assignmentStatus);
  }
});

test('snapshot/restore mid-flow continues identically (JSON round trip every few inputs)', () => {
  const plain = randomDay(11, 150, null).effects;
  for (const every of [1, 7, 50]) assert.deepEqual(randomDay(11, 150, every).effects, plain, `restored every ${every} inputs`);
});

test('a snapshot taken mid-call restores with the call in the same place and its deadline kept', () => {
  const h = new Host();
  h.core.putFlow(FLOW, seedFlow(h.workflowSid));
  start(h, 'CA1', '+15550000001', s(0));
  h.send({ type: 'gathered', at: s(5), callSid: 'CA1', digits: '2' });
  h.send({ type: 'queue_update', at: s(10), callSid: 'CA1', position: 2, ewtSeconds: 700 });
  const snap = JSON.parse(JSON.stringify(h.core.snapshot()));
  // The flow is replaced meanwhile: the running call keeps the version it started with.
  h.core.putFlow(FLOW, { steps: [{ id: 'bye', hangup: {} }] });
  const restored = CallFlowInterpreter.restore(snap);
  assert.equal(restored.nextDeadline(), s(65));
  const a = restored.advanceTo(s(65));
  const b = h.core.advanceTo(s(65));
  assert.deepEqual(a, b);
  assert.deepEqual((a.effects[0] as { verbs: Verb[] }).verbs[0], {
    verb: 'hold',
    parts: [
      { verb: 'say', text: 'You are number 2 in line.' },
      { verb: 'say', text: 'Your expected wait is more than 10 minutes.' },
    ],
    musicUrl: 'http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3',
  });
});
