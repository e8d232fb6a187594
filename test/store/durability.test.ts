/**
 * Group commit with the WAL sync off the committing thread (SqliteStore.commit with onDurable):
 * a batch is visible once written, reported durable in commit order after a sync that began after
 * it, and its webhooks (outbox rows) are handed out only once durable. Without onDurable a commit
 * is durable when it returns.
 *
 * SQLite only: this is SqliteStore's own machinery (its file, WAL and syncs), so the file is not in
 * `npm run test:postgres`; what both stores promise is test/store/contract.test.ts, run on both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore, type CommandRecord } from '../../src/store/sqlite-store.ts';

const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);
const WS = 'WS' + 'c'.repeat(32);

function open(synchronous: 'FULL' | 'NORMAL'): SqliteStore {
  const store = SqliteStore.open(join(mkdtempSync(join(tmpdir(), 'switchboard-durable-')), 'db.sqlite'), { synchronous, checkpoint: 'inline' });
  store.insertAccount({ sid: `AC${'4'.repeat(32)}`, friendlyName: 'T', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
  store.createWorkspace({ sid: WS, accountSid: `AC${'4'.repeat(32)}`, sidSeed: 1, createOptions: {} }, []);
  return store;
}

function batch(seq: number): CommandRecord[] {
  return [{ workspaceSid: WS, seq, command: { type: 'tick', at: T0 + seq }, events: [], outbox: [{ kind: 'assignment', payload: `p${seq}`, dueAt: T0 }] }];
}

test('FULL: written batches are visible at once, durable in commit order, and their webhooks wait for the sync', async () => {
  const store = open('FULL');
  const order: number[] = [];
  const durable = Array.from({ length: 5 }, (_, i) => new Promise<void>((resolve, reject) => {
    store.commit(batch(i + 1), (error) => {
      if (error !== null) reject(error);
      order.push(i + 1);
      resolve();
    });
  }));
  assert.deepEqual(order, [], 'nothing is reported durable before the sync');
  assert.equal((await store.loadWorkspaces())[0]?.commands.length, 5, 'written: this connection reads them');
  assert.deepEqual(await store.dueOutbox('assignment', T0, 10), [], 'no webhook for a row that is not on disk yet');
  assert.equal(await store.outboxHead(WS, 'assignment'), undefined);
  await Promise.all(durable);
  assert.deepEqual(order, [1, 2, 3, 4, 5], 'reported in commit order');
  assert.deepEqual((await store.dueOutbox('assignment', T0, 10)).map((r) => r.payload), ['p1', 'p2', 'p3', 'p4', 'p5']);

  store.commit(batch(6));
  assert.equal((await store.dueOutbox('assignment', T0, 10)).length, 6, 'without onDurable the commit is on disk when it returns');
  store.close();
});

test('close answers the batches still waiting for their sync; NORMAL answers at once', async () => {
  const store = open('FULL');
  const answers: (Error | null)[] = [];
  store.commit(batch(1), (error) => answers.push(error));
  store.commit(batch(2), (error) => answers.push(error));
  store.close();
  assert.deepEqual(answers, [null, null], 'synced and answered by close');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(answers.length, 2, 'and only once');

  const normal = open('NORMAL');
  let called = false;
  normal.commit(batch(1), () => (called = true));
  assert.ok(called, 'NORMAL: nothing to wait for');
  assert.equal((await normal.dueOutbox('assignment', T0, 10)).length, 1);
  normal.close();
});

test("rows another connection committed are handed out; this connection's unsynced rows hold back only what follows them", async () => {
  const store = open('FULL');
  const other = SqliteStore.open(store.path, { checkpoint: 'inline' });
  other.commit(batch(1)); // durable when it returns (no onDurable)
  assert.deepEqual((await store.dueOutbox('assignment', T0, 10)).map((r) => r.payload), ['p1'], 'committed elsewhere: on disk, handed out');
  const durable = new Promise<void>((resolve) => store.commit(batch(2), () => resolve()));
  other.commit(batch(3));
  assert.deepEqual((await store.dueOutbox('assignment', T0, 10)).map((r) => r.payload), ['p1'], 'p2 is not on disk yet, and p3 waits behind it');
  await durable;
  assert.deepEqual((await store.dueOutbox('assignment', T0, 10)).map((r) => r.payload), ['p1', 'p2', 'p3']);
  other.close();
  store.close();
});
