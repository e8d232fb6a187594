/**
 * API keys, as Twilio's REST API v2010 serves them (shared/specs/twilio_api_v2010.json
 * `api.v2010.account.key` / `new_key`): `POST /2010-04-01/Accounts/{AC}/Keys.json` (the secret in
 * the answer, once), `GET …/Keys.json` (a v2010 page of `keys`), `GET|POST|DELETE
 * …/Keys/{SK}.json`. Dates are RFC 2822 (`Mon, 13 Jun 2016 22:50:08 +0000`).
 *
 * Keys are managed with the account's own credentials (Account SID + auth token), as Twilio asks
 * of a standard key; a request authenticated with a key or an access token is 403. Another
 * account's path is 404. The keys live in runtime/keys-hosting.ts (durable before the answer).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyRecord } from '../../runtime/keys-hosting.ts';
import { bodyOf, pathOf, pathParam, principalOf, queryOf, type Api } from '../context.ts';
import { ApiError, notFound } from '../twilio-errors.ts';

const BASE = '/2010-04-01/Accounts/:AccountSid/Keys';

/** `Mon, 13 Jun 2016 22:50:08 +0000` (RFC 2822, GMT) for epoch ms. */
export function rfc2822(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toUTCString().replace('GMT', '+0000');
}

/** The `api.v2010.account.key` body. */
function keyJson(k: ApiKeyRecord): Record<string, unknown> {
  return { sid: k.sid, friendly_name: k.friendlyName, date_created: rfc2822(k.dateCreated), date_updated: rfc2822(k.dateUpdated) };
}

/** The account in the path, which must be the caller's own, authenticated with its auth token. */
function accountOfPath(api: Api, req: FastifyRequest): string {
  const p = principalOf(req);
  const account = pathParam(req, 'AccountSid');
  if (account !== p.accountSid || !api.runtime.hasAccount(account)) throw notFound(pathOf(req));
  if (p.credentialSid !== p.accountSid) throw new ApiError(403, 20403, 'API keys are managed with the account credentials (Account SID and auth token), not with an API key or an access token');
  return account;
}

/** Registers the v2010 Keys routes under `/2010-04-01/Accounts/{AC}/Keys` (see the module comment); refusals are the keys core's 400/404 and 403 for a non-account credential. */
export function keyRoutes(app: FastifyInstance, api: Api): void {
  app.post(`${BASE}.json`, async (req, reply) => {
    const account = accountOfPath(api, req);
    const name = bodyOf(req).string('FriendlyName');
    const { key, secret } = await api.runtime.keys.create(account, name);
    return reply.code(201).send({ ...keyJson(key), secret });
  });

  app.get(`${BASE}.json`, async (req) => {
    const account = accountOfPath(api, req);
    const q = queryOf(req);
    const pageSize = q.integer('PageSize', 1, 1000) ?? 50;
    const pageNo = q.integer('Page', 0) ?? 0;
    const all = api.runtime.keys.list(account);
    const items = all.slice(pageNo * pageSize, (pageNo + 1) * pageSize);
    const path = `/2010-04-01/Accounts/${account}/Keys.json`;
    const uri = (n: number): string => `${path}?PageSize=${pageSize}&Page=${n}`;
    const hasNext = (pageNo + 1) * pageSize < all.length;
    return {
      keys: items.map(keyJson),
      end: pageNo * pageSize + Math.max(0, items.length - 1),
      first_page_uri: uri(0),
      next_page_uri: hasNext ? uri(pageNo + 1) : null,
      page: pageNo,
      page_size: pageSize,
      previous_page_uri: pageNo > 0 ? uri(pageNo - 1) : null,
      start: pageNo * pageSize,
      uri: uri(pageNo),
    };
  });

  app.get(`${BASE}/:Sid.json`, async (req) => {
    const account = accountOfPath(api, req);
    const key = api.runtime.keys.get(account, pathParam(req, 'Sid'));
    if (key === undefined) throw notFound(pathOf(req));
    return keyJson(key);
  });

  app.post(`${BASE}/:Sid.json`, async (req) => {
    const account = accountOfPath(api, req);
    return keyJson(await api.runtime.keys.update(account, pathParam(req, 'Sid'), bodyOf(req).string('FriendlyName')));
  });

  app.delete(`${BASE}/:Sid.json`, async (req, reply) => {
    const account = accountOfPath(api, req);
    if (!(await api.runtime.keys.remove(account, pathParam(req, 'Sid')))) throw notFound(pathOf(req));
    return reply.code(204).send();
  });
}
