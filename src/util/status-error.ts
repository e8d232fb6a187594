/**
 * A request a core refused, carrying what an API answers with: the HTTP status, the Twilio error
 * code (e.g. 20404, 50377) and the parameter at fault, or null. The cores' own refusals
 * (ConversationError, VoiceError) are this; the message says what was wrong, and nothing changed.
 */
export class StatusError extends Error {
  override name = 'StatusError';
  readonly status: number;
  readonly code: number;
  readonly field: string | null;
  constructor(status: number, code: number, message: string, field: string | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}
