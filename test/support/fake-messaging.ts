/**
 * A fake of Twilio's Messages API on 127.0.0.1, for tests of the Twilio messaging adapter through
 * the official `twilio` client (its `api.baseUrl` pointed here). It answers
 * `POST /2010-04-01/Accounts/{AC}/Messages.json` with 201 and the JSON shape of
 * twilio_api_v2010.json's `api.v2010.account.message` (SIDs `SM000…1`, `SM000…2`, … in order,
 * status `queued`), records every request's form (a repeated name such as `MediaUrl` as an array),
 * checks Basic auth (401/20003 otherwise) and the account (404/20404), and refuses with Twilio's
 * error 21211 (400) a `To` listed in {@link FakeMessagingApi.invalidTo}.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import twilio from 'twilio';

/** One Messages create request the fake received (accepted or not). */
export interface MessageRequest {
  accountSid: string;
  params: Record<string, string | string[]>;
  /** The SID it was given, or null when refused. */
  sid: string | null;
}

export interface FakeMessagingApi {
  readonly accountSid: string;
  readonly authToken: string;
  /** Every Messages create request, in order. */
  requests: MessageRequest[];
  /** `To` values refused with error 21211 (tests add to it). */
  invalidTo: Set<string>;
  /** A `twilio` client for the fake's account whose `api` domain is this fake. */
  client(): ReturnType<typeof twilio>;
  close(): Promise<void>;
}

function formOf(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Starts the fake on a free port of 127.0.0.1 for `accountSid` / `authToken`. */
export async function startFakeMessagingApi(options: { accountSid?: string; authToken: string }): Promise<FakeMessagingApi> {
  const accountSid = options.accountSid ?? 'AC' + '2'.repeat(32);
  const { authToken } = options;
  const requests: MessageRequest[] = [];
  const invalidTo = new Set<string>();
  const app = Fastify();
  const error = (status: number, code: number, message: string) => ({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, formOf(body as string)));
  app.post('/2010-04-01/Accounts/:ac/Messages.json', async (req, reply) => {
    const ac = (req.params as { ac: string }).ac;
    const params = (req.body ?? {}) as Record<string, string | string[]>;
    const record: MessageRequest = { accountSid: ac, params, sid: null };
    requests.push(record);
    if (req.headers.authorization !== 'Basic ' + Buffer.from(`${accountSid}:${authToken}`).toString('base64')) return reply.code(401).send(error(401, 20003, 'Authenticate'));
    if (ac !== accountSid) return reply.code(404).send(error(404, 20404, 'The requested resource was not found'));
    const to = String(params['To'] ?? '');
    if (to === '' || invalidTo.has(to)) return reply.code(400).send(error(400, 21211, `The 'To' number ${to} is not a valid phone number.`));
    const sid = 'SM' + String(requests.filter((r) => r.sid !== null).length + 1).padStart(32, '0');
    record.sid = sid;
    const media = params['MediaUrl'];
    const now = new Date().toUTCString().replace('GMT', '+0000');
    return reply.code(201).send({
      account_sid: ac,
      api_version: '2010-04-01',
      body: params['Body'] ?? '',
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: params['From'] ?? null,
      messaging_service_sid: null,
      num_media: String(media === undefined ? 0 : Array.isArray(media) ? media.length : 1),
      num_segments: '1',
      price: null,
      price_unit: null,
      sid,
      status: 'queued',
      subresource_uris: { media: `/2010-04-01/Accounts/${ac}/Messages/${sid}/Media.json` },
      to,
      uri: `/2010-04-01/Accounts/${ac}/Messages/${sid}.json`,
    });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    accountSid,
    authToken,
    requests,
    invalidTo,
    client: () => {
      const client = twilio(accountSid, authToken);
      client.api.baseUrl = baseUrl;
      return client;
    },
    close: () => app.close(),
  };
}
