/**
 * The transport of the unmodified `twilio-taskrouter` worker SDK (spec voice-worker-sdk-console.md
 * B1–B4), at `/v1/wschannels` — what `new Worker(token, {ebServer: 'http://host/v1/wschannels',
 * wsServer: 'ws://host/v1/wschannels'})` uses:
 *
 * - `GET` with `Upgrade: websocket` and `?token=…&closeExistingSessions=…[&setWorkerOfflineIfDisconnected=…]`:
 *   the worker's event socket (worker-sockets.ts). The token is verified before the upgrade: a bad
 *   or expired one is a 401, a token without a worker or for a worker that does not exist a 403/404;
 *   a good token without the upgrade is a 426 saying this URL is a WebSocket.
 * - `POST` with the "EventBridge" envelope `{url, method, params, token}`, parsed as JSON whatever
 *   the Content-Type (axios in Node sends `application/x-www-form-urlencoded`, browsers
 *   `text/plain`). `url` is relative to `/v1/` (`Workspaces/WS…/Workers/WK…`). Reads are served
 *   here in the SDK's shapes (eventbridge.ts); writes are handed to the public REST route of the
 *   same resource (its validation, commands and errors, the token's grant checked by auth.ts) and
 *   its result is answered in the SDK's shape. The answer is `{"payload": …}`; an error is the
 *   status with Twilio's error body (the SDK reads `message`).
 */
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WorkspaceEngine } from '../../engine/index.ts';
import type { Scheduler } from '../../util/scheduler.ts';
import type { AccessToken } from '../access-token.ts';
import { authorizeGrant, tokenPrincipal } from '../auth.ts';
import type { Api } from '../context.ts';
import { EB_MAX_PAGE, ebActivity, ebChannel, ebPage, ebReservation, ebTask, ebTaskQueue, ebTransfer, ebWorker, type EbCtx } from '../eventbridge.ts';
import { fromRejection } from '../twilio-errors.ts';
import type { UntimedCommand } from '../../runtime/runtime.ts';
import { normalizeSid } from '../params.ts';
import { ApiError } from '../twilio-errors.ts';
import { WorkerSockets, type WorkerSocketOptions } from '../worker-sockets.ts';
import type { ParticipantChange } from '../../callflows/bridges.ts';

export const WORKER_SDK_PATH = '/v1/wschannels';

/** Options of the worker SDK's transport: the socket hub's (heartbeat, offline grace; ms) and its scheduler (default the runtime's). */
export interface WorkerSdkOptions extends WorkerSocketOptions {
  scheduler?: Scheduler;
}

/** Largest envelope body (bytes): a task's attributes may hold 32 KiB, a worker's 4 KiB, each escaped inside JSON. */
const ENVELOPE_LIMIT = 1024 * 1024;

const hubs = new WeakMap<FastifyInstance, WorkerSockets>();

/** The socket hub of an app built by buildApp (for tests, metrics and the CLI). */
export function workerSocketsOf(app: FastifyInstance): WorkerSockets | undefined {
  return hubs.get(app);
}

/**
 * The SDK's v2 conference-participant endpoints (B4): `Workers/{WK}/CustomerParticipant`
 * (`task.updateParticipant`), `HoldWorkerParticipant` (`task.hold`), `KickWorkerParticipant`
 * (`task.kick`), `WorkerParticipant` (`reservation.updateParticipant`) — served by the voice port
 * ({@link participantWrite}).
 */
const PARTICIPANTS = /^Workers\/([^/]+)\/(WorkerParticipant|CustomerParticipant|HoldWorkerParticipant|KickWorkerParticipant)\/?$/;

/**
 * `Workers/{WK}/Transfers[/{TT}]` (v2): `task.transfer(…)` and `outgoingTransfer.cancel()`. With a
 * telephone network attached, a task whose call is bridged directly (`dequeue`, `call`,
 * `redirect`) is refused 400 (field `TaskSid`): only a conference can move the caller.
 */
const TRANSFERS = /^Workers\/([^/]+)\/Transfers(?:\/([^/]+))?\/?$/;

interface Envelope {
  url: string;
  method: 'GET' | 'POST';
  params: Record<string, unknown>;
  token: string;
}

const bad = (message: string, field?: string): ApiError => new ApiError(400, 20001, message, field);

/** The envelope in a raw body; throws a 400 naming what is wrong. */
function parseEnvelope(body: unknown): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : '');
  } catch {
    throw bad('The body must be the worker SDK envelope as JSON: {"url", "method", "params", "token"}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('The body must be a JSON object: {"url", "method", "params", "token"}');
  const v = value as Record<string, unknown>;
  if (typeof v['url'] !== 'string' || v['url'] === '') throw bad('url must be a path relative to /v1/, e.g. Workspaces/WS…/Workers/WK…', 'url');
  if (v['method'] !== 'GET' && v['method'] !== 'POST') throw bad('method must be GET or POST', 'method');
  const params = v['params'] ?? {};
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw bad('params must be a JSON object', 'params');
  if (typeof v['token'] !== 'string' || v['token'] === '') throw new ApiError(401, 20101, 'Invalid Access Token: the envelope carries no token');
  return { url: v['url'].replace(/^\/+/, '').replace(/^v1\//, ''), method: v['method'], params: params as Record<string, unknown>, token: v['token'] };
}

/** A parameter as form text: objects (Attributes) as JSON, booleans and numbers as their text. */
function formValue(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
}

/** The envelope's params as the public route's form body (the SDK's task-channel names → `TaskChannel`). */
function formOf(params: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    const name = k === 'TaskChannelUniqueName' || k === 'TaskChannelSid' ? 'TaskChannel' : k;
    if (Array.isArray(v)) for (const item of v) form.append(name, formValue(item));
    else form.append(name, formValue(v));
  }
  return form.toString();
}

function pageSizeOf(params: Record<string, unknown>): number {
  const raw = params['PageSize'];
  if (raw === undefined) return 50;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > EB_MAX_PAGE) throw bad(`PageSize must be an integer from 1 to ${EB_MAX_PAGE}`, 'PageSize');
  return n;
}

const afterSidOf = (params: Record<string, unknown>): string | undefined => (typeof params['AfterSid'] === 'string' ? normalizeSid(params['AfterSid']) : undefined);

const notFoundEb = (url: string): ApiError => new ApiError(404, 20404, `The requested resource ${url} was not found`);

/** A read of the envelope (B4's GET rows), in the SDK's shapes; throws 404 for an unknown resource or path. */
function read(c: EbCtx, url: string, segments: readonly string[], params: Record<string, unknown>): unknown {
  const { engine } = c;
  const [collection, sid, sub, subSid] = segments;
  const size = (): number => pageSizeOf(params);
  if (collection === 'Activities' && sid === undefined) return ebPage([...engine.activities.values()], (a) => a.sid, (a) => ebActivity(c, a), size(), afterSidOf(params));
  if (collection === 'TaskQueues') {
    if (sid === undefined) {
      const name = typeof params['FriendlyName'] === 'string' ? params['FriendlyName'] : undefined;
      const queues = [...engine.queues.values()].map((q) => q.record).filter((q) => name === undefined || q.friendlyName === name);
      return ebPage(queues, (q) => q.sid, (q) => ebTaskQueue(c, q), size(), afterSidOf(params));
    }
    const q = engine.queues.get(normalizeSid(sid))?.record;
    if (q === undefined || sub !== undefined) throw notFoundEb(url);
    return ebTaskQueue(c, q);
  }
  if (collection === 'Tasks' && sid !== undefined && sub === undefined) {
    const t = engine.tasks.get(normalizeSid(sid));
    if (t === undefined) throw notFoundEb(url);
    return ebTask(c, t);
  }
  if (collection !== 'Workers') throw notFoundEb(url);
  if (sid === undefined) {
    const name = typeof params['FriendlyName'] === 'string' ? params['FriendlyName'] : undefined;
    const activitySid = typeof params['ActivitySid'] === 'string' ? params['ActivitySid'] : undefined;
    const activityName = typeof params['ActivityName'] === 'string' ? params['ActivityName'] : undefined;
    const workers = [...engine.workers.values()].filter(
      (w) => (name === undefined || w.friendlyName === name) && (activitySid === undefined || w.activitySid === activitySid) && (activityName === undefined || w.activityName === activityName),
    );
    return ebPage(workers, (w) => w.sid, (w) => ebWorker(c, w), size(), afterSidOf(params));
  }
  const w = engine.workers.get(normalizeSid(sid));
  if (w === undefined) throw notFoundEb(url);
  if (sub === undefined) return ebWorker(c, w);
  if (sub === 'WorkerChannels' || sub === 'Channels') {
    if (subSid !== undefined) {
      const ch = w.channels.find((x) => x.sid === normalizeSid(subSid));
      if (ch === undefined) throw notFoundEb(url);
      return ebChannel(c, w, ch);
    }
    return ebPage(w.channels, (ch) => ch.sid, (ch) => ebChannel(c, w, ch), size(), afterSidOf(params));
  }
  if (sub === 'Reservations') {
    if (subSid !== undefined) {
      const r = engine.reservations.get(normalizeSid(subSid));
      const json = r === undefined || r.workerSid !== w.sid ? undefined : ebReservation(c, r);
      if (json === undefined) throw notFoundEb(url);
      return json;
    }
    const active = String(params['Active'] ?? '').toLowerCase() === 'true';
    const open = new Set(['pending', 'accepted', 'wrapping']);
    const items = [...engine.reservations.values()].filter((r) => r.workerSid === w.sid && (!active || open.has(r.reservationStatus)) && engine.tasks.has(r.taskSid));
    return ebPage(items, (r) => r.sid, (r) => ebReservation(c, r), size(), afterSidOf(params));
  }
  throw notFoundEb(url);
}

/** The SDK-shaped answer to a write the public route accepted (`json`: that route's body). */
function written(c: EbCtx, url: string, segments: readonly string[], json: Record<string, unknown>): unknown {
  const { engine } = c;
  const [collection, sid, sub, subSid] = segments;
  if (collection === 'Workers' && sid !== undefined && sub === undefined) {
    const w = engine.workers.get(normalizeSid(sid));
    if (w !== undefined) return ebWorker(c, w);
  }
  if ((collection === 'Workers' || collection === 'Tasks') && sub === 'Reservations' && subSid !== undefined) {
    const r = engine.reservations.get(normalizeSid(subSid));
    const out = r === undefined ? undefined : ebReservation(c, r);
    if (out !== undefined) {
      // The SDK reads a write's reply without its task (it keeps the one it has) and then fails
      // on transfer objects it would hang on that task: they come with the events only.
      delete out['task_transfer'];
      delete out['active_outgoing_task_transfer'];
      return out;
    }
  }
  if (collection === 'Tasks' && sub === undefined) {
    const t = engine.tasks.get(normalizeSid(String(sid ?? json['sid'] ?? '')));
    if (t !== undefined) return ebTask(c, t);
  }
  if (collection === 'Workers' && (sub === 'Channels' || sub === 'WorkerChannels') && sid !== undefined && subSid !== undefined) {
    const w = engine.workers.get(normalizeSid(sid));
    const ch = w?.channels.find((x) => x.sid === normalizeSid(subSid));
    if (w !== undefined && ch !== undefined) return ebChannel(c, w, ch);
  }
  throw notFoundEb(url);
}

const str = (params: Record<string, unknown>, name: string, required: boolean): string | undefined => {
  const v = params[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw bad(`${name} is required`, name);
    return undefined;
  }
  if (typeof v !== 'string') throw bad(`${name} must be a string`, name);
  return v;
};

/**
 * The engine command of a Transfers write (B4 `task.transfer`: `ReservationSid, TaskSid, To,
 * Mode, Attributes` (an object or JSON text), `Priority`; `outgoingTransfer.cancel`: `TaskSid,
 * TransferStatus=canceled`); throws a 400 naming a malformed parameter.
 */
function transferCommand(workerSid: string, transferSid: string | undefined, params: Record<string, unknown>): UntimedCommand {
  if (transferSid !== undefined) {
    const taskSid = str(params, 'TaskSid', false);
    return { type: 'updateTransfer', transferSid: normalizeSid(transferSid), workerSid, transferStatus: str(params, 'TransferStatus', true) as string, ...(taskSid === undefined ? {} : { taskSid: normalizeSid(taskSid) }) };
  }
  const mode = str(params, 'Mode', false)?.toUpperCase();
  if (mode !== undefined && mode !== 'WARM' && mode !== 'COLD') throw bad('Mode must be WARM or COLD', 'Mode');
  const rawAttributes = params['Attributes'];
  let attributes: string | undefined;
  if (rawAttributes !== undefined && rawAttributes !== null) {
    if (typeof rawAttributes === 'string') attributes = rawAttributes;
    else if (typeof rawAttributes === 'object' && !Array.isArray(rawAttributes)) attributes = JSON.stringify(rawAttributes);
    else throw bad('Attributes must be a JSON object', 'Attributes');
  }
  const rawPriority = params['Priority'];
  const priority = rawPriority === undefined || rawPriority === null ? undefined : Number(rawPriority);
  if (priority !== undefined && !Number.isInteger(priority)) throw bad('Priority must be an integer', 'Priority');
  return {
    type: 'transferTask',
    workerSid,
    reservationSid: normalizeSid(str(params, 'ReservationSid', true) as string),
    taskSid: normalizeSid(str(params, 'TaskSid', true) as string),
    to: normalizeSid(str(params, 'To', true) as string),
    ...(mode === undefined ? {} : { mode }),
    ...(attributes === undefined ? {} : { attributes }),
    ...(priority === undefined ? {} : { priority }),
  };
}

/** A boolean parameter (JSON `true`/`false`, or their text), or undefined; throws a 400 naming it. */
function bool(params: Record<string, unknown>, name: string, required = false): boolean | undefined {
  const v = params[name];
  if (v === undefined || v === null || v === '') {
    if (required) throw bad(`${name} is required (true or false)`, name);
    return undefined;
  }
  if (v === true || v === 'true' || v === 'True') return true;
  if (v === false || v === 'false' || v === 'False') return false;
  throw bad(`${name} must be true or false`, name);
}

/** `HoldUrl` and `HoldMethod` (GET or POST) of a hold, when given; throws a 400 naming a malformed one. */
function holdMusic(params: Record<string, unknown>): { holdUrl?: string; holdMethod?: 'GET' | 'POST' } {
  const url = str(params, 'HoldUrl', false);
  if (url !== undefined && !/^https?:\/\/\S+$/i.test(url)) throw bad('HoldUrl must be an http(s) URL', 'HoldUrl');
  const method = str(params, 'HoldMethod', false)?.toUpperCase();
  if (method !== undefined && method !== 'GET' && method !== 'POST') throw bad('HoldMethod must be GET or POST', 'HoldMethod');
  return { ...(url === undefined ? {} : { holdUrl: url }), ...(method === undefined ? {} : { holdMethod: method as 'GET' | 'POST' }) };
}

/**
 * A participant write (B4's four v2 participant rows) handed to the voice port through
 * `runtime.voice.participant` — on the conference of the task (voice spec A4 P3):
 * - `CustomerParticipant` (`TaskSid`, `Hold`, `HoldUrl`, `HoldMethod`): the caller on or off hold;
 * - `HoldWorkerParticipant` (`TaskSid`, `TargetWorkerSid`, `Hold`, `HoldUrl`, `HoldMethod`): that
 *   worker's leg on or off hold;
 * - `KickWorkerParticipant` (`TaskSid`, `TargetWorkerSid`): that worker's leg removed (it ends);
 * - `WorkerParticipant` (`ReservationSid`, `Mute`, `EndConferenceOnExit`, `BeepOnExit`): the
 *   reservation's own worker leg.
 * Answers the task (the SDK updates its Task from it), or the reservation for `WorkerParticipant`.
 * Throws a 400 naming the parameter: malformed or missing, a task the worker holds no reservation
 * for (a worker token), and what the voice core refuses (no conference: a call bridged by
 * `dequeue` or `call` — use `reservation.conference()`); 404 for an unknown task or reservation.
 */
async function participantWrite(api: Api, c: EbCtx, token: AccessToken, workerSid: string, route: string, params: Record<string, unknown>): Promise<unknown> {
  const { engine } = c;
  const workspaceSid = engine.workspace.sid;
  if (!engine.workers.has(workerSid)) throw new ApiError(404, 20404, `The requested resource Workers/${workerSid} was not found`);
  let taskSid: string;
  let reservation: ReturnType<typeof engine.reservations.get>;
  if (route === 'WorkerParticipant') {
    const sid = normalizeSid(str(params, 'ReservationSid', true) as string);
    reservation = engine.reservations.get(sid);
    if (reservation === undefined || reservation.workerSid !== workerSid) throw new ApiError(404, 20404, `The requested resource Workers/${workerSid}/Reservations/${sid} was not found`, 'ReservationSid');
    taskSid = reservation.taskSid;
  } else {
    taskSid = normalizeSid(str(params, 'TaskSid', true) as string);
  }
  const task = engine.tasks.get(taskSid);
  if (task === undefined) throw new ApiError(404, 20404, `The requested resource Tasks/${taskSid} was not found`, 'TaskSid');
  if (token.role === 'worker' && !task.reservationSids.some((r) => engine.reservations.get(r)?.workerSid === workerSid)) {
    throw new ApiError(403, 20403, `A worker token acts only on its own worker ${workerSid}, its reservations and their tasks: task ${taskSid} is not one of them`);
  }
  const target = (): { role: 'worker'; workerSid: string } => {
    const sid = normalizeSid(str(params, 'TargetWorkerSid', true) as string);
    if (!engine.workers.has(sid)) throw bad(`TargetWorkerSid ${sid} is not a worker of this workspace`, 'TargetWorkerSid');
    return { role: 'worker', workerSid: sid };
  };
  let who: { role: 'customer' } | { role: 'worker'; workerSid: string };
  let change: ParticipantChange;
  switch (route) {
    case 'CustomerParticipant': {
      const hold = bool(params, 'Hold');
      who = { role: 'customer' };
      change = { action: 'update', ...(hold === undefined ? {} : { hold }), ...holdMusic(params) };
      break;
    }
    case 'HoldWorkerParticipant':
      who = target();
      change = { action: 'update', hold: bool(params, 'Hold', true) as boolean, ...holdMusic(params) };
      break;
    case 'KickWorkerParticipant':
      who = target();
      change = { action: 'remove' };
      break;
    default: {
      const muted = bool(params, 'Mute');
      const endConferenceOnExit = bool(params, 'EndConferenceOnExit');
      const beepOnExit = bool(params, 'BeepOnExit');
      who = { role: 'worker', workerSid };
      change = {
        action: 'update',
        ...(muted === undefined ? {} : { muted }),
        ...(endConferenceOnExit === undefined ? {} : { endConferenceOnExit }),
        ...(beepOnExit === undefined ? {} : { beepOnExit }),
      };
    }
  }
  await api.runtime.voice.participant(workspaceSid, taskSid, who, change);
  if (reservation !== undefined) {
    const out = ebReservation(c, reservation);
    if (out !== undefined) return out;
  }
  return ebTask(c, engine.tasks.get(taskSid) ?? task);
}

/**
 * Registers the socket and the envelope on `app` (see the module comment). The hub is stopped
 * (its sockets closed, no worker set offline) when the app closes.
 */
export function workerSdkRoutes(app: FastifyInstance, api: Api, options: WorkerSdkOptions): void {
  const hub = new WorkerSockets(api.runtime, options.scheduler ?? api.runtime.scheduler, options);
  hubs.set(app, hub);
  const upgrades = new WeakMap<FastifyRequest, AccessToken>();
  app.addHook('preClose', async () => hub.close());
  void app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  void app.register(async (sdk) => {
    // The envelope is JSON whatever its Content-Type (B4); the app's form parser does not apply here.
    sdk.removeAllContentTypeParsers();
    sdk.addContentTypeParser('*', { parseAs: 'string', bodyLimit: ENVELOPE_LIMIT }, (_req, body, done) => done(null, body));

    sdk.route({
      method: 'GET',
      url: WORKER_SDK_PATH,
      preValidation: async (req) => {
        const q = req.query as Record<string, string | undefined>;
        if (q['token'] === undefined || q['token'] === '') throw new ApiError(401, 20101, 'Invalid Access Token: the token query parameter is missing');
        const token = tokenPrincipal(api.runtime, q['token'], api.clock()).token as AccessToken;
        if (token.workerSid === null) throw new ApiError(403, 20403, 'A worker channel needs an access token whose task_router grant names a worker_sid');
        const engine = api.runtime.workspace(token.accountSid, token.workspaceSid);
        if (engine === undefined) throw new ApiError(404, 20404, `The requested resource Workspaces/${token.workspaceSid} was not found`);
        if (!engine.workers.has(token.workerSid)) throw new ApiError(404, 20404, `The requested resource Workspaces/${token.workspaceSid}/Workers/${token.workerSid} was not found`);
        upgrades.set(req, token);
      },
      // A plain GET (no Upgrade) with a good token: this URL is only a WebSocket.
      handler: async (_req, reply) => {
        void reply.header('upgrade', 'websocket');
        throw new ApiError(426, 20426, `${WORKER_SDK_PATH} is the worker SDK's WebSocket: open it with Upgrade: websocket (or POST the SDK's request envelope to it)`);
      },
      wsHandler: (socket, req) => {
        const token = upgrades.get(req);
        if (token === undefined || token.workerSid === null) {
          socket.close(1008, 'Not authorized');
          return;
        }
        const q = req.query as Record<string, string | undefined>;
        hub.attach(socket, token, token.workerSid, {
          closeExisting: String(q['closeExistingSessions']).toLowerCase() === 'true',
          offlineIfDisconnected: String(q['setWorkerOfflineIfDisconnected']).toLowerCase() !== 'false',
        });
      },
    });

    sdk.post(WORKER_SDK_PATH, async (req, reply) => {
      const env = parseEnvelope(req.body);
      const token = tokenPrincipal(api.runtime, env.token, api.clock()).token as AccessToken;
      const m = /^Workspaces\/([^/]+)(?:\/(.*))?$/.exec(env.url.replace(/\/+$/, ''));
      if (m === null) throw notFoundEb(env.url);
      const workspaceSid = normalizeSid(m[1] as string);
      const rest = m[2] ?? '';
      const segments = rest === '' ? [] : rest.split('/');
      const publicPath = `/v1/Workspaces/${workspaceSid}${rest === '' ? '' : `/${rest.replace(/\/WorkerChannels(\/|$)/, '/Channels$1')}`}`;
      const engine: WorkspaceEngine | undefined = api.runtime.workspace(token.accountSid, workspaceSid);
      authorizeGrant(token, engine, env.method, publicPath, env.params);
      if (engine === undefined) throw notFoundEb(env.url);
      const ctx = (): EbCtx => ({ engine, accountSid: token.accountSid, now: Math.max(api.clock(), engine.now) });
      if (env.method === 'GET') return { payload: read(ctx(), env.url, segments, env.params) };
      const participant = PARTICIPANTS.exec(rest);
      if (participant !== null) {
        return { payload: await participantWrite(api, ctx(), token, normalizeSid(participant[1] as string), participant[2] as string, env.params) };
      }
      const transfer = TRANSFERS.exec(rest);
      if (transfer !== null) {
        const workerSid = normalizeSid(transfer[1] as string);
        const command = transferCommand(workerSid, transfer[2], env.params);
        const origin = { actor: { sid: token.keySid, type: 'api_key' as const } };
        // With a telephone network, a transfer moves the call through the conference: a call that
        // cannot be moved (bridged directly, an outbound call not answered yet) is refused — checked
        // in the same runtime turn as the transfer itself (docs/voice.md "Transfers").
        const outcome = command.type === 'transferTask' ? await api.runtime.voice.transfer(workspaceSid, command, origin) : await api.runtime.execute(workspaceSid, command, origin);
        if (outcome.rejection !== null) throw fromRejection(outcome.rejection, new Set(Object.keys(env.params)));
        const t = engine.transfers.get(outcome.sid ?? '');
        if (t === undefined) throw notFoundEb(env.url);
        return { payload: ebTransfer(ctx(), t) };
      }
      const headers: Record<string, string> = { authorization: `Bearer ${env.token}`, 'content-type': 'application/x-www-form-urlencoded' };
      const ifMatch = req.headers['if-match'];
      if (typeof ifMatch === 'string') headers['if-match'] = ifMatch;
      const res = await app.inject({ method: 'POST', url: publicPath, headers, payload: formOf(env.params), remoteAddress: req.ip });
      const json = res.body === '' ? {} : (JSON.parse(res.body) as Record<string, unknown>);
      if (res.statusCode >= 400) return reply.code(res.statusCode).send(json);
      return { payload: written(ctx(), env.url, segments, json) };
    });
  });
}
