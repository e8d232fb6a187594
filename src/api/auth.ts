/**
 * HTTP Basic authentication (spec §2): Account SID + auth token, or an API key SID (SK…) + its
 * secret. Anything else is 401/20003.
 */
import type { FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime/runtime.ts';
import { unauthorized } from './twilio-errors.ts';

/** Who made a request: the account it acts on, and the credential used (the AC or SK SID). */
export interface Principal {
  accountSid: string;
  credentialSid: string;
}

/** The account the request's credentials belong to and the credential's SID; throws 401 otherwise. */
export function authenticate(runtime: Runtime, req: FastifyRequest): Principal {
  const header = req.headers.authorization;
  if (header === undefined) throw unauthorized();
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
