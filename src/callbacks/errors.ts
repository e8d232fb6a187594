/** The Mindful Scheduler API error codes (spec callbacks-and-ewt §1.5) a CallbackError carries. */
export type CallbackErrorCode =
  | 'ContactRequired'
  | 'InvalidContact'
  | 'InvalidRequest'
  | 'InvalidParameters'
  | 'InvalidTimeZone'
  | 'RequestRefusedDueToOperationMode'
  | 'DuplicateRequest'
  | 'NotFound'
  | 'InvalidToken';

/**
 * The error every callback operation throws for bad input or a refused request. `code` is one
 * of the Mindful Scheduler API error codes (spec callbacks-and-ewt §1.5) so the REST layer can
 * map it one to one (src/api/routes/callbacks.ts `fromCallbackError`); `field` names the
 * offending parameter when there is one.
 */
export class CallbackError extends Error {
  readonly code: CallbackErrorCode;
  /** The parameter at fault (dotted path for nested config keys), or null. */
  readonly field: string | null;

  constructor(code: CallbackErrorCode, message: string, field: string | null = null) {
    super(message);
    this.name = 'CallbackError';
    this.code = code;
    this.field = field;
  }
}

/** E.164 as Mindful validates it (spec §1 conventions): optional `+`, 2–15 digits, first 1–9. */
export const E164_PATTERN = /^\+?[1-9]\d{1,14}$/;

/**
 * Normalizes a caller-entered number to E.164: spaces, dashes, dots and parentheses are dropped,
 * a leading `00` becomes `+`, and a `+` is added when missing. Throws `ContactRequired` for an
 * empty value and `InvalidContact` when the digits do not match {@link E164_PATTERN}.
 */
export function normalizeNumber(raw: unknown, field = 'PhoneNumber'): string {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
    throw new CallbackError('ContactRequired', `${field} is required`, field);
  }
  if (typeof raw !== 'string') throw new CallbackError('InvalidContact', `${field} must be a string`, field);
  let s = raw.replace(/[\s\-.()]/g, '');
  if (s.startsWith('00')) s = '+' + s.slice(2);
  if (!E164_PATTERN.test(s)) throw new CallbackError('InvalidContact', `${field} ${JSON.stringify(raw)} is not an E.164 number (^\\+?[1-9]\\d{1,14}$)`, field);
  return s.startsWith('+') ? s : '+' + s;
}
