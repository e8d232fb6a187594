/**
 * Request parameters (spec §2): form-encoded PascalCase bodies and query strings. Repeated keys
 * arrive as arrays. Every helper validates and throws a 400/20001 {@link ApiError} naming the
 * parameter, so a handler has checked everything before it sends a command.
 */
import { badParameter, ApiError } from './twilio-errors.ts';

export type RawParams = Record<string, string | string[] | undefined>;

/** Wraps a parsed body or query string; remembers which parameters were sent. */
export class Params {
  private readonly raw: RawParams;

  constructor(raw: unknown) {
    this.raw = raw !== null && typeof raw === 'object' ? (raw as RawParams) : {};
  }

  /** Names of the parameters present. */
  names(): Set<string> {
    return new Set(Object.keys(this.raw).filter((k) => this.raw[k] !== undefined));
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined;
  }

  /** All values of a parameter (repeated keys), in order. */
  all(name: string): string[] {
    const v = this.raw[name];
    if (v === undefined) return [];
    return Array.isArray(v) ? v.map(String) : [String(v)];
  }

  /** A single-valued string parameter; a repeated one is refused. */
  string(name: string): string | undefined {
    const v = this.raw[name];
    if (v === undefined) return undefined;
    if (Array.isArray(v)) {
      if (v.length === 1) return String(v[0]);
      throw badParameter(name, `${name} must be given once`);
    }
    return String(v);
  }

  requiredString(name: string): string {
    const v = this.string(name);
    if (v === undefined || v.trim() === '') throw badParameter(name, `Missing required parameter ${name} in the post body`);
    return v;
  }

  /** `true/false/1/0/yes/no`, any case. */
  boolean(name: string): boolean | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const b = parseBoolean(v);
    if (b === undefined) throw badParameter(name, `${name} must be true or false (got '${v}')`);
    return b;
  }

  /** A whole number within [min, max]. */
  integer(name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!/^[+-]?\d+$/.test(v.trim())) throw badParameter(name, `${name} must be a whole number (got '${v}')`);
    const n = Number(v.trim());
    if (!Number.isSafeInteger(n) || n < min || n > max) throw badParameter(name, `${name} must be from ${min} to ${max} (got ${v})`);
    return n;
  }

  /** One of the allowed values (exact match). */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) throw badParameter(name, `${name} must be one of ${allowed.join(', ')} (got '${v}')`);
    return v as T;
  }

  /** A SID with the given prefix (hex in any case). */
  sid(name: string, prefix: string): string | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!isSidOf(v, prefix)) throw badParameter(name, `${name} must be a ${prefix} SID (got '${v}')`);
    return normalizeSid(v);
  }

  /** A JSON document given as a string (Attributes, Configuration); must parse. */
  json(name: string): string | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    try {
      JSON.parse(v);
    } catch (error) {
      throw badParameter(name, `${name} is not valid JSON: ${(error as Error).message}`);
    }
    return v;
  }

  /** An ISO-8601 date-time; epoch ms. */
  date(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v.trim()) ? Date.parse(v.trim()) : NaN;
    if (Number.isNaN(ms)) throw badParameter(name, `${name} must be an ISO-8601 date (got '${v}')`);
    return ms;
  }
}

export function parseBoolean(v: string): boolean | undefined {
  switch (v.trim().toLowerCase()) {
    case 'true':
    case '1':
    case 'yes':
      return true;
    case 'false':
    case '0':
    case 'no':
      return false;
    default:
      return undefined;
  }
}

const SID = /^[A-Za-z]{2}[0-9a-fA-F]{32}$/;

/** SIDs are parsed case-insensitively (spec §1.1); we store prefix upper case, hex lower case. */
export function normalizeSid(value: string): string {
  return SID.test(value) ? value.slice(0, 2).toUpperCase() + value.slice(2).toLowerCase() : value;
}

export function isSidOf(value: string, prefix: string): boolean {
  return SID.test(value) && value.slice(0, 2).toUpperCase() === prefix;
}

/** The `If-Match` header as a version number; undefined when absent. */
export function ifMatch(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const v = (Array.isArray(header) ? header[0] ?? '' : header).trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (!/^\d+$/.test(v)) throw new ApiError(400, 20001, `If-Match must be a version number (got '${v}')`, 'If-Match');
  return Number(v);
}
