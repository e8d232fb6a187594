/**
 * HTTP Basic authentication (spec §2): Account SID + auth token, or an API key SID (SK…) + its
 * secret. Anything else is 401/20003.
 */
import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime/runtime.ts';
import { unauthorized } from './twilio-errors.ts';

/** The account the request's credentials belong to; throws 401 otherwise. */
export function authenticate(runtime: Runtime, req: FastifyRequest): string {
  const header = req.headers.authorization;
  if (header === undefined) throw unauthorized();
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) throw unauthorized();
  const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw unauthorized();
  const account = runtime.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1));
  if (account === null) throw unauthorized();
  return account;
}
