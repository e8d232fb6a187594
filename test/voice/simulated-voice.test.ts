// The simulated inbound voice network (src/voice/simulated-voice.ts) in virtual time, against a
// caller side built on the real call-flow interpreter and a real engine (test/callflows/host.ts):
// the seed flow heard at the speech model's pace, answers by step at a caller's own time (barge-in),
// hold re-asks after each music play, patience, agents' legs (answered and bridged, no answer,
// busy, failed, scripts first, one ring per key, hang-ups, without their ringing reports), the
// callback offer taken in the queue, redirect, errors, and determinism per seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SEED_HOLD_MUSIC_URL, seedFlow, type CallFlow, type FlowEffect, type Verb } from '../../src/callflows/index.ts';
import { FINAL_CALL_STATUSES, type ConnectRequest, type IncomingCall, type LegStatusUpdate, type VoiceAnswer, type VoiceInbound } from '../../src/callflows/voice-port.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { DEFAULT_HOLD_MUSIC, SimulatedVoiceNetwork, type SimulatedVoiceOptions } from '../../src/voice/simulated-voice.ts';
import { Host, T0, TARGET } from '../callflows/host.ts';

const FLOW = 'FW-seed';
const NUMBER = '+18005550100';
const ALICE = '+15550001111';
const s = (seconds: number): number => T0 + seconds * 1000;
/** The network's speech model at its default rate (15 characters a second, at least 1 s), ms. */
const sayMs = (text: string): number => Math.round(Math.max(1, text.length / 15) * 1000);

const WELCOME = 'Thank you for calling. Your call is important to us.';
const HINDI = 'Hindi ke liye ek dabaiye.';
const ENGLISH = 'For English, press two, or stay on the line.';

/**
 * The caller side on the real interpreter and engine: `incoming`/`gathered` feed the core and
 * answer with its `respond` verbs; `hold` fires the core's due announcements and answers with the
 * hold verb not yet served, else the music; a caller's final leg status is the core's `hangup`;
 * `bridged` tells the core and accepts the engine's reservation. Everything is logged in order,
 * as `<seconds after T0> <what>`.
 */
class FlowInbound implements VoiceInbound {
  readonly host = new Host();
  readonly log: string[] = [];
  readonly statuses: LegStatusUpdate[] = [];
  readonly holdAsks = new Map<string, number[]>();
  /** Connect keys → the caller and (for a real reservation) its SID. */
  readonly keys = new Map<string, { callSid: string; reservationSid?: string }>();
  private readonly pendingHold = new Map<string, Verb>();
  private readonly music = new Map<string, string | null>();

  private readonly scheduler: VirtualScheduler;

  constructor(scheduler: VirtualScheduler, flow: (workflowSid: string) => CallFlow) {
    this.scheduler = scheduler;
    this.host.core.putFlow(FLOW, flow(this.host.workflowSid));
  }

  /** Adds an available agent who speaks both languages, reached at `contactUri`. */
  addAgent(contactUri = ALICE): string {
    const available = [...this.host.engine.activities.values()].find((a) => a.friendlyName === 'Available');
    const o = this.host.engine.execute({ type: 'createWorker', at: this.scheduler.now(), friendlyName: 'Alice', activitySid: available?.sid, attributes: JSON.stringify({ languages: ['hindi', 'english'], contact_uri: contactUri }) });
    return o.sid as string;
  }

  private note(what: string): void {
    this.log.push(`${(this.scheduler.now() - T0) / 1000} ${what}`);
  }

  async incoming(call: IncomingCall): Promise<VoiceAnswer> {
    this.note(`incoming ${call.callSid}`);
    const effects = this.host.send({ type: 'call_started', at: this.scheduler.now(), callSid: call.callSid, flowSid: FLOW, from: call.from, to: call.to, parameters: call.parameters });
    return { verbs: this.answerFor(call.callSid, effects) };
  }

  async gathered(callSid: string, answer: { digits?: string; speech?: string } | null): Promise<VoiceAnswer> {
    this.note(`gathered ${callSid} ${answer === null ? 'timeout' : (answer.digits ?? answer.speech)}`);
    const at = this.scheduler.now();
    const effects = this.host.send(answer === null ? { type: 'gather_timeout', at, callSid } : { type: 'gathered', at, callSid, ...answer });
    return { verbs: this.answerFor(callSid, effects) };
  }

  async hold(callSid: string): Promise<VoiceAnswer> {
    const at = this.scheduler.now();
    this.holdAsks.set(callSid, [...(this.holdAsks.get(callSid) ?? []), at]);
    for (const [sid, verbs] of respondsOf(this.host.advance(at))) this.keepHolds(sid, verbs);
    const next = this.pendingHold.get(callSid);
    this.pendingHold.delete(callSid);
    return { verbs: [next ?? { verb: 'hold', parts: [], musicUrl: this.music.get(callSid) ?? null }] };
  }

  async legStatus(update: LegStatusUpdate): Promise<void> {
    this.statuses.push(update);
    this.note(`status ${update.callSid} ${update.status}${update.key === undefined ? '' : ` ${update.key}`}`);
    if (update.key === undefined && FINAL_CALL_STATUSES.includes(update.status)) this.host.send({ type: 'hangup', at: update.at, callSid: update.callSid });
  }

  async bridged(key: string, workerCallSid: string, at: number): Promise<void> {
    this.note(`bridged ${key} ${workerCallSid}`);
    const k = this.keys.get(key);
    if (k === undefined) return;
    this.host.send({ type: 'bridged', at, callSid: k.callSid });
    if (k.reservationSid !== undefined) {
      const o = this.host.engine.execute({ type: 'updateReservation', at, reservationSid: k.reservationSid, reservationStatus: 'accepted' });
      assert.equal(o.rejection, null);
    }
  }

  /** The verbs for `callSid`; hold verbs of other calls, and those that come with the enqueue, are kept for the next hold ask. */
  private answerFor(callSid: string, effects: FlowEffect[]): Verb[] {
    let own: Verb[] = [];
    for (const [sid, verbs] of respondsOf(effects)) {
      if (sid !== callSid) this.keepHolds(sid, verbs);
      else own = verbs;
    }
    if (own.some((v) => v.verb === 'enqueue')) this.keepHolds(callSid, own);
    else for (const v of own) if (v.verb === 'hold') this.music.set(callSid, v.musicUrl);
    return own;
  }

  private keepHolds(callSid: string, verbs: Verb[]): void {
    for (const v of verbs) {
      if (v.verb !== 'hold') continue;
      this.pendingHold.set(callSid, v);
      this.music.set(callSid, v.musicUrl);
    }
  }
}

function respondsOf(effects: FlowEffect[]): Map<string, Verb[]> {
  const out = new Map<string, Verb[]>();
  for (const e of effects) if (e.kind === 'respond') out.set(e.callSid, [...(out.get(e.callSid) ?? []), ...e.verbs]);
  return out;
}

function setup(flow: (workflowSid: string) => CallFlow = seedFlow, options: Omit<SimulatedVoiceOptions, 'scheduler'> = {}): { sched: VirtualScheduler; inbound: FlowInbound; net: SimulatedVoiceNetwork } {
  const sched = new VirtualScheduler(T0);
  const inbound = new FlowInbound(sched, flow);
  const net = new SimulatedVoiceNetwork({ scheduler: sched, seed: 7, ...options });
  net.attach(inbound);
  return { sched, inbound, net };
}

/** The `dequeue` connect request of the engine's pending reservation for the caller's task (the key is registered with the caller side). */
function dequeueFor(inbound: FlowInbound, callSid: string, timeoutSeconds = 30): ConnectRequest {
  const engine = inbound.host.engine;
  const task = [...engine.tasks.values()].find((t) => (JSON.parse(t.attributesJson) as { call_sid?: string }).call_sid === callSid);
  assert.ok(task !== undefined, `a task for ${callSid}`);
  const r = [...engine.reservations.values()].find((x) => x.taskSid === task.sid && x.reservationStatus === 'pending');
  assert.ok(r !== undefined, `a pending reservation for ${task.sid}`);
  const key = `${r.sid}:dequeue`;
  inbound.keys.set(key, { callSid, reservationSid: r.sid });
  return {
    key,
    instruction: 'dequeue',
    accountSid: 'AC' + '0'.repeat(32),
    workspaceSid: engine.workspace.sid,
    taskSid: task.sid,
    reservationSid: r.sid,
    workerSid: r.workerSid,
    callerCallSid: callSid,
    to: ALICE,
    from: NUMBER,
    timeoutSeconds,
    parameters: {},
  };
}

/** A connect request with a made-up key for a caller (the key is registered with the caller side). */
function request(inbound: FlowInbound, key: string, callerCallSid: string | null, overrides: Partial<ConnectRequest> = {}): ConnectRequest {
  if (callerCallSid !== null) inbound.keys.set(key, { callSid: callerCallSid });
  return { key, instruction: 'dequeue', accountSid: 'AC' + '0'.repeat(32), workspaceSid: 'WS1', taskSid: 'WT1', reservationSid: 'WR1', workerSid: 'WK1', callerCallSid, to: ALICE, from: NUMBER, timeoutSeconds: 30, parameters: {}, ...overrides };
}

const heardOf = (net: SimulatedVoiceNetwork, callSid: string): string[] =>
  (net.call(callSid)?.heard ?? []).map((h) => `${(h.at - T0) / 1000} ${h.verb.verb === 'say' ? h.verb.text : h.verb.url}`);

/** The log lines that mention `what`. */
const linesWith = (inbound: FlowInbound, what: string): string[] => inbound.log.filter((l) => l.includes(what));

test('seed flow: the caller hears the welcome and the menu at the speech model pace, presses 1 a second after the prompt, holds with the music re-asked after each play, and hangs up at its patience', async () => {
  const { sched, inbound, net } = setup();
  const sid = net.placeCall({ from: '+919800000001', to: NUMBER, digits: ['1'], patienceSeconds: 100, parameters: { FromCity: 'MUMBAI' } });
  assert.match(sid, /^CA[0-9a-f]{32}$/);
  await sched.settle();

  const tHindi = T0 + sayMs(WELCOME);
  const tEnglish = tHindi + sayMs(HINDI);
  const tPress = tEnglish + sayMs(ENGLISH) + 1000;
  await sched.advanceTo(tPress - 1);
  assert.deepEqual(net.call(sid)?.pressed, []);
  assert.equal(net.call(sid)?.enqueuedAt, null);
  await sched.advanceTo(tPress);
  const rec = net.call(sid);
  assert.deepEqual(rec?.pressed, [{ at: tPress, digits: '1' }]);
  assert.equal(rec?.enqueuedAt, tPress);
  assert.equal(net.ivrSeconds(sid), (tPress - T0) / 1000);

  // The task carries the choice and the webhook parameters the network sent (A1 step 3).
  const task = [...inbound.host.engine.tasks.values()][0];
  const attributes = JSON.parse(task?.attributesJson as string) as Record<string, string>;
  assert.equal(attributes.selected_language, 'hindi');
  assert.equal(attributes.call_sid, sid);
  assert.equal(attributes.from_city, 'MUMBAI');
  assert.equal(attributes.direction, 'inbound');
  assert.equal(attributes.call_status, 'ringing');
  assert.equal(attributes.account_sid, 'AC' + '0'.repeat(32));

  // Hold: asked at the enqueue, then again each time one play of the music (30 s) has finished.
  await sched.advanceTo(tPress + 99_999);
  assert.deepEqual(inbound.holdAsks.get(sid), [0, 30, 60, 90].map((x) => tPress + x * 1000));
  assert.equal(net.call(sid)?.endedAt, null);

  // Patience: 100 s after the enqueue the caller hangs up; the core cancels the task (reason hangup).
  await sched.advanceTo(tPress + 100_000);
  assert.deepEqual(inbound.statuses, [{ callSid: sid, status: 'completed', at: tPress + 100_000 }]);
  assert.equal(net.call(sid)?.endedBy, 'caller');
  assert.equal(net.call(sid)?.endedAt, tPress + 100_000);
  assert.equal(task?.assignmentStatus, 'canceled');
  assert.equal(task?.reason, 'hangup');
  await sched.advance(600_000);
  assert.equal(inbound.holdAsks.get(sid)?.length, 4, 'no hold ask once the caller is gone');
  assert.deepEqual(heardOf(net, sid), [
    `0 ${WELCOME}`,
    `${(tHindi - T0) / 1000} ${HINDI}`,
    `${(tEnglish - T0) / 1000} ${ENGLISH}`,
    ...[0, 30, 60, 90].map((x) => `${(tPress + x * 1000 - T0) / 1000} ${SEED_HOLD_MUSIC_URL}`),
  ]);
  assert.deepEqual(net.errors, []);
});

test('seed flow: a wrong key repeats the menu, then silence times out 5 s after the prompt and the caller is queued for English', async () => {
  const { sched, inbound, net } = setup();
  const sid = net.placeCall({ from: '+15550000001', to: NUMBER, digits: ['7'] });
  const prompt = sayMs(HINDI) + sayMs(ENGLISH);
  const tWrong = T0 + sayMs(WELCOME) + prompt + 1000;
  const tTimeout = tWrong + prompt + 5000;
  await sched.advanceTo(tTimeout + 1);
  assert.deepEqual(net.call(sid)?.pressed, [{ at: tWrong, digits: '7' }]);
  assert.deepEqual(linesWith(inbound, 'gathered'), [`${(tWrong - T0) / 1000} gathered ${sid} 7`, `${(tTimeout - T0) / 1000} gathered ${sid} timeout`]);
  assert.equal(net.call(sid)?.enqueuedAt, tTimeout);
  const task = [...inbound.host.engine.tasks.values()][0];
  assert.equal((JSON.parse(task?.attributesJson as string) as Record<string, string>).selected_language, 'english');
  assert.deepEqual(heardOf(net, sid).slice(0, 5).map((h) => h.split(' ').slice(1).join(' ')), [WELCOME, HINDI, ENGLISH, HINDI, ENGLISH]);
});

test('answers by step: a caller keys in at their own time from reaching the menu, during its prompt (barge-in) or across repeats of it; `digits` are kept for the other gathers', async () => {
  const prompt = sayMs(HINDI) + sayMs(ENGLISH);
  const welcome = sayMs(WELCOME);
  // During the prompt: 1.5 s after the menu began, the rest of the prompt is not heard.
  {
    const { sched, inbound, net } = setup();
    const sid = net.placeCall({ from: '+15550000011', to: NUMBER, answers: { language: { digits: '1', afterSeconds: 1.5 } } });
    await sched.advanceTo(T0 + 60_000);
    const tPress = T0 + welcome + 1500;
    assert.deepEqual(net.call(sid)?.pressed, [{ at: tPress, digits: '1' }]);
    assert.equal(net.call(sid)?.enqueuedAt, tPress);
    assert.deepEqual(heardOf(net, sid).slice(0, 3).map((h) => h.split(' ').slice(1).join(' ')), [WELCOME, HINDI, SEED_HOLD_MUSIC_URL]);
    assert.equal((JSON.parse([...inbound.host.engine.tasks.values()][0]?.attributesJson as string) as Record<string, string>).selected_language, 'hindi');
  }
  // Past the first window (prompt + 5 s of silence): silent there, then pressed into the repeated prompt, at the time kept.
  {
    const repeating = (workflowSid: string): CallFlow => {
      const flow = seedFlow(workflowSid);
      const menu = flow.steps[1] as { gather: { noInput?: unknown } };
      delete menu.gather.noInput;
      return flow;
    };
    const { sched, inbound, net } = setup(repeating);
    const after = (prompt + 5000 + 2000) / 1000;
    const sid = net.placeCall({ from: '+15550000012', to: NUMBER, answers: { language: { digits: '2', afterSeconds: after } } });
    await sched.advanceTo(T0 + 120_000);
    const tPress = T0 + welcome + after * 1000;
    assert.deepEqual(linesWith(inbound, 'gathered'), [`${(T0 + welcome + prompt + 5000 - T0) / 1000} gathered ${sid} timeout`, `${(tPress - T0) / 1000} gathered ${sid} 2`]);
    assert.equal(net.ivrSeconds(sid), (tPress - T0) / 1000);
  }
  // At once (0 s): the menu is cut short as it begins; an answer of '' stays silent like `digits`.
  {
    const { sched, net } = setup();
    const quick = net.placeCall({ from: '+15550000013', to: NUMBER, answers: { language: { digits: '2', afterSeconds: 0 } } });
    const silent = net.placeCall({ from: '+15550000014', to: NUMBER, answers: { language: { digits: '' } } });
    await sched.advanceTo(T0 + 60_000);
    assert.equal(net.ivrSeconds(quick), welcome / 1000);
    assert.equal(net.call(silent)?.pressed.length, 0);
    assert.equal(net.ivrSeconds(silent), (welcome + prompt + 5000) / 1000, 'the seed menu takes silence as English');
  }
});

test('reportRinging false: an agent leg reports only in-progress and its final status', async () => {
  const { sched, inbound, net } = setup(seedFlow, { reportRinging: false });
  inbound.addAgent();
  net.scriptAgent(ALICE, ['answer']);
  const sid = net.placeCall({ from: '+15550000015', to: NUMBER, digits: ['2'], talkSeconds: 30 });
  await sched.advance(20_000);
  const req = dequeueFor(inbound, sid, 30);
  await net.connect(req, sched.now());
  await sched.advance(5 * 60_000);
  assert.deepEqual(inbound.statuses.filter((u) => u.key === req.key).map((u) => u.status), ['in-progress', 'completed']);
  assert.ok(net.call(sid)?.bridgedAt !== null);
  assert.equal(net.activeCalls, 0);
});

test('connect from a real reservation: initiated, ringing, in-progress, bridged, the talk, then the worker leg and the caller complete (worker first); hold asks stop at the bridge', async () => {
  const { sched, inbound, net } = setup();
  inbound.addAgent();
  net.scriptAgent(ALICE, ['answer']);
  const sid = net.placeCall({ from: '+15550000002', to: NUMBER, digits: ['2'], talkSeconds: 120 });
  await sched.advance(20_000);
  const enqueuedAt = net.call(sid)?.enqueuedAt as number;
  assert.ok(enqueuedAt !== null);
  const req = dequeueFor(inbound, sid, 30);
  const placedAt = sched.now();
  await net.connect(req, placedAt);
  await sched.settle();
  const [leg] = net.legs();
  assert.ok(leg !== undefined);
  assert.match(leg.callSid, /^CA[0-9a-f]{32}$/);
  assert.notEqual(leg.callSid, sid);
  assert.deepEqual(net.call(sid)?.workerLegs, [leg.callSid]);

  await sched.advance(10 * 60_000);
  const after = net.legs()[0];
  assert.ok(after !== undefined && after.answeredAt !== null);
  const answeredAt = after.answeredAt;
  const ring = answeredAt - placedAt;
  assert.ok(ring >= 2000 && ring <= 8000, `ring time ${ring} ms in [2 s, 8 s]`);
  assert.equal(after.outcome, 'answered');
  assert.equal(after.endedAt, after.answeredAt + 120_000);
  const t = (at: number): number => (at - T0) / 1000;
  assert.deepEqual(
    inbound.log.filter((l) => l.includes('status') || l.includes('bridged')),
    [
      `${t(placedAt)} status ${leg.callSid} initiated ${req.key}`,
      `${t(placedAt)} status ${leg.callSid} ringing ${req.key}`,
      `${t(after.answeredAt)} status ${leg.callSid} in-progress ${req.key}`,
      `${t(after.answeredAt)} bridged ${req.key} ${leg.callSid}`,
      `${t(after.answeredAt + 120_000)} status ${leg.callSid} completed ${req.key}`,
      `${t(after.answeredAt + 120_000)} status ${sid} completed`,
    ],
  );
  const rec = net.call(sid);
  assert.equal(rec?.bridgedAt, after.answeredAt);
  assert.equal(rec?.endedBy, 'agent');
  assert.ok((inbound.holdAsks.get(sid) ?? []).every((at) => at <= answeredAt), 'no hold ask after the bridge');
  assert.equal(inbound.host.engine.reservations.get(req.reservationSid)?.reservationStatus, 'accepted');
  assert.equal(inbound.host.core.activeCalls, 0, 'the bridge took the call out of the flow');
});

test('agent phones: scripted outcomes first (no answer at the ring timeout, busy after 1 s, failed at once), then random ones; the caller holds on through the failures', async () => {
  const { sched, inbound, net } = setup(seedFlow, { agentAnswerRate: 1, agentBusyRate: 0 });
  net.scriptAgent(ALICE, ['no-answer', 'busy']);
  net.scriptAgent(ALICE, ['failed']);
  const sid = net.placeCall({ from: '+15550000003', to: NUMBER, digits: ['2'], talkSeconds: 60 });
  await sched.advance(20_000);
  const t = (at: number): number => (at - T0) / 1000;

  const t1 = sched.now();
  await net.connect(request(inbound, 'K1', sid, { timeoutSeconds: 25 }), t1);
  await sched.advance(24_999);
  assert.equal(net.legs()[0]?.outcome, null, 'still ringing just before the timeout');
  await sched.advance(1);
  const t2 = sched.now();
  await net.connect(request(inbound, 'K2', sid), t2);
  await sched.advance(5_000);
  const t3 = sched.now();
  await net.connect(request(inbound, 'K3', sid), t3);
  await sched.advance(5_000);
  assert.equal(net.call(sid)?.endedAt, null);
  assert.equal(net.call(sid)?.bridgedAt, null);
  const t4 = sched.now();
  await net.connect(request(inbound, 'K4', sid, { to: '+15550002222' }), t4);
  await sched.advance(120_000);

  const legs = net.legs();
  assert.deepEqual(
    legs.map((l) => [l.key, l.outcome, l.endedAt === null ? null : t(l.endedAt)]),
    [
      ['K1', 'no-answer', t(t1) + 25],
      ['K2', 'busy', t(t2) + 1],
      ['K3', 'failed', t(t3)],
      ['K4', 'answered', t(legs[3]?.answeredAt as number) + 60],
    ],
  );
  const statusesOf = (key: string): string[] => inbound.statuses.filter((u) => u.key === key).map((u) => `${t(u.at)} ${u.status}`);
  assert.deepEqual(statusesOf('K1'), [`${t(t1)} initiated`, `${t(t1)} ringing`, `${t(t1) + 25} no-answer`]);
  assert.deepEqual(statusesOf('K2'), [`${t(t2)} initiated`, `${t(t2) + 1} busy`]);
  assert.deepEqual(statusesOf('K3'), [`${t(t3)} initiated`, `${t(t3)} failed`]);
  assert.deepEqual(statusesOf('K4').map((x) => x.split(' ')[1]), ['initiated', 'ringing', 'in-progress', 'completed']);
  assert.equal(net.call(sid)?.bridgedAt, legs[3]?.answeredAt);
  // The caller kept asking for hold music while the first three legs failed.
  assert.ok((inbound.holdAsks.get(sid) ?? []).some((at) => at > t1 && at < t4));
});

test('a repeated connect key rings once and is counted; a hang-up cancels a ringing leg; a bridged leg hung up ends both legs; unknown and ended legs are ignored', async () => {
  const { sched, inbound, net } = setup();
  net.scriptAgent(ALICE, ['no-answer', 'answer']);
  const a = net.placeCall({ from: '+15550000004', to: NUMBER, digits: ['2'] });
  await sched.advance(20_000);
  const req = request(inbound, 'WRa:dequeue', a);
  await net.connect(req, sched.now());
  await net.connect(req, sched.now());
  await sched.settle();
  assert.equal(net.duplicates, 1);
  assert.equal(net.legs().length, 1);
  assert.equal(inbound.statuses.filter((u) => u.status === 'initiated').length, 1);

  await sched.advance(3_000);
  const cancelAt = sched.now();
  await net.hangup({ key: 'WRa:dequeue' }, cancelAt);
  await sched.advance(60_000);
  assert.deepEqual(
    inbound.statuses.filter((u) => u.key === 'WRa:dequeue').map((u) => [u.status, u.at]),
    [
      ['initiated', cancelAt - 3_000],
      ['ringing', cancelAt - 3_000],
      ['canceled', cancelAt],
    ],
  );
  assert.equal(net.legs()[0]?.outcome, 'canceled');
  assert.equal(net.call(a)?.endedAt, null, 'the caller still holds');

  // The next leg is answered and bridged; hung up by the core, both legs complete (the worker's first).
  await net.connect(request(inbound, 'WRb:dequeue', a), sched.now());
  await sched.advance(10_000);
  assert.ok(net.call(a)?.bridgedAt !== null);
  const legB = net.legs()[1]?.callSid as string;
  const endAt = sched.now();
  await net.hangup({ callSid: legB }, endAt);
  await sched.settle();
  assert.deepEqual(inbound.statuses.slice(-2).map((u) => [u.callSid, u.status, u.at]), [
    [legB, 'completed', endAt],
    [a, 'completed', endAt],
  ]);
  assert.equal(net.call(a)?.endedBy, 'flow');
  const before = inbound.statuses.length;
  await net.hangup({ key: 'WRb:dequeue' }, endAt);
  await net.hangup({ key: 'nope' }, endAt);
  await net.hangup({ callSid: 'CAnope' }, endAt);
  await net.hangup({ callSid: a }, endAt);
  await sched.advance(300_000);
  assert.equal(inbound.statuses.length, before);
  await assert.rejects(net.hangup({}, endAt), RangeError);
});

test('a caller gone before the agent answers: the worker leg is answered and ends at once; a caller hanging up mid-talk ends the worker leg after it', async () => {
  const { sched, inbound, net } = setup();
  net.scriptAgent(ALICE, ['answer', 'answer']);
  // Queued at 9.067 s, gone at 21.067 s: the agent's phone, rung at 21 s, is answered 2–8 s later.
  const a = net.placeCall({ from: '+15550000005', to: NUMBER, digits: ['2'], patienceSeconds: 12 });
  await sched.advance(21_000);
  await net.connect(request(inbound, 'Ka', a, { timeoutSeconds: 60 }), sched.now());
  await sched.advance(30_000);
  const legA = net.legs()[0];
  assert.ok(legA !== undefined && net.call(a)?.endedBy === 'caller');
  assert.equal(legA.endedAt, legA.answeredAt);
  assert.deepEqual(inbound.statuses.filter((u) => u.key === 'Ka').map((u) => u.status), ['initiated', 'ringing', 'in-progress', 'completed']);
  assert.equal(inbound.log.filter((l) => l.includes('bridged')).length, 0);

  const b = net.placeCall({ from: '+15550000006', to: NUMBER, digits: ['2'], hangupAfterSeconds: 80, talkSeconds: 600 });
  await sched.advance(20_000);
  await net.connect(request(inbound, 'Kb', b), sched.now());
  await sched.advance(120_000);
  const rec = net.call(b);
  assert.equal(rec?.endedBy, 'caller');
  assert.equal(rec?.endedAt, rec?.startedAt as number + 80_000);
  assert.deepEqual(inbound.statuses.slice(-2).map((u) => [u.callSid, u.status]), [
    [b, 'completed'],
    [net.legs()[1]?.callSid, 'completed'],
  ]);
});

test('hangupAfterSeconds ends the call mid-prompt, whatever is playing', async () => {
  const { sched, inbound, net } = setup();
  const sid = net.placeCall({ from: '+15550000007', to: NUMBER, digits: ['1'], hangupAfterSeconds: 3 });
  await sched.advance(60_000);
  assert.deepEqual(inbound.statuses, [{ callSid: sid, status: 'completed', at: s(3) }]);
  assert.deepEqual(heardOf(net, sid), [`0 ${WELCOME}`]);
  assert.equal(net.call(sid)?.endedBy, 'caller');
  assert.equal(net.ivrSeconds(sid), null);
  assert.equal(inbound.host.core.activeCalls, 0);
});

/** A flow that queues at once, offering a callback 20 s into the hold. */
function offerInHold(workflowSid: string): CallFlow {
  return {
    steps: [
      { id: 'welcome', say: { text: 'Welcome.' } },
      { id: 'queue', enqueue: { workflowSid, hold: { musicUrl: 'https://example.com/hold.mp3', announceEvery: 20, callbackOffer: { callTargetSid: TARGET, after: 20 } } } },
    ],
  };
}

test('callback offer in the queue: a caller who accepts presses 1 after the offer prompt, hears the confirmation and the flow hangs up; one who does not lets it time out and holds on', async () => {
  const { sched, inbound, net } = setup(offerInHold);
  inbound.host.ewtOf = () => 500;
  const yes = net.placeCall({ from: '+15550000008', to: NUMBER, acceptCallbackOffer: true });
  const no = net.placeCall({ from: '+15550000009', to: NUMBER });
  await sched.advance(200_000);

  // Both joined the queue after the 1 s welcome; the second hold ask (after one play of the music) carries the offer.
  for (const sid of [yes, no]) assert.equal(net.call(sid)?.enqueuedAt, s(1));
  const offerAt = s(31);
  const heardYes = net.call(yes)?.heard ?? [];
  const offer = heardYes[2];
  assert.ok(offer !== undefined && offer.verb.verb === 'say' && offer.at === offerAt);
  assert.match(offer.verb.text, /To be called back instead, press 1\.$/);
  const pressAt = offerAt + sayMs(offer.verb.text) + 1000;
  assert.deepEqual(net.call(yes)?.pressed, [{ at: pressAt, digits: '1' }]);
  const confirmation = heardYes[3];
  assert.ok(confirmation !== undefined && confirmation.verb.verb === 'say' && confirmation.at === pressAt);
  assert.match(confirmation.verb.text, /^Thank you\. We will call you back/);
  assert.equal(heardYes.length, 4);
  assert.equal(net.call(yes)?.endedBy, 'flow');
  assert.equal(net.call(yes)?.endedAt, pressAt + sayMs(confirmation.verb.text));
  assert.ok(inbound.host.center.listCallbacks().some((c) => c.phoneNumber === '+15550000008'), 'a callback registered for the caller');
  const taskYes = [...inbound.host.engine.tasks.values()].find((t) => t.attributesJson.includes(yes));
  assert.equal(taskYes?.assignmentStatus, 'canceled');
  assert.equal(taskYes?.reason, 'Opted to request a callback');

  // The other caller heard the same offer, stayed silent: after the offer's 5 s timeout the hold goes on.
  const heardNo = net.call(no)?.heard ?? [];
  const offerNo = heardNo[2];
  assert.ok(offerNo !== undefined && offerNo.verb.verb === 'say' && offerNo.at === offerAt);
  const timeoutAt = offerAt + sayMs(offerNo.verb.text) + 5000;
  assert.deepEqual(linesWith(inbound, `gathered ${no}`), [`${(timeoutAt - T0) / 1000} gathered ${no} timeout`]);
  assert.deepEqual(net.call(no)?.pressed, []);
  assert.equal(net.call(no)?.endedAt, null);
  assert.deepEqual(heardNo[3], { at: timeoutAt, verb: { verb: 'play', url: 'https://example.com/hold.mp3' } });
  assert.ok((inbound.holdAsks.get(no) ?? []).includes(timeoutAt + 30_000), 'asked again after the music that followed the timeout');
});

test('redirect: nothing rings, the holding caller is bridged at once on its own CallSid and stops holding; a redirect of an ended call is refused', async () => {
  const { sched, inbound, net } = setup();
  const sid = net.placeCall({ from: '+15550000010', to: NUMBER, digits: ['2'], talkSeconds: 45 });
  await sched.advance(20_000);
  const at = sched.now();
  await net.connect(request(inbound, 'WRr:redirect', sid, { instruction: 'redirect', url: 'https://example.com/agent.xml' }), at);
  await sched.advance(100_000);
  assert.deepEqual(linesWith(inbound, 'bridged'), [`${(at - T0) / 1000} bridged WRr:redirect ${sid}`]);
  assert.deepEqual(net.legs().map((l) => [l.callSid, l.outcome, l.to, l.answeredAt, l.endedAt]), [[sid, 'redirected', 'https://example.com/agent.xml', at, at + 45_000]]);
  assert.equal(inbound.statuses.filter((u) => u.key !== undefined).length, 0, 'no leg of its own');
  assert.deepEqual(inbound.statuses, [{ callSid: sid, status: 'completed', at: at + 45_000 }]);
  assert.ok((inbound.holdAsks.get(sid) ?? []).every((x) => x <= at));
  await assert.rejects(net.connect(request(inbound, 'WRs:redirect', sid, { instruction: 'redirect', url: 'https://example.com/agent.xml' }), sched.now()), /not in progress/);
  await net.connect(request(inbound, 'WRs:redirect', sid, { instruction: 'redirect' }), sched.now());
  assert.equal(net.duplicates, 1, 'the refused key counts as used');
});

test('errors from the caller side are collected (and given to onError), never unhandled; a failed answer ends the call as Twilio does', async () => {
  const sched = new VirtualScheduler(T0);
  const seen: string[] = [];
  const net = new SimulatedVoiceNetwork({ scheduler: sched, onError: (e) => seen.push(`${e.operation} ${String(e.error)}`) });
  assert.throws(() => net.placeCall({ from: '+1', to: NUMBER }), /attach/);
  const statuses: LegStatusUpdate[] = [];
  const inbound: VoiceInbound = {
    incoming: async () => ({ verbs: [{ verb: 'say', text: 'Hello.' }, { verb: 'enqueue', taskSid: 'WT1', workflowSid: 'WW1' }] }),
    gathered: async () => ({ verbs: [] }),
    hold: async () => {
      throw new Error('hold is down');
    },
    legStatus: async (u) => {
      statuses.push(u);
      throw new Error('status is down');
    },
    bridged: async () => undefined,
  };
  net.attach(inbound);
  assert.throws(() => net.attach(inbound), /already attached/);
  const sid = net.placeCall({ from: '+15550000011', to: NUMBER });
  await sched.advance(10_000);
  assert.deepEqual(seen, ['hold Error: hold is down', 'legStatus Error: status is down']);
  assert.deepEqual(net.errors.map((e) => [e.operation, e.callSid, e.at]), [
    ['hold', sid, s(1)],
    ['legStatus', sid, s(1)],
  ]);
  assert.equal(net.call(sid)?.endedBy, 'flow');
  assert.deepEqual(statuses, [{ callSid: sid, status: 'completed', at: s(1) }]);
});

test('an answer that runs out outside the queue ends the call; a hold answer without music gets the default music before the next ask', async () => {
  const sched = new VirtualScheduler(T0);
  const net = new SimulatedVoiceNetwork({ scheduler: sched, playSeconds: 10 });
  const asks: number[] = [];
  const statuses: LegStatusUpdate[] = [];
  net.attach({
    incoming: async (call) => ({ verbs: call.from === '+1short' ? [{ verb: 'play', url: 'https://example.com/a.mp3', loop: 2 }] : [{ verb: 'enqueue', taskSid: 'WT1', workflowSid: 'WW1' }, { verb: 'say', text: 'never heard' }] }),
    gathered: async () => ({ verbs: [] }),
    hold: async () => {
      asks.push(sched.now());
      return { verbs: [] };
    },
    legStatus: async (u) => void statuses.push(u),
    bridged: async () => undefined,
  });
  const short = net.placeCall({ from: '+1short', to: NUMBER });
  const holder = net.placeCall({ from: '+1holder', to: NUMBER, patienceSeconds: 25 });
  await sched.advance(60_000);
  assert.deepEqual(statuses, [
    { callSid: short, status: 'completed', at: s(20) },
    { callSid: holder, status: 'completed', at: s(25) },
  ]);
  assert.equal(net.call(short)?.endedBy, 'flow');
  assert.deepEqual(asks, [s(0), s(10), s(20)]);
  assert.deepEqual((net.call(holder)?.heard ?? []).map((h) => (h.verb.verb === 'play' ? h.verb.url : h.verb.text)), [DEFAULT_HOLD_MUSIC, DEFAULT_HOLD_MUSIC, DEFAULT_HOLD_MUSIC]);
});

/** A busy hour of seeded random traffic: callers with assorted menus and patience, agents' legs with random outcomes and talk times. */
async function day(seed: number): Promise<{ calls: unknown; legs: unknown; log: string[] }> {
  const { sched, inbound, net } = setup(seedFlow, { seed });
  const agents = ['+15550003001', '+15550003002', '+15550003003'];
  const sids: string[] = [];
  for (let i = 0; i < 12; i++) {
    sids.push(net.placeCall({ from: `+1555000${String(4000 + i)}`, to: NUMBER, digits: [['1'], ['2'], [], ['9', '2']][i % 4] as string[], patienceSeconds: i % 3 === 0 ? 45 : Infinity }));
    await sched.advance(15_000);
  }
  for (let i = 0; i < sids.length; i++) {
    const sid = sids[i] as string;
    await net.connect(request(inbound, `K${i}`, sid, { to: agents[i % 3] as string, timeoutSeconds: 20 }), sched.now());
    await sched.advance(7_000);
  }
  await sched.advance(3600_000);
  assert.deepEqual(net.errors, []);
  return { calls: net.calls(), legs: net.legs(), log: inbound.log };
}

test('determinism: the same seed gives identical call records, legs and reports; another seed differs', async () => {
  const a = await day(42);
  const b = await day(42);
  assert.deepEqual(a, b);
  const legs = a.legs as Array<{ outcome: string | null }>;
  assert.ok(legs.every((l) => l.outcome !== null), 'every leg reached an outcome');
  const c = await day(43);
  assert.notDeepEqual(c.legs, a.legs);
});
