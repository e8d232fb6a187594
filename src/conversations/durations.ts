/**
 * ISO 8601 durations as the Conversations API takes them (spec conversations-events-analytics.md
 * A1: `Timers.Inactive`, `Timers.Closed`, `DefaultInactiveTimer`, `DefaultClosedTimer`), parsed
 * to SECONDS. `PT0S` means "timer off".
 *
 * Accepted: `PnDTnHnMnS` with any non-empty subset of the parts (`P1D`, `PT10M`, `P1DT2H30M`,
 * `PT90S`, `PT1.5S`: a fraction only on the seconds, up to milliseconds), and `PnW` on its own;
 * designators in either case (Java's `Duration.parse`, which Twilio's API runs on, takes both).
 * Refused: years and months (`P1Y`, `P1M`: no fixed length), signs, empty `P`/`PT`, anything else.
 */
import { ConversationError } from './model.ts';

/** Seconds in a day. */
const DAY = 86_400;

/** The longest timer we accept: `P365D` (A1 [DECISION]; Twilio's sources are silent). */
export const MAX_TIMER_SECONDS = 365 * DAY;
/** `Timers.Inactive` / `DefaultInactiveTimer` minimum, when not `PT0S` (A1). */
export const MIN_INACTIVE_SECONDS = 60;
/** `Timers.Closed` / `DefaultClosedTimer` minimum, when not `PT0S` (A1). */
export const MIN_CLOSED_SECONDS = 600;

const WEEKS = /^P(\d+)W$/i;
const DAY_TIME = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,3}))?S)?)?$/i;

function bad(field: string, text: unknown, why: string): ConversationError {
  return new ConversationError(400, 20001, `Invalid ${field} ${JSON.stringify(text)}: ${why}`, field);
}

/**
 * An ISO 8601 duration in seconds (may carry milliseconds: `PT1.5S` is 1.5). Throws a 400
 * {@link ConversationError} (code 20001) naming `field` for anything but the forms above.
 */
export function parseDuration(text: unknown, field: string): number {
  if (typeof text !== 'string') throw bad(field, text, 'an ISO 8601 duration such as PT10M is expected');
  const weeks = WEEKS.exec(text);
  if (weeks !== null) return checkedTotal(Number(weeks[1]) * 7 * DAY, field, text);
  const m = DAY_TIME.exec(text);
  // `P` alone, `PT` alone and `P1DT` match the pattern with no part: refused.
  if (m === null || (m[1] === undefined && m[2] === undefined && m[3] === undefined && m[4] === undefined) || /T$/i.test(text)) {
    throw bad(field, text, 'an ISO 8601 duration PnDTnHnMnS (or PnW) is expected, e.g. PT10M; years and months are not accepted');
  }
  const part = (s: string | undefined): number => (s === undefined ? 0 : Number(s));
  const millis = m[5] === undefined ? 0 : Number(m[5].padEnd(3, '0'));
  return checkedTotal(part(m[1]) * DAY + part(m[2]) * 3600 + part(m[3]) * 60 + part(m[4]) + millis / 1000, field, text);
}

function checkedTotal(seconds: number, field: string, text: string): number {
  if (!Number.isFinite(seconds) || seconds > Number.MAX_SAFE_INTEGER / 1000) throw bad(field, text, 'too long');
  return seconds;
}

/**
 * A timer duration in seconds: {@link parseDuration}, then 0 (`PT0S`, off) or between
 * `minSeconds` and {@link MAX_TIMER_SECONDS} (both inclusive). Throws 400/20001 naming `field`.
 */
export function parseTimer(text: unknown, field: string, minSeconds: number): number {
  const seconds = parseDuration(text, field);
  if (seconds === 0) return 0;
  if (seconds < minSeconds) throw bad(field, text, `a timer is PT0S (off) or at least ${formatDuration(minSeconds)}`);
  if (seconds > MAX_TIMER_SECONDS) throw bad(field, text, `a timer is at most ${formatDuration(MAX_TIMER_SECONDS)}`);
  return seconds;
}

/**
 * Seconds as the canonical ISO 8601 duration the API answers with: `PT0S`, `PT1M`, `PT1H30M`,
 * `P1D`, `P2DT3H`, `PT1.5S` (days, hours, minutes, seconds; no weeks).
 */
export function formatDuration(seconds: number): string {
  if (!(seconds > 0)) return 'PT0S';
  const totalMs = Math.round(seconds * 1000);
  const days = Math.floor(totalMs / (DAY * 1000));
  let rest = totalMs - days * DAY * 1000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const secs = rest / 1000;
  let time = '';
  if (hours > 0) time += `${hours}H`;
  if (minutes > 0) time += `${minutes}M`;
  if (rest > 0) time += `${secs}S`;
  return `P${days > 0 ? `${days}D` : ''}${time === '' ? '' : `T${time}`}`;
}
