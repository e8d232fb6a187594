/**
 * Transfers through the unmodified `twilio-taskrouter` SDK (issue 15 item 2; spec
 * voice-worker-sdk-console.md B3/B4): `task.transfer(to, {mode})` to a worker (COLD: the
 * original wraps once the target accepts) and to a queue (WARM: an attempt that fails, then
 * another worker accepts; the original keeps its reservation), `outgoingTransfer.cancel()`, the
 * target's `reservation.transfer` / `task.transfers.incoming`, and the participant routes
 * refused with a 400 naming them. Virtual time (harness.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { next, startSdkHarness, stopWorker, type SdkHarness, type SdkWorker } from './harness.ts';

let h: SdkHarness;
before(async () => {
  h = await startSdkHarness();
});
after(async () => {
  await h.close();
});

interface Transfer {
  sid: string;
  status: string;
  mode: string;
  type: string;
  to: string;
  workerSid: string;
  reservationSid: string;
  on: (e: string, f: (...a: unknown[]) => void) => unknown;
  cancel: () => Promise<Transfer>;
}
interface Task {
  sid: string;
  status: string;
  attributes: Record<string, unknown>;
  transfers: { incoming: Transfer | null; outgoing: Transfer | null };
  transfer: (to: string, o?: object) => Promise<Task>;
  hold: (wk: string, onHold: boolean) => Promise<unknown>;
  kick: (wk: string) => Promise<unknown>;
  on: (e: string, f: (...a: unknown[]) => void) => unknown;
}
interface Reservation {
  sid: string;
  status: string;
  task: Task;
  transfer?: Transfer;
  accept: () => Promise<unknown>;
  reject: (o?: object) => Promise<unknown>;
  on: (e: string, f: (...a: unknown[]) => void) => unknown;
}

const ws = () => h.client.taskrouter.v1.workspaces(h.workspaceSid);

async function available(name: string): Promise<{ w: SdkWorker; wk: string }> {
  const wk = await h.newWorker(name);
  const w = await h.connect(wk);
  await w.activities.get(h.activities.Available)?.setAsCurrent();
  return { w, wk };
}

/** Alice connected with an accepted reservation on a new task; Bob connected, Offline. */
async function aliceOnATask(alice: string, bob: string): Promise<{ a: SdkWorker; b: SdkWorker; aliceSid: string; bobSid: string; reservation: Reservation }> {
  const { w: a, wk: aliceSid } = await available(alice);
  const bobSid = await h.newWorker(bob);
  const b = await h.connect(bobSid);
  const created = next<[Reservation]>(a, 'reservationCreated');
  await ws().tasks.create({ workflowSid: h.workflowSid, attributes: JSON.stringify({ customer: alice }) });
  const [reservation] = await created;
  await reservation.accept();
  return { a, b, aliceSid, bobSid, reservation };
}

async function cleanUp(...workers: SdkWorker[]): Promise<void> {
  for (const w of workers) stopWorker(w);
  for (const t of await ws().tasks.list()) {
    if (t.assignmentStatus === 'pending' || t.assignmentStatus === 'reserved') await ws().tasks(t.sid).update({ assignmentStatus: 'canceled', reason: 'test over' });
    else if (t.assignmentStatus === 'assigned' || t.assignmentStatus === 'wrapping') await ws().tasks(t.sid).update({ assignmentStatus: 'completed', reason: 'test over' });
  }
  for (const w of await ws().workers.list()) if (w.activitySid !== h.activities.Offline) await ws().workers(w.sid).update({ activitySid: h.activities.Offline });
}

test('a cold transfer to a worker: the target gets a reservation carrying the transfer; once it accepts, the original wraps up', async () => {
  const { a, b, aliceSid, bobSid, reservation } = await aliceOnATask('Ann', 'Ben');
  await b.activities.get(h.activities.Available)?.setAsCurrent();
  const offered = next<[Reservation]>(b, 'reservationCreated');
  const initiated = next<[Transfer]>(reservation.task, 'transferInitiated');
  await reservation.task.transfer(bobSid, { mode: 'COLD', attributes: { customer: 'Ann', note: 'billing' } });
  const [outgoing] = await initiated;
  assert.equal(outgoing.status, 'initiated');
  assert.equal(outgoing.mode, 'COLD');
  assert.equal(outgoing.type, 'WORKER');
  assert.equal(outgoing.to, bobSid);
  assert.equal(reservation.task.transfers.outgoing?.sid, outgoing.sid);
  const [incoming] = await offered;
  assert.equal(incoming.transfer?.sid, outgoing.sid);
  assert.equal(incoming.transfer?.workerSid, aliceSid);
  assert.equal(incoming.transfer?.reservationSid, reservation.sid);
  assert.equal(incoming.transfer?.status, 'initiated');
  assert.equal(incoming.task.transfers.incoming?.type, 'WORKER');
  assert.deepEqual(incoming.task.attributes, { customer: 'Ann', note: 'billing' });

  const completed = next(outgoing, 'completed');
  const wrapped = next(reservation, 'wrapup');
  await incoming.accept();
  await completed;
  await wrapped;
  assert.equal(reservation.status, 'wrapping');
  assert.equal((await ws().tasks(reservation.task.sid).fetch()).assignmentStatus, 'wrapping');
  assert.equal((await ws().tasks(incoming.task.sid).fetch()).assignmentStatus, 'assigned');
  const events = await ws().events.list({ taskSid: reservation.task.sid });
  assert.deepEqual(events.map((e) => e.eventType).filter((t) => t.startsWith('task.transfer')).sort(), ['task.transfer-completed', 'task.transfer-initiated']);
  await cleanUp(a, b);
});

test('a warm transfer to a queue: a rejection is an attempt that failed, another worker accepts; the original keeps its reservation', async () => {
  const { a, b, reservation } = await aliceOnATask('Cid', 'Dee');
  await b.activities.get(h.activities.Available)?.setAsCurrent();
  const offered = next<[Reservation]>(b, 'reservationCreated');
  await reservation.task.transfer(h.queueSid, { mode: 'WARM' });
  const [incoming] = await offered;
  assert.equal(incoming.transfer?.type, 'QUEUE');
  assert.equal(incoming.transfer?.to, h.queueSid);
  const outgoing = reservation.task.transfers.outgoing as Transfer;
  const attemptFailed = next(outgoing, 'attemptFailed');
  await incoming.reject({ activitySid: h.activities.Offline });
  await attemptFailed;
  assert.equal(outgoing.status, 'initiated');

  const e = await h.connect(await h.newWorker('Eve'));
  const offeredToEve = next<[Reservation]>(e, 'reservationCreated');
  await e.activities.get(h.activities.Available)?.setAsCurrent();
  const [again] = await offeredToEve;
  assert.equal(again.transfer?.sid, outgoing.sid);
  const completed = next(outgoing, 'completed');
  await again.accept();
  await completed;
  assert.equal(reservation.status, 'accepted');
  assert.equal((await ws().tasks(reservation.task.sid).fetch()).assignmentStatus, 'assigned');
  await cleanUp(a, b, e);
});

test('a transfer to a worker who rejects fails; one canceled by its worker cancels the target\'s reservation', async () => {
  const { a, b, bobSid, reservation } = await aliceOnATask('Fay', 'Gus');
  await b.activities.get(h.activities.Available)?.setAsCurrent();
  let offered = next<[Reservation]>(b, 'reservationCreated');
  await reservation.task.transfer(bobSid);
  let [incoming] = await offered;
  assert.equal(incoming.transfer?.mode, 'WARM');
  const failed = next(reservation.task.transfers.outgoing as Transfer, 'failed');
  await incoming.reject();
  await failed;
  assert.equal(reservation.task.transfers.outgoing?.status, 'failed');
  assert.equal((await ws().tasks(incoming.task.sid).fetch()).assignmentStatus, 'canceled');

  offered = next<[Reservation]>(b, 'reservationCreated');
  await reservation.task.transfer(bobSid);
  [incoming] = await offered;
  const canceledOnBob = next(incoming, 'canceled');
  const outgoing = reservation.task.transfers.outgoing as Transfer;
  const canceled = next(outgoing, 'canceled');
  const after = await outgoing.cancel();
  assert.equal(after.status, 'canceled');
  await canceled;
  await canceledOnBob;
  assert.equal(reservation.status, 'accepted');
  await assert.rejects(outgoing.cancel(), /can no longer be canceled/);
  await assert.rejects(reservation.task.transfer('WQ00000000000000000000000000000000'), /TaskQueue WQ0+ was not found/);
  await cleanUp(a, b);
});

test('without a voice port, hold and kick are refused with a 400 saying so (test/sdk/participants.test.ts: with one)', async () => {
  const { a, b, bobSid, reservation } = await aliceOnATask('Hal', 'Ivy');
  await assert.rejects(reservation.task.hold(bobSid, true), /400\. This server has no voice port/);
  await assert.rejects(reservation.task.kick(bobSid), /400\. This server has no voice port/);
  await cleanUp(a, b);
});
