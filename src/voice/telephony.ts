/**
 * The telephony port: how the callback service places and ends customer calls. Adapters:
 * src/voice/simulated-network.ts (virtual time, scripted or seeded random outcomes) and
 * src/voice/twilio-calls.ts (Twilio's Calls API through the official `twilio` client).
 *
 * `dial` returns at once; the outcome arrives later through the listener given to
 * `onOutcome`, carrying the request's idempotency key. An adapter must place at most one call
 * per key: a repeated `dial` with a key it has seen is ignored (a restarted driver may hand the
 * same effect out again).
 */
import type { DialOutcome } from '../callbacks/center.ts';

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

export interface DialResult {
  key: string;
  outcome: DialOutcome;
  /** When the outcome happened, epoch ms (virtual time for the simulated network). */
  at: number;
  /** The provider's call id (`CA…` for Twilio), when there is one. */
  callSid: string | null;
}

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
}
