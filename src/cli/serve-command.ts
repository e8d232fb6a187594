/**
 * `switchboard serve`: the TaskRouter-compatible REST server over the embedded SQLite store, or
 * PostgreSQL with `--database-url`. On first
 * start it creates an account and prints its Account SID and Auth Token once. Stops gracefully
 * on SIGINT/SIGTERM: in-flight commits finish, snapshots are written.
 */
import { mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { buildApp } from '../api/app.ts';
import { Runtime } from '../runtime/runtime.ts';
import { CallbackService } from '../runtime/callback-service.ts';
import { serviceConfigFromEnv, twilioVoiceFromEnv } from './telephony-config.ts';
import { DEMO_CHAT_ADDRESS, startDemo, type Demo } from './demo.ts';
import { workerSocketsOf } from '../api/routes/worker-sdk.ts';
import { systemScheduler } from '../runtime/scheduler.ts';
import { SimulatedNetwork } from '../voice/simulated-network.ts';
import { SimulatedVoiceNetwork } from '../voice/simulated-voice.ts';
import { SimulatedMessagingNetwork } from '../messaging/simulated-messaging.ts';
import { conversationWebhookDeliverer } from '../webhooks/conversation-webhooks.ts';
import { streamWebhookDeliverer } from '../webhooks/stream-webhooks.ts';
import { streamNatsDeliverer } from '../webhooks/stream-nats.ts';
import { PostClient } from '../webhooks/http-post.ts';
import { WebhookDispatcher } from '../webhooks/dispatcher.ts';
import { DataDirLockedError, lockDataDir, type DataDirLock } from './data-dir-lock.ts';

export interface ServeOptions {
  host: string;
  port: number;
  dataDir: string;
  /** PostgreSQL instead of SQLite (checked by the caller: postgres:// or postgresql://). */
  databaseUrl?: string;
  /** With `databaseUrl`: the schema to keep the tables in. */
  databaseSchema?: string;
  publicBaseUrl?: string;
  synchronous: 'FULL' | 'NORMAL';
  logLevel: string;
  /** Set up the seed tutorial's demo center with simulated callers and agents (src/cli/demo.ts). */
  demo?: boolean;
}

/**
 * Starts the server. A data directory held by another live server is refused before anything is
 * opened: the error (naming the directory and the holder's pid) goes to stderr and the exit code
 * is 1 (see data-dir-lock.ts).
 */
export async function runServeCommand(opts: ServeOptions): Promise<void> {
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  // The data directory is locked with PostgreSQL too (it holds the server key). That keeps two
  // servers started on one data directory apart, not two servers on one database: running several
  // nodes on one PostgreSQL database needs the per-workspace leases of a later issue.
  let lock: DataDirLock;
  try {
    lock = lockDataDir(opts.dataDir);
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    process.stderr.write(`switchboard serve: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  // Callback settings (docs/api-callbacks.md) are checked before anything is opened.
  let callbackConfig: Awaited<ReturnType<typeof serviceConfigFromEnv>>;
  try {
    callbackConfig = await serviceConfigFromEnv();
  } catch (error) {
    process.stderr.write(`switchboard serve: ${(error as Error).message}\n`);
    process.exitCode = 1;
    lock.release();
    return;
  }
  const logger = opts.logLevel === 'silent' ? false : pino({ level: opts.logLevel });
  // Voice (docs/voice.md): the same telephone as the callbacks — the simulated network, or Twilio.
  const voiceNetwork = callbackConfig.telephony instanceof SimulatedNetwork || callbackConfig.telephony === undefined ? new SimulatedVoiceNetwork({ scheduler: systemScheduler }) : null;
  const twilioVoice = voiceNetwork === null ? await twilioVoiceFromEnv(systemScheduler, opts.publicBaseUrl) : null;
  const voicePort = voiceNetwork ?? twilioVoice?.port ?? null;
  // Chats over SMS/WhatsApp (docs/conversations.md): the same choice of network.
  const messaging = twilioVoice?.messaging ?? new SimulatedMessagingNetwork({ scheduler: systemScheduler });
  // Callbacks (docs/api-callbacks.md): telephony and options from the environment.
  let runtime: Runtime;
  try {
    runtime = await Runtime.open({
      dataDir: opts.dataDir,
      ...(opts.databaseUrl === undefined ? {} : { databaseUrl: opts.databaseUrl }),
      ...(opts.databaseSchema === undefined ? {} : { databaseSchema: opts.databaseSchema }),
      synchronous: opts.synchronous,
      callbacks: { ...callbackConfig, onError: (error) => (logger === false ? undefined : logger.error({ err: error }, 'callbacks')) },
      voice: {
        ...(voicePort === null ? {} : { port: voicePort }),
        ...(process.env['SWITCHBOARD_VOICE_CONNECT_LOG'] ? { connectLog: process.env['SWITCHBOARD_VOICE_CONNECT_LOG'] } : {}),
        onError: (error) => (logger === false ? undefined : logger.error({ err: error }, 'voice')),
      },
      messaging,
    });
  } catch (error) {
    process.stderr.write(`switchboard serve: cannot open the ${opts.databaseUrl === undefined ? 'SQLite' : 'PostgreSQL'} store: ${(error as Error).message}\n`);
    process.exitCode = 1;
    lock.release();
    return;
  }
  let created: { sid: string; secret: string } | null = null;
  if (runtime.accountCount === 0) created = await runtime.createAccount('Default account');
  const callbacks = new CallbackService(runtime);
  // One clock for the whole server: the app, the runtime's cores and the dispatcher all read the
  // runtime's scheduler (the wall clock here; tests run the same wiring on a VirtualScheduler).
  const app = buildApp({
    runtime,
    clock: () => runtime.scheduler.now(),
    publicBaseUrl: opts.publicBaseUrl,
    logger,
    callbacks,
    webchat: { origins: webChatOriginsFromEnv(process.env['SWITCHBOARD_WEBCHAT_ORIGINS']) },
    workerSdk: { offlineGraceMs: offlineGraceFromEnv(process.env['SWITCHBOARD_WORKER_OFFLINE_GRACE_S']) },
    ...(twilioVoice === null ? {} : { voice: { twilio: twilioVoice.port, authToken: twilioVoice.authToken }, messaging: { twilio: twilioVoice.messaging, authToken: twilioVoice.authToken } }),
  });
  const address = await app.listen({ host: opts.host, port: opts.port });
  // Twilio calls us back at the public base URL; without one, at the address we listen on.
  if (twilioVoice !== null && opts.publicBaseUrl === undefined) {
    twilioVoice.port.publicUrl = address;
    twilioVoice.messaging.publicUrl = address;
  }
  // Event and assignment callbacks, and the callback core's dials and hang-ups (to the telephony
  // port), from the outbox (also rows left by a previous run).
  const natsSinks = streamNatsDeliverer();
  const webhooks = new WebhookDispatcher(runtime, {
    scheduler: runtime.scheduler,
    deliverers: {
      ...runtime.callbacks.deliverers(),
      ...runtime.voice.deliverers(),
      ...runtime.conversations.deliverers(),
      'conversation.webhook': conversationWebhookDeliverer(runtime, new PostClient(runtime.scheduler)),
      'stream.webhook': streamWebhookDeliverer(runtime, new PostClient(runtime.scheduler)),
      'stream.nats': natsSinks,
    },
    onDeliveryFailure: (failure) => app.log.error({ failure: { ...failure, error: String(failure.error) } }, 'outbox delivery failed'),
    onAlert: (alert) => app.log.warn({ alert }, 'webhook alert'),
    onInstruction: (instruction) => app.log.info({ instruction }, 'assignment instruction'),
  });
  webhooks.start();
  const base = opts.publicBaseUrl ?? address;
  const out = process.stdout;
  const where = opts.databaseUrl === undefined ? `data in ${opts.dataDir}` : `data in PostgreSQL${opts.databaseSchema === undefined ? '' : `, schema ${opts.databaseSchema}`}`;
  out.write(`Switchboard is serving TaskRouter v1 at ${base}/v1 (${where}).\n`);
  if (created !== null) {
    out.write(
      `\nA new account was created. Its credentials are shown only this once — keep them:\n` +
        `  Account SID: ${created.sid}\n  Auth Token:  ${created.secret}\n\n` +
        `Quickstart (Node): const client = require('twilio')('${created.sid}', '<Auth Token>'); ` +
        `client.taskrouter.baseUrl = '${base}'; await client.taskrouter.v1.workspaces.create({ friendlyName: 'Support' });\n`,
    );
  }
  let demo: Demo | null = null;
  if (opts.demo === true) {
    if (voiceNetwork === null) {
      out.write('--demo needs the simulated telephone network (SWITCHBOARD_TELEPHONY=simulated); no demo started.\n');
    } else {
      const accountSid = created?.sid ?? runtime.accountSids()[0];
      if (accountSid !== undefined) {
        // A worker someone signed in as (the console's agent desktop: a worker SDK socket) is left to that person.
        const sockets = workerSocketsOf(app);
        demo = await startDemo(runtime, accountSid, voiceNetwork, { isHuman: (workerSid) => (sockets?.connections(workerSid) ?? 0) > 0 });
        out.write(
          `Demo: workspace ${demo.workspaceSid}; simulated callers dial ${demo.number} every 20 s, web chats open on ${DEMO_CHAT_ADDRESS} every 45 s, and simulated agents answer both.\n` +
            `Watch it at ${base}/console (sign in with Account SID ${accountSid} and ${created === null ? 'the auth token printed when this data directory was first used' : 'the auth token above'}); on the Agent tab, work as one of the agents yourself.\n`,
        );
      }
    }
  }
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    demo?.stop();
    await app.close();
    await webhooks.stop();
    await natsSinks.close();
    await runtime.close();
    lock.release();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/** `SWITCHBOARD_WEBCHAT_ORIGINS`: `*` (default) or a comma-separated list of origins allowed to use the web chat from a browser. */
export function webChatOriginsFromEnv(value: string | undefined): '*' | string[] {
  const list = (value ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter((o) => o !== '');
  return list.length === 0 || list.includes('*') ? '*' : list;
}

/**
 * The worker SDK's offline grace (docs/worker-sdk.md): SWITCHBOARD_WORKER_OFFLINE_GRACE_S seconds
 * (0 or more) after a worker's last socket drops before it is set offline; unset: 60 s. Throws a
 * RangeError naming the variable for anything else.
 */
export function offlineGraceFromEnv(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 60_000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`SWITCHBOARD_WORKER_OFFLINE_GRACE_S: expected a number of seconds, 0 or more (got '${value}')`);
  return Math.round(seconds * 1000);
}
