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

/** `a mod b` with the sign of `b`, so instants before 1970 still fall inside their day. */
function floorMod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

/**
 * The UTC day of the week of an epoch-millisecond instant, 0 = Sunday … 6 = Saturday (what
 * `Date.prototype.getUTCDay` answers), by arithmetic: 1970-01-01 was a Thursday.
 */
export function utcWeekday(ms: number): number {
  return floorMod(Math.floor(ms / DAY_MS) + 4, 7);
}

/** The proleptic Gregorian UTC date of a count of days since 1970-01-01 (H. Hinnant's `civil_from_days`). */
function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * An epoch-millisecond instant as ISO 8601 in UTC, exactly as `Date.prototype.toISOString`
 * writes it (`1999-02-07T09:30:00.000Z`; six-digit signed years outside 0000–9999), without
 * `Date`, so pure cores can name an instant in a message. Throws RangeError where `Date` would
 * (not a finite number, or beyond ±8.64e15 ms).
 */
export function isoInstant(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw new RangeError('Invalid time value');
  const t = Math.trunc(ms) + 0; // Date keeps whole milliseconds; + 0 turns -0 into 0
  const days = Math.floor(t / DAY_MS);
  const inDay = t - days * DAY_MS;
  const { year, month, day } = civilFromDays(days);
  const pad = (n: number, width: number): string => String(n).padStart(width, '0');
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  const hh = Math.floor(inDay / HOUR_MS);
  const mm = Math.floor((inDay % HOUR_MS) / MINUTE_MS);
  const ss = Math.floor((inDay % MINUTE_MS) / SECOND_MS);
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)}T${pad(hh, 2)}:${pad(mm, 2)}:${pad(ss, 2)}.${pad(inDay % SECOND_MS, 3)}Z`;
}
