/**
 * Test harness for the callbacks API: a real Runtime on a temp data dir (and the tests' store:
 * test/support/store.ts) hosting the callback
 * cores, with a SimulatedNetwork (short ring and prompt times) as their telephone, the app
 * listening on 127.0.0.1, an account, the official twilio client pointed at it, and a workspace
 * with one worker, one task queue and a workflow routing to it, and the outbox dispatcher that
 * delivers the centers' dials and hang-ups to the telephone (as `switchboard serve` wires it). Time
 * is virtual (a VirtualScheduler shared by the runtime, the dispatcher, the app and the network):
 * `step(ms)` skips it forward, firing every timer due on the way, with no wall-clock sleep.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import type { FastifyInstance } from 'fastify';
import { testStoreOptions } from '../support/store.ts';
import { buildApp } from '../../src/api/app.ts';
import { CallbackService } from '../../src/runtime/callback-service.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { SimulatedNetwork } from '../../src/voice/simulated-network.ts';
import type { TelephonyPort } from '../../src/callbacks/telephony-port.ts';

export type Client = ReturnType<typeof twilio>;

export interface CbHarness {
  runtime: Runtime;
  service: CallbackService;
  scheduler: VirtualScheduler;
  network: SimulatedNetwork;
  /** The outbox dispatcher (dials and hang-ups to the telephone; webhooks), or null while stopped ({@link CbHarness.stopDispatcher}). */
  dispatcher: WebhookDispatcher | null;
  /** Stops the dispatcher: dials are committed as outbox rows and not delivered (what a crash right after the commit leaves). */
  stopDispatcher: () => Promise<void>;
  /** Starts a dispatcher on the current runtime (after `stopDispatcher`, or a restart without one). */
  startDispatcher: () => void;
  app: FastifyInstance;
  base: string;
  account: NewCredentials;
  client: Client;
  ws: string;
  queueSid: string;
  workflowSid: string;
  workerSid: string;
  now: () => number;
  /** Skips `ms` of virtual time, firing every timer due on the way (engine, centers, telephone). */
  step: (ms: number) => Promise<void>;
  /** Form POST/GET/DELETE with Basic auth (default: the harness account; null: none). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies are checked field by field in the tests
  call: (method: string, path: string, form?: Record<string, string | string[]>, auth?: [string, string] | null) => Promise<{ status: number; body: any }>;
  close: () => Promise<void>;
  /**
   * Stops the app and the runtime and opens them again on the same data dir with a NEW simulated
   * network (calls in flight are lost), the same clock. The runtime writes only whole batches, so
   * stopping it between them is what a crash leaves on disk.
   * `between(databasePath)` runs while everything is closed (tests that rewrite the file: SQLite
   * only); `betweenAsync` too, awaited (on either store). A new dispatcher starts after the runtime
   * opened, unless `dispatcher: false`.
   */
  restart: (between?: (databasePath: string) => void, options?: { dispatcher?: boolean; betweenAsync?: () => Promise<void> }) => Promise<void>;
  /** The data dir's SQLite database file (SQLite only). */
  databasePath: string;
  /** Every dial key placed, across restarts. */
  dialedKeys: () => string[];
}

export async function startCbHarness(options: { workers?: number; available?: boolean; telephony?: TelephonyPort; telephonyAuthToken?: string; terminalRetentionSeconds?: number } = {}): Promise<CbHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-cbapi-'));
  const scheduler = new VirtualScheduler(Date.UTC(2026, 0, 5, 9));
  const now = (): number => scheduler.now();
  const newNetwork = (): SimulatedNetwork => new SimulatedNetwork({ seed: 7, ringMinSeconds: 1, ringMaxSeconds: 2, promptSeconds: 1, busySeconds: 1 });
  const open = async (network: SimulatedNetwork) => {
    // No retry on "database is locked": close() below awaits the runtime until the store's
    // checkpointer thread has ended, so the data dir is free again.
    const runtime = await Runtime.open({
      ...testStoreOptions(dataDir),
      scheduler,
      callbacks: {
        telephony: options.telephony ?? network,
        ...(options.telephonyAuthToken !== undefined ? { telephonyAuthToken: options.telephonyAuthToken } : {}),
        center: { holdUntilQuote: false, ...(options.terminalRetentionSeconds !== undefined ? { terminalRetentionSeconds: options.terminalRetentionSeconds } : {}) },
      },
    });
    const service = new CallbackService(runtime);
    const app = buildApp({ runtime, clock: now, callbacks: service });
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { runtime, service, app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
  };
  const startDispatcher = (runtime: Runtime): WebhookDispatcher => {
    const d = new WebhookDispatcher(runtime, { scheduler, pollMs: 0, deliverers: runtime.callbacks.deliverers(), onAlert: () => undefined });
    d.start();
    return d;
  };
  const network = newNetwork();
  const networks = [network];
  const { runtime, service, app, base } = await open(network);
  const dispatcher = startDispatcher(runtime);
  const account = await runtime.createAccount('Acme');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  const w = await client.taskrouter.v1.workspaces.create({ friendlyName: 'Callbacks' });
  const ws = w.sid;
  const wsc = client.taskrouter.v1.workspaces(ws);
  const activities = await wsc.activities.list();
  const available = activities.find((a) => a.friendlyName === 'Available')!;
  const offline = activities.find((a) => a.friendlyName === 'Offline')!;
  const queue = await wsc.taskQueues.create({ friendlyName: 'Support', targetWorkers: '1==1' });
  const workflow = await wsc.workflows.create({ friendlyName: 'Main', configuration: JSON.stringify({ task_routing: { default_filter: { queue: queue.sid } } }) });
  let workerSid = '';
  for (let i = 0; i < (options.workers ?? 1); i++) {
    const worker = await wsc.workers.create({ friendlyName: `Agent ${i}`, activitySid: options.available === false ? offline.sid : available.sid });
    if (i === 0) workerSid = worker.sid;
  }
  const call: CbHarness['call'] = async (method, path, form, auth) => {
    const headers: Record<string, string> = {};
    const a = auth === undefined ? [account.sid, account.secret] : auth;
    if (a !== null) headers['authorization'] = `Basic ${Buffer.from(`${a[0]}:${a[1]}`).toString('base64')}`;
    let body: string | undefined;
    let url = h.base + path;
    if (form !== undefined) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(form)) for (const x of Array.isArray(v) ? v : [v]) p.append(k, x);
      if (method === 'GET') url += `?${p.toString()}`;
      else {
        body = p.toString();
        headers['content-type'] = 'application/x-www-form-urlencoded';
      }
    }
    const res = await fetch(url, { method, headers, body });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
  };
  const h: CbHarness = {
    runtime,
    service,
    scheduler,
    network,
    dispatcher,
    startDispatcher: () => {
      h.dispatcher ??= startDispatcher(h.runtime);
    },
    stopDispatcher: async () => {
      await h.dispatcher?.stop();
      h.dispatcher = null;
    },
    app,
    base,
    account,
    client,
    ws,
    queueSid: queue.sid,
    workflowSid: workflow.sid,
    workerSid,
    now,
    step: (ms) => scheduler.advance(ms),
    call,
    close: async () => {
      await h.app.close();
      await h.stopDispatcher();
      await h.runtime.close();
    },
    databasePath: join(dataDir, 'switchboard.sqlite'),
    restart: async (between, restartOptions) => {
      await h.app.close();
      await h.stopDispatcher();
      await h.runtime.close();
      between?.(join(dataDir, 'switchboard.sqlite'));
      await restartOptions?.betweenAsync?.();
      const fresh = newNetwork();
      networks.push(fresh);
      const next = await open(fresh);
      Object.assign(h, next, { network: fresh, dispatcher: restartOptions?.dispatcher === false ? null : startDispatcher(next.runtime) });
      client.taskrouter.baseUrl = next.base;
    },
    dialedKeys: () => networks.flatMap((n) => n.dials.map((d) => d.key)),
  };
  return h;
}
