/**
 * Done marks of delivered webhooks are written in batches (src/store/sqlite-store.ts
 * markOutboxDone): this store's outbox reads treat a marked row as done at once; the marks reach
 * the file with the next commit or after OUTBOX_MARK_DELAY_MS; a process that dies first sends the
 * row again (at-least-once). The due-row queries read the lane heads through indexes.
 *
 * SQLite only: this is SqliteStore's own machinery (its file, WAL and syncs), so the file is not in
 * `npm run test:postgres`; what both stores promise is test/store/contract.test.ts, run on both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { OUTBOX_MARK_DELAY_MS, SqliteStore } from '../../src/store/sqlite-store.ts';

const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);
const WS = ['WS' + 'a'.repeat(32), 'WS' + 'b'.repeat(32)];

/** A store with two workspaces; each has 3 event rows and 1 assignment row, all due at T0. */
async function seeded(path: string): Promise<SqliteStore> {
  const store = SqliteStore.open(path, { checkpoint: 'inline' });
  const accountSid = `AC${'3'.repeat(32)}`;
  await store.insertAccount({ sid: accountSid, friendlyName: 'T', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
  for (const ws of WS) {
    const rows = [1, 2, 3].map((n) => ({ kind: 'event', payload: `${ws}-e${n}`, dueAt: T0 }));
    await store.createWorkspace({ sid: ws, accountSid, sidSeed: 1, createOptions: {} }, [], [...rows, { kind: 'assignment', payload: `${ws}-a`, dueAt: T0 }]);
  }
  return store;
}

test('a marked row is done for this store at once, on disk after the next commit, and sent again after a crash before that', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'switchboard-marks-')), 'db.sqlite');
  const store = await seeded(path);
  assert.deepEqual(await store.dueLanes('event', T0), WS);
  const head = await store.outboxHead(WS[0] as string, 'event');
  assert.equal(head?.payload, `${WS[0]}-e1`);
  store.markOutboxDone(head?.id as number, 1, T0, { workspaceSid: WS[0] as string, kind: 'event' });
  assert.equal((await store.outboxHead(WS[0] as string, 'event'))?.payload, `${WS[0]}-e2`, 'the lane moves on at once');
  const assignment = (await store.dueOutbox('assignment', T0, 10))[0];
  store.markOutboxDone(assignment?.id as number, 1, T0);
  assert.deepEqual((await store.dueOutbox('assignment', T0, 10)).map((r) => r.payload), [`${WS[1]}-a`], 'a marked assignment row is not due any more');

  // The process dies now: nothing of the marks reached the file.
  const crashed = SqliteStore.open(path, { checkpoint: 'inline' });
  assert.equal((await crashed.outboxHead(WS[0] as string, 'event'))?.payload, `${WS[0]}-e1`, 'sent again after a crash');
  assert.equal((await crashed.dueOutbox('assignment', T0, 10)).length, 2);
  crashed.close();

  // A commit takes the marks along.
  store.commit([{ workspaceSid: WS[1] as string, seq: 1, command: { type: 'tick', at: T0 }, events: [], outbox: [] }]);
  const reopened = SqliteStore.open(path, { checkpoint: 'inline' });
  assert.equal((await reopened.outboxHead(WS[0] as string, 'event'))?.payload, `${WS[0]}-e2`);
  assert.equal(await reopened.pendingOutbox(), 6);
  reopened.close();
  store.close();
});

test('without a commit the marks are written after the delay; a lane whose due rows are all marked is not due', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'switchboard-marks-')), 'db.sqlite');
  const store = await seeded(path);
  for (let n = 0; n < 3; n++) {
    const head = await store.outboxHead(WS[1] as string, 'event');
    store.markOutboxDone(head?.id as number, 1, T0, { workspaceSid: WS[1] as string, kind: 'event' });
  }
  assert.equal(await store.outboxHead(WS[1] as string, 'event'), undefined);
  assert.deepEqual(await store.dueLanes('event', T0), [WS[0]], 'the emptied lane is not due');
  await sleep(OUTBOX_MARK_DELAY_MS * 5);
  const other = SqliteStore.open(path, { checkpoint: 'inline' });
  assert.equal(await other.outboxHead(WS[1] as string, 'event'), undefined, 'written without a commit');
  other.close();
  await store.rescheduleOutbox((await store.outboxHead(WS[0] as string, 'event'))?.id as number, 1, T0 + 5_000);
  assert.deepEqual(await store.dueLanes('event', T0), [], 'a lane whose head waits for a retry is not due');
  assert.deepEqual(await store.dueLanes('event', T0 + 5_000), [WS[0]]);
  store.close();
});
