/**
 * Twilio's error body `{code, message, more_info, status}` (spec §2) and the mapping from the
 * engine's rejection codes to HTTP status and Twilio error code.
 */
import type { Rejection, RejectionCode } from '../engine/index.ts';

export const MORE_INFO_BASE = 'https://www.twilio.com/docs/errors/';

/** An error the API answers with; thrown by handlers and helpers, rendered by the error handler. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  /** The parameter at fault, when one is. */
  readonly field: string | undefined;

  constructor(status: number, code: number, message: string, field?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export function errorBody(e: ApiError, moreInfoBase = MORE_INFO_BASE): TwilioErrorBody {
  return { code: e.code, message: e.message, more_info: `${moreInfoBase}${e.code}`, status: e.status };
}

const BY_CODE: Record<RejectionCode, { status: number; code: number }> = {
  invalid_parameter: { status: 400, code: 20001 },
  duplicate: { status: 400, code: 20001 },
  in_use: { status: 400, code: 20001 },
  invalid_state: { status: 400, code: 20001 },
  limit_exceeded: { status: 400, code: 20001 },
  not_found: { status: 404, code: 20404 },
  reservation_not_pending: { status: 410, code: 20410 },
  version_mismatch: { status: 412, code: 20412 },
  window_too_old: { status: 400, code: 14241 },
};

/**
 * The API error for an engine rejection. A `not_found` that names a parameter the caller sent in
 * the body (e.g. `WorkflowSid` on task create) is a bad parameter (400), not a missing resource.
 */
export function fromRejection(rejection: Rejection, bodyParams: ReadonlySet<string> = new Set()): ApiError {
  if (rejection.code === 'not_found' && rejection.field !== undefined && bodyParams.has(rejection.field)) {
    return new ApiError(400, 20001, rejection.message, rejection.field);
  }
  const { status, code } = BY_CODE[rejection.code];
  return new ApiError(status, code, rejection.message, rejection.field);
}

export const badParameter = (field: string, message: string): ApiError => new ApiError(400, 20001, message, field);
export const notFound = (path: string): ApiError => new ApiError(404, 20404, `The requested resource ${path} was not found`);
export const unauthorized = (): ApiError => new ApiError(401, 20003, 'Authenticate');
export const methodNotAllowed = (method: string, path: string): ApiError =>
  new ApiError(405, 20004, `Method ${method} not allowed on ${path}`);
export const internalError = (): ApiError => new ApiError(500, 20500, 'Internal Server Error');
/** The store refused a write (a full disk): nothing was applied; the client may retry later (Twilio's 20503). */
export const serviceUnavailable = (): ApiError => new ApiError(503, 20503, 'Service Unavailable: the write could not be saved and was not applied; try again later');
