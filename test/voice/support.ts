/**
 * A voice center for tests: the real server (runtime on the tests' store, HTTP API on 127.0.0.1,
 * webhook dispatcher delivering the voice core's outbox rows) in virtual time, set up like the
 * seed tutorial (voice spec A1): activities Available / Offline / Wrap-Up, queues Hindi and
 * English, the workflow "Incoming Customer Requests", a Hindi and an English worker with a
 * `contact_uri`, the seed flow on +18005550100 — created through the REST API with the official
 * `twilio` client (TaskRouter) and plain HTTP (call flows, phone numbers).
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { seedFlow, SEED_WORKFLOW_NAME } from '../../src/callflows/index.ts';
import type { VoicePort } from '../../src/callflows/voice-port.ts';
import { CallbackService } from '../../src/runtime/callback-service.ts';
import { Runtime, type RuntimeOptions } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { testStoreOptions } from '../support/store.ts';
import type { FastifyInstance } from 'fastify';
import type { TwilioVoice } from '../../src/voice/twilio-voice.ts';

export const CENTER_NUMBER = '+18005550100';
export const HINDI_AGENT = '+919800000001';
export const ENGLISH_AGENT = '+919800000002';
export const T0 = Date.UTC(2026, 0, 5, 9); // Monday 09:00 UTC

export interface VoiceCenter {
  runtime: Runtime;
  /** The data directory (reopen a runtime on it to restart). */
  dataDir: string;
  app: FastifyInstance;
  base: string;
  scheduler: VirtualScheduler;
  client: ReturnType<typeof twilio>;
  accountSid: string;
  authToken: string;
  workspaceSid: string;
  workflowSid: string;
  flowSid: string;
  activities: { available: string; offline: string; wrapUp: string };
  workers: { hindi: string; english: string };
  dispatcher: WebhookDispatcher;
  /** Authenticated JSON request to our own API. */
  api: (method: string, path: string, form?: Record<string, string>) => Promise<{ status: number; body: Record<string, unknown> }>;
  close: () => Promise<void>;
}

/**
 * Starts the server with `port` as its telephone network (or none) and sets the seed center up.
 * `extra.workspaceSidSeed` seeds the workspace's SIDs (a seeded simulation); else they are random.
 */
export async function startVoiceCenter(
  port: VoicePort | null,
  extra: Partial<RuntimeOptions> & { dataDir?: string; twilio?: { adapter: TwilioVoice; authToken: string }; workspaceSidSeed?: number } = {},
): Promise<VoiceCenter> {
  const scheduler = (extra.scheduler as VirtualScheduler | undefined) ?? new VirtualScheduler(T0);
  const dataDir = extra.dataDir ?? mkdtempSync(join(tmpdir(), 'switchboard-voice-'));
  const runtime = await Runtime.open({ ...testStoreOptions(dataDir), ...extra, scheduler, voice: { ...(port === null ? {} : { port }), ...extra.voice } });
  const { app, base, dispatcher } = await serve(runtime, scheduler, extra.twilio);
  const account = await runtime.createAccount('Acme');
  const client = twilio(account.sid, account.secret);
  client.taskrouter.baseUrl = base;
  const api = apiOf(base, account.sid, account.secret);

  // A seeded simulation seeds the workspace's SIDs too (the runtime's own call; REST draws a seed).
  const ws =
    extra.workspaceSidSeed === undefined
      ? await client.taskrouter.v1.workspaces.create({ friendlyName: 'Voice center' })
      : (
          await runtime.createWorkspace(
            account.sid,
            { friendlyName: 'Voice center', eventCallbackUrl: null, eventsFilter: null, multiTaskEnabled: true, prioritizeQueueOrder: 'FIFO', template: 'NONE' },
            undefined,
            extra.workspaceSidSeed,
          )
        ).engine.workspace;
  const wsApi = client.taskrouter.v1.workspaces(ws.sid);
  const acts = await wsApi.activities.list();
  const find = (name: string): string => {
    const a = acts.find((x) => x.friendlyName === name);
    if (a === undefined) throw new Error(`no activity ${name}`);
    return a.sid;
  };
  const wrapUp = (await wsApi.activities.create({ friendlyName: 'Wrap-Up', available: false })).sid;
  const activities = { available: find('Available'), offline: find('Offline'), wrapUp };
  const hindiQ = await wsApi.taskQueues.create({ friendlyName: 'Hindi', targetWorkers: 'languages HAS "hindi"' });
  const englishQ = await wsApi.taskQueues.create({ friendlyName: 'English', targetWorkers: 'languages HAS "english"' });
  const configuration = JSON.stringify({
    task_routing: { filters: [{ filter_friendly_name: 'Hindi', expression: 'selected_language == "hindi"', targets: [{ queue: hindiQ.sid }] }], default_filter: { queue: englishQ.sid } },
  });
  const wf = await wsApi.workflows.create({ friendlyName: SEED_WORKFLOW_NAME, configuration, taskReservationTimeout: 120 });
  const hindi = await wsApi.workers.create({ friendlyName: 'Asha', attributes: JSON.stringify({ languages: ['hindi'], contact_uri: HINDI_AGENT }), activitySid: activities.available });
  const english = await wsApi.workers.create({ friendlyName: 'Ben', attributes: JSON.stringify({ languages: ['english'], contact_uri: ENGLISH_AGENT }), activitySid: activities.available });
  const flow = await api('POST', `/v1/Workspaces/${ws.sid}/CallFlows`, { FriendlyName: 'Seed', Definition: JSON.stringify(seedFlow(wf.sid)) });
  if (flow.status !== 201) throw new Error(`flow: ${JSON.stringify(flow.body)}`);
  const number = await api('POST', `/v1/Workspaces/${ws.sid}/PhoneNumbers`, { PhoneNumber: CENTER_NUMBER, CallFlowSid: flow.body['sid'] as string });
  if (number.status !== 201) throw new Error(`number: ${JSON.stringify(number.body)}`);
  return {
    runtime,
    dataDir,
    app,
    base,
    scheduler,
    client,
    accountSid: account.sid,
    authToken: account.secret,
    workspaceSid: ws.sid,
    workflowSid: wf.sid,
    flowSid: flow.body['sid'] as string,
    activities,
    workers: { hindi: hindi.sid, english: english.sid },
    dispatcher,
    api,
    close: async () => {
      await dispatcher.stop();
      await app.close();
      await runtime.close();
    },
  };
}

/** Serves `runtime` on 127.0.0.1 (a free port) and starts a webhook dispatcher delivering its callback and voice rows in virtual time. */
async function serve(runtime: Runtime, scheduler: VirtualScheduler, tw: { adapter: TwilioVoice; authToken: string } | undefined): Promise<{ app: FastifyInstance; base: string; dispatcher: WebhookDispatcher }> {
  const app = buildApp({
    runtime,
    clock: () => scheduler.now(),
    callbacks: new CallbackService(runtime),
    ...(tw === undefined ? {} : { voice: { twilio: tw.adapter, authToken: tw.authToken } }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  // Twilio calls the server back at its address.
  if (tw !== undefined) tw.adapter.publicUrl = base;
  const dispatcher = new WebhookDispatcher(runtime, {
    scheduler,
    pollMs: 0,
    backoffMs: 1_000,
    random: () => 0.5,
    onAlert: () => undefined,
    deliverers: { ...runtime.callbacks.deliverers(), ...runtime.voice.deliverers() },
  });
  dispatcher.start();
  return { app, base, dispatcher };
}

/** An authenticated JSON request function to the API at `base` (Basic auth with the account's SID and token). */
function apiOf(base: string, accountSid: string, secret: string): VoiceCenter['api'] {
  const auth = `Basic ${Buffer.from(`${accountSid}:${secret}`).toString('base64')}`;
  return async (method, path, form) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: auth, ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }) },
      ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  };
}

/**
 * Restarts the server of `c`: stops its dispatcher, HTTP API and runtime, opens a new runtime on
 * the same data directory and scheduler with `port` as its telephone network, serves it on a new
 * address and starts a new dispatcher (rows not delivered before are delivered then). Returns the
 * center with the new parts — same account, workspace, SIDs. `port` must accept the new runtime's
 * attach (a SimulatedVoiceNetwork after its `detach()`).
 */
export async function restartVoiceCenter(c: VoiceCenter, port: VoicePort | null): Promise<VoiceCenter> {
  await c.close();
  const runtime = await Runtime.open({ ...testStoreOptions(c.dataDir), scheduler: c.scheduler, voice: port === null ? {} : { port } });
  const { app, base, dispatcher } = await serve(runtime, c.scheduler, undefined);
  const client = twilio(c.accountSid, c.authToken);
  client.taskrouter.baseUrl = base;
  return {
    ...c,
    runtime,
    app,
    base,
    client,
    dispatcher,
    api: apiOf(base, c.accountSid, c.authToken),
    close: async () => {
      await dispatcher.stop();
      await app.close();
      await runtime.close();
    },
  };
}

/** The incoming-call webhook parameters of a caller, as Twilio names them. */
export function incomingParams(callSid: string, from: string, accountSid: string, to = CENTER_NUMBER): Record<string, string> {
  return { CallSid: callSid, AccountSid: accountSid, From: from, To: to, CallStatus: 'ringing', Direction: 'inbound', ApiVersion: '2010-04-01', Caller: from, Called: to, FromCity: 'MUMBAI', FromCountry: 'IN' };
}
