/**
 * Snapshots are taken off the request path: once a workspace's log passes `snapshotEvery`
 * commands the snapshot waits for a quiet moment; under sustained load it is taken anyway at
 * `forceSnapshotAfter` commands. Either way a reopened runtime has the same state.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testStoreOptions } from '../support/store.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

test('a due snapshot waits until no command came for a while; a long log is snapshotted at once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));
  const scheduler = new VirtualScheduler();
  const rt = await Runtime.open({ ...testStoreOptions(dataDir), scheduler, snapshotEvery: 10, forceSnapshotAfter: 40 });
  const account = await rt.createAccount('Acme');
  const ws = (await rt.createWorkspace(account.sid, { friendlyName: 'Support' })).engine.workspace.sid;
  // After the writes handed to the store so far (it writes in call order; pendingOutbox waits for them).
  const snapshotSeq = async (): Promise<number> => {
    await rt.store.pendingOutbox();
    return (await rt.store.loadWorkspaces()).find((w) => w.sid === ws)?.snapshotSeq ?? -1;
  };
  let made = 0;
  const create = async (n: number): Promise<void> => {
    const outcomes = await Promise.all(Array.from({ length: n }, () => rt.execute(ws, { type: 'createTaskQueue', friendlyName: `q${made++}` })));
    assert.ok(outcomes.every((o) => o.rejection === null));
  };

  await create(12);
  assert.equal(await snapshotSeq(), 0, 'due, but not taken in the same turn as the commit');
  // A command every 40 ms (virtual) for 400 ms: never quiet for 250 ms, so no snapshot yet.
  for (let i = 0; i < 10; i++) {
    await scheduler.advance(40);
    await create(1);
  }
  assert.equal(await snapshotSeq(), 0, 'not quiet yet');
  await scheduler.advance(249);
  assert.equal(await snapshotSeq(), 0, 'quiet for 249 ms only');
  await scheduler.advance(1);
  assert.equal(await snapshotSeq(), 22, 'taken once quiet for 250 ms');

  await create(40);
  assert.equal(await snapshotSeq(), 62, 'forceSnapshotAfter commands: taken at once');

  const reopened = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  assert.equal(reopened.workspace(account.sid, ws)?.queues.size, 62);
  await reopened.close();
  await rt.close();
});

test('by default a busy workspace is not snapshotted before 100,000 logged commands (a snapshot blocks requests)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));
  const rt = await Runtime.open({ ...testStoreOptions(dataDir), snapshotEvery: 10 });
  const account = await rt.createAccount('Acme');
  const ws = (await rt.createWorkspace(account.sid, { friendlyName: 'Support' })).engine.workspace.sid;
  const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => rt.execute(ws, { type: 'createTaskQueue', friendlyName: `q${i}` })));
  assert.ok(outcomes.every((o) => o.rejection === null));
  assert.equal((await rt.store.loadWorkspaces()).find((w) => w.sid === ws)?.snapshotSeq, 0, '60 commands (6 × snapshotEvery) in one turn: no snapshot yet');
  await rt.close();
});
