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
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

test('a due snapshot waits until no command came for a while; a long log is snapshotted at once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));
  const scheduler = new VirtualScheduler();
  const rt = Runtime.open({ dataDir, scheduler, snapshotEvery: 10, forceSnapshotAfter: 40 });
  const account = rt.createAccount('Acme');
  const ws = rt.createWorkspace(account.sid, { friendlyName: 'Support' }).engine.workspace.sid;
  const snapshotSeq = (): number => rt.store.loadWorkspaces().find((w) => w.sid === ws)?.snapshotSeq ?? -1;
  let made = 0;
  const create = async (n: number): Promise<void> => {
    const outcomes = await Promise.all(Array.from({ length: n }, () => rt.execute(ws, { type: 'createTaskQueue', friendlyName: `q${made++}` })));
    assert.ok(outcomes.every((o) => o.rejection === null));
  };

  await create(12);
  assert.equal(snapshotSeq(), 0, 'due, but not taken in the same turn as the commit');
  // A command every 40 ms (virtual) for 400 ms: never quiet for 250 ms, so no snapshot yet.
  for (let i = 0; i < 10; i++) {
    await scheduler.advance(40);
    await create(1);
  }
  assert.equal(snapshotSeq(), 0, 'not quiet yet');
  await scheduler.advance(249);
  assert.equal(snapshotSeq(), 0, 'quiet for 249 ms only');
  await scheduler.advance(1);
  assert.equal(snapshotSeq(), 22, 'taken once quiet for 250 ms');

  await create(40);
  assert.equal(snapshotSeq(), 62, 'forceSnapshotAfter commands: taken at once');

  const reopened = Runtime.open({ dataDir, scheduler });
  assert.equal(reopened.workspace(account.sid, ws)?.queues.size, 62);
  reopened.close();
  rt.close();
});

test('by default a busy workspace is not snapshotted before 100,000 logged commands (a snapshot blocks requests)', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-rt-'));
  const rt = Runtime.open({ dataDir, snapshotEvery: 10 });
  const account = rt.createAccount('Acme');
  const ws = rt.createWorkspace(account.sid, { friendlyName: 'Support' }).engine.workspace.sid;
  const outcomes = await Promise.all(Array.from({ length: 60 }, (_, i) => rt.execute(ws, { type: 'createTaskQueue', friendlyName: `q${i}` })));
  assert.ok(outcomes.every((o) => o.rejection === null));
  assert.equal(rt.store.loadWorkspaces().find((w) => w.sid === ws)?.snapshotSeq, 0, '60 commands (6 × snapshotEvery) in one turn: no snapshot yet');
  rt.close();
});
