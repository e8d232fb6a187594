/**
 * `POST /v1/Workspaces/{WS}/AccessTokens` — an extension (issue 15 item 1; not a Twilio route): mints
 * a Twilio access token for the workspace, so that a console or any backend gets one without
 * handling an API key's secret. The token is exactly what twilio-node's `jwt.AccessToken` with a
 * `TaskRouterGrant` makes (spec voice-worker-sdk-console.md B2), signed HS256 with the account's
 * "Switchboard console tokens" key (runtime/keys-hosting.ts `consoleKey`, created on first use and
 * stored like any key, so the tokens verify like any other and survive restarts).
 *
 * Authenticated like the rest of /v1: account credentials or an API key (Basic) mint any role; an
 * access token (Bearer) of role supervisor or admin mints worker tokens of its own workspace only;
 * a worker token may not mint (auth.ts `authorizeGrant`, 403).
 *
 * Form parameters: `Role` (`worker` default, `supervisor`, `admin`); `WorkerSid` (required for
 * `worker`, must exist in the workspace: 404 otherwise; optional for the others); `Ttl` (seconds,
 * default 3600, 60–86400); `Identity` (optional, at most 256 characters; default the worker's SID,
 * else the caller's identity or credential SID). Bad input is a 400 naming the parameter, before
 * anything is written.
 *
 * Answer 201: `{token, identity, role, workspace_sid, worker_sid (null when none), expires_at (ISO
 * 8601), account_sid}`.
 */
import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { TASKROUTER_ROLES, type TaskRouterRole } from '../access-token.ts';
import { bodyOf, pathOf, principalOf, workspaceOf, type Api } from '../context.ts';
import { ApiError, badParameter, notFound } from '../twilio-errors.ts';

/** Bounds of `Ttl`, seconds. */
export const MIN_TTL_S = 60;
export const MAX_TTL_S = 86_400;
export const DEFAULT_TTL_S = 3_600;
const IDENTITY_MAX = 256;

/** What a minted token grants; times in epoch seconds. */
export interface TokenClaims {
  accountSid: string;
  keySid: string;
  identity: string;
  workspaceSid: string;
  workerSid: string | null;
  role: TaskRouterRole;
  issuedAtS: number;
  expiresAtS: number;
}

const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A Twilio access token (HS256 with `secret`) granting `claims`: header
 * `{"typ":"JWT","alg":"HS256","cty":"twilio-fpa;v=1"}`, payload `{jti: "SK…-<iat>", grants:
 * {identity, task_router: {workspace_sid, [worker_sid], role}}, iat, exp, iss: SK…, sub: AC…}` —
 * byte for byte the shape of twilio-node 6's `AccessToken.toJwt()`.
 */
export function signAccessToken(claims: TokenClaims, secret: string): string {
  const header = b64({ typ: 'JWT', alg: 'HS256', cty: 'twilio-fpa;v=1' });
  const taskRouter: Record<string, string> = { workspace_sid: claims.workspaceSid };
  if (claims.workerSid !== null) taskRouter['worker_sid'] = claims.workerSid;
  taskRouter['role'] = claims.role;
  const payload = b64({
    jti: `${claims.keySid}-${claims.issuedAtS}`,
    grants: { identity: claims.identity, task_router: taskRouter },
    iat: claims.issuedAtS,
    exp: claims.expiresAtS,
    iss: claims.keySid,
    sub: claims.accountSid,
  });
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Registers `POST /v1/Workspaces/{WS}/AccessTokens` (see the module comment: 201 with the token; 400 naming the parameter, 403, 404). */
export function accessTokenRoutes(app: FastifyInstance, api: Api): void {
  app.post('/v1/Workspaces/:WorkspaceSid/AccessTokens', async (req, reply) => {
    const principal = principalOf(req);
    const engine = workspaceOf(api, req);
    const body = bodyOf(req);
    const role: TaskRouterRole = body.oneOf('Role', TASKROUTER_ROLES) ?? 'worker';
    const workerSid = body.sid('WorkerSid', 'WK') ?? null;
    const ttl = body.integer('Ttl', MIN_TTL_S, MAX_TTL_S) ?? DEFAULT_TTL_S;
    const identityParam = body.string('Identity');
    if (identityParam !== undefined && (identityParam.trim() === '' || [...identityParam].length > IDENTITY_MAX)) {
      throw badParameter('Identity', `Identity must be 1 to ${IDENTITY_MAX} characters`);
    }
    if (role === 'worker' && workerSid === null) throw badParameter('WorkerSid', 'Missing required parameter WorkerSid: a worker token names its worker');
    if (principal.token !== undefined && role !== 'worker') {
      throw new ApiError(403, 20403, `An access token may mint worker tokens only (Role=${role} needs account credentials or an API key)`);
    }
    if (workerSid !== null && !engine.workers.has(workerSid)) throw notFound(`${pathOf(req).replace(/\/AccessTokens\/?$/, '')}/Workers/${workerSid}`);
    const accountSid = principal.accountSid;
    const key = await api.runtime.keys.consoleKey(accountSid);
    const issuedAtS = Math.floor(api.clock() / 1000);
    const identity = identityParam ?? workerSid ?? principal.token?.identity ?? principal.credentialSid;
    const claims: TokenClaims = { accountSid, keySid: key.sid, identity, workspaceSid: engine.workspace.sid, workerSid, role, issuedAtS, expiresAtS: issuedAtS + ttl };
    return reply.code(201).send({
      token: signAccessToken(claims, key.secret),
      identity,
      role,
      workspace_sid: claims.workspaceSid,
      worker_sid: workerSid,
      expires_at: new Date(claims.expiresAtS * 1000).toISOString(),
      account_sid: accountSid,
    });
  });
}
