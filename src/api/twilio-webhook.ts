/**
 * What every route that Twilio calls shares (voice and messaging webhooks): reading the form as
 * app.ts's parser leaves it, and checking `X-Twilio-Signature` (spec §11: HMAC-SHA1 with the auth
 * token over our public URL + path and query, then the parameters) before anything else.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { twilioSignature, type FormParams } from '../runtime/signature.ts';
import { ApiError, errorBody } from './twilio-errors.ts';

/** A form body as app.ts's parser leaves it: values, or arrays for a repeated name. */
export type RawForm = Record<string, string | string[]>;

/** The request's form (every value a string, repeated names as arrays); `{}` without a body. */
export function formOf(req: FastifyRequest): RawForm {
  const body = req.body;
  if (body === null || typeof body !== 'object') return {};
  const out: RawForm = {};
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) out[k] = Array.isArray(v) ? v.map(String) : String(v);
  return out;
}

/** First value of each name. */
export function flat(form: RawForm): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) out[k] = Array.isArray(v) ? (v[0] ?? '') : v;
  return out;
}

/**
 * The request's parameters (first value of each name) once its signature checks out against
 * `base` (our public origin as Twilio calls it) + the request's path and query; with a null
 * `authToken` nothing is checked. On a mismatch it answers 403 (Twilio-shaped JSON), logs a
 * warning naming `what`, and returns null.
 */
export function signedParams(req: FastifyRequest, reply: FastifyReply, authToken: string | null, base: string, what: string): Record<string, string> | null {
  const form = formOf(req);
  if (authToken !== null && req.headers['x-twilio-signature'] !== twilioSignature(authToken, base + req.url, form as FormParams)) {
    req.log.warn({ url: req.url }, `${what} refused: X-Twilio-Signature does not match`);
    void reply.code(403).header('content-type', 'application/json').send(errorBody(new ApiError(403, 20403, 'X-Twilio-Signature does not match this request')));
    return null;
  }
  return flat(form);
}
