/**
 * Time units. Inside Switchboard every instant is epoch milliseconds (`…At`, `…Ms`); Twilio's
 * wire format uses whole seconds and ISO-8601, converted only at the edges.
 */

export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** Whole seconds elapsed from `fromMs` to `toMs`, truncated (Twilio's `age`). */
export function wholeSecondsBetween(fromMs: number, toMs: number): number {
  return Math.floor((toMs - fromMs) / SECOND_MS);
}

/** Epoch seconds (truncated) of an epoch-millisecond instant. */
export function epochSeconds(ms: number): number {
  return Math.floor(ms / SECOND_MS);
}
