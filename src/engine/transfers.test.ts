/**
 * Task transfers (transfers.ts): cold to a worker (the original wraps once the target accepts),
 * warm to a queue (an attempt fails, the task routes on, the original stays assigned), a worker
 * target rejecting (the transfer fails), canceling, refusals, a snapshot keeping transfers, and
 * transfers forgotten once both their tasks are purged.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkspaceEngine } from './engine.ts';
import { Fixture, oneFilter } from './test-helpers.ts';

/** Alice holds an accepted reservation on task `t`; Bob and Carol are Offline. */
function accepted(): { fx: Fixture; queue: string; alice: string; bob: string; carol: string } {
  const fx = new Fixture();
  const queue = fx.queue('Support');
  fx.workflow(oneFilter([{ queue }]));
  const alice = fx.worker('alice');
  const bob = fx.worker('bob', {}, 'Offline');
  const carol = fx.worker('carol', {}, 'Offline');
  fx.play([
    [0, { type: 'createTask', attributes: '{"customer":"x"}' }, ['task.created', 'workflow.entered', 'workflow.target-matched', 'task-queue.entered', 'reservation.created'], 't'],
    [1, fx.accept('t', alice), ['reservation.accepted']],
  ]);
  return { fx, queue, alice, bob, carol };
}

const transfer = (fx: Fixture, worker: string, to: string, mode?: 'WARM' | 'COLD') => () => ({
  type: 'transferTask' as const,
  workerSid: worker,
  reservationSid: fx.reservation('t', worker).sid,
  taskSid: fx.$('t'),
  to,
  ...(mode === undefined ? {} : { mode }),
});

describe('transfers', () => {
  test('cold to a worker: a new task reserves the target; once it accepts, the original wraps up', () => {
    const { fx, alice, bob } = accepted();
    fx.ok(fx.setActivity(bob, 'Available')());
    const [out] = fx.play([[3, transfer(fx, alice, bob, 'COLD'), ['task.created', 'reservation.created', 'task.transfer-initiated'], 'tt']]);
    const tr = fx.engine.transfers.get(fx.$('tt'));
    assert.ok(tr !== undefined);
    assert.deepEqual([tr.status, tr.type, tr.mode, tr.to, tr.initiatingWorkerSid, tr.taskSid], ['initiated', 'WORKER', 'COLD', bob, alice, fx.$('t')]);
    const initiated = out?.events.find((e) => e.eventType === 'task.transfer-initiated');
    assert.deepEqual([initiated?.resourceSid, initiated?.data['task_transfer_sid'], initiated?.data['transfer_status']], [fx.$('t'), tr.sid, 'initiated']);
    const newTask = fx.engine.tasks.get(tr.transferTaskSid);
    assert.equal(newTask?.attributesJson, '{"customer":"x"}');
    assert.equal(fx.engine.incomingTransfer(tr.transferTaskSid), tr);
    fx.play([[4, () => ({ type: 'updateReservation', reservationSid: fx.reservation(tr.transferTaskSid, bob).sid, reservationStatus: 'accepted' }), ['reservation.accepted', 'task.transfer-completed', 'task.wrapup', 'reservation.wrapup']]]);
    assert.equal(tr.status, 'completed');
    assert.equal(fx.status('t'), 'wrapping');
    assert.equal(fx.status(tr.transferTaskSid), 'assigned');
  });

  test('warm to a queue: a rejection is an attempt that failed, the task routes on; the original stays assigned', () => {
    const { fx, alice, bob, carol, queue } = accepted();
    fx.ok(fx.setActivity(bob, 'Available')());
    fx.play([[3, transfer(fx, alice, queue), ['task.created', 'task-queue.entered', 'reservation.created', 'task.transfer-initiated'], 'tt']]);
    const tr = fx.engine.transfers.get(fx.$('tt'));
    assert.ok(tr !== undefined);
    assert.deepEqual([tr.type, tr.mode], ['QUEUE', 'WARM']);
    fx.play([[4, () => ({ type: 'updateReservation', reservationSid: fx.reservation(tr.transferTaskSid, bob).sid, reservationStatus: 'rejected', workerActivitySid: fx.activity('Offline') }), ['reservation.rejected', 'worker.activity.update', 'task.transfer-attempt-failed']]]);
    assert.equal(tr.status, 'initiated');
    assert.match(tr.failedReason ?? '', /rejected/);
    assert.ok(fx.ok(fx.setActivity(carol, 'Available')()).events.some((e) => e.eventType === 'reservation.created'));
    fx.play([[6, () => ({ type: 'updateReservation', reservationSid: fx.reservation(tr.transferTaskSid, carol).sid, reservationStatus: 'accepted' }), ['reservation.accepted', 'task.transfer-completed']]]);
    assert.equal(fx.status('t'), 'assigned');
  });

  test('to a worker who rejects: the transfer fails and its task is canceled', () => {
    const { fx, alice, bob } = accepted();
    fx.ok(fx.setActivity(bob, 'Available')());
    fx.play([[3, transfer(fx, alice, bob), ['task.created', 'reservation.created', 'task.transfer-initiated'], 'tt']]);
    const tr = fx.engine.transfers.get(fx.$('tt'));
    assert.ok(tr !== undefined);
    const rejected = fx.ok({ type: 'updateReservation', reservationSid: fx.reservation(tr.transferTaskSid, bob).sid, reservationStatus: 'rejected', workerActivitySid: fx.activity('Offline') });
    const types = rejected.events.map((e) => e.eventType);
    assert.deepEqual(types.filter((t) => t.startsWith('task.')), ['task.transfer-attempt-failed', 'task.canceled', 'task.transfer-failed']);
    assert.equal(tr.status, 'failed');
    assert.equal(fx.status(tr.transferTaskSid), 'canceled');
    assert.equal(fx.status('t'), 'assigned');
  });

  test('the initiating worker cancels; refusals name the field; a snapshot keeps the transfers', () => {
    const { fx, alice, bob, queue } = accepted();
    assert.equal(fx.refuse({ ...transfer(fx, alice, alice)() }).field, 'To');
    assert.equal(fx.refuse({ ...transfer(fx, alice, 'XX123')() }).field, 'To');
    assert.equal(fx.refuse({ ...transfer(fx, alice, queue)(), workerSid: bob }).code, 'not_found');
    assert.equal(fx.refuse({ ...transfer(fx, alice, queue)(), mode: 'HOT' as 'WARM' }).field, 'Mode');
    fx.play([[3, transfer(fx, alice, queue, 'COLD'), ['task.created', 'task-queue.entered', 'task.transfer-initiated'], 'tt']]);
    assert.equal(fx.refuse(transfer(fx, alice, queue)()).code, 'invalid_state');
    const restored = WorkspaceEngine.restore(fx.engine.snapshot(), fx.sids.next);
    assert.deepEqual(restored.transfers.get(fx.$('tt')), fx.engine.transfers.get(fx.$('tt')));
    assert.equal(fx.refuse({ type: 'updateTransfer', transferSid: fx.$('tt'), workerSid: bob, transferStatus: 'canceled' }).code, 'not_found');
    const out = fx.ok({ type: 'updateTransfer', transferSid: fx.$('tt'), workerSid: alice, transferStatus: 'canceled' });
    assert.deepEqual(out.events.map((e) => e.eventType), ['task.canceled', 'task.transfer-canceled']);
    assert.equal(fx.engine.transfers.get(fx.$('tt'))?.status, 'canceled');
    assert.equal(fx.status('t'), 'assigned');
    assert.equal(fx.refuse({ type: 'updateTransfer', transferSid: fx.$('tt'), transferStatus: 'canceled' }).code, 'invalid_state');
  });

  test('a transfer is forgotten once both its tasks are purged, not before; a snapshot then holds none', () => {
    const { fx, alice, bob } = accepted();
    fx.ok(fx.setActivity(bob, 'Available')());
    fx.play([[3, transfer(fx, alice, bob, 'COLD'), ['task.created', 'reservation.created', 'task.transfer-initiated'], 'tt']]);
    const tr = fx.engine.transfers.get(fx.$('tt'))!;
    fx.play([[4, () => ({ type: 'updateReservation', reservationSid: fx.reservation(tr.transferTaskSid, bob).sid, reservationStatus: 'accepted' }), ['reservation.accepted', 'task.transfer-completed', 'task.wrapup', 'reservation.wrapup']]]);
    // The original ends at 10 s and is purged 5 minutes later (spec §5.2); the transfer task lives on.
    fx.ok({ type: 'updateTask', taskSid: fx.$('t'), assignmentStatus: 'completed', reason: 'handed over' });
    fx.tick(320);
    assert.equal(fx.engine.tasks.has(fx.$('t')), false, 'the original is purged');
    assert.equal(fx.engine.transfers.get(tr.sid), tr, 'kept while its transfer task exists');
    assert.equal(fx.engine.incomingTransfer(tr.transferTaskSid), tr);
    fx.ok({ type: 'updateTask', taskSid: tr.transferTaskSid, assignmentStatus: 'completed', reason: 'done' });
    fx.tick(700);
    assert.equal(fx.engine.tasks.has(tr.transferTaskSid), false, 'the transfer task is purged');
    assert.equal(fx.engine.transfers.size, 0);
    assert.equal(fx.engine.outgoingTransfer(fx.$('t')), undefined);
    assert.deepEqual(fx.engine.snapshot().transfers ?? [], []);
  });
});
