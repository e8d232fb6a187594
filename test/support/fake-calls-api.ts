/**
 * A fake of Twilio's Calls API on 127.0.0.1, for tests that drive the Twilio telephony adapter
 * through the official `twilio` client (its `api.baseUrl` pointed here). It answers
 * `calls.create` (201, SIDs `CA000…1`, `CA000…2`, … in order) and `calls(sid).update`, and
 * records both.
 */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import twilio from 'twilio';

export interface FakeCallsApi {
  /** Form bodies of `calls.create`, in order (placed calls). */
  placed: Record<string, string>[];
  /** `calls(sid).update` requests: the call SID and the form. */
  updates: Array<{ sid: string; form: Record<string, string> }>;
  /** A `twilio` client for `accountSid`/`authToken` whose Calls API is this fake. */
  client(accountSid: string, authToken: string): ReturnType<typeof twilio>;
  close(): Promise<void>;
}

/** Starts the fake on a free port of 127.0.0.1. */
export async function startFakeCallsApi(): Promise<FakeCallsApi> {
  const placed: Record<string, string>[] = [];
  const updates: Array<{ sid: string; form: Record<string, string> }> = [];
  const app = Fastify();
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))));
  app.post('/2010-04-01/Accounts/:ac/Calls.json', async (req, reply) => {
    const form = req.body as Record<string, string>;
    placed.push(form);
    const sid = `CA${String(placed.length).padStart(32, '0')}`;
    return reply.code(201).send({ sid, account_sid: (req.params as { ac: string }).ac, to: form['To'], from: form['From'], status: 'queued' });
  });
  app.post('/2010-04-01/Accounts/:ac/Calls/:file', async (req, reply) => {
    const sid = (req.params as { file: string }).file.replace(/\.json$/, '');
    updates.push({ sid, form: req.body as Record<string, string> });
    return reply.code(200).send({ sid, account_sid: (req.params as { ac: string }).ac, status: 'completed' });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    placed,
    updates,
    client: (accountSid, authToken) => {
      const client = twilio(accountSid, authToken);
      client.api.baseUrl = baseUrl;
      return client;
    },
    close: () => app.close(),
  };
}
