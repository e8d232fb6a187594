/**
 * Checks of the values a request carries, each refusing with a {@link ConversationError} that
 * names the parameter as the REST API spells it (`Timers.Inactive`, `MessagingBinding.Address`,
 * `Configuration.Url` …), and the errors of the conversations API (spec
 * conversations-events-analytics.md A1–A5; Twilio error codes where the sources give one).
 */
import { ConversationError } from './model.ts';

/** 400 / 20001: a parameter is missing or malformed. */
export function badField(field: string, message: string): ConversationError {
  return new ConversationError(400, 20001, `Invalid ${field}: ${message}`, field);
}

/** 404 / 20404: no such resource. */
export function notFound(what: string, ref: string): ConversationError {
  return new ConversationError(404, 20404, `The requested resource ${what} ${ref} was not found`);
}

/** 400 / 50377: a closed conversation takes no write (A1, A2: "closed is final"). */
export function closedError(sid: string): ConversationError {
  return new ConversationError(400, 50377, `Can't update conversation ${sid} as it's in final closed state`);
}

const SID = /^[A-Z]{2}[0-9a-fA-F]{32}$/;

/** True if `value` is a SID with this two-letter prefix. */
export function isSidOf(value: unknown, prefix: string): value is string {
  return typeof value === 'string' && SID.test(value) && value.startsWith(prefix);
}

/** `value` when it is a string (empty allowed), else 400 naming `field`. */
export function text(value: unknown, field: string, max?: number): string {
  if (typeof value !== 'string') throw badField(field, 'a string is expected');
  if (max !== undefined && value.length > max) throw badField(field, `at most ${max} characters (got ${value.length})`);
  return value;
}

/** `value` as a non-empty string, else 400 naming `field`. */
export function nonEmpty(value: unknown, field: string, max?: number): string {
  const s = text(value, field, max);
  if (s.trim() === '') throw badField(field, 'must not be empty');
  return s;
}

/** A nullable string field: null stays null, a string is checked. */
export function optionalText(value: unknown, field: string, max?: number): string | null {
  return value === null ? null : text(value, field, max);
}

/** A SID of `prefix` (or null when `nullable`), else 400 naming `field`. */
export function sidOf(value: unknown, prefix: string, field: string): string {
  if (!isSidOf(value, prefix)) throw badField(field, `a ${prefix} SID (${prefix} and 32 hex digits) is expected`);
  return value;
}

/** Attributes: text holding structurally valid JSON (A1), stored as sent. */
export function attributes(value: unknown, field = 'Attributes'): string {
  const s = text(value, field);
  try {
    JSON.parse(s);
  } catch {
    throw badField(field, 'must be valid JSON');
  }
  return s;
}

/** An absolute http(s) URL, else 400 naming `field`. */
export function url(value: unknown, field: string): string {
  const s = text(value, field);
  let protocol: string;
  try {
    protocol = new URL(s).protocol;
  } catch {
    throw badField(field, 'an absolute URL is expected');
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw badField(field, 'an http or https URL is expected');
  return s;
}

/** `GET` or `POST` in either case (the OpenAPI spells the scoped webhook's methods in lower case), upper-cased. */
export function method(value: unknown, field: string): 'GET' | 'POST' {
  const s = typeof value === 'string' ? value.toUpperCase() : value;
  if (s !== 'GET' && s !== 'POST') throw badField(field, 'GET or POST');
  return s;
}

/** An epoch-millisecond instant given on the request (`DateCreated`, `DateUpdated`). */
export function instant(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > 8.64e15) throw badField(field, 'a date is expected');
  return Math.trunc(value);
}

/** One of `allowed`, else 400 naming `field`. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) throw badField(field, `one of ${allowed.join(', ')}`);
  return value as T;
}

/** A list of strings each of `allowed` (duplicates dropped, order kept), else 400 naming `field`. */
export function listOf(value: unknown, allowed: readonly string[], field: string): string[] {
  if (!Array.isArray(value)) throw badField(field, 'a list is expected');
  const out: string[] = [];
  for (const v of value) {
    if (typeof v !== 'string' || !allowed.includes(v)) throw badField(field, `${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
    if (!out.includes(v)) out.push(v);
  }
  return out;
}

/** A non-negative safe integer, else 400 naming `field`. */
export function count(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw badField(field, 'a non-negative integer is expected');
  return value;
}
