/**
 * The embedded store: SQLite through Node's built-in `node:sqlite`, in WAL mode. Holds accounts,
 * workspaces (snapshot + command log), events and the webhook outbox; see
 * migrations/0001-initial.sql for the durability model.
 *
 * `node:sqlite` is synchronous, which suits the runtime: a batch of commands is executed and
 * written in one go, and nothing else runs in between. What would block the thread that serves
 * requests for long is done elsewhere: the WAL sync that makes a commit durable runs on libuv's
 * thread pool ({@link SqliteStore.commit} with `onDurable`), and WAL checkpoints run in a worker
 * thread with its own connection (checkpointer.ts).
 */
import { chmodSync, closeSync, fdatasync, fdatasyncSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { accountRow, apiKeyRow, coreRow, outboxRow, storedWorkspace } from './rows.ts';
import type { Command, EngineEvent, WorkspaceSnapshot } from '../engine/index.ts';
import {
  OUTBOX_MARK_DELAY_MS,
  StoreError,
  type AccountRow,
  type ApiKeyRow,
  type CallbackRecord,
  type CallbackStateRow,
  type CommandRecord,
  type CoreRow,
  type CoreWrites,
  type OutboxLane,
  type EventRecord,
  type NewWorkspace,
  type OnDurable,
  type OutboxInsert,
  type OutboxRow,
  type SidState,
  type Store,
  type StoredWorkspace,
} from './store.ts';

// The row types' one home is store.ts; re-exported here for the modules that always took them from this one.
export { OUTBOX_MARK_DELAY_MS, StoreError };
export type { AccountRow, ApiKeyRow, CallbackRecord, CallbackStateRow, CallbackStateWrite, CommandRecord, CoreRow, CoreRowWrite, CoreWrites, EventRecord, OutboxRow, SidState, StoredWorkspace } from './store.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/**
 * The SQL of an outbox read: each row's columns (table alias `o`) with its payload, which lives in
 * `outbox_payloads` (migration 0009), then `rest` (its WHERE, ORDER BY, LIMIT). `index`: an
 * `INDEXED BY` for `outbox`.
 */
function outboxSelect(rest: string, index?: string): string {
  const from = index === undefined ? 'outbox o' : `outbox o INDEXED BY ${index}`;
  return `SELECT o.id, o.workspace_sid, o.kind, p.payload, o.attempts, o.next_attempt_at FROM ${from} JOIN outbox_payloads p ON p.id = o.id ${rest}`;
}

export interface StoreOptions {
  /**
   * `FULL` (default) syncs every commit to disk; `NORMAL` survives a process crash but not power
   * loss. How FULL syncs: the connection itself runs at SQLite's NORMAL (COMMIT writes the WAL
   * without syncing it) and the store syncs the WAL file itself — `fdatasync` after every write
   * that is acknowledged, on libuv's thread pool for {@link SqliteStore.commit} with `onDurable`
   * (see there), at once for the rest. Every acknowledged write is on disk, as with SQLite's FULL;
   * the thread that serves requests no longer waits for the disk inside COMMIT (under I/O load a
   * sync took 5–60 ms there and stalled every request in flight).
   *
   * `OFF`: a scratch database that need not survive anything (a simulation's, a benchmark's): no
   * WAL — the rollback journal is kept in memory, so a failed transaction still rolls back — no
   * syncs and no checkpointer thread (`checkpoint` is ignored). A crash can leave the file corrupt;
   * never use it for data you keep. A database at the path `:memory:` (nothing on disk; it ends
   * with the store) always runs this way.
   */
  synchronous?: 'FULL' | 'NORMAL' | 'OFF';
  /**
   * Where WAL checkpoints run. `worker` (default): a worker thread with its own connection
   * (src/store/checkpointer.ts) checkpoints after commits, at most every
   * {@link CHECKPOINT_INTERVAL_MS}; the committing connection only checkpoints itself as a safety
   * net once the WAL passes {@link SAFETY_CHECKPOINT_PAGES} pages. `inline`: SQLite's automatic
   * checkpoint inside the COMMIT that crosses 1,000 pages (what SQLite does by default).
   */
  checkpoint?: 'worker' | 'inline';
}

/** Least time between two checkpoints of the checkpointer thread, in milliseconds. */
export const CHECKPOINT_INTERVAL_MS = 100;
/**
 * WAL size, in pages (4 KiB), past which the committing connection checkpoints by itself: only if
 * the checkpointer thread fell far behind or died.
 */
export const SAFETY_CHECKPOINT_PAGES = 16_384;

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private readonly db: DatabaseSync;
  private readonly insertCommand: StatementSync;
  private readonly insertEvent: StatementSync;
  private readonly insertOutbox: StatementSync;
  private readonly insertOutboxPayload: StatementSync;
  private readonly statements = new Map<string, StatementSync>();
  /** Checkpoints the checkpointer thread finished (see {@link StoreOptions.checkpoint}). */
  checkpointsDone = 0;
  private checkpointer: Worker | null = null;
  private checkpointRequested = false;
  /** Set by {@link SqliteStore.close}: resolves when the checkpointer thread has exited. */
  private closing: Promise<void> | null = null;
  /** Outbox rows marked done but not written yet: id → [attempts, at] (see {@link markOutboxDone}). */
  private doneMarks = new Map<number, [number, number]>();
  /** Per lane (`workspaceSid kind`), the highest id marked done and not written yet. */
  private doneLaneHeads = new Map<string, number>();
  private doneFlushTimer: NodeJS.Timeout | null = null;
  /** FULL: the store syncs the WAL file itself (see {@link StoreOptions.synchronous}). */
  private readonly syncWal: boolean;
  private walFd: number | null = null;
  /** Callbacks of commits written and not yet covered by a WAL sync. */
  private syncWaiters: ((error: Error | null) => void)[] = [];
  /** Callbacks the sync in flight will answer (null: no sync in flight). */
  private syncing: ((error: Error | null) => void)[] | null = null;
  private syncFailure: Error | null = null;
  /**
   * Ids of the outbox rows this connection wrote that are not on disk yet, ascending. Webhooks go
   * out for rows below the first of them only (rows another connection committed are durable).
   */
  private unsyncedOutboxIds: number[] = [];
  /**
   * A failed commit whose `onDurable` has not been called yet, and how many such calls are still
   * due: until they are, later commits and snapshots fail with it (see {@link commit}).
   */
  private unreported: { failure: StoreError; count: number } | null = null;

  private constructor(path: string, db: DatabaseSync, syncWal: boolean) {
    this.path = path;
    this.db = db;
    this.syncWal = syncWal;
    this.insertCommand = db.prepare('INSERT INTO commands (workspace_sid, seq, command) VALUES (?, ?, ?)');
    this.insertEvent = db.prepare('INSERT INTO events (sid, workspace_sid, seq, event_type, at, resource_sid, body) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.insertOutbox = db.prepare('INSERT INTO outbox (workspace_sid, kind, next_attempt_at) VALUES (?, ?, ?)');
    this.insertOutboxPayload = db.prepare('INSERT INTO outbox_payloads (id, payload) VALUES (?, ?)');
  }

  /**
   * Opens (creating if needed) the database file and applies pending migrations. The file and its
   * WAL and shared-memory files are readable by the owner only (0600; issue 11 item 7): they hold
   * every workspace's data, hashed credentials and sealed auth tokens. An existing file with wider
   * permissions is tightened. The path `:memory:` opens a scratch database in memory instead (see
   * {@link StoreOptions.synchronous} `OFF`).
   */
  static open(path: string, options: StoreOptions = {}): SqliteStore {
    const memory = path === ':memory:';
    let db: DatabaseSync;
    try {
      if (!memory) ownerOnly(path);
      db = new DatabaseSync(path);
      // FULL is kept by syncing the WAL file here (see StoreOptions.synchronous), so the
      // connection runs at NORMAL; the migrations below are synced at once.
      db.exec(
        options.synchronous === 'OFF' || memory
          ? `PRAGMA journal_mode = MEMORY; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;`
          : `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;`,
      );
    } catch (error) {
      throw new StoreError(`Cannot open the database ${path}: ${(error as Error).message}. Check that the folder exists and is writable.`, { cause: error });
    }
    migrate(db);
    const store = new SqliteStore(path, db, !memory && (options.synchronous ?? 'FULL') === 'FULL');
    store.syncNow();
    if ((options.checkpoint ?? 'worker') === 'worker' && !memory && options.synchronous !== 'OFF') store.startCheckpointer(options.synchronous ?? 'FULL');
    return store;
  }

  /**
   * Moves WAL checkpoints off this thread (see {@link StoreOptions.checkpoint}). If the thread
   * cannot start or fails, this connection goes back to SQLite's automatic checkpoint.
   */
  private startCheckpointer(synchronous: 'FULL' | 'NORMAL'): void {
    const fallBack = (): void => {
      this.checkpointer = null;
      if (this.db.isOpen) this.db.exec('PRAGMA wal_autocheckpoint = 1000');
    };
    try {
      const worker = new Worker(new URL('./checkpointer.ts', import.meta.url), {
        workerData: { path: this.path, synchronous, minIntervalMs: CHECKPOINT_INTERVAL_MS },
      });
      worker.on('message', (m: { type: string; message?: string }) => {
        if (m.type === 'checkpointed' || m.type === 'error') this.checkpointRequested = false;
        if (m.type === 'checkpointed') this.checkpointsDone += 1;
        if (m.type === 'error') process.stderr.write(`switchboard store: WAL checkpoint failed: ${m.message ?? ''}\n`);
      });
      worker.on('error', (error) => {
        process.stderr.write(`switchboard store: the checkpointer thread failed (${error.message}); checkpointing inline\n`);
        fallBack();
      });
      worker.on('exit', () => {
        if (this.checkpointer === worker) fallBack();
      });
      // After the listeners: adding a 'message' listener refs the worker again. Unreferenced, the
      // thread never keeps the process alive (a server exits on its own socket's terms).
      worker.unref();
      this.db.exec(`PRAGMA wal_autocheckpoint = ${SAFETY_CHECKPOINT_PAGES}`);
      this.checkpointer = worker;
    } catch (error) {
      process.stderr.write(`switchboard store: cannot start the checkpointer thread (${(error as Error).message}); checkpointing inline\n`);
      fallBack();
    }
  }

  /** Asks the checkpointer thread for a checkpoint unless one is already asked for. */
  private requestCheckpoint(): void {
    if (this.checkpointer === null || this.checkpointRequested) return;
    this.checkpointRequested = true;
    this.checkpointer.postMessage({ type: 'checkpoint' });
  }

  /** A prepared statement, prepared once per store. */
  private stmt(sql: string): StatementSync {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** The schema version (number of the last migration applied). */
  schemaVersion(): Promise<number> {
    return this.op(() => {
      const row = this.db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
      return row.v ?? 0;
    });
  }

  /**
   * Closes the connection; the checkpointer thread finishes its checkpoint, if any, and ends.
   * Everything but the thread's end happens before this returns (a caller that does not await it
   * still gets a closed, synced store). The promise resolves once the checkpointer thread has
   * exited, i.e. its own connection is closed too: only then is the file free for another
   * process or store to open without "database is locked". Calling it again returns the same
   * promise. Never rejects.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (!this.db.isOpen) return Promise.resolve();
    this.flushOutboxMarks();
    // Whatever is written and waits for a sync is synced now and answered.
    const waiters = [...(this.syncing ?? []), ...this.syncWaiters];
    this.syncing = null;
    this.syncWaiters = [];
    let error: Error | null = this.syncFailure;
    if (error === null) {
      try {
        this.syncNow();
      } catch (e) {
        error = e as Error;
      }
    }
    for (const w of waiters) w(error);
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
    const worker = this.checkpointer;
    this.checkpointer = null;
    this.closing =
      worker === null
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.postMessage({ type: 'close' });
          });
    this.db.close();
    return this.closing;
  }

  // ── accounts ──

  insertAccount(a: AccountRow): Promise<void> {
    return this.op(() => {
      this.db
        .prepare('INSERT INTO accounts (sid, friendly_name, auth_token_hash, auth_token_sealed, date_created) VALUES (?, ?, ?, ?, ?)')
        .run(a.sid, a.friendlyName, a.authTokenHash, a.authTokenSealed, a.dateCreated);
      this.syncNow();
    });
  }

  accounts(): Promise<AccountRow[]> {
    return this.op(() => {
      return (this.db.prepare('SELECT * FROM accounts ORDER BY date_created, sid').all() as Record<string, unknown>[]).map(accountRow);
    });
  }

  insertApiKey(k: ApiKeyRow): Promise<void> {
    return this.op(() => {
      this.db
        .prepare('INSERT INTO api_keys (sid, account_sid, friendly_name, secret_hash, date_created) VALUES (?, ?, ?, ?, ?)')
        .run(k.sid, k.accountSid, k.friendlyName, k.secretHash, k.dateCreated);
      this.syncNow();
    });
  }

  apiKeys(): Promise<ApiKeyRow[]> {
    return this.op(() => {
      return (this.db.prepare('SELECT * FROM api_keys ORDER BY date_created, sid').all() as Record<string, unknown>[]).map(apiKeyRow);
    });
  }

  // ── workspaces ──

  /** Registers a new workspace and commits the events of its creation in one transaction. */
  createWorkspace(w: NewWorkspace, events: readonly EventRecord[], outbox: CommandRecord['outbox'] = []): Promise<void> {
    return this.op(() => {
      this.transaction(() => {
        this.db
          .prepare('INSERT INTO workspaces (sid, account_sid, sid_seed, sid_scheme, create_options) VALUES (?, ?, ?, ?, ?)')
          .run(w.sid, w.accountSid, w.sidSeed, w.sidScheme ?? 0, JSON.stringify(w.createOptions));
        for (const e of events) this.writeEvent(w.sid, 0, e);
        for (const o of outbox) this.writeOutbox(w.sid, o);
      });
      this.syncNow();
    });
  }

  /** Marks a workspace deleted (its rows stay for the event retention). */
  deleteWorkspace(sid: string, at: number): Promise<void> {
    return this.op(() => {
      this.db.prepare('UPDATE workspaces SET deleted_at = ? WHERE sid = ?').run(at, sid);
      this.syncNow();
    });
  }

  /** Every live workspace with its snapshot and the commands after it. */
  loadWorkspaces(): Promise<StoredWorkspace[]> {
    return this.op(() => {
      const rows = this.db.prepare('SELECT * FROM workspaces WHERE deleted_at IS NULL ORDER BY rowid').all() as Record<string, unknown>[];
      return rows.map((r) => this.storedWorkspace(r));
    });
  }

  /** One live workspace with its snapshot and the commands after it, or undefined. */
  loadWorkspace(sid: string): Promise<StoredWorkspace | undefined> {
    return this.op(() => {
      const row = this.db.prepare('SELECT * FROM workspaces WHERE deleted_at IS NULL AND sid = ?').get(sid) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : this.storedWorkspace(row);
    });
  }

  private storedWorkspace(r: Record<string, unknown>): StoredWorkspace {
    const commands = (this.stmt('SELECT seq, command FROM commands WHERE workspace_sid = ? AND seq > ? ORDER BY seq').all(r['sid'] as string, r['snapshot_seq'] as number) as { seq: number; command: string }[]).map((c) => ({
      seq: c.seq,
      command: JSON.parse(c.command) as Command,
    }));
    return storedWorkspace(r, commands);
  }


  /**
   * Writes a batch of executed commands, their events and outbox rows, and the cores' writes, in
   * ONE transaction (see {@link Store.commit}); on failure nothing is written.
   *
   * With `onDurable` (the Store interface; the runtime's path) this returns once the transaction is
   * written (readers of this connection see it) and `onDurable(null)` is called once it is on disk
   * — after a WAL sync that began after the write, on libuv's thread pool, shared by every batch
   * written meanwhile (group commit) — or `onDurable(error)` with a {@link StoreError}: the
   * transaction failed (rolled back; a later commit is tried afresh) or the sync failed (then
   * every later commit fails too). Callbacks come in commit order, never inside this call for a
   * failure. Without `onDurable` (SQLite's own tests and tools) the batch is on disk when this
   * returns, and a failure is thrown.
   */
  commit(batch: readonly CommandRecord[], onDurable?: OnDurable, cores?: CoreWrites): void {
    try {
      // Guarantee 6: a batch handed over before an earlier failure was reported may build on the
      // failed one (the caller did not know yet), so it fails too.
      if (onDurable !== undefined && this.unreported !== null) throw this.unreported.failure;
      this.write(batch, cores);
    } catch (error) {
      const failure = error instanceof StoreError ? error : new StoreError(`${this.path}: ${(error as Error).message}`, { cause: error });
      if (onDurable === undefined) throw failure;
      // Through `onDurable`, as the Store interface asks, and after the batches written before
      // this one are answered (in call order): behind the WAL sync in flight, if there is one.
      this.unreported = { failure: this.unreported?.failure ?? failure, count: (this.unreported?.count ?? 0) + 1 };
      const report = (): void => {
        if (this.unreported !== null && --this.unreported.count === 0) this.unreported = null;
        onDurable(failure);
      };
      if (this.syncing !== null) this.syncWaiters.push(report);
      else queueMicrotask(report);
      return;
    }
    if (onDurable === undefined) this.syncNow();
    else this.syncLater(onDurable);
  }

  /** The transaction of {@link commit}; throws (nothing written) when it fails. */
  private write(batch: readonly CommandRecord[], cores: CoreWrites | undefined): void {
    if (this.syncFailure !== null) throw this.syncFailure;
    if (!this.db.isOpen) throw new StoreError(`commit: the store ${this.path} is closed`);
    const coreRows = cores === undefined ? 0 : cores.events.length + cores.outbox.length + cores.callbackStates.length + (cores.coreRows?.length ?? 0);
    if (batch.length === 0 && coreRows === 0) return;
    const marks = this.takeOutboxMarks();
    const ids: number[] = [];
    this.transaction(() => {
      this.writeOutboxMarks(marks);
      // No UPDATE of workspaces.last_seq here: that row holds the snapshot, and rewriting a
      // multi-megabyte row on every commit was most of the write path's cost. The log's last
      // seq is MAX(commands.seq); last_seq is kept as of the latest snapshot.
      for (const c of batch) {
        this.insertCommand.run(c.workspaceSid, c.seq, JSON.stringify(c.command));
        for (const e of c.events) this.writeEvent(c.workspaceSid, c.seq, e);
        for (const o of c.outbox) ids.push(this.writeOutbox(c.workspaceSid, o));
      }
      if (cores !== undefined) this.writeCores(cores, ids);
      this.beforeCommit?.();
    });
    // Only once the transaction stands: a rolled-back batch leaves no ids behind.
    for (const id of ids) this.unsyncedOutboxIds.push(id);
    this.requestCheckpoint();
  }

  /**
   * Test hook: called inside every {@link commit}'s transaction, after its rows are written and
   * before COMMIT; a throw there fails the commit as a full disk would (rolled back, nothing
   * written, a {@link StoreError} thrown). Null in production.
   */
  beforeCommit: (() => void) | null = null;

  /** The cores' rows of a commit (inside its transaction); outbox ids are appended to `ids`. */
  private writeCores(cores: CoreWrites, ids: number[]): void {
    for (const s of cores.callbackStates) {
      this.stmt(
        `INSERT INTO callback_state (workspace_sid, account_sid, center, datastore, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (workspace_sid) DO UPDATE SET center = excluded.center, datastore = excluded.datastore, updated_at = excluded.updated_at`,
      ).run(s.workspaceSid, s.accountSid, JSON.stringify(s.center), JSON.stringify(s.datastore), s.updatedAt);
      const upsert = this.stmt(
        `INSERT INTO callback_requests (workspace_sid, sid, call_target_sid, status, body, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (workspace_sid, sid) DO UPDATE SET status = excluded.status, body = excluded.body, updated_at = excluded.updated_at`,
      );
      for (const c of s.changed) upsert.run(s.workspaceSid, c.sid, c.callTargetSid, c.status, JSON.stringify(c), Math.floor(c.updatedAt));
      const remove = this.stmt('DELETE FROM callback_requests WHERE workspace_sid = ? AND sid = ?');
      for (const sid of s.removed) remove.run(s.workspaceSid, sid);
    }
    if (cores.coreRows !== undefined && cores.coreRows.length > 0) {
      // One after the other, in order: the last write of a key wins, an upsert keeps the row's rowid.
      const upsert = this.stmt(
        `INSERT INTO core_rows (workspace_sid, core, key, body, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (workspace_sid, core, key) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`,
      );
      const remove = this.stmt('DELETE FROM core_rows WHERE workspace_sid = ? AND core = ? AND key = ?');
      for (const r of cores.coreRows) {
        if (r.body === null) remove.run(r.workspaceSid, r.core, r.key);
        else upsert.run(r.workspaceSid, r.core, r.key, r.body, Math.floor(r.updatedAt));
      }
    }
    for (const { workspaceSid, event } of cores.events) this.writeEvent(workspaceSid, 0, event);
    for (const o of cores.outbox) ids.push(this.writeOutbox(o.workspaceSid, o));
  }

  /**
   * Every workspace's saved callback core, each center with its callbacks in registration order
   * (row order). Callbacks still inside a center row (written before migration 0006 and not moved
   * yet) come first; a callback row with the same SID wins.
   */
  loadCallbackStates(): Promise<CallbackStateRow[]> {
    return this.op(() => {
      const rows = this.db.prepare('SELECT workspace_sid, account_sid, center, datastore FROM callback_state ORDER BY rowid').all() as Record<string, string>[];
      const callbacks = this.db.prepare('SELECT body FROM callback_requests WHERE workspace_sid = ? ORDER BY rowid');
      return rows.map((r) => {
        const workspaceSid = r['workspace_sid'] as string;
        const center = JSON.parse(r['center'] as string) as CallbackStateRow['center'];
        const bySid = new Map<string, unknown>();
        for (const c of center.callbacks ?? []) bySid.set((c as CallbackRecord).sid, c);
        for (const row of callbacks.all(workspaceSid) as { body: string }[]) {
          const c = JSON.parse(row.body) as CallbackRecord;
          bySid.set(c.sid, c);
        }
        center.callbacks = [...bySid.values()];
        return { workspaceSid, accountSid: r['account_sid'] as string, center, datastore: JSON.parse(r['datastore'] as string) as unknown };
      });
    });
  }

  /** See {@link Store.loadCoreRows}: every row of `core`, by workspace SID, then rowid (insertion order). */
  loadCoreRows(core: string): Promise<CoreRow[]> {
    return this.op(() => {
      return (this.stmt('SELECT workspace_sid, key, body FROM core_rows WHERE core = ? ORDER BY workspace_sid, rowid').all(core) as Record<string, string>[]).map(coreRow);
    });
  }

  /** See {@link Store.loadCoreRowsOf}: the rows of `core` of one workspace, in rowid (insertion) order. */
  loadCoreRowsOf(core: string, workspaceSid: string): Promise<CoreRow[]> {
    return this.op(() => {
      return (this.stmt('SELECT workspace_sid, key, body FROM core_rows WHERE core = ? AND workspace_sid = ? ORDER BY rowid').all(core, workspaceSid) as Record<string, string>[]).map(
        coreRow,
      );
    });
  }

  /**
   * A workspace's engine events (not `callback.*`) at `at >= sinceMs` (epoch ms), the newest
   * `maxEvents` of them, oldest first: what warms a callback core's wait-time estimator after a
   * restart. Pages through the rowid range (`+workspace_sid` keeps SQLite off the
   * `(workspace_sid, at)` index, whose rows it would sort again for every page).
   */
  recentEngineEvents(workspaceSid: string, sinceMs: number, maxEvents: number): Promise<EngineEvent[]> {
    return this.op(() => {
      const start = this.stmt(
        "SELECT MIN(r) AS m FROM (SELECT rowid AS r FROM events WHERE workspace_sid = ? AND at >= ? AND event_type NOT LIKE 'callback.%' ORDER BY rowid DESC LIMIT ?)",
      ).get(workspaceSid, sinceMs, maxEvents) as { m: number | null } | undefined;
      const out: EngineEvent[] = [];
      let from = start?.m ?? null;
      const page = this.stmt("SELECT rowid AS rowid, body FROM events WHERE +workspace_sid = ? AND rowid >= ? AND event_type NOT LIKE 'callback.%' ORDER BY rowid LIMIT 2000");
      while (from !== null) {
        const rows = page.all(workspaceSid, from) as { rowid: number; body: string }[];
        for (const r of rows) out.push(JSON.parse(r.body) as EngineEvent);
        from = rows.length < 2000 ? null : (rows[rows.length - 1] as { rowid: number }).rowid + 1;
      }
      return out;
    });
  }

  /** The WAL file, opened once (for syncing it; SQLite keeps the file while a connection is open). */
  private wal(): number {
    this.walFd ??= openSync(`${this.path}-wal`, 'r');
    return this.walFd;
  }

  /** Syncs what is written, on this thread (FULL), and marks the outbox rows written so far durable. */
  private syncNow(): void {
    if (this.syncWal) {
      try {
        fdatasyncSync(this.wal());
      } catch (error) {
        throw this.syncFailed(error as Error);
      }
    }
    this.unsyncedOutboxIds = [];
  }

  /** Outbox rows with a higher id may not be on disk yet (see {@link unsyncedOutboxIds}). */
  private get durableOutboxId(): number {
    return this.unsyncedOutboxIds.length === 0 ? Number.MAX_SAFE_INTEGER : (this.unsyncedOutboxIds[0] as number) - 1;
  }

  /** Calls `done` once what is written now is on disk (at once at NORMAL). */
  private syncLater(done: (error: Error | null) => void): void {
    if (!this.syncWal) {
      this.unsyncedOutboxIds = [];
      done(null);
      return;
    }
    this.syncWaiters.push(done);
    if (this.syncing === null) this.startSync();
  }

  private startSync(): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    this.syncing = waiters;
    const covered = this.unsyncedOutboxIds.length;
    let fd: number;
    try {
      fd = this.wal();
    } catch (error) {
      this.failSyncs(error as Error);
      return;
    }
    fdatasync(fd, (error) => {
      if (this.syncing !== waiters) return; // close() synced and answered them already
      this.syncing = null;
      if (error !== null) {
        this.failSyncs(error);
        return;
      }
      this.unsyncedOutboxIds.splice(0, covered);
      for (const w of waiters) w(null);
      if (this.syncWaiters.length > 0 && this.syncing === null) this.startSync();
    });
  }

  /** Records a failed WAL sync: from now on every commit fails with the returned error. */
  private syncFailed(cause: Error): StoreError {
    const failure = new StoreError(`Cannot sync ${this.path}-wal: ${cause.message}`, { cause });
    this.syncFailure = failure;
    return failure;
  }

  /** A sync failed: every commit waiting for one is answered with the error. */
  private failSyncs(cause: Error): void {
    const failure = this.syncFailed(cause);
    const waiters = [...(this.syncing ?? []), ...this.syncWaiters];
    this.syncing = null;
    this.syncWaiters = [];
    for (const w of waiters) w(failure);
  }

  /** Saves a snapshot that includes every command up to `seq`, and drops those commands. */
  saveSnapshot(workspaceSid: string, seq: number, snapshot: WorkspaceSnapshot, generator: SidState): Promise<void> {
    return this.op(() => {
      // The snapshot may hold the changes of a batch whose failure is not reported yet.
      if (this.unreported !== null) throw this.unreported.failure;
      this.transaction(() => {
        this.db
          .prepare('UPDATE workspaces SET snapshot = ?, snapshot_seq = ?, snapshot_generator = ?, last_seq = MAX(last_seq, ?) WHERE sid = ?')
          .run(JSON.stringify(snapshot), seq, JSON.stringify(generator), seq, workspaceSid);
        this.db.prepare('DELETE FROM commands WHERE workspace_sid = ? AND seq <= ?').run(workspaceSid, seq);
      });
    });
  }

  /** Events of a workspace in [fromMs, toMs), oldest first, at most `limit`. */
  events(workspaceSid: string, fromMs: number, toMs: number, limit: number): Promise<EngineEvent[]> {
    return this.op(() => {
      return (
        this.stmt('SELECT body FROM events WHERE workspace_sid = ? AND at >= ? AND at < ? ORDER BY at, rowid LIMIT ?')
          .all(workspaceSid, fromMs, toMs, limit) as { body: string }[]
      ).map((r) => JSON.parse(r.body) as EngineEvent);
    });
  }

  /** One event of a workspace by SID, or undefined. */
  event(workspaceSid: string, sid: string): Promise<EngineEvent | undefined> {
    return this.op(() => {
      const row = this.stmt('SELECT body FROM events WHERE workspace_sid = ? AND sid = ?').get(workspaceSid, sid) as { body: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.body) as EngineEvent);
    });
  }

  /** Removes events older than `beforeMs` (spec §9.1: events are kept 30 days). Returns how many. */
  pruneEvents(beforeMs: number): Promise<number> {
    return this.op(() => {
      return Number(this.db.prepare('DELETE FROM events WHERE at < ?').run(beforeMs).changes);
    });
  }

  // ── webhook outbox ──

  /**
   * Undelivered rows of `kind` due at `now`, oldest first (not per workspace: any order of
   * workspaces). Like every outbox read here, only rows known to be on disk: a webhook never
   * announces a write that a power cut could still take back.
   */
  dueOutbox(kind: string, now: number, limit: number): Promise<OutboxRow[]> {
    return this.op(() => {
      return (
        this.stmt(outboxSelect('WHERE o.delivered_at IS NULL AND o.kind = ? AND o.next_attempt_at <= ? AND o.id <= ? ORDER BY o.id LIMIT ?', 'outbox_due_by_kind'))
          .all(kind, now, this.durableOutboxId, limit + this.doneMarks.size) as Record<string, unknown>[]
      )
        .filter((r) => !this.doneMarks.has(r['id'] as number))
        .slice(0, limit)
        .map(outboxRow);
    });
  }

  /**
   * Workspaces whose oldest undelivered row of `kind` is due at `now` (the head of each FIFO lane).
   * One index lookup per workspace (outbox_lane), not a walk over every undelivered row: this
   * runs after every commit that queued webhooks, also while a lane has thousands waiting.
   * A lane whose head was marked done and not written yet is judged by its next row.
   */
  dueLanes(kind: string, now: number): Promise<string[]> {
    return this.op(() => {
      return (
        this.stmt(
          // Lanes of workspaces, then of accounts (the cores' account-level rows: conversations, Event Streams).
          `SELECT w.sid AS ws FROM (SELECT sid, 0 AS k, rowid AS r FROM workspaces UNION ALL SELECT sid, 1 AS k, rowid AS r FROM accounts) w
           WHERE (SELECT CASE WHEN o.id <= ? THEN o.next_attempt_at END FROM outbox o
                  WHERE o.workspace_sid = w.sid AND o.kind = ? AND o.delivered_at IS NULL ORDER BY o.id LIMIT 1) <= ?
           ORDER BY w.k, w.r`,
        ).all(this.durableOutboxId, kind, now) as { ws: string }[]
      )
        .map((r) => r.ws)
        .filter((ws) => {
          if (!this.doneLaneHeads.has(`${ws} ${kind}`)) return true;
          const head = this.laneHead(ws, kind);
          return head !== undefined && head.nextAttemptAt <= now;
        });
    });
  }

  /** The oldest undelivered row of `kind` of a workspace, or undefined (or if it is not on disk yet). */
  outboxHead(workspaceSid: string, kind: string): Promise<OutboxRow | undefined> {
    // A lane is delivered in id order, so the rows it marked done and not yet written are all
    // at or below the highest of them: the head is the first row after it.
    return this.op(() => this.laneHead(workspaceSid, kind));
  }


  /**
   * Up to `limit` undelivered rows of `kind` of a workspace, in id order (a lane's next rows), after
   * the row `afterId` (default: from the head, see {@link outboxHead}); only rows on disk. The
   * webhook dispatcher reads the rows it pipelines with it.
   */
  outboxLane(workspaceSid: string, kind: string | readonly string[], limit: number, afterId = -1): Promise<OutboxRow[]> {
    return this.op(() => {
      if (typeof kind !== 'string') return this.kindsLane(workspaceSid, kind, limit, afterId);
      const after = Math.max(afterId, this.doneLaneHeads.get(`${workspaceSid} ${kind}`) ?? -1);
      // Rows marked done out of lane order (not written yet) are skipped like the written ones.
      return (
        this.stmt(outboxSelect('WHERE o.workspace_sid = ? AND o.kind = ? AND o.delivered_at IS NULL AND o.id > ? AND o.id <= ? ORDER BY o.id LIMIT ?'))
          .all(workspaceSid, kind, after, this.durableOutboxId, limit + this.doneMarks.size) as Record<string, unknown>[]
      )
        .filter((r) => !this.doneMarks.has(r['id'] as number))
        .slice(0, limit)
        .map(outboxRow);
    });
  }

  /**
   * {@link outboxLane} over several kinds at once, merged in id order; rows marked done and not
   * written yet are left out one by one (a lane of several kinds is not delivered strictly in order).
   */
  private kindsLane(workspaceSid: string, kinds: readonly string[], limit: number, afterId: number): OutboxRow[] {
    if (kinds.length === 0) return [];
    const marks = kinds.map(() => '?').join(', ');
    return (
      this.stmt(outboxSelect(`WHERE o.workspace_sid = ? AND o.kind IN (${marks}) AND o.delivered_at IS NULL AND o.id > ? AND o.id <= ? ORDER BY o.id LIMIT ?`))
        .all(workspaceSid, ...kinds, afterId, this.durableOutboxId, limit + this.doneMarks.size) as Record<string, unknown>[]
    )
      .filter((r) => !this.doneMarks.has(r['id'] as number))
      .slice(0, limit)
      .map(outboxRow);
  }

  /**
   * Takes an undelivered row for an at-most-once delivery: marks it done (`attempts`, at `at`) in a
   * transaction of its own and resolves once that is on disk (the WAL synced at FULL) — true when
   * this call took it, false when it was done already (taken or delivered before). A crash after
   * the promise resolves leaves the row done: it is never delivered again.
   */
  takeOutbox(id: number, attempts: number, at: number): Promise<boolean> {
    let taken = false;
    try {
      if (this.syncFailure !== null) throw this.syncFailure;
      if (this.doneMarks.has(id)) return Promise.resolve(false);
      this.transaction(() => {
        taken = Number(this.stmt('UPDATE outbox SET delivered_at = ?, attempts = ? WHERE id = ? AND delivered_at IS NULL').run(at, attempts, id).changes) === 1;
      });
    } catch (error) {
      return Promise.reject(error instanceof StoreError ? error : new StoreError(`${this.path}: ${(error as Error).message}`, { cause: error }));
    }
    return new Promise((resolve, reject) => this.syncLater((error) => (error === null ? resolve(taken) : reject(error))));
  }

  /**
   * Marks a row done (delivered, or given up on after its last attempt; `attempts` tells which).
   * The mark is written with the next commit, or on its own after at most
   * {@link OUTBOX_MARK_DELAY_MS}: one transaction (one disk sync) per delivered webhook was the
   * dispatcher's main cost. Until then this store's own outbox reads treat the row as done. If the
   * process dies first the row is sent again after the restart — at-least-once, DESIGN.md rule 3
   * (receivers de-duplicate by the idempotency token). `lane`: the row's FIFO lane, so that
   * {@link outboxHead} moves past it at once.
   */
  markOutboxDone(id: number, attempts: number, at: number, lane?: OutboxLane): void {
    this.doneMarks.set(id, [attempts, at]);
    if (lane !== undefined) {
      const key = `${lane.workspaceSid} ${lane.kind}`;
      this.doneLaneHeads.set(key, Math.max(id, this.doneLaneHeads.get(key) ?? -1));
    }
    if (this.doneFlushTimer === null) {
      this.doneFlushTimer = setTimeout(() => this.flushOutboxMarks(), OUTBOX_MARK_DELAY_MS);
      this.doneFlushTimer.unref();
    }
  }

  /** Writes the pending done marks now, in one transaction (commits take them along anyway). */
  private flushOutboxMarks(): void {
    const marks = this.takeOutboxMarks();
    if (marks.size > 0) this.transaction(() => this.writeOutboxMarks(marks));
  }

  private takeOutboxMarks(): Map<number, [number, number]> {
    const marks = this.doneMarks;
    this.doneMarks = new Map();
    this.doneLaneHeads = new Map();
    if (this.doneFlushTimer !== null) clearTimeout(this.doneFlushTimer);
    this.doneFlushTimer = null;
    return marks;
  }

  private writeOutboxMarks(marks: Map<number, [number, number]>): void {
    const update = this.stmt('UPDATE outbox SET delivered_at = ?, attempts = ? WHERE id = ?');
    for (const [id, [attempts, at]] of marks) update.run(at, attempts, id);
  }

  /** Records a failed attempt and when to try again; a row taken by {@link takeOutbox} is undelivered again. */
  rescheduleOutbox(id: number, attempts: number, nextAttemptAt: number): Promise<void> {
    return this.op(() => {
      this.flushOutboxMarks();
      this.stmt('UPDATE outbox SET attempts = ?, next_attempt_at = ?, delivered_at = NULL WHERE id = ?').run(attempts, nextAttemptAt, id);
    });
  }

  /** Removes rows done before `beforeMs`. Returns how many. */
  pruneOutbox(beforeMs: number): Promise<number> {
    return this.op(() => {
      this.flushOutboxMarks();
      return Number(this.db.prepare('DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?').run(beforeMs).changes);
    });
  }

  /** How many rows are not yet done. */
  pendingOutbox(): Promise<number> {
    return this.op(() => {
      this.flushOutboxMarks();
      return (this.stmt('SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL').get() as { n: number }).n;
    });
  }

  /**
   * Runs a synchronous SQLite call behind the async {@link Store} interface: it runs at once (before
   * this returns), and what it throws becomes a rejected {@link StoreError}.
   */
  private op<T>(body: () => T): Promise<T> {
    try {
      return Promise.resolve(body());
    } catch (error) {
      return Promise.reject(error instanceof StoreError ? error : new StoreError(`${this.path}: ${(error as Error).message}`, { cause: error }));
    }
  }

  /** {@link outboxHead}, synchronously. */
  private laneHead(workspaceSid: string, kind: string): OutboxRow | undefined {
    const after = this.doneLaneHeads.get(`${workspaceSid} ${kind}`) ?? -1;
    const row = this.stmt(outboxSelect('WHERE o.workspace_sid = ? AND o.kind = ? AND o.delivered_at IS NULL AND o.id > ? AND o.id <= ? ORDER BY o.id LIMIT 1'))
      .get(workspaceSid, kind, after, this.durableOutboxId) as Record<string, unknown> | undefined;
    return row === undefined ? undefined : outboxRow(row);
  }

  /**
   * Writes one outbox row (inside the caller's transaction) and returns its id: the row in
   * `outbox`, its payload in `outbox_payloads` under the same id (migration 0009: the done marks
   * then rewrite a few small columns, not the payload's pages).
   */
  private writeOutbox(workspaceSid: string, o: OutboxInsert): number {
    const id = Number(this.insertOutbox.run(workspaceSid, o.kind, o.dueAt).lastInsertRowid);
    this.insertOutboxPayload.run(id, o.payload);
    return id;
  }

  private writeEvent(workspaceSid: string, seq: number, e: EventRecord): void {
    this.insertEvent.run(e.sid, workspaceSid, seq, e.eventType, e.at, e.resourceSid, JSON.stringify(e));
  }

  private transaction(body: () => void): void {
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (error) {
      throw new StoreError(`Cannot start a transaction on ${this.path}: ${(error as Error).message}`, { cause: error });
    }
    try {
      body();
      this.db.exec('COMMIT');
    } catch (error) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        // The transaction is already gone; nothing was written.
      }
      throw new StoreError(`Write to ${this.path} failed and was rolled back: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * Creates `path` (and tightens it and its `-wal` / `-shm` files, if present) with mode 0600, before
 * SQLite opens it: SQLite gives the journal files the database file's permissions. A path that
 * cannot be created is left to SQLite's own error.
 */
function ownerOnly(path: string): void {
  try {
    closeSync(openSync(path, 'a', 0o600));
  } catch {
    return;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    } catch {
      // Absent (no WAL yet) or not ours to change: nothing to tighten.
    }
  }
}

/** Applies the numbered migrations in migrations/ that the database has not seen, in order. */
function migrate(db: DatabaseSync): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const files = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{4}-.+\.sql$/.test(f))
    .sort();
  for (const file of files) {
    const version = Number(file.slice(0, 4));
    if (applied.has(version)) continue;
    const sql = readFileSync(MIGRATIONS_DIR + file, 'utf8');
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(version, Date.now());
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw new StoreError(`Migration ${file} failed: ${(error as Error).message}`, { cause: error });
    }
  }
}
