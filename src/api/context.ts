/**
 * What every handler needs: the runtime, the caller's account (set by the auth hook), the
 * workspace named in the path (404 when it is unknown or another account's), our public origin,
 * and a way to execute a command that turns a rejection into Twilio's error.
 */
import type { FastifyRequest } from 'fastify';
import type { Outcome, WorkspaceEngine } from '../engine/index.ts';
import type { Runtime, UntimedCommand } from '../runtime/runtime.ts';
import type { EventOrigin } from '../runtime/outbox.ts';
import type { Principal } from './auth.ts';
import { normalizeSid, Params } from './params.ts';
import type { PageRequest } from './paging.ts';
import type { Ctx } from './serializers.ts';
import { fromRejection, notFound, unauthorized } from './twilio-errors.ts';

export interface Api {
  runtime: Runtime;
  /** Wall clock, epoch ms (for `age`); the runtime's own clock in tests. */
  clock: () => number;
  /** Public origin for `url`/`links`/`meta` (PUBLIC_BASE_URL); else the request's Host. */
  publicBaseUrl: string | undefined;
  /** Records a command's latency, `execute` call → acknowledgement, in seconds (metrics). */
  observeCommand?: (type: string, seconds: number) => void;
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** Records who made `req` (the /v1 auth hook does, app.ts); read back by {@link accountOf} and {@link originOfRequest}. */
export function setPrincipal(req: FastifyRequest, principal: Principal): void {
  principals.set(req, principal);
}

/** Who made `req`; throws the 401 ApiError when nobody authenticated it. */
export function principalOf(req: FastifyRequest): Principal {
  const p = principals.get(req);
  if (p === undefined) throw unauthorized();
  return p;
}

/** The Account SID `req` acts on; throws the 401 ApiError when nobody authenticated it. */
export function accountOf(req: FastifyRequest): string {
  return principalOf(req).accountSid;
}

/**
 * The origin of the commands a request sends (stored on their events): the credential that
 * authenticated it — actor type `account` for the Account SID, `api_key` for an SK key — and
 * the caller's IP (spec §9.3 `actor_*`, `source_ip_address`).
 */
export function originOfRequest(req: FastifyRequest): EventOrigin {
  const p = principalOf(req);
  return { actor: { sid: p.credentialSid, type: p.credentialSid.startsWith('SK') ? 'api_key' : 'account' }, ip: req.ip };
}

export function originOf(api: Api, req: FastifyRequest): string {
  if (api.publicBaseUrl !== undefined) return api.publicBaseUrl.replace(/\/+$/, '');
  return `${req.protocol}://${req.host}`;
}

/** The path without its query string. */
export function pathOf(req: FastifyRequest): string {
  const q = req.url.indexOf('?');
  return q < 0 ? req.url : req.url.slice(0, q);
}

/** A path parameter; a SID is normalized (prefix upper case, hex lower case: spec §1.1). */
export function pathParam(req: FastifyRequest, name: string): string {
  return normalizeSid(String((req.params as Record<string, string>)[name] ?? ''));
}

/** The workspace named by `:WorkspaceSid`, owned by the caller; 404 otherwise. */
export function workspaceOf(api: Api, req: FastifyRequest): WorkspaceEngine {
  const engine = api.runtime.workspace(accountOf(req), pathParam(req, 'WorkspaceSid'));
  if (engine === undefined) throw notFound(pathOf(req));
  return engine;
}

/** Serializer context for a request on a workspace. */
export function ctxOf(api: Api, req: FastifyRequest, engine: WorkspaceEngine): Ctx {
  return { origin: originOf(api, req), accountSid: accountOf(req), engine, now: Math.max(api.clock(), engine.now) };
}

export function bodyOf(req: FastifyRequest): Params {
  return new Params(req.body);
}

export function queryOf(req: FastifyRequest): Params {
  return new Params(req.query);
}

/** Page request for a list endpoint at this request's path. */
export function pageRequest(api: Api, req: FastifyRequest, key: string): PageRequest {
  return { listUrl: originOf(api, req) + pathOf(req), query: queryOf(req), key };
}

/**
 * Executes a command durably on behalf of the request (its credential becomes the events'
 * actor); a rejection becomes an ApiError (the command changed nothing). `extra` adds to the
 * origin (e.g. an assignment instruction).
 */
export async function execute(api: Api, req: FastifyRequest, engine: WorkspaceEngine, command: UntimedCommand, body?: Params, extra?: Partial<EventOrigin>): Promise<Outcome> {
  const started = performance.now();
  const outcome = await api.runtime.execute(engine.workspace.sid, command, { ...originOfRequest(req), ...extra });
  api.observeCommand?.(command.type, (performance.now() - started) / 1000);
  if (outcome.rejection !== null) throw fromRejection(outcome.rejection, body?.names());
  return outcome;
}
