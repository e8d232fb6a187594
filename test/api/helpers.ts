/**
 * Test harness for the HTTP API: a real Runtime on a temp data dir (and the tests' store: test/support/store.ts), the app listening on
 * 127.0.0.1, an account, the official twilio client pointed at it, and a validator of JSON
 * bodies against the OpenAPI response schemas (`nullable: true` handled by ajv).
 *
 * Time is virtual: one VirtualScheduler is the runtime's clock and timers and the app's clock
 * (and the scheduler of any webhook dispatcher a test adds). `await h.clock.advance(ms)` skips it,
 * firing every timer due on the way (reservation timeouts, TTLs, snapshots …); no test sleeps.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import type { FastifyInstance } from 'fastify';
import { testStoreOptions } from '../support/store.ts';
import { openApiValidator } from '../support/openapi.ts';
import { buildApp } from '../../src/api/app.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

export type Client = ReturnType<typeof twilio>;

export interface Harness {
  runtime: Runtime;
  /** The runtime's data directory (with PostgreSQL, it also names the test's schema: test/support/store.ts). */
  dataDir: string;
  app: FastifyInstance;
  base: string;
  account: NewCredentials;
  client: Client;
  /** The virtual time the runtime and the app run on (pass it to a dispatcher or a reopened runtime). */
  scheduler: VirtualScheduler;
  /** Clock: now, and skip `ms` forward, firing every timer due on the way (await it). */
  clock: { now: () => number; advance: (ms: number) => Promise<void> };
  /** The last response body the client received, parsed. */
  lastBody: (client?: Client) => unknown;
  /** Raw request with Basic auth (default: the harness account). */
  raw: (method: string, path: string, opts?: { body?: string; contentType?: string; auth?: [string, string] | null; headers?: Record<string, string> }) => Promise<{ status: number; body: unknown; headers: Headers }>;
  newClient: (user: string, pass: string, accountSid?: string) => Client;
  close: () => Promise<void>;
}

/** Starts the harness; `startMs`: the virtual clock's first instant (epoch ms; default the scheduler's). */
export async function startHarness(options: { startMs?: number } = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-api-'));
  const scheduler = new VirtualScheduler(options.startMs);
  const clock = { now: () => scheduler.now(), advance: (ms: number) => scheduler.advance(ms) };
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  const app = buildApp({ runtime, clock: clock.now });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const account = await runtime.createAccount('Acme');
  const newClient = (user: string, pass: string, accountSid?: string): Client => {
    const c = accountSid === undefined ? twilio(user, pass) : twilio(user, pass, { accountSid });
    c.taskrouter.baseUrl = base;
    return c;
  };
  const client = newClient(account.sid, account.secret);
  const lastBody = (c: Client = client): unknown => {
    const data = (c.httpClient as unknown as { lastResponse?: { body: unknown } }).lastResponse?.body;
    return typeof data === 'string' ? (data === '' ? undefined : JSON.parse(data)) : data;
  };
  const raw: Harness['raw'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    const auth = opts.auth === undefined ? [account.sid, account.secret] : opts.auth;
    if (auth !== null) headers['authorization'] = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}`;
    if (opts.body !== undefined) headers['content-type'] = opts.contentType ?? 'application/x-www-form-urlencoded';
    const res = await fetch(base + path, { method, headers, body: opts.body });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  };
  return {
    runtime,
    dataDir,
    app,
    base,
    account,
    client,
    scheduler,
    clock,
    lastBody,
    raw,
    newClient,
    close: async () => {
      await app.close();
      await runtime.close();
    },
  };
}

// ── OpenAPI schema validation (test/support/openapi.ts) ──

const taskrouter = openApiValidator('twilio_taskrouter_v1.json', 'taskrouter.v1.');

/** Asserts that `body` matches the named TaskRouter response schema and has exactly its fields. */
export const assertSchema: (name: string, body: unknown) => void = taskrouter.assertSchema;

/** Asserts a list body: its key, `meta` shape with absolute URLs on `base`, and every item's schema. */
export const assertListBody: (name: string, key: string, body: unknown, base: string) => Record<string, unknown>[] = taskrouter.assertListBody;

/** Runs `fn` and asserts that it fails with a RestException of this status and code. */
export async function assertRestError(fn: () => Promise<unknown>, status: number, code: number, messageMatch?: RegExp): Promise<void> {
  await assert.rejects(fn, (e: unknown) => {
    const err = e as { status?: number; code?: number; message?: string; moreInfo?: string; constructor: { name: string } };
    assert.equal(err.constructor.name, 'RestException', String(e));
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    assert.ok(err.moreInfo?.includes(String(code)));
    if (messageMatch !== undefined) assert.match(err.message ?? '', messageMatch);
    return true;
  });
}
