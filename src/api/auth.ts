/**
 * Authentication and, for access tokens, authorization.
 *
 * - HTTP Basic (spec §2): Account SID + auth token, or an API key SID (SK…) + its secret
 *   (runtime/keys-hosting.ts). Anything else is 401/20003.
 * - `Authorization: Bearer <access token>` (an extension: Twilio's REST API takes Basic only):
 *   a Twilio access token with a TaskRouter grant (access-token.ts), also what the worker SDK's
 *   EventBridge envelope carries (routes/worker-sdk.ts). What it may do is {@link authorizeGrant}.
 */
import type { FastifyRequest } from 'fastify';
import type { WorkspaceEngine } from '../engine/index.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { verifyAccessToken, type AccessToken } from './access-token.ts';
import { normalizeSid } from './params.ts';
import { ApiError, unauthorized } from './twilio-errors.ts';

/** Who made a request: the account it acts on, the credential used (the AC or SK SID), and the access token if one was used. */
export interface Principal {
  accountSid: string;
  credentialSid: string;
  /** Set when the request carried an access token: what its grant allows is {@link authorizeGrant}. */
  token?: AccessToken;
}

/**
 * The account the request's credentials belong to and the credential's SID; throws 401 otherwise
 * (20003 for Basic, the access-token codes of access-token.ts for a Bearer token). `nowMs` (epoch
 * ms) is the instant a token's expiry is checked against (default: the wall clock).
 */
export function authenticate(runtime: Runtime, req: FastifyRequest, nowMs: number = Date.now()): Principal {
  const header = req.headers.authorization;
  if (header === undefined) throw unauthorized();
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer !== null) return tokenPrincipal(runtime, bearer[1] as string, nowMs);
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) throw unauthorized();
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw unauthorized();
  const username = decoded.slice(0, colon);
  const account = runtime.authenticate(username, decoded.slice(colon + 1));
  if (account === null) throw unauthorized();
  return { accountSid: account, credentialSid: username };
}

/** The principal of an access token (verified at `nowMs`); throws its 401 {@link ApiError}. */
export function tokenPrincipal(runtime: Runtime, token: string, nowMs: number): Principal {
  const verified = verifyAccessToken(token, (sid) => runtime.keys.signingSecret(sid), nowMs);
  return { accountSid: verified.accountSid, credentialSid: verified.keySid, token: verified };
}

/**
 * For a request authenticated with an access token (`principal.token`): checks its grant against
 * the request's method, path and parsed body ({@link authorizeGrant}); throws the 403. A request
 * with Basic credentials passes.
 */
export function authorizeRequest(runtime: Runtime, req: FastifyRequest, principal: Principal | undefined): void {
  const token = principal?.token;
  if (token === undefined) return;
  const path = req.url.split('?')[0] ?? req.url;
  const body = typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : undefined;
  authorizeGrant(token, runtime.workspace(token.accountSid, token.workspaceSid), req.method, path, body);
}

/**
 * Whether a worker token's read of `collection[/item[/sub]]` is a directory read: the list, or one
 * item by its SID (a `Workers/{WK}` that is a worker SID, not `Workers/Statistics`), nothing below.
 */
function directoryRead(collection: string, item: string | undefined, sub: string | undefined): boolean {
  if (!WORKER_DIRECTORY.has(collection) || sub !== undefined) return false;
  if (item === undefined) return true;
  const prefix = collection === 'Workers' ? 'WK' : collection === 'Workflows' ? 'WW' : 'PN';
  return normalizeSid(item).startsWith(prefix);
}

const forbidden = (message: string): ApiError => new ApiError(403, 20403, message);

/** Workspace resources a worker token may read (the SDK loads its activities; it picks channels and queues). */
const WORKER_READABLE = new Set(['Activities', 'TaskChannels', 'TaskQueues']);

/**
 * [DECISION] The directory reads of a worker token (an agent desktop's transfer directory and dial
 * pad): these collections may be listed and their items fetched, nothing below an item and no
 * writes. `Workers` (colleagues to transfer to, with their activity), `Workflows` (the workflow of
 * `worker.createTask`), `PhoneNumbers` (the caller ID of an outbound call).
 */
const WORKER_DIRECTORY = new Set(['Workers', 'Workflows', 'PhoneNumbers']);

/**
 * Whether an access token's grant allows `method` on `path` (a `/v1/…` path, no query); throws a
 * 403/20403 {@link ApiError} saying why not. The roles (spec B2 names `worker` and `admin`; ours
 * adds `supervisor`):
 * - every role acts only inside the grant's workspace (nothing else under /v1);
 * - `admin`: anything in the workspace;
 * - `supervisor`: reads anything in the workspace; writes workers (not their deletion), tasks and
 *   reservations — not the workspace's configuration (activities, queues, workflows, channels);
 * - `worker`: itself (`Workers/{own}/…`, not its deletion), its reservations, the tasks it holds
 *   or held a reservation for (and their reservations that are its own), a task it creates for
 *   itself (`POST Tasks` with `RoutingTarget` = its SID, as `worker.createTask` sends), and reads of
 *   the workspace, its activities, task channels and queues; and, [DECISION] for the agent
 *   desktop's transfer directory and dial pad, reads of the directory ({@link WORKER_DIRECTORY}):
 *   `GET Workers` and `GET Workers/{WK}` of any colleague (not a colleague's reservations, channels
 *   or statistics, nor the workspace-wide `Workers/Statistics`), `GET Workflows[/{WW}]` and
 *   `GET PhoneNumbers[/{PN}]` (not their sub-resources).
 * `engine` is the grant's workspace (for the ownership of tasks and reservations); `body` the
 * request's parameters when they are known.
 */
export function authorizeGrant(token: AccessToken, engine: WorkspaceEngine | undefined, method: string, path: string, body?: Record<string, unknown>): void {
  const segments = path.split('/').filter((s) => s !== '');
  if (segments[0] !== 'v1' || segments[1] !== 'Workspaces' || segments[2] === undefined || normalizeSid(segments[2]) !== token.workspaceSid) {
    throw forbidden(`An access token acts only on its workspace ${token.workspaceSid}: ${method} ${path} is outside it`);
  }
  if (engine === undefined) return; // the route answers 404
  const rest = segments.slice(3);
  const [collection, sid, sub, subSid] = [rest[0], rest[1] === undefined ? undefined : normalizeSid(rest[1]), rest[2], rest[3] === undefined ? undefined : normalizeSid(rest[3])];
  const read = method === 'GET' || method === 'HEAD';
  // Minting (routes/access-tokens.ts): a supervisor or admin token may mint worker tokens of its
  // workspace (the route checks the role asked for); a worker token may not mint.
  if (collection === 'AccessTokens') {
    if (token.role === 'worker') throw forbidden('A worker token may not mint access tokens');
    return;
  }
  if (token.role === 'admin') return;
  if (token.role === 'supervisor') {
    if (read) return;
    if (collection === 'Tasks' || (collection === 'Workers' && !(method === 'DELETE' && sub === undefined))) return;
    throw forbidden(`A supervisor token may not ${method} ${path}: it changes workers, tasks and reservations, not the workspace's configuration`);
  }
  const own = token.workerSid as string;
  const denied = (): ApiError => forbidden(`A worker token acts only on its own worker ${own}, its reservations and their tasks, and reads the directory (the Workers list and a colleague, Workflows, PhoneNumbers): ${method} ${path} is not allowed`);
  if (collection === undefined) {
    if (read) return;
    throw denied();
  }
  if (WORKER_READABLE.has(collection)) {
    if (read) return;
    throw denied();
  }
  if (collection === 'Workers') {
    if (sid === own && !(method === 'DELETE' && sub === undefined)) {
      if (sub === 'Reservations' && subSid !== undefined) {
        const r = engine.reservations.get(subSid);
        if (r !== undefined && r.workerSid !== own) throw denied();
      }
      return;
    }
    if (read && directoryRead(collection, rest[1], sub)) return;
    throw denied();
  }
  if (WORKER_DIRECTORY.has(collection)) {
    if (read && directoryRead(collection, rest[1], sub)) return;
    throw denied();
  }
  if (collection === 'Tasks') {
    if (sid === undefined) {
      if (method === 'POST' && body !== undefined && typeof body['RoutingTarget'] === 'string' && normalizeSid(body['RoutingTarget']) === own) return;
      throw denied();
    }
    if (method === 'DELETE' && sub === undefined) throw denied();
    const task = engine.tasks.get(sid);
    if (task === undefined) return; // the route answers 404
    const mine = task.reservationSids.some((r) => engine.reservations.get(r)?.workerSid === own);
    if (!mine) throw denied();
    if (sub === 'Reservations' && subSid !== undefined) {
      const r = engine.reservations.get(subSid);
      if (r !== undefined && r.workerSid !== own) throw denied();
    }
    return;
  }
  throw denied();
}
