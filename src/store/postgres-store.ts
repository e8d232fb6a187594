/**
 * The shared store: PostgreSQL through `pg`, implementing {@link Store} with the same tables and
 * meaning as the SQLite store (migrations-pg/0001-initial.sql says what differs in the SQL).
 *
 * Writes go through ONE writer, one transaction at a time, in call order. While a transaction is
 * in flight, the batches given to {@link PostgresStore.commit} queue; the next transaction takes
 * every batch queued by then (group commit), and writes all their command records, events, outbox
 * rows, callback rows and core rows with one statement — one INSERT … SELECT FROM unnest(…) per table, as
 * data-modifying CTEs of a single statement — so a transaction costs one round trip and one WAL
 * flush however many batches it holds. Reads go through the pool beside it.
 *
 * Durability: the connections run with `synchronous_commit = on` (FULL, the default), so a COMMIT
 * that returned is on the server's disk; `NORMAL` sets it off (a server crash may lose the last
 * fraction of a second of commits, never leaving a half-written one).
 *
 * Single writer (src/store/store.ts, "One process at a time"): the one writer per store is what
 * makes identity values (outbox ids, event and callback order) follow commit order, and what lets
 * the done marks be buffered here. Two processes writing the same workspaces need the
 * per-workspace lease of a later issue; nothing here takes it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import type { Command, EngineEvent, WorkspaceSnapshot } from '../engine/index.ts';
import { accountRow, apiKeyRow, coreRow, outboxRow, storedWorkspace } from './rows.ts';
import {
  OUTBOX_MARK_DELAY_MS,
  StoreError,
  type AccountRow,
  type ApiKeyRow,
  type CallbackStateRow,
  type CommandRecord,
  type CoreRow,
  type CoreRowWrite,
  type CoreWrites,
  type EventRecord,
  type NewWorkspace,
  type OnDurable,
  type OutboxInsert,
  type OutboxLane,
  type OutboxRow,
  type SidState,
  type Store,
  type StoredWorkspace,
} from './store.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations-pg/', import.meta.url));

/** Most batches one group-commit transaction takes; the rest wait for the next one (bounds a transaction's size). */
export const MAX_BATCHES_PER_TRANSACTION = 512;

/** How to reach the database, and how to use it. */
export interface PostgresStoreOptions {
  /** A libpq connection URL: `postgres://user[:password]@host[:port]/database[?…]`. */
  connectionString: string;
  /**
   * Schema to keep the tables in (created if missing; every connection's `search_path`). Default:
   * the connection's own search path (normally `public`). Lower-case letters, digits and `_`,
   * starting with a letter or `_`, at most 63 characters. Tests use a fresh schema per file.
   */
  schema?: string;
  /**
   * Connections in all, integer 1–100, default 4: the writer's one, and `poolSize - 1` (at least
   * one) in the pool for reads beside it.
   */
  poolSize?: number;
  /**
   * `FULL` (default): `synchronous_commit = on`, a commit is on disk when acknowledged. `NORMAL`:
   * `synchronous_commit = off`, survives a crash of this process but not of the database server.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** Longest wait for a connection, milliseconds; default 10,000. */
  connectTimeoutMs?: number;
}

/** A buffered done mark (see {@link PostgresStore.markOutboxDone}). */
interface Mark {
  attempts: number;
  at: number;
  /** `workspaceSid kind` of the row's lane, when the caller said it. */
  lane: string | undefined;
  /** True while a transaction that writes it is in flight. */
  writing: boolean;
}

/** A write waiting for the writer: a commit's batch, or another write (or, `run` null, only the done marks). */
type WriteJob =
  | { type: 'commit'; batch: readonly CommandRecord[]; cores: CoreWrites | undefined; onDurable: OnDurable }
  | { type: 'op'; what: string; run: ((client: PoolClient) => Promise<unknown>) | null; resolve: (value: unknown) => void; reject: (error: Error) => void };

/**
 * One statement writes a whole group: the done marks (UPDATE), then commands, events, outbox rows,
 * callback states, callback rows (INSERTs from unnest), pruned callback rows (DELETE), core rows
 * (upserts) and deleted core rows (DELETE). Data-modifying CTEs all run, to completion, whether or
 * not the final SELECT reads them; the statement is its own transaction. WITH ORDINALITY … ORDER BY
 * keeps the given order for the identity columns (outbox ids, events', callbacks' and core rows'
 * rowid). A core row the group deleted and wrote again (listed in $36–$38) takes the rowid its
 * insert drew instead of keeping its own: it moves to the end, as it does when SQLite writes the
 * batches one after the other.
 */
const COMMIT_SQL = `WITH
marks AS (
  UPDATE outbox SET delivered_at = m.at, attempts = m.attempts
  FROM unnest($1::bigint[], $2::integer[], $3::bigint[]) AS m (id, attempts, at) WHERE outbox.id = m.id
),
cmds AS (
  INSERT INTO commands (workspace_sid, seq, command)
  SELECT * FROM unnest($4::text[], $5::bigint[], $6::text[])
),
evs AS (
  INSERT INTO events (sid, workspace_sid, seq, event_type, at, resource_sid, body)
  SELECT sid, ws, seq, et, at, rs, body
  FROM unnest($7::text[], $8::text[], $9::bigint[], $10::text[], $11::bigint[], $12::text[], $13::text[]) WITH ORDINALITY AS e (sid, ws, seq, et, at, rs, body, n)
  ORDER BY n
),
obx AS (
  INSERT INTO outbox (workspace_sid, kind, payload, next_attempt_at)
  SELECT ws, kind, payload, due FROM unnest($14::text[], $15::text[], $16::text[], $17::bigint[]) WITH ORDINALITY AS o (ws, kind, payload, due, n)
  ORDER BY n
),
cbs AS (
  INSERT INTO callback_state (workspace_sid, account_sid, center, datastore, updated_at)
  SELECT ws, acc, center, ds, up FROM unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::bigint[]) WITH ORDINALITY AS s (ws, acc, center, ds, up, n)
  ORDER BY n
  ON CONFLICT (workspace_sid) DO UPDATE SET center = excluded.center, datastore = excluded.datastore, updated_at = excluded.updated_at
),
cbr AS (
  INSERT INTO callback_requests (workspace_sid, sid, call_target_sid, status, body, updated_at)
  SELECT ws, sid, ct, st, body, up FROM unnest($23::text[], $24::text[], $25::text[], $26::text[], $27::text[], $28::bigint[]) WITH ORDINALITY AS r (ws, sid, ct, st, body, up, n)
  ORDER BY n
  ON CONFLICT (workspace_sid, sid) DO UPDATE SET call_target_sid = excluded.call_target_sid, status = excluded.status, body = excluded.body, updated_at = excluded.updated_at
),
cbd AS (
  DELETE FROM callback_requests USING unnest($29::text[], $30::text[]) AS d (ws, sid)
  WHERE callback_requests.workspace_sid = d.ws AND callback_requests.sid = d.sid
),
crs AS (
  INSERT INTO core_rows (workspace_sid, core, key, body, updated_at)
  SELECT ws, core, key, body, up FROM unnest($31::text[], $32::text[], $33::text[], $34::text[], $35::bigint[]) WITH ORDINALITY AS r (ws, core, key, body, up, n)
  ORDER BY n
  ON CONFLICT (workspace_sid, core, key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,
    rowid = CASE WHEN (excluded.workspace_sid, excluded.core, excluded.key) IN (SELECT * FROM unnest($36::text[], $37::text[], $38::text[])) THEN excluded.rowid ELSE core_rows.rowid END
),
crd AS (
  DELETE FROM core_rows USING unnest($39::text[], $40::text[], $41::text[]) AS d (ws, core, key)
  WHERE core_rows.workspace_sid = d.ws AND core_rows.core = d.core AND core_rows.key = d.key
)
SELECT 1`;

const INSERT_EVENTS_SQL = `INSERT INTO events (sid, workspace_sid, seq, event_type, at, resource_sid, body)
  SELECT sid, $1, 0, et, at, rs, body FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[]) WITH ORDINALITY AS e (sid, et, at, rs, body, n)
  ORDER BY n`;

const INSERT_OUTBOX_SQL = `INSERT INTO outbox (workspace_sid, kind, payload, next_attempt_at)
  SELECT $1, kind, payload, due FROM unnest($2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS o (kind, payload, due, n)
  ORDER BY n`;

const MARKS_SQL = `UPDATE outbox SET delivered_at = m.at, attempts = m.attempts
  FROM unnest($1::bigint[], $2::integer[], $3::bigint[]) AS m (id, attempts, at) WHERE outbox.id = m.id`;

/**
 * Planner settings of the writer's connection. Every write it makes is keyed (done marks by outbox
 * id, callback rows by primary key, snapshots and deletes by workspace, pruning through
 * outbox_done), so an index path always exists; without these settings the commit statement, a
 * prepared statement whose generic plan PostgreSQL caches after five runs, kept the plan it chose
 * while the tables were small: the done marks' UPDATE as a hash join over a sequential scan of
 * the whole outbox, in every transaction — its cost grew with the table (6 ms per transaction at
 * 10,000 outbox rows) and never came back down, since nothing re-plans it until ANALYZE runs
 * (never, with autovacuum off). Reads keep the default planner: pruning events has no index path.
 */
const WRITER_SETTINGS = ['-c enable_seqscan=off', '-c enable_hashjoin=off', '-c enable_mergejoin=off'];

const OUTBOX_COLUMNS = 'id, workspace_sid, kind, payload, attempts, next_attempt_at';

/** bigint (int8) as a JS number: epoch ms, sequence numbers and ids stay far below 2^53. */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** PostgreSQL adapter of {@link Store} (see the module comment). Open it with {@link PostgresStore.open}. */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /** The schema the tables are in, or null for the connection's search path. */
  readonly schema: string | null;
  /** Connections for reads (and the migrations). */
  private readonly pool: pg.Pool;
  /** The writer's one connection (a pool of one: it reconnects after a failure), with {@link WRITER_SETTINGS}. */
  private readonly writerPool: pg.Pool;
  /** The writer's connection while it holds one (see {@link writerConnection}). */
  private writer: PoolClient | null = null;
  private queue: WriteJob[] = [];
  private writing = false;
  /** Set by {@link close}: later writes are refused. */
  private closing: Promise<void> | null = null;
  /** Done marks not yet known written: id → mark. */
  private marks = new Map<number, Mark>();
  /** Per lane (`workspaceSid kind`), the highest id in {@link marks}. */
  private laneHeads = new Map<string, number>();
  private markTimer: NodeJS.Timeout | null = null;
  /** Transactions the writer committed (tests and the benchmark: group commit at work). */
  transactions = 0;
  /** Per-phase timings of the commit transactions, when SWITCHBOARD_PG_PROFILE is set (see {@link WriterProfile}). */
  private readonly profile: WriterProfile | null = process.env['SWITCHBOARD_PG_PROFILE'] ? new WriterProfile() : null;

  private constructor(pool: pg.Pool, writerPool: pg.Pool, schema: string | null) {
    this.pool = pool;
    this.writerPool = writerPool;
    this.schema = schema;
  }

  /**
   * Connects, creates the schema if asked for and missing, and applies the migrations in
   * migrations-pg/ that the database has not seen — under an advisory lock, so that processes
   * starting together migrate once. Throws a {@link StoreError} naming the option on bad options,
   * and when the database cannot be reached or a migration fails (that migration is rolled back).
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const { connectionString, schema, poolSize = 4, synchronous = 'FULL', connectTimeoutMs = 10_000 } = options;
    if (typeof connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(connectionString)) {
      throw new StoreError('connectionString: expected a postgres:// or postgresql:// URL');
    }
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
      throw new StoreError(`schema: ${JSON.stringify(schema)} is not a plain lower-case identifier (letters, digits, _; at most 63)`);
    }
    if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 100) throw new StoreError(`poolSize: expected an integer from 1 to 100, got ${poolSize}`);
    if (synchronous !== 'FULL' && synchronous !== 'NORMAL') throw new StoreError(`synchronous: expected FULL or NORMAL, got ${String(synchronous)}`);
    if (!Number.isFinite(connectTimeoutMs) || connectTimeoutMs <= 0) throw new StoreError(`connectTimeoutMs: expected a positive number, got ${connectTimeoutMs}`);
    const settings = [`-c synchronous_commit=${synchronous === 'FULL' ? 'on' : 'off'}`];
    if (schema !== undefined) settings.push(`-c search_path=${schema}`);
    const poolOf = (max: number, options: string): pg.Pool => {
      const p = new pg.Pool({
        connectionString,
        max,
        options,
        application_name: 'switchboard',
        connectionTimeoutMillis: connectTimeoutMs,
        types: TYPES,
        // Idle connections do not keep the process alive (a server stays up for its listening socket;
        // a test or a CLI command that forgot to close still ends).
        allowExitOnIdle: true,
      });
      // An idle connection that breaks (server restart) is dropped by the pool; the next use
      // connects anew. Without a listener the error would end the process.
      p.on('error', (error) => process.stderr.write(`switchboard store: an idle PostgreSQL connection failed: ${error.message}\n`));
      return p;
    };
    const pool = poolOf(Math.max(1, poolSize - 1), settings.join(' '));
    const writerPool = poolOf(1, [...settings, ...WRITER_SETTINGS].join(' '));
    try {
      await migrate(pool, schema ?? null);
    } catch (error) {
      await Promise.all([pool.end().catch(() => undefined), writerPool.end().catch(() => undefined)]);
      throw error;
    }
    return new PostgresStore(pool, writerPool, schema ?? null);
  }

  async schemaVersion(): Promise<number> {
    const rows = await this.read<{ v: number | null }>('read the schema version', 'SELECT MAX(version) AS v FROM schema_migrations');
    return rows[0]?.v ?? 0;
  }

  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.markTimer !== null) clearTimeout(this.markTimer);
    this.markTimer = null;
    // Queued before `closing` is set: the last write takes the remaining done marks along.
    const last = this.enqueueOp('write done marks', null);
    if (this.profile !== null) process.stderr.write(this.profile.report());
    this.closing = last.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.writer?.release();
      this.writer = null;
    }).then(() => Promise.all([this.pool.end().catch(() => undefined), this.writerPool.end().catch(() => undefined)]).then(() => undefined));
    return this.closing;
  }

  // ── accounts ──

  insertAccount(a: AccountRow): Promise<void> {
    return this.write(`insert account ${a.sid}`, async (c) => {
      await c.query('INSERT INTO accounts (sid, friendly_name, auth_token_hash, auth_token_sealed, date_created) VALUES ($1, $2, $3, $4, $5)', [
        a.sid,
        a.friendlyName,
        a.authTokenHash,
        a.authTokenSealed,
        a.dateCreated,
      ]);
    });
  }

  async accounts(): Promise<AccountRow[]> {
    const rows = await this.read<Record<string, unknown>>('read accounts', 'SELECT * FROM accounts ORDER BY date_created, sid');
    return rows.map(accountRow);
  }

  insertApiKey(k: ApiKeyRow): Promise<void> {
    return this.write(`insert API key ${k.sid}`, async (c) => {
      await c.query('INSERT INTO api_keys (sid, account_sid, friendly_name, secret_hash, date_created) VALUES ($1, $2, $3, $4, $5)', [
        k.sid,
        k.accountSid,
        k.friendlyName,
        k.secretHash,
        k.dateCreated,
      ]);
    });
  }

  async apiKeys(): Promise<ApiKeyRow[]> {
    const rows = await this.read<Record<string, unknown>>('read API keys', 'SELECT * FROM api_keys ORDER BY date_created, sid');
    return rows.map(apiKeyRow);
  }

  // ── workspaces ──

  createWorkspace(w: NewWorkspace, events: readonly EventRecord[], outbox: readonly OutboxInsert[] = []): Promise<void> {
    return this.write(`create workspace ${w.sid}`, async (c) => {
      await c.query('INSERT INTO workspaces (sid, account_sid, sid_seed, sid_scheme, create_options) VALUES ($1, $2, $3, $4, $5)', [
        w.sid,
        w.accountSid,
        w.sidSeed,
        w.sidScheme ?? 0,
        JSON.stringify(w.createOptions),
      ]);
      if (events.length > 0) {
        await c.query(INSERT_EVENTS_SQL, [
          w.sid,
          events.map((e) => e.sid),
          events.map((e) => e.eventType),
          events.map((e) => e.at),
          events.map((e) => e.resourceSid),
          events.map((e) => JSON.stringify(e)),
        ]);
      }
      if (outbox.length > 0) {
        await c.query(INSERT_OUTBOX_SQL, [w.sid, outbox.map((o) => o.kind), outbox.map((o) => o.payload), outbox.map((o) => o.dueAt)]);
      }
    });
  }

  deleteWorkspace(sid: string, at: number): Promise<void> {
    return this.write(`delete workspace ${sid}`, async (c) => {
      await c.query('UPDATE workspaces SET deleted_at = $1 WHERE sid = $2', [at, sid]);
    });
  }

  /** See {@link Store.loadWorkspaces}; both reads in one REPEATABLE READ transaction (a snapshot saved meanwhile cannot split them). */
  async loadWorkspaces(): Promise<StoredWorkspace[]> {
    const [rows, commandRows] = await this.readConsistent('load workspaces', async (c) => [
      (await c.query('SELECT * FROM workspaces WHERE deleted_at IS NULL ORDER BY rowid')).rows as Record<string, unknown>[],
      (
        await c.query(
          `SELECT c.workspace_sid, c.seq, c.command FROM commands c JOIN workspaces w ON w.sid = c.workspace_sid
           WHERE w.deleted_at IS NULL AND c.seq > w.snapshot_seq ORDER BY c.workspace_sid, c.seq`,
        )
      ).rows as { workspace_sid: string; seq: number; command: string }[],
    ]);
    const commandsOf = new Map<string, { seq: number; command: Command }[]>();
    for (const c of commandRows) {
      let list = commandsOf.get(c.workspace_sid);
      if (list === undefined) commandsOf.set(c.workspace_sid, (list = []));
      list.push({ seq: c.seq, command: JSON.parse(c.command) as Command });
    }
    return rows.map((r) => storedWorkspace(r, commandsOf.get(r['sid'] as string) ?? []));
  }

  /** See {@link Store.loadWorkspace}; both reads in one REPEATABLE READ transaction. */
  async loadWorkspace(sid: string): Promise<StoredWorkspace | undefined> {
    const [row, commandRows] = await this.readConsistent(`load workspace ${sid}`, async (c) => [
      (await c.query('SELECT * FROM workspaces WHERE deleted_at IS NULL AND sid = $1', [sid])).rows[0] as Record<string, unknown> | undefined,
      (
        await c.query(
          `SELECT c.seq, c.command FROM commands c JOIN workspaces w ON w.sid = c.workspace_sid
           WHERE c.workspace_sid = $1 AND c.seq > w.snapshot_seq ORDER BY c.seq`,
          [sid],
        )
      ).rows as { seq: number; command: string }[],
    ]);
    if (row === undefined) return undefined;
    return storedWorkspace(
      row,
      commandRows.map((c) => ({ seq: c.seq, command: JSON.parse(c.command) as Command })),
    );
  }


  saveSnapshot(workspaceSid: string, seq: number, snapshot: WorkspaceSnapshot, generator: SidState): Promise<void> {
    return this.write(`save the snapshot of ${workspaceSid}`, async (c) => {
      await c.query('UPDATE workspaces SET snapshot = $1, snapshot_seq = $2, snapshot_generator = $3, last_seq = GREATEST(last_seq, $2) WHERE sid = $4', [
        JSON.stringify(snapshot),
        seq,
        JSON.stringify(generator),
        workspaceSid,
      ]);
      await c.query('DELETE FROM commands WHERE workspace_sid = $1 AND seq <= $2', [workspaceSid, seq]);
    });
  }

  /**
   * See {@link Store.commit}. The batch waits for the transaction in flight, if any, and goes with
   * every batch queued by then in the next one; `onDurable` is called after its COMMIT returned.
   */
  commit(batch: readonly CommandRecord[], onDurable: OnDurable, cores?: CoreWrites): void {
    if (typeof onDurable !== 'function') throw new TypeError('commit: onDurable must be a function');
    if (this.closing !== null) {
      const error = new StoreError('commit: the PostgreSQL store is closed');
      queueMicrotask(() => onDurable(error));
      return;
    }
    this.queue.push({ type: 'commit', batch, cores, onDurable });
    this.kick();
  }

  // ── events ──

  async events(workspaceSid: string, fromMs: number, toMs: number, limit: number): Promise<EngineEvent[]> {
    const rows = await this.read<{ body: string }>(
      `read events of ${workspaceSid}`,
      'SELECT body FROM events WHERE workspace_sid = $1 AND at >= $2 AND at < $3 ORDER BY at, rowid LIMIT $4',
      [workspaceSid, fromMs, toMs, limit],
    );
    return rows.map((r) => JSON.parse(r.body) as EngineEvent);
  }

  async event(workspaceSid: string, sid: string): Promise<EngineEvent | undefined> {
    const rows = await this.read<{ body: string }>(`read event ${sid}`, 'SELECT body FROM events WHERE sid = $1 AND workspace_sid = $2', [sid, workspaceSid]);
    return rows[0] === undefined ? undefined : (JSON.parse(rows[0].body) as EngineEvent);
  }

  async recentEngineEvents(workspaceSid: string, sinceMs: number, maxEvents: number): Promise<EngineEvent[]> {
    const rows = await this.read<{ body: string }>(
      `read recent events of ${workspaceSid}`,
      `SELECT body FROM (SELECT rowid, body FROM events WHERE workspace_sid = $1 AND at >= $2 AND event_type NOT LIKE 'callback.%' ORDER BY rowid DESC LIMIT $3) AS recent
       ORDER BY rowid`,
      [workspaceSid, sinceMs, maxEvents],
    );
    return rows.map((r) => JSON.parse(r.body) as EngineEvent);
  }

  /** See {@link Store.pruneEvents}. Outside the writer: it touches only old rows and may take long. */
  async pruneEvents(beforeMs: number): Promise<number> {
    this.assertOpen('prune events');
    try {
      return (await this.pool.query('DELETE FROM events WHERE at < $1', [beforeMs])).rowCount ?? 0;
    } catch (error) {
      throw storeError('prune events', error);
    }
  }

  // ── the cores' state ──

  async loadCallbackStates(): Promise<CallbackStateRow[]> {
    const [states, requests] = await this.readConsistent('load callback states', async (c) => [
      (await c.query('SELECT workspace_sid, account_sid, center, datastore FROM callback_state ORDER BY rowid')).rows as Record<string, string>[],
      (await c.query('SELECT workspace_sid, body FROM callback_requests ORDER BY workspace_sid, rowid')).rows as { workspace_sid: string; body: string }[],
    ]);
    const bodiesOf = new Map<string, string[]>();
    for (const r of requests) {
      let list = bodiesOf.get(r.workspace_sid);
      if (list === undefined) bodiesOf.set(r.workspace_sid, (list = []));
      list.push(r.body);
    }
    return states.map((r) => {
      const workspaceSid = r['workspace_sid'] as string;
      const center = JSON.parse(r['center'] as string) as CallbackStateRow['center'];
      // As in SQLite: callbacks still inside the center document come first, a row of the same SID wins.
      const bySid = new Map<string, unknown>();
      for (const c of center.callbacks ?? []) bySid.set((c as { sid: string }).sid, c);
      for (const body of bodiesOf.get(workspaceSid) ?? []) {
        const c = JSON.parse(body) as { sid: string };
        bySid.set(c.sid, c);
      }
      center.callbacks = [...bySid.values()];
      return { workspaceSid, accountSid: r['account_sid'] as string, center, datastore: JSON.parse(r['datastore'] as string) as unknown };
    });
  }

  /** See {@link Store.loadCoreRows}: by workspace SID, then rowid (insertion order); one statement, so one view. */
  async loadCoreRows(core: string): Promise<CoreRow[]> {
    const rows = await this.read<Record<string, string>>(`load the ${core} core's rows`, 'SELECT workspace_sid, key, body FROM core_rows WHERE core = $1 ORDER BY workspace_sid, rowid', [core]);
    return rows.map(coreRow);
  }

  /** See {@link Store.loadCoreRowsOf}: in rowid (insertion) order. */
  async loadCoreRowsOf(core: string, workspaceSid: string): Promise<CoreRow[]> {
    const rows = await this.read<Record<string, string>>(
      `load the ${core} core's rows of ${workspaceSid}`,
      'SELECT workspace_sid, key, body FROM core_rows WHERE core = $1 AND workspace_sid = $2 ORDER BY rowid',
      [core, workspaceSid],
    );
    return rows.map(coreRow);
  }

  // ── outbox ──

  async dueOutbox(kind: string, now: number, limit: number): Promise<OutboxRow[]> {
    const rows = await this.read<Record<string, unknown>>(
      `read due ${kind} outbox rows`,
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE delivered_at IS NULL AND kind = $1 AND next_attempt_at <= $2 ORDER BY id LIMIT $3`,
      [kind, now, limit + this.marks.size],
    );
    return rows
      .filter((r) => !this.marks.has(r['id'] as number))
      .slice(0, limit)
      .map(outboxRow);
  }

  async dueLanes(kind: string, now: number): Promise<string[]> {
    const rows = await this.read<{ ws: string }>(
      `read due ${kind} lanes`,
      // Lanes of workspaces, then of accounts (the cores' account-level rows: conversations, Event Streams).
      `SELECT w.sid AS ws FROM (SELECT sid, 0 AS k, rowid AS r FROM workspaces UNION ALL SELECT sid, 1 AS k, date_created AS r FROM accounts) w
       WHERE (SELECT o.next_attempt_at FROM outbox o
              WHERE o.workspace_sid = w.sid AND o.kind = $1 AND o.delivered_at IS NULL ORDER BY o.id LIMIT 1) <= $2
       ORDER BY w.k, w.r, w.sid`,
      [kind, now],
    );
    const due: string[] = [];
    for (const { ws } of rows) {
      if (!this.laneHeads.has(`${ws} ${kind}`)) {
        due.push(ws);
        continue;
      }
      // Its head is marked done and not written yet: judge the lane by its next row.
      const head = await this.outboxHead(ws, kind);
      if (head !== undefined && head.nextAttemptAt <= now) due.push(ws);
    }
    return due;
  }

  async outboxHead(workspaceSid: string, kind: string): Promise<OutboxRow | undefined> {
    return (await this.outboxLane(workspaceSid, kind, 1))[0];
  }

  async outboxLane(workspaceSid: string, kind: string | readonly string[], limit: number, afterId = -1): Promise<OutboxRow[]> {
    if (typeof kind !== 'string') {
      // Several kinds merged in id order: rows marked done and not written yet are left out one by one.
      const rows = await this.read<Record<string, unknown>>(
        `read the ${kind.join('+')} lane of ${workspaceSid}`,
        `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE workspace_sid = $1 AND kind = ANY($2::text[]) AND delivered_at IS NULL AND id > $3 ORDER BY id LIMIT $4`,
        [workspaceSid, [...kind], afterId, limit + this.marks.size],
      );
      return rows
        .filter((r) => !this.marks.has(Number(r['id'])))
        .slice(0, limit)
        .map(outboxRow);
    }
    // A lane is delivered in id order, so its rows marked done and not written yet are all at or
    // below the highest of them.
    const after = Math.max(afterId, this.laneHeads.get(`${workspaceSid} ${kind}`) ?? -1);
    const rows = await this.read<Record<string, unknown>>(
      `read the ${kind} lane of ${workspaceSid}`,
      `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE workspace_sid = $1 AND kind = $2 AND delivered_at IS NULL AND id > $3 ORDER BY id LIMIT $4`,
      [workspaceSid, kind, after, limit + this.marks.size],
    );
    // Rows marked done out of lane order (not written yet) are skipped like the written ones.
    return rows
      .filter((r) => !this.marks.has(r['id'] as number))
      .slice(0, limit)
      .map(outboxRow);
  }

  /**
   * See {@link Store.markOutboxDone}: the mark goes with the next write (a commit, usually), or on
   * its own after {@link OUTBOX_MARK_DELAY_MS}. Single writer: only this store's reads skip the row
   * meanwhile.
   */
  markOutboxDone(id: number, attempts: number, at: number, lane?: OutboxLane): void {
    const key = lane === undefined ? undefined : `${lane.workspaceSid} ${lane.kind}`;
    this.marks.set(id, { attempts, at, lane: key, writing: false });
    if (key !== undefined) this.laneHeads.set(key, Math.max(id, this.laneHeads.get(key) ?? -1));
    if (this.markTimer === null && this.closing === null) {
      this.markTimer = setTimeout(() => {
        this.markTimer = null;
        this.enqueueOp('write done marks', null).catch(() => undefined);
      }, OUTBOX_MARK_DELAY_MS);
      this.markTimer.unref();
    }
  }

  /** See {@link Store.rescheduleOutbox}: a row taken by {@link takeOutbox} is undelivered again. */
  rescheduleOutbox(id: number, attempts: number, nextAttemptAt: number): Promise<void> {
    return this.write(`reschedule outbox row ${id}`, async (c) => {
      await c.query('UPDATE outbox SET attempts = $1, next_attempt_at = $2, delivered_at = NULL WHERE id = $3', [attempts, nextAttemptAt, id]);
    });
  }

  /**
   * See {@link Store.takeOutbox}: one transaction of the writer (in call order with the commits),
   * committed with `synchronous_commit = on` before the promise resolves.
   */
  takeOutbox(id: number, attempts: number, at: number): Promise<boolean> {
    if (this.marks.has(id)) return Promise.resolve(false);
    return this.write(`take outbox row ${id}`, async (c) => {
      const result = await c.query('UPDATE outbox SET delivered_at = $1, attempts = $2 WHERE id = $3 AND delivered_at IS NULL', [at, attempts, id]);
      return result.rowCount === 1;
    });
  }

  async pruneOutbox(beforeMs: number): Promise<number> {
    return this.write('prune the outbox', async (c) => (await c.query('DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < $1', [beforeMs])).rowCount ?? 0);
  }

  async pendingOutbox(): Promise<number> {
    await this.write('write done marks', null);
    const rows = await this.read<{ n: number }>('count pending outbox rows', 'SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL');
    return rows[0]?.n ?? 0;
  }

  // ── the writer ──

  /** Queues a write (in call order with commits); resolves with what `run` returns once committed. */
  private write<T>(what: string, run: ((client: PoolClient) => Promise<T>) | null): Promise<T> {
    if (this.closing !== null) return Promise.reject(new StoreError(`${what}: the PostgreSQL store is closed`));
    return this.enqueueOp(what, run) as Promise<T>;
  }

  private enqueueOp(what: string, run: ((client: PoolClient) => Promise<unknown>) | null): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ type: 'op', what, run, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.writing || this.queue.length === 0) return;
    this.writing = true;
    void this.drain();
  }

  /**
   * Runs the queued writes one transaction at a time until the queue is empty. The callers of a
   * committed write are answered once the next write is on its way to the database (its rows
   * encoded and its statement sent), so the database is not idle while they run; they are still
   * answered in order, before any failure of a later write is reported.
   */
  private async drain(): Promise<void> {
    /** Answers the callers of the last committed write; null when they have been answered. */
    let settle: (() => void) | null = null;
    while (this.queue.length > 0) {
      const head = this.queue[0] as WriteJob;
      let jobs: WriteJob[];
      if (head.type === 'commit') {
        let n = 1;
        while (n < this.queue.length && n < MAX_BATCHES_PER_TRANSACTION && this.queue[n]?.type === 'commit') n += 1;
        jobs = this.queue.splice(0, n);
      } else {
        jobs = this.queue.splice(0, 1);
      }
      const marks = this.takeMarks();
      // Up to its first wait, the write runs now: on the kept connection that sends its statement.
      const written = head.type === 'commit' ? this.writeCommits(jobs, marks) : this.writeOp(head, marks);
      if (settle !== null) {
        const previous: () => void = settle;
        settle = null;
        previous();
      }
      let result: unknown;
      try {
        result = await written;
      } catch (error) {
        this.marksNotWritten(marks);
        // Guarantee 6: whatever was queued behind the failed write fails with it.
        const failed = [...jobs, ...this.queue.splice(0)];
        const failure = storeError(head.type === 'commit' ? 'commit' : head.what, error);
        for (const job of failed) {
          if (job.type === 'commit') callSafely(job.onDurable, failure);
          else job.reject(failure);
        }
        continue;
      }
      this.marksWritten(marks);
      settle = () => {
        for (const job of jobs) {
          if (job.type === 'commit') callSafely(job.onDurable, null);
          else job.resolve(result);
        }
      };
    }
    // Not writing any more before the last callers run: a commit they make starts a new drain.
    this.writing = false;
    // Idle, the kept connection does not keep the process alive (as the pool's idle ones do not).
    if (this.writer !== null) holdOpen(this.writer, false);
    if (settle !== null) settle();
  }

  /**
   * The writer's connection, kept between transactions (no pool round trip per transaction); a
   * failed write drops it ({@link dropWriter}) and the next one connects anew.
   */
  private async writerConnection(): Promise<PoolClient> {
    if (this.writer !== null) {
      holdOpen(this.writer, true);
      return this.writer;
    }
    const client = await this.writerPool.connect();
    // Checked out, the connection has no pool listener: a break between transactions (server
    // restart) is reported here, and the next write connects anew.
    client.on('error', (error) => {
      process.stderr.write(`switchboard store: the PostgreSQL writer's connection failed: ${error.message}\n`);
      if (this.writer === client) this.dropWriter();
    });
    this.writer = client;
    return client;
  }

  /** Closes the writer's connection: the server rolls back whatever transaction it had open. */
  private dropWriter(): void {
    this.writer?.release(true);
    this.writer = null;
  }

  /** One op in its own transaction, with the done marks; without `run`, only the marks (nothing if none). */
  private async writeOp(job: Extract<WriteJob, { type: 'op' }>, marks: [number, Mark][]): Promise<unknown> {
    if (job.run === null && marks.length === 0) return undefined;
    const client = await this.writerConnection();
    let result: unknown;
    try {
      await client.query('BEGIN');
      if (marks.length > 0) await client.query(MARKS_SQL, marksParams(marks));
      if (job.run !== null) result = await job.run(client);
      await client.query('COMMIT');
    } catch (error) {
      // Dropping the connection ends the transaction (rolls it back) whatever state it is in.
      this.dropWriter();
      throw error;
    }
    this.transactions += 1;
    return result;
  }

  /** A group of commit batches (and the done marks) in one statement, so one transaction. */
  private async writeCommits(jobs: WriteJob[], marks: [number, Mark][]): Promise<void> {
    const t0 = this.profile === null ? 0 : performance.now();
    const cmdWs: string[] = [];
    const cmdSeq: number[] = [];
    const cmdBody: string[] = [];
    const ev: [string[], string[], number[], string[], number[], string[], string[]] = [[], [], [], [], [], [], []];
    const ob: [string[], string[], string[], number[]] = [[], [], [], []];
    const addEvent = (workspaceSid: string, seq: number, e: EventRecord): void => {
      ev[0].push(e.sid);
      ev[1].push(workspaceSid);
      ev[2].push(seq);
      ev[3].push(e.eventType);
      ev[4].push(e.at);
      ev[5].push(e.resourceSid);
      ev[6].push(JSON.stringify(e));
    };
    const addOutbox = (workspaceSid: string, o: OutboxInsert): void => {
      ob[0].push(workspaceSid);
      ob[1].push(o.kind);
      ob[2].push(o.payload);
      ob[3].push(o.dueAt);
    };
    // Callback rows end as the last write of the group says: one row per key (an upsert may not
    // touch a row twice in one statement), in the order keys first appear.
    const states = new Map<string, [string, string, string, number]>();
    const requests = new Map<string, { ws: string; sid: string; row: [string, string, string, number] | null }>();
    // Core rows likewise, one per key; a key whose earlier write in the group deleted it goes to the
    // end of the order when written again (`moved`): what the writes one after the other give.
    const coreRows = new Map<string, { write: CoreRowWrite; moved: boolean }>();
    for (const job of jobs) {
      if (job.type !== 'commit') continue;
      for (const c of job.batch) {
        cmdWs.push(c.workspaceSid);
        cmdSeq.push(c.seq);
        cmdBody.push(JSON.stringify(c.command));
        for (const e of c.events) addEvent(c.workspaceSid, c.seq, e);
        for (const o of c.outbox) addOutbox(c.workspaceSid, o);
      }
      if (job.cores === undefined) continue;
      for (const s of job.cores.callbackStates) {
        states.set(s.workspaceSid, [s.accountSid, JSON.stringify(s.center), JSON.stringify(s.datastore), Math.floor(s.updatedAt)]);
        for (const c of s.changed) {
          requests.set(`${s.workspaceSid} ${c.sid}`, { ws: s.workspaceSid, sid: c.sid, row: [c.callTargetSid, c.status, JSON.stringify(c), Math.floor(c.updatedAt)] });
        }
        for (const sid of s.removed) requests.set(`${s.workspaceSid} ${sid}`, { ws: s.workspaceSid, sid, row: null });
      }
      for (const write of job.cores.coreRows ?? []) {
        const key = `${write.workspaceSid}\u0000${write.core}\u0000${write.key}`;
        const before = coreRows.get(key);
        if (before === undefined || write.body === null) coreRows.set(key, { write, moved: false });
        else if (before.write.body === null) {
          coreRows.delete(key);
          coreRows.set(key, { write, moved: true });
        } else coreRows.set(key, { write, moved: before.moved });
      }
      for (const { workspaceSid, event } of job.cores.events) addEvent(workspaceSid, 0, event);
      for (const o of job.cores.outbox) addOutbox(o.workspaceSid, o);
    }
    if (cmdWs.length + ev[0].length + ob[0].length + states.size + requests.size + coreRows.size + marks.length === 0) return;
    const up: [string[], string[], string[], string[], string[], number[]] = [[], [], [], [], [], []];
    const del: [string[], string[]] = [[], []];
    for (const r of requests.values()) {
      if (r.row === null) {
        del[0].push(r.ws);
        del[1].push(r.sid);
      } else {
        up[0].push(r.ws);
        up[1].push(r.sid);
        up[2].push(r.row[0]);
        up[3].push(r.row[1]);
        up[4].push(r.row[2]);
        up[5].push(r.row[3]);
      }
    }
    const crUp: [string[], string[], string[], string[], number[]] = [[], [], [], [], []];
    const crMoved: [string[], string[], string[]] = [[], [], []];
    const crDel: [string[], string[], string[]] = [[], [], []];
    for (const { write: w, moved } of coreRows.values()) {
      if (w.body === null) {
        crDel[0].push(w.workspaceSid);
        crDel[1].push(w.core);
        crDel[2].push(w.key);
        continue;
      }
      crUp[0].push(w.workspaceSid);
      crUp[1].push(w.core);
      crUp[2].push(w.key);
      crUp[3].push(w.body);
      crUp[4].push(Math.floor(w.updatedAt));
      if (moved) {
        crMoved[0].push(w.workspaceSid);
        crMoved[1].push(w.core);
        crMoved[2].push(w.key);
      }
    }
    const st: [string[], string[], string[], string[], number[]] = [[], [], [], [], []];
    for (const [ws, [acc, center, ds, at]] of states) {
      st[0].push(ws);
      st[1].push(acc);
      st[2].push(center);
      st[3].push(ds);
      st[4].push(at);
    }
    const t1 = this.profile === null ? 0 : performance.now();
    const client = await this.writerConnection();
    const t2 = this.profile === null ? 0 : performance.now();
    const sched0 = this.profile === null ? [0, 0] : backendSched(client);
    try {
      await client.query({ name: 'switchboard_commit', text: COMMIT_SQL, values: [...marksParams(marks), cmdWs, cmdSeq, cmdBody, ...ev, ...ob, ...st, ...up, ...del, ...crUp, ...crMoved, ...crDel] });
    } catch (error) {
      this.dropWriter();
      throw error;
    }
    if (this.profile !== null) {
      const t3 = performance.now();
      const sched = backendSched(client);
      this.profile.add(jobs.length, cmdWs.length, ev[0].length, ob[0].length, marks.length, t1 - t0, t2 - t1, t3 - t2, sched[0] - (sched0[0] ?? 0), sched[1] - (sched0[1] ?? 0));
    }
    this.transactions += 1;
  }

  /** The marks not being written yet, now marked as being written. */
  private takeMarks(): [number, Mark][] {
    const taken: [number, Mark][] = [];
    for (const entry of this.marks) {
      if (entry[1].writing) continue;
      entry[1].writing = true;
      taken.push(entry);
    }
    if (this.markTimer !== null) clearTimeout(this.markTimer);
    this.markTimer = null;
    return taken;
  }

  /** The marks' transaction committed: forget them (unless marked again meanwhile), and their lane heads. */
  private marksWritten(marks: [number, Mark][]): void {
    if (marks.length === 0) return;
    for (const [id, mark] of marks) if (this.marks.get(id) === mark) this.marks.delete(id);
    this.laneHeads = new Map();
    for (const [id, mark] of this.marks) if (mark.lane !== undefined) this.laneHeads.set(mark.lane, Math.max(id, this.laneHeads.get(mark.lane) ?? -1));
  }

  /** The marks' transaction failed: they wait for the next write. */
  private marksNotWritten(marks: [number, Mark][]): void {
    for (const [, mark] of marks) mark.writing = false;
    if (this.marks.size > 0 && this.markTimer === null && this.closing === null) {
      this.markTimer = setTimeout(() => {
        this.markTimer = null;
        this.enqueueOp('write done marks', null).catch(() => undefined);
      }, OUTBOX_MARK_DELAY_MS);
      this.markTimer.unref();
    }
  }

  // ── reads ──

  private assertOpen(what: string): void {
    if (this.closing !== null) throw new StoreError(`${what}: the PostgreSQL store is closed`);
  }

  private async read<T extends QueryResultRow>(what: string, sql: string, params: unknown[] = []): Promise<T[]> {
    this.assertOpen(what);
    try {
      return (await this.pool.query<T>(sql, params)).rows;
    } catch (error) {
      throw storeError(what, error);
    }
  }

  /** Several reads that must see one state of the database (REPEATABLE READ, read only). */
  private async readConsistent<T>(what: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    this.assertOpen(what);
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw storeError(what, error);
    }
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await body(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      client.release(true);
      throw storeError(what, error);
    }
  }
}

/** Whether a connection's socket keeps the process alive (pg's `Client.ref` / `unref`, missing from its type declarations). */
function holdOpen(client: PoolClient, hold: boolean): void {
  const c = client as unknown as { ref?: () => void; unref?: () => void };
  if (hold) c.ref?.();
  else c.unref?.();
}

function marksParams(marks: [number, Mark][]): [number[], number[], number[]] {
  return [marks.map(([id]) => id), marks.map(([, m]) => m.attempts), marks.map(([, m]) => m.at)];
}

function storeError(what: string, cause: unknown): StoreError {
  if (cause instanceof StoreError) return cause;
  return new StoreError(`PostgreSQL store: cannot ${what}: ${(cause as Error).message}`, { cause });
}

/** Calls a caller's callback; an exception from it surfaces as uncaught (as from any I/O callback) without stopping the writer. */
function callSafely(onDurable: OnDurable, error: Error | null): void {
  try {
    onDurable(error);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}

/** The advisory-lock key of the migrations of a schema: 64 bits of a hash, as a decimal string. */
function migrationLockKey(schema: string | null): string {
  return createHash('sha256').update(`switchboard migrate ${schema ?? ''}`).digest().readBigInt64BE(0).toString();
}

/**
 * Applies the numbered migrations in migrations-pg/ that the database has not seen, in order, each
 * in its own transaction recorded in schema_migrations. A session advisory lock (released when
 * this ends, or when the connection drops) lets one process migrate while the others wait, then
 * find nothing left to do.
 */
async function migrate(pool: pg.Pool, schema: string | null): Promise<void> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new StoreError(`Cannot connect to PostgreSQL: ${(error as Error).message}. Check the URL and that the server runs.`, { cause: error });
  }
  const key = migrationLockKey(schema);
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [key]);
    if (schema !== null) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)');
    const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d{4}-.+\.sql$/.test(f))
      .sort();
    for (const file of files) {
      const version = Number(file.slice(0, 4));
      if (applied.has(version)) continue;
      const sql = readFileSync(MIGRATIONS_DIR + file, 'utf8');
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [version, Date.now()]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new StoreError(`Migration ${file} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } catch (error) {
    broken = true;
    throw error instanceof StoreError ? error : new StoreError(`Cannot migrate the PostgreSQL schema: ${(error as Error).message}`, { cause: error });
  } finally {
    // On failure the connection is dropped, which releases the lock too.
    if (!broken) await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
    client.release(broken);
  }
}

/** The PostgreSQL backend of a connection so far, from /proc/<pid>/schedstat: [ms on a CPU, ms waiting for one] ([0, 0] when unreadable). */
function backendSched(client: PoolClient): [number, number] {
  const pid = (client as unknown as { processID?: number }).processID;
  if (pid === undefined) return [0, 0];
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ');
    return [Number(run) / 1e6, Number(wait) / 1e6];
  } catch {
    return [0, 0];
  }
}

/**
 * Where a commit transaction's time goes (SWITCHBOARD_PG_PROFILE=1, reported on stderr at close and
 * every 5 s): encoding the rows, waiting for a pool connection, the statement's round trip, and the
 * database backend's time on a CPU and waiting for one during it (from /proc/<pid>/schedstat: the
 * database runs on this machine; the rest of the statement is I/O, locks and the round trip).
 */
class WriterProfile {
  private n = 0;
  private sums = { batches: 0, records: 0, events: 0, outbox: 0, marks: 0, encode: 0, connect: 0, query: 0, backendCpu: 0, backendWait: 0 };
  private queries: number[] = [];
  private last = performance.now();

  add(batches: number, records: number, events: number, outbox: number, marks: number, encode: number, connect: number, query: number, backendCpu: number, backendWait: number): void {
    this.n += 1;
    const s = this.sums;
    s.batches += batches;
    s.records += records;
    s.events += events;
    s.outbox += outbox;
    s.marks += marks;
    s.encode += encode;
    s.connect += connect;
    s.query += query;
    s.backendCpu += backendCpu;
    s.backendWait += backendWait;
    this.queries.push(query);
    if (performance.now() - this.last > 5000) {
      this.last = performance.now();
      process.stderr.write(this.report());
    }
  }

  /** One line: per transaction means (and the statement's p50/p99), then clears. */
  report(): string {
    if (this.n === 0) return '';
    const per = (x: number): string => (x / this.n).toFixed(2);
    const s = this.sums;
    this.queries.sort((a, b) => a - b);
    const q = (f: number): string => (this.queries[Math.floor(f * (this.queries.length - 1))] ?? 0).toFixed(2);
    const line =
      `pg writer: ${this.n} tx; per tx: batches ${per(s.batches)} records ${per(s.records)} events ${per(s.events)} outbox ${per(s.outbox)} marks ${per(s.marks)}; ` +
      `ms: encode ${per(s.encode)} connect ${per(s.connect)} statement ${per(s.query)} (p50 ${q(0.5)} p99 ${q(0.99)}) backend on CPU ${per(s.backendCpu)} waiting for CPU ${per(s.backendWait)}; ` +
      `per record: statement ${(s.query / Math.max(1, s.records)).toFixed(3)} backend CPU ${(s.backendCpu / Math.max(1, s.records)).toFixed(3)} encode ${(s.encode / Math.max(1, s.records)).toFixed(3)}\n`;
    this.n = 0;
    for (const k of Object.keys(s) as (keyof typeof s)[]) s[k] = 0;
    this.queries = [];
    return line;
  }
}
