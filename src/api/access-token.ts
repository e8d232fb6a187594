/**
 * Twilio access tokens (spec voice-worker-sdk-console.md B2): a JWT signed HS256 with an API key's
 * secret, header `{"typ":"JWT","alg":"HS256","cty":"twilio-fpa;v=1"}`, payload
 * `{jti, iss: SK…, sub: AC…, iat, exp, [nbf], grants: {identity?, task_router: {workspace_sid,
 * worker_sid, role}}}` — exactly what twilio-node's `jwt.AccessToken` with a `TaskRouterGrant` makes.
 *
 * Verified with node:crypto (HMAC-SHA256 compared in constant time): the one JWT library in
 * node_modules, jsonwebtoken, is only a dependency of the `twilio` package, not of ours, and ships
 * no types; HS256 verification is a dozen lines. Only HS256 is accepted (no `none`, no RS*), the
 * signing key is looked up by `iss`, and `sub` must be the key's own account.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ApiError } from './twilio-errors.ts';

/** The roles a TaskRouter grant may carry; see auth.ts `authorizeGrant` for what each may do. */
export const TASKROUTER_ROLES = ['worker', 'supervisor', 'admin'] as const;
export type TaskRouterRole = (typeof TASKROUTER_ROLES)[number];

/** A verified token. Times in epoch milliseconds. */
export interface AccessToken {
  accountSid: string;
  /** The API key that signed it (SK…). */
  keySid: string;
  identity: string | null;
  workspaceSid: string;
  /** The worker it acts as; null for an admin or supervisor token without one. */
  workerSid: string | null;
  role: TaskRouterRole;
  issuedAt: number;
  expiresAt: number;
}

/** Twilio's access-token error codes (20101 …). */
const INVALID = 20101;
const BAD_HEADER = 20102;
const BAD_ISSUER = 20103;
const EXPIRED = 20104;
const NOT_YET_VALID = 20105;
const BAD_GRANTS = 20106;
const BAD_SIGNATURE = 20107;

const refuse = (code: number, message: string): ApiError => new ApiError(401, code, message);

function decodePart(part: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw refuse(what === 'header' ? BAD_HEADER : INVALID, `Invalid Access Token: its ${what} is not a base64url JSON object`);
}

/**
 * Verifies an access token at instant `nowMs` (epoch ms): structure, header, signature with the
 * secret of the key named by `iss` (`secretOf` returns it and its account, or undefined for an
 * unknown key), `sub` = that account, `exp` (and `nbf` when present) against `nowMs`, and the
 * TaskRouter grant. Returns what it grants; throws a 401 {@link ApiError} with Twilio's code
 * (20101 malformed, 20102 header, 20103 issuer/subject, 20104 expired, 20105 not yet valid, 20106
 * grants, 20107 signature) and a message naming what is wrong.
 */
export function verifyAccessToken(token: string, secretOf: (keySid: string) => { accountSid: string; secret: string } | undefined, nowMs: number): AccessToken {
  const parts = token.split('.');
  if (parts.length !== 3) throw refuse(INVALID, 'Invalid Access Token: a JWT has three dot-separated parts');
  const [h, p, s] = parts as [string, string, string];
  const header = decodePart(h, 'header');
  if (header['alg'] !== 'HS256') throw refuse(BAD_HEADER, `Invalid Access Token header: alg must be HS256 (got ${JSON.stringify(header['alg'] ?? null)})`);
  if (header['cty'] !== 'twilio-fpa;v=1') throw refuse(BAD_HEADER, `Invalid Access Token header: cty must be twilio-fpa;v=1 (got ${JSON.stringify(header['cty'] ?? null)})`);
  const payload = decodePart(p, 'payload');
  const iss = payload['iss'];
  if (typeof iss !== 'string') throw refuse(BAD_ISSUER, 'Invalid Access Token issuer: iss must be an API key SID (SK…)');
  const key = secretOf(iss);
  if (key === undefined) throw refuse(BAD_ISSUER, `Invalid Access Token issuer: ${iss} is not an API key of this server`);
  const expected = createHmac('sha256', key.secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw refuse(BAD_SIGNATURE, 'Invalid Access Token signature');
  if (payload['sub'] !== key.accountSid) throw refuse(BAD_ISSUER, `Invalid Access Token subject: sub must be the key's account ${key.accountSid}`);
  const exp = payload['exp'];
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw refuse(EXPIRED, 'Access Token expiration date invalid: exp must be a number of seconds');
  if (exp * 1000 <= nowMs) throw refuse(EXPIRED, `Access Token expired at ${new Date(exp * 1000).toISOString()}`);
  const nbf = payload['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf * 1000 > nowMs)) throw refuse(NOT_YET_VALID, 'Access Token not yet valid (nbf)');
  const grants = payload['grants'];
  const tr = typeof grants === 'object' && grants !== null ? (grants as Record<string, unknown>)['task_router'] : undefined;
  if (typeof tr !== 'object' || tr === null) throw refuse(BAD_GRANTS, 'Invalid Access Token grants: no task_router grant');
  const g = tr as Record<string, unknown>;
  const workspaceSid = g['workspace_sid'];
  const workerSid = g['worker_sid'] ?? null;
  const role = g['role'];
  if (typeof workspaceSid !== 'string' || !/^WS[0-9a-fA-F]{32}$/.test(workspaceSid)) throw refuse(BAD_GRANTS, 'Invalid Access Token grants: task_router.workspace_sid must be a WS SID');
  if (workerSid !== null && (typeof workerSid !== 'string' || !/^WK[0-9a-fA-F]{32}$/.test(workerSid))) throw refuse(BAD_GRANTS, 'Invalid Access Token grants: task_router.worker_sid must be a WK SID');
  if (!TASKROUTER_ROLES.includes(role as TaskRouterRole)) throw refuse(BAD_GRANTS, `Invalid Access Token grants: task_router.role must be one of ${TASKROUTER_ROLES.join(', ')}`);
  if (role === 'worker' && workerSid === null) throw refuse(BAD_GRANTS, `Invalid Access Token grants: a ${String(role)} token needs task_router.worker_sid`);
  const identity = (grants as Record<string, unknown>)['identity'];
  const iat = payload['iat'];
  return {
    accountSid: key.accountSid,
    keySid: iss,
    identity: typeof identity === 'string' ? identity : null,
    workspaceSid: normalize(workspaceSid),
    workerSid: workerSid === null ? null : normalize(workerSid),
    role: role as TaskRouterRole,
    issuedAt: typeof iat === 'number' ? iat * 1000 : nowMs,
    expiresAt: exp * 1000,
  };
}

/** A SID's canonical spelling: prefix upper case, hex lower case. */
function normalize(sid: string): string {
  return sid.slice(0, 2).toUpperCase() + sid.slice(2).toLowerCase();
}
