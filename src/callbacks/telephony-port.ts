/**
 * The telephony port: how the callback service places and ends customer calls. Adapters:
 * src/voice/simulated-network.ts (virtual time, scripted or seeded random outcomes) and
 * src/voice/twilio-calls.ts (Twilio's Calls API through the official `twilio` client).
 *
 * `dial` returns at once; the outcome arrives later through the listener given to
 * `onOutcome`, carrying the request's idempotency key. An adapter must place at most one call
 * per key: a repeated `dial` with a key it has seen is ignored (a restarted driver may hand the
 * same effect out again).
 *
 * After a restart the service hands the port the dials its centers still wait on
 * ({@link TelephonyPort.resume}), so an outcome the provider reports for such a key is delivered
 * (once) instead of being dropped, and the key is never dialed again.
 *
 * A port whose provider reports back over HTTP also implements {@link TwilioWebhooks}; the API
 * mounts the provider's webhook routes only for such a port ({@link hasTwilioWebhooks}), so it
 * never needs to know which adapter it was given.
 */
import type { DialOutcome } from './center.ts';

/**
 * The name of the conference that bridges the customer of dial `key` (`<callback sid>:<attempt>`)
 * to an agent: `callback-<callback sid>-<attempt>`. The callback's return (CF) or agent-first task
 * carries it as the `conference_name` attribute, and the Twilio adapter puts the confirmed
 * customer into `<Dial><Conference>` with this name (src/voice/twilio-calls.ts), so the agent's
 * leg — a desktop, or the reservation's `conference`/`dequeue` instruction — joins the same room.
 * Letters, digits and `-` only (safe in TwiML and URLs).
 */
export function callbackConferenceName(key: string): string {
  return `callback-${key.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

/** One call to place (the center's `dial` effect). */
export interface DialRequest {
  /** Idempotency key `<callback sid>:<attempt>`. */
  key: string;
  callbackSid: string;
  /** E.164 number to call. */
  to: string;
  /** Caller ID (E.164) or null for the adapter's default. */
  from: string | null;
  /** Seconds to let it ring before giving up (`no_answer`). */
  ringTimeoutSeconds: number;
}

/** The outcome of a dial, reported once per key through {@link TelephonyPort.onOutcome}. */
export interface DialResult {
  key: string;
  outcome: DialOutcome;
  /** When the outcome happened, epoch ms (virtual time for the simulated network). */
  at: number;
  /** The provider's call id (`CA…` for Twilio), when there is one. */
  callSid: string | null;
}

/**
 * A dial the service still waits on after a restart (rebuilt from the persisted attempts of
 * src/callbacks/center.ts: the open attempt's `dialKey` and the callback's status).
 */
export interface ResumedDial {
  /** Idempotency key `<callback sid>:<attempt>` of the dial. */
  key: string;
  /**
   * The provider's call id (`CA…`) as saved on the attempt (see {@link TelephonyPort.onCallPlaced}),
   * or null when it was never saved: the adapter then learns it from the provider's next webhook.
   */
  callSid: string | null;
  /**
   * `dialing`: no outcome yet (the center accepts the first one). `ready`: the customer pressed 1
   * and is waiting for / talking to the agent (outcome delivered; their hang-up is still of interest).
   */
  stage: 'dialing' | 'ready';
}

/** How the callback service places and ends calls (see the module comment). */
export interface TelephonyPort {
  /** Places the call unless `key` was dialed before. `now` = epoch ms (virtual time where that applies). */
  dial(request: DialRequest, now: number): void | Promise<void>;
  /** Ends the call of `key` if it is still up; unknown keys are ignored. */
  hangup(key: string, now: number): void | Promise<void>;
  /** Registers the listener that receives every outcome exactly once per key. */
  onOutcome(listener: (result: DialResult) => void): void;
  /**
   * Optional: registers the listener told, at most once per key, that a customer who had
   * confirmed readiness (`ready`) hung up (`at`: epoch ms) — e.g. while waiting for an agent. The
   * service turns it into `CallbackCenter.customerHungUp` (spec §2.1 step 6), which ignores it
   * once an agent is connected.
   */
  onCustomerHangup?(listener: (hangup: { key: string; at: number }) => void): void;
  /**
   * Optional: registers the listener told, at most once per key, the provider's call id as soon
   * as the port knows it (Twilio: the Calls API's create response; for a resumed key without one,
   * the first webhook). The service records it on the attempt (`CallbackCenter.recordCallSid`),
   * so it is persisted and handed back through {@link TelephonyPort.resume} after a restart.
   */
  onCallPlaced?(listener: (placed: { key: string; callSid: string }) => void): void;
  /**
   * Optional: called once, when the service opens over saved state, before any webhook or tick,
   * with every dial still in flight (see {@link ResumedDial}). The port takes those keys as
   * already dialed — a later `dial` with one of them is ignored — and, when its provider can still
   * report on the call (Twilio's webhooks carry the key), delivers that call's outcome exactly
   * once through `onOutcome` (stage `dialing`) or its customer's hang-up through
   * `onCustomerHangup` (stage `ready`). Keys the port already tracks are left as they are. Throws
   * RangeError (naming the field) on a malformed entry, before taking any of them.
   * A port without it: the center times such dials out after ring timeout + `dialGraceSeconds`.
   */
  resume?(dials: readonly ResumedDial[]): void;
  /**
   * Optional, for a port that keeps its own time (the simulated network): when its next outcome
   * is due, epoch ms, or null. The host then calls {@link deliverUntil} at that instant.
   */
  nextDue?(): number | null;
  /** Optional, with {@link nextDue}: delivers (through `onOutcome`) every outcome due up to `now` (epoch ms). */
  deliverUntil?(now: number): DialResult[];
}

/**
 * The provider webhooks of a port whose provider calls us back over HTTP, Twilio-style: the
 * StatusCallback of every call placed and the action of the readiness prompt's `<Gather>`. The
 * API receives the requests (and checks their signature) and hands the parameters here.
 * Implemented by src/voice/twilio-calls.ts.
 */
export interface TwilioWebhooks {
  /**
   * A status callback's form parameters (`CallSid`, `CallStatus`, `AnsweredBy`, `ErrorCode`…) for
   * the call of `key` (the dial's idempotency key from our `?key=`; without it, found by
   * `CallSid`). Returns the outcome it delivered, or null.
   */
  handleStatusCallback(params: Record<string, string | undefined>, key?: string): DialOutcome | null;
  /** The digits the customer pressed at the readiness prompt of the call of `key`; returns the outcome it delivered, or null. */
  handleGather(key: string, digits: string | undefined, callSid?: string): DialOutcome | null;
  /** The TwiML answering that `<Gather>` for `key`, after {@link TwilioWebhooks.handleGather}. */
  gatherTwiml(key: string): string;
}

/** Whether a telephony port takes provider webhooks ({@link TwilioWebhooks}); a structural test, so the caller needs no adapter. */
export function hasTwilioWebhooks(port: TelephonyPort | null): port is TelephonyPort & TwilioWebhooks {
  if (port === null) return false;
  const p = port as Partial<TwilioWebhooks>;
  return typeof p.handleStatusCallback === 'function' && typeof p.handleGather === 'function' && typeof p.gatherTwiml === 'function';
}

/** Checks a resume list (throws RangeError naming the entry and field, e.g. `dials[2].key must be a non-empty string`). */
export function checkResumedDials(dials: readonly ResumedDial[]): void {
  if (!Array.isArray(dials)) throw new RangeError('dials must be an array');
  dials.forEach((d, i) => {
    if (typeof d?.key !== 'string' || d.key === '') throw new RangeError(`dials[${i}].key must be a non-empty string`);
    if (d.callSid !== null && (typeof d.callSid !== 'string' || d.callSid === '')) throw new RangeError(`dials[${i}].callSid must be null or a non-empty string`);
    if (d.stage !== 'dialing' && d.stage !== 'ready') throw new RangeError(`dials[${i}].stage must be dialing or ready`);
  });
}
