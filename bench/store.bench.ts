/**
 * Store benchmark (issue 10, item 7): commit throughput of the two adapters in one process.
 *
 * `BENCH_CONCURRENCY` writers (one workspace each, like concurrent API creators) each commit a batch
 * of `BENCH_RECORDS` command records — every record with `BENCH_EVENTS` events and one outbox row,
 * payloads the size of a task create's — wait until it is durable, and commit the next, until
 * `BENCH_BATCHES` batches are done in all. While a commit is in flight the others queue, so both
 * adapters group-commit as they do under the runtime. SQLite runs at synchronous FULL in a temporary
 * file; PostgreSQL (`BENCH_DATABASE_URL`, default postgres://postgres@127.0.0.1:5432/test) in a
 * fresh schema dropped at the end, skipped with a message when it cannot be reached. Each adapter
 * runs `BENCH_ROUNDS` times, alternating, and the best round is reported. `BENCH_SYNCHRONOUS=NORMAL`
 * measures both without waiting for the disk.
 *
 * Ends with one JSON line: per store, records/s, batches/s, p50 and p99 commit→durable latency (ms)
 * and the transactions (PostgreSQL) it took. Run: `npm run bench:store`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Command, EngineEvent } from '../src/engine/index.ts';
import { PostgresStore } from '../src/store/postgres-store.ts';
import { SqliteStore } from '../src/store/sqlite-store.ts';
import type { CommandRecord, OnDurable } from '../src/store/store.ts';

const env = (name: string, fallback: number): number => {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer, got ${raw}`);
  return value;
};
const BATCHES = env('BENCH_BATCHES', 4000);
const RECORDS = env('BENCH_RECORDS', 1);
const EVENTS = env('BENCH_EVENTS', 3);
const CONCURRENCY = env('BENCH_CONCURRENCY', 16);
const ROUNDS = env('BENCH_ROUNDS', 2);
const DATABASE_URL = process.env['BENCH_DATABASE_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
const SYNCHRONOUS = process.env['BENCH_SYNCHRONOUS'] === 'NORMAL' ? 'NORMAL' : 'FULL';
const T0 = Date.UTC(2026, 10, 21, 9, 0, 0);
const AC = `AC${'b'.repeat(32)}`;

/** What the bench needs of a store: set-up, the group-commit write, close. */
interface BenchStore {
  commit(batch: readonly CommandRecord[], onDurable: OnDurable): void;
  createWorkspace(sid: string): Promise<void>;
  transactions(): number;
  close(): Promise<void>;
}

const ATTRIBUTES = JSON.stringify({ type: 'support', language: 'en', customer: { tier: 'gold', id: 'C-000123' }, from: '+15550100200' });

function batchOf(workspaceSid: string, firstSeq: number, serial: number): CommandRecord[] {
  const records: CommandRecord[] = [];
  for (let r = 0; r < RECORDS; r += 1) {
    const seq = firstSeq + r;
    const at = T0 + seq;
    const command = { type: 'createTask', at, attributes: ATTRIBUTES, workflowSid: `WW${'1'.repeat(32)}`, priority: 0, timeout: 86_400 } as unknown as Command;
    const events: EngineEvent[] = [];
    for (let e = 0; e < EVENTS; e += 1) {
      events.push({
        sid: `EV${workspaceSid.slice(2, 10)}${String(serial * 1000 + r * EVENTS + e).padStart(24, '0')}`,
        eventType: e === 0 ? 'task.created' : 'reservation.created',
        at,
        resourceType: 'task',
        resourceSid: `WT${String(seq).padStart(32, '0')}`,
        data: { task_sid: `WT${String(seq).padStart(32, '0')}`, task_attributes: ATTRIBUTES, task_queue_sid: `WQ${'2'.repeat(32)}`, task_priority: 0, task_age: 0 },
      } as unknown as EngineEvent);
    }
    records.push({ workspaceSid, seq, command, events, outbox: [{ kind: 'event', payload: JSON.stringify(events[0]), dueAt: at }] });
  }
  return records;
}

async function openSqlite(dir: string): Promise<BenchStore> {
  const store = SqliteStore.open(join(dir, `bench-${randomBytes(4).toString('hex')}.sqlite`), { synchronous: SYNCHRONOUS });
  store.insertAccount({ sid: AC, friendlyName: 'bench', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
  return {
    commit: (batch, onDurable) => store.commit(batch, onDurable),
    createWorkspace: async (sid) => store.createWorkspace({ sid, accountSid: AC, sidSeed: 1, sidScheme: 1, createOptions: {} }, []),
    transactions: () => 0,
    close: () => store.close(),
  };
}

async function openPostgres(schema: string): Promise<BenchStore> {
  const store = await PostgresStore.open({ connectionString: DATABASE_URL, schema, synchronous: SYNCHRONOUS });
  await store.insertAccount({ sid: AC, friendlyName: 'bench', authTokenHash: 'h', authTokenSealed: 's', dateCreated: T0 });
  return {
    commit: (batch, onDurable) => store.commit(batch, onDurable),
    createWorkspace: (sid) => store.createWorkspace({ sid, accountSid: AC, sidSeed: 1, sidScheme: 1, createOptions: {} }, []),
    transactions: () => store.transactions,
    close: () => store.close(),
  };
}

interface Result {
  records_per_s: number;
  batches_per_s: number;
  p50_ms: number;
  p99_ms: number;
  /** Transactions the PostgreSQL writer committed for the batches (null for SQLite, which syncs per group instead). */
  transactions: number | null;
}

/** One round on a fresh store: CONCURRENCY writers until BATCHES batches are durable. */
async function round(store: BenchStore, kind: string): Promise<Result> {
  const workspaces = Array.from({ length: CONCURRENCY }, (_, i) => `WS${String(i).padStart(32, '0')}`);
  for (const ws of workspaces) await store.createWorkspace(ws);
  const latencies: number[] = [];
  let started = 0;
  const transactionsBefore = store.transactions();
  const t0 = performance.now();
  await Promise.all(
    workspaces.map(async (ws) => {
      let seq = 1;
      while (started < BATCHES) {
        const serial = started;
        started += 1;
        const batch = batchOf(ws, seq, serial);
        seq += RECORDS;
        const t = performance.now();
        await new Promise<void>((resolve, reject) => store.commit(batch, (error) => (error === null ? resolve() : reject(error))));
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) * 100) / 100;
  return {
    records_per_s: Math.round((BATCHES * RECORDS) / seconds),
    batches_per_s: Math.round(BATCHES / seconds),
    p50_ms: at(0.5),
    p99_ms: at(0.99),
    transactions: kind === 'postgres' ? store.transactions() - transactionsBefore : null,
  };
}

// SqliteStore's checkpointer thread is unreferenced: without a referenced handle the process would
// end while awaiting its close.
const keepAlive = setInterval(() => undefined, 1000);
const dir = mkdtempSync(join(tmpdir(), 'switchboard-store-bench-'));
const schemas: string[] = [];
let postgresSkipped: string | null = null;
try {
  const probe = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  await probe.connect();
  await probe.end();
} catch (error) {
  postgresSkipped = `PostgreSQL at ${DATABASE_URL} not reachable (${(error as Error).message}); set BENCH_DATABASE_URL`;
  process.stderr.write(`${postgresSkipped}\n`);
}

const best: Record<string, Result> = {};
const keep = (kind: string, r: Result): void => {
  const b = best[kind];
  if (b === undefined || r.records_per_s > b.records_per_s) best[kind] = r;
};
try {
  for (let i = 0; i < ROUNDS; i += 1) {
    const sqlite = await openSqlite(dir);
    const s = await round(sqlite, 'sqlite');
    await sqlite.close();
    process.stderr.write(`round ${i + 1} sqlite:   ${JSON.stringify(s)}\n`);
    keep('sqlite', s);
    if (postgresSkipped !== null) continue;
    const schema = `bench_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    const postgres = await openPostgres(schema);
    const p = await round(postgres, 'postgres');
    await postgres.close();
    process.stderr.write(`round ${i + 1} postgres: ${JSON.stringify(p)}\n`);
    keep('postgres', p);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  if (schemas.length > 0) {
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin.end();
  }
  clearInterval(keepAlive);
}

console.log(
  JSON.stringify({
    bench: 'store',
    batches: BATCHES,
    records_per_batch: RECORDS,
    events_per_record: EVENTS,
    concurrency: CONCURRENCY,
    rounds: ROUNDS,
    synchronous: SYNCHRONOUS,
    sqlite: best['sqlite'],
    postgres: best['postgres'] ?? { skipped: postgresSkipped },
  }),
);
