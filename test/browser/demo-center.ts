/**
 * The demo center for the agent desktop's browser tests: the real HTTP app on 127.0.0.1 over a
 * real store, `serve --demo`'s workspace on the simulated telephone network in virtual time (the
 * clock started at the wall clock, since the browser shows durations against its own), with the
 * outbox dispatcher delivering voice and conversation rows as soon as they are written. The
 * demo brings no traffic of its own (each test brings its calls and chats), every agent starts
 * away (Unavailable: not Offline, the timeout activity the demo's agents come back from by
 * themselves), and the demo's simulated agents leave alone any worker with a socket (its
 * `isHuman`, as `serve --demo` wires it) — the people in the browser and the SDK in Node.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import twilio from 'twilio';
import { buildApp } from '../../src/api/app.ts';
import { workerSocketsOf } from '../../src/api/routes/worker-sdk.ts';
import { startDemo, type Demo } from '../../src/cli/demo.ts';
import type { WorkspaceEngine } from '../../src/engine/index.ts';
import { Runtime } from '../../src/runtime/runtime.ts';
import { VirtualScheduler } from '../../src/runtime/scheduler.ts';
import { SimulatedVoiceNetwork } from '../../src/voice/simulated-voice.ts';
import { WebhookDispatcher } from '../../src/webhooks/dispatcher.ts';
import { testStoreOptions } from '../support/store.ts';

export interface DemoCenter {
  scheduler: VirtualScheduler;
  network: SimulatedVoiceNetwork;
  runtime: Runtime;
  app: ReturnType<typeof buildApp>;
  demo: Demo;
  /** `http://127.0.0.1:<port>`. */
  base: string;
  accountSid: string;
  engine: WorkspaceEngine;
  /** A demo agent's worker SID by name (Asha, Ravi, Ben, Meera). */
  workerSid: (name: string) => string;
  /** A worker access token for `workerSid`, signed by an API key made through the `twilio` client (as a sign-in backend would). */
  tokenOf: (workerSid: string, identity: string) => string;
  /** Advances the virtual clock by `ms` in steps of a second, letting the browser's requests in between. */
  advance: (ms: number) => Promise<void>;
  close: () => Promise<void>;
}

/** Starts the demo center; `seed` is the simulated network's. */
export async function startDemoCenter(seed: number): Promise<DemoCenter> {
  const scheduler = new VirtualScheduler(Date.now());
  const network = new SimulatedVoiceNetwork({ scheduler, seed });
  const runtime = await Runtime.open({ ...testStoreOptions(mkdtempSync(join(tmpdir(), 'switchboard-console-'))), scheduler, voice: { port: network } });
  const dispatcher = new WebhookDispatcher(runtime, { scheduler, pollMs: 0, onAlert: () => undefined, deliverers: { ...runtime.voice.deliverers(), ...runtime.conversations.deliverers() } });
  dispatcher.start();
  const app = buildApp({ runtime, clock: () => scheduler.now() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const account = await runtime.createAccount('Demo');
  const sockets = workerSocketsOf(app)!;
  const demo = await startDemo(runtime, account.sid, network, { callEverySeconds: 0, chatEverySeconds: 0, isHuman: (sid) => sockets.connections(sid) > 0 });
  const engine = runtime.workspace(account.sid, demo.workspaceSid)!;
  const away = [...engine.activities.values()].find((a) => a.friendlyName === 'Unavailable')!.sid;
  for (const w of engine.workers.values()) await runtime.execute(demo.workspaceSid, { type: 'updateWorker', workerSid: w.sid, activitySid: away });

  const client = twilio(account.sid, account.secret);
  client.api.baseUrl = base;
  const key = await client.newKeys.create({ friendlyName: 'console sign-in' });
  return {
    scheduler,
    network,
    runtime,
    app,
    demo,
    base,
    accountSid: account.sid,
    engine,
    workerSid: (name) => [...engine.workers.values()].find((w) => w.friendlyName === name)!.sid,
    tokenOf: (workerSid, identity) => {
      const t = new twilio.jwt.AccessToken(account.sid, key.sid, key.secret!, { identity, ttl: 3600 });
      t.addGrant(new twilio.jwt.AccessToken.TaskRouterGrant({ workspaceSid: demo.workspaceSid, workerSid, role: 'worker' }));
      return t.toJwt();
    },
    advance: async (ms) => {
      for (let t = 0; t < ms; t += 1000) await scheduler.advance(Math.min(1000, ms - t));
    },
    close: async () => {
      demo.stop();
      await app.close();
      await dispatcher.stop();
      await runtime.close();
    },
  };
}

/** Debian's Chromium (or SWITCHBOARD_CHROMIUM) through playwright-core, headless, no network of its own, sound allowed without a gesture (the ring). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env['SWITCHBOARD_CHROMIUM'] ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'],
  });
}
