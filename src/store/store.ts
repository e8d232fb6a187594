/**
 * The store interface: what the runtime, the webhook dispatcher and the cores' hosting need from
 * persistence, with two adapters behind it — SQLite through `node:sqlite` (sqlite-store.ts, the
 * embedded default) and PostgreSQL through `pg` (postgres-store.ts). The row types both adapters
 * read and write live here (the one home of these types; sqlite-store.ts re-exports the ones it
 * always exported).
 *
 * Reads and writes return promises (PostgreSQL answers over a socket); the two exceptions are
 * {@link Store.commit}, whose answer comes through its `onDurable` callback, and
 * {@link Store.markOutboxDone}, which only buffers a mark that a later write carries along.
 *
 * Guarantees every adapter gives (the contract test, test/store/contract.test.ts, checks them on
 * both):
 *
 * 1. **Durable before acknowledged.** `onDurable(null)` is called only once the whole batch is on
 *    stable storage (SQLite: the WAL synced by `fdatasync`; PostgreSQL: the transaction's COMMIT
 *    returned with `synchronous_commit = on`). At `synchronous: 'NORMAL'` it survives a crash of
 *    this process but not of the machine (SQLite) or of the database server (PostgreSQL).
 * 2. **All or nothing.** A batch — its command records and the cores' writes given with it — is
 *    written in one transaction: after a failure none of it is visible, now or after a restart.
 * 3. **In call order.** Writes take effect in the order they were called, and `onDurable` is called
 *    exactly once per {@link Store.commit}, in the order of the calls. Several batches may share
 *    one transaction and one disk sync (group commit); they are still ordered.
 * 4. **Outbox ids increase in commit order**, and within a batch in the order the rows are given
 *    (the command records' rows in order, then the cores' rows). A FIFO lane read by id therefore
 *    sees its rows in the order they were queued.
 * 5. **Only durable rows go out.** Outbox reads return only rows that are on disk, so a webhook
 *    never announces a write that a crash could still take back. A committed batch is visible to
 *    this store's reads no later than its `onDurable` call (SQLite: as soon as `commit` returns).
 * 6. **A failure fails what is queued behind it.** When a batch fails, `onDurable(error)` gets a
 *    {@link StoreError}, and so does every commit and snapshot handed over after it and before
 *    that error was reported (a later batch may depend on the failed one: no gaps in a command
 *    log). Writes made after the error was reported are attempted afresh; except that SQLite
 *    refuses every later commit after a failed WAL sync (what is on disk is unknown). `onDurable(error)` means "not known to be durable": when the connection to
 *    PostgreSQL drops during COMMIT the transaction may have committed all the same, so the caller
 *    must rebuild what it holds in memory from the store, not assume the batch is absent.
 * 7. **Done marks are at-least-once.** {@link Store.markOutboxDone} is written with a later write or
 *    within {@link OUTBOX_MARK_DELAY_MS}; this store's own outbox reads treat the row as done at
 *    once, but if the process dies first the row is delivered again (receivers de-duplicate).
 * 8. **Takes are at-most-once.** {@link Store.takeOutbox} resolves true only once the row's done
 *    mark is durable, and for at most one call per row, also across restarts.
 *
 * One process at a time (DESIGN.md rule 7): both adapters assume that each workspace is written by
 * one store in one process. SQLite enforces it with the data-directory lock. PostgreSQL does not
 * yet: running two nodes on one database needs the per-workspace advisory-lock lease of a later
 * issue; where an adapter relies on the assumption its code says so ("Single writer").
 */
import type { Command, EngineEvent, WorkspaceSnapshot } from '../engine/index.ts';
import type { RandomState } from '../util/random.ts';

/**
 * A store operation failed: the database refused the write or could not be reached; `cause` holds
 * the driver's error. A failed commit leaves nothing behind (guarantee 2).
 */
export class StoreError extends Error {
  override name = 'StoreError';
}

/**
 * Longest time a delivered outbox row's done mark waits to be written, in milliseconds, when no
 * commit comes to take it along (see {@link Store.markOutboxDone}).
 */
export const OUTBOX_MARK_DELAY_MS = 20;

/** An account as stored; `dateCreated` is epoch ms. */
export interface AccountRow {
  sid: string;
  friendlyName: string;
  authTokenHash: string;
  authTokenSealed: string;
  dateCreated: number;
}

/** An API key as stored (only the secret's hash); `dateCreated` is epoch ms. */
export interface ApiKeyRow {
  sid: string;
  accountSid: string;
  friendlyName: string;
  secretHash: string;
  dateCreated: number;
}

/**
 * A SID generator's saved state (src/runtime/sids.ts): the bare random state (scheme 0), or the
 * random state with the event-SID head and counter (scheme 1).
 */
export type SidState = RandomState | { random: RandomState; eventHead: string; events: number };

/** A workspace as stored: enough to rebuild its engine exactly. */
export interface StoredWorkspace {
  sid: string;
  accountSid: string;
  sidSeed: number;
  /** How its SIDs are made (src/runtime/sids.ts); 0 for workspaces from before schema version 3. */
  sidScheme: number;
  /** JSON-safe options the workspace was created with. */
  createOptions: Record<string, unknown>;
  snapshot: WorkspaceSnapshot | null;
  snapshotSeq: number;
  snapshotGenerator: SidState | null;
  lastSeq: number;
  /** Commands after the snapshot, in order. */
  commands: { seq: number; command: Command }[];
}

/** One executed command and what it produced, to be written in one transaction with others. */
export interface CommandRecord {
  workspaceSid: string;
  seq: number;
  command: Command;
  events: readonly EngineEvent[];
  /** Deliveries this command queues (`dueAt`: epoch ms). */
  outbox: readonly { kind: string; payload: string; dueAt: number }[];
}

/** An undelivered outbox row (src/webhooks); `nextAttemptAt` is epoch ms. */
export interface OutboxRow {
  id: number;
  workspaceSid: string;
  kind: string;
  payload: string;
  attempts: number;
  nextAttemptAt: number;
}

/** An outbox row to queue: a delivery of `kind` (`event`, `assignment`, …) due at `dueAt` (epoch ms). */
export type OutboxInsert = CommandRecord['outbox'][number];

/**
 * An event as the events table keeps it: these fields fill the indexed columns, and the whole
 * object is stored as JSON (and read back as it was). Engine events and the other cores' events
 * (`callback.*`) both have this shape.
 */
export interface EventRecord {
  sid: string;
  eventType: string;
  /** Epoch ms (an integer). */
  at: number;
  resourceSid: string;
}

/**
 * A callback request as stored: these fields fill the indexed columns of `callback_requests`; the
 * whole request (src/callbacks, `CallbackRequest`) is stored as JSON.
 */
export interface CallbackRecord {
  sid: string;
  callTargetSid: string;
  status: string;
  /** Epoch ms; stored rounded down to the millisecond. */
  updatedAt: number;
}

/**
 * What one commit writes for a workspace's callback core: its center WITHOUT its callbacks and its
 * datastore (JSON documents, one `callback_state` row, replaced), the callbacks changed since the
 * last write (upserted, one row each) and the SIDs of callbacks pruned (deleted). A SID both
 * changed and removed in one batch ends as the last of the batch's writes says.
 */
export interface CallbackStateWrite {
  workspaceSid: string;
  accountSid: string;
  center: unknown;
  datastore: unknown;
  changed: readonly CallbackRecord[];
  removed: readonly string[];
  /** Epoch ms of the write. */
  updatedAt: number;
}

/** A workspace's saved callback core as loaded: the center document with its callbacks in registration order. */
export interface CallbackStateRow {
  workspaceSid: string;
  accountSid: string;
  /** The center's snapshot (JSON), `callbacks` filled from the rows in the order they were first written. */
  center: { callbacks: unknown[] } & Record<string, unknown>;
  datastore: unknown;
}

/**
 * One write of a hosted core's own row in the generic `core_rows` table: the row of `core` (the
 * core's name, e.g. `voice`) with `key` (unique per workspace and core) in a workspace. `body` is
 * what the core stores (its own text, usually JSON) — or null, which deletes the row (a key not
 * stored is no error).
 *
 * Row order: a row new to the store takes its place after every row stored before it; an update of
 * a stored row keeps its place; a row deleted and written again is new. Writes take effect in the
 * order given (within a commit, then commit after commit), so when one commit writes a key several
 * times the last write wins.
 */
export interface CoreRowWrite {
  workspaceSid: string;
  /** The core's name: rows of different cores never meet. */
  core: string;
  /** The row's key within the workspace and core (a call SID, a conversation SID, …). */
  key: string;
  /** The row's content, or null to delete the row. */
  body: string | null;
  /** Epoch ms of the write; stored rounded down to the millisecond. */
  updatedAt: number;
}

/** A hosted core's row as loaded (see {@link CoreRowWrite}). */
export interface CoreRow {
  workspaceSid: string;
  key: string;
  body: string;
}

/**
 * What the cores hosted beside the engine (DESIGN.md "Cores and the one runtime") write in the same
 * transaction as a batch of command records: their events (appended to their workspace's events
 * with seq 0), the outbox rows they queue, the callback cores' state, and the other cores' rows.
 */
export interface CoreWrites {
  events: ReadonlyArray<{ workspaceSid: string; event: EventRecord }>;
  outbox: ReadonlyArray<{ workspaceSid: string; kind: string; payload: string; dueAt: number }>;
  callbackStates: readonly CallbackStateWrite[];
  /**
   * Upserts and deletes of the hosted cores' rows in `core_rows` (see {@link CoreRowWrite}), applied
   * in this order; absent: none.
   */
  coreRows?: readonly CoreRowWrite[];
}

/** A new workspace's row (see {@link Store.createWorkspace}). */
export interface NewWorkspace {
  sid: string;
  accountSid: string;
  /** Seed of its SID generator (an integer). */
  sidSeed: number;
  /** How its SIDs are made (src/runtime/sids.ts); default 0. */
  sidScheme?: number;
  /** JSON-safe options the workspace was created with. */
  createOptions: Record<string, unknown>;
}

/** A delivery lane: the outbox rows of one kind of one workspace, delivered in id order. */
export interface OutboxLane {
  workspaceSid: string;
  kind: string;
}

/** Called once per {@link Store.commit}: null when the batch is durable, else the {@link StoreError}. */
export type OnDurable = (error: Error | null) => void;

/**
 * Persistence of accounts, workspaces (snapshot + command log), events, the cores' state and the
 * outbox; see the module comment for the guarantees. Every promise rejects with a
 * {@link StoreError} when the database refuses or cannot be reached; all times are epoch ms.
 */
export interface Store {
  /** Which adapter this is (benchmarks, logs). */
  readonly kind: 'sqlite' | 'postgres';

  /** The schema version: the number of the last migration applied (each adapter numbers its own). */
  schemaVersion(): Promise<number>;

  /**
   * Writes what is queued (commits, done marks), then closes the connections. Commits made after
   * this call fail with a StoreError. Calling it again returns the same promise. Never rejects.
   */
  close(): Promise<void>;

  // ── accounts and API keys ──

  /** Adds an account; durable when the promise resolves. Rejects if the SID exists. */
  insertAccount(a: AccountRow): Promise<void>;
  /** Every account, oldest first (by `dateCreated`, then SID). */
  accounts(): Promise<AccountRow[]>;
  /** Adds an API key of an existing account; durable when the promise resolves. */
  insertApiKey(k: ApiKeyRow): Promise<void>;
  /** Every API key, oldest first (by `dateCreated`, then SID). */
  apiKeys(): Promise<ApiKeyRow[]>;

  // ── workspaces ──

  /**
   * Registers a workspace with the events of its creation (seq 0) and the outbox rows they queue,
   * in one transaction; durable when the promise resolves. Rejects if the SID exists or the
   * account does not.
   */
  createWorkspace(w: NewWorkspace, events: readonly EventRecord[], outbox?: readonly OutboxInsert[]): Promise<void>;
  /** Marks a workspace deleted at `at`; its rows stay for the event retention. */
  deleteWorkspace(sid: string, at: number): Promise<void>;
  /**
   * Every live (not deleted) workspace in creation order, with its snapshot and the commands logged
   * after it, in seq order; read as one consistent view. Single writer: this loads every workspace
   * of the database; with several nodes each will load only the workspaces it holds the lease of.
   */
  loadWorkspaces(): Promise<StoredWorkspace[]>;
  /**
   * One live workspace with its snapshot and the commands logged after it (one consistent view), or
   * undefined when it does not exist or is deleted: what the runtime rebuilds a workspace from
   * after a failed commit.
   */
  loadWorkspace(sid: string): Promise<StoredWorkspace | undefined>;
  /**
   * Saves a snapshot that includes every command up to `seq` and drops those commands from the log,
   * in one transaction (ordered after the commits called before it).
   */
  saveSnapshot(workspaceSid: string, seq: number, snapshot: WorkspaceSnapshot, generator: SidState): Promise<void>;

  /**
   * Writes a batch of executed commands with their events and outbox rows, and the cores' writes
   * made in the same turn, in ONE transaction (group commit: batches given while a transaction is
   * in flight go together in the next one). Returns at once; `onDurable` is called exactly once,
   * with null when the batch is durable or with a StoreError (guarantees 1–6 of the module comment).
   * Throws only for a programming error the adapter sees at once (never for a failed write).
   */
  commit(batch: readonly CommandRecord[], onDurable: OnDurable, cores?: CoreWrites): void;

  // ── events ──

  /** Events of a workspace with `fromMs <= at < toMs`, oldest first (ties in write order), at most `limit`. */
  events(workspaceSid: string, fromMs: number, toMs: number, limit: number): Promise<EngineEvent[]>;
  /** One event of a workspace by SID, or undefined. */
  event(workspaceSid: string, sid: string): Promise<EngineEvent | undefined>;
  /**
   * A workspace's engine events (not `callback.*`) with `at >= sinceMs`, the newest `maxEvents` of
   * them, oldest first (write order): what warms a callback core's wait-time estimator after a restart.
   */
  recentEngineEvents(workspaceSid: string, sinceMs: number, maxEvents: number): Promise<EngineEvent[]>;
  /** Removes events with `at < beforeMs` (spec §9.1 keeps 30 days). Resolves to how many. */
  pruneEvents(beforeMs: number): Promise<number>;

  // ── the cores' state ──

  /** Every workspace's saved callback core (see {@link CallbackStateRow}), in the order first written. */
  loadCallbackStates(): Promise<CallbackStateRow[]>;
  /**
   * Every row `core` has stored (see {@link CoreRowWrite}) — what the core restores as the runtime
   * opens — ordered by workspace SID, then each workspace's rows in their order (insertion order:
   * an update keeps a row's place). Like {@link Store.loadCallbackStates} it includes the rows of
   * deleted workspaces (they stay with the workspace's other rows): the core skips workspaces
   * that have no engine. Read as one consistent view.
   */
  loadCoreRows(core: string): Promise<CoreRow[]>;
  /**
   * The rows `core` has stored for one workspace, in their order (as {@link Store.loadCoreRows}):
   * what the core reloads a workspace from after a failed commit. Empty when there are none.
   */
  loadCoreRowsOf(core: string, workspaceSid: string): Promise<CoreRow[]>;

  // ── outbox ──

  /**
   * Undelivered rows of `kind` due at `now` (`nextAttemptAt <= now`), lowest id first across all
   * workspaces, at most `limit`. Single writer: this reads every workspace's rows; with several
   * nodes each must read only its leased workspaces' rows.
   */
  dueOutbox(kind: string, now: number, limit: number): Promise<OutboxRow[]>;
  /**
   * Lanes whose oldest undelivered row of `kind` (the head) is due at `now`: workspaces in creation
   * order, then accounts (lanes of the cores' account-level rows: conversations, Event Streams).
   */
  dueLanes(kind: string, now: number): Promise<string[]>;
  /** The oldest undelivered row of `kind` of a workspace (its lane's head), or undefined. */
  outboxHead(workspaceSid: string, kind: string): Promise<OutboxRow | undefined>;
  /**
   * Up to `limit` undelivered rows of a lane in id order, after the row `afterId` (default: from the
   * head). Single writer: that no row with a lower id can appear later rests on one store writing
   * each workspace (module comment). `kind` may name several kinds (a lane whose rows of different
   * kinds go to one destination, e.g. `dial` and `hangup`): their rows merged in id order, done
   * marks not yet written left out.
   */
  outboxLane(workspaceSid: string, kind: string | readonly string[], limit: number, afterId?: number): Promise<OutboxRow[]>;
  /**
   * Marks a row done (delivered, or given up on; `attempts` tells which) at `at`. Buffered
   * (guarantee 7); `lane` lets the lane reads move past the row at once. Synchronous: it only
   * records the mark.
   */
  markOutboxDone(id: number, attempts: number, at: number, lane?: OutboxLane): void;
  /**
   * Records a failed attempt (`attempts` so far) and when to try again. A row taken by
   * {@link Store.takeOutbox} becomes undelivered again (its delivery failed before it took effect).
   */
  rescheduleOutbox(id: number, attempts: number, nextAttemptAt: number): Promise<void>;
  /**
   * Takes an undelivered row for an at-most-once delivery (a dial: a call must never be placed
   * twice): marks it done with `attempts` at `at` (epoch ms) and resolves once that mark is
   * durable — unlike {@link Store.markOutboxDone}, which is buffered — with true when this call
   * took the row, false when it was already done. Ordered with the commits called before it.
   * Deliver only after it resolved true: a crash after that leaves the row done, never delivered
   * again; a crash before leaves it undelivered, delivered after the restart. Rejects with a
   * StoreError when the write fails (the row then counts as not taken: do not deliver it).
   */
  takeOutbox(id: number, attempts: number, at: number): Promise<boolean>;
  /** Removes rows done before `beforeMs`. Resolves to how many. */
  pruneOutbox(beforeMs: number): Promise<number>;
  /** How many rows are not done yet (buffered done marks count as done). */
  pendingOutbox(): Promise<number>;
}
