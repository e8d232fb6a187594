/**
 * What every handler needs: the runtime, the caller's account (set by the auth hook), the
 * workspace named in the path (404 when it is unknown or another account's), our public origin,
 * and a way to execute a command that turns a rejection into Twilio's error.
 */
import type { FastifyRequest } from 'fastify';
import type { Outcome, WorkspaceEngine } from '../engine/index.ts';
import type { Runtime, UntimedCommand } from '../runtime/runtime.ts';
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

const accounts = new WeakMap<FastifyRequest, string>();

export function setAccount(req: FastifyRequest, accountSid: string): void {
  accounts.set(req, accountSid);
}

export function accountOf(req: FastifyRequest): string {
  const sid = accounts.get(req);
  if (sid === undefined) throw unauthorized();
  return sid;
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

/** Executes a command durably; a rejection becomes an ApiError (the command changed nothing). */
export async function execute(api: Api, engine: WorkspaceEngine, command: UntimedCommand, body?: Params): Promise<Outcome> {
  const started = performance.now();
  const outcome = await api.runtime.execute(engine.workspace.sid, command);
  api.observeCommand?.(command.type, (performance.now() - started) / 1000);
  if (outcome.rejection !== null) throw fromRejection(outcome.rejection, body?.names());
  return outcome;
}
