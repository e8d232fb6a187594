/**
 * The imperative shell around the engines (DESIGN.md "How data flows"): one engine per
 * workspace, the wall clock, one real timer, and the store.
 *
 * Writes are durable before they are acknowledged (DESIGN.md rule 2). `execute` queues the
 * command; on the next turn of the event loop every queued command is executed in arrival
 * order, then all of them — commands, events, outbox rows — are written in ONE transaction, and
 * the callers are answered once the store reports the transaction on disk (group commit: one disk
 * sync for many requests; the sync runs off this thread, so the next batch executes meanwhile). If
 * a commit or its sync fails the runtime stops accepting writes: the engines are ahead of the
 * disk, and a restart rebuilds them from what was committed.
 *
 * Reads (the API's GETs, the engines' state) see a batch from the moment it is written, a few
 * milliseconds before it is on disk: a crash of the process loses nothing written (the OS has it),
 * a power cut can take back those last milliseconds — writes that nobody was told had succeeded.
 * Webhooks are sent only for rows on disk.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { WorkspaceEngine, type Command, type EngineEvent, type Outcome } from '../engine/index.ts';
import { SqliteStore, type CommandRecord, type StoreOptions } from '../store/sqlite-store.ts';
import { CURRENT_SID_SCHEME, WorkspaceSids } from './sids.ts';
import { rebuildWorkspace, type StoredCreateOptions } from './rebuild.ts';
import { outboxRows, type EventOrigin, type StoredEvent } from '../webhooks/outbox.ts';
import { hashSecret, newSecret, seal, secretMatches, unseal } from './secrets.ts';

/** A due snapshot waits for this long without commands (see `snapshotWhenIdle`). */
const SNAPSHOT_IDLE_MS = 250;

/** A command without its instant: the runtime stamps it from its clock. */
export type UntimedCommand = Command extends infer C ? (C extends Command ? Omit<C, 'at'> : never) : never;

export interface RuntimeOptions {
  /** Folder for the database and the server key (default ./data). */
  dataDir?: string;
  /** Database file (default <dataDir>/switchboard.sqlite). */
  databasePath?: string;
  synchronous?: StoreOptions['synchronous'];
  /** Wall clock, epoch ms (tests inject one). */
  clock?: () => number;
  /** Snapshot a workspace after this many logged commands, once quiet (default 5,000). */
  snapshotEvery?: number;
  /**
   * Under sustained load (never quiet for 250 ms), snapshot anyway once a workspace's log holds
   * this many commands (default 100,000, or 4 × `snapshotEvery` if larger). A snapshot blocks the
   * thread that serves requests (measured: 450 ms for a workspace with 22,000 tasks), so it is
   * rare; a restart re-executes at most this many commands (a few seconds).
   */
  forceSnapshotAfter?: number;
}

interface Host {
  engine: WorkspaceEngine;
  sids: WorkspaceSids;
  accountSid: string;
  seq: number;
  sinceSnapshot: number;
}

interface Pending {
  workspaceSid: string;
  command: UntimedCommand;
  origin: EventOrigin | undefined;
  resolve: (outcome: Outcome) => void;
  reject: (error: Error) => void;
}

/** Credentials created once; the secret is shown to the user and never stored in clear. */
export interface NewCredentials {
  sid: string;
  secret: string;
}

export class Runtime {
  readonly store: SqliteStore;
  private readonly clock: () => number;
  private readonly key: Buffer;
  private readonly snapshotEvery: number;
  private readonly forceSnapshotAfter: number;
  private readonly hosts = new Map<string, Host>();
  private accounts = new Map<string, { hash: string; sealed: string; token?: string }>();
  private apiKeys = new Map<string, { accountSid: string; hash: string }>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  private timer: NodeJS.Timeout | null = null;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private lastExecuteAt = 0;
  private failure: Error | null = null;
  private closed = false;
  /** Set by {@link Runtime.close}: resolves when the store is fully closed. */
  private closing: Promise<void> | null = null;
  private readonly commitListeners = new Set<() => void>();

  private constructor(store: SqliteStore, key: Buffer, options: RuntimeOptions) {
    this.store = store;
    this.key = key;
    this.clock = options.clock ?? Date.now;
    this.snapshotEvery = options.snapshotEvery ?? 5_000;
    this.forceSnapshotAfter = options.forceSnapshotAfter ?? Math.max(100_000, 4 * this.snapshotEvery);
  }

  /** Opens the store, rebuilds every workspace and fires the timers that came due meanwhile. */
  static open(options: RuntimeOptions = {}): Runtime {
    const dataDir = options.dataDir ?? './data';
    mkdirSync(dataDir, { recursive: true });
    const store = SqliteStore.open(options.databasePath ?? join(dataDir, 'switchboard.sqlite'), { synchronous: options.synchronous });
    const runtime = new Runtime(store, serverKey(dataDir), options);
    runtime.loadCredentials();
    for (const stored of store.loadWorkspaces()) {
      const rebuilt = rebuildWorkspace(stored);
      runtime.hosts.set(stored.sid, { ...rebuilt, accountSid: stored.accountSid, sinceSnapshot: stored.commands.length });
    }
    runtime.armTimer();
    return runtime;
  }

  // ── accounts and credentials ──

  /** Creates an account; its auth token is returned once. */
  createAccount(friendlyName: string): NewCredentials {
    const sid = `AC${newSecret()}`;
    const secret = newSecret();
    const row = { sid, friendlyName, authTokenHash: hashSecret(secret), authTokenSealed: seal(secret, this.key), dateCreated: this.clock() };
    this.store.insertAccount(row);
    this.accounts.set(sid, { hash: row.authTokenHash, sealed: row.authTokenSealed });
    return { sid, secret };
  }

  /** Creates an API key (SK…) for an account; its secret is returned once. */
  createApiKey(accountSid: string, friendlyName: string): NewCredentials {
    if (!this.accounts.has(accountSid)) throw new Error(`unknown account ${accountSid}`);
    const sid = `SK${newSecret()}`;
    const secret = newSecret();
    this.store.insertApiKey({ sid, accountSid, friendlyName, secretHash: hashSecret(secret), dateCreated: this.clock() });
    this.apiKeys.set(sid, { accountSid, hash: hashSecret(secret) });
    return { sid, secret };
  }

  /** The account a Basic-auth username/password pair belongs to, or null (spec §2). */
  authenticate(username: string, password: string): string | null {
    const account = this.accounts.get(username);
    if (account !== undefined) return secretMatches(password, account.hash) ? username : null;
    const key = this.apiKeys.get(username);
    if (key !== undefined) return secretMatches(password, key.hash) ? key.accountSid : null;
    return null;
  }

  /**
   * The account's auth token, for signing its webhooks (spec §11). Unsealed once per account and
   * kept in memory (every webhook is signed with it; it never leaves the process).
   */
  authToken(accountSid: string): string {
    const account = this.accounts.get(accountSid);
    if (account === undefined) throw new Error(`unknown account ${accountSid}`);
    account.token ??= unseal(account.sealed, this.key);
    return account.token;
  }

  get accountCount(): number {
    return this.accounts.size;
  }

  // ── workspaces ──

  /** The account's workspaces, oldest first. */
  workspaces(accountSid: string): WorkspaceEngine[] {
    return [...this.hosts.values()].filter((h) => h.accountSid === accountSid).map((h) => h.engine);
  }

  /** Every workspace of every account (read-only use: metrics). */
  allWorkspaces(): WorkspaceEngine[] {
    return [...this.hosts.values()].map((h) => h.engine);
  }

  /** A workspace of this account, or undefined (also for another account's: spec §2 answers 404). */
  workspace(accountSid: string, workspaceSid: string): WorkspaceEngine | undefined {
    const host = this.hosts.get(workspaceSid);
    return host !== undefined && host.accountSid === accountSid ? host.engine : undefined;
  }

  /** Creates a workspace, durably, and returns its engine and creation events. */
  createWorkspace(accountSid: string, options: Omit<StoredCreateOptions, 'at'>, origin?: EventOrigin): { engine: WorkspaceEngine; events: EngineEvent[] } {
    this.checkWritable();
    const sidSeed = randomInt(0, 2 ** 31);
    const sids = new WorkspaceSids(sidSeed, CURRENT_SID_SCHEME);
    const createOptions: StoredCreateOptions = { ...options, at: this.clock() };
    const created = WorkspaceEngine.create({ ...createOptions, newSid: sids.next });
    if (origin !== undefined) for (const e of created.events) (e as StoredEvent).origin = origin;
    const outbox = outboxRows(created.engine, accountSid, created.events, createOptions.at);
    this.store.createWorkspace(
      { sid: created.engine.workspace.sid, accountSid, sidSeed, sidScheme: sids.scheme, createOptions: { ...createOptions } },
      created.events,
      outbox,
    );
    this.hosts.set(created.engine.workspace.sid, { engine: created.engine, sids, accountSid, seq: 0, sinceSnapshot: 0 });
    this.armTimer();
    if (outbox.length > 0) this.notifyCommit();
    return created;
  }

  /** Deletes a workspace (its events stay until they expire). */
  deleteWorkspace(accountSid: string, workspaceSid: string): boolean {
    this.checkWritable();
    if (this.workspace(accountSid, workspaceSid) === undefined) return false;
    this.store.deleteWorkspace(workspaceSid, this.clock());
    this.hosts.delete(workspaceSid);
    return true;
  }

  /**
   * Executes a command on a workspace at the current time. Resolves once the command and its
   * events are committed to disk (or it was refused, which changes nothing). Rejects with the
   * store's error if the commit failed; the runtime then refuses further writes. `origin` (who
   * sent it; see {@link EventOrigin}) is stored on each event the command produces.
   */
  execute(workspaceSid: string, command: UntimedCommand, origin?: EventOrigin): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      if (this.failure !== null || this.closed) {
        reject(this.failure ?? new Error('the runtime is closed'));
        return;
      }
      this.queue.push({ workspaceSid, command, origin, resolve, reject });
      this.lastExecuteAt = performance.now();
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * Calls `listener` after every commit that wrote outbox rows (the webhook dispatcher wakes up);
   * returns an unsubscribe.
   */
  onCommit(listener: () => void): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /**
   * Commits what is queued, saves snapshots, stops the timer and closes the store — all before it
   * returns. The promise resolves once the store's checkpointer thread has ended too
   * ({@link SqliteStore.close}): await it before reopening the same data directory in this
   * process, or the reopen can meet "database is locked". Calling it again returns the same
   * promise. Never rejects.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.flush();
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.snapshotTimer !== null) clearTimeout(this.snapshotTimer);
    if (this.failure === null) for (const [sid, host] of this.hosts) this.snapshot(sid, host);
    this.closing = this.store.close();
    return this.closing;
  }

  // ── the write path ──

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    const now = this.clock();
    const records: CommandRecord[] = [];
    const outcomes: (Outcome | Error)[] = [];
    let outboxRowCount = 0;
    for (const p of batch) {
      const host = this.hosts.get(p.workspaceSid);
      if (host === undefined) {
        outcomes.push(new Error(`workspace ${p.workspaceSid} is gone`));
        continue;
      }
      const command = { ...p.command, at: now } as Command;
      const outcome = host.engine.execute(command);
      if (p.origin !== undefined) for (const e of outcome.events) (e as StoredEvent).origin = p.origin;
      outcomes.push(outcome);
      if (outcome.rejection === null || outcome.events.length > 0) {
        host.seq += 1;
        host.sinceSnapshot += 1;
        const outbox = outboxRows(host.engine, host.accountSid, outcome.events, now);
        outboxRowCount += outbox.length;
        records.push({ workspaceSid: p.workspaceSid, seq: host.seq, command, events: outcome.events, outbox });
      }
    }
    try {
      // Written now; answered once on disk (the WAL sync runs off this thread, shared by every
      // batch written meanwhile: the next batch executes while this one syncs).
      this.store.commit(records, (error) => this.settle(batch, outcomes, error, outboxRowCount > 0));
    } catch (error) {
      this.fail(batch, error as Error);
      return;
    }
    this.snapshotWhenIdle();
    this.armTimer();
  }

  /** Answers a committed batch once the store reports it durable (or failed: then nothing more is accepted). */
  private settle(batch: Pending[], outcomes: (Outcome | Error)[], error: Error | null, wroteOutbox: boolean): void {
    if (error !== null) {
      this.fail(batch, error);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i] as Outcome | Error;
      if (o instanceof Error) p.reject(o);
      else p.resolve(o);
    });
    // Only a commit that queued webhooks wakes the dispatcher: its own timer finds due retries,
    // and waking it after every commit cost two outbox queries per batch for nothing.
    if (wroteOutbox) this.notifyCommit();
  }

  /**
   * The engines are ahead of the disk from now on: refuse writes (a restart rebuilds from the log),
   * and reject `batch` with the first failure.
   */
  private fail(batch: Pending[], error: Error): void {
    this.failure ??= error;
    for (const p of batch) p.reject(this.failure);
  }

  private notifyCommit(): void {
    for (const listener of this.commitListeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own; the commit stands and the callers are answered.
      }
    }
  }

  /**
   * Snapshots the workspaces whose log passed `snapshotEvery` commands, off the request path: a
   * snapshot serializes the whole workspace (hundreds of ms for a large one) and would stall every
   * request in flight, so it waits until no command arrived for SNAPSHOT_IDLE_MS. Under sustained
   * load it is taken at once when the log reaches `forceSnapshotAfter`, which bounds restart time.
   */
  private snapshotWhenIdle(): void {
    let due = false;
    for (const [sid, host] of this.hosts) {
      if (host.sinceSnapshot >= this.forceSnapshotAfter) this.snapshot(sid, host);
      else if (host.sinceSnapshot >= this.snapshotEvery) due = true;
    }
    if (due && this.snapshotTimer === null) this.armSnapshotTimer(SNAPSHOT_IDLE_MS);
  }

  private armSnapshotTimer(delay: number): void {
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      if (this.closed || this.failure !== null) return;
      const quiet = performance.now() - this.lastExecuteAt;
      if (quiet < SNAPSHOT_IDLE_MS || this.queue.length > 0) {
        this.armSnapshotTimer(SNAPSHOT_IDLE_MS - Math.min(quiet, SNAPSHOT_IDLE_MS - 1));
        return;
      }
      for (const [sid, host] of this.hosts) if (host.sinceSnapshot >= this.snapshotEvery) this.snapshot(sid, host);
    }, delay);
    this.snapshotTimer.unref();
  }

  private snapshot(workspaceSid: string, host: Host): void {
    if (host.sinceSnapshot === 0) return;
    this.store.saveSnapshot(workspaceSid, host.seq, host.engine.snapshot(), host.sids.save());
    host.sinceSnapshot = 0;
  }

  /** One real timer for the earliest engine deadline; when it fires, due workspaces get a tick. */
  private armTimer(): void {
    if (this.closed) return;
    let next = Infinity;
    for (const h of this.hosts.values()) next = Math.min(next, h.engine.nextDeadline() ?? Infinity);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (next === Infinity) return;
    const delay = Math.max(0, Math.min(next - this.clock(), 2 ** 31 - 1));
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = this.clock();
      for (const [sid, h] of this.hosts) {
        const due = h.engine.nextDeadline();
        if (due !== null && due <= now) void this.execute(sid, { type: 'tick' }).catch(() => undefined);
      }
      this.armTimer();
    }, delay);
    // The timer alone never keeps the process alive: the server's socket does that.
    this.timer.unref();
  }

  private checkWritable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new Error('the runtime is closed');
  }

  private loadCredentials(): void {
    this.accounts = new Map(this.store.accounts().map((a) => [a.sid, { hash: a.authTokenHash, sealed: a.authTokenSealed }]));
    this.apiKeys = new Map(this.store.apiKeys().map((k) => [k.sid, { accountSid: k.accountSid, hash: k.secretHash }]));
  }
}

/** The 32-byte key that seals auth tokens: SWITCHBOARD_SECRET_KEY (hex), else <dataDir>/server.key. */
function serverKey(dataDir: string): Buffer {
  const fromEnv = process.env['SWITCHBOARD_SECRET_KEY'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const key = Buffer.from(fromEnv, 'hex');
    if (key.length !== 32) throw new Error('SWITCHBOARD_SECRET_KEY must be 64 hex digits (32 bytes)');
    return key;
  }
  const path = join(dataDir, 'server.key');
  if (!existsSync(path)) writeFileSync(path, newSecret() + newSecret(), { mode: 0o600 });
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
  if (key.length !== 32) throw new Error(`${path} must hold 64 hex digits (32 bytes)`);
  return key;
}
