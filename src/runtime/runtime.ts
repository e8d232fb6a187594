/**
 * The imperative shell that hosts every core of every workspace (DESIGN.md "Cores and the one
 * runtime"): one engine per workspace and, beside it, the workspace's callback core
 * (callbacks-hosting.ts); the scheduler's clock and ONE timer for all their deadlines; the store.
 *
 * A turn: every command, core operation and timer tick queued since the last turn is executed in
 * arrival order at one instant; the events of each engine command go to the other cores at once,
 * and the engine commands those cores ask for run in the same batch (logged like any other). Then
 * everything — commands, events of every core, core state, outbox rows — is written in ONE
 * transaction, and only then is anyone answered or any dial placed.
 *
 * Writes are durable before they are acknowledged (DESIGN.md rule 2). `execute` queues the
 * command; on the next turn of the event loop every queued command is executed in arrival
 * order, then all of them — commands, events, outbox rows — are written in ONE transaction, and
 * the callers are answered once the store reports the transaction on disk (group commit: one disk
 * sync for many requests; the sync runs off this thread, so the next batch executes meanwhile). If
 * the transaction fails (a full disk), the workspaces it touched go back to what is on disk (snapshot
 * plus command log; callback rows), its callers get a {@link StoreUnavailableError} (the API answers
 * 503) and the next write is tried afresh. If the disk sync of a written transaction fails, the
 * runtime stops accepting writes: what is on disk is unknown, and a restart rebuilds from it.
 *
 * The store is either adapter behind the `Store` interface (src/store/store.ts): SQLite in the data
 * directory by default, PostgreSQL with `databaseUrl`. What is synchronous and what waits:
 * executing a turn and handing its batch to `store.commit` is synchronous (the engines and cores
 * never wait on I/O inside a turn); the answer comes through commit's callback. Opening (loading
 * accounts, workspaces and the cores' state), creating accounts, keys and workspaces, snapshots,
 * and rebuilding a workspace after a failed commit await the store.
 *
 * Single writer: the runtime assumes that it is the only process writing the workspaces it loads,
 * from `open` until `close` (SQLite: the data-directory lock enforces it; PostgreSQL: nothing does
 * yet — the per-workspace advisory-lock lease that lets several nodes share a database is a later
 * issue, and until then two servers on one database would corrupt each other's command logs).
 *
 * Reads (the API's GETs, the engines' state) see a batch from the moment it is written, a few
 * milliseconds before it is on disk: a crash of the process loses nothing written (the OS has it),
 * a power cut can take back those last milliseconds — writes that nobody was told had succeeded.
 * Webhooks are sent only for rows on disk.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomInt } from 'node:crypto';
import { WorkspaceEngine, type Command, type EngineEvent, type Outcome } from '../engine/index.ts';
import { SqliteStore, type StoreOptions } from '../store/sqlite-store.ts';
import { PostgresStore } from '../store/postgres-store.ts';
import type { CommandRecord, CoreWrites, OutboxLane, Store } from '../store/store.ts';
import type { CallbackCenter } from '../callbacks/center.ts';
import type { Datastore } from '../callbacks/datastore.ts';
import type { Scheduler, Timer } from '../util/scheduler.ts';
import { systemScheduler } from './scheduler.ts';
import { VoiceHosting, type VoiceHostingOptions } from './voice-hosting.ts';
import { ConversationsHosting } from './conversations-hosting.ts';
import type { MessagingPort } from '../conversations/messaging-port.ts';
import { CallbackHosting, checkHostingOptions, type CallbackHostingOptions, type Host as CallbackHost } from './callbacks-hosting.ts';
import { mergeWrites, type CoreContext, type HostedCore } from './core.ts';
import { CURRENT_SID_SCHEME, WorkspaceSids } from './sids.ts';
import { rebuildWorkspace, type StoredCreateOptions } from './rebuild.ts';
import { StreamsHosting } from './streams-hosting.ts';
import { AnalyticsHosting } from './analytics-hosting.ts';
import { KeysHosting } from './keys-hosting.ts';
import { outboxRows, type EventOrigin, type StoredEvent } from './outbox.ts';
import { hashSecret, newSecret, seal, secretMatches, unseal } from './secrets.ts';

/** A due snapshot waits for this long without commands (see `snapshotWhenIdle`). */
const SNAPSHOT_IDLE_MS = 250;

/** A command without its instant: the runtime stamps it from its clock. */
export type UntimedCommand = Command extends infer C ? (C extends Command ? Omit<C, 'at'> : never) : never;

export interface RuntimeOptions {
  /** Folder for the SQLite database and the server key (default ./data). */
  dataDir?: string;
  /** SQLite database file (default <dataDir>/switchboard.sqlite); ignored with `databaseUrl`. */
  databasePath?: string;
  /**
   * Keep the state in PostgreSQL instead of SQLite: a `postgres://` or `postgresql://` URL
   * (`postgres://user[:password]@host[:port]/database`). Default: SQLite in `dataDir`. The server
   * key stays in `dataDir` (or SWITCHBOARD_SECRET_KEY). {@link Runtime.open} throws a RangeError
   * naming `databaseUrl` for anything else.
   */
  databaseUrl?: string;
  /**
   * With `databaseUrl`: the PostgreSQL schema to keep the tables in (created if missing; default the
   * connection's search path, normally `public`). Tests use a fresh one per test file.
   */
  databaseSchema?: string;
  /**
   * `FULL` (default): a write is on disk before it is acknowledged; `NORMAL`: survives a crash of
   * this process only; `OFF` (SQLite only): a scratch database that survives nothing, for
   * simulations and benchmarks (StoreOptions.synchronous).
   */
  synchronous?: StoreOptions['synchronous'];
  /** Clock and timers (default: the wall clock). Tests pass a VirtualScheduler to skip time. */
  scheduler?: Scheduler;
  /** The callback core's telephone, options and warm-up (callbacks-hosting.ts). */
  callbacks?: CallbackHostingOptions;
  /** The voice core's telephone network and options (voice-hosting.ts). */
  voice?: VoiceHostingOptions;
  /** The conversations core's messaging network (SMS, WhatsApp); none: messages to messaging participants are not sent. */
  messaging?: MessagingPort;
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

/** Something queued for the next turn: `run` executes it in the batch; its value answers the caller once durable. */
interface Pending {
  workspaceSid: string;
  run: (ctx: CoreContext) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** The batch being built in a turn. */
interface Batch {
  now: number;
  records: CommandRecord[];
  /** Workspaces it changed (restored from the store if its commit fails). */
  touched: Set<string>;
  outboxRows: number;
}

/**
 * A write was refused because the store could not take it (a full disk, a broken connection):
 * nothing of it is applied, memory is back to what is on disk, and a later write may succeed.
 * The API answers 503 with a Twilio-shaped body.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/**
 * Told after a commit that queued outbox rows, once they are durable: `lanes` are the lanes (kind
 * and workspace) that got rows, or null when the runtime does not say (read the whole outbox).
 */
export type CommitListener = (lanes: readonly OutboxLane[] | null) => void;

/**
 * Told after every commit that wrote commands or events, once durable: the engine commands of the
 * batch with their events (in execution order), then the hosted cores' events (call flows,
 * callbacks). For in-process consumers that react to what happened — the voice simulation's
 * agents, a live console — without an HTTP round trip; a listener must not throw (its errors are
 * swallowed) and may queue more work.
 */
export type EventListener = (batch: { records: readonly CommandRecord[]; coreEvents: CoreWrites['events'] }) => void;

/** Credentials created once; the secret is shown to the user and never stored in clear. */
export interface NewCredentials {
  sid: string;
  secret: string;
}

export class Runtime {
  /** The store (either adapter); the runtime owns it and closes it in {@link Runtime.close}. */
  readonly store: Store;
  /** The callback cores of every workspace (callbacks-hosting.ts). */
  readonly callbacks: CallbackHosting;
  /** The voice cores of every workspace: call flows, phone numbers, worker legs (voice-hosting.ts). */
  readonly voice: VoiceHosting;
  /** The conversations of every account, and the chats' inactivity policies (conversations-hosting.ts). */
  readonly conversations: ConversationsHosting;
  /** The Event Streams sinks and subscriptions of every account (streams-hosting.ts). */
  readonly streams: StreamsHosting;
  /** The analytics projector of every workspace (analytics-hosting.ts). */
  readonly analytics = new AnalyticsHosting();
  /** The API keys of every account (keys-hosting.ts): Basic auth with SK keys, access-token secrets. */
  readonly keys: KeysHosting;
  /** Every core hosted beside the engines, in the order they see events. */
  private readonly cores: readonly HostedCore[];
  readonly scheduler: Scheduler;
  private readonly key: Buffer;
  private readonly snapshotEvery: number;
  private readonly forceSnapshotAfter: number;
  private readonly hosts = new Map<string, Host>();
  private accounts = new Map<string, { hash: string; sealed: string; token?: string }>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  private timer: Timer | null = null;
  private timerDue = Infinity;
  private snapshotTimer: Timer | null = null;
  private building: Batch | null = null;
  private context: CoreContext | null = null;
  private lastExecuteAt = 0;
  private failure: Error | null = null;
  private closed = false;
  /** Set by {@link Runtime.close}: resolves when the store is fully closed. */
  private closing: Promise<void> | null = null;
  private readonly commitListeners = new Set<CommitListener>();
  private readonly eventListeners = new Set<EventListener>();
  /**
   * Workspaces being rebuilt from the store after a failed commit ({@link recover}): work queued
   * for them waits in {@link queue} until the rebuild is done, so nothing executes on the state the
   * failed batch left in memory, nor on a half-rebuilt one.
   */
  private readonly held = new Set<string>();
  /** Held workspaces not rebuilt yet. */
  private readonly toReload = new Set<string>();
  /** Callers of failed batches, answered once their workspaces are rebuilt. */
  private refused: Array<{ callers: Pending[]; error: Error }> = [];
  /** The rebuild in progress, or null. */
  private recovering: Promise<void> | null = null;

  private constructor(store: Store, key: Buffer, options: RuntimeOptions) {
    this.store = store;
    this.key = key;
    this.scheduler = options.scheduler ?? systemScheduler;
    this.callbacks = new CallbackHosting(
      options.callbacks ?? {},
      this.scheduler,
      (workspaceSid, op) => void this.enqueue(workspaceSid, op).catch(() => undefined),
      timeOrderedSids(this.scheduler),
      () => randomBytes(32).toString('hex'),
    );
    this.voice = new VoiceHosting(
      options.voice ?? {},
      this.scheduler,
      <T>(workspaceSid: string, op: (ctx: CoreContext) => T) => this.enqueue(workspaceSid, op) as Promise<T>,
      timeOrderedSids(this.scheduler),
      this.callbacks,
    );
    this.conversations = new ConversationsHosting(
      this.scheduler,
      <T>(key: string, op: (ctx: CoreContext) => T) => this.enqueue(key, op) as Promise<T>,
      timeOrderedSids(this.scheduler),
      options.messaging ?? null,
    );
    this.streams = new StreamsHosting(
      <T>(key: string, op: (ctx: CoreContext) => T) => this.enqueue(key, op) as Promise<T>,
      timeOrderedSids(this.scheduler),
      (workspaceSid) => this.hosts.get(workspaceSid)?.accountSid,
    );
    this.keys = new KeysHosting(<T>(shard: string, op: (ctx: CoreContext) => T) => this.enqueue(shard, op) as Promise<T>, key);
    this.cores = [this.callbacks, this.voice, this.conversations, this.streams, this.analytics, this.keys];
    this.snapshotEvery = options.snapshotEvery ?? 5_000;
    this.forceSnapshotAfter = options.forceSnapshotAfter ?? Math.max(100_000, 4 * this.snapshotEvery);
  }

  /**
   * Opens the store (SQLite in the data directory, or PostgreSQL with `databaseUrl`), rebuilds every
   * workspace and its cores, and fires the timers that came due meanwhile. Rejects with a
   * RangeError naming the option for a bad option, and with the store's StoreError when the
   * database cannot be opened, reached or migrated (the store is closed again then).
   */
  static async open(options: RuntimeOptions = {}): Promise<Runtime> {
    checkHostingOptions(options.callbacks ?? {});
    const databaseUrl = options.databaseUrl === undefined ? undefined : checkDatabaseUrl(options.databaseUrl);
    if (options.databaseSchema !== undefined && databaseUrl === undefined) throw new RangeError('databaseSchema: only with databaseUrl (a PostgreSQL database)');
    const synchronous = options.synchronous;
    if (synchronous === 'OFF' && databaseUrl !== undefined) throw new RangeError('synchronous: OFF is for a scratch SQLite database only, not with databaseUrl');
    const dataDir = options.dataDir ?? './data';
    // Owner only (issue 11 item 7): the folder holds the database and the server key.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const key = serverKey(dataDir);
    const store: Store =
      databaseUrl === undefined
        ? SqliteStore.open(options.databasePath ?? join(dataDir, 'switchboard.sqlite'), { synchronous: options.synchronous })
        : await PostgresStore.open({
            connectionString: databaseUrl,
            ...(options.databaseSchema === undefined ? {} : { schema: options.databaseSchema }),
            ...(synchronous === undefined || synchronous === 'OFF' ? {} : { synchronous }),
          });
    try {
      const runtime = new Runtime(store, key, options);
      await runtime.loadCredentials();
      for (const stored of await store.loadWorkspaces()) {
        const rebuilt = rebuildWorkspace(stored);
        runtime.hosts.set(stored.sid, { ...rebuilt, accountSid: stored.accountSid, sinceSnapshot: stored.commands.length });
      }
      for (const core of runtime.cores) await core.load(store, (sid) => runtime.hosts.get(sid)?.engine);
      runtime.armTimer();
      return runtime;
    } catch (error) {
      await store.close();
      throw error;
    }
  }

  // ── accounts and credentials ──

  /** Creates an account, durably; its auth token is returned once. Rejects with the store's error. */
  async createAccount(friendlyName: string): Promise<NewCredentials> {
    const sid = `AC${newSecret()}`;
    const secret = newSecret();
    const row = { sid, friendlyName, authTokenHash: hashSecret(secret), authTokenSealed: seal(secret, this.key), dateCreated: this.scheduler.now() };
    await this.store.insertAccount(row);
    this.accounts.set(sid, { hash: row.authTokenHash, sealed: row.authTokenSealed });
    return { sid, secret };
  }

  /**
   * Creates an API key (SK…) for an account, durably (keys-hosting.ts); its secret is returned
   * once. Rejects for an unknown account, or with the store's error.
   */
  async createApiKey(accountSid: string, friendlyName: string): Promise<NewCredentials> {
    if (!this.accounts.has(accountSid)) throw new Error(`unknown account ${accountSid}`);
    const { key, secret } = await this.keys.create(accountSid, friendlyName);
    return { sid: key.sid, secret };
  }

  /** The account a Basic-auth username/password pair belongs to, or null (spec §2). */
  authenticate(username: string, password: string): string | null {
    const account = this.accounts.get(username);
    if (account !== undefined) return secretMatches(password, account.hash) ? username : null;
    return this.keys.authenticate(username, password);
  }

  /** Whether the account exists. */
  hasAccount(accountSid: string): boolean {
    return this.accounts.has(accountSid);
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

  /** Every account's SID, oldest first. */
  accountSids(): string[] {
    return [...this.accounts.keys()];
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

  /**
   * Creates a workspace, durably, and resolves with its engine and creation events. Rejects (nothing
   * created) when the runtime refuses writes, or with a StoreUnavailableError when the store did not
   * take it. `sidSeed` (default: a random one) seeds the workspace's SIDs: a seeded simulation
   * passes its own, since the engine breaks some ties by SID and must run the same every time.
   */
  async createWorkspace(accountSid: string, options: Omit<StoredCreateOptions, 'at'>, origin?: EventOrigin, sidSeed: number = randomInt(0, 2 ** 31)): Promise<{ engine: WorkspaceEngine; events: EngineEvent[] }> {
    this.checkWritable();
    const sids = new WorkspaceSids(sidSeed, CURRENT_SID_SCHEME);
    const createOptions: StoredCreateOptions = { ...options, at: this.scheduler.now() };
    const created = WorkspaceEngine.create({ ...createOptions, newSid: sids.next });
    if (origin !== undefined) for (const e of created.events) (e as StoredEvent).origin = origin;
    const outbox = outboxRows(created.engine, accountSid, created.events, createOptions.at);
    try {
      await this.store.createWorkspace(
        { sid: created.engine.workspace.sid, accountSid, sidSeed, sidScheme: sids.scheme, createOptions: { ...createOptions } },
        created.events,
        outbox,
      );
    } catch (error) {
      throw new StoreUnavailableError(`The workspace was not saved: ${(error as Error).message}`, { cause: error });
    }
    this.hosts.set(created.engine.workspace.sid, { engine: created.engine, sids, accountSid, seq: 0, sinceSnapshot: 0 });
    this.armTimer();
    if (outbox.length > 0) this.notifyCommit(null);
    return created;
  }

  /**
   * Deletes a workspace (its events stay until they expire), durably; resolves false when the
   * account has no such workspace. Rejects when the runtime refuses writes, or with a
   * StoreUnavailableError when the store did not take it.
   */
  async deleteWorkspace(accountSid: string, workspaceSid: string): Promise<boolean> {
    this.checkWritable();
    if (this.workspace(accountSid, workspaceSid) === undefined) return false;
    try {
      await this.store.deleteWorkspace(workspaceSid, this.scheduler.now());
    } catch (error) {
      throw new StoreUnavailableError(`The deletion was not saved: ${(error as Error).message}`, { cause: error });
    }
    this.hosts.delete(workspaceSid);
    for (const core of this.cores) core.forget(workspaceSid);
    return true;
  }

  /**
   * Executes a command on a workspace at the current time. Resolves once the command and its
   * events are committed to disk (or it was refused, which changes nothing). Rejects with the
   * store's error if the commit failed; the runtime then refuses further writes. `origin` (who
   * sent it; see {@link EventOrigin}) is stored on each event the command produces.
   */
  execute(workspaceSid: string, command: UntimedCommand, origin?: EventOrigin): Promise<Outcome> {
    return this.enqueue(workspaceSid, () => this.executeInBatch(workspaceSid, command, origin)) as Promise<Outcome>;
  }

  /**
   * Runs `op` on a workspace's callback core in the next turn (see CallbackHosting.run) and
   * resolves with its result once the batch is on disk. Rejects with what `op` threw (a
   * CallbackError for bad input; nothing changed then) or with the store's error.
   */
  runCallbacks<T extends object>(host: CallbackHost, op: (center: CallbackCenter, now: number, datastore: Datastore) => T): Promise<T> {
    return this.enqueue(host.workspaceSid, (ctx) => this.callbacks.run(host, ctx, op)) as Promise<T>;
  }

  /** Queues `run` for the next turn (see {@link Pending}). */
  private enqueue(workspaceSid: string, run: (ctx: CoreContext) => unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.failure !== null || this.closed) {
        reject(this.failure ?? new Error('the runtime is closed'));
        return;
      }
      this.queue.push({ workspaceSid, run, resolve, reject });
      this.lastExecuteAt = this.scheduler.now();
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /**
   * Calls `listener` after every commit that wrote outbox rows (the webhook dispatcher wakes up);
   * returns an unsubscribe.
   */
  onCommit(listener: CommitListener): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  /** Calls `listener` after every durable commit with what it wrote (see {@link EventListener}); returns an unsubscribe. */
  onEvents(listener: EventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /**
   * Commits what is queued, saves snapshots (not of workspaces being rebuilt after a failed
   * commit), stops the timer and closes the store: the writes are handed to the store before this
   * returns and written before the promise resolves (with SQLite, all of it happens before this
   * returns). The promise resolves once the store is closed — with SQLite, once its checkpointer
   * thread has ended ({@link SqliteStore.close}): await it before reopening the same data
   * directory in this process, or the reopen can meet "database is locked". Calling it again
   * returns the same promise. Never rejects.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.flush();
    this.closed = true;
    this.timer?.cancel();
    this.snapshotTimer?.cancel();
    for (const core of this.cores) core.close();
    if (this.failure === null) for (const [sid, host] of this.hosts) this.snapshot(sid, host);
    // The store writes in call order: the batch and the snapshots above go before it closes.
    const recovering = this.recovering;
    this.closing = this.store.close().then(async () => {
      await recovering;
    });
    return this.closing;
  }

  // ── the write path ──

  private flush(): void {
    this.flushScheduled = false;
    let queued = this.queue;
    this.queue = [];
    if (this.held.size > 0) {
      // Work for a workspace being rebuilt waits, in order, until recover() is done with it.
      this.queue = queued.filter((p) => this.held.has(p.workspaceSid));
      queued = queued.filter((p) => !this.held.has(p.workspaceSid));
    }
    if (queued.length === 0) return;
    const batch: Batch = { now: this.scheduler.now(), records: [], touched: new Set(), outboxRows: 0 };
    const ctx: CoreContext = {
      now: batch.now,
      engine: (sid) => this.hosts.get(sid)?.engine,
      execute: (sid, command, first, origin) => this.executeInBatch(sid, command, origin, first),
    };
    this.building = batch;
    this.context = ctx;
    const results: unknown[] = [];
    try {
      for (const p of queued) {
        try {
          results.push(p.run(ctx));
          batch.touched.add(p.workspaceSid);
        } catch (error) {
          results.push(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.building = null;
      this.context = null;
    }
    const engineOf = (sid: string): WorkspaceEngine | undefined => this.hosts.get(sid)?.engine;
    const outboxRowsOf = (sid: string, events: readonly EngineEvent[]): CoreWrites['outbox'] => {
      const host = this.hosts.get(sid);
      return host === undefined ? [] : outboxRows(host.engine, host.accountSid, events, batch.now).map((r) => ({ workspaceSid: sid, ...r }));
    };
    // Cores that observe the others' events (Event Streams) take their writes last, after seeing them.
    const written = this.cores.filter((core) => core.observeCoreEvents === undefined).map((core) => core.takeWrites(batch.now, engineOf, outboxRowsOf));
    const coreEvents = written.flatMap((w) => w.events);
    for (const core of this.cores) {
      if (core.observeCoreEvents === undefined) continue;
      if (coreEvents.length > 0) core.observeCoreEvents(coreEvents, batch.now);
      written.push(core.takeWrites(batch.now, engineOf, outboxRowsOf));
    }
    const cores = mergeWrites(written);
    for (const s of cores.callbackStates) batch.touched.add(s.workspaceSid);
    for (const e of cores.events) batch.touched.add(e.workspaceSid);
    for (const r of cores.coreRows ?? []) batch.touched.add(r.workspaceSid);
    // The lanes this batch queued rows in (the dispatcher reads those, not the whole outbox).
    let lanes: OutboxLane[] | null = null;
    if (batch.outboxRows + cores.outbox.length > 0) {
      const seen = new Map<string, OutboxLane>();
      for (const r of batch.records) for (const o of r.outbox) seen.set(`${o.kind} ${r.workspaceSid}`, { workspaceSid: r.workspaceSid, kind: o.kind });
      for (const o of cores.outbox) seen.set(`${o.kind} ${o.workspaceSid}`, { workspaceSid: o.workspaceSid, kind: o.kind });
      lanes = [...seen.values()];
    }
    let durable = (): void => undefined;
    void this.scheduler.track(new Promise<void>((resolve) => (durable = resolve)));
    try {
      // Handed to the store now (SQLite writes it at once, PostgreSQL queues it for its writer's
      // next transaction); answered once durable — the disk sync or the COMMIT runs off this
      // thread, shared by every batch handed over meanwhile: the next batch executes while this
      // one is made durable.
      this.store.commit(
        batch.records,
        (error) => {
          durable();
          if (error === null) {
            this.settle(queued, results, lanes);
            if (this.eventListeners.size > 0 && (batch.records.length > 0 || cores.events.length > 0)) this.notifyEvents(batch.records, cores.events);
          } else this.commitFailed(queued, batch.touched, error);
        },
        cores,
      );
    } catch (error) {
      // Only a programming error the store saw at once (Store.commit); nothing was written.
      durable();
      this.commitFailed(queued, batch.touched, error as Error);
      return;
    }
    this.snapshotWhenIdle();
    this.armTimer();
  }

  /**
   * Executes an engine command in the batch being built, at the batch's instant: logs it (unless it
   * was refused without events), queues its webhooks and hands its events to the other cores, which
   * may execute more commands here (their effects); `first` runs before they see the events. Throws
   * when the workspace is gone.
   */
  private executeInBatch(workspaceSid: string, command: UntimedCommand, origin?: EventOrigin, first?: (outcome: Outcome) => void): Outcome {
    const batch = this.building;
    const ctx = this.context;
    const host = this.hosts.get(workspaceSid);
    if (batch === null || ctx === null) throw new Error('executeInBatch outside a turn');
    if (host === undefined) throw new Error(`workspace ${workspaceSid} is gone`);
    const timed = { ...command, at: batch.now } as Command;
    const outcome = host.engine.execute(timed);
    if (origin !== undefined) for (const e of outcome.events) (e as StoredEvent).origin = origin;
    if (outcome.rejection === null || outcome.events.length > 0) {
      host.seq += 1;
      host.sinceSnapshot += 1;
      const outbox = outboxRows(host.engine, host.accountSid, outcome.events, batch.now);
      batch.outboxRows += outbox.length;
      batch.records.push({ workspaceSid, seq: host.seq, command: timed, events: outcome.events, outbox });
      batch.touched.add(workspaceSid);
      first?.(outcome);
      for (const core of this.cores) core.observe(workspaceSid, outcome.events, ctx);
    } else first?.(outcome);
    return outcome;
  }

  /** A timer tick of one workspace: the engine's due timers, then the callback core's. */
  private tick(workspaceSid: string, ctx: CoreContext): void {
    const host = this.hosts.get(workspaceSid);
    const due = host?.engine.nextDeadline() ?? null;
    if (due !== null && due <= ctx.now) this.executeInBatch(workspaceSid, { type: 'tick' });
    // A key without an engine is a core's own shard (the conversations of an account: `AC…`).
    if (host === undefined && !isCoreShard(workspaceSid)) return;
    for (const core of this.cores) core.advanceTo(workspaceSid, ctx);
  }

  /** Answers a batch once the store reports it durable, then wakes the dispatcher for the lanes it wrote. */
  private settle(batch: Pending[], results: unknown[], lanes: readonly OutboxLane[] | null): void {
    batch.forEach((p, i) => {
      const r = results[i];
      if (r instanceof Error) p.reject(r);
      else p.resolve(r);
    });
    // Only a commit that queued webhooks wakes the dispatcher: its own timer finds due retries,
    // and waking it after every commit cost two outbox queries per batch for nothing.
    if (lanes !== null) this.notifyCommit(lanes);
  }

  /**
   * A batch was not made durable (a full disk, a lost connection; with PostgreSQL every batch
   * handed over before the failure was reported fails with it): none of its outbox rows exists,
   * and every workspace it touched is held — its queued work waits — and rebuilt from the store by
   * {@link recover}, which then answers the callers with a StoreUnavailableError. Writes to other
   * workspaces go on; the next write to a rebuilt one is tried afresh.
   */
  private commitFailed(callers: Pending[], touched: ReadonlySet<string>, error: Error): void {
    for (const core of this.cores) core.discardBatch();
    for (const sid of touched) {
      this.held.add(sid);
      this.toReload.add(sid);
    }
    this.refused.push({ callers, error });
    this.recovering ??= this.scheduler.track(this.recover());
  }

  /**
   * Rebuilds the held workspaces from the store — engine from snapshot and command log, each core
   * reloaded — one after another, while their work waits (see {@link held}); then answers the
   * refused callers and releases the held work. A failure arriving meanwhile joins the loop. If a
   * rebuild itself fails, memory and disk may disagree: the runtime refuses writes until a restart.
   */
  private async recover(): Promise<void> {
    while (this.toReload.size > 0 || this.refused.length > 0) {
      const sids = [...this.toReload];
      this.toReload.clear();
      const refused = this.refused;
      this.refused = [];
      try {
        for (const sid of sids) {
          if (isCoreShard(sid)) {
            // A core's own shard (no engine): its cores reload it.
            for (const core of this.cores) await core.reload(this.store, sid);
            continue;
          }
          const stored = await this.store.loadWorkspace(sid);
          if (stored === undefined) {
            this.hosts.delete(sid);
            for (const core of this.cores) core.forget(sid);
            continue;
          }
          const rebuilt = rebuildWorkspace(stored);
          const old = this.hosts.get(sid);
          this.hosts.set(sid, { ...rebuilt, accountSid: stored.accountSid, sinceSnapshot: old?.sinceSnapshot ?? 0 });
          for (const core of this.cores) await core.reload(this.store, sid);
        }
      } catch (reloadError) {
        // Memory and disk may disagree now: refuse writes until a restart.
        this.failure ??= reloadError as Error;
      }
      for (const { callers, error } of refused) {
        const refusal = new StoreUnavailableError(`The write was not saved: ${error.message}`, { cause: error });
        for (const p of callers) p.reject(this.failure ?? refusal);
      }
    }
    this.held.clear();
    this.recovering = null;
    if (this.failure !== null || this.closed) for (const p of this.queue.splice(0)) p.reject(this.failure ?? new Error('the runtime is closed'));
    else if (this.queue.length > 0) this.scheduleFlush();
    this.armTimer();
  }

  private notifyEvents(records: readonly CommandRecord[], coreEvents: CoreWrites['events']): void {
    for (const listener of this.eventListeners) {
      try {
        listener({ records, coreEvents });
      } catch {
        // A listener's failure is its own, as for commit listeners.
      }
    }
  }

  private notifyCommit(lanes: readonly OutboxLane[] | null): void {
    for (const listener of this.commitListeners) {
      try {
        listener(lanes);
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
    this.snapshotTimer = this.scheduler.setTimer(() => {
      this.snapshotTimer = null;
      if (this.closed || this.failure !== null) return;
      const quiet = this.scheduler.now() - this.lastExecuteAt;
      if (quiet < SNAPSHOT_IDLE_MS || this.queue.length > 0) {
        this.armSnapshotTimer(SNAPSHOT_IDLE_MS - Math.min(quiet, SNAPSHOT_IDLE_MS - 1));
        return;
      }
      for (const [sid, host] of this.hosts) if (host.sinceSnapshot >= this.snapshotEvery) this.snapshot(sid, host);
    }, delay);
  }

  /**
   * Saves a workspace's snapshot (handed to the store now, written in order after the batches
   * before it). Not while the workspace is being rebuilt: its memory is what a failed batch left. A
   * failed save is reported on stderr; the command log still holds everything, so nothing is lost.
   */
  private snapshot(workspaceSid: string, host: Host): void {
    if (host.sinceSnapshot === 0 || this.held.has(workspaceSid)) return;
    const saved = host.sinceSnapshot;
    host.sinceSnapshot = 0;
    this.store.saveSnapshot(workspaceSid, host.seq, host.engine.snapshot(), host.sids.save()).catch((error: unknown) => {
      host.sinceSnapshot += saved;
      process.stderr.write(`switchboard runtime: the snapshot of ${workspaceSid} was not saved (${(error as Error).message}); its command log keeps everything\n`);
    });
  }

  /** The earliest deadline of any core of any workspace, epoch ms (Infinity: none). */
  private nextDeadline(): number {
    let next = Infinity;
    for (const h of this.hosts.values()) next = Math.min(next, h.engine.nextDeadline() ?? Infinity);
    for (const core of this.cores) for (const sid of core.workspaces()) next = Math.min(next, core.nextDeadline(sid) ?? Infinity);
    return next;
  }

  /** ONE timer for the earliest deadline of every core; when it fires, the due workspaces get a tick. */
  private armTimer(): void {
    if (this.closed) return;
    const next = this.nextDeadline();
    if (next === this.timerDue && this.timer !== null) return;
    this.timer?.cancel();
    this.timer = null;
    this.timerDue = next;
    if (next === Infinity) return;
    this.timer = this.scheduler.setTimer(() => {
      this.timer = null;
      this.timerDue = Infinity;
      const now = this.scheduler.now();
      const keys = new Set(this.hosts.keys());
      for (const core of this.cores) for (const sid of core.workspaces()) if (isCoreShard(sid)) keys.add(sid);
      for (const sid of keys) {
        let due = this.hosts.get(sid)?.engine.nextDeadline() ?? Infinity;
        for (const core of this.cores) due = Math.min(due, core.nextDeadline(sid) ?? Infinity);
        if (due <= now) void this.enqueue(sid, (ctx) => this.tick(sid, ctx)).catch(() => undefined);
      }
      this.armTimer();
    }, next - this.scheduler.now());
  }

  private checkWritable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new Error('the runtime is closed');
  }

  private async loadCredentials(): Promise<void> {
    this.accounts = new Map((await this.store.accounts()).map((a) => [a.sid, { hash: a.authTokenHash, sealed: a.authTokenSealed }]));
  }
}

/**
 * Whether a batch key names a core's own shard rather than a workspace: the conversations core keeps
 * each account's conversations under the account's SID (`AC…`), beside the workspaces' engines.
 */
export function isCoreShard(key: string): boolean {
  return key.startsWith('AC');
}

/**
 * The SID source the runtime lends the cores beside the engine: `prefix` + 32 hex digits that sort
 * in the order they were made — 12 digits of the scheduler's epoch ms, 4 of a counter within that
 * millisecond, 16 random — so records made in one batch (one instant) keep their order where a
 * core breaks ties by SID (the callback center's virtual queue, spec callbacks-and-ewt §3.3).
 */
export function timeOrderedSids(scheduler: Scheduler): (prefix: string) => string {
  let lastMs = -1;
  let counter = 0;
  // The random part comes from a pool refilled 4 KiB at a time: one call into the OS's random
  // source per 512 SIDs instead of one per SID (every stored event has a SID of its own).
  let pool = Buffer.alloc(0);
  let at = 0;
  const random16 = (): string => {
    if (at + 8 > pool.length) {
      pool = randomBytes(4096);
      at = 0;
    }
    at += 8;
    return pool.toString('hex', at - 8, at);
  };
  return (prefix) => {
    const ms = Math.max(scheduler.now(), lastMs);
    counter = ms === lastMs ? counter + 1 : 0;
    lastMs = ms;
    if (counter > 0xffff) {
      lastMs = ms + 1;
      counter = 0;
    }
    return prefix + lastMs.toString(16).padStart(12, '0') + counter.toString(16).padStart(4, '0') + random16();
  };
}

/**
 * A database URL as `databaseUrl` takes it: `postgres://` or `postgresql://`, parseable, with a
 * host. Returns it; throws a RangeError naming the option (`name`, default `databaseUrl`)
 * otherwise. The password, if any, is masked in the message.
 */
export function checkDatabaseUrl(url: string, name = 'databaseUrl'): string {
  const shown = (): string => {
    try {
      const u = new URL(url);
      if (u.password !== '') u.password = '***';
      return JSON.stringify(u.toString());
    } catch {
      return JSON.stringify(url.replace(/:[^:@/]*@/, ':***@'));
    }
  };
  if (typeof url !== 'string' || !/^postgres(ql)?:\/\//i.test(url)) {
    throw new RangeError(`${name}: expected a postgres:// or postgresql:// URL (postgres://user[:password]@host[:port]/database), got ${shown()}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`${name}: ${shown()} is not a valid URL`);
  }
  if (parsed.hostname === '' && !parsed.searchParams.has('host')) throw new RangeError(`${name}: ${shown()} names no host`);
  return url;
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
