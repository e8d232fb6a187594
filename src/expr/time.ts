/**
 * `taskrouter.*` time values (spec §3.1), in UTC, from the evaluation's `nowMs`.
 * Plain integer arithmetic: `Date` is banned in the pure core (DESIGN.md rule 1), and UTC has no
 * leap seconds in epoch milliseconds, so a day is always 86,400,000 ms.
 */

const MS_PER_MINUTE = 60_000;
const MINUTES_PER_HOUR = 60;
const MS_PER_DAY = 86_400_000;

/** Day names indexed by days since 1970-01-01, which was a Thursday. */
const DAY_NAMES_FROM_THURSDAY = ['Thu', 'Fri', 'Sat', 'Sun', 'Mon', 'Tue', 'Wed'] as const;

export type DayOfWeek = (typeof DAY_NAMES_FROM_THURSDAY)[number];

/** The four `taskrouter.*` names, as written after `taskrouter.`. */
export const TASKROUTER_TIME_KEYS = ['currentTime', 'currentHour', 'currentMin', 'dayOfWeek'] as const;

export type TaskrouterTimeKey = (typeof TASKROUTER_TIME_KEYS)[number];

/** Remainder with the sign of the divisor, so times before 1970 still land inside the day. */
function floorMod(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}

function minuteOfDay(nowMs: number): number {
  return Math.floor(floorMod(Math.floor(nowMs), MS_PER_DAY) / MS_PER_MINUTE);
}

function twoDigits(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/** `taskrouter.currentTime`: hours × 100 + minutes in UTC, an integer (14:05 → 1405). */
export function taskrouterCurrentTime(nowMs: number): number {
  const minutes = minuteOfDay(nowMs);
  return Math.floor(minutes / MINUTES_PER_HOUR) * 100 + (minutes % MINUTES_PER_HOUR);
}

/** `taskrouter.currentHour`: the UTC hour as two digits, a string ("09"). */
export function taskrouterCurrentHour(nowMs: number): string {
  return twoDigits(Math.floor(minuteOfDay(nowMs) / MINUTES_PER_HOUR));
}

/** `taskrouter.currentMin`: the UTC minute as two digits, a string ("05"). */
export function taskrouterCurrentMin(nowMs: number): string {
  return twoDigits(minuteOfDay(nowMs) % MINUTES_PER_HOUR);
}

/** `taskrouter.dayOfWeek`: the UTC day, `Mon` … `Sun`. */
export function taskrouterDayOfWeek(nowMs: number): DayOfWeek {
  const daysSinceEpoch = Math.floor(Math.floor(nowMs) / MS_PER_DAY);
  return DAY_NAMES_FROM_THURSDAY[floorMod(daysSinceEpoch, 7)] ?? 'Thu';
}

/** The function behind each `taskrouter.*` key. */
export const TASKROUTER_TIME_VALUES: ReadonlyMap<string, (nowMs: number) => number | string> = new Map<
  TaskrouterTimeKey,
  (nowMs: number) => number | string
>([
  ['currentTime', taskrouterCurrentTime],
  ['currentHour', taskrouterCurrentHour],
  ['currentMin', taskrouterCurrentMin],
  ['dayOfWeek', taskrouterDayOfWeek],
]);
