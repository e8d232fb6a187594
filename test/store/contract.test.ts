/**
 * The store contract (src/store/store.ts): the same behaviour checked on both adapters.
 *
 * - SQLite: SqliteStore (which implements Store) on a fresh file per test.
 * - PostgreSQL: PostgresStore on the database of SWITCHBOARD_TEST_DATABASE_URL, in a fresh schema
 *   for this file (`t_<random>`, emptied before each test, dropped at the end). Without the
 *   variable that half is skipped and says so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, before, beforeEach, describe, test } from 'node:test';
import pg from 'pg';
import type { Command, EngineEvent, WorkspaceSnapshot } from '../../src/engine/index.ts';
import { PostgresStore } from '../../src/store/postgres-store.ts';
import { SqliteStore } from '../../src/store/sqlite-store.ts';
import {
  OUTBOX_MARK_DELAY_MS,
  StoreError,
  type AccountRow,
  type ApiKeyRow,
  type CallbackRecord,
  type CallbackStateRow,
  type CommandRecord,
  type CoreRow,
  type CoreRowWrite,
  type CoreWrites,
  type OutboxInsert,
  type OutboxRow,
  type SidState,
  type Store,
  type StoredWorkspace,
} from '../../src/store/store.ts';

const DATABASE_URL = process.env['SWITCHBOARD_TEST_DATABASE_URL'] || undefined;
const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);
const AC = `AC${'a'.repeat(32)}`;
const WS1 = `WS${'1'.repeat(32)}`;
const WS2 = `WS${'2'.repeat(32)}`;

// ── the two adapters ──

interface Adapter {
  name: string;
  /** false, or why the adapter's tests are skipped. */
  skip: string | false;
  setup(): Promise<void>;
  /** Starts the next test on an empty database. */
  fresh(): Promise<void>;
  /** A store on the current database (several may be open at once). */
  open(): Promise<Store>;
  /** The tables and their columns as this adapter's schema has them (migrations applied). */
  columns(): Promise<Map<string, string[]>>;
  /** Opens two stores at once on a database never migrated; both must come up. */
  openTwoAtOnceOnNewDatabase(): Promise<[Store, Store]>;
  teardown(): Promise<void>;
}

function sqliteAdapter(): Adapter {
  let dir = '';
  let n = 0;
  let path = '';
  return {
    name: 'SqliteStore (node:sqlite)',
    skip: false,
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'switchboard-contract-'));
    },
    async fresh() {
      path = join(dir, `db-${n++}.sqlite`);
    },
    async open() {
      return SqliteStore.open(path);
    },
    async columns() {
      const db = new DatabaseSync(path);
      try {
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((r) => r.name);
        return new Map(tables.map((t) => [t, (db.prepare(`PRAGMA table_info(${t})`).all() as { name: string }[]).map((c) => c.name).sort()]));
      } finally {
        db.close();
      }
    },
    async openTwoAtOnceOnNewDatabase() {
      const p = join(dir, `db-${n++}.sqlite`);
      return [SqliteStore.open(p), SqliteStore.open(p)];
    },
    async teardown() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresAdapter(url: string | undefined): Adapter {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const extraSchemas: string[] = [];
  let admin: pg.Client | null = null;
  const query = async (sql: string): Promise<pg.QueryResult> => {
    if (admin === null) throw new Error('setup() first');
    return admin.query(sql);
  };
  return {
    name: 'PostgresStore (pg)',
    skip:
      url === undefined
        ? 'SWITCHBOARD_TEST_DATABASE_URL is not set: the PostgreSQL half of the store contract is skipped (e.g. SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test)'
        : false,
    async setup() {
      admin = new pg.Client({ connectionString: url });
      await admin.connect();
    },
    async fresh() {
      const tables = await query(`SELECT tablename FROM pg_tables WHERE schemaname = '${schema}' AND tablename <> 'schema_migrations'`);
      if (tables.rows.length > 0) await query(`TRUNCATE ${tables.rows.map((r) => `${schema}.${r['tablename'] as string}`).join(', ')} RESTART IDENTITY CASCADE`);
    },
    async open() {
      return PostgresStore.open({ connectionString: url as string, schema });
    },
    async columns() {
      const rows = (await query(`SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = '${schema}' ORDER BY table_name, column_name`)).rows as {
        table_name: string;
        column_name: string;
      }[];
      const out = new Map<string, string[]>();
      for (const r of rows) out.set(r.table_name, [...(out.get(r.table_name) ?? []), r.column_name].sort());
      return out;
    },
    async openTwoAtOnceOnNewDatabase() {
      const other = `${schema}_m${extraSchemas.length}`;
      extraSchemas.push(other);
      const [a, b] = await Promise.all([PostgresStore.open({ connectionString: url as string, schema: other }), PostgresStore.open({ connectionString: url as string, schema: other })]);
      return [a, b];
    },
    async teardown() {
      if (admin === null) return;
      for (const s of [schema, ...extraSchemas]) await query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
      await admin.end();
      admin = null;
    },
  };
}

// ── helpers ──

const tick = (at: number): Command => ({ type: 'tick', at });

function ev(sid: string, eventType: string, at: number, resourceSid = 'WT1'): EngineEvent {
  return { sid, eventType, at, resourceType: 'task', resourceSid, data: { n: sid } } as unknown as EngineEvent;
}

function record(workspaceSid: string, seq: number, events: EngineEvent[] = [], outbox: OutboxInsert[] = []): CommandRecord {
  return { workspaceSid, seq, command: tick(T0 + seq), events, outbox };
}

/** Commits and waits for onDurable: resolves when durable, rejects with its error. */
function commitDurable(store: Store, batch: readonly CommandRecord[], cores?: CoreWrites): Promise<void> {
  return new Promise((resolve, reject) => store.commit(batch, (error) => (error === null ? resolve() : reject(error)), cores));
}

function noCores(): CoreWrites {
  return { events: [], outbox: [], callbackStates: [] };
}

async function seed(store: Store, workspaces: string[] = [WS1]): Promise<void> {
  await store.insertAccount({ sid: AC, friendlyName: 'Test', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
  for (const sid of workspaces) await store.createWorkspace({ sid, accountSid: AC, sidSeed: 7, sidScheme: 1, createOptions: { friendlyName: sid } }, []);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Commits a batch of core rows (no command records) and waits until durable. */
function commitRows(store: Store, coreRows: CoreRowWrite[], batch: CommandRecord[] = []): Promise<void> {
  return commitDurable(store, batch, { events: [], outbox: [], callbackStates: [], coreRows });
}

/** A write of a `voice` row (or of `core`'s); `body` null deletes it. */
function rowWrite(workspaceSid: string, key: string, body: string | null, core = 'voice', updatedAt = T0): CoreRowWrite {
  return { workspaceSid, core, key, body, updatedAt };
}

/** Rows as `workspace key=body` strings, in the order loaded. */
function shown(rows: readonly CoreRow[]): string[] {
  return rows.map((r) => `${r.workspaceSid.slice(-1)} ${r.key}=${r.body}`);
}

function callback(sid: string, status: string, updatedAt: number): CallbackRecord & { note: string } {
  return { sid, callTargetSid: 'CT1', status, updatedAt, note: `${sid} ${status}` };
}

function callbackState(workspaceSid: string, changed: CallbackRecord[], removed: string[], updatedAt: number, version = 1): CoreWrites['callbackStates'][number] {
  return { workspaceSid, accountSid: AC, center: { version: 1, callbacks: [], revision: version }, datastore: { templates: [], revision: version }, changed, removed, updatedAt };
}

// ── the contract ──

function contract(adapter: Adapter): void {
  describe(adapter.name, { skip: adapter.skip }, () => {
    let store: Store;
    before(() => adapter.setup());
    after(() => adapter.teardown());
    beforeEach(async () => {
      await adapter.fresh();
    });
    const withStore = (body: () => Promise<void>) => async () => {
      store = await adapter.open();
      try {
        await body();
      } finally {
        await store.close();
      }
    };

    test(
      'migrations: a new database gets the schema; opening it again, or twice at once, applies nothing twice',
      withStore(async () => {
        const version = await store.schemaVersion();
        assert.ok(version >= 1);
        const again = await adapter.open();
        assert.equal(await again.schemaVersion(), version);
        await again.close();
        const [a, b] = await adapter.openTwoAtOnceOnNewDatabase();
        assert.equal(await a.schemaVersion(), version);
        assert.equal(await b.schemaVersion(), version);
        await a.close();
        await b.close();
        const coreRows = (await adapter.columns()).get('core_rows');
        assert.deepEqual(
          coreRows?.filter((c) => c !== 'rowid'),
          ['body', 'core', 'key', 'updated_at', 'workspace_sid'],
          'the generic table of the hosted cores',
        );
      }),
    );

    test(
      'accounts and API keys: written, listed oldest first, a duplicate SID refused',
      withStore(async () => {
        const b: AccountRow = { sid: `AC${'b'.repeat(32)}`, friendlyName: 'B', authTokenHash: 'hb', authTokenSealed: 'sb', dateCreated: T0 + 5 };
        const a: AccountRow = { sid: AC, friendlyName: 'A', authTokenHash: 'ha', authTokenSealed: 'sa', dateCreated: T0 };
        await store.insertAccount(b);
        await store.insertAccount(a);
        assert.deepEqual(await store.accounts(), [a, b]);
        await assert.rejects(store.insertAccount(a), StoreError);
        const k: ApiKeyRow = { sid: `SK${'1'.repeat(32)}`, accountSid: AC, friendlyName: 'ci', secretHash: 'x', dateCreated: T0 + 9 };
        await store.insertApiKey(k);
        assert.deepEqual(await store.apiKeys(), [k]);
        await assert.rejects(store.insertApiKey({ ...k, sid: `SK${'2'.repeat(32)}`, accountSid: `AC${'9'.repeat(32)}` }), StoreError, 'an API key of an unknown account');
        // Durable: another store on the same database sees them.
        const other = await adapter.open();
        assert.deepEqual(await other.accounts(), [a, b]);
        await other.close();
      }),
    );

    test(
      'workspaces: created with events and outbox rows, loaded with the command log, snapshot drops the commands it includes, deleted ones not loaded',
      withStore(async () => {
        await store.insertAccount({ sid: AC, friendlyName: 'A', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
        await store.createWorkspace({ sid: WS2, accountSid: AC, sidSeed: 42, sidScheme: 1, createOptions: { friendlyName: 'Two', at: T0 } }, [ev('EV20', 'workspace.created', T0)], [
          { kind: 'event', payload: 'p0', dueAt: T0 },
        ]);
        await store.createWorkspace({ sid: WS1, accountSid: AC, sidSeed: 41, createOptions: { friendlyName: 'One' } }, []);
        await assert.rejects(store.createWorkspace({ sid: WS1, accountSid: AC, sidSeed: 1, createOptions: {} }, []), StoreError, 'duplicate SID');
        await assert.rejects(store.createWorkspace({ sid: `WS${'3'.repeat(32)}`, accountSid: `AC${'9'.repeat(32)}`, sidSeed: 1, createOptions: {} }, []), StoreError, 'unknown account');
        for (let seq = 1; seq <= 3; seq += 1) await commitDurable(store, [record(WS2, seq, [ev(`EV2${seq}`, 'task.created', T0 + seq)])]);

        let loaded = await store.loadWorkspaces();
        assert.deepEqual(
          loaded.map((w) => w.sid),
          [WS2, WS1],
          'creation order',
        );
        const two = loaded[0] as StoredWorkspace;
        assert.equal(two.accountSid, AC);
        assert.equal(two.sidSeed, 42);
        assert.equal(two.sidScheme, 1);
        assert.deepEqual(two.createOptions, { friendlyName: 'Two', at: T0 });
        assert.equal(two.snapshot, null);
        assert.equal(two.snapshotGenerator, null);
        assert.equal(two.snapshotSeq, 0);
        assert.equal(two.lastSeq, 3);
        assert.deepEqual(two.commands, [1, 2, 3].map((seq) => ({ seq, command: tick(T0 + seq) })));
        assert.equal((loaded[1] as StoredWorkspace).sidScheme, 0, 'default SID scheme');
        assert.deepEqual((await store.event(WS2, 'EV20'))?.eventType, 'workspace.created');
        assert.equal((await store.outboxHead(WS2, 'event'))?.payload, 'p0');

        const snapshot = { version: 1, marker: 'after 2' } as unknown as WorkspaceSnapshot;
        const generator: SidState = { random: [1, 2, 3, 4], eventHead: 'EVab', events: 9 } as unknown as SidState;
        await store.saveSnapshot(WS2, 2, snapshot, generator);
        loaded = await store.loadWorkspaces();
        const after2 = loaded[0] as StoredWorkspace;
        assert.deepEqual(after2.snapshot, snapshot);
        assert.deepEqual(after2.snapshotGenerator, generator);
        assert.equal(after2.snapshotSeq, 2);
        assert.equal(after2.lastSeq, 3);
        assert.deepEqual(after2.commands, [{ seq: 3, command: tick(T0 + 3) }]);

        // A snapshot that includes every command: nothing left in the log, lastSeq from the snapshot.
        await store.saveSnapshot(WS2, 3, snapshot, generator);
        const after3 = (await store.loadWorkspaces())[0] as StoredWorkspace;
        assert.deepEqual(after3.commands, []);
        assert.equal(after3.lastSeq, 3);

        await store.deleteWorkspace(WS2, T0 + 100);
        assert.deepEqual(
          (await store.loadWorkspaces()).map((w) => w.sid),
          [WS1],
        );
        // Its events stay for the retention.
        assert.equal((await store.event(WS2, 'EV21'))?.sid, 'EV21');
      }),
    );

    test(
      'commit: durable before onDurable, callbacks in commit order, outbox ids in commit order, a later store sees every batch',
      withStore(async () => {
        await seed(store, [WS1, WS2]);
        const transactionsBefore = store instanceof PostgresStore ? store.transactions : 0;
        const order: number[] = [];
        const done: Promise<void>[] = [];
        for (let i = 1; i <= 20; i += 1) {
          const ws = i % 2 === 0 ? WS2 : WS1;
          const seq = Math.ceil(i / 2);
          done.push(
            new Promise((resolve, reject) =>
              store.commit(
                [record(ws, seq, [ev(`EV${String(i).padStart(3, '0')}`, 'task.created', T0 + i)], [{ kind: 'event', payload: `b${i}a`, dueAt: T0 }, { kind: 'event', payload: `b${i}b`, dueAt: T0 }])],
                (error) => {
                  order.push(i);
                  if (error === null) resolve();
                  else reject(error);
                },
                i % 5 === 0 ? { events: [{ workspaceSid: ws, event: ev(`EVc${i}`, 'callback.created', T0 + i) }], outbox: [{ workspaceSid: ws, kind: 'event', payload: `b${i}c`, dueAt: T0 }], callbackStates: [] } : undefined,
              ),
            ),
          );
        }
        await Promise.all(done);
        assert.deepEqual(order, Array.from({ length: 20 }, (_, k) => k + 1), 'onDurable in commit order');
        // Group commit: the 19 batches given while the first was in flight went together.
        if (store instanceof PostgresStore) assert.ok(store.transactions - transactionsBefore <= 2, `${store.transactions - transactionsBefore} transactions for 20 batches`);

        // Ids increase in commit order across the lanes, and within a batch records before cores.
        const expected: string[] = [];
        for (let i = 1; i <= 20; i += 1) expected.push(`b${i}a`, `b${i}b`, ...(i % 5 === 0 ? [`b${i}c`] : []));
        const all = [...(await store.outboxLane(WS1, 'event', 100)), ...(await store.outboxLane(WS2, 'event', 100))].sort((a, b) => a.id - b.id);
        assert.deepEqual(
          all.map((r) => r.payload),
          expected,
        );

        // Another store opened now (a restart) finds every acknowledged batch.
        const other = await adapter.open();
        const loaded = await other.loadWorkspaces();
        assert.deepEqual(
          loaded.map((w) => [w.sid, w.lastSeq, w.commands.length]),
          [
            [WS1, 10, 10],
            [WS2, 10, 10],
          ],
        );
        assert.equal(await other.pendingOutbox(), expected.length);
        await other.close();
      }),
    );

    test(
      'commit: a failed batch leaves nothing behind; a commit made after the failure was reported succeeds',
      withStore(async () => {
        await seed(store);
        await commitDurable(store, [record(WS1, 1)]);
        // seq 1 again: the primary key refuses the batch, with its events and outbox rows.
        const failed = commitDurable(store, [record(WS1, 2, [ev('EVx2', 'task.created', T0)], [{ kind: 'event', payload: 'x2', dueAt: T0 }]), record(WS1, 1, [ev('EVx1', 'task.created', T0)])]);
        // Handed over right behind it, before its failure was reported: it may build on the failed
        // batch (a gap in a command log), so it fails with it on both stores (guarantee 6).
        const behind = commitDurable(store, [record(WS1, 3, [], [{ kind: 'event', payload: 'x3', dueAt: T0 }])]).then(
          () => true,
          (error: unknown) => {
            assert.ok(error instanceof StoreError);
            return false;
          },
        );
        await assert.rejects(failed, StoreError);
        const behindWritten = await behind;
        assert.equal(await store.event(WS1, 'EVx2'), undefined);
        assert.equal(await store.event(WS1, 'EVx1'), undefined);
        const payloads = (await store.outboxLane(WS1, 'event', 10)).map((r) => r.payload);
        assert.deepEqual(payloads, behindWritten ? ['x3'] : []);
        assert.equal(behindWritten, false, 'what was handed over before the failure was reported fails with it');

        await commitDurable(store, [record(WS1, 4, [ev('EV4', 'task.created', T0)])]);
        const ws = (await store.loadWorkspaces())[0] as StoredWorkspace;
        assert.deepEqual(
          ws.commands.map((c) => c.seq),
          behindWritten ? [1, 3, 4] : [1, 4],
        );
      }),
    );

    test(
      'commit: an empty batch is answered in order; after close, commits fail',
      withStore(async () => {
        await seed(store);
        const order: string[] = [];
        await Promise.all([
          new Promise<void>((resolve) => store.commit([record(WS1, 1)], () => (order.push('one'), resolve()))),
          new Promise<void>((resolve) => store.commit([], () => (order.push('empty'), resolve()), noCores())),
        ]);
        assert.deepEqual(order, ['one', 'empty']);
        const closed = await adapter.open();
        await closed.close();
        await assert.rejects(
          new Promise<void>((resolve, reject) => {
            try {
              closed.commit([record(WS1, 2)], (error) => (error === null ? resolve() : reject(error)));
            } catch (error) {
              reject(error);
            }
          }),
        );
      }),
    );

    test(
      'events: by time window (ties in write order), by SID, recent engine events without callback events, pruning',
      withStore(async () => {
        await seed(store, [WS1, WS2]);
        await commitDurable(store, [record(WS1, 1, [ev('EVb', 'task.created', T0 + 10), ev('EVa', 'reservation.created', T0 + 10), ev('EVc', 'task.updated', T0 + 20)])]);
        await commitDurable(store, [record(WS2, 1, [ev('EVother', 'task.created', T0 + 10)])], {
          events: [{ workspaceSid: WS1, event: ev('EVcb', 'callback.created', T0 + 25) }],
          outbox: [],
          callbackStates: [],
        });
        await commitDurable(store, [record(WS1, 2, [ev('EVd', 'task.completed', T0 + 30), ev('EVe', 'task.deleted', T0 + 40)])]);

        const sids = (events: EngineEvent[]): string[] => events.map((e) => e.sid);
        assert.deepEqual(sids(await store.events(WS1, T0, T0 + 1000, 100)), ['EVb', 'EVa', 'EVc', 'EVcb', 'EVd', 'EVe']);
        assert.deepEqual(sids(await store.events(WS1, T0 + 10, T0 + 30, 100)), ['EVb', 'EVa', 'EVc', 'EVcb'], 'from inclusive, to exclusive');
        assert.deepEqual(sids(await store.events(WS1, T0, T0 + 1000, 2)), ['EVb', 'EVa'], 'limit');
        const one = await store.event(WS1, 'EVa');
        assert.deepEqual(one, ev('EVa', 'reservation.created', T0 + 10), 'read back as written');
        assert.equal(await store.event(WS2, 'EVa'), undefined, 'another workspace');
        assert.equal(await store.event(WS1, 'EVnone'), undefined);

        assert.deepEqual(sids(await store.recentEngineEvents(WS1, T0, 3)), ['EVc', 'EVd', 'EVe'], 'newest 3 engine events, oldest first, no callback.*');
        assert.deepEqual(sids(await store.recentEngineEvents(WS1, T0 + 20, 100)), ['EVc', 'EVd', 'EVe'], 'since');
        assert.deepEqual(await store.recentEngineEvents(WS1, T0 + 1000, 10), []);

        assert.equal(await store.pruneEvents(T0 + 20), 3, 'EVb, EVa and EVother');
        assert.deepEqual(sids(await store.events(WS1, 0, T0 + 1000, 100)), ['EVc', 'EVcb', 'EVd', 'EVe']);
      }),
    );

    test(
      'outbox: due rows by kind, lanes by their head, lane reads, done marks (seen at once, written later), reschedule, prune',
      withStore(async () => {
        await seed(store, [WS1, WS2]);
        const row = (kind: string, payload: string, dueAt: number): OutboxInsert => ({ kind, payload, dueAt });
        await commitDurable(store, [
          record(WS1, 1, [], [row('event', 'e1', T0), row('assignment', 'a1', T0 + 50), row('event', 'e2', T0 + 100)]),
          record(WS2, 1, [], [row('event', 'f1', T0 + 200), row('event', 'f2', T0)]),
        ]);
        const payloads = (rows: readonly OutboxRow[]): string[] => rows.map((r) => r.payload);

        assert.deepEqual(payloads(await store.dueOutbox('event', T0, 10)), ['e1', 'f2']);
        assert.deepEqual(payloads(await store.dueOutbox('event', T0 + 1000, 10)), ['e1', 'e2', 'f1', 'f2']);
        assert.deepEqual(payloads(await store.dueOutbox('event', T0 + 1000, 3)), ['e1', 'e2', 'f1'], 'limit');
        assert.deepEqual(payloads(await store.dueOutbox('assignment', T0 + 50, 10)), ['a1']);
        assert.deepEqual(await store.dueOutbox('assignment', T0 + 49, 10), []);

        // WS2's head (f1) is not due before T0+200 although f2 behind it is: its lane waits.
        assert.deepEqual(await store.dueLanes('event', T0), [WS1]);
        assert.deepEqual(await store.dueLanes('event', T0 + 200), [WS1, WS2]);
        const head = (await store.outboxHead(WS1, 'event')) as OutboxRow;
        assert.deepEqual({ ...head, id: 0 }, { id: 0, workspaceSid: WS1, kind: 'event', payload: 'e1', attempts: 0, nextAttemptAt: T0 });
        assert.deepEqual(payloads(await store.outboxLane(WS1, 'event', 10)), ['e1', 'e2']);
        assert.deepEqual(payloads(await store.outboxLane(WS1, 'event', 10, head.id)), ['e2'], 'after a row');
        assert.deepEqual(payloads(await store.outboxLane(WS2, 'event', 1)), ['f1'], 'limit');
        assert.equal(await store.pendingOutbox(), 5);

        // A done mark is seen at once by this store's reads.
        store.markOutboxDone(head.id, 1, T0 + 5, { workspaceSid: WS1, kind: 'event' });
        assert.equal((await store.outboxHead(WS1, 'event'))?.payload, 'e2');
        assert.deepEqual(payloads(await store.dueOutbox('event', T0 + 1000, 10)), ['e2', 'f1', 'f2']);
        assert.deepEqual(await store.dueLanes('event', T0), [], "WS1's next row is due at T0+100");
        assert.deepEqual(await store.dueLanes('event', T0 + 100), [WS1]);
        const a1 = (await store.dueOutbox('assignment', T0 + 50, 10))[0] as OutboxRow;
        store.markOutboxDone(a1.id, 2, T0 + 6);
        assert.deepEqual(await store.dueOutbox('assignment', T0 + 50, 10), []);
        // ... and written within OUTBOX_MARK_DELAY_MS without any commit: another store sees it.
        await sleep(OUTBOX_MARK_DELAY_MS * 5);
        const other = await adapter.open();
        assert.equal((await other.outboxHead(WS1, 'event'))?.payload, 'e2');
        assert.deepEqual(await other.dueOutbox('assignment', T0 + 50, 10), []);
        assert.equal(await other.pendingOutbox(), 3);
        await other.close();

        // A mark also goes with the next commit.
        const e2 = (await store.outboxHead(WS1, 'event')) as OutboxRow;
        store.markOutboxDone(e2.id, 1, T0 + 7, { workspaceSid: WS1, kind: 'event' });
        await commitDurable(store, [record(WS1, 2)]);
        assert.equal(await store.pendingOutbox(), 2);

        // Reschedule: attempts and the next attempt's time; the lane waits for its head.
        const f1 = (await store.outboxHead(WS2, 'event')) as OutboxRow;
        await store.rescheduleOutbox(f1.id, 3, T0 + 500);
        assert.deepEqual(await store.outboxHead(WS2, 'event'), { ...f1, attempts: 3, nextAttemptAt: T0 + 500 });
        assert.deepEqual(await store.dueLanes('event', T0 + 499), []);
        assert.deepEqual(await store.dueLanes('event', T0 + 500), [WS2]);

        // Prune: rows done before the instant go; undelivered rows never do.
        assert.equal(await store.pruneOutbox(T0 + 6), 1, 'e1 (done at T0+5)');
        assert.equal(await store.pruneOutbox(T0 + 1_000_000), 2, 'a1 and e2');
        assert.equal(await store.pendingOutbox(), 2);
        assert.deepEqual(payloads(await store.dueOutbox('event', T0 + 1000, 10)), ['f1', 'f2']);
      }),
    );

    test(
      'outbox take (at-most-once): durable before it resolves, once per row, also across a reopen; a reschedule puts a taken row back; lanes of several kinds merge in id order',
      withStore(async () => {
        await seed(store, [WS1, WS2]);
        const row = (kind: string, payload: string): OutboxInsert => ({ kind, payload, dueAt: T0 });
        await commitDurable(store, [], {
          events: [],
          outbox: [
            { workspaceSid: WS1, ...row('dial', 'd1') },
            { workspaceSid: WS1, ...row('event', 'e1') },
            { workspaceSid: WS1, ...row('hangup', 'h1') },
            { workspaceSid: WS2, ...row('dial', 'x1') },
            { workspaceSid: WS1, ...row('dial', 'd2') },
          ],
          callbackStates: [],
        });
        const payloads = (rows: readonly OutboxRow[]): string[] => rows.map((r) => r.payload);
        const lane = await store.outboxLane(WS1, ['dial', 'hangup'], 10);
        assert.deepEqual(payloads(lane), ['d1', 'h1', 'd2'], 'two kinds of one workspace, in id order');
        assert.deepEqual(payloads(await store.outboxLane(WS1, ['dial', 'hangup'], 2)), ['d1', 'h1'], 'limit');
        assert.deepEqual(payloads(await store.outboxLane(WS1, ['dial', 'hangup'], 10, (lane[0] as OutboxRow).id)), ['h1', 'd2'], 'after a row');
        const [d1, h1, d2] = lane as [OutboxRow, OutboxRow, OutboxRow];

        assert.equal(await store.takeOutbox(d1.id, 1, T0 + 1), true);
        assert.equal(await store.takeOutbox(d1.id, 1, T0 + 2), false, 'a second take of the same row');
        assert.deepEqual(payloads(await store.outboxLane(WS1, ['dial', 'hangup'], 10)), ['h1', 'd2'], 'a taken row is not read again');
        assert.deepEqual(payloads(await store.outboxLane(WS1, 'dial', 10)), ['d2']);
        // A buffered done mark counts: taking that row fails.
        store.markOutboxDone(h1.id, 1, T0 + 3);
        assert.equal(await store.takeOutbox(h1.id, 1, T0 + 3), false, 'marked done (buffered)');
        assert.deepEqual(payloads(await store.outboxLane(WS1, ['dial', 'hangup'], 10)), ['d2'], 'buffered marks left out of a lane of several kinds');

        // Durable when it resolved: another store (a restart) sees the row taken and cannot take it.
        assert.equal(await store.takeOutbox(d2.id, 1, T0 + 4), true);
        const other = await adapter.open();
        assert.deepEqual(payloads(await other.outboxLane(WS1, 'dial', 10)), []);
        assert.equal(await other.takeOutbox(d2.id, 1, T0 + 5), false);
        assert.deepEqual(payloads(await other.outboxLane(WS2, 'dial', 10)), ['x1'], "another workspace's row is untouched");
        await other.close();

        // A delivery that failed before it took effect: the reschedule makes the row undelivered again.
        await store.rescheduleOutbox(d2.id, 1, T0 + 1000);
        assert.deepEqual(await store.outboxLane(WS1, 'dial', 10), [{ ...d2, attempts: 1, nextAttemptAt: T0 + 1000 }]);
        assert.equal(await store.takeOutbox(d2.id, 2, T0 + 1000), true, 'taken again after the reschedule');
        assert.equal(await store.pendingOutbox(), 2, 'e1 and x1');
      }),
    );

    test(
      'callback state rows: written in a commit, upserted and deleted by later ones, loaded in registration order',
      withStore(async () => {
        await seed(store, [WS1, WS2]);
        await commitDurable(store, [record(WS1, 1)], {
          events: [],
          outbox: [],
          callbackStates: [callbackState(WS1, [callback('CB1', 'queued', T0), callback('CB2', 'queued', T0), callback('CB3', 'queued', T0)], [], T0)],
        });
        await commitDurable(store, [], {
          events: [],
          outbox: [],
          callbackStates: [callbackState(WS2, [callback('CB9', 'scheduled', T0 + 1)], [], T0 + 1), callbackState(WS1, [callback('CB1', 'dialing', T0 + 2)], ['CB2'], T0 + 2, 2)],
        });
        const states = await store.loadCallbackStates();
        assert.deepEqual(
          states.map((s) => s.workspaceSid),
          [WS1, WS2],
          'in the order first written',
        );
        const one = states[0] as CallbackStateRow;
        assert.equal(one.accountSid, AC);
        assert.deepEqual(one.datastore, { templates: [], revision: 2 });
        assert.equal(one.center['revision'], 2);
        assert.deepEqual(one.center.callbacks, [callback('CB1', 'dialing', T0 + 2), callback('CB3', 'queued', T0)], 'CB1 keeps its place, CB2 is gone');
        assert.deepEqual((states[1] as CallbackStateRow).center.callbacks, [callback('CB9', 'scheduled', T0 + 1)]);

        // Changed then removed in one batch: removed. Removed then changed again: present.
        await commitDurable(store, [], {
          events: [],
          outbox: [],
          callbackStates: [callbackState(WS2, [callback('CB8', 'queued', T0 + 3)], [], T0 + 3), callbackState(WS2, [], ['CB8', 'CB9'], T0 + 3), callbackState(WS2, [callback('CB9', 'completed', T0 + 4)], [], T0 + 4)],
        });
        const two = (await store.loadCallbackStates())[1] as CallbackStateRow;
        assert.deepEqual(two.center.callbacks, [callback('CB9', 'completed', T0 + 4)]);
      }),
    );

    test(
      'core rows: upserted and deleted in commits, the last write of a key wins, an update keeps its place; per core, per workspace, after a reopen',
      withStore(async () => {
        await seed(store, [WS1, WS2]);
        await commitRows(
          store,
          [rowWrite(WS1, 'k1', 'a'), rowWrite(WS1, 'k2', 'b'), rowWrite(WS2, 'k1', 'x'), rowWrite(WS1, 'k3', 'c'), rowWrite(WS1, 'k1', 'other core', 'conversations')],
          [record(WS1, 1)],
        );
        assert.deepEqual(shown(await store.loadCoreRows('voice')), ['1 k1=a', '1 k2=b', '1 k3=c', '2 k1=x'], 'by workspace, then insertion order');
        assert.deepEqual(shown(await store.loadCoreRows('conversations')), ['1 k1=other core'], "another core's rows apart");
        assert.deepEqual(await store.loadCoreRows('nothing'), []);

        await commitRows(store, [
          rowWrite(WS1, 'k1', 'a2'),
          rowWrite(WS1, 'k2', null),
          rowWrite(WS1, 'k4', 'd'),
          rowWrite(WS1, 'k4', 'd2'),
          rowWrite(WS1, 'k5', 'e'),
          rowWrite(WS1, 'k5', null),
          rowWrite(WS1, 'absent', null),
          rowWrite(WS1, 'k3', 'c1'),
          rowWrite(WS1, 'k3', 'c2'),
        ]);
        assert.deepEqual(
          shown(await store.loadCoreRows('voice')),
          ['1 k1=a2', '1 k3=c2', '1 k4=d2', '2 k1=x'],
          'k1 updated in place, k2 deleted, the last of several writes wins (k3, k4, k5 inserted and deleted), deleting an absent key is no error',
        );

        // Deleted, then written again: a new row, at the end — in a later commit or in the same one.
        await commitRows(store, [rowWrite(WS1, 'k1', null)]);
        await commitRows(store, [rowWrite(WS1, 'k1', 'a3')]);
        assert.deepEqual(shown(await store.loadCoreRowsOf('voice', WS1)), ['1 k3=c2', '1 k4=d2', '1 k1=a3']);
        await commitRows(store, [rowWrite(WS1, 'k3', null), rowWrite(WS1, 'k3', 'c3')]);
        assert.deepEqual(shown(await store.loadCoreRowsOf('voice', WS1)), ['1 k4=d2', '1 k1=a3', '1 k3=c3']);
        assert.deepEqual(shown(await store.loadCoreRowsOf('voice', WS2)), ['2 k1=x']);
        assert.deepEqual(shown(await store.loadCoreRowsOf('conversations', WS1)), ['1 k1=other core']);
        assert.deepEqual(await store.loadCoreRowsOf('conversations', WS2), []);

        // Durable: another store (a restart) reads the same rows.
        const other = await adapter.open();
        assert.deepEqual(shown(await other.loadCoreRows('voice')), ['1 k4=d2', '1 k1=a3', '1 k3=c3', '2 k1=x']);
        assert.deepEqual(shown(await other.loadCoreRows('conversations')), ['1 k1=other core']);
        await other.close();

        // A deleted workspace's rows stay, as its callback rows do (the core skips a workspace without an engine).
        await store.deleteWorkspace(WS2, T0 + 1);
        assert.deepEqual(shown(await store.loadCoreRowsOf('voice', WS2)), ['2 k1=x']);
      }),
    );

    test(
      'core rows: batches sharing one transaction (group commit) end as written one after the other',
      withStore(async () => {
        await seed(store);
        await commitRows(store, [rowWrite(WS1, 'A', 'a'), rowWrite(WS1, 'B', 'b'), rowWrite(WS1, 'C', 'c')]);
        const before = store.kind === 'postgres' ? (store as PostgresStore).transactions : 0;
        // Handed over together: on PostgreSQL the first goes alone and the rest wait for the next transaction.
        await Promise.all([
          commitDurable(store, [record(WS1, 1)]),
          commitRows(store, [rowWrite(WS1, 'A', null)]),
          commitRows(store, [rowWrite(WS1, 'D', 'd')]),
          commitRows(store, [rowWrite(WS1, 'A', 'a2')]),
          commitRows(store, [rowWrite(WS1, 'B', 'b2')]),
          commitRows(store, [rowWrite(WS1, 'E', 'e'), rowWrite(WS1, 'C', null)]),
          commitRows(store, [rowWrite(WS1, 'C', 'c2')]),
          commitRows(store, [rowWrite(WS1, 'E', 'e2'), rowWrite(WS1, 'F', 'f'), rowWrite(WS1, 'F', null)]),
        ]);
        if (store.kind === 'postgres') assert.ok((store as PostgresStore).transactions - before <= 2, 'the batches were grouped');
        assert.deepEqual(
          shown(await store.loadCoreRows('voice')),
          ['1 B=b2', '1 D=d', '1 A=a2', '1 E=e2', '1 C=c2'],
          'B updated in place; A and C deleted, then new rows at the end; F written and deleted',
        );
      }),
    );

    test(
      'core rows: written in the transaction of their batch — a failed commit writes none of them',
      withStore(async () => {
        await seed(store);
        await commitRows(store, [rowWrite(WS1, 'A', 'a')], [record(WS1, 1)]);
        // seq 1 again: the primary key refuses the batch, and with it the core rows given with it.
        await assert.rejects(commitRows(store, [rowWrite(WS1, 'A', null), rowWrite(WS1, 'B', 'b')], [record(WS1, 1)]), StoreError);
        assert.deepEqual(shown(await store.loadCoreRows('voice')), ['1 A=a']);
        await commitRows(store, [rowWrite(WS1, 'B', 'b')], [record(WS1, 2)]);
        assert.deepEqual(shown(await store.loadCoreRowsOf('voice', WS1)), ['1 A=a', '1 B=b']);
        const other = await adapter.open();
        assert.deepEqual(shown(await other.loadCoreRows('voice')), ['1 A=a', '1 B=b']);
        assert.deepEqual((await other.loadWorkspaces())[0]?.commands.map((c) => c.seq), [1, 2]);
        await other.close();
      }),
    );
  });
}

const sqlite = sqliteAdapter();
const postgres = postgresAdapter(DATABASE_URL);
contract(sqlite);
contract(postgres);

describe('both adapters', { skip: postgres.skip }, () => {
  before(async () => {
    await sqlite.setup();
    await postgres.setup();
  });
  after(async () => {
    await sqlite.teardown();
    await postgres.teardown();
  });

  test('the same tables and columns (PostgreSQL adds a rowid where SQLite reads rowid order; SQLite keeps outbox payloads apart)', async () => {
    await sqlite.fresh();
    await postgres.fresh();
    await (await sqlite.open()).close();
    await (await postgres.open()).close();
    const lite = await sqlite.columns();
    const pgc = await postgres.columns();
    // The SQLite-only cursor table of the callbacks service that is being retired.
    lite.delete('callback_cursor');
    // SQLite keeps an outbox row's payload in a table of its own (migration 0009: a done mark
    // would otherwise rewrite it); PostgreSQL's TOAST keeps an unchanged large column out of an
    // UPDATE, so its outbox holds the payload. The same columns, once joined.
    const payloads = lite.get('outbox_payloads');
    assert.deepEqual(payloads, ['id', 'payload']);
    lite.set('outbox', [...(lite.get('outbox') ?? []), 'payload'].sort());
    lite.delete('outbox_payloads');
    for (const [table, cols] of pgc) pgc.set(table, cols.filter((c) => c !== 'rowid'));
    assert.deepEqual(new Map([...pgc].sort()), new Map([...lite].sort()));
  });
});
