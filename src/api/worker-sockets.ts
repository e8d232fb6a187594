/**
 * The worker SDK's WebSocket side (spec voice-worker-sdk-console.md B3): the sockets of every
 * connected worker, fed from the runtime's committed events (`runtime.onEvents`: a frame leaves
 * only once its batch is durable), each worker getting only its own events (eventbridge.ts
 * `framesFor`).
 *
 * Per socket: the `init` frame first (`channel_id` = the worker, `token_lifetime` in ms); a
 * whitespace heartbeat frame every `heartbeatMs` (15 s: the SDK closes a socket silent for 30 s);
 * closed with {@link CLOSE_TOKEN_EXPIRED} when its token expires. `closeExistingSessions=true` on a
 * new socket closes the worker's other ones ({@link CLOSE_REPLACED}). When a worker's last socket
 * drops and the socket did not say `setWorkerOfflineIfDisconnected=false`, the worker is moved to
 * the workspace's offline activity after `offlineGraceMs` unless a socket comes back first
 * (DECISION in B3: the workspace's `timeout_activity`). All timers come from the injected
 * {@link Scheduler}, so tests skip time instead of waiting.
 */
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import type { Runtime } from '../runtime/runtime.ts';
import type { Scheduler, Timer } from '../util/scheduler.ts';
import type { AccessToken } from './access-token.ts';
import { framesFor } from './eventbridge.ts';

/** Close code: another session of the worker asked `closeExistingSessions=true`. */
export const CLOSE_REPLACED = 4000;
/** Close code: the socket's access token expired. */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Close code: the server is shutting down. */
export const CLOSE_GOING_AWAY = 1001;

/** Options of the hub; times in milliseconds. */
export interface WorkerSocketOptions {
  /** Between heartbeat frames (default 15,000: "A heart beat is sent every 15 secs by EBS"). */
  heartbeatMs?: number;
  /** After a worker's last socket drops, before it is set offline (default 60,000; 0: at once). */
  offlineGraceMs?: number;
}

export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_OFFLINE_GRACE_MS = 60_000;

interface Connection {
  socket: WebSocket;
  token: AccessToken;
  workerSid: string;
  /** Whether dropping this socket (as the worker's last) sets the worker offline. */
  offlineIfDisconnected: boolean;
  expiry: Timer | null;
}

/**
 * Events (for tests and metrics): `open` (workerSid) once a socket is attached, `close`
 * (workerSid) once one is gone, `offline` (workerSid, activitySid) once the grace has set a worker
 * offline.
 */
export class WorkerSockets extends EventEmitter {
  private readonly byWorker = new Map<string, Set<Connection>>();
  /** Connected workers per workspace (events of other workspaces are skipped at once). */
  private readonly perWorkspace = new Map<string, { accountSid: string; workers: number }>();
  private readonly graces = new Map<string, Timer>();
  private heartbeat: Timer | null = null;
  private readonly heartbeatMs: number;
  private readonly offlineGraceMs: number;
  private readonly unsubscribe: () => void;
  private readonly runtime: Runtime;
  private readonly scheduler: Scheduler;

  /** Subscribes to the runtime's committed events; throws a RangeError naming a bad option. */
  constructor(runtime: Runtime, scheduler: Scheduler, options: WorkerSocketOptions = {}) {
    super();
    this.runtime = runtime;
    this.scheduler = scheduler;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.offlineGraceMs = options.offlineGraceMs ?? DEFAULT_OFFLINE_GRACE_MS;
    if (!(this.heartbeatMs > 0)) throw new RangeError('heartbeatMs: must be a positive number of milliseconds');
    if (!(this.offlineGraceMs >= 0)) throw new RangeError('offlineGraceMs: must be 0 or more milliseconds');
    this.unsubscribe = runtime.onEvents((batch) => this.dispatch(batch.records));
  }

  /** Sockets open now for `workerSid` (0 when none). */
  connections(workerSid: string): number {
    return this.byWorker.get(workerSid)?.size ?? 0;
  }

  /** Workers with at least one socket. */
  get connectedWorkers(): number {
    return this.byWorker.size;
  }

  /**
   * Takes a socket whose token was verified on upgrade (its grant names `workerSid`, which exists):
   * closes the worker's other sockets when `closeExisting`, sends `init`, arms the expiry.
   */
  attach(socket: WebSocket, token: AccessToken, workerSid: string, flags: { closeExisting: boolean; offlineIfDisconnected: boolean }): void {
    const now = this.scheduler.now();
    const conn: Connection = { socket, token, workerSid, offlineIfDisconnected: flags.offlineIfDisconnected, expiry: null };
    if (flags.closeExisting) for (const other of this.byWorker.get(workerSid) ?? []) other.socket.close(CLOSE_REPLACED, 'Closed by a newer session of this worker (closeExistingSessions)');
    let set = this.byWorker.get(workerSid);
    if (set === undefined) {
      this.byWorker.set(workerSid, (set = new Set()));
      const ws = this.perWorkspace.get(token.workspaceSid);
      if (ws === undefined) this.perWorkspace.set(token.workspaceSid, { accountSid: token.accountSid, workers: 1 });
      else ws.workers += 1;
    }
    set.add(conn);
    this.graces.get(workerSid)?.cancel();
    this.graces.delete(workerSid);
    socket.on('close', () => this.detach(conn));
    socket.on('error', () => socket.terminate());
    socket.send(JSON.stringify({ event_type: 'init', payload: { channel_id: workerSid, account_sid: token.accountSid, workspace_sid: token.workspaceSid, token_lifetime: Math.max(0, token.expiresAt - now) } }));
    conn.expiry = this.scheduler.setTimer(() => {
      conn.expiry = null;
      socket.close(CLOSE_TOKEN_EXPIRED, 'Access token expired');
    }, token.expiresAt - now);
    this.armHeartbeat();
    this.emit('open', workerSid);
  }

  /** Closes every socket and stops every timer (the server is stopping); no worker is set offline. */
  close(): void {
    this.unsubscribe();
    this.heartbeat?.cancel();
    this.heartbeat = null;
    for (const t of this.graces.values()) t.cancel();
    this.graces.clear();
    for (const set of this.byWorker.values()) {
      for (const c of set) {
        c.offlineIfDisconnected = false;
        c.socket.close(CLOSE_GOING_AWAY, 'Server shutting down');
      }
    }
  }

  private detach(conn: Connection): void {
    conn.expiry?.cancel();
    const set = this.byWorker.get(conn.workerSid);
    if (set === undefined || !set.delete(conn)) return;
    if (set.size === 0) {
      this.byWorker.delete(conn.workerSid);
      const ws = this.perWorkspace.get(conn.token.workspaceSid);
      if (ws !== undefined && --ws.workers <= 0) this.perWorkspace.delete(conn.token.workspaceSid);
      if (conn.offlineIfDisconnected) this.armGrace(conn);
    }
    this.emit('close', conn.workerSid);
  }

  /** After the grace, sets the worker offline unless a socket came back. */
  private armGrace(conn: Connection): void {
    const { workerSid, token } = conn;
    this.graces.get(workerSid)?.cancel();
    this.graces.set(
      workerSid,
      this.scheduler.setTimer(() => {
        this.graces.delete(workerSid);
        if (this.byWorker.has(workerSid)) return;
        void this.setOffline(token, workerSid);
      }, this.offlineGraceMs),
    );
  }

  private async setOffline(token: AccessToken, workerSid: string): Promise<void> {
    const engine = this.runtime.workspace(token.accountSid, token.workspaceSid);
    const worker = engine?.workers.get(workerSid);
    if (engine === undefined || worker === undefined) return;
    const activitySid = offlineActivity(engine.workspace.timeoutActivitySid, engine.activities);
    if (activitySid === undefined || worker.activitySid === activitySid) return;
    try {
      const outcome = await this.runtime.execute(token.workspaceSid, { type: 'updateWorker', workerSid, activitySid }, { actor: { sid: token.keySid, type: 'api_key' } });
      if (outcome.rejection === null) this.emit('offline', workerSid, activitySid);
    } catch {
      // The store refused the write: the worker keeps its activity (nothing to retry against).
    }
  }

  private armHeartbeat(): void {
    if (this.heartbeat !== null) return;
    this.heartbeat = this.scheduler.setTimer(() => {
      this.heartbeat = null;
      if (this.byWorker.size === 0) return;
      for (const set of this.byWorker.values()) for (const c of set) if (c.socket.readyState === c.socket.OPEN) c.socket.send(' ');
      this.armHeartbeat();
    }, this.heartbeatMs);
  }

  /** Sends each committed event's frames to the sockets of the workers it concerns. */
  private dispatch(records: Parameters<Parameters<Runtime['onEvents']>[0]>[0]['records']): void {
    if (this.byWorker.size === 0) return;
    for (const record of records) {
      const ws = this.perWorkspace.get(record.workspaceSid);
      const engine = ws === undefined ? undefined : this.runtime.workspace(ws.accountSid, record.workspaceSid);
      if (ws === undefined || engine === undefined) continue;
      const ctx = { engine, accountSid: ws.accountSid, now: this.scheduler.now() };
      for (const e of record.events) {
        for (const f of framesFor(ctx, e)) {
          for (const c of this.byWorker.get(f.workerSid) ?? []) if (c.socket.readyState === c.socket.OPEN) c.socket.send(f.text);
        }
      }
    }
  }
}

/** The workspace's offline activity: its `timeout_activity` when unavailable, else the first unavailable activity named Offline, else the first unavailable one. */
function offlineActivity(timeoutActivitySid: string, activities: ReadonlyMap<string, { sid: string; friendlyName: string; available: boolean }>): string | undefined {
  const timeout = activities.get(timeoutActivitySid);
  if (timeout !== undefined && !timeout.available) return timeout.sid;
  const unavailable = [...activities.values()].filter((a) => !a.available);
  return (unavailable.find((a) => a.friendlyName.toLowerCase() === 'offline') ?? unavailable[0])?.sid;
}
