/**
 * Configuration of the callback cores' hosting from the environment (`switchboard serve`; see
 * docs/api-callbacks.md "Running the service"). Bad values throw an Error naming the variable.
 *
 * - `SWITCHBOARD_TELEPHONY`: `simulated` (default) or `twilio`.
 * - simulated: `SWITCHBOARD_SIM_NETWORK` = JSON of SimulatedNetworkOptions (seed, answerRate,
 *   voicemailRate, busyRate, readyRate, ringMinSeconds, ringMaxSeconds, promptSeconds,
 *   busySeconds) plus `script: {"+1415…": ["no_answer", "ready"]}` (outcomes per number, used first).
 * - twilio: `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `SWITCHBOARD_CALLBACK_FROM` (caller ID),
 *   `SWITCHBOARD_CALLBACK_TWIML_URL` (readiness prompt), `SWITCHBOARD_CALLBACK_STATUS_URL` (our
 *   status-callback endpoint), optional `SWITCHBOARD_TWILIO_API_BASE_URL` (another Calls API host).
 * - `SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE` = `0`/`1` (CenterOptions.holdUntilQuote, default 1).
 * - `SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS` (CenterOptions.dialGraceSeconds, default 120).
 * - `SWITCHBOARD_CALLBACK_DIAL_LOG`: a file that gets one JSON line per dial handed to the port.
 */
import type { CallbackHostingOptions } from '../runtime/callbacks-hosting.ts';
import { DIAL_OUTCOMES, type DialOutcome } from '../callbacks/center.ts';
import { SimulatedNetwork, type SimulatedNetworkOptions } from '../voice/simulated-network.ts';
import { TwilioCalls } from '../voice/twilio-calls.ts';
import { TwilioVoice } from '../voice/twilio-voice.ts';
import { TwilioMessaging } from '../messaging/twilio-messaging.ts';
import type { Scheduler } from '../util/scheduler.ts';

/** The hosting options the environment decides (everything but where errors are reported). */
export type ServiceConfig = Omit<CallbackHostingOptions, 'onError'>;

function env(name: string, source: NodeJS.ProcessEnv): string | undefined {
  const v = source[name];
  return v === undefined || v === '' ? undefined : v;
}

function required(name: string, source: NodeJS.ProcessEnv): string {
  const v = env(name, source);
  if (v === undefined) throw new Error(`${name} is required when SWITCHBOARD_TELEPHONY=twilio`);
  return v;
}

/** The simulated network described by `SWITCHBOARD_SIM_NETWORK` (JSON), or a default one. */
export function simulatedNetworkFrom(json: string | undefined): SimulatedNetwork {
  if (json === undefined) return new SimulatedNetwork();
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (error) {
    throw new Error(`SWITCHBOARD_SIM_NETWORK is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('SWITCHBOARD_SIM_NETWORK must be a JSON object');
  const { script, ...options } = parsed as SimulatedNetworkOptions & { script?: Record<string, unknown> };
  for (const [k, v] of Object.entries(options)) if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`SWITCHBOARD_SIM_NETWORK.${k} must be a number`);
  const network = new SimulatedNetwork(options);
  for (const [number, outcomes] of Object.entries(script ?? {})) {
    if (!Array.isArray(outcomes) || !outcomes.every((o) => (DIAL_OUTCOMES as readonly unknown[]).includes(o))) {
      throw new Error(`SWITCHBOARD_SIM_NETWORK.script.${number} must list outcomes among ${DIAL_OUTCOMES.join(', ')}`);
    }
    network.script(number, outcomes as DialOutcome[]);
  }
  return network;
}

/** Reads the callbacks service's settings from `source` (default process.env). */
export async function serviceConfigFromEnv(source: NodeJS.ProcessEnv = process.env): Promise<ServiceConfig> {
  const config: ServiceConfig = {};
  const hold = env('SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE', source);
  const grace = env('SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS', source);
  if (hold !== undefined && hold !== '0' && hold !== '1') throw new Error('SWITCHBOARD_CALLBACK_HOLD_UNTIL_QUOTE must be 0 or 1');
  if (grace !== undefined && !(Number(grace) >= 0)) throw new Error('SWITCHBOARD_CALLBACK_DIAL_GRACE_SECONDS must be a number of seconds ≥ 0');
  config.center = { ...(hold !== undefined ? { holdUntilQuote: hold === '1' } : {}), ...(grace !== undefined ? { dialGraceSeconds: Number(grace) } : {}) };
  const log = env('SWITCHBOARD_CALLBACK_DIAL_LOG', source);
  if (log !== undefined) config.dialLog = log;
  const kind = env('SWITCHBOARD_TELEPHONY', source) ?? 'simulated';
  if (kind === 'simulated') {
    config.telephony = simulatedNetworkFrom(env('SWITCHBOARD_SIM_NETWORK', source));
  } else if (kind === 'twilio') {
    // The official client is loaded only when real calls are wanted.
    const twilio = (await import('twilio')).default;
    const authToken = required('TWILIO_AUTH_TOKEN', source);
    const client = twilio(required('TWILIO_ACCOUNT_SID', source), authToken);
    config.telephonyAuthToken = authToken;
    const base = env('SWITCHBOARD_TWILIO_API_BASE_URL', source);
    if (base !== undefined) client.api.baseUrl = base;
    config.telephony = new TwilioCalls({
      client,
      defaultFrom: required('SWITCHBOARD_CALLBACK_FROM', source),
      url: required('SWITCHBOARD_CALLBACK_TWIML_URL', source),
      statusCallback: required('SWITCHBOARD_CALLBACK_STATUS_URL', source),
      ...(env('SWITCHBOARD_CALLBACK_CONFERENCE_WAIT_URL', source) !== undefined ? { conferenceWaitUrl: env('SWITCHBOARD_CALLBACK_CONFERENCE_WAIT_URL', source) as string } : {}),
    });
  } else {
    throw new Error(`SWITCHBOARD_TELEPHONY must be simulated or twilio, not ${kind}`);
  }
  return config;
}

/**
 * The Twilio voice and messaging adapters (src/voice/twilio-voice.ts, src/messaging/twilio-messaging.ts)
 * when `SWITCHBOARD_TELEPHONY=twilio`, from the
 * same variables as the callbacks' (`TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, optional
 * `SWITCHBOARD_TWILIO_API_BASE_URL`), with its auth token for the webhooks' signatures; null
 * otherwise. `publicUrl`: our base URL as Twilio reaches it (the server sets it after listening
 * when none is given). Throws an Error naming a missing variable.
 */
export async function twilioVoiceFromEnv(scheduler: Scheduler, publicUrl: string | undefined, source: NodeJS.ProcessEnv = process.env): Promise<{ port: TwilioVoice; messaging: TwilioMessaging; authToken: string } | null> {
  if ((env('SWITCHBOARD_TELEPHONY', source) ?? 'simulated') !== 'twilio') return null;
  const twilio = (await import('twilio')).default;
  const authToken = required('TWILIO_AUTH_TOKEN', source);
  const client = twilio(required('TWILIO_ACCOUNT_SID', source), authToken);
  const base = env('SWITCHBOARD_TWILIO_API_BASE_URL', source);
  if (base !== undefined) client.api.baseUrl = base;
  return {
    port: new TwilioVoice({ client, publicUrl: publicUrl ?? 'http://127.0.0.1', now: () => scheduler.now() }),
    messaging: new TwilioMessaging({ client, publicUrl: publicUrl ?? null, now: () => scheduler.now() }),
    authToken,
  };
}
