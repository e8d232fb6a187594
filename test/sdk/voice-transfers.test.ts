/**
 * Transfers that move the call, and outbound calls (issue 15 gaps; docs/voice.md "Transfers" and
 * "Outbound calls"), through the unmodified `twilio-taskrouter` package in Node against the real
 * server whose telephone network is the simulated one, in virtual time:
 *
 * - a caller is bridged to Ben by `reservation.conference()`; Ben transfers the task WARM to Asha
 *   (she answers with `conference`: her leg joins the live conference, three-way; Ben then leaves)
 *   or COLD to the Hindi queue (Asha answers with `dequeue`: she joins the live conference, Ben's
 *   leg is removed) — the caller ends up in the room with the target (`network.conference(T)`);
 * - a COLD transfer to Asha answered with `conference`, then her WARM transfer of that task to the
 *   English queue answered by Ben with `dequeue`: both join the same live conference;
 * - a COLD transfer whose target does not answer times out and leaves the caller with Ben;
 * - the caller hanging up ends every leg in the room and wraps both tasks;
 * - a call bridged by `dequeue` cannot be transferred: 400 naming `reservation.conference()`;
 * - `worker.createTask(to, from, …)` then `reservation.conference()`: Ben's leg opens the conference,
 *   then the customer is dialed into it (answered: in the room, held, then transferred COLD to
 *   Asha like an inbound call; busy: the call ends, the task wraps);
 *   a bad `outbound_to` is refused; an outbound call whose customer is still being dialed cannot be
 *   transferred (400; the customer is dialed once);
 * - the caller hanging up while the transfer task still waits in its queue cancels it (`hangup`),
 *   failing the transfer;
 * - a transfer task of a live conference call answered with `call`: 400 naming `conference()`/`dequeue()`;
 * - WARM: the target kicks the first worker from the transfer task;
 * - an outbound call's customer hanging up first while a transfer of it waits: the call ends, the
 *   transfer task is canceled (`hangup`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import twilio from 'twilio';
import taskrouter from 'twilio-taskrouter';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { SimulatedVoiceNetwork } from '../../src/voice/simulated-voice.ts';
import { CENTER_NUMBER, ENGLISH_AGENT, HINDI_AGENT, startVoiceCenter, type VoiceCenter } from '../voice/support.ts';
import { stopWorker } from './harness.ts';

type SdkWorker = InstanceType<typeof taskrouter.Worker>;

interface Task {
  sid: string;
  attributes: Record<string, unknown>;
  transfer: (to: string, o?: object) => Promise<unknown>;
  updateParticipant: (o: object) => Promise<unknown>;
  hold: (wk: string, onHold: boolean, o?: object) => Promise<unknown>;
  kick: (wk: string) => Promise<unknown>;
}
interface Reservation {
  sid: string;
  status: string;
  task: Task;
  conference: (o?: object) => Promise<unknown>;
  dequeue: (o?: object) => Promise<unknown>;
  on: (e: string, f: (...a: unknown[]) => void) => unknown;
}

const CUSTOMER = '+15557654321';

interface Center {
  c: VoiceCenter;
  network: SimulatedVoiceNetwork;
  ben: SdkWorker;
  asha: SdkWorker;
  queues: { hindi: string; english: string };
  close: () => Promise<void>;
}

/** The voice center on the simulated network (phones answer after 3 s), Ben and Asha connected through the SDK, Asha offline. */
async function start(): Promise<Center> {
  const scheduler = new VirtualScheduler(Date.now());
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 5, agentRingMinSeconds: 3, agentRingMaxSeconds: 3, customerTalkSeconds: 120 });
  const c = await startVoiceCenter(network, { scheduler });
  const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
  await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.offline });
  const queues = Object.fromEntries((await wsApi.taskQueues.list()).map((q) => [q.friendlyName.toLowerCase(), q.sid])) as Center['queues'];
  c.client.api.baseUrl = c.base;
  const key = await c.client.newKeys.create({ friendlyName: 'agents' });
  const port = new URL(c.base).port;
  const connect = async (workerSid: string, identity: string): Promise<SdkWorker> => {
    const token = new twilio.jwt.AccessToken(c.accountSid, key.sid, key.secret, { identity, ttl: 3600 });
    token.addGrant(new twilio.jwt.AccessToken.TaskRouterGrant({ workspaceSid: c.workspaceSid, workerSid, role: 'worker' }));
    const w = new taskrouter.Worker(token.toJwt(), { ebServer: `${c.base}/v1/wschannels`, wsServer: `ws://127.0.0.1:${port}/v1/wschannels`, logLevel: 'silent' });
    await once(w, 'ready');
    return w;
  };
  const ben = await connect(c.workers.english, 'ben');
  const asha = await connect(c.workers.hindi, 'asha');
  return {
    c,
    network,
    ben,
    asha,
    queues,
    close: async () => {
      stopWorker(ben);
      stopWorker(asha);
      await c.close();
    },
  };
}

/** Runs `fn` in a new center ({@link start}), closed afterwards whatever happens. */
async function inCenter(fn: (t: Center) => Promise<void>): Promise<void> {
  const t = await start();
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

const advance = (t: Center, ms: number): Promise<void> => t.c.scheduler.advance(ms);
const ws = (t: Center) => t.c.client.taskrouter.v1.workspaces(t.c.workspaceSid);
const status = async (t: Center, taskSid: string): Promise<string> => (await ws(t).tasks(taskSid).fetch()).assignmentStatus;
const attributes = async (t: Center, taskSid: string): Promise<Record<string, unknown>> => JSON.parse((await ws(t).tasks(taskSid).fetch()).attributes) as Record<string, unknown>;
const roles = (t: Center, name: string): string[] => (t.network.conference(name)?.participants ?? []).map((p) => `${p.role}:${p.callSid}`);

/** A caller presses 2 (English); Ben answers with `conference`: resolves once the caller and Ben's leg are in the task's room. */
async function conferenceCall(t: Center, caller: { hangupAfterSeconds?: number } = {}): Promise<{ r1: Reservation; callSid: string; benLeg: string }> {
  const offered = once(t.ben, 'reservationCreated') as Promise<[Reservation]>;
  const callSid = t.network.placeCall({ from: '+15551230001', to: CENTER_NUMBER, digits: ['2'], talkSeconds: 3600, ...caller });
  await advance(t, 30_000);
  const [r1] = await offered;
  const accepted = once(r1 as unknown as NodeJS.EventEmitter, 'accepted');
  await r1.conference({ from: CENTER_NUMBER });
  await advance(t, 10_000);
  await accepted;
  const benLeg = t.network.legs().find((l) => l.to === ENGLISH_AGENT)?.callSid as string;
  assert.deepEqual(roles(t, r1.task.sid), [`customer:${callSid}`, `worker:${benLeg}`]);
  return { r1, callSid, benLeg };
}

/** Asha becomes Available and Ben transfers; resolves with her reservation of the transfer task. */
async function transferToAsha(t: Center, r1: Reservation, to: string, mode: 'WARM' | 'COLD'): Promise<Reservation> {
  const offered = once(t.asha, 'reservationCreated') as Promise<[Reservation]>;
  await ws(t).workers(t.c.workers.hindi).update({ activitySid: t.c.activities.available });
  await r1.task.transfer(to, { mode });
  const [r2] = await offered;
  return r2;
}

test('a WARM transfer to a worker: the target joins the live conference (three-way), Ben leaves, the caller stays with Asha; hold works on the transfer task; the caller hanging up ends every leg and wraps both tasks', () =>
  inCenter(async (t) => {
    const { r1, callSid, benLeg } = await conferenceCall(t, { hangupAfterSeconds: 600 });
    const T = r1.task.sid;
    const r2 = await transferToAsha(t, r1, t.c.workers.hindi, 'WARM');
    const T2 = r2.task.sid;
    assert.notEqual(T2, T);
    const accepted = once(r2 as unknown as NodeJS.EventEmitter, 'accepted');
    await r2.conference({ from: CENTER_NUMBER });
    await advance(t, 10_000);
    await accepted;
    const ashaLeg = t.network.legs().find((l) => l.to === HINDI_AGENT);
    assert.ok(ashaLeg !== undefined);
    assert.equal(ashaLeg.callerCallSid, callSid, 'placed for the same caller');
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${benLeg}`, `worker:${ashaLeg.callSid}`], 'three-way in the original conference');
    assert.equal(t.network.conference(T2), undefined, 'no second conference: the caller was not moved');
    const a2 = await attributes(t, T2);
    assert.equal(a2['worker_call_sid'], ashaLeg.callSid);
    assert.deepEqual(a2['conference'], { sid: T, participants: { worker: ashaLeg.callSid, customer: callSid } });
    assert.equal(await status(t, T), 'assigned', 'WARM: Ben keeps his task');

    // The caller on hold through the transfer task's bridge, and back.
    await r2.task.updateParticipant({ hold: true });
    await advance(t, 1_000);
    assert.equal(t.network.conference(T)?.participants[0]?.onHold, true);
    await r2.task.updateParticipant({ hold: false });
    // Ben leaves (kicked through his own task): the conference goes on with the caller and Asha.
    await r1.task.kick(t.c.workers.english);
    await advance(t, 1_000);
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${ashaLeg.callSid}`]);
    assert.deepEqual(t.network.conference(T)?.participants.map((p) => p.talking), [true, true]);
    assert.equal(await status(t, T), 'wrapping', "Ben's call is over");
    assert.equal(await status(t, T2), 'assigned');
    // Asha's leg held from the transfer task.
    await r2.task.hold(t.c.workers.hindi, true);
    await advance(t, 1_000);
    assert.deepEqual(t.network.conference(T)?.participants.map((p) => [p.role, p.onHold]), [['customer', false], ['worker', true]]);
    await r2.task.hold(t.c.workers.hindi, false);

    // The caller hangs up: every leg ends, the transfer task wraps too.
    await advance(t, 600_000);
    assert.notEqual(t.network.call(callSid)?.endedAt, null);
    assert.ok(t.network.legs().every((l) => l.endedAt !== null), 'every leg ended');
    assert.equal(t.network.conference(T), undefined);
    assert.equal(await status(t, T2), 'wrapping');
  }));

test('a COLD transfer to a queue answered with dequeue: Asha joins the live conference and Ben is removed; the caller talks to Asha; kicking her ends the transfer task', () =>
  inCenter(async (t) => {
    const { r1, callSid, benLeg } = await conferenceCall(t);
    const T = r1.task.sid;
    const r2 = await transferToAsha(t, r1, t.queues.hindi, 'COLD');
    const accepted = once(r2 as unknown as NodeJS.EventEmitter, 'accepted');
    await r2.dequeue({ from: CENTER_NUMBER });
    await advance(t, 10_000);
    await accepted;
    const ashaLeg = t.network.legs().find((l) => l.to === HINDI_AGENT);
    assert.ok(ashaLeg !== undefined);
    assert.equal(ashaLeg.instruction, 'dequeue');
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${ashaLeg.callSid}`], 'the caller is with Asha only');
    assert.deepEqual(t.network.conference(T)?.participants.map((p) => p.talking), [true, true]);
    assert.notEqual(t.network.legs().find((l) => l.callSid === benLeg)?.endedAt, null, "Ben's leg ended");
    assert.equal(t.network.call(callSid)?.endedAt, null, 'the caller is still on the line');
    assert.equal(await status(t, T), 'wrapping');
    assert.equal(await status(t, r2.task.sid), 'assigned');
    assert.deepEqual((await attributes(t, r2.task.sid))['conference'], { sid: T, participants: { worker: ashaLeg.callSid, customer: callSid } });

    // Participant routes work on the transfer task's bridge: Asha kicked, her task wraps.
    await r2.task.kick(t.c.workers.hindi);
    await advance(t, 1_000);
    assert.deepEqual(roles(t, T), [`customer:${callSid}`]);
    assert.equal(await status(t, r2.task.sid), 'wrapping');
  }));

test('a COLD transfer to a worker answered with conference, then a WARM transfer of the transfer task to a queue: each target joins the same live conference', () =>
  inCenter(async (t) => {
    const { r1, callSid, benLeg } = await conferenceCall(t);
    const T = r1.task.sid;
    const r2 = await transferToAsha(t, r1, t.c.workers.hindi, 'COLD');
    const ashaLeg = await ashaJoins(t, r2);
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${ashaLeg}`], 'COLD: the caller is with Asha only');
    assert.notEqual(t.network.legs().find((l) => l.callSid === benLeg)?.endedAt, null);
    assert.equal(await status(t, T), 'wrapping');
    await ws(t).tasks(T).update({ assignmentStatus: 'completed' });

    // Asha hands the call on, WARM, to the English queue: Ben answers with dequeue and joins the same room.
    const offered = once(t.ben, 'reservationCreated') as Promise<[Reservation]>;
    await r2.task.transfer(t.queues.english, { mode: 'WARM' });
    const [r3] = await offered;
    const accepted = once(r3 as unknown as NodeJS.EventEmitter, 'accepted');
    await r3.dequeue({ from: CENTER_NUMBER });
    await advance(t, 10_000);
    await accepted;
    const benAgain = t.network.legs().filter((l) => l.to === ENGLISH_AGENT).at(-1)?.callSid as string;
    assert.notEqual(benAgain, benLeg);
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${ashaLeg}`, `worker:${benAgain}`], 'WARM: three-way in the original conference');
    assert.deepEqual((await attributes(t, r3.task.sid))['conference'], { sid: T, participants: { worker: benAgain, customer: callSid } });
    assert.equal(await status(t, r2.task.sid), 'assigned', 'WARM: Asha keeps her task');
  }));

test('a COLD transfer whose target does not answer: the reservation times out, the transfer fails, the caller stays with Ben', () =>
  inCenter(async (t) => {
    const { r1, callSid, benLeg } = await conferenceCall(t);
    const T = r1.task.sid;
    t.network.scriptAgent(HINDI_AGENT, ['no-answer']);
    const r2 = await transferToAsha(t, r1, t.c.workers.hindi, 'COLD');
    const timedOut = once(r2 as unknown as NodeJS.EventEmitter, 'timeout');
    await r2.conference({ from: CENTER_NUMBER, timeout: 20 });
    await advance(t, 30_000);
    await timedOut;
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${benLeg}`]);
    assert.equal(await status(t, T), 'assigned');
    const transfer = [...(t.c.runtime.workspace(t.c.accountSid, t.c.workspaceSid)?.transfers.values() ?? [])][0];
    assert.equal(transfer?.status, 'failed');
  }));

test('a call bridged by dequeue cannot be transferred: 400 naming reservation.conference(), nothing changes', () =>
  inCenter(async (t) => {
    const offered = once(t.ben, 'reservationCreated') as Promise<[Reservation]>;
    const callSid = t.network.placeCall({ from: '+15551230001', to: CENTER_NUMBER, digits: ['2'], talkSeconds: 3600 });
    await advance(t, 30_000);
    const [r1] = await offered;
    await r1.dequeue({ from: CENTER_NUMBER });
    await advance(t, 10_000);
    assert.notEqual(t.network.call(callSid)?.bridgedAt, null);
    await assert.rejects(r1.task.transfer(t.c.workers.hindi, { mode: 'COLD' }), /400.*dequeue.*no conference to move the caller through.*reservation\.conference\(\)/);
    const engine = t.c.runtime.workspace(t.c.accountSid, t.c.workspaceSid);
    assert.equal(engine?.transfers.size, 0, 'no transfer made');
    assert.equal((await ws(t).tasks.list()).length, 1, 'no transfer task');
    assert.equal(t.network.call(callSid)?.endedAt, null);
  }));

/** Ben dials the customer (who will answer) and answers with `conference`; resolves once his reservation is accepted (his leg in, the customer being dialed). */
async function outboundAccepted(t: Center): Promise<Reservation> {
  t.network.scriptAgent(CUSTOMER, ['answer']);
  const r = await dial(t, CUSTOMER);
  const accepted = once(r as unknown as NodeJS.EventEmitter, 'accepted');
  await r.conference();
  await advance(t, 4_000);
  await accepted;
  return r;
}

/** Asha answers the transfer task's reservation `r2` with `conference`; resolves once it is accepted (her leg joined the room), with her leg's call SID. */
async function ashaJoins(t: Center, r2: Reservation): Promise<string> {
  const accepted = once(r2 as unknown as NodeJS.EventEmitter, 'accepted');
  await r2.conference({ from: CENTER_NUMBER });
  await advance(t, 10_000);
  await accepted;
  return t.network.legs().find((l) => l.to === HINDI_AGENT)?.callSid as string;
}

/** Ben dials `to` from the SDK (`worker.createTask`) and answers its reservation with `conference`. */
async function dial(t: Center, to: string): Promise<Reservation> {
  const offered = once(t.ben, 'reservationCreated') as Promise<[Reservation]>;
  const taskSid = await (t.ben as unknown as { createTask: (...a: unknown[]) => Promise<string> }).createTask(to, CENTER_NUMBER, t.c.workflowSid, t.queues.english, { taskChannelUniqueName: 'voice' });
  const [r] = await offered;
  assert.equal(r.task.sid, taskSid);
  assert.deepEqual([r.task.attributes['outbound_to'], r.task.attributes['from']], [to, CENTER_NUMBER]);
  return r;
}

test('an outbound call answered: Ben joins the conference first, then the customer is dialed into it with the task\'s caller ID; hold works; a COLD transfer hands the customer to Asha; the end of the call wraps her task', () =>
  inCenter(async (t) => {
    const r = await outboundAccepted(t);
    const [benLeg, customerLeg] = t.network.legs();
    assert.equal(benLeg?.to, ENGLISH_AGENT);
    assert.deepEqual([customerLeg?.to, customerLeg?.from, customerLeg?.placedAt !== undefined && benLeg?.answeredAt !== null && customerLeg.placedAt >= (benLeg?.answeredAt ?? Infinity)], [CUSTOMER, CENTER_NUMBER, true], 'the customer is dialed once Ben is in');
    await advance(t, 5_000);
    assert.deepEqual(roles(t, r.task.sid), [`customer:${customerLeg?.callSid}`, `worker:${benLeg?.callSid}`]);
    const attrs = await attributes(t, r.task.sid);
    assert.equal(attrs['call_sid'], customerLeg?.callSid);
    assert.deepEqual(attrs['conference'], { sid: r.task.sid, participants: { worker: benLeg?.callSid, customer: customerLeg?.callSid } });
    await r.task.updateParticipant({ hold: true });
    await advance(t, 1_000);
    assert.equal(t.network.conference(r.task.sid)?.participants[0]?.onHold, true);
    await r.task.updateParticipant({ hold: false });

    // Transferred COLD to Asha like an inbound call: she joins, Ben leaves, the customer stays.
    const r2 = await transferToAsha(t, r, t.c.workers.hindi, 'COLD');
    const ashaLeg = await ashaJoins(t, r2);
    assert.deepEqual(roles(t, r.task.sid), [`customer:${customerLeg?.callSid}`, `worker:${ashaLeg}`]);
    assert.notEqual(t.network.legs().find((l) => l.callSid === benLeg?.callSid)?.endedAt, null, "Ben's leg ended");
    assert.equal(t.network.call(customerLeg?.callSid as string)?.endedAt, null, 'the customer is still on the line');
    assert.equal(await status(t, r.task.sid), 'wrapping');
    assert.equal(await status(t, r2.task.sid), 'assigned');
    // The conversation with Asha ends (120 s): every leg ends, her task wraps.
    await advance(t, 130_000);
    assert.ok(t.network.legs().every((l) => l.endedAt !== null));
    assert.equal(await status(t, r2.task.sid), 'wrapping');
  }));

test('an outbound call not answered (busy): the worker leg ends and the task wraps; a bad outbound_to is refused', () =>
  inCenter(async (t) => {
    t.network.scriptAgent(CUSTOMER, ['busy']);
    const r = await dial(t, CUSTOMER);
    const wrapped = once(r as unknown as NodeJS.EventEmitter, 'wrapup');
    await r.conference();
    await advance(t, 10_000);
    await wrapped;
    const [benLeg, customerLeg] = t.network.legs();
    assert.equal(customerLeg?.outcome, 'busy');
    assert.notEqual(benLeg?.endedAt, null, "Ben's leg ended");
    assert.equal(t.network.conference(r.task.sid), undefined);
    assert.equal(await status(t, r.task.sid), 'wrapping');

    await ws(t).tasks(r.task.sid).update({ assignmentStatus: 'completed' });
    await ws(t).workers(t.c.workers.english).update({ activitySid: t.c.activities.available });
    const bad = await dial(t, '5551234');
    await assert.rejects(bad.conference(), /400.*outbound_to.*E\.164/);
    assert.equal(t.network.legs().length, 2, 'nothing dialed');
  }));

test('an outbound call cannot be transferred while its customer is being dialed (400, nothing changes; the customer is dialed once); once they answer it can', () =>
  inCenter(async (t) => {
    const r = await outboundAccepted(t);
    assert.deepEqual(t.network.legs().map((l) => [l.to, l.answeredAt === null]), [[ENGLISH_AGENT, false], [CUSTOMER, true]], 'Ben in, the customer ringing');
    await ws(t).workers(t.c.workers.hindi).update({ activitySid: t.c.activities.available });
    await assert.rejects(r.task.transfer(t.c.workers.hindi, { mode: 'COLD' }), /400.*cannot be transferred yet.*has not been answered/);
    const engine = t.c.runtime.workspace(t.c.accountSid, t.c.workspaceSid);
    assert.equal(engine?.transfers.size, 0, 'no transfer made');
    assert.equal((await ws(t).tasks.list()).length, 1, 'no transfer task');
    await advance(t, 5_000);
    assert.equal(t.network.legs().filter((l) => l.to === CUSTOMER).length, 1, 'the customer was dialed once');
    assert.equal(roles(t, r.task.sid).length, 2, 'the customer is in the room with Ben');

    // Answered: the transfer goes through, and Asha's conference joins the room without dialing anyone.
    const offered = once(t.asha, 'reservationCreated') as Promise<[Reservation]>;
    await r.task.transfer(t.c.workers.hindi, { mode: 'COLD' });
    const [r2] = await offered;
    const joined = once(r2 as unknown as NodeJS.EventEmitter, 'accepted');
    await r2.conference({ from: CENTER_NUMBER });
    await advance(t, 10_000);
    await joined;
    assert.equal(t.network.legs().filter((l) => l.to === CUSTOMER).length, 1, 'still dialed once');
    assert.equal(roles(t, r.task.sid).length, 2, 'the customer and Asha');
  }));

test('the caller hangs up while the transfer task still waits in its queue: the transfer task is canceled (hangup), the transfer fails, the original task wraps', () =>
  inCenter(async (t) => {
    const { r1, callSid } = await conferenceCall(t, { hangupAfterSeconds: 120 });
    const T = r1.task.sid;
    // Asha stays offline: the transfer task waits in the Hindi queue.
    await r1.task.transfer(t.queues.hindi, { mode: 'WARM' });
    const engine = t.c.runtime.workspace(t.c.accountSid, t.c.workspaceSid);
    const transfer = [...(engine?.transfers.values() ?? [])][0];
    assert.ok(transfer !== undefined);
    assert.equal(await status(t, transfer.transferTaskSid), 'pending');
    await advance(t, 200_000);
    assert.notEqual(t.network.call(callSid)?.endedAt, null, 'the caller hung up');
    const t2 = await ws(t).tasks(transfer.transferTaskSid).fetch();
    assert.deepEqual([t2.assignmentStatus, t2.reason], ['canceled', 'hangup']);
    assert.equal(transfer.status, 'failed');
    assert.match(transfer.failedReason ?? '', /canceled.*hangup/);
    assert.equal(await status(t, T), 'wrapping');
  }));

test('a transfer task of a call in a live conference cannot be answered with call: 400 naming conference() and dequeue(), the reservation stays pending', () =>
  inCenter(async (t) => {
    const { r1 } = await conferenceCall(t);
    const r2 = await transferToAsha(t, r1, t.c.workers.hindi, 'WARM');
    const call = (r2 as unknown as { call: (from: string, url: string, o?: object) => Promise<unknown> }).call(CENTER_NUMBER, 'https://app.example.com/twiml', { accept: true });
    await assert.rejects(call, /400.*transfer.*reservation\.conference\(\) or reservation\.dequeue\(\)/);
    assert.equal((await ws(t).tasks(r2.task.sid).reservations(r2.sid).fetch()).reservationStatus, 'pending');
    assert.equal(t.network.legs().filter((l) => l.to === HINDI_AGENT).length, 0, "Asha's phone was not rung");
  }));

test('WARM: the target kicks the first worker from the transfer task (task.kick on T2): his leg leaves the room, his task wraps, the caller stays with Asha', () =>
  inCenter(async (t) => {
    const { r1, callSid, benLeg } = await conferenceCall(t);
    const T = r1.task.sid;
    const r2 = await transferToAsha(t, r1, t.c.workers.hindi, 'WARM');
    const ashaLeg = await ashaJoins(t, r2);
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${benLeg}`, `worker:${ashaLeg}`]);
    await r2.task.kick(t.c.workers.english);
    await advance(t, 1_000);
    assert.deepEqual(roles(t, T), [`customer:${callSid}`, `worker:${ashaLeg}`]);
    assert.notEqual(t.network.legs().find((l) => l.callSid === benLeg)?.endedAt, null, "Ben's leg ended");
    assert.equal(await status(t, T), 'wrapping');
    assert.equal(await status(t, r2.task.sid), 'assigned');
  }));

test('an outbound call whose customer hangs up first, while a transfer of it waits in a queue: the worker leg ends, the task wraps, the transfer task is canceled (hangup)', () =>
  inCenter(async (t) => {
    const r = await outboundAccepted(t);
    await advance(t, 5_000);
    const [benLeg, customerLeg] = t.network.legs();
    assert.equal(roles(t, r.task.sid).length, 2, 'the customer is in the room with Ben');
    // Asha stays offline: the transfer task waits in the Hindi queue.
    await r.task.transfer(t.queues.hindi, { mode: 'WARM' });
    const transfer = [...(t.c.runtime.workspace(t.c.accountSid, t.c.workspaceSid)?.transfers.values() ?? [])][0];
    assert.ok(transfer !== undefined);
    // The customer talks 120 s, then hangs up.
    await advance(t, 130_000);
    assert.notEqual(t.network.call(customerLeg?.callSid as string)?.endedAt, null, 'the customer hung up');
    assert.notEqual(t.network.legs().find((l) => l.callSid === benLeg?.callSid)?.endedAt, null, "Ben's leg ended");
    assert.equal(await status(t, r.task.sid), 'wrapping');
    const t2 = await ws(t).tasks(transfer.transferTaskSid).fetch();
    assert.deepEqual([t2.assignmentStatus, t2.reason], ['canceled', 'hangup']);
    assert.equal(transfer.status, 'failed');
  }));
