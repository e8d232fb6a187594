/**
 * The runtime on a real SQLite file: credentials, group commit, and what survives when the
 * process is gone without closing (the next Runtime.open on the same file rebuilds it); the event
 * listener and a seeded workspace on a scratch database in memory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);


test('auth tokens and API keys authenticate; secrets are not stored in clear', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));
  const rt = await Runtime.open({ ...testStoreOptions(dataDir), scheduler: new VirtualScheduler(T0) });
  const account = await rt.createAccount('Acme');
  const key = await rt.createApiKey(account.sid, 'ci');
  assert.equal(rt.authenticate(account.sid, account.secret), account.sid);
  assert.equal(rt.authenticate(key.sid, key.secret), account.sid);
  assert.equal(rt.authenticate(account.sid, key.secret), null);
  assert.equal(rt.authenticate('ACnope', account.secret), null);
  assert.equal(rt.authToken(account.sid), account.secret, 'the sealed token opens for webhook signing');
  const stored = JSON.stringify(await rt.store.accounts()) + JSON.stringify(await rt.store.apiKeys());
  assert.ok(!stored.includes(account.secret) && !stored.includes(key.secret));
  await rt.close();
});

test('concurrent writes are committed together and survive a crash; timers keep their remaining time', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));
  const rt = await Runtime.open({ ...testStoreOptions(dataDir), scheduler: new VirtualScheduler(T0) }); // its time never moves: its timers never fire
  const account = await rt.createAccount('Acme');
  const { engine } = await rt.createWorkspace(account.sid, { friendlyName: 'Support' });
  const ws = engine.workspace.sid;
  const available = [...engine.activities.values()].find((a) => a.friendlyName === 'Available')?.sid as string;
  const queue = (await rt.execute(ws, { type: 'createTaskQueue', friendlyName: 'All' })).sid as string;
  await rt.execute(ws, { type: 'createWorkflow', friendlyName: 'All', configuration: JSON.stringify({ task_routing: { default_filter: { queue } } }) });
  await rt.execute(ws, { type: 'createWorker', friendlyName: 'Alice', activitySid: available });
  const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => rt.execute(ws, { type: 'createTask', attributes: JSON.stringify({ n: i }) })));
  assert.ok(outcomes.every((o) => o.rejection === null));
  const taskSids = outcomes.map((o) => o.sid as string);
  const reserved = outcomes[0]?.events.find((e) => e.eventType === 'reservation.created');
  assert.ok(reserved !== undefined, 'the first task was offered to Alice');
  const bad = await rt.execute(ws, { type: 'createTask', attributes: '{not json' });
  assert.equal(bad.rejection?.field, 'Attributes');

  // The process dies here: no close(), no snapshot. 30 s later a new process opens the file.
  const later = new VirtualScheduler(T0 + 30_000);
  const after = await Runtime.open({ ...testStoreOptions(dataDir), scheduler: later });
  const restored = after.workspace(account.sid, ws);
  assert.ok(restored !== undefined);
  assert.equal(after.workspace('AC' + '0'.repeat(32), ws), undefined, 'another account does not see it');
  for (const sid of taskSids) assert.ok(restored.tasks.has(sid), `task ${sid} was acknowledged and must exist`);
  assert.equal(restored.tasks.size, 50);
  const reservation = restored.reservations.get(reserved.resourceSid);
  assert.equal(reservation?.reservationStatus, 'pending');
  // The reservation was made at T0 and times out 120 s later: 90 s after the restart, on the
  // restarted runtime's own timer.
  assert.equal(restored.nextDeadline(), T0 + 120_000);
  await later.advanceTo(T0 + 120_000 - 1);
  assert.equal(restored.reservations.get(reserved.resourceSid)?.reservationStatus, 'pending', 'not before its remaining 90 s');
  await later.advanceTo(T0 + 120_000);
  assert.equal(restored.reservations.get(reserved.resourceSid)?.reservationStatus, 'timeout', 'timed out at T0 + 120 s');
  assert.ok((await after.store.events(ws, T0, T0 + 120_001, 1_000)).some((e) => e.eventType === 'reservation.timeout' && e.at === T0 + 120_000), 'and the event is on disk');
  await after.close();
  // `rt` stands for the dead process: it is never closed (closing would write its stale snapshot).
});

test('onEvents hears each durable commit once, with its commands and events in order; a given SID seed gives the same SIDs; OFF is for SQLite only', async () => {
  const run = async (): Promise<{ sids: string[]; heard: string[] }> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));
    const rt = await Runtime.open({ dataDir, databasePath: ':memory:', synchronous: 'OFF', scheduler: new VirtualScheduler(T0) });
    const heard: string[] = [];
    const stop = rt.onEvents(({ records }) => heard.push(records.map((r) => `${r.command.type}:${r.events.map((e) => e.eventType).join(',')}`).join(' ')));
    rt.onEvents(() => {
      throw new Error('a listener that fails does not stop the others or the commit');
    });
    const account = await rt.createAccount('Acme');
    const { engine } = await rt.createWorkspace(account.sid, { friendlyName: 'Support' }, undefined, 42);
    const ws = engine.workspace.sid;
    const queue = (await rt.execute(ws, { type: 'createTaskQueue', friendlyName: 'All' })).sid as string;
    const [a, b] = await Promise.all([rt.execute(ws, { type: 'createTask', taskQueueSid: queue, attributes: '{}' }), rt.execute(ws, { type: 'createTask', taskQueueSid: queue, attributes: '{}' })]);
    stop();
    await rt.execute(ws, { type: 'createTask', taskQueueSid: queue, attributes: '{}' });
    await rt.close();
    return { sids: [ws, queue, a?.sid as string, b?.sid as string], heard };
  };
  const first = await run();
  assert.deepEqual(first.heard, ['createTaskQueue:task-queue.created', 'createTask:task.created,task-queue.entered createTask:task.created,task-queue.entered'], 'one call per batch; none after the unsubscribe');
  assert.deepEqual((await run()).sids, first.sids, 'the same seed, the same SIDs');
  await assert.rejects(Runtime.open({ dataDir: mkdtempSync(join(tmpdir(), 'switchboard-rt-')), databaseUrl: 'postgres://localhost/x', synchronous: 'OFF' }), /synchronous: OFF is for a scratch SQLite database only/);
});
