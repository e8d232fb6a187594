/**
 * The embedded store on real SQLite files: migrations, one-transaction commits, and rebuilding a
 * workspace after the process is gone — from the command log alone and from a snapshot.
 *
 * SQLite only: this is SqliteStore's own machinery (its file, WAL and syncs), so the file is not in
 * `npm run test:postgres`; what both stores promise is test/store/contract.test.ts, run on both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, test } from 'node:test';
import { WorkspaceEngine, type Command, type EngineEvent } from '../../src/engine/index.ts';
import { rebuildWorkspace } from '../../src/runtime/rebuild.ts';
import { SqliteStore, StoreError } from '../../src/store/sqlite-store.ts';
import { RandomSids } from '../../src/util/sid.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-'));
let n = 0;
const dbPath = (): string => join(dir, `db-${n++}.sqlite`);
const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);

async function account(store: SqliteStore): Promise<string> {
  const sid = `AC${'1'.repeat(32)}`;
  await store.insertAccount({ sid, friendlyName: 'Test', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
  return sid;
}

/** A workspace with a queue, a workflow, a worker, then a task that gets a pending reservation. */
async function scenario(store: SqliteStore, accountSid: string, seed: number): Promise<{ engine: WorkspaceEngine; sids: RandomSids; seq: number; log: EngineEvent[] }> {
  const sids = new RandomSids(seed);
  const createOptions = { friendlyName: 'Support', at: T0 };
  const { engine, events } = WorkspaceEngine.create({ ...createOptions, newSid: sids.next });
  await store.createWorkspace({ sid: engine.workspace.sid, accountSid, sidSeed: seed, createOptions }, events);
  const log: EngineEvent[] = [...events];
  let seq = 0;
  const run = (command: Command): string => {
    const out = engine.execute(command);
    assert.equal(out.rejection, null, out.rejection?.message);
    seq += 1;
    store.commit([{ workspaceSid: engine.workspace.sid, seq, command, events: out.events, outbox: [] }]);
    log.push(...out.events);
    return out.sid as string;
  };
  const available = [...engine.activities.values()].find((a) => a.friendlyName === 'Available')?.sid as string;
  const queue = run({ type: 'createTaskQueue', at: T0, friendlyName: 'Billing' });
  run({ type: 'createWorkflow', at: T0, friendlyName: 'All', configuration: JSON.stringify({ task_routing: { default_filter: { queue } } }) });
  run({ type: 'createWorker', at: T0, friendlyName: 'Alice', activitySid: available });
  run({ type: 'createTask', at: T0 + 1000, attributes: '{"type":"billing"}' });
  return { engine, sids, seq, log };
}

describe('SqliteStore', () => {
  test('a new file gets the current schema; opening it again applies nothing twice', async () => {
    const path = dbPath();
    // The current schema is the highest numbered file in src/store/migrations.
    const latest = Math.max(...readdirSync(new URL('../../src/store/migrations/', import.meta.url)).filter((f) => /^\d{4}-.+\.sql$/.test(f)).map((f) => Number(f.slice(0, 4))));
    assert.ok(latest >= 4, 'migrations 0001–0004 at least');
    const a = SqliteStore.open(path);
    assert.equal(await a.schemaVersion(), latest);
    a.close();
    const b = SqliteStore.open(path);
    assert.equal(await b.schemaVersion(), latest);
    b.close();
  });

  test('migration 0009: outbox payloads move to outbox_payloads, rows keep their ids, marks and lanes; a pruned row takes its payload along', async () => {
    // A database as version 8 left it: outbox rows with their payload inline, one delivered.
    const path = dbPath();
    const migrations = new URL('../../src/store/migrations/', import.meta.url);
    const old = new DatabaseSync(path);
    old.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
    for (const file of readdirSync(migrations).filter((f) => /^000[1-8]-.+\.sql$/.test(f)).sort()) {
      old.exec(readFileSync(new URL(file, migrations), 'utf8'));
      old.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(Number(file.slice(0, 4)), T0);
    }
    const ws = `WS${'9'.repeat(32)}`;
    const big = JSON.stringify({ events: 'x'.repeat(200_000) });
    const insert = old.prepare('INSERT INTO outbox (workspace_sid, kind, payload, attempts, next_attempt_at, delivered_at) VALUES (?, ?, ?, ?, ?, ?)');
    insert.run(ws, 'stream', '{"n":1}', 1, T0, T0 + 5); // delivered
    insert.run(ws, 'stream', big, 2, T0 + 10, null);
    insert.run(ws, 'stream', '{"n":3}', 0, T0 + 20, null);
    old.close();

    const store = SqliteStore.open(path);
    assert.equal(await store.schemaVersion(), 9);
    const lane = await store.outboxLane(ws, 'stream', 10);
    assert.deepEqual(
      lane.map((r) => [r.id, r.payload.length, r.attempts, r.nextAttemptAt]),
      [
        [2, big.length, 2, T0 + 10],
        [3, 7, 0, T0 + 20],
      ],
      'the undelivered rows, with their payloads, attempts and due times',
    );
    assert.equal(lane[0]?.payload, big);
    assert.deepEqual((await store.dueOutbox('stream', T0 + 10, 10)).map((r) => [r.id, r.payload.length]), [[2, big.length]]);
    assert.equal((await store.outboxHead(ws, 'stream'))?.payload, big);
    await store.close();

    const db = new DatabaseSync(path);
    const columns = (db.prepare('PRAGMA table_info(outbox)').all() as { name: string }[]).map((c) => c.name);
    assert.ok(!columns.includes('payload'), `outbox keeps no payload: ${columns.join(', ')}`);
    assert.deepEqual(
      (db.prepare('SELECT id, length(payload) AS n FROM outbox_payloads ORDER BY id').all() as { id: number; n: number }[]).map((r) => [r.id, r.n]),
      [
        [1, 7],
        [2, big.length],
        [3, 7],
      ],
      'every payload moved, the delivered row\'s too',
    );
    db.close();

    // Pruning the delivered row removes its payload; the others stay.
    const again = SqliteStore.open(path);
    assert.equal(await again.pruneOutbox(T0 + 6), 1);
    assert.equal(await again.pendingOutbox(), 2);
    await again.close();
    const after = new DatabaseSync(path);
    assert.deepEqual((after.prepare('SELECT id FROM outbox_payloads ORDER BY id').all() as { id: number }[]).map((r) => r.id), [2, 3]);
    after.close();
  });

  test('a row and its payload are written in the one transaction: a failed batch leaves neither; marks and retries leave the payload as written', async () => {
    const path = dbPath();
    const store = SqliteStore.open(path);
    const accountSid = await account(store);
    const { engine, seq } = await scenario(store, accountSid, 11);
    const ws = engine.workspace.sid;
    const tick: Command = { type: 'tick', at: T0 + 5000 };
    const payload = JSON.stringify({ events: 'y'.repeat(150_000) });
    store.commit([{ workspaceSid: ws, seq: seq + 1, command: tick, events: [], outbox: [{ kind: 'stream', payload, dueAt: T0 }] }]);
    store.beforeCommit = () => {
      throw new Error('disk full');
    };
    assert.throws(() => store.commit([{ workspaceSid: ws, seq: seq + 2, command: tick, events: [], outbox: [{ kind: 'stream', payload: '{"lost":true}', dueAt: T0 }] }]), StoreError);
    store.beforeCommit = null;
    const [row] = await store.outboxLane(ws, 'stream', 10);
    assert.equal(row?.payload, payload);
    await store.rescheduleOutbox(row.id, 1, T0 + 60_000);
    assert.deepEqual((await store.outboxLane(ws, 'stream', 10)).map((r) => [r.id, r.attempts, r.nextAttemptAt, r.payload === payload]), [[row.id, 1, T0 + 60_000, true]]);
    store.markOutboxDone(row.id, 2, T0 + 61_000, { workspaceSid: ws, kind: 'stream' });
    assert.equal(await store.pendingOutbox(), 0);
    await store.close();
    const db = new DatabaseSync(path);
    assert.deepEqual(db.prepare('SELECT o.attempts, o.delivered_at, p.payload = ? AS same FROM outbox o JOIN outbox_payloads p ON p.id = o.id').all(payload).map((r) => ({ ...r })), [
      { attempts: 2, delivered_at: T0 + 61_000, same: 1 },
    ]);
    assert.equal((db.prepare('SELECT COUNT(*) AS n FROM outbox_payloads').get() as { n: number }).n, 1, 'the rolled-back row left no payload');
    db.close();
  });

  test('a workspace rebuilt from its command log after a restart is identical, timers included', async () => {
    const path = dbPath();
    const store = SqliteStore.open(path);
    const original = await scenario(store, await account(store), 42);
    store.close();

    const reopened = SqliteStore.open(path);
    const [stored] = await reopened.loadWorkspaces();
    assert.ok(stored !== undefined);
    assert.equal(stored.commands.length, original.seq);
    const rebuilt = rebuildWorkspace(stored);
    assert.deepEqual(rebuilt.engine.snapshot(), original.engine.snapshot());
    assert.equal(rebuilt.seq, original.seq);
    assert.deepEqual(rebuilt.sids.save(), original.sids.save(), 'the SID generator continues where it was');
    // The pending reservation still times out after its remaining time: 120 s after it was made.
    const due = rebuilt.engine.nextDeadline();
    assert.equal(due, T0 + 1000 + 120_000);
    const fired = rebuilt.engine.advanceTo(due as number);
    assert.deepEqual(
      fired.events.map((e) => e.eventType),
      original.engine.advanceTo(due as number).events.map((e) => e.eventType),
    );
    assert.equal(fired.events[0]?.eventType, 'reservation.timeout');
    // Every event that was committed is stored once.
    const stored_events = await reopened.events(stored.sid, 0, Number.MAX_SAFE_INTEGER, 10_000);
    assert.deepEqual(stored_events.map((e) => e.sid), original.log.map((e) => e.sid));
    reopened.close();
  });

  test('after a snapshot, only later commands are kept and the rebuild starts from the snapshot', async () => {
    const path = dbPath();
    const store = SqliteStore.open(path);
    const original = await scenario(store, await account(store), 7);
    await store.saveSnapshot(original.engine.workspace.sid, original.seq, original.engine.snapshot(), original.sids.save());
    const command: Command = { type: 'createTask', at: T0 + 2000, attributes: '{"type":"sales"}' };
    const out = original.engine.execute(command);
    store.commit([{ workspaceSid: original.engine.workspace.sid, seq: original.seq + 1, command, events: out.events, outbox: [] }]);
    store.close();

    const reopened = SqliteStore.open(path);
    const [stored] = await reopened.loadWorkspaces();
    assert.ok(stored !== undefined);
    assert.equal(stored.snapshotSeq, original.seq);
    assert.deepEqual(stored.commands.map((c) => c.seq), [original.seq + 1]);
    const rebuilt = rebuildWorkspace(stored);
    assert.deepEqual(rebuilt.engine.snapshot(), original.engine.snapshot());
    reopened.close();
  });

  test('a batch that fails half way writes nothing', async () => {
    const store = SqliteStore.open(dbPath());
    const original = await scenario(store, await account(store), 9);
    const ws = original.engine.workspace.sid;
    const before = (await store.loadWorkspaces())[0]?.commands.length;
    const tick: Command = { type: 'tick', at: T0 + 5000 };
    // The second record reuses a sequence number: the primary key refuses it.
    assert.throws(
      () =>
        store.commit([
          { workspaceSid: ws, seq: original.seq + 1, command: tick, events: [], outbox: [{ kind: 'event', payload: '{}', dueAt: T0 }] },
          { workspaceSid: ws, seq: original.seq, command: tick, events: [], outbox: [] },
        ]),
      (e: unknown) => e instanceof StoreError && /rolled back/.test(e.message),
    );
    assert.equal((await store.loadWorkspaces())[0]?.commands.length, before);
    store.close();
  });

  test('scratch databases: `:memory:` keeps nothing on disk and OFF no WAL; both commit, roll a failed batch back, and close at once', async () => {
    const cwd = readdirSync('.');
    const path = dbPath();
    for (const [where, options] of [[':memory:', {}], [path, { synchronous: 'OFF' as const }]] as const) {
      const store = SqliteStore.open(where, options);
      const original = await scenario(store, await account(store), 11);
      const ws = original.engine.workspace.sid;
      const [stored] = await store.loadWorkspaces();
      assert.equal(stored?.commands.length, original.seq, where);
      const tick: Command = { type: 'tick', at: T0 + 5000 };
      assert.throws(() =>
        store.commit([
          { workspaceSid: ws, seq: original.seq + 1, command: tick, events: [], outbox: [] },
          { workspaceSid: ws, seq: original.seq, command: tick, events: [], outbox: [] },
        ]),
      );
      assert.equal((await store.loadWorkspaces())[0]?.commands.length, original.seq, `${where}: rolled back`);
      await store.close();
    }
    assert.deepEqual(readdirSync('.'), cwd, 'no file named :memory: appeared');
    assert.ok(!readdirSync(dir).includes(`${path.split('/').at(-1)}-wal`), 'OFF: no write-ahead log');
    const reopened = SqliteStore.open(path, { synchronous: 'OFF' });
    assert.equal((await reopened.loadWorkspaces()).length, 1, 'OFF on a file: readable again after a clean close');
    await reopened.close();
  });

  test('an unwritable path is a StoreError that says what to check', async () => {
    assert.throws(() => SqliteStore.open(join(dir, 'missing-folder', 'db.sqlite')), (e: unknown) => e instanceof StoreError && /writable/.test(e.message));
  });
});
