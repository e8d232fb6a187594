/**
 * A real webhook receiver on 127.0.0.1 that checks every request's X-Twilio-Signature with the
 * official helper (`twilio.validateRequest`), a runtime with a routable workspace, and the bench
 * that puts them together with a WebhookDispatcher for one test.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import twilio from 'twilio';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { WebhookDispatcher, type DispatcherOptions } from '../../src/webhooks/dispatcher.ts';

/** Dispatcher timings for tests: retry after 20 ms, poll the outbox every 10 ms. */
export const FAST = { backoffMs: 20, pollMs: 10 } as const;

export interface Received {
  path: string;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  at: number;
  /** The client's port: one per connection. */
  remotePort: number;
}

export type Handler = (req: Received, res: ServerResponse) => void;

export interface Receiver {
  url: (path: string) => string;
  received: Received[];
  /** Paths of requests whose signature did not validate (must stay empty). */
  invalid: string[];
  /** Per path: how to answer (default 204). */
  on: (path: string, handler: Handler) => void;
  /** Resolves when `predicate` holds over what was received (polls; fails after `ms`). */
  waitFor: (predicate: (received: Received[]) => boolean, ms?: number) => Promise<void>;
  close: () => Promise<void>;
}

export async function startReceiver(authToken: () => string): Promise<Receiver> {
  const received: Received[] = [];
  const invalid: string[] = [];
  const handlers = new Map<string, Handler>();
  let base = '';
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      const params = Object.fromEntries(new URLSearchParams(body));
      const signature = String(req.headers['x-twilio-signature'] ?? '');
      const valid = twilio.validateRequest(authToken(), signature, base + path, params);
      if (!valid) {
        invalid.push(path);
        res.writeHead(403).end();
        return;
      }
      assert.equal(req.method, 'POST');
      const r: Received = { path, params, headers: req.headers, at: Date.now(), remotePort: req.socket.remotePort ?? 0 };
      received.push(r);
      const handler = handlers.get(path.split('?')[0] as string);
      if (handler !== undefined) handler(r, res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: (path) => base + path,
    received,
    invalid,
    on: (path, handler) => void handlers.set(path, handler),
    waitFor: async (predicate, ms = 5_000) => {
      const deadline = Date.now() + ms;
      while (!predicate(received)) {
        if (Date.now() > deadline) throw new Error(`timed out; received ${JSON.stringify(received.map((r) => [r.path, r.params['EventType']]))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A handler that answers 200 with `body` as `contentType` (JSON unless told). */
export function reply(body: string, contentType = 'application/json'): Handler {
  return (_, res) => void res.writeHead(200, { 'content-type': contentType }).end(body);
}

/** A runtime with one account ("Acme") and a receiver that checks signatures with its secret. */
export interface WebhookBench {
  runtime: Runtime;
  account: NewCredentials;
  rx: Receiver;
  /** The dispatcher of this test, not started ({@link FAST} timings under `options`); stopped after the test. */
  newDispatcher: (options?: DispatcherOptions) => WebhookDispatcher;
}

/**
 * Opens a {@link WebhookBench} on a fresh data dir. After the test (`t.after`, pass or fail) it
 * stops the dispatcher, closes the receiver, then the runtime.
 */
export async function webhookBench(t: TestContext): Promise<WebhookBench> {
  const runtime = openRuntime();
  const account = runtime.createAccount('Acme');
  const rx = await startReceiver(() => account.secret);
  const dispatchers: WebhookDispatcher[] = [];
  t.after(async () => {
    for (const d of dispatchers) await d.stop();
    await rx.close();
    await runtime.close();
  });
  return {
    runtime,
    account,
    rx,
    newDispatcher: (options = {}) => {
      const d = new WebhookDispatcher(runtime, { ...FAST, ...options });
      dispatchers.push(d);
      return d;
    },
  };
}

/** Creates `n` tasks with attributes {"i": 0…n-1}, one command each; returns their SIDs in creation order. */
export async function createTasks(runtime: Runtime, ws: string, n: number): Promise<string[]> {
  const sids: string[] = [];
  for (let i = 0; i < n; i += 1) sids.push((await runtime.execute(ws, { type: 'createTask', attributes: JSON.stringify({ i }) })).sid as string);
  return sids;
}

export function openRuntime(dataDir = mkdtempSync(join(tmpdir(), 'switchboard-wh-'))): Runtime {
  return Runtime.open({ dataDir, synchronous: 'NORMAL' });
}

/** A workspace with one queue, one workflow and one available worker; returns their SIDs. */
export async function routableWorkspace(
  runtime: Runtime,
  accountSid: string,
  options: { eventCallbackUrl?: string; eventsFilter?: string; assignmentCallbackUrl?: string; fallbackAssignmentCallbackUrl?: string } = {},
): Promise<{ ws: string; workflow: string; worker: string; offline: string }> {
  const { engine } = runtime.createWorkspace(accountSid, {
    friendlyName: 'Support',
    eventCallbackUrl: options.eventCallbackUrl ?? null,
    eventsFilter: options.eventsFilter ?? null,
  });
  const ws = engine.workspace.sid;
  const activity = (name: string): string => [...engine.activities.values()].find((a) => a.friendlyName === name)?.sid as string;
  const queue = (await runtime.execute(ws, { type: 'createTaskQueue', friendlyName: 'All' })).sid as string;
  const workflow = (
    await runtime.execute(ws, {
      type: 'createWorkflow',
      friendlyName: 'All',
      configuration: JSON.stringify({ task_routing: { default_filter: { queue } } }),
      assignmentCallbackUrl: options.assignmentCallbackUrl ?? null,
      fallbackAssignmentCallbackUrl: options.fallbackAssignmentCallbackUrl ?? null,
    })
  ).sid as string;
  const worker = (await runtime.execute(ws, { type: 'createWorker', friendlyName: 'Alice', activitySid: activity('Available'), attributes: '{"skills":["en"]}' })).sid as string;
  return { ws, workflow, worker, offline: activity('Offline') };
}
