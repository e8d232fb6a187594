/**
 * Which store the tests run on — the ONE place that decides it (DESIGN.md rule 7: the same suite
 * runs on both stores).
 *
 * - By default: SQLite, the database file in each test's data directory, as `switchboard serve`
 *   keeps it.
 * - With `SWITCHBOARD_TEST_DATABASE_URL` set (e.g. postgres://postgres@127.0.0.1:5432/test):
 *   PostgreSQL on that database. Each data directory a test file opens gets a fresh schema of its
 *   own (`sbt_<random>`), so reopening the same data directory (a restart, a crash test) finds the
 *   same state and two harnesses in one file never see each other's workspaces; every schema
 *   this file made is dropped as the test process exits (after every hook, so runtimes closing in
 *   the file's own `after` still find their tables).
 *
 * Harnesses pass `testStoreOptions(dataDir)` to `Runtime.open`, spawned servers get
 * `serveStoreArgs(dataDir)`. Tests of SQLite's own behaviour (file locks, WAL checkpoints, the
 * database file itself) skip on PostgreSQL with {@link sqliteOnly} and say why.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { Runtime, RuntimeOptions } from '../../src/runtime/runtime.ts';
import type { SqliteStore } from '../../src/store/sqlite-store.ts';

/** The PostgreSQL database the tests use, or undefined for SQLite. */
export const TEST_DATABASE_URL: string | undefined = process.env['SWITCHBOARD_TEST_DATABASE_URL'] || undefined;

/** The store this test process runs on. */
export const TEST_STORE: 'sqlite' | 'postgres' = TEST_DATABASE_URL === undefined ? 'sqlite' : 'postgres';

/** Schema per data directory (PostgreSQL only). */
const schemas = new Map<string, string>();

/**
 * Drops every schema this file made, once, when the test process is about to exit — after every
 * hook: a root `after` registered here would run before the file's own (hooks run in the order
 * they were registered, and this module is imported first), dropping the tables under runtimes
 * that save a last snapshot as they close.
 */
async function dropSchemas(): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    for (const schema of schemas.values()) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
}

/** The PostgreSQL schema of a data directory (made up on first use; the same one for every reopen). */
export function testSchema(dataDir: string): string {
  let schema = schemas.get(dataDir);
  if (schema === undefined) {
    if (schemas.size === 0) process.once('beforeExit', () => void dropSchemas());
    schema = `sbt_${randomBytes(6).toString('hex')}`;
    schemas.set(dataDir, schema);
  }
  return schema;
}

/**
 * The store part of `Runtime.open`'s options for a test's data directory: `{ dataDir }` on SQLite;
 * on PostgreSQL also the test database and the directory's own schema.
 */
export function testStoreOptions(dataDir: string): Pick<RuntimeOptions, 'dataDir' | 'databaseUrl' | 'databaseSchema'> {
  if (TEST_DATABASE_URL === undefined) return { dataDir };
  return { dataDir, databaseUrl: TEST_DATABASE_URL, databaseSchema: testSchema(dataDir) };
}

/** The `switchboard serve` arguments that put a spawned server on the same store as {@link testStoreOptions}. */
export function serveStoreArgs(dataDir: string): string[] {
  if (TEST_DATABASE_URL === undefined) return [];
  return ['--database-url', TEST_DATABASE_URL, '--database-schema', testSchema(dataDir)];
}

/**
 * `{ skip: reason }` on PostgreSQL for a test of SQLite's own behaviour, `{}` on SQLite; spread into
 * `test(name, { ...sqliteOnly('…') }, fn)`.
 */
export function sqliteOnly(why: string): { skip?: string } {
  return TEST_STORE === 'sqlite' ? {} : { skip: `SQLite only: ${why}` };
}

/** A way to make the runtime's commits fail as a full disk would, and to let them succeed again. */
export interface CommitFailure {
  /** Commits that were refused so far (SQLite counts them; PostgreSQL cannot see inside its failed transactions: null). */
  refused(): number | null;
  /** Lets commits succeed again ("space returns"). */
  stop(): Promise<void>;
}

/**
 * Makes every commit that logs commands fail INSIDE its transaction, which is then rolled back,
 * as a full disk would: on SQLite through the store's `beforeCommit` hook; on PostgreSQL with a
 * trigger on the commands table that raises "No space left on device", in the test's schema (the
 * store's one statement per transaction fails, and with it the whole transaction).
 */
export async function failCommits(runtime: Runtime, dataDir: string): Promise<CommitFailure> {
  if (runtime.store.kind === 'sqlite') {
    const store = runtime.store as SqliteStore;
    let refused = 0;
    store.beforeCommit = () => {
      refused += 1;
      throw new Error('database or disk is full');
    };
    return {
      refused: () => refused,
      stop: async () => {
        store.beforeCommit = null;
      },
    };
  }
  const schema = testSchema(dataDir);
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE OR REPLACE FUNCTION ${schema}.fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'could not extend file: No space left on device (injected by the test)' USING ERRCODE = 'disk_full'; END $$`);
  await admin.query(`CREATE TRIGGER fail_commit BEFORE INSERT ON ${schema}.commands FOR EACH ROW EXECUTE FUNCTION ${schema}.fail_commit()`);
  return {
    refused: () => null,
    stop: async () => {
      try {
        await admin.query(`DROP TRIGGER fail_commit ON ${schema}.commands`);
      } finally {
        await admin.end();
      }
    },
  };
}

/**
 * Runs a read-only query on a test's database, whichever store it is on — for tests that look at
 * the rows themselves. Write it in the SQL both dialects share, with `?` placeholders (turned into
 * `$1`, `$2`… for PostgreSQL); the tables and columns are the same on both (`rowid` included).
 * PostgreSQL's bigint columns come back as strings: wrap counts in `Number()`.
 */
export async function queryTestDatabase<T = Record<string, unknown>>(dataDir: string, sql: string, ...params: Array<string | number>): Promise<T[]> {
  if (TEST_DATABASE_URL === undefined) {
    const db = new DatabaseSync(join(dataDir, 'switchboard.sqlite'), { readOnly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }
  let n = 0;
  const text = sql.replace(/\?/g, () => `$${++n}`);
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${testSchema(dataDir)}` });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}
