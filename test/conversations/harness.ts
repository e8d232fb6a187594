/**
 * The Conversations suites' server: a real Runtime (the tests' store, test/support/store.ts) on a
 * data dir, the app on 127.0.0.1, the outbox dispatcher with the conversation deliverers, all on
 * one VirtualScheduler; an account and the official `twilio` client pointed at it
 * (`client.conversations.baseUrl`, `client.taskrouter.baseUrl`). `reopen` closes everything and
 * opens a new server on the same data dir and scheduler (a restart).
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { conversationWebhookDeliverer } from '../../src/webhooks/conversation-webhooks.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { PostClient } from '../../src/webhooks/http-post.ts';
import { testStoreOptions } from '../support/store.ts';

export type Client = ReturnType<typeof twilio>;

export interface ConvServer {
  scheduler: VirtualScheduler;
  dataDir: string;
  runtime: Runtime;
  app: FastifyInstance;
  base: string;
  dispatcher: WebhookDispatcher;
  account: { sid: string; secret: string };
  client: Client;
  /** The last response body the client received, parsed. */
  lastBody: () => unknown;
  /** A raw request with Basic auth of the account. */
  raw: (method: string, path: string, form?: Record<string, string | string[]>, headers?: Record<string, string>) => Promise<{ status: number; body: unknown }>;
  /** Every delivery failure the dispatcher reported. */
  failures: Array<{ kind: string; attempts: number; final: boolean }>;
  close: () => Promise<void>;
  /** Closes this server and opens another on the same data dir, scheduler and account (a restart). */
  reopen: () => Promise<ConvServer>;
}

export interface ConvServerOptions {
  scheduler?: VirtualScheduler;
  dataDir?: string;
  account?: { sid: string; secret: string };
  /** The dispatcher's backoff (default 1 s). */
  backoffMs?: number;
}

export function formOf(form: Record<string, string | string[]>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
  return p.toString();
}

export async function startConvServer(o: ConvServerOptions = {}): Promise<ConvServer> {
  const scheduler = o.scheduler ?? new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'switchboard-conv-'));
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const failures: ConvServer['failures'] = [];
  const dispatcher = new WebhookDispatcher(runtime, {
    scheduler,
    pollMs: 0,
    random: () => 0,
    backoffMs: o.backoffMs ?? 1_000,
    onAlert: () => undefined,
    onDeliveryFailure: (f) => void failures.push({ kind: f.kind, attempts: f.attempts, final: f.final }),
    deliverers: { 'conversation.webhook': conversationWebhookDeliverer(runtime, new PostClient(scheduler)), ...runtime.conversations.deliverers() },
  });
  dispatcher.start();
  const account = o.account ?? (await runtime.createAccount('Chats'));
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  client.conversations.baseUrl = base;
  const lastBody = (): unknown => {
    const data = (client.httpClient as unknown as { lastResponse?: { body: unknown } }).lastResponse?.body;
    return typeof data === 'string' ? (data === '' ? undefined : JSON.parse(data)) : data;
  };
  const raw: ConvServer['raw'] = async (method, path, form, headers = {}) => {
    const h: Record<string, string> = { authorization: `Basic ${Buffer.from(`${account.sid}:${account.secret}`).toString('base64')}`, ...headers };
    if (form !== undefined) h['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(base + path, { method, headers: h, body: form === undefined ? undefined : formOf(form) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await dispatcher.stop();
    await app.close();
    await runtime.close();
  };
  return {
    scheduler,
    dataDir,
    runtime,
    app,
    base,
    dispatcher,
    account,
    client,
    lastBody,
    raw,
    failures,
    close,
    reopen: async () => {
      await close();
      return startConvServer({ ...o, scheduler, dataDir, account });
    },
  };
}

/** The account's stored conversation events (`com.twilio.conversations.*`), oldest first. */
export async function conversationEvents(s: ConvServer, fromMs = 0): Promise<Array<{ eventType: string; at: number; resourceSid: string; data: Record<string, string> }>> {
  const all = (await s.runtime.store.events(s.account.sid, fromMs, Number.MAX_SAFE_INTEGER, 1_000_000)) as unknown as Array<{ eventType: string; at: number; resourceSid: string; data: Record<string, string> }>;
  return all.filter((e) => e.eventType.startsWith('com.twilio.conversations.'));
}
