/**
 * The worker SDK's participant routes over the voice port (issue 15 item 2; spec
 * voice-worker-sdk-console.md B4 and A4 P3), through the unmodified `twilio-taskrouter` package in
 * Node against the real server whose telephone network is the simulated one (virtual time): a
 * caller runs the seed flow into a task, the SDK worker's `reservation.conference()` rings its
 * phone and puts both legs in the task's conference; then `task.updateParticipant({hold})` holds
 * and releases the caller, `task.hold(worker, …)` the worker's leg, `reservation.updateParticipant`
 * mutes it, and `task.kick(worker)` removes it (the leg ends, the task goes to wrapping) — each
 * observed on the simulated network. A `dequeue`-bridged task has no conference: its participant
 * requests are refused 400, naming `reservation.conference()`.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import twilio from 'twilio';
import taskrouter from 'twilio-taskrouter';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { SimulatedVoiceNetwork } from '../../src/voice/simulated-voice.ts';
import { CENTER_NUMBER, ENGLISH_AGENT, startVoiceCenter, type VoiceCenter } from '../voice/support.ts';
import { stopWorker } from './harness.ts';

type SdkWorker = InstanceType<typeof taskrouter.Worker>;
type SdkReservation = Parameters<Parameters<SdkWorker['on']>[1]>[0] & { sid: string; task: { sid: string } };

const HOLD_URL = 'https://music.example.com/hold.mp3';

interface Center {
  c: VoiceCenter;
  network: SimulatedVoiceNetwork;
  worker: SdkWorker;
  close: () => Promise<void>;
}

/** The voice center on the simulated network (agents answer after 3 s), Ben connected through the SDK, Asha offline. */
async function start(): Promise<Center> {
  // The server's virtual clock starts at the wall clock's now: twilio-node stamps tokens from Date.now().
  const scheduler = new VirtualScheduler(Date.now());
  const network = new SimulatedVoiceNetwork({ scheduler, seed: 3, agentRingMinSeconds: 3, agentRingMaxSeconds: 3 });
  const c = await startVoiceCenter(network, { scheduler });
  const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
  await wsApi.workers(c.workers.hindi).update({ activitySid: c.activities.offline });
  c.client.api.baseUrl = c.base;
  const key = await c.client.newKeys.create({ friendlyName: 'agents' });
  const grant = new twilio.jwt.AccessToken.TaskRouterGrant({ workspaceSid: c.workspaceSid, workerSid: c.workers.english, role: 'worker' });
  const token = new twilio.jwt.AccessToken(c.accountSid, key.sid, key.secret, { identity: 'ben', ttl: 3600 });
  token.addGrant(grant);
  const port = new URL(c.base).port;
  const worker = new taskrouter.Worker(token.toJwt(), { ebServer: `${c.base}/v1/wschannels`, wsServer: `ws://127.0.0.1:${port}/v1/wschannels`, logLevel: 'silent' });
  await once(worker, 'ready');
  return {
    c,
    network,
    worker,
    close: async () => {
      stopWorker(worker);
      await c.close();
    },
  };
}

/** A caller presses 2 (English) and holds; resolves with the reservation Ben's SDK is offered, and the caller's CallSid. */
async function callIn(t: Center): Promise<{ reservation: SdkReservation; callSid: string }> {
  const offered = once(t.worker, 'reservationCreated') as Promise<[SdkReservation]>;
  const callSid = t.network.placeCall({ from: '+15551230001', to: CENTER_NUMBER, digits: ['2'], talkSeconds: 3600 });
  await t.c.scheduler.advance(30_000);
  const [reservation] = await offered;
  return { reservation, callSid };
}

/** Lets the dispatcher deliver the outbox rows of the last writes to the network, and the network report back. */
async function deliver(t: Center, ms = 1_000): Promise<void> {
  await t.c.scheduler.advance(ms);
}

test('conference from the SDK: caller and worker leg in the room; the caller held and released, the worker leg held and muted, then kicked (its leg ends, the task wraps up)', async () => {
  const t = await start();
  try {
    const { c, network } = t;
    const wsApi = c.client.taskrouter.v1.workspaces(c.workspaceSid);
    const { reservation, callSid } = await callIn(t);
    const taskSid = reservation.task.sid;
    const accepted = once(reservation as unknown as NodeJS.EventEmitter, 'accepted');
    await (reservation as unknown as { conference: (o: object) => Promise<unknown> }).conference({ from: CENTER_NUMBER });
    await deliver(t, 10_000);
    await accepted;
    assert.equal((await wsApi.tasks(taskSid).reservations(reservation.sid).fetch()).reservationStatus, 'accepted', 'accepted on the bridge');
    const [leg] = network.legs();
    assert.equal(leg?.instruction, 'conference');
    assert.equal(leg?.to, ENGLISH_AGENT);
    const room = network.conference(taskSid);
    assert.deepEqual(room?.participants, [
      { callSid, role: 'customer', onHold: false, muted: false, talking: true },
      { callSid: leg.callSid, role: 'worker', onHold: false, muted: false, talking: true },
    ]);
    const conferenceAttr = (JSON.parse((await wsApi.tasks(taskSid).fetch()).attributes) as Record<string, unknown>)['conference'];
    assert.deepEqual(conferenceAttr, { sid: taskSid, participants: { worker: leg.callSid, customer: callSid } });

    // The caller on hold (task.updateParticipant: CustomerParticipant): hears the hold music, not talking.
    const task = reservation.task as unknown as {
      updateParticipant: (o: object) => Promise<{ sid: string; status: string }>;
      hold: (wk: string, onHold: boolean, o?: object) => Promise<{ sid: string }>;
      kick: (wk: string) => Promise<{ sid: string }>;
    };
    const updated = await task.updateParticipant({ hold: true, holdUrl: HOLD_URL, holdMethod: 'GET' });
    assert.equal(updated.sid, taskSid, 'the SDK got its task back');
    await deliver(t);
    let [customer, agent] = network.conference(taskSid)?.participants ?? [];
    assert.deepEqual([customer?.onHold, customer?.talking, agent?.talking], [true, false, false]);
    const heard = network.call(callSid)?.heard ?? [];
    assert.deepEqual(heard.at(-1)?.verb, { verb: 'play', url: HOLD_URL });
    await task.updateParticipant({ hold: false });
    await deliver(t);
    [customer, agent] = network.conference(taskSid)?.participants ?? [];
    assert.deepEqual([customer?.onHold, customer?.talking, agent?.talking], [false, true, true]);

    // The worker's leg on hold (task.hold: HoldWorkerParticipant), then back; muted (reservation.updateParticipant).
    await task.hold(c.workers.english, true);
    await deliver(t);
    assert.deepEqual(network.conference(taskSid)?.participants.map((p) => [p.role, p.onHold, p.talking]), [['customer', false, false], ['worker', true, false]]);
    assert.equal(network.call(callSid)?.heard.at(-1)?.verb.verb, 'play', 'the caller heard nothing new: the held one is the worker');
    await task.hold(c.workers.english, false);
    await (reservation as unknown as { updateParticipant: (o: object) => Promise<unknown> }).updateParticipant({ mute: true });
    await deliver(t);
    assert.deepEqual(network.conference(taskSid)?.participants.map((p) => [p.role, p.onHold, p.muted]), [['customer', false, false], ['worker', false, true]]);

    // Kicked (KickWorkerParticipant): the worker's leg ends, the caller stays in the room; the call is over for the task.
    await task.kick(c.workers.english);
    await deliver(t);
    assert.deepEqual(network.conference(taskSid)?.participants.map((p) => p.role), ['customer']);
    const ended = network.legs()[0];
    assert.ok(ended?.endedAt !== null, 'the worker leg ended');
    assert.equal(network.call(callSid)?.endedAt, null, 'the caller is still in the room');
    assert.equal((await wsApi.tasks(taskSid).fetch()).assignmentStatus, 'wrapping');
    // Nothing left to change: the bridge is over.
    await assert.rejects(task.hold(c.workers.english, true), /400/);
    assert.deepEqual(network.legs().length, 1, 'no leg placed twice');
  } finally {
    await t.close();
  }
});

test('a dequeue-bridged task has no conference: hold, kick and updateParticipant are refused 400 naming reservation.conference(), and a worker with no leg in the call is named', async () => {
  const t = await start();
  try {
    const { c, network } = t;
    const { reservation, callSid } = await callIn(t);
    await (reservation as unknown as { dequeue: (o: object) => Promise<unknown> }).dequeue({ from: CENTER_NUMBER });
    await deliver(t, 10_000);
    assert.notEqual(network.call(callSid)?.bridgedAt, null, 'bridged by dequeue');
    const task = reservation.task as unknown as { updateParticipant: (o: object) => Promise<unknown>; hold: (wk: string, h: boolean) => Promise<unknown>; kick: (wk: string) => Promise<unknown> };
    await assert.rejects(task.updateParticipant({ hold: true }), /400.*dequeue.*reservation\.conference\(\)/);
    await assert.rejects(task.hold(c.workers.english, true), /400.*reservation\.conference\(\)/);
    await assert.rejects(task.kick(c.workers.english), /400.*reservation\.conference\(\)/);
    await assert.rejects(task.hold(c.workers.hindi, true), /400.*has no leg in the call/);
    assert.equal(network.conference(reservation.task.sid), undefined);
    assert.equal(network.call(callSid)?.endedAt, null, 'the call goes on untouched');
    assert.equal(network.legs()[0]?.endedAt, null);
  } finally {
    await t.close();
  }
});
