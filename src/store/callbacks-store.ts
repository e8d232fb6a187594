/**
 * SQL of the callback service (src/callbacks/service.ts) over the tables of migrations
 * 0005-callbacks.sql and 0006-callback-rows.sql, plus the callback events it appends to the
 * shared `events` table so they appear in the workspace's Events resource.
 *
 * Layout: per workspace one small `callback_state` row (the center without its callbacks —
 * call targets, ECBT statistics, queue views — and the datastore) and one `callback_requests`
 * row per callback. A save writes the state rows given, upserts only the callbacks an operation
 * changed and deletes the pruned ones, so its cost follows what changed, not how many callbacks
 * the workspace ever had.
 *
 * It uses its own connection to the server's database file (WAL mode lets it read what the
 * runtime's connection committed; `busy_timeout` serializes the two writers), so the runtime's
 * store is untouched. Every `save` is one transaction with synchronous = FULL: on disk when it
 * returns (DESIGN.md rule 2).
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { CallbackEvent, CallbackRequest, CenterSnapshot } from '../callbacks/center.ts';
import type { DatastoreSnapshot } from '../callbacks/datastore.ts';

/** The persisted state of one workspace's callback service, as loaded: the center with all its callbacks. */
export interface CallbackStateRow {
  workspaceSid: string;
  accountSid: string;
  center: CenterSnapshot;
  datastore: DatastoreSnapshot;
}

/**
 * What one save writes for a workspace: the center WITHOUT callbacks (`snapshot({ callbacks:
 * false })`), the datastore, the callbacks to upsert and the SIDs of callbacks to delete. A
 * `center.callbacks` list that is not empty is an error (they belong in `changed`).
 */
export interface CallbackStateWrite {
  workspaceSid: string;
  accountSid: string;
  center: CenterSnapshot;
  datastore: DatastoreSnapshot;
  changed: readonly CallbackRequest[];
  removed: readonly string[];
}

/** Rows written since the store was opened (tests and metrics: persistence is O(changed)). */
export interface CallbacksStoreCounters {
  /** Transactions committed by save. */
  saves: number;
  /** `callback_state` rows written. */
  stateRows: number;
  /** `callback_requests` rows inserted or updated. */
  callbackRowsUpserted: number;
  /** `callback_requests` rows deleted. */
  callbackRowsDeleted: number;
}

/** An engine event read back from the events table, with its rowid (the service's cursor). */
export interface StoredEngineEventRow {
  rowid: number;
  workspaceSid: string;
  body: string;
}

/** The callback service's SQL (see the module comment): load, the cursor, engine events to feed, and the one-transaction save. */
export class CallbacksStore {
  private readonly db: DatabaseSync;
  private readonly upsertState: StatementSync;
  private readonly setCursor: StatementSync;
  private readonly insertEvent: StatementSync;
  private readonly eventsAfter: StatementSync;
  private readonly insertOutbox: StatementSync;
  private readonly upsertCallback: StatementSync;
  private readonly deleteCallback: StatementSync;
  /** Cumulative row counts of successful saves. */
  readonly counters: CallbacksStoreCounters = { saves: 0, stateRows: 0, callbackRowsUpserted: 0, callbackRowsDeleted: 0 };

  /**
   * Opens `path` (the server's database, already migrated by SqliteStore.open). Throws when the
   * callback tables are missing (migrations 0005 and 0006 not applied).
   */
  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
    this.upsertState = this.db.prepare(
      `INSERT INTO callback_state (workspace_sid, account_sid, center, datastore, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (workspace_sid) DO UPDATE SET center = excluded.center, datastore = excluded.datastore, updated_at = excluded.updated_at`,
    );
    this.setCursor = this.db.prepare('INSERT INTO callback_cursor (id, event_rowid) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET event_rowid = excluded.event_rowid');
    this.insertEvent = this.db.prepare('INSERT INTO events (sid, workspace_sid, seq, event_type, at, resource_sid, body) VALUES (?, ?, 0, ?, ?, ?, ?)');
    this.upsertCallback = this.db.prepare(
      `INSERT INTO callback_requests (workspace_sid, sid, call_target_sid, status, body, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (workspace_sid, sid) DO UPDATE SET status = excluded.status, body = excluded.body, updated_at = excluded.updated_at`,
    );
    this.deleteCallback = this.db.prepare('DELETE FROM callback_requests WHERE workspace_sid = ? AND sid = ?');
    this.insertOutbox = this.db.prepare('INSERT INTO outbox (workspace_sid, kind, payload, next_attempt_at) VALUES (?, ?, ?, ?)');
    this.eventsAfter = this.db.prepare(
      "SELECT rowid AS rowid, workspace_sid AS ws, body FROM events WHERE rowid > ? AND event_type NOT LIKE 'callback.%' ORDER BY rowid LIMIT ?",
    );
  }

  /**
   * Every workspace's saved state, each center with its callbacks in registration order (row
   * order). Callbacks still inside a center row (written before migration 0006 and not moved
   * yet) come first; a callback row with the same SID wins.
   */
  loadStates(): CallbackStateRow[] {
    const rows = this.db.prepare('SELECT workspace_sid, account_sid, center, datastore FROM callback_state ORDER BY rowid').all() as Record<string, string>[];
    const callbacks = this.db.prepare('SELECT body FROM callback_requests WHERE workspace_sid = ? ORDER BY rowid');
    return rows.map((r) => {
      const workspaceSid = r['workspace_sid'] as string;
      const center = JSON.parse(r['center'] as string) as CenterSnapshot;
      const bySid = new Map<string, CallbackRequest>();
      for (const c of center.callbacks ?? []) bySid.set(c.sid, c);
      for (const row of callbacks.all(workspaceSid) as { body: string }[]) {
        const c = JSON.parse(row.body) as CallbackRequest;
        bySid.set(c.sid, c);
      }
      center.callbacks = [...bySid.values()];
      return { workspaceSid, accountSid: r['account_sid'] as string, center, datastore: JSON.parse(r['datastore'] as string) as DatastoreSnapshot };
    });
  }

  /**
   * The cursor: rowid of the last engine event processed. With no cursor yet, the current end
   * of the events table (a fresh service has nothing to catch up on).
   */
  loadCursor(): number {
    const row = this.db.prepare('SELECT event_rowid FROM callback_cursor WHERE id = 1').get() as { event_rowid: number } | undefined;
    if (row !== undefined) return row.event_rowid;
    const end = (this.db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM events').get() as { m: number }).m;
    this.setCursor.run(end);
    return end;
  }

  /** The highest rowid of the events table (0 when empty). */
  lastEventRowid(): number {
    this.maxRowid ??= this.db.prepare('SELECT COALESCE(MAX(rowid), 0) AS m FROM events');
    return (this.maxRowid.get() as { m: number }).m;
  }

  private maxRowid: StatementSync | undefined;

  /**
   * The rowid of the first engine event (not a callback event) of a workspace's recent window:
   * the oldest of its newest `maxEvents` events with `at >= sinceAt` (epoch ms) and
   * `rowid <= uptoRowid`; null when there is none. With {@link workspaceEngineEvents} it lets
   * the callbacks service warm its wait-time estimator after a restart (src/callbacks/service.ts).
   */
  recentWindowStart(workspaceSid: string, sinceAt: number, uptoRowid: number, maxEvents: number): number | null {
    const row = this.db
      .prepare(
        "SELECT MIN(r) AS m FROM (SELECT rowid AS r FROM events WHERE workspace_sid = ? AND at >= ? AND rowid <= ? AND event_type NOT LIKE 'callback.%' ORDER BY rowid DESC LIMIT ?)",
      )
      .get(workspaceSid, sinceAt, uptoRowid, maxEvents) as { m: number | null } | undefined;
    return row?.m ?? null;
  }

  /**
   * A workspace's engine events with `fromRowid <= rowid <= uptoRowid`, oldest first, at most
   * `limit` (paging). Walks the rowid range (`+workspace_sid` keeps SQLite off the
   * `(workspace_sid, at)` index, whose rows it would sort again for every page).
   */
  workspaceEngineEvents(workspaceSid: string, fromRowid: number, uptoRowid: number, limit: number): StoredEngineEventRow[] {
    this.wsEvents ??= this.db.prepare(
      "SELECT rowid AS rowid, body FROM events WHERE +workspace_sid = ? AND rowid >= ? AND rowid <= ? AND event_type NOT LIKE 'callback.%' ORDER BY rowid LIMIT ?",
    );
    return (this.wsEvents.all(workspaceSid, fromRowid, uptoRowid, limit) as { rowid: number; body: string }[]).map((r) => ({ rowid: r.rowid, workspaceSid, body: r.body }));
  }

  private wsEvents: StatementSync | undefined;

  /** Engine events (not callback events) written after `rowid`, oldest first, at most `limit`. */
  engineEventsAfter(rowid: number, limit: number): StoredEngineEventRow[] {
    return (this.eventsAfter.all(rowid, limit) as { rowid: number; ws: string; body: string }[]).map((r) => ({ rowid: r.rowid, workspaceSid: r.ws, body: r.body }));
  }

  /**
   * ONE transaction (synchronous = FULL): for each state given its center row, the callbacks it
   * changed (upsert) and removed (delete); the cursor; the callback events (appended to the
   * workspace's events table with resource type `callback`) and their webhook outbox rows (event
   * callbacks, sent by the runtime's dispatcher). Throws the SQLite error, or an Error when a
   * center still carries callbacks; then nothing was written.
   */
  save(
    states: readonly CallbackStateWrite[],
    cursor: number,
    events: ReadonlyArray<{ workspaceSid: string; event: CallbackEvent }>,
    now: number,
    outbox: ReadonlyArray<{ workspaceSid: string; kind: string; payload: string; dueAt: number }> = [],
  ): void {
    for (const s of states) {
      if (s.center.callbacks.length > 0) throw new Error(`callback state of ${s.workspaceSid}: center.callbacks must be empty (callbacks are saved as rows)`);
    }
    let upserted = 0;
    let deleted = 0;
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const s of states) {
        this.upsertState.run(s.workspaceSid, s.accountSid, JSON.stringify(s.center), JSON.stringify(s.datastore), now);
        for (const c of s.changed) {
          this.upsertCallback.run(s.workspaceSid, c.sid, c.callTargetSid, c.status, JSON.stringify(c), Math.floor(c.updatedAt));
          upserted += 1;
        }
        for (const sid of s.removed) deleted += Number(this.deleteCallback.run(s.workspaceSid, sid).changes);
      }
      this.setCursor.run(cursor);
      for (const { workspaceSid, event } of events) this.insertEvent.run(event.sid, workspaceSid, event.eventType, event.at, event.resourceSid, JSON.stringify(event));
      for (const o of outbox) this.insertOutbox.run(o.workspaceSid, o.kind, o.payload, o.dueAt);
      this.db.exec('COMMIT');
      this.counters.saves += 1;
      this.counters.stateRows += states.length;
      this.counters.callbackRowsUpserted += upserted;
      this.counters.callbackRowsDeleted += deleted;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
