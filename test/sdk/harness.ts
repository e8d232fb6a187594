/**
 * Harness for the worker SDK tests: a real Runtime (the tests' store: test/support/store.ts) and
 * the app listening on 127.0.0.1, an account, an API key made through the official `twilio` client,
 * a FIFO workspace with workers, and access tokens made by `twilio.jwt.AccessToken` — then the
 * unmodified `twilio-taskrouter` package connects to `/v1/wschannels`.
 *
 * Time is virtual (a VirtualScheduler that starts at the wall clock's now, so that the `iat`/`exp`
 * twilio-node stamps from Date.now() agree with the server's clock): reservation timeouts,
 * heartbeats, token expiry and the offline grace are skipped with `advance`, never waited for. The
 * SDK's own timers are real; {@link stopWorker} stops them when a test is done with a worker.
 */
import { mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import taskrouter from 'twilio-taskrouter';
import type { FastifyInstance } from 'fastify';
import { testStoreOptions } from '../support/store.ts';
import { buildApp } from '../../src/api/app.ts';
import { workerSocketsOf } from '../../src/api/routes/worker-sdk.ts';
import type { WorkerSockets } from '../../src/api/worker-sockets.ts';
import { Runtime, type NewCredentials } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';

export type Client = ReturnType<typeof twilio>;
export type SdkWorker = InstanceType<typeof taskrouter.Worker>;
export const { Worker } = taskrouter;

/** The offline grace the harness's server runs with (ms). */
export const OFFLINE_GRACE_MS = 30_000;

export interface SdkHarness {
  runtime: Runtime;
  app: FastifyInstance;
  hub: WorkerSockets;
  base: string;
  /** `ws://127.0.0.1:port/v1/wschannels` and its http twin: the SDK's `wsServer` and `ebServer`. */
  wsServer: string;
  ebServer: string;
  account: NewCredentials;
  client: Client;
  /** The API key made through `client.newKeys.create()`. */
  key: { sid: string; secret: string };
  scheduler: VirtualScheduler;
  advance: (ms: number) => Promise<void>;
  workspaceSid: string;
  workflowSid: string;
  queueSid: string;
  activities: Record<'Offline' | 'Available' | 'Unavailable', string>;
  /** Creates a worker (Offline) and returns its SID. */
  newWorker: (name: string) => Promise<string>;
  /** An access token for `workerSid` (role `worker` by default), made by twilio-node, valid `ttl` seconds of the server's (virtual) time. */
  token: (workerSid: string | null, opts?: { role?: string; ttl?: number; secret?: string; workspaceSid?: string }) => string;
  /** Connects the SDK as `workerSid` and resolves once it is `ready`. */
  connect: (workerSid: string, opts?: { closeExistingSessions?: boolean; token?: string; connectActivitySid?: string }) => Promise<SdkWorker>;
  close: () => Promise<void>;
}

export async function startSdkHarness(): Promise<SdkHarness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-sdk-'));
  const scheduler = new VirtualScheduler(Date.now());
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), scheduler });
  const app = buildApp({ runtime, clock: () => scheduler.now(), workerSdk: { offlineGraceMs: OFFLINE_GRACE_MS } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  const account = await runtime.createAccount('Acme');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  client.api.baseUrl = base;
  const created = await client.newKeys.create({ friendlyName: 'agents' });
  const key = { sid: created.sid, secret: created.secret };
  const ws = await client.taskrouter.v1.workspaces.create({ friendlyName: 'SDK', template: 'FIFO' });
  const activities = Object.fromEntries((await client.taskrouter.v1.workspaces(ws.sid).activities.list()).map((a) => [a.friendlyName, a.sid])) as SdkHarness['activities'];
  const workflowSid = (await client.taskrouter.v1.workspaces(ws.sid).workflows.list())[0]?.sid as string;
  const queueSid = (await client.taskrouter.v1.workspaces(ws.sid).taskQueues.list())[0]?.sid as string;
  const wsServer = `ws://127.0.0.1:${port}/v1/wschannels`;
  const ebServer = `${base}/v1/wschannels`;
  const workers: SdkWorker[] = [];
  const token: SdkHarness['token'] = (workerSid, opts = {}) => {
    const grant = new twilio.jwt.AccessToken.TaskRouterGrant({ workspaceSid: opts.workspaceSid ?? ws.sid, ...(workerSid === null ? {} : { workerSid }), role: opts.role ?? 'worker' });
    // twilio-node stamps iat from Date.now(); the server's virtual clock runs ahead once a test has
    // skipped time (and behind while it has not), so the ttl is corrected by that lead: the token
    // lives `ttl` seconds of server time.
    const lead = Math.round((scheduler.now() - Date.now()) / 1000);
    const t = new twilio.jwt.AccessToken(account.sid, key.sid, opts.secret ?? key.secret, { identity: workerSid ?? 'admin', ttl: Math.max(1, (opts.ttl ?? 3600) + lead) });
    t.addGrant(grant);
    return t.toJwt();
  };
  const hub = workerSocketsOf(app) as WorkerSockets;
  return {
    runtime,
    app,
    hub,
    base,
    wsServer,
    ebServer,
    account,
    client,
    key,
    scheduler,
    advance: (ms) => scheduler.advance(ms),
    workspaceSid: ws.sid,
    workflowSid,
    queueSid,
    activities,
    newWorker: async (name) => (await client.taskrouter.v1.workspaces(ws.sid).workers.create({ friendlyName: name, activitySid: activities.Offline })).sid,
    token,
    connect: async (workerSid, opts = {}) => {
      const w = new Worker(opts.token ?? token(workerSid), {
        ebServer,
        wsServer,
        ...(opts.closeExistingSessions === undefined ? {} : { closeExistingSessions: opts.closeExistingSessions }),
        ...(opts.connectActivitySid === undefined ? {} : { connectActivitySid: opts.connectActivitySid }),
        logLevel: 'silent',
      });
      workers.push(w);
      const failed = once(w, 'error').then(([e]) => Promise.reject(e as Error));
      await Promise.race([once(w, 'ready'), failed]);
      failed.catch(() => undefined);
      return w;
    },
    close: async () => {
      for (const w of workers) stopWorker(w);
      await app.close();
      await runtime.close();
    },
  };
}

/**
 * Disconnects the SDK and stops its own wall-clock timers, which `disconnect()` leaves armed (the
 * heartbeat watchdog's interval, the token-expiry timeout): otherwise they keep the test process
 * alive for up to a minute. Reaches into the SDK's internals for that only.
 */
export function stopWorker(w: SdkWorker): void {
  const signaling = (w as unknown as { _signaling?: { tokenTimer?: NodeJS.Timeout | null; _heartbeat?: { pintvl: NodeJS.Timeout | null }; reconnect?: boolean } })._signaling;
  try {
    w.disconnect();
  } catch {
    // already closed
  }
  if (signaling !== undefined) {
    signaling.reconnect = false;
    if (signaling.tokenTimer) clearTimeout(signaling.tokenTimer);
    if (signaling._heartbeat?.pintvl) clearInterval(signaling._heartbeat.pintvl);
    if (signaling._heartbeat) signaling._heartbeat.pintvl = null;
  }
}

/** Resolves with the first `event` the emitter emits (its arguments). */
export function next<T extends unknown[] = unknown[]>(emitter: NodeJS.EventEmitter | { on: (e: string, f: (...a: unknown[]) => void) => unknown; once?: unknown }, event: string): Promise<T> {
  return once(emitter as NodeJS.EventEmitter, event) as Promise<T>;
}
