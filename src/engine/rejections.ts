/**
 * Why the engine refused a command. Rejections are returned, not thrown (TigerStyle): a rejected
 * command changes nothing. The API maps each code to Twilio's error body (src/api/twilio-errors.ts).
 */
export type RejectionCode =
  /** A parameter is missing, malformed or out of range (HTTP 400, Twilio 20001). */
  | 'invalid_parameter'
  /** The named resource does not exist in this workspace (HTTP 404, Twilio 20404). */
  | 'not_found'
  /** A unique name is already taken (HTTP 400, Twilio 20001). */
  | 'duplicate'
  /** The resource is referenced or busy and cannot be deleted or changed so (HTTP 400, 20001). */
  | 'in_use'
  /** The command does not apply to the resource's current status (HTTP 400, 20001). */
  | 'invalid_state'
  /** Accepting or rejecting a reservation that is no longer pending (HTTP 410, our 20410). */
  | 'reservation_not_pending'
  /** An `If-Match` version did not match (HTTP 412, our 20412). */
  | 'version_mismatch'
  /** A workspace limit (counts, sizes) would be exceeded (HTTP 400, 20001). */
  | 'limit_exceeded'
  /** A statistics window starts more than 30 days ago (HTTP 400, Twilio 14241). */
  | 'window_too_old';

/** A refused command: the code, the parameter at fault (PascalCase, as the API names it) and why. */
export interface Rejection {
  readonly code: RejectionCode;
  /** The API parameter name at fault, e.g. `Attributes`, when one parameter is to blame. */
  readonly field?: string;
  /** A sentence a person understands: what is wrong and, where useful, what would be right. */
  readonly message: string;
}

/** Thrown inside the engine to abort a command before it changes anything; caught by execute(). */
export class RejectionError extends Error {
  readonly rejection: Rejection;

  constructor(rejection: Rejection) {
    super(rejection.message);
    this.rejection = rejection;
  }
}

/** Aborts the current command with a rejection. Only call it before the command changes state. */
export function reject(code: RejectionCode, message: string, field?: string): never {
  throw new RejectionError(field === undefined ? { code, message } : { code, message, field });
}
