/**
 * The supervisor WebSocket — an extension (issue 15 item 3; spec voice-worker-sdk-console.md E2,
 * "queue-level live events for supervisors (twilio-taskrouter.js#8 — not possible in the worker
 * SDK)"): `GET /v1/Workspaces/{WS}/Supervisor/Events?token=<jwt>` upgraded to a WebSocket that
 * carries every committed event of the workspace, as the Events API would list it.
 *
 * - The token rides in the query string, as the worker SDK's own socket takes it; it must be a
 *   supervisor or admin access token of that workspace. A missing, malformed or expired token is
 *   refused before the upgrade with 401 (Twilio's 2010x codes), a worker token or another
 *   workspace's with 403, an unknown workspace or queue with 404, a bad filter with 400; a plain
 *   HTTP request with a valid token is a 426 (Upgrade Required).
 * - Filters (query): `TaskQueueSid` (repeatable: only events that belong to one of these queues —
 *   task-queue events of the queue, task and reservation events whose data names it, or whose task
 *   is in it) and `EventTypes` (comma-separated prefixes: `task.,reservation.,worker.`).
 * - Frames are JSON text, server → client only: first `{"type":"init","workspace_sid","account_sid",
 *   "token_lifetime"(ms)}`; then, for every committed event (from `runtime.onEvents`, i.e. after its
 *   transaction is durable, in commit order) `{"type":"event","event_type","sid","resource_sid",
 *   "resource_type","timestamp"(ISO 8601, ms),"task_queue_sid"|null,"worker_sid"|null,"data"}` where
 *   `data` is the `event_data` the Events API serves (serializers.ts `eventJson`); a
 *   `{"type":"heartbeat"}` every `heartbeatMs` (15 s) on the injected scheduler.
 * - Closed with {@link CLOSE_TOKEN_EXPIRED} (4001) when the token expires, {@link CLOSE_SLOW_CONSUMER}
 *   (1013, "try again later") when the socket's unsent bytes would pass `maxBufferedBytes` (1 MiB):
 *   a supervisor that does not read is dropped rather than buffered without bound; it reconnects and
 *   reloads the state over REST. 1001 when the server stops.
 *
 * A frame is serialized once per event and filter-independent, so 20 supervisors cost one
 * `JSON.stringify` per event, not twenty.
 */
import { EventEmitter } from 'node:events';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { EngineEvent, WorkspaceEngine } from '../../engine/index.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import type { Scheduler, Timer } from '../../util/scheduler.ts';
import type { AccessToken } from '../access-token.ts';
import { tokenPrincipal } from '../auth.ts';
import type { Api } from '../context.ts';
import { normalizeSid, Params } from '../params.ts';
import { eventJson } from '../serializers.ts';
import { ApiError, badParameter } from '../twilio-errors.ts';

export const SUPERVISOR_EVENTS_PATH = '/v1/Workspaces/:WorkspaceSid/Supervisor/Events';
const PATH_PATTERN = /^\/v1\/Workspaces\/[^/?#]+\/Supervisor\/Events\/?(?:\?|$)/;

/** Close code: the socket's access token expired (as the worker SDK's socket). */
export const CLOSE_TOKEN_EXPIRED = 4001;
/** Close code: the client read too slowly and its unsent frames passed the limit (RFC 6455 1013, "Try Again Later"). */
export const CLOSE_SLOW_CONSUMER = 1013;
/** Close code: the server is stopping. */
export const CLOSE_GOING_AWAY = 1001;

export const DEFAULT_SUPERVISOR_HEARTBEAT_MS = 15_000;
/** Default limit of a socket's unsent bytes (1 MiB). */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

/** Options of the supervisor socket; times in milliseconds, sizes in bytes. */
export interface SupervisorSocketOptions {
  /** Between heartbeat frames (default 15,000). */
  heartbeatMs?: number;
  /** Unsent bytes a socket may hold before it is closed with 1013 (default 1 MiB). */
  maxBufferedBytes?: number;
  /** The clock and timers (default the runtime's scheduler). */
  scheduler?: Scheduler;
}

/** Whether `url` (path and query) is the supervisor socket: it carries its token in the query, not in Authorization. */
export function isSupervisorSocketPath(url: string): boolean {
  return PATH_PATTERN.test(url);
}

/** What one socket asked to see. */
export interface SupervisorFilter {
  /** Queues (WQ SIDs); null: every event. */
  queues: ReadonlySet<string> | null;
  /** Event-type prefixes (`task.`, `worker.activity`); null: every type. */
  typePrefixes: readonly string[] | null;
}

interface Connection {
  socket: WebSocket;
  token: AccessToken;
  filter: SupervisorFilter;
  expiry: Timer | null;
  /** Set once the socket is being closed: nothing more is sent to it. */
  closing: boolean;
}

/** An event as the socket sends it, with what the filters look at. */
interface Outgoing {
  eventType: string;
  /** Queues the event belongs to. */
  queues: readonly string[];
  text: string;
}

type CommittedBatch = Parameters<Parameters<Runtime['onEvents']>[0]>[0];

/**
 * The open supervisor sockets, fed from the runtime's committed events. Events (for tests and
 * metrics): `open` (workspaceSid) once a socket is attached, `close` (workspaceSid, code) once one
 * is gone, `slow` (workspaceSid, bufferedBytes) when one is closed for reading too slowly.
 */
export class SupervisorSockets extends EventEmitter {
  private readonly byWorkspace = new Map<string, Set<Connection>>();
  private heartbeat: Timer | null = null;
  private readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
  private readonly unsubscribe: () => void;
  private readonly runtime: Runtime;
  private readonly scheduler: Scheduler;

  /** Subscribes to the runtime's committed events; throws a RangeError naming a bad option. */
  constructor(runtime: Runtime, scheduler: Scheduler, options: SupervisorSocketOptions = {}) {
    super();
    this.runtime = runtime;
    this.scheduler = scheduler;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_SUPERVISOR_HEARTBEAT_MS;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (!(this.heartbeatMs > 0)) throw new RangeError('heartbeatMs: must be a positive number of milliseconds');
    if (!(this.maxBufferedBytes > 0)) throw new RangeError('maxBufferedBytes: must be a positive number of bytes');
    this.unsubscribe = runtime.onEvents((batch) => this.dispatch(batch));
  }

  /** Open supervisor sockets (all workspaces). */
  get size(): number {
    let n = 0;
    for (const set of this.byWorkspace.values()) n += set.size;
    return n;
  }

  /** Takes a socket whose token was verified on upgrade: sends `init`, arms the expiry and the heartbeat. */
  attach(socket: WebSocket, token: AccessToken, filter: SupervisorFilter): void {
    const now = this.scheduler.now();
    const conn: Connection = { socket, token, filter, expiry: null, closing: false };
    let set = this.byWorkspace.get(token.workspaceSid);
    if (set === undefined) this.byWorkspace.set(token.workspaceSid, (set = new Set()));
    set.add(conn);
    socket.on('close', (code: number) => this.detach(conn, code));
    socket.on('error', () => socket.terminate());
    this.send(conn, JSON.stringify({ type: 'init', workspace_sid: token.workspaceSid, account_sid: token.accountSid, token_lifetime: Math.max(0, token.expiresAt - now) }));
    conn.expiry = this.scheduler.setTimer(() => {
      conn.expiry = null;
      this.end(conn, CLOSE_TOKEN_EXPIRED, 'Access token expired');
    }, token.expiresAt - now);
    this.armHeartbeat();
    this.emit('open', token.workspaceSid);
  }

  /** Closes every socket (1001) and stops the timers (the server is stopping). */
  close(): void {
    this.unsubscribe();
    this.heartbeat?.cancel();
    this.heartbeat = null;
    for (const set of this.byWorkspace.values()) for (const c of set) this.end(c, CLOSE_GOING_AWAY, 'Server shutting down');
  }

  private detach(conn: Connection, code: number): void {
    conn.expiry?.cancel();
    conn.closing = true;
    const set = this.byWorkspace.get(conn.token.workspaceSid);
    if (set === undefined || !set.delete(conn)) return;
    if (set.size === 0) this.byWorkspace.delete(conn.token.workspaceSid);
    this.emit('close', conn.token.workspaceSid, code);
  }

  private end(conn: Connection, code: number, reason: string): void {
    if (conn.closing) return;
    conn.closing = true;
    conn.expiry?.cancel();
    conn.socket.close(code, reason);
  }

  /**
   * Sends `text` unless the socket's unsent bytes would pass the limit, in which case the socket is
   * closed with 1013 (the close frame queues behind what is unsent; `ws` destroys the socket if the
   * client never answers it).
   */
  private send(conn: Connection, text: string): void {
    if (conn.closing || conn.socket.readyState !== conn.socket.OPEN) return;
    const buffered = conn.socket.bufferedAmount;
    if (buffered + text.length > this.maxBufferedBytes) {
      this.emit('slow', conn.token.workspaceSid, buffered);
      this.end(conn, CLOSE_SLOW_CONSUMER, 'Too slow: unsent events passed the limit; reconnect and reload');
      return;
    }
    conn.socket.send(text);
  }

  private armHeartbeat(): void {
    if (this.heartbeat !== null) return;
    this.heartbeat = this.scheduler.setTimer(() => {
      this.heartbeat = null;
      if (this.byWorkspace.size === 0) return;
      const text = JSON.stringify({ type: 'heartbeat' });
      for (const set of this.byWorkspace.values()) for (const c of set) this.send(c, text);
      this.armHeartbeat();
    }, this.heartbeatMs);
  }

  /** Sends each committed event of a workspace with sockets to those whose filter takes it. */
  private dispatch(batch: CommittedBatch): void {
    if (this.byWorkspace.size === 0) return;
    for (const record of batch.records) {
      const set = this.byWorkspace.get(record.workspaceSid);
      if (set === undefined) continue;
      const engine = this.engineOf(set, record.workspaceSid);
      for (const e of record.events) this.deliver(set, outgoing(engine, first(set).token.accountSid, record.workspaceSid, e));
    }
    for (const { workspaceSid, event } of batch.coreEvents) {
      const set = this.byWorkspace.get(workspaceSid);
      const e = event as Partial<EngineEvent>;
      if (set === undefined || typeof e.resourceType !== 'string' || typeof e.data !== 'object' || e.data === null) continue;
      this.deliver(set, outgoing(this.engineOf(set, workspaceSid), first(set).token.accountSid, workspaceSid, e as EngineEvent));
    }
  }

  private engineOf(set: ReadonlySet<Connection>, workspaceSid: string): WorkspaceEngine | undefined {
    return this.runtime.workspace(first(set).token.accountSid, workspaceSid);
  }

  private deliver(set: ReadonlySet<Connection>, out: Outgoing): void {
    for (const c of set) if (takes(c.filter, out)) this.send(c, out.text);
  }
}

const first = (set: ReadonlySet<Connection>): Connection => set.values().next().value as Connection;

/** Whether a socket's filter takes an event. */
function takes(filter: SupervisorFilter, out: Outgoing): boolean {
  if (filter.typePrefixes !== null && !filter.typePrefixes.some((p) => out.eventType.startsWith(p))) return false;
  if (filter.queues !== null && !out.queues.some((q) => filter.queues?.has(q) === true)) return false;
  return true;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * The queues an event belongs to: a task-queue resource's own SID; the queue its data names
 * (`task_queue_sid`, and `task_queue_moved_to_sid` for a move); for a task or reservation event
 * whose data names none, the queue its task is in now.
 */
export function queuesOf(engine: WorkspaceEngine | undefined, e: EngineEvent): string[] {
  const out = new Set<string>();
  if (e.resourceType === 'taskqueue') out.add(e.resourceSid);
  const named = str(e.data['task_queue_sid']);
  if (named !== null) out.add(named);
  const movedTo = str(e.data['task_queue_moved_to_sid']);
  if (movedTo !== null) out.add(movedTo);
  if (named === null && (e.resourceType === 'task' || e.resourceType === 'reservation')) {
    const taskSid = str(e.data['task_sid']) ?? (e.resourceType === 'task' ? e.resourceSid : null);
    const q = taskSid === null ? null : (engine?.tasks.get(taskSid)?.taskQueueSid ?? null);
    if (q !== null) out.add(q);
  }
  return [...out];
}

function outgoing(engine: WorkspaceEngine | undefined, accountSid: string, workspaceSid: string, e: EngineEvent): Outgoing {
  const queues = queuesOf(engine, e);
  // event_data holds no URL, so the origin eventJson takes does not show in it.
  const data = eventJson('', accountSid, workspaceSid, e)['event_data'];
  const text = JSON.stringify({
    type: 'event',
    event_type: e.eventType,
    sid: e.sid,
    resource_sid: e.resourceSid,
    resource_type: e.resourceType,
    timestamp: new Date(e.at).toISOString(),
    task_queue_sid: queues[0] ?? null,
    worker_sid: str(e.data['worker_sid']) ?? (e.resourceType === 'worker' ? e.resourceSid : null),
    data,
  });
  return { eventType: e.eventType, queues, text };
}

/** Parses the socket's filters from its query; throws a 400 naming the parameter, a 404 for an unknown queue. */
export function parseFilter(engine: WorkspaceEngine, query: unknown): SupervisorFilter {
  const q = new Params(query);
  const sids = q.all('TaskQueueSid').flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const queues = new Set<string>();
  for (const raw of sids) {
    if (!/^WQ[0-9a-fA-F]{32}$/.test(raw)) throw badParameter('TaskQueueSid', `TaskQueueSid must be a WQ SID (got '${raw.slice(0, 40)}')`);
    const sid = normalizeSid(raw);
    if (!engine.queues.has(sid)) throw new ApiError(404, 20404, `The requested resource Workspaces/${engine.workspace.sid}/TaskQueues/${sid} was not found`);
    queues.add(sid);
  }
  const types = q.all('EventTypes').flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  for (const t of types) if (!/^[a-z][a-z0-9._-]*$/.test(t)) throw badParameter('EventTypes', `EventTypes must be comma-separated event-type prefixes such as task.,reservation.,worker. (got '${t.slice(0, 40)}')`);
  return { queues: sids.length === 0 ? null : queues, typePrefixes: types.length === 0 ? null : types };
}

const hubs = new WeakMap<FastifyInstance, SupervisorSockets>();

/** The supervisor socket hub of an app built by buildApp (tests, metrics, benchmarks). */
export function supervisorSocketsOf(app: FastifyInstance): SupervisorSockets | undefined {
  return hubs.get(app);
}

/**
 * Registers the socket on `app` (see the module comment); needs the `@fastify/websocket` plugin
 * registered before it (routes/worker-sdk.ts does). The hub's sockets are closed when the app closes.
 */
export function supervisorSocketRoutes(app: FastifyInstance, api: Api, options: SupervisorSocketOptions): void {
  const hub = new SupervisorSockets(api.runtime, options.scheduler ?? api.runtime.scheduler, options);
  hubs.set(app, hub);
  const upgrades = new WeakMap<FastifyRequest, { token: AccessToken; filter: SupervisorFilter }>();
  app.addHook('preClose', async () => hub.close());

  void app.register(async (scope) => {
    scope.get(
      SUPERVISOR_EVENTS_PATH,
      {
        websocket: true,
        preValidation: async (req) => {
          const q = req.query as Record<string, unknown>;
          const raw = q['token'];
          if (typeof raw !== 'string' || raw === '') throw new ApiError(401, 20101, 'Invalid Access Token: the token query parameter is missing');
          const token = tokenPrincipal(api.runtime, raw, api.clock()).token as AccessToken;
          const workspaceSid = normalizeSid(String((req.params as Record<string, string>)['WorkspaceSid'] ?? ''));
          if (token.workspaceSid !== workspaceSid) throw new ApiError(403, 20403, `An access token acts only on its workspace ${token.workspaceSid}, not ${workspaceSid}`);
          if (token.role !== 'supervisor' && token.role !== 'admin') throw new ApiError(403, 20403, `The supervisor socket needs a supervisor or admin token (this one's role is ${token.role})`);
          const engine = api.runtime.workspace(token.accountSid, workspaceSid);
          if (engine === undefined) throw new ApiError(404, 20404, `The requested resource Workspaces/${workspaceSid} was not found`);
          const filter = parseFilter(engine, req.query);
          if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw new ApiError(426, 20001, 'This endpoint is a WebSocket: connect with Upgrade: websocket');
          upgrades.set(req, { token, filter });
        },
      },
      (socket, req) => {
        const accepted = upgrades.get(req);
        if (accepted === undefined) {
          socket.close(1008, 'Not authorized');
          return;
        }
        hub.attach(socket, accepted.token, accepted.filter);
      },
    );
  });
}
