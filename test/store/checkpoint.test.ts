/**
 * WAL checkpoints off the committing thread (src/store/checkpointer.ts): with `checkpoint:
 * 'worker'` committed pages reach the main database file although this connection never
 * checkpoints below SAFETY_CHECKPOINT_PAGES; with `inline` they stay in the WAL until SQLite's own
 * 1,000-page checkpoint. Either way every commit is readable by the next process.
 *
 * SQLite only: this is SqliteStore's own machinery (its file, WAL and syncs), so the file is not in
 * `npm run test:postgres`; what both stores promise is test/store/contract.test.ts, run on both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkspaceEngine, type Command } from '../../src/engine/index.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import { SequentialSids } from '../../src/util/sid.ts';

const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);

/** Commits `batches` batches of 20 createTask commands (about 100 events each) to a new workspace. */
function load(store: SqliteStore, batches: number): string {
  const accountSid = `AC${'2'.repeat(32)}`;
  store.insertAccount({ sid: accountSid, friendlyName: 'T', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
  const sids = new SequentialSids(3);
  const { engine, events } = WorkspaceEngine.create({ friendlyName: 'W', at: T0, newSid: sids.next, template: 'FIFO' });
  const ws = engine.workspace.sid;
  store.createWorkspace({ sid: ws, accountSid, sidSeed: 3, createOptions: { friendlyName: 'W', at: T0, template: 'FIFO' } }, events);
  let seq = 0;
  for (let b = 0; b < batches; b++) {
    const records = [];
    for (let i = 0; i < 20; i++) {
      const command: Command = { type: 'createTask', at: T0 + b * 100 + i, attributes: JSON.stringify({ b, i, pad: 'x'.repeat(300) }) };
      const out = engine.execute(command);
      assert.equal(out.rejection, null);
      records.push({ workspaceSid: ws, seq: ++seq, command, events: out.events, outbox: [] });
    }
    store.commit(records);
  }
  return ws;
}

test('the checkpointer thread copies committed pages into the database file; inline mode leaves them in the WAL', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-ckpt-'));
  const sizes: Record<string, number> = {};
  for (const mode of ['worker', 'inline'] as const) {
    const path = join(dir, `${mode}.sqlite`);
    const store = SqliteStore.open(path, { checkpoint: mode });
    const before = statSync(path).size;
    const ws = load(store, 20); // ~2,000 events: a few hundred pages, under SQLite's 1,000-page checkpoint
    if (mode === 'worker') {
      for (let waited = 0; (store.checkpointsDone === 0 || statSync(path).size <= before) && waited < 5_000; waited += 20) await sleep(20);
      assert.ok(store.checkpointsDone > 0, 'the checkpointer thread reported a checkpoint');
    } else {
      await sleep(300); // as long as the worker mode may have waited for its first checkpoint
    }
    sizes[mode] = statSync(path).size - before;
    // The process is gone without closing: the next one reads every commit (from the file or the WAL).
    const reopened = SqliteStore.open(path, { checkpoint: 'inline' });
    const stored = (await reopened.loadWorkspaces()).find((w) => w.sid === ws);
    assert.equal(stored?.commands.length, 20 * 20, `${mode}: every committed command is there`);
    reopened.close();
  }
  assert.ok((sizes['worker'] as number) > 100_000, `worker mode: the database file grew by ${sizes['worker']} bytes`);
  assert.equal(sizes['inline'], 0, 'inline mode: no checkpoint below 1,000 WAL pages, the file did not grow');
});
