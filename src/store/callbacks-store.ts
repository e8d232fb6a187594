/**
 * SQL of the callback service (src/callbacks/service.ts) over the tables of migration
 * 0005-callbacks.sql, plus the callback events it appends to the shared `events` table so they
 * appear in the workspace's Events resource.
 *
 * It uses its own connection to the server's database file (WAL mode lets it read what the
 * runtime's connection committed; `busy_timeout` serializes the two writers), so the runtime's
 * store is untouched. Every `save` is one transaction with synchronous = FULL: on disk when it
 * returns (DESIGN.md rule 2).
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { CenterSnapshot } from '../callbacks/center.ts';
import type { CallbackEvent } from '../callbacks/center.ts';
import type { DatastoreSnapshot } from '../callbacks/datastore.ts';

/** The persisted state of one workspace's callback service. */
export interface CallbackStateRow {
  workspaceSid: string;
  accountSid: string;
  center: CenterSnapshot;
  datastore: DatastoreSnapshot;
}

/** An engine event read back from the events table, with its rowid (the service's cursor). */
export interface StoredEngineEventRow {
  rowid: number;
  workspaceSid: string;
  body: string;
}

export class CallbacksStore {
  private readonly db: DatabaseSync;
  private readonly upsertState: StatementSync;
  private readonly setCursor: StatementSync;
  private readonly insertEvent: StatementSync;
  private readonly eventsAfter: StatementSync;
  private readonly insertOutbox: StatementSync;

  /**
   * Opens `path` (the server's database, already migrated by SqliteStore.open). Throws when the
   * callback tables are missing (migration 0005 not applied).
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
    this.insertOutbox = this.db.prepare('INSERT INTO outbox (workspace_sid, kind, payload, next_attempt_at) VALUES (?, ?, ?, ?)');
    this.eventsAfter = this.db.prepare(
      "SELECT rowid AS rowid, workspace_sid AS ws, body FROM events WHERE rowid > ? AND event_type NOT LIKE 'callback.%' ORDER BY rowid LIMIT ?",
    );
  }

  /** Every workspace's saved state. */
  loadStates(): CallbackStateRow[] {
    const rows = this.db.prepare('SELECT workspace_sid, account_sid, center, datastore FROM callback_state ORDER BY rowid').all() as Record<string, string>[];
    return rows.map((r) => ({
      workspaceSid: r['workspace_sid'] as string,
      accountSid: r['account_sid'] as string,
      center: JSON.parse(r['center'] as string) as CenterSnapshot,
      datastore: JSON.parse(r['datastore'] as string) as DatastoreSnapshot,
    }));
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

  /** Engine events (not callback events) written after `rowid`, oldest first, at most `limit`. */
  engineEventsAfter(rowid: number, limit: number): StoredEngineEventRow[] {
    return (this.eventsAfter.all(rowid, limit) as { rowid: number; ws: string; body: string }[]).map((r) => ({ rowid: r.rowid, workspaceSid: r.ws, body: r.body }));
  }

  /**
   * ONE transaction: the states given, the cursor, the callback events (appended to the
   * workspace's events table with resource type `callback`) and their webhook outbox rows (event
   * callbacks, sent by the runtime's dispatcher). Throws the SQLite error; then nothing was written.
   */
  save(
    states: readonly CallbackStateRow[],
    cursor: number,
    events: ReadonlyArray<{ workspaceSid: string; event: CallbackEvent }>,
    now: number,
    outbox: ReadonlyArray<{ workspaceSid: string; kind: string; payload: string; dueAt: number }> = [],
  ): void {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const s of states) this.upsertState.run(s.workspaceSid, s.accountSid, JSON.stringify(s.center), JSON.stringify(s.datastore), now);
      this.setCursor.run(cursor);
      for (const { workspaceSid, event } of events) this.insertEvent.run(event.sid, workspaceSid, event.eventType, event.at, event.resourceSid, JSON.stringify(event));
      for (const o of outbox) this.insertOutbox.run(o.workspaceSid, o.kind, o.payload, o.dueAt);
      this.db.exec('COMMIT');
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}
